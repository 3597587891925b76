r"""Evaluation results: the xarray Dataset, its summary, the budget-binding check, NetCDF and a figure.

The Dataset has dims ``policy``, ``gamma``, ``frontier``, ``episode`` and
``round`` and the variables

* ``recruits`` ``(policy, gamma, frontier, episode, round)``: recruits per round;
* ``spend`` (same dims): coupons handed out per round;
* ``discounted`` ``(policy, gamma, frontier, episode)``: ``sum_t gamma^t N_t``;
* ``total`` and ``spent`` (same dims): recruits and coupons over the episode.

With a priority (``rdsplan evaluate --priority``) it adds a ``subgroup``
dimension (the priority's subgroups, labelled as in plans: ``SEX=F``) and

* ``weighted_recruits`` ``(policy, gamma, frontier, episode, round)``: the
  recruits' weights ``w(x')`` summed per round, on their true covariates;
* ``weighted_discounted`` and ``weighted_total`` ``(policy, gamma, frontier, episode)``;
* ``subgroup_recruits`` ``(policy, gamma, frontier, episode, round, subgroup)``:
  recruits in each subgroup per round;
* ``subgroup_discounted`` and ``subgroup_total`` ``(policy, gamma, frontier, episode, subgroup)``;

and ``attrs["priority"]`` (JSON of :meth:`planning.priorities.Priority.to_dict`).
Without a priority the Dataset is exactly the one above.

Episode ``e`` of a frontier size is the same world (first frontier and
potential recruits) for every policy and gamma. A policy that does not
depend on gamma was played once; its rows repeat across ``gamma`` and differ
only in the discounting. ``attrs`` hold the settings, notes, timings and the
budget-binding check as JSON text.

The summary (:func:`summarise`) gives, per policy, gamma and frontier size,
the mean and standard error (``sd / sqrt(episodes)``) of the discounted and
total recruits (and, with a priority, of the weighted ones and per
subgroup); the JSON of ``rdsplan evaluate --json`` is built from it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "BINDING_SHARE",
    "budget_binding",
    "load_results",
    "plot_results",
    "save_results",
    "summarise",
]

#: A comparison means something where the oracle and the best policy spend at least this share of the budget.
BINDING_SHARE = 0.95


def build_dataset(
    policies: Sequence[str],
    gammas: Sequence[float],
    frontiers: Sequence[int],
    episodes: int,
    runs: dict[tuple[str, int, int], tuple[np.ndarray, ...]],
    attrs: dict[str, Any],
    subgroups: Sequence[str] | None = None,
) -> xr.Dataset:
    """Assemble the Dataset from played episodes.

    Parameters
    ----------
    runs : dict
        ``(policy, gamma index or -1 for all, frontier) -> (recruits, spend)``,
        each ``(episode, rounds)``; with a priority ``(recruits, spend,
        weighted, subgroups)``, the last ``(episode, rounds, subgroup)``.
    subgroups : sequence of str, optional
        The priority's subgroup labels; ``None`` without a priority.
    """
    width = max([r[0].shape[1] for r in runs.values()] + [1])
    shape = (len(policies), len(gammas), len(frontiers), episodes, width)
    scored = subgroups is not None
    recruits = np.zeros(shape, dtype=np.int64)
    spend = np.zeros(shape, dtype=np.int64)
    weighted = np.zeros(shape) if scored else None
    groups = np.zeros((*shape, len(subgroups or ())), dtype=np.int64) if scored else None
    for (policy, g, frontier), run in runs.items():
        p, f = list(policies).index(policy), list(frontiers).index(frontier)
        gs = slice(None) if g < 0 else slice(g, g + 1)
        r, s = run[0], run[1]
        recruits[p, gs, f, :, : r.shape[1]] = r
        spend[p, gs, f, :, : s.shape[1]] = s
        if scored:
            weighted[p, gs, f, :, : r.shape[1]] = run[2]
            groups[p, gs, f, :, : r.shape[1]] = run[3]
    discount = np.asarray(gammas, dtype=float)[:, None] ** np.arange(width)[None, :]
    discounted = np.einsum("pgfer,gr->pgfe", recruits, discount)
    dims = ("policy", "gamma", "frontier", "episode")
    coords = {
        "policy": list(policies),
        "gamma": np.asarray(gammas, dtype=float),
        "frontier": np.asarray(frontiers, dtype=np.int64),
        "episode": np.arange(episodes),
        "round": np.arange(width),
    }
    variables = {
        "recruits": ((*dims, "round"), recruits, {"description": "recruits in each round"}),
        "spend": ((*dims, "round"), spend, {"description": "coupons handed out in each round"}),
        "discounted": (
            dims,
            discounted,
            {"description": "sum_t gamma^t recruits_t (first round undiscounted)"},
        ),
        "total": (dims, recruits.sum(axis=-1), {"description": "recruits over the episode"}),
        "spent": (
            dims,
            spend.sum(axis=-1),
            {"description": "coupons handed out over the episode"},
        ),
    }
    if scored:
        coords["subgroup"] = [str(label) for label in subgroups]
        sub = (*dims, "round", "subgroup")
        variables.update(
            {
                "weighted_recruits": (
                    (*dims, "round"),
                    weighted,
                    {"description": "sum of the recruits' priority weights w(x') in each round"},
                ),
                "weighted_discounted": (
                    dims,
                    np.einsum("pgfer,gr->pgfe", weighted, discount),
                    {"description": "sum_t gamma^t weighted recruits_t"},
                ),
                "weighted_total": (
                    dims,
                    weighted.sum(axis=-1),
                    {"description": "weighted recruits over the episode"},
                ),
                "subgroup_recruits": (
                    sub,
                    groups,
                    {"description": "recruits of each priority subgroup in each round"},
                ),
                "subgroup_discounted": (
                    (*dims, "subgroup"),
                    np.einsum("pgferj,gr->pgfej", groups, discount),
                    {"description": "sum_t gamma^t subgroup recruits_t"},
                ),
                "subgroup_total": (
                    (*dims, "subgroup"),
                    groups.sum(axis=-2),
                    {"description": "recruits of each subgroup over the episode"},
                ),
            }
        )
    ds = xr.Dataset(
        variables,
        coords=coords,
        attrs={
            k: (json.dumps(v) if not isinstance(v, str | int | float) else v)
            for k, v in attrs.items()
        },
    )
    return ds


def _se(values: np.ndarray) -> float:
    n = values.size
    return float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")


def summarise(ds: xr.Dataset) -> list[dict[str, Any]]:
    """Mean and standard error of discounted and total recruits per policy, gamma and frontier size.

    Returns
    -------
    list of dict
        Keys ``policy``, ``gamma``, ``frontier``, ``mean``, ``se``,
        ``total_mean``, ``total_se``, in the Dataset's order: discounted and
        total recruits, every recruit counting 1. With a priority also
        ``weighted_mean``, ``weighted_se``, ``weighted_total_mean``,
        ``weighted_total_se`` (the same of the weighted recruits) and
        ``subgroups``: ``{label: {"mean", "se", "total_mean", "total_se"}}``,
        the discounted and total recruits of each subgroup.
    """
    scored = "weighted_discounted" in ds
    out = []
    for policy in ds["policy"].values:
        for gamma in ds["gamma"].values:
            for frontier in ds["frontier"].values:
                sel = {"policy": policy, "gamma": gamma, "frontier": frontier}
                row = {"policy": str(policy), "gamma": float(gamma), "frontier": int(frontier)}
                row.update(_stats(ds["discounted"].sel(sel).values, ds["total"].sel(sel).values))
                if scored:
                    row.update(_weighted_summary(ds, sel))
                out.append(row)
    return out


def _stats(discounted: np.ndarray, total: np.ndarray, prefix: str = "") -> dict[str, float]:
    """``mean``, ``se``, ``total_mean``, ``total_se`` over episodes (keys with ``prefix``)."""
    total = np.asarray(total, dtype=float)
    return {
        f"{prefix}mean": float(discounted.mean()),
        f"{prefix}se": _se(discounted),
        f"{prefix}total_mean": float(total.mean()),
        f"{prefix}total_se": _se(total),
    }


def _weighted_summary(ds: xr.Dataset, sel: dict[str, Any]) -> dict[str, Any]:
    """The weighted and per-subgroup keys of one summary row."""
    out = _stats(
        ds["weighted_discounted"].sel(sel).values, ds["weighted_total"].sel(sel).values, "weighted_"
    )
    disc = ds["subgroup_discounted"].sel(sel).transpose("subgroup", ...).values
    total = ds["subgroup_total"].sel(sel).transpose("subgroup", ...).values
    labels = [str(label) for label in ds["subgroup"].values]
    out["subgroups"] = {label: _stats(disc[j], total[j]) for j, label in enumerate(labels)}
    return out


def budget_binding(
    ds: xr.Dataset, share: float = BINDING_SHARE, oracle: str = "oracle"
) -> list[dict[str, Any]]:
    """Whether the budget binds, per gamma and frontier size (DESIGN.md: check before comparing).

    The ``oracle`` row is the episodes' hindsight upper bound
    (:func:`planning.simulation.hindsight.hindsight_rounds`). The budget binds
    when the bound and the best policy (largest mean discounted recruits, the
    oracle aside) both spend at least ``share`` of the budget on average: then
    more coupons would buy more recruits and differences between planners
    reflect planning. A bound spending less proves the budget cannot bind.
    Without an oracle among the policies only the best policy is checked.

    Every policy must stay under the bound in every episode (the same random
    numbers): ``max_excess_over_oracle`` is the largest excess of any policy's
    discounted recruits over the bound's in one episode, ``under_oracle``
    whether it is not positive.

    Returns
    -------
    list of dict
        Keys ``gamma``, ``frontier``, ``budget``, ``oracle_spent`` (share, or
        None), ``best_policy``, ``best_spent`` (share), ``binds``, and with an
        oracle ``max_excess_over_oracle`` and ``under_oracle``.
    """
    budget = float(ds.attrs.get("budget", 0)) or float(ds["spent"].max())
    policies = [str(p) for p in ds["policy"].values]
    out = []
    for gamma in ds["gamma"].values:
        for frontier in ds["frontier"].values:
            sel = {"gamma": gamma, "frontier": frontier}
            disc = ds["discounted"].sel(sel).mean("episode")
            spent = ds["spent"].sel(sel).mean("episode") / budget
            others = [p for p in policies if p != oracle] or policies
            best = max(others, key=lambda p: float(disc.sel(policy=p)))
            best_share = float(spent.sel(policy=best))
            oracle_share = float(spent.sel(policy=oracle)) if oracle in policies else None
            binds = best_share >= share and (oracle_share is None or oracle_share >= share)
            row = {
                "gamma": float(gamma),
                "frontier": int(frontier),
                "budget": int(budget),
                "oracle_spent": oracle_share,
                "best_policy": best,
                "best_spent": best_share,
                "binds": bool(binds),
            }
            if oracle in policies and len(policies) > 1:
                per_episode = ds["discounted"].sel(sel)
                excess = per_episode.sel(policy=[p for p in policies if p != oracle]) - (
                    per_episode.sel(policy=oracle)
                )
                row["max_excess_over_oracle"] = float(excess.max())
                row["under_oracle"] = bool(row["max_excess_over_oracle"] <= 1e-9)
            out.append(row)
    return out


def save_results(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write the Dataset to NetCDF atomically (the old file survives a failure)."""
    from rdsmodel.persistence import atomic_path

    path = Path(path)
    out = ds.copy()
    for name in ("recruits", "spend", "total", "spent", "subgroup_recruits", "subgroup_total"):
        if name in out:
            out[name] = out[name].astype(np.int32)
    out["frontier"] = out["frontier"].astype(np.int32)
    out["episode"] = out["episode"].astype(np.int32)
    out["round"] = out["round"].astype(np.int32)
    engine = "h5netcdf"
    try:
        import h5netcdf  # noqa: F401
    except ImportError:
        engine = "scipy"
    with atomic_path(path) as tmp:
        out.to_netcdf(tmp, engine=engine)
    return path


