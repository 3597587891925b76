r"""Where the capacity model is wrong: predicted against observed redeemed coupons, per group and level.

The posterior regret and the misspecification bounds say *how much* model
error could cost; this check says *where* the fitted capacity law disagrees
with the data, so a user can act on it (add a covariate, split a site, change
the family).

For respondent ``i`` with ``k_i`` coupons (window closed) the model predicts
the redeemed count :math:`Y_i = \min(C_i, k_i)` with law

.. math:: q_i(j) = P(C_i = j) \ (j < k_i), \qquad q_i(k_i) = P(C_i \ge k_i),

averaged over posterior samples. For every factor (group, each covariate) and
every level ``g`` of it, the rows ``i in g`` give

* the observed distribution of ``y`` over ``0..K`` against the predicted one
  :math:`\bar q_g = \frac{1}{n_g} \sum_{i \in g} q_i` (rows with different
  ``k_i`` mix in both alike), summarised by their total variation
  :math:`TV_g = \tfrac12 \sum_y |\hat p_g(y) - \bar q_g(y)|`;
* the mean redeemed count, the share of zeros and the share at the coupon
  limit (``y = k``), observed and predicted -- the three ways RDS counts
  usually depart from a fitted law (too many zeros, too many at the limit);
* a posterior predictive p-value: ``replicates`` datasets are drawn from the
  model (a posterior sample per replicate, then every row's ``y``), the same
  statistics computed on each; ``p = (1 + #{TV_rep >= TV_obs}) / (1 + R)``
  (``R`` is raised to at least ``2 * cells / alpha`` so that a flag is possible).
  Sampling noise alone makes ``TV_g`` positive, more so in small levels: the
  replicates say how large it should be (``tv_expected``).

A level is flagged when ``p < alpha / cells`` (Bonferroni over all cells
checked), and its verdict names the statistic furthest from its predictive
distribution (standardised by the replicates) with its direction, e.g.
"observed 52% zeros, model predicts 31% (too few zeros)".

Only rows whose coupon window has closed belong here (an open window's count
is a lower bound, not ``min(C, k)``). Numeric covariates with more than
``max_levels`` distinct values are cut into quartiles; missing values form a
level of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CapacityCheck", "capacity_check", "redeemed_laws"]


def redeemed_laws(coupons: np.ndarray, *, pmf: Any = None, survival: Any = None) -> np.ndarray:
    """Laws of ``min(C_i, k_i)`` per posterior sample: ``(sample, row, K + 1)``.

    Parameters
    ----------
    coupons
        ``(row,)`` coupons issued ``k_i >= 1``.
    pmf
        ``(row, J)`` or ``(sample, row, J)``: ``P(C_i = j)``, ``j < J``; mass
        missing from the sum is ``P(C_i >= J)``.
    survival
        Alternatively ``(row, L)`` or ``(sample, row, L)`` survival curves
        ``P(C_i >= l)``, ``l = 1..L``, ``L >= max k``.
    """
    k = np.asarray(coupons, dtype=np.int64)
    top = int(k.max())
    if (pmf is None) == (survival is None):
        raise ValueError("give exactly one of pmf= and survival=")
    if pmf is not None:
        law = np.asarray(getattr(pmf, "values", pmf), dtype=np.float64)
        law = law[None] if law.ndim == 2 else law
        if law.ndim != 3 or law.shape[1] != k.size:
            raise ValueError(f"pmf must be (row, J) or (sample, row, J) with {k.size} rows; "
                             f"got {np.shape(pmf)}")
        width = law.shape[2]
        full = np.zeros((law.shape[0], k.size, max(top, width) + 1))
        full[:, :, :width] = np.clip(law, 0.0, None)
        full[:, np.arange(k.size), width] += np.clip(1.0 - law.sum(axis=2), 0.0, None)
        below = full[:, :, :top]
    else:
        surv = np.asarray(getattr(survival, "values", survival), dtype=np.float64)
        surv = surv[None] if surv.ndim == 2 else surv
        if surv.ndim != 3 or surv.shape[1] != k.size:
            raise ValueError(f"survival must be (row, L) or (sample, row, L) with {k.size} rows; "
                             f"got {np.shape(survival)}")
        if surv.shape[2] < top:
            raise ValueError(f"survival has L = {surv.shape[2]} < max coupons {top}")
        upper = np.concatenate([np.ones((*surv.shape[:2], 1)), surv[:, :, :top]], axis=2)
        below = np.clip(upper[:, :, :-1] - upper[:, :, 1:], 0.0, None)  # P(C = j), j < top
    cols = np.arange(top + 1)
    out = np.where(cols[None, None, :] < k[None, :, None],
                   np.concatenate([below, np.zeros((*below.shape[:2], 1))], axis=2), 0.0)
    out[:, np.arange(k.size), k] = np.clip(1.0 - out.sum(axis=2), 0.0, None)
    return out


def _factors(labels: Any, rows: int, max_levels: int) -> dict[str, np.ndarray]:
    """Factor name -> ``(row,)`` array of level names (strings)."""
    if labels is None:
        return {}
    items = labels.items() if isinstance(labels, Mapping | pd.DataFrame) else labels
    out: dict[str, np.ndarray] = {}
    for name, column in items:
        series = pd.Series(np.asarray(column, dtype=object) if not isinstance(column, pd.Series)
                           else column.to_numpy(dtype=object))
        if len(series) != rows:
            raise ValueError(f"labels[{name!r}] has {len(series)} values for {rows} rows")
        numeric = pd.to_numeric(series, errors="coerce")
        is_numeric = numeric.notna().sum() == series.notna().sum() and series.notna().any()
        if is_numeric and numeric.nunique() > max_levels:
            edges = np.unique(np.nanquantile(numeric.to_numpy(dtype=float), [0, 0.25, 0.5, 0.75, 1]))
            bins = np.clip(np.searchsorted(edges, numeric.to_numpy(dtype=float), side="left"),
                           1, len(edges) - 1)
            text = [f"{'[' if b == 1 else '('}{edges[b - 1]:.3g}, {edges[b]:.3g}]" for b in bins]
            levels = pd.Series(text).where(numeric.notna(), "missing")
        else:
            levels = series.map(lambda v: "missing" if pd.isna(v) else str(v))
        out[str(name)] = levels.to_numpy(dtype=object)
    return out


def _level_order(values: np.ndarray) -> list[str]:
    """Levels sorted naturally: numbers and intervals by their value, ``missing`` last."""
    def key(level: str) -> tuple[int, float, str]:
        text = str(level)
        if text == "missing":
            return (2, 0.0, text)
        try:
            return (0, float(text.lstrip("[(").split(",")[0]), text)
        except ValueError:
            return (1, 0.0, text)

    return sorted({str(v) for v in values}, key=key)


@dataclass(frozen=True)
class CapacityCheck:
    """Table of observed against predicted redeemed counts, per factor level.

    Attributes
    ----------
    table
        One row per (factor, level): ``factor, level, rows, observed_mean,
        predicted_mean, observed_zero, predicted_zero, observed_at_limit,
        predicted_at_limit, tv, tv_expected, p_value, flagged, verdict``.
    alpha
        Family-wise level; a cell is flagged at ``p < alpha / cells``.
    replicates
        Posterior predictive datasets drawn.
    """

    table: pd.DataFrame
    alpha: float
    replicates: int

    @property
    def misfits(self) -> pd.DataFrame:
        """The flagged rows, smallest p-value first."""
        return self.table[self.table["flagged"]].sort_values("p_value")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: settings and one record per row of :attr:`table`."""
        records = self.table.astype(object).where(self.table.notna(), None).to_dict("records")
        return {"alpha": self.alpha, "replicates": self.replicates, "cells": records}

    def text(self) -> str:
        """Where the model is wrong, in words (or that no level departs from it)."""
        cells = len(self.table)
        bad = self.misfits
        if bad.empty:
            smallest = float(self.table["p_value"].min()) if cells else float("nan")
            return (
                f"Capacity check: the fitted law reproduces the redeemed-coupon distribution in "
                f"all {cells} groups and levels checked (smallest p = {smallest:.3f}, "
                f"{self.replicates} predictive replicates)."
            )
        lines = [
            f"Capacity check: the fitted law departs from the data in {len(bad)} of {cells} "
            f"groups and levels (p < {self.alpha:g}/{cells}, {self.replicates} predictive "
            "replicates):"
        ]
        for row in bad.itertuples():
            lines.append(f"  {row.factor} = {row.level} ({row.rows} respondents): {row.verdict} "
                         f"(p = {row.p_value:.3g})")
        lines.append(
            "  Where the model is wrong: consider a covariate or group effect for these levels, "
            "or a family with more zeros or more mass at the coupon limit."
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def _cell_stats(y: np.ndarray, k: np.ndarray, cell: np.ndarray, n_cells: int, width: int):
    """``(counts (…, cell, width), mean, zero share, limit share)`` for ``y`` of shape ``(…, row)``."""
    lead = y.shape[:-1]
    y2 = y.reshape(-1, y.shape[-1])
    reps = y2.shape[0]
    flat = (np.arange(reps)[:, None] * n_cells + cell[None, :]) * width + y2
    counts = np.bincount(flat.ravel(), minlength=reps * n_cells * width).reshape(
        reps, n_cells, width).astype(np.float64)
    sizes = np.bincount(cell, minlength=n_cells).astype(np.float64)
    total = np.bincount((np.arange(reps)[:, None] * n_cells + cell[None, :]).ravel(),
                        weights=y2.ravel(), minlength=reps * n_cells).reshape(reps, n_cells)
    at_limit = np.bincount((np.arange(reps)[:, None] * n_cells + cell[None, :]).ravel(),
                           weights=(y2 == k[None, :]).ravel().astype(float),
                           minlength=reps * n_cells).reshape(reps, n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / sizes
        zero = counts[:, :, 0] / sizes
        limit = at_limit / sizes
        dist = counts / sizes[None, :, None]
    shape = (*lead, n_cells)
    return (dist.reshape(*lead, n_cells, width), mean.reshape(shape), zero.reshape(shape),
            limit.reshape(shape))


def capacity_check(
    redeemed: Any,
    coupons: Any,
    labels: Any,
    *,
    pmf: Any = None,
    survival: Any = None,
    replicates: int = 500,
    seed: int | np.random.Generator = 0,
    alpha: float = 0.05,
    max_levels: int = 8,
    min_rows: int = 1,
) -> CapacityCheck:
    """Compare the fitted capacity law with the observed redeemed counts per group and level.

    Parameters
    ----------
    redeemed
        ``(row,)`` observed redeemed coupons ``y_i`` (closed windows only).
    coupons
        ``(row,)`` coupons issued ``k_i >= 1``.
    labels
        Factors to break the check down by: a mapping ``name -> (row,)``
        values or a DataFrame (one column per factor), e.g. the group and the
        capacity covariates. An overall row (factor ``"all"``) is always included.
    pmf, survival
        The model's predicted capacity law per row and posterior sample
        (exactly one of them; see :func:`redeemed_laws`).
    replicates
        Posterior predictive datasets for the p-values.
    seed
        Seed or Generator.
    alpha
        Family-wise level (Bonferroni over the cells checked).
    max_levels
        Numeric factors with more distinct values are cut into quartiles.
    min_rows
        Levels with fewer rows are left out.

    Returns
    -------
    CapacityCheck
    """
    y = np.asarray(redeemed)
    k = np.asarray(coupons)
    if y.ndim != 1 or k.shape != y.shape or y.size == 0:
        raise ValueError(f"redeemed and coupons must be non-empty (row,) arrays of the same "
                         f"length; got {y.shape} and {k.shape}")
    if np.any(y != np.round(y)) or np.any(k != np.round(k)):
        raise ValueError("redeemed and coupons must be whole numbers")
    y, k = y.astype(np.int64), k.astype(np.int64)
    if np.any(k < 1) or np.any(y < 0) or np.any(y > k):
        bad = int(np.flatnonzero((k < 1) | (y < 0) | (y > k))[0])
        raise ValueError(f"row {bad}: need coupons >= 1 and 0 <= redeemed <= coupons "
                         f"(got redeemed {y[bad]}, coupons {k[bad]})")
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1; got {replicates}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}")
    laws = redeemed_laws(k, pmf=pmf, survival=survival)  # (sample, row, K + 1)
    n_samples, rows, width = laws.shape
    rng = np.random.default_rng(seed)
    factors = {"all": np.full(rows, "all", dtype=object), **_factors(labels, rows, max_levels)}
    # Cells: every (factor, level) with enough rows.
    names: list[tuple[str, str]] = []
    member: list[np.ndarray] = []
    for factor, values in factors.items():
        text = values.astype(str)
        for level in _level_order(values):
            rows_in = text == level
            if rows_in.sum() >= min_rows:
                names.append((factor, level))
                member.append(rows_in)
    # Enough replicates that the smallest p-value, 1 / (1 + R), can fall below alpha / cells.
    replicates = max(int(replicates), int(np.ceil(2 * len(names) / alpha)))
    # One factor at a time (each row in exactly one of its levels).
    predicted = laws.mean(axis=0)  # (row, K + 1)
    cdf = np.cumsum(laws, axis=2)
    draws = np.empty((replicates, rows), dtype=np.int64)
    chunk = max(1, 2_000_000 // max(1, rows * width))
    for lo in range(0, replicates, chunk):
        hi = min(replicates, lo + chunk)
        which = rng.integers(0, n_samples, hi - lo)
        u = rng.random((hi - lo, rows))
        draws[lo:hi] = (u[:, :, None] > cdf[which]).sum(axis=2)
    np.minimum(draws, k[None, :], out=draws)
    records = []
    cell_of_factor: dict[str, list[int]] = {}
    for index, (factor, _) in enumerate(names):
        cell_of_factor.setdefault(factor, []).append(index)
    for factor, indices in cell_of_factor.items():
        cell = np.full(rows, -1)
        for position, index in enumerate(indices):
            cell[member[index]] = position
        keep = cell >= 0
        n_cells = len(indices)
        ck, yk, kk = cell[keep], y[keep], k[keep]
        obs = _cell_stats(yk[None], kk, ck, n_cells, width)
        rep = _cell_stats(draws[:, keep], kk, ck, n_cells, width)
        sizes = np.bincount(ck, minlength=n_cells).astype(float)
        pred_dist = np.zeros((n_cells, width))
        np.add.at(pred_dist, ck, predicted[keep])
        pred_dist /= sizes[:, None]
        tv_obs = 0.5 * np.abs(obs[0][0] - pred_dist).sum(axis=1)
        tv_rep = 0.5 * np.abs(rep[0] - pred_dist[None]).sum(axis=2)  # (R, cells)
        p_value = (1.0 + (tv_rep >= tv_obs[None] - 1e-12).sum(axis=0)) / (1.0 + replicates)
        values = np.arange(width)
        pred_mean = pred_dist @ values
        pred_zero = pred_dist[:, 0]
        pred_limit = np.zeros(n_cells)
        np.add.at(pred_limit, ck, predicted[keep][np.arange(keep.sum()), kk])
        pred_limit /= sizes
        for position, index in enumerate(indices):
            stats = {
                "mean": (obs[1][0, position], pred_mean[position], rep[1][:, position]),
                "zero": (obs[2][0, position], pred_zero[position], rep[2][:, position]),
                "limit": (obs[3][0, position], pred_limit[position], rep[3][:, position]),
            }
            records.append({
                "factor": factor,
                "level": names[index][1],
                "rows": int(sizes[position]),
                "observed_mean": float(stats["mean"][0]),
                "predicted_mean": float(stats["mean"][1]),
                "observed_zero": float(stats["zero"][0]),
                "predicted_zero": float(stats["zero"][1]),
                "observed_at_limit": float(stats["limit"][0]),
                "predicted_at_limit": float(stats["limit"][1]),
                "tv": float(tv_obs[position]),
                "tv_expected": float(tv_rep[:, position].mean()),
                "p_value": float(p_value[position]),
                "_stats": stats,
            })
    cells = len(records)
    threshold = alpha / max(cells, 1)
    for record in records:
        stats = record.pop("_stats")
        record["flagged"] = bool(record["p_value"] < threshold)
        record["verdict"] = _words(stats) if record["flagged"] else "consistent with the model"
    table = pd.DataFrame.from_records(records)
    return CapacityCheck(table=table, alpha=float(alpha), replicates=int(replicates))


def _words(stats: dict[str, tuple[float, float, np.ndarray]]) -> str:
    """The statistic furthest from its predictive distribution, with its direction."""
    def z(item: tuple[float, float, np.ndarray]) -> float:
        observed, _, reps = item
        spread = float(np.std(reps))
        centre = float(np.mean(reps))
        return abs(observed - centre) / spread if spread > 0 else (
            np.inf if observed != centre else 0.0)

    name = max(stats, key=lambda key: z(stats[key]))
    observed, predicted, _ = stats[name]
    if name == "mean":
        direction = "too many recruits" if predicted > observed else "too few recruits"
        return (f"observed {observed:.2f} redeemed coupons per respondent, model predicts "
                f"{predicted:.2f} ({direction})")
    what = "zeros" if name == "zero" else "respondents at the coupon limit"
    direction = f"too few {what}" if predicted < observed else f"too many {what}"
    return (f"observed {100 * observed:.0f}% {what}, model predicts {100 * predicted:.0f}% "
            f"({direction})")
