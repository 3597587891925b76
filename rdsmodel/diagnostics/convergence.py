r"""MCMC convergence and sampler checks: R-hat, bulk/tail ESS, MCSE, divergences, BFMI.

R-hat is the rank-normalised split :math:`\hat R` and the effective sample
sizes are the bulk and tail ESS of Vehtari et al. (2021), as computed by
ArviZ. The energy Bayesian fraction of missing information of chain
:math:`c` is :math:`\text{BFMI} = \sum_t (E_t - E_{t-1})^2 / \sum_t (E_t - \bar E)^2`.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from rdsmodel.diagnostics.report import Check, Section
from rdsmodel.diagnostics.thresholds import Thresholds

__all__ = [
    "convergence_section",
    "halves_rhat",
    "parameter_table",
    "quiet_arviz",
    "sampler_section",
]


def parameter_table(idata, var_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Per-parameter mean, sd, MCSE, bulk and tail ESS and R-hat (one row per scalar).

    R-hat compares chains: with one chain its column is ``NaN`` (see
    :func:`halves_rhat` for the within-chain check used instead).

    Parameters
    ----------
    idata : arviz.InferenceData
        With a ``posterior`` group.
    var_names : sequence of str, optional
        Variables to include (default: every posterior variable).
    """
    import arviz as az

    names = list(var_names) if var_names is not None else list(idata.posterior.data_vars)
    with warnings.catch_warnings(), quiet_arviz():
        # ArviZ refuses R-hat on one chain ("Shape validation failed", logged) and warns about
        # few draws; both are judged and reported by the checks below
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        table = az.summary(idata, var_names=names, kind="all", round_to="none")
    return table[["mean", "sd", "mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "r_hat"]]


@contextlib.contextmanager
def quiet_arviz():
    """Silence ArviZ's logged shape warnings (one chain, few draws) for the duration."""
    import arviz

    names = ["arviz", *(n for n in logging.root.manager.loggerDict if n.startswith("arviz."))]
    loggers = [logging.getLogger(n) for n in names]
    own = getattr(arviz, "_log", None)  # ArviZ logs through its own unregistered Logger
    if isinstance(own, logging.Logger):
        loggers.append(own)
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def halves_rhat(posterior, var_names: Sequence[str] | None = None) -> pd.Series:
    """R-hat of a single chain's two halves, per scalar parameter.

    With one chain, between-chain R-hat does not exist; comparing the first
    and second half of the chain (each split again by the rank-normalised
    split R-hat) still detects a chain that drifts or has not settled, but
    not chains stuck in different modes. Returns an empty series when the
    chain has fewer than 8 draws.
    """
    import arviz as az

    names = list(var_names) if var_names is not None else list(posterior.data_vars)
    n_draw = int(posterior.sizes["draw"])
    half = n_draw // 2
    out: dict[str, float] = {}
    if half < 4:
        return pd.Series(out, dtype=float)
    for name in names:
        arr = np.asarray(posterior[name].transpose("chain", "draw", ...).values, dtype=float)
        arr = arr[:, : 2 * half].reshape(-1, half, *arr.shape[2:])
        flat = arr.reshape(arr.shape[0], half, -1)
        labels = _scalar_labels(posterior[name])
        for j in range(flat.shape[-1]):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=RuntimeWarning)
                out[labels[j]] = float(az.rhat(flat[..., j]))
    return pd.Series(out, dtype=float)


def _scalar_labels(da) -> list[str]:
    dims = [d for d in da.dims if d not in ("chain", "draw")]
    if not dims:
        return [str(da.name)]
    import itertools

    coords = [
        list(da.coords[d].values) if d in da.coords else list(range(da.sizes[d])) for d in dims
    ]
    return [
        f"{da.name}[{', '.join(str(c) for c in combo)}]" for combo in itertools.product(*coords)
    ]


def _worst_names(series: pd.Series, largest: bool, k: int = 3) -> str:
    ordered = series.sort_values(ascending=not largest).dropna()
    return ", ".join(ordered.index[:k])


def convergence_section(
    idata, thresholds: Thresholds | None = None, var_names: Sequence[str] | None = None
) -> Section:
    """R-hat, bulk ESS and tail ESS checks over the posterior's parameters."""
    t = thresholds or Thresholds()
    table = parameter_table(idata, var_names)
    n_chains = idata.posterior.sizes["chain"]
    n_draws = idata.posterior.sizes["draw"]
    checks = []
    rhat = table["r_hat"]
    rule = f"warn > {t.rhat_warn}, fail > {t.rhat_fail}"
    max_rhat = float(rhat.max()) if rhat.notna().any() else float("nan")
    one_chain_rhat = None
    if n_chains < 2:
        halves = halves_rhat(idata.posterior, var_names)
        if len(halves) and halves.notna().any():
            one_chain_rhat = float(halves.max())
            status = "fail" if one_chain_rhat > t.rhat_fail else "warn"
            msg = (
                f"one chain: R-hat compares chains and needs at least 2 (run 2 or more chains to "
                f"check convergence); the chain's two halves agree to R-hat {one_chain_rhat:.3f} "
                f"({_worst_names(halves, True)})"
            )
        else:
            status = "warn"
            msg = "one chain: R-hat compares chains and needs at least 2 (run 2 or more chains)"
        checks.append(Check("rhat", status, msg, one_chain_rhat, rule + "; needs >= 2 chains"))
    elif not np.isfinite(max_rhat):
        checks.append(
            Check("rhat", "fail", "R-hat could not be computed (too few draws)", None, rule)
        )
    else:
        status = "fail" if max_rhat > t.rhat_fail else "warn" if max_rhat > t.rhat_warn else "ok"
        msg = f"max R-hat {max_rhat:.3f} ({_worst_names(rhat, True)})"
        if status != "ok":
            msg += f"; chains disagree: run longer or reparametrise (limit {t.rhat_warn})"
        checks.append(Check("rhat", status, msg, max_rhat, rule))
    for kind in ("bulk", "tail"):
        col = table[f"ess_{kind}"]
        low = float(col.min()) if col.notna().any() else float("nan")
        if not np.isfinite(low):
            status, msg = "fail", f"{kind} ESS could not be computed"
        else:
            status = "fail" if low < t.ess_fail else "warn" if low < t.ess_warn else "ok"
            msg = f"min {kind} ESS {low:.0f} ({_worst_names(col, False)})"
            if status != "ok":
                msg += f"; draw more samples (want >= {t.ess_warn:.0f})"
        checks.append(
            Check(f"ess_{kind}", status, msg, low, f"warn < {t.ess_warn:g}, fail < {t.ess_fail:g}")
        )
    params = {name: {k: row[k] for k in table.columns} for name, row in table.iterrows()}
    summary = {"chains": n_chains, "draws": n_draws, "parameters": params}
    if n_chains < 2:
        summary["rhat_note"] = (
            "R-hat needs at least 2 chains; halves_rhat is the chain's two halves"
        )
        summary["halves_rhat"] = one_chain_rhat
    shown = table[["mean", "sd", "mcse_mean", "ess_bulk", "ess_tail", "r_hat"]]
    return Section("convergence", "Convergence", checks, summary, tables={"parameters": shown})


def _stat(stats, *names):
    for name in names:
        if name in stats:
            return np.asarray(stats[name].values)
    return None


def sampler_section(idata, thresholds: Thresholds | None = None) -> Section:
    """Divergences, energy BFMI and tree-depth saturation from ``sample_stats``."""
    import arviz as az

    t = thresholds or Thresholds()
    checks: list[Check] = []
    summary: dict = {}
    stats = getattr(idata, "sample_stats", None)
    if stats is None:
        checks.append(
            Check("sample_stats", "warn", "no sample_stats: divergences and BFMI unknown")
        )
        return Section("sampler", "Sampler", checks, summary)
    div = _stat(stats, "diverging")
    total = int(idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"])
    if div is not None:
        n_div = int(div.sum())
        share = n_div / max(total, 1)
        status = (
            "fail"
            if share > t.divergences_fail_share
            else "warn"
            if n_div > t.divergences_warn
            else "ok"
        )
        msg = f"{n_div} divergent transition(s) of {total} ({100 * share:.2f}%)"
        if status != "ok":
            msg += (
                "; the posterior geometry is hard for NUTS (raise target_accept or reparametrise)"
            )
        checks.append(
            Check(
                "divergences",
                status,
                msg,
                n_div,
                f"warn > {t.divergences_warn}, fail > {100 * t.divergences_fail_share:g}%",
            )
        )
        summary["divergences"] = n_div
        summary["divergent_share"] = share
    if "energy" in stats:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bfmi = np.atleast_1d(az.bfmi(idata))
        low = float(np.nanmin(bfmi)) if bfmi.size else float("nan")
        status = "warn" if np.isfinite(low) and low < t.bfmi_warn else "ok"
        msg = f"min energy BFMI {low:.2f} over {bfmi.size} chain(s)"
        if status != "ok":
            msg += "; momentum resampling explores the energy poorly (heavy tails or funnels)"
        checks.append(Check("bfmi", status, msg, low, f"warn < {t.bfmi_warn}"))
        summary["bfmi"] = bfmi.tolist()
    depth = _stat(stats, "maxdepth_reached", "reached_max_treedepth")
    if depth is not None:
        share = float(np.mean(depth))
        status = "warn" if share > t.treedepth_warn_share else "ok"
        checks.append(
            Check(
                "treedepth",
                status,
                f"{100 * share:.1f}% of draws hit the maximum tree depth",
                share,
                f"warn > {100 * t.treedepth_warn_share:g}%",
            )
        )
        summary["treedepth_share"] = share
    steps = _stat(stats, "n_steps", "tree_size")
    if steps is not None:
        summary["mean_leapfrog_steps"] = float(np.mean(steps))
    for key in ("rdsplan_sampler", "sampling_seconds"):
        if key in idata.posterior.attrs:
            summary[key.replace("rdsplan_", "")] = idata.posterior.attrs[key]
    return Section("sampler", "Sampler", checks, summary)
