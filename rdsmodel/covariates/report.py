"""Homophily report: posterior of ``rho_f`` beside the naive estimate, and predictive checks.

For each categorical field the report gives the posterior mean of the
inheritance probability ``rho_f`` with its highest-density interval (94% by
default) beside the **naive** estimate of the ICPSR 22140 figures,

.. math::

    \\hat\\rho^{\\text{naive}}_f = \\operatorname{clip}\\Big(\\frac{m_f - 1/K_f}{1 - 1/K_f}, 0, 1\\Big),

with ``m_f`` the match rate among pairs with both values observed. The naive
estimate assumes a uniform ``pi_f``; the model's ``rho_f`` does not, so the two
differ when the levels are unbalanced.

A field modelled by a full transition matrix (``transitions="matrix"`` or
``"auto"``) has no ``rho``: its row reports the matrix's **stay
probability** ``sum_p w_p T[p, p]`` (the diagonal averaged over the
recruiter levels' shares ``w`` among fully observed pairs, as ``rho`` is
with ``rho_by_level``) and ``law`` says ``"matrix"``; its predictive checks
replicate the tables from ``T``. Its draws are exact conjugate draws, not
MCMC, so it has no R-hat or ESS (``None``) and the convergence checks cover
the mixture fields only.

Posterior predictive checks compare, per field, the observed match rate and
the observed level distribution of recruits with the central 99% interval of
their replicates (the ``posterior_predictive`` tables); an observed value
outside its interval makes the verdict ``"warn"``. Convergence of ``rho``
(R-hat, bulk ESS, from ArviZ) and divergent transitions enter the verdict too,
with the limits of :class:`rdsmodel.diagnostics.Thresholds`: R-hat above 1.01
or bulk ESS below 400 warn, R-hat above 1.05 or bulk ESS below 100 fail.

:func:`homophily_section` returns a JSON-able dict;
:func:`homophily_diagnostics` the same content as a
:class:`rdsmodel.diagnostics.Section` (checks, summary, the forest plot) for
``Diagnostics.add_section``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["homophily_diagnostics", "homophily_section", "homophily_summary", "plot_homophily"]


def _config(idata: Any) -> dict[str, Any]:
    raw = idata.posterior.attrs.get("rdsplan_config")
    if raw is None:
        raise ValueError(
            "not a covariate posterior: no rdsplan_config in the posterior's attributes"
        )
    return json.loads(raw)


def _observed_tables(idata: Any, data: Any | None, config: dict) -> tuple[np.ndarray, np.ndarray]:
    if "observed_data" in idata.groups() and "transitions" in idata.observed_data:
        return (
            np.asarray(idata.observed_data["transitions"].values),
            np.asarray(idata.observed_data["parent_missing"].values),
        )
    if data is None:
        raise ValueError("the posterior has no observed_data group; pass the study data")
    from .fields import FieldSpec
    from .transitions import CategoricalCounts, encode_pairs

    specs = [FieldSpec.from_dict(f) for f in config["fields"]]
    parents, recruits = data.pairs()
    counts = CategoricalCounts.from_pairs(encode_pairs(parents, recruits, specs), specs)
    return counts.transitions, counts.parent_missing


def _real_levels(spec: dict) -> int:
    return len(spec["levels"]) - (1 if spec.get("missing_level") else 0)


def homophily_summary(
    idata: Any, data: Any | None = None, *, hdi_prob: float = 0.94
) -> pd.DataFrame:
    """Posterior of ``rho`` per field beside the naive match-rate estimate.

    Parameters
    ----------
    idata : arviz.InferenceData
        A covariate posterior (from :meth:`CovariateModel.fit` or ``load``).
    data : RecruitmentData, optional
        Only needed when ``idata`` has no ``observed_data`` group.
    hdi_prob : float
        Probability mass of the highest-density interval.

    Returns
    -------
    pandas.DataFrame
        One row per categorical field: ``field``, ``levels``, ``pairs`` (both
        values observed), ``match_rate``, ``naive``, ``mean``, ``sd``,
        ``hdi_low``, ``hdi_high``, ``r_hat``, ``ess_bulk``, ``law``
        (``"mixture"``, or ``"matrix"``: then the row is the stay probability).
    """
    import arviz as az

    config = _config(idata)
    cat = [f for f in config["fields"] if f["kind"] == "categorical"]
    if not cat:
        return pd.DataFrame(
            columns=[
                "field",
                "levels",
                "pairs",
                "match_rate",
                "naive",
                "mean",
                "sd",
                "hdi_low",
                "hdi_high",
                "r_hat",
                "ess_bulk",
                "law",
            ]
        )
    trans, _ = _observed_tables(idata, data, config)
    rho = _stay(idata.posterior, config)
    stays = rho.to_dataset(name="rho")
    hdi = az.hdi(stays, hdi_prob=hdi_prob)["rho"]
    from rdsmodel.diagnostics.convergence import quiet_arviz

    with quiet_arviz():  # one chain: R-hat is NaN, reported by the checks
        rhat = az.rhat(stays, var_names=["rho"])["rho"]
    ess = az.ess(stays, var_names=["rho"], method="bulk")["rho"]
    matrix = set(config.get("matrix_fields", []))
    rows = []
    for k, spec in enumerate(cat):
        K = _real_levels(spec)
        table = trans[k, :K, :K]
        n = float(table.sum())
        match = float(np.trace(table) / n) if n else math.nan
        naive = float(np.clip((match - 1.0 / K) / (1.0 - 1.0 / K), 0.0, 1.0)) if n else math.nan
        draws = rho.isel(field=k).values.ravel()
        rows.append(
            {
                "field": spec["name"],
                "levels": K,
                "pairs": int(n),
                "match_rate": match,
                "naive": naive,
                "mean": float(draws.mean()),
                "sd": float(draws.std(ddof=1)) if draws.size > 1 else math.nan,
                "hdi_low": float(hdi.isel(field=k).sel(hdi="lower")),
                "hdi_high": float(hdi.isel(field=k).sel(hdi="higher")),
                "r_hat": math.nan if spec["name"] in matrix else float(rhat.isel(field=k)),
                "ess_bulk": math.nan if spec["name"] in matrix else float(ess.isel(field=k)),
                "law": "matrix" if spec["name"] in matrix else "mixture",
            }
        )
    return pd.DataFrame(rows)


def _stay(posterior: Any, config: dict) -> Any:
    """``rho`` (chain, draw, field), with a matrix field's stay probability ``sum_p w_p T[p, p]`` instead."""
    rho = posterior["rho"]
    if "transition" not in posterior:
        return rho
    weights = np.asarray(config["recruiter_level_weights"], dtype=float)  # (F, L)
    names = list(posterior["field"].values)
    rho = rho.transpose("chain", "draw", "field").copy()
    T = posterior["transition"].fillna(0.0).transpose("chain", "draw", "matrix_field", ...).values
    for m, name in enumerate(posterior["matrix_field"].values):
        k = names.index(name)
        diag = np.einsum("cdpp->cdp", T[:, :, m])
        rho[:, :, k] = (diag * weights[k][None, None, : diag.shape[2]]).sum(axis=2)
    return rho


