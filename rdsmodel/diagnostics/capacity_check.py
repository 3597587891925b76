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
distribution (standardised by the replicates: ``z``) with its direction, e.g.
"observed 52% zeros, model predicts 31% (too few zeros)". Misfits are listed
by p-value, then by ``z`` (p-values of strong departures all sit at the
floor ``1 / (1 + R)``).

:meth:`CapacityCheck.text` says it in words; :meth:`CapacityCheck.summary` is
the headline a plan prints after its error statement; :meth:`CapacityCheck.section`
is the ``capacity_check`` section of the diagnostics report (``rdsplan fit``,
``rdsplan diagnose``), computed at fit time by
:func:`planning.app.workflows.capacity_check_of` and stored with the posterior.
All cells are counted at once (BLAS products of indicator and membership
matrices), so 80 cells x 3,000 replicates x 700 rows take well under a second.

Only rows whose coupon window has closed belong here (an open window's count
is a lower bound, not ``min(C, k)``). Numeric covariates with more than
``max_levels`` distinct values are cut into quartiles; missing values form a
level of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
            raise ValueError(
                f"pmf must be (row, J) or (sample, row, J) with {k.size} rows; got {np.shape(pmf)}"
            )
        width = law.shape[2]
        full = np.zeros((law.shape[0], k.size, max(top, width) + 1))
        full[:, :, :width] = np.clip(law, 0.0, None)
        full[:, np.arange(k.size), width] += np.clip(1.0 - law.sum(axis=2), 0.0, None)
        below = full[:, :, :top]
    else:
        surv = np.asarray(getattr(survival, "values", survival), dtype=np.float64)
        surv = surv[None] if surv.ndim == 2 else surv
        if surv.ndim != 3 or surv.shape[1] != k.size:
            raise ValueError(
                f"survival must be (row, L) or (sample, row, L) with {k.size} rows; "
                f"got {np.shape(survival)}"
            )
        if surv.shape[2] < top:
            raise ValueError(f"survival has L = {surv.shape[2]} < max coupons {top}")
        upper = np.concatenate([np.ones((*surv.shape[:2], 1)), surv[:, :, :top]], axis=2)
        below = np.clip(upper[:, :, :-1] - upper[:, :, 1:], 0.0, None)  # P(C = j), j < top
    cols = np.arange(top + 1)
    out = np.where(
        cols[None, None, :] < k[None, :, None],
        np.concatenate([below, np.zeros((*below.shape[:2], 1))], axis=2),
        0.0,
    )
    out[:, np.arange(k.size), k] = np.clip(1.0 - out.sum(axis=2), 0.0, None)
    return out


#: Columns of :attr:`CapacityCheck.table`.
_COLUMNS = [
    "factor",
    "level",
    "rows",
    "observed_mean",
    "predicted_mean",
    "observed_zero",
    "predicted_zero",
    "observed_at_limit",
    "predicted_at_limit",
    "tv",
    "tv_expected",
    "p_value",
    "z",
    "flagged",
    "verdict",
]


