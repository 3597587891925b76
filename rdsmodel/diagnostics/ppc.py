r"""Posterior predictive checks of redeemed counts: table per coupon level, rootogram, randomised PIT.

The observed quantity is :math:`Y_i = \min(C_i, k_i)` with :math:`k_i` the
censoring bound; the fit's ``posterior_predictive`` group holds replicated
:math:`Y_i` under posterior draws.

Only respondents whose coupon window has closed are checked: while a window
is open the redeemed count is a lower bound produced by an arrival process the
model does not describe (it enters the likelihood as :math:`C \ge y`, which is
right, but its replicated value would not be comparable).

*Table and rootogram.* For each coupon level :math:`k` and redeemed count
:math:`y = 0..k`, the observed number of respondents is compared with its
predictive distribution (mean and central interval over draws). The hanging
rootogram (Kleiber & Zeileis, 2016) hangs bars of height
:math:`\sqrt{\text{observed}}` from the curve :math:`\sqrt{\text{expected}}`,
so misfit shows as bars not reaching, or crossing, zero.

*Randomised PIT.* For discrete data the probability integral transform
:math:`F_i(y_i)` is not uniform even for a perfect model; the randomised
version :math:`u_i = F_i(y_i - 1) + V_i \, [F_i(y_i) - F_i(y_i - 1)]`,
:math:`V_i \sim U(0, 1)`, is (Czado, Gneiting & Held, 2009). :math:`F_i` is the
empirical predictive CDF over draws. Uniformity is tested with a
Kolmogorov-Smirnov test; the PIT is in-sample, so the test is conservative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from rdsmodel.diagnostics.report import Check, Section
from rdsmodel.diagnostics.thresholds import Thresholds

__all__ = ["pit_histogram", "pit_test", "ppc_section", "ppc_table", "randomized_pit", "rootogram"]


def _arrays(idata, var_name: str = "y"):
    for group in ("posterior_predictive", "observed_data"):
        if group not in idata.groups():
            raise ValueError(
                f"the posterior has no {group} group: posterior predictive checks need it"
            )
    y_obs = np.asarray(idata.observed_data[var_name].values, dtype=np.int64)
    rep = idata.posterior_predictive[var_name]
    rep = np.asarray(
        rep.stack(__sample__=("chain", "draw")).transpose("__sample__", ...).values, dtype=np.int64
    )
    const = idata.constant_data if "constant_data" in idata.groups() else {}
    if "coupons_issued" in const:
        level = np.asarray(const["coupons_issued"].values, dtype=np.int64)
    else:
        level = np.full(len(y_obs), int(max(y_obs.max(initial=0), rep.max(initial=0))))
    if "window_closed" in const:
        closed = np.asarray(const["window_closed"].values).astype(bool)
        if not closed.any():
            raise ValueError("no respondent's coupon window has closed yet: nothing to check")
        y_obs, rep, level = y_obs[closed], rep[:, closed], level[closed]
    return y_obs, rep, level


def ppc_table(idata, *, interval: float = 0.9, var_name: str = "y") -> pd.DataFrame:
    """Observed vs predicted number of respondents per coupon level and redeemed count.

    Parameters
    ----------
    idata : arviz.InferenceData
        A count-model fit (groups ``posterior_predictive``, ``observed_data``, ``constant_data``).
    interval : float
        Mass of the central predictive interval.

    Returns
    -------
    pandas.DataFrame
        Columns ``coupons, redeemed, respondents, observed, predicted, low, high``,
        one row per (coupon level, redeemed count ``0..level``).
    """
    y_obs, rep, level = _arrays(idata, var_name)
    top = int(max(level.max(initial=0), y_obs.max(initial=0), rep.max(initial=0)))
    levels, lidx = np.unique(level, return_inverse=True)
    width = top + 1
    n_cells = len(levels) * width
    observed = np.bincount(lidx * width + np.minimum(y_obs, top), minlength=n_cells)
    n_s = rep.shape[0]
    flat = (
        np.arange(n_s)[:, None] * n_cells + lidx[None, :] * width + np.minimum(rep, top)
    ).ravel()
    predicted = np.bincount(flat, minlength=n_s * n_cells).reshape(n_s, n_cells)
    lo, hi = np.quantile(predicted, [(1 - interval) / 2, (1 + interval) / 2], axis=0)
    respondents = np.bincount(lidx, minlength=len(levels))
    rows = []
    for j, k in enumerate(levels):
        for y in range(int(min(k, top)) + 1):
            c = j * width + y
            rows.append(
                (
                    int(k),
                    y,
                    int(respondents[j]),
                    int(observed[c]),
                    float(predicted[:, c].mean()),
                    float(lo[c]),
                    float(hi[c]),
                )
            )
    return pd.DataFrame(
        rows, columns=["coupons", "redeemed", "respondents", "observed", "predicted", "low", "high"]
    )


def randomized_pit(idata, *, seed: int = 0, var_name: str = "y") -> np.ndarray:
    """Randomised PIT values of the observed redeemed counts, one per respondent."""
    y_obs, rep, _ = _arrays(idata, var_name)
    below = (rep < y_obs[None, :]).mean(axis=0)
    at = (rep == y_obs[None, :]).mean(axis=0)
    v = np.random.default_rng(seed).random(len(y_obs))
    return np.clip(below + v * at, 0.0, 1.0)


def pit_test(u: np.ndarray) -> dict[str, float]:
    """Kolmogorov-Smirnov test of PIT values against U(0, 1): ``{"statistic", "pvalue"}``."""
    res = stats.kstest(np.asarray(u, dtype=float), "uniform")
    return {"statistic": float(res.statistic), "pvalue": float(res.pvalue)}


def rootogram(table: pd.DataFrame, *, max_panels: int = 6):
    """Hanging rootogram per coupon level from :func:`ppc_table`; returns a matplotlib Figure."""
    from matplotlib.figure import Figure

    levels = (
        table.groupby("coupons")["respondents"]
        .first()
        .sort_values(ascending=False)
        .index[:max_panels]
        .sort_values()
    )
    fig = Figure(figsize=(3.2 * len(levels), 3.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(levels), squeeze=False)[0])
    for ax, k in zip(axes, levels, strict=True):
        part = table[table["coupons"] == k]
        x = part["redeemed"].to_numpy()
        expected = np.sqrt(part["predicted"].to_numpy())
        observed = np.sqrt(part["observed"].to_numpy())
        ax.bar(
            x,
            observed,
            bottom=expected - observed,
            width=0.8,
            color="0.75",
            edgecolor="0.3",
            label="observed (hanging)",
        )
        ax.plot(x, expected, "o-", color="tab:red", label="expected")
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_xticks(x)
        ax.set_title(f"{k} coupon(s), n={int(part['respondents'].iloc[0])}")
        ax.set_xlabel("redeemed coupons")
    axes[0].set_ylabel("sqrt(respondents)")
    axes[0].legend(fontsize="small")
    return fig


def pit_histogram(u: np.ndarray, bins: int = 10):
    """Histogram of randomised PIT values with the uniform reference; returns a Figure."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.0, 3.0), layout="constrained")
    ax = fig.subplots()
    ax.hist(u, bins=bins, range=(0, 1), density=True, color="0.75", edgecolor="0.3")
    ax.axhline(1.0, color="tab:red")
    ax.set_xlabel("randomised PIT")
    ax.set_ylabel("density")
    return fig