def _interval(rep: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    tail = (1.0 - level) / 2.0
    return np.quantile(rep, tail, axis=0), np.quantile(rep, 1.0 - tail, axis=0)


def _ppc(idata: Any, config: dict, interval: float) -> dict[str, Any]:
    cat = [f for f in config["fields"] if f["kind"] == "categorical"]
    obs_t = np.asarray(idata.observed_data["transitions"].values)
    obs_m = np.asarray(idata.observed_data["parent_missing"].values)
    pp = idata.posterior_predictive
    rep_t = pp["transitions"].values.reshape(-1, *obs_t.shape)
    rep_m = pp["parent_missing"].values.reshape(-1, *obs_m.shape)
    match_rows, level_rows = [], []
    for k, spec in enumerate(cat):
        K = _real_levels(spec)
        n_obs = obs_t[k, :K, :K].sum()
        if n_obs > 0:
            observed = np.trace(obs_t[k, :K, :K]) / n_obs
            rep_n = rep_t[:, k, :K, :K].sum(axis=(1, 2))
            rep = np.trace(rep_t[:, k, :K, :K], axis1=1, axis2=2) / np.maximum(rep_n, 1)
            lo, hi = _interval(rep, interval)
            match_rows.append(
                {
                    "field": spec["name"],
                    "observed": float(observed),
                    "low": float(lo),
                    "high": float(hi),
                    "ok": bool(lo <= observed <= hi),
                }
            )
        L = len(spec["levels"])
        obs_levels = obs_t[k, :L, :L].sum(axis=0) + obs_m[k, :L]
        total = obs_levels.sum()
        if total == 0:
            continue
        rep_levels = rep_t[:, k, :L, :L].sum(axis=1) + rep_m[:, k, :L]
        rep_share = rep_levels / np.maximum(rep_levels.sum(axis=1, keepdims=True), 1)
        lo, hi = _interval(rep_share, interval)
        for c in range(L):
            share = obs_levels[c] / total
            level_rows.append(
                {
                    "field": spec["name"],
                    "level": spec["levels"][c],
                    "observed": float(share),
                    "low": float(lo[c]),
                    "high": float(hi[c]),
                    "ok": bool(lo[c] <= share <= hi[c]),
                }
            )
    flagged = sum(not r["ok"] for r in match_rows) + sum(not r["ok"] for r in level_rows)
    return {
        "interval": interval,
        "match_rate": match_rows,
        "levels": level_rows,
        "n_flagged": flagged,
    }


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _limits(thresholds: Any, **given: float | None) -> dict[str, float]:
    """Limits from a ``Thresholds`` object (if any), overridden by explicit values."""
    defaults = {
        "rhat_warn": 1.01,
        "rhat_fail": 1.05,
        "ess_warn": 400.0,
        "ess_fail": 100.0,
        "interval": 0.99,
    }
    if thresholds is not None:
        defaults.update(
            rhat_warn=thresholds.rhat_warn,
            rhat_fail=thresholds.rhat_fail,
            ess_warn=thresholds.ess_warn,
            ess_fail=thresholds.ess_fail,
            interval=thresholds.ppc_interval,
        )
    defaults.update({k: float(v) for k, v in given.items() if v is not None})
    return defaults


def _checks(
    idata: Any, summary: pd.DataFrame, ppc: dict[str, Any], lim: dict[str, float]
) -> list[tuple]:
    """``(name, status, message, value, rule)`` for convergence, divergences and the PPC."""
    out = []
    exact = summary[summary["law"] == "matrix"] if "law" in summary else summary.iloc[:0]
    summary = summary.drop(exact.index)  # exact conjugate draws: nothing to converge
    if len(exact):
        names = ", ".join(exact["field"])
        out.append(
            (
                "matrix_draws",
                "ok",
                f"full transition matrices ({names}): exact conjugate Dirichlet draws, no MCMC to check",
                len(exact),
                None,
            )
        )
    if len(summary) and summary["r_hat"].notna().any():
        rhat = float(summary["r_hat"].max())
        worst_r = summary.loc[summary["r_hat"].idxmax(), "field"]
        status = "fail" if rhat > lim["rhat_fail"] else "warn" if rhat > lim["rhat_warn"] else "ok"
        msg = f"max R-hat of rho {rhat:.3f} ({worst_r})"
        if status != "ok":
            msg += "; chains disagree: sample longer"
        out.append(
            ("rho_rhat", status, msg, rhat, f"warn > {lim['rhat_warn']}, fail > {lim['rhat_fail']}")
        )
    elif len(summary):
        n_chain = int(idata.posterior.sizes.get("chain", 1)) if "posterior" in idata.groups() else 1
        why = (
            "one chain: R-hat compares chains and needs at least 2 (run 2 or more chains)"
            if n_chain < 2
            else "R-hat of rho could not be computed (too few draws)"
        )
        out.append(("rho_rhat", "warn", why, None, f"warn > {lim['rhat_warn']}; needs >= 2 chains"))
    if len(summary) and summary["ess_bulk"].notna().any():
        ess = float(summary["ess_bulk"].min())
        worst_e = summary.loc[summary["ess_bulk"].idxmin(), "field"]
        status = "fail" if ess < lim["ess_fail"] else "warn" if ess < lim["ess_warn"] else "ok"
        msg = f"min bulk ESS of rho {ess:.0f} ({worst_e})"
        if status != "ok":
            msg += f"; draw more samples (want >= {lim['ess_warn']:.0f})"
        out.append(
            (
                "rho_ess_bulk",
                status,
                msg,
                ess,
                f"warn < {lim['ess_warn']:g}, fail < {lim['ess_fail']:g}",
            )
        )
    if "sample_stats" in idata.groups() and "diverging" in idata.sample_stats:
        n_div = int(idata.sample_stats["diverging"].values.sum())
        out.append(
            (
                "divergences",
                "warn" if n_div else "ok",
                f"{n_div} divergent transition(s) in the covariate model",
                n_div,
                "warn > 0",
            )
        )
    if not ppc:
        if len(summary):  # categorical fields but no predictive draws
            out.append(
                (
                    "ppc",
                    "warn",
                    "no posterior predictive draws: predictive checks skipped",
                    None,
                    None,
                )
            )
        return out
    level = ppc["interval"]
    bad = [r for r in ppc["match_rate"] if not r["ok"]]
    msg = (
        f"observed match rate inside the central {level:.0%} predictive interval for all "
        f"{len(ppc['match_rate'])} fields"
    )
    if bad:
        msg = "; ".join(
            f"{r['field']}: observed match rate {r['observed']:.3f} outside the central "
            f"{level:.0%} predictive interval [{r['low']:.3f}, {r['high']:.3f}]"
            for r in bad
        )
    out.append(("ppc_match_rate", "warn" if bad else "ok", msg, len(bad), "warn if any outside"))
    bad = [r for r in ppc["levels"] if not r["ok"]]
    msg = (
        f"observed level shares of recruits inside the central {level:.0%} predictive interval "
        f"({len(ppc['levels'])} levels)"
    )
    if bad:
        msg = "; ".join(
            f"{r['field']}={r['level']}: observed share of recruits {r['observed']:.3f} outside "
            f"the central {level:.0%} predictive interval [{r['low']:.3f}, {r['high']:.3f}]"
            for r in bad
        )
    out.append(("ppc_levels", "warn" if bad else "ok", msg, len(bad), "warn if any outside"))
    return out


def homophily_section(
    idata: Any,
    data: Any | None = None,
    *,
    hdi_prob: float = 0.94,
    thresholds: Any = None,
    interval: float | None = None,
    rhat_warn: float | None = None,
    rhat_fail: float | None = None,
    ess_warn: float | None = None,
    ess_fail: float | None = None,
) -> dict[str, Any]:
    """The homophily section of the diagnostics report (JSON-able).

    Parameters
    ----------
    idata : arviz.InferenceData
        A covariate posterior.
    data : RecruitmentData, optional
        Only needed when ``idata`` has no ``observed_data`` group.
    hdi_prob : float
        Mass of the intervals of ``rho``.
    thresholds : rdsmodel.diagnostics.Thresholds, optional
        Limits shared with the count model's diagnostics (R-hat, ESS, PPC interval).
    interval, rhat_warn, rhat_fail, ess_warn, ess_fail : float, optional
        Override single limits.

    Returns
    -------
    dict
        ``{"homophily": [{"field", "mean", "hdi_low", "hdi_high", "naive", "law",
        "match_rate", "pairs", "r_hat", "ess_bulk"}, ...], "hdi_prob", "ppc":
        {"interval", "match_rate": [...], "levels": [...], "n_flagged"},
        "verdict": "ok" | "warn" | "fail", "messages": [...]}``; ``messages``
        lists what did not pass. Missing numbers are ``None``.
    """
    config = _config(idata)
    lim = _limits(
        thresholds,
        interval=interval,
        rhat_warn=rhat_warn,
        rhat_fail=rhat_fail,
        ess_warn=ess_warn,
        ess_fail=ess_fail,
    )
    summary = homophily_summary(idata, data, hdi_prob=hdi_prob)
    has_ppc = "posterior_predictive" in idata.groups() and "observed_data" in idata.groups()
    ppc = _ppc(idata, config, lim["interval"]) if has_ppc else {}
    checks = _checks(idata, summary, ppc, lim)
    order = {"ok": 0, "warn": 1, "fail": 2}
    verdict = max((c[1] for c in checks), key=order.__getitem__, default="ok")
    messages = [c[2] for c in checks if c[1] != "ok"]
    homophily = summary[
        [
            "field",
            "mean",
            "hdi_low",
            "hdi_high",
            "naive",
            "match_rate",
            "pairs",
            "r_hat",
            "ess_bulk",
            "law",
        ]
    ].to_dict("records")
    return _clean(
        {
            "homophily": homophily,
            "hdi_prob": hdi_prob,
            "ppc": ppc,
            "verdict": verdict,
            "messages": messages,
        }
    )


def homophily_diagnostics(
    idata: Any, data: Any | None = None, *, hdi_prob: float = 0.94, thresholds: Any = None
):
    """The homophily report as a :class:`rdsmodel.diagnostics.Section` named ``"homophily"``.

    Checks ``rho_rhat``, ``rho_ess_bulk``, ``divergences``, ``ppc_match_rate`` and
    ``ppc_levels``; summary ``{"fields": [...one entry per field...], "hdi_prob", "ppc"}``;
    a table ``rho`` and the figure ``homophily_rho`` (:func:`plot_homophily`).

    Examples
    --------
    >>> diagnostics.add_section(homophily_diagnostics(idata, thresholds=diagnostics.thresholds))  # doctest: +SKIP
    """
    from rdsmodel.diagnostics.report import Check, Section

    config = _config(idata)
    lim = _limits(thresholds)
    summary = homophily_summary(idata, data, hdi_prob=hdi_prob)
    has_ppc = "posterior_predictive" in idata.groups() and "observed_data" in idata.groups()
    ppc = _ppc(idata, config, lim["interval"]) if has_ppc else {}
    checks = [Check(*c) for c in _checks(idata, summary, ppc, lim)]
    fields = summary[
        [
            "field",
            "mean",
            "hdi_low",
            "hdi_high",
            "naive",
            "match_rate",
            "pairs",
            "r_hat",
            "ess_bulk",
            "law",
        ]
    ].to_dict("records")

    def figure():
        return plot_homophily(idata, data, hdi_prob=hdi_prob).figure

    table = summary.set_index("field")[
        ["mean", "hdi_low", "hdi_high", "naive", "r_hat", "ess_bulk", "law"]
    ]
    return Section(
        "homophily",
        "Recruit covariates (homophily)",
        checks,
        _clean({"fields": fields, "hdi_prob": hdi_prob, "ppc": ppc}),
        tables={"rho": table},
        figures={"homophily_rho": figure},
    )


def plot_homophily(idata: Any, data: Any | None = None, *, hdi_prob: float = 0.94, ax: Any = None):
    """Forest plot of ``rho_f`` (posterior mean and HDI) with the naive estimate marked.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    summary = homophily_summary(idata, data, hdi_prob=hdi_prob)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 0.35 * len(summary) + 1.2))
    y = np.arange(len(summary))[::-1]
    ax.hlines(
        y,
        summary["hdi_low"],
        summary["hdi_high"],
        color="C0",
        lw=2,
        label=f"posterior {hdi_prob:.0%} HDI",
    )
    ax.plot(summary["mean"], y, "o", color="C0", label="posterior mean")
    ax.plot(summary["naive"], y, "x", color="C3", label="naive (match rate, uniform levels)")
    ax.set_yticks(y, summary["field"])
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("inheritance probability rho (matrix fields: stay probability)")
    ax.legend(loc="lower left", fontsize="small", frameon=False)
    ax.set_title("Homophily by field")
    return ax