def load_results(path: str | os.PathLike) -> xr.Dataset:
    """Read results written by :func:`save_results` (into memory)."""
    with xr.open_dataset(path) as ds:
        return ds.load()


def plot_results(ds: xr.Dataset, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Mean discounted recruits per policy against gamma, one panel per frontier size.

    With a priority a second row of panels shows the weighted discounted
    recruits. Error bars are two standard errors. Written atomically (PNG, or
    any format matplotlib infers from the suffix).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rdsmodel.persistence import atomic_path

    rows = summarise(ds)
    frontiers = [int(f) for f in ds["frontier"].values]
    policies = [str(p) for p in ds["policy"].values]
    panels = [("mean", "se", "discounted recruits (mean ± 2 SE)")]
    if rows and "weighted_mean" in rows[0]:
        panels.append(("weighted_mean", "weighted_se", "weighted discounted recruits"))
    fig, axes = plt.subplots(
        len(panels),
        len(frontiers),
        figsize=(4.2 * len(frontiers) + 2.5, 4.2 * len(panels)),
        squeeze=False,
        sharey="row",
    )
    cmap = plt.get_cmap("tab20")
    for k, (mean, se, label) in enumerate(panels):
        for j, frontier in enumerate(frontiers):
            ax = axes[k, j]
            for i, policy in enumerate(policies):
                pts = [r for r in rows if r["policy"] == policy and r["frontier"] == frontier]
                x = np.array([r["gamma"] for r in pts]) + (i - len(policies) / 2) * 0.002
                ax.errorbar(
                    x,
                    [r[mean] for r in pts],
                    yerr=[2 * np.nan_to_num(r[se]) for r in pts],
                    marker="o",
                    ms=3,
                    lw=1,
                    capsize=2,
                    color=cmap(i % 20),
                    label=policy,
                )
            ax.set_xlabel("gamma")
            ax.set_title(f"first frontier of {frontier}")
            ax.grid(alpha=0.3)
        axes[k, 0].set_ylabel(label)
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=7, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