def ppc_section(idata, thresholds: Thresholds | None = None, *, seed: int = 0) -> Section:
    """Posterior predictive checks of the redeemed counts (table, rootogram, PIT)."""
    t = thresholds or Thresholds()
    table = ppc_table(idata, interval=t.ppc_interval)
    outside = (table["observed"] < table["low"]) | (table["observed"] > table["high"])
    share = float(outside.mean()) if len(table) else 0.0
    u = randomized_pit(idata, seed=seed)
    test = pit_test(u)
    checks = []
    status = "warn" if share > t.ppc_outside_warn_share else "ok"
    msg = (
        f"{int(outside.sum())} of {len(table)} (coupons, redeemed) cells outside the "
        f"{100 * t.ppc_interval:g}% predictive interval"
    )
    if status != "ok":
        cells = ", ".join(f"{r.coupons}:{r.redeemed}" for r in table[outside].itertuples())
        msg += f" ({cells}); the family misses the shape of the counts (see the rootogram)"
    checks.append(
        Check("ppc_cells", status, msg, share, f"warn > {100 * t.ppc_outside_warn_share:g}%")
    )
    status = "warn" if test["pvalue"] < t.pit_pvalue_warn else "ok"
    msg = f"randomised PIT uniformity: KS p = {test['pvalue']:.3g}"
    if status != "ok":
        msg += "; predicted and observed counts disagree (try another family, compare by LOO)"
    checks.append(Check("pit", status, msg, test["pvalue"], f"warn p < {t.pit_pvalue_warn}"))
    table_out = table.assign(outside=outside)
    summary = {
        "table": table_out.to_dict(orient="records"),
        "outside_share": share,
        "pit": {
            **test,
            "n": len(u),
            "histogram": np.histogram(u, bins=10, range=(0, 1))[0].tolist(),
        },
    }
    shown = table_out.set_index(["coupons", "redeemed"])[["observed", "predicted", "low", "high"]]
    figures = {"ppc_rootogram": lambda: rootogram(table), "ppc_pit": lambda: pit_histogram(u)}
    return Section(
        "ppc",
        "Posterior predictive check of redeemed counts",
        checks,
        summary,
        tables={"redeemed counts by coupon level": shown},
        figures=figures,
    )