def _factors(labels: Any, rows: int, max_levels: int) -> dict[str, np.ndarray]:
    """Factor name -> ``(row,)`` array of level names (strings)."""
    if labels is None:
        return {}
    items = labels.items() if isinstance(labels, Mapping | pd.DataFrame) else labels
    out: dict[str, np.ndarray] = {}
    for name, column in items:
        series = pd.Series(
            np.asarray(column, dtype=object)
            if not isinstance(column, pd.Series)
            else column.to_numpy(dtype=object)
        )
        if len(series) != rows:
            raise ValueError(f"labels[{name!r}] has {len(series)} values for {rows} rows")
        numeric = pd.to_numeric(series, errors="coerce")
        is_numeric = numeric.notna().sum() == series.notna().sum() and series.notna().any()
        if is_numeric and numeric.nunique() > max_levels:
            edges = np.unique(
                np.nanquantile(numeric.to_numpy(dtype=float), [0, 0.25, 0.5, 0.75, 1])
            )
            bins = np.clip(
                np.searchsorted(edges, numeric.to_numpy(dtype=float), side="left"),
                1,
                len(edges) - 1,
            )
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
        """The flagged rows, smallest p-value first, then the largest departure ``z`` first."""
        bad = self.table[self.table["flagged"]]
        return (
            bad.assign(_z=-bad["z"].fillna(0.0))
            .sort_values(["p_value", "_z"], kind="stable")
            .drop(columns="_z")
        )

    @property
    def overall_misfit(self) -> str | None:
        """The overall row's direction when it is flagged (the whole law misfits), else None."""
        row = self.table[(self.table["factor"] == "all") & self.table["flagged"]]
        return None if row.empty else _direction(str(row["verdict"].iloc[0]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: settings and one record per row of :attr:`table`."""
        records = self.table.astype(object).where(self.table.notna(), None).to_dict("records")
        return {"alpha": self.alpha, "replicates": self.replicates, "cells": records}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CapacityCheck:
        """Inverse of :meth:`to_dict` (extra keys, e.g. those of :meth:`summary`, are ignored)."""
        table = pd.DataFrame.from_records(list(data["cells"]), columns=_COLUMNS)
        table["p_value"] = table["p_value"].astype(np.float64)
        table["flagged"] = table["flagged"].astype(bool)
        return cls(table=table, alpha=float(data["alpha"]), replicates=int(data["replicates"]))

    @property
    def smallest_p(self) -> float | None:
        """Smallest p-value over the cells (``None`` when nothing was checked)."""
        return float(self.table["p_value"].min()) if len(self.table) else None

    def summary(self, *, max_listed: int = 10) -> dict[str, Any]:
        """The headline a plan shows: counts, the misfits (at most ``max_listed``) and the words.

        Keys: ``verdict`` (``ok``, or ``warn`` when a level departs from the
        model), ``checked``, ``flagged``, ``smallest_p``, ``alpha``,
        ``replicates``, ``misfits`` (``factor, level, rows, verdict, p_value``)
        and ``text`` (:meth:`text`).
        """
        bad = self.misfits
        return {
            "verdict": "warn" if len(bad) else "ok",
            "checked": len(self.table),
            "flagged": len(bad),
            "smallest_p": self.smallest_p,
            "alpha": self.alpha,
            "replicates": self.replicates,
            "misfits": [
                {
                    "factor": r.factor,
                    "level": r.level,
                    "rows": int(r.rows),
                    "verdict": r.verdict,
                    "p_value": float(r.p_value),
                }
                for r in bad.head(max_listed).itertuples()
            ],
            "text": self.text(max_listed=max_listed),
        }

    def section(self, focus: Sequence[str] | None = None):
        """The check as a diagnostics section (:class:`rdsmodel.diagnostics.report.Section`).

        One check (``warn`` when a level departs from the model), the summary
        (:meth:`to_dict` and :meth:`summary`: every cell goes into the JSON)
        and a table of the flagged cells and those of the factors in ``focus``
        (e.g. the group and the model's covariates; default every cell).
        """
        from rdsmodel.diagnostics.report import Check, Section

        head = self.summary()
        bad = self.misfits
        cells = head["checked"]
        if bad.empty:
            smallest = (
                "" if head["smallest_p"] is None else f" (smallest p = {head['smallest_p']:.3g})"
            )
            message = (
                f"the fitted capacity law reproduces the observed redeemed coupons in all "
                f"{cells} groups and levels checked{smallest}"
            )
        else:
            where = "; ".join(
                f"{r.factor} = {r.level}: {_direction(r.verdict)}"
                for r in bad.head(10).itertuples()
            )
            more = f"; and {len(bad) - 10} more" if len(bad) > 10 else ""
            message = (
                f"the fitted capacity law departs from the observed redeemed coupons in "
                f"{len(bad)} of {cells} groups and levels ({where}{more}); "
                f"{self._overall_words()}{_advice(bad['verdict'])}"
            )
        check = Check(
            "capacity_check",
            head["verdict"],
            message,
            head["smallest_p"],
            f"warn when p < {self.alpha:g}/{cells} (Bonferroni)",
        )
        shown = self.table
        if focus is not None:
            shown = shown[shown["flagged"] | shown["factor"].isin(["all", *focus])]
        table = shown.set_index(["factor", "level"])[
            [
                "rows",
                "observed_mean",
                "predicted_mean",
                "observed_zero",
                "predicted_zero",
                "observed_at_limit",
                "predicted_at_limit",
                "p_value",
                "z",
                "flagged",
            ]
        ].rename(
            columns={
                "observed_mean": "mean",
                "predicted_mean": "mean_model",
                "observed_zero": "zeros",
                "predicted_zero": "zeros_model",
                "observed_at_limit": "at_limit",
                "predicted_at_limit": "at_limit_model",
                "p_value": "p",
            }
        )
        title = "Capacity check: fitted capacity law against observed redeemed coupons"
        name = "observed against predicted, per group and level" + (
            ""
            if focus is None or len(shown) == len(self.table)
            else f" ({len(shown)} of {cells}: flagged and model factors; all in --json)"
        )
        return Section(
            "capacity_check", title, [check], {**self.to_dict(), **head}, tables={name: table}
        )

    def _overall_words(self) -> str:
        overall = self.overall_misfit
        if overall is None:
            return ""
        return (
            f"the law misfits over all respondents ({overall}), so every level inherits part "
            "of that; levels listed first depart the most; "
        )

    def text(self, *, max_listed: int = 10) -> str:
        """Where the model is wrong, in words (or that no level departs from it).

        At most ``max_listed`` misfits are named (smallest p-values first).
        """
        cells = len(self.table)
        bad = self.misfits
        if bad.empty:
            smallest = self.smallest_p
            return (
                f"Capacity check: the fitted law reproduces the redeemed-coupon distribution in "
                f"all {cells} groups and levels checked (smallest p = "
                f"{float('nan') if smallest is None else smallest:.3f}, "
                f"{self.replicates} predictive replicates)."
            )
        lines = [
            f"Capacity check: the fitted law departs from the data in {len(bad)} of {cells} "
            f"groups and levels (p < {self.alpha:g}/{cells}, {self.replicates} predictive "
            "replicates):"
        ]
        for row in bad.head(max_listed).itertuples():
            lines.append(
                f"  {row.factor} = {row.level} ({row.rows} respondents): {row.verdict} "
                f"(p = {row.p_value:.3g})"
            )
        if len(bad) > max_listed:
            lines.append(f"  ... and {len(bad) - max_listed} more (every level in the JSON)")
        lines.append(
            f"  Where the model is wrong: {self._overall_words()}{_advice(bad['verdict'])}."
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def _cell_stats(
    draws: np.ndarray, k: np.ndarray, member: np.ndarray, width: int, chunk: int = 512
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell distribution, mean and share at the limit of redeemed counts, for every cell at once.

    Parameters
    ----------
    draws
        ``(rep, row)`` redeemed counts in ``0..width - 1``.
    k
        ``(row,)`` coupons issued.
    member
        ``(row, cell)`` 0/1 membership of rows in cells (a row sits in one
        level of every factor, so in several cells).
    width
        ``K + 1``.

    Returns
    -------
    dist, mean, limit
        ``(rep, cell, width)``, ``(rep, cell)``, ``(rep, cell)``: each a sum of
        rows over the cell (BLAS products ``indicator @ member``), divided by its size.
    """
    reps, cells = draws.shape[0], member.shape[1]
    sizes = member.sum(axis=0, dtype=np.float64)
    # Counts of whole numbers: exact in float32 (below 2**24), at half the cost of float64.
    weights = member.astype(np.float32)
    dist = np.empty((reps, cells, width))
    mean = np.empty((reps, cells))
    limit = np.empty((reps, cells))
    for lo in range(0, reps, chunk):
        block = draws[lo : lo + chunk]
        for value in range(width):
            dist[lo : lo + chunk, :, value] = (block == value).astype(np.float32) @ weights
        mean[lo : lo + chunk] = block.astype(np.float32) @ weights
        limit[lo : lo + chunk] = (block == k[None, :]).astype(np.float32) @ weights
    with np.errstate(invalid="ignore", divide="ignore"):
        return dist / sizes[None, :, None], mean / sizes, limit / sizes


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
        raise ValueError(
            f"redeemed and coupons must be non-empty (row,) arrays of the same "
            f"length; got {y.shape} and {k.shape}"
        )
    if np.any(y != np.round(y)) or np.any(k != np.round(k)):
        raise ValueError("redeemed and coupons must be whole numbers")
    y, k = y.astype(np.int64), k.astype(np.int64)
    if np.any(k < 1) or np.any(y < 0) or np.any(y > k):
        bad = int(np.flatnonzero((k < 1) | (y < 0) | (y > k))[0])
        raise ValueError(
            f"row {bad}: need coupons >= 1 and 0 <= redeemed <= coupons "
            f"(got redeemed {y[bad]}, coupons {k[bad]})"
        )
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
    # Every cell at once: a row belongs to one level of each factor.
    member_matrix = np.stack(member, axis=1).astype(np.float64)  # (row, cell)
    sizes = member_matrix.sum(axis=0)
    obs_dist, obs_mean, obs_limit = (a[0] for a in _cell_stats(y[None], k, member_matrix, width))
    rep_dist, rep_mean, rep_limit = _cell_stats(draws, k, member_matrix, width)
    pred_dist = (member_matrix.T @ predicted) / sizes[:, None]  # (cell, K + 1)
    pred_mean = pred_dist @ np.arange(width)
    pred_limit = (member_matrix.T @ predicted[np.arange(rows), k]) / sizes
    tv_obs = 0.5 * np.abs(obs_dist - pred_dist).sum(axis=1)
    tv_rep = 0.5 * np.abs(rep_dist - pred_dist[None]).sum(axis=2)  # (R, cells)
    p_value = (1.0 + (tv_rep >= tv_obs[None] - 1e-12).sum(axis=0)) / (1.0 + replicates)
    records = []
    for index, (factor, level) in enumerate(names):
        stats = {
            "mean": (obs_mean[index], pred_mean[index], rep_mean[:, index]),
            "zero": (obs_dist[index, 0], pred_dist[index, 0], rep_dist[:, index, 0]),
            "limit": (obs_limit[index], pred_limit[index], rep_limit[:, index]),
        }
        records.append(
            {
                "factor": factor,
                "level": level,
                "rows": int(sizes[index]),
                "observed_mean": float(stats["mean"][0]),
                "predicted_mean": float(stats["mean"][1]),
                "observed_zero": float(stats["zero"][0]),
                "predicted_zero": float(stats["zero"][1]),
                "observed_at_limit": float(stats["limit"][0]),
                "predicted_at_limit": float(stats["limit"][1]),
                "tv": float(tv_obs[index]),
                "tv_expected": float(tv_rep[:, index].mean()),
                "p_value": float(p_value[index]),
                "_stats": stats,
            }
        )
    cells = len(records)
    threshold = alpha / max(cells, 1)
    for record in records:
        stats = record.pop("_stats")
        record["z"] = max(_z(item, record["rows"]) for item in stats.values())
        record["flagged"] = bool(record["p_value"] < threshold)
        record["verdict"] = (
            _words(stats, record["rows"]) if record["flagged"] else "consistent with the model"
        )
    table = pd.DataFrame.from_records(records, columns=_COLUMNS)
    return CapacityCheck(table=table, alpha=float(alpha), replicates=int(replicates))


def _z(item: tuple[float, float, np.ndarray], rows: int) -> float:
    """How many predictive standard deviations the observed statistic lies from its replicates.

    The spread is floored at half a respondent's share (``0.5 / rows``), the
    resolution of the statistic, so a level the replicates never vary in gets a
    finite distance.
    """
    observed, _, reps = item
    spread = max(float(np.std(reps)), 0.5 / max(rows, 1))
    return abs(observed - float(np.mean(reps))) / spread


def _words(stats: dict[str, tuple[float, float, np.ndarray]], rows: int) -> str:
    """The statistic furthest from its predictive distribution, with its direction."""
    name = max(stats, key=lambda key: _z(stats[key], rows))
    observed, predicted, _ = stats[name]
    if name == "mean":
        direction = "too many recruits" if predicted > observed else "too few recruits"
        return (
            f"observed {observed:.2f} redeemed coupons per respondent, model predicts "
            f"{predicted:.2f} ({direction})"
        )
    what = "zeros" if name == "zero" else "respondents at the coupon limit"
    direction = f"too few {what}" if predicted < observed else f"too many {what}"
    return (
        f"observed {100 * observed:.0f}% {what}, model predicts {100 * predicted:.0f}% "
        f"({direction})"
    )


def _direction(verdict: str) -> str:
    """The direction in a verdict, e.g. ``"too few zeros"`` (the verdict itself otherwise)."""
    return verdict[verdict.rfind("(") + 1 : -1] if verdict.endswith(")") else verdict


def _advice(verdicts: pd.Series) -> str:
    """What would fix the misfits, from the kinds of departure they show."""
    text = " ".join(verdicts.astype(str))
    advice = []
    if "few zeros" in text:
        advice.append("a family with more zeros (zinb or hurdle; compare families by LOO)")
    if "many zeros" in text:
        advice.append("a family with fewer zeros")
    if "coupon limit" in text:
        advice.append(
            "more spread in capacity (a covariate or group effect for these levels, "
            "or a more dispersed family)"
        )
    if "recruits" in text:
        advice.append("a covariate or group effect for these levels")
    if not advice:
        advice.append("a covariate or group effect for these levels, or another family")
    return "consider " + "; ".join(dict.fromkeys(advice))
