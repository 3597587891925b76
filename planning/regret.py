r"""Posterior regret: what a plan gives up against the best plan for each posterior sample.

Parameter uncertainty *within* the model is measured sample by sample. Each
posterior sample ``d`` is taken in turn as the truth; the regret of a plan is
the value of the best plan for that sample minus the value of the plan under
that sample:

.. math:: \mathrm{reg}_d = \max_{k \in \mathcal K} f_d(k) - f_d(\hat k) \;\ge 0 .

Single round
------------
``f_d(k) = sum_i w_i sum_{l<=k_i} S_di(l)``, ``K`` the allocations with the
plan's spend ``s = sum_i k^_i`` and the caps. Because each ``S_di`` is
non-increasing, the best plan for ``d`` is the greedy on ``S_d`` and its value
is the sum of the ``s`` largest entries of the capped marginal matrix
``w_i S_di(l)`` (every set of ``s`` largest entries can be taken as prefixes of
the rows, so the sum is attained by an allocation; Pan et al., Thm 4.2). The
regret is therefore *exact*. It is computed for all samples at once, without
running a greedy per sample:

1. per sample, only the ``s`` people with the largest first marginal can be
   given a coupon (``s`` first marginals are at least as large as any entry
   of another row), so those rows are gathered (``numpy.argpartition``);
2. only levels whose marginal reaches that sample's ``s``-th largest first
   marginal can be among the ``s`` largest entries, which bounds the width;
3. ``numpy.partition`` of the ``(sample, s * width)`` block gives the ``s``
   largest entries per sample; their sum is the best value.

The plan's value under sample ``d`` is the sum of the ``s`` entries
``w_i S_di(l)``, ``l <= k^_i``, gathered directly. Recruit weights may differ
by sample (``w_di = E[w(X') | x_i]`` under sample ``d``, priority subgroups):
the entries are then ``w_di S_di(l)`` and each sample's best plan is the
greedy on its own value curves, so the regret of the weighted objective is
exact too. 200 samples, 500 people
and ``s = 200`` take a few tens of milliseconds at ``L = 12`` and about 0.1 s at
``L = 200``, plus the validation of the curves unless ``check=False``.

Spend decision (multi-round)
----------------------------
The online DP planner scores every spend ``s`` per scored sample,
``Q_d(s) = v_d(k^{(s)}) + gamma sum_m P_d(N = m) U_d(r - s, m)`` (each sample's
own surrogate table), and plays ``s*``. The regret of the spend decision is

.. math:: \mathrm{reg}_d = \max_s Q_d(s) - Q_d(s^*),

the discounted recruits lost for sample ``d`` by playing ``s*`` rather than
the spend that sample would have chosen, with the round's allocation rule
(greedy on the posterior-mean curves) held fixed. The same function serves
any planner that scores a finite set of options per sample (e.g. GFP's
backed-up scores): :func:`score_regret`.

Summary
-------
:class:`Regret` holds the posterior mean and 90% quantile of ``reg_d``, both
as recruits and as a share of the plan's value (the posterior mean of
``f_d(k^)``, or the value the plan reports), and the posterior probability that
the plan is optimal (``reg_d <= tol * max(1, best_d)``, ``tol = 1e-9``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from planning.curves import as_survival_samples
from planning.greedy import _check_caps, _check_weights

__all__ = [
    "Regret",
    "score_regret",
    "single_round_regret",
    "single_round_regret_samples",
    "spend_regret",
    "summarise_regret",
]

#: Relative tolerance under which a sample's regret counts as zero (plan optimal).
OPTIMAL_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Regret:
    """Posterior regret of a plan (see the module docstring).

    Attributes
    ----------
    mean, q90
        Posterior mean and 90% quantile of the per-sample regret, in recruits
        (discounted recruits for a spend decision).
    share_mean, share_q90
        The same divided by the plan's value; ``None`` when that value is 0.
    p_optimal
        Share of posterior samples for which the plan is optimal.
    plan_value
        The plan's value the shares refer to.
    samples
        Posterior samples the regret was computed over.
    kind
        ``"single-round"`` (exact, greedy per sample), ``"spend"`` (spend
        decision scored by each sample's surrogate table), ``"backed-up"``
        (spend decision scored by the planner's backed-up value, e.g. GFP) or
        ``"scores"``.
    """

    mean: float
    q90: float
    share_mean: float | None
    share_q90: float | None
    p_optimal: float
    plan_value: float
    samples: int
    kind: str = "single-round"

    def to_dict(self) -> dict[str, Any]:
        """``{mean, q90, share_mean, share_q90, p_optimal}`` as plain floats (or None)."""

        def num(x: float | None) -> float | None:
            return None if x is None else float(x)

        return {
            "mean": float(self.mean),
            "q90": float(self.q90),
            "share_mean": num(self.share_mean),
            "share_q90": num(self.share_q90),
            "p_optimal": float(self.p_optimal),
        }

    @property
    def method(self) -> str:
        """One sentence saying how the regret was computed."""
        n = f"{self.samples} posterior sample" + ("" if self.samples == 1 else "s")
        if self.kind == "single-round":
            return (
                f"exact over {n}: each sample's best plan with the same coupons (greedy on its "
                "curves) minus the plan's expected recruits under that sample"
            )
        if self.kind == "spend":
            return (
                f"over {n} scored by their own surrogate tables: each sample's best spend score "
                "minus its score at the chosen spend (allocation rule held fixed)"
            )
        if self.kind == "backed-up":
            return (
                f"over {n} scored by the planner's backed-up value: each sample's best spend "
                "score minus its score at the chosen spend (allocation rule held fixed)"
            )
        return f"over {n}: each sample's best score minus its score at the chosen option"

    def text(self) -> str:
        """Two lines a field team can read."""
        multi = self.kind in ("spend", "backed-up")
        unit = "discounted recruits" if multi else "recruits"

        def share(x: float | None, first: bool) -> str:
            if x is None:
                return ""
            return (
                f" ({100 * x:.1f}% of the plan's {self.plan_value:.2f})"
                if first
                else (f" ({100 * x:.1f}%)")
            )

        what = "spend decision" if multi else "plan"
        return (
            f"Posterior regret of the {what}: mean {self.mean:.3f} {unit}"
            f"{share(self.share_mean, True)}, 90% quantile {self.q90:.3f}"
            f"{share(self.share_q90, False)}; optimal for "
            f"{100 * self.p_optimal:.0f}% of posterior samples.\n"
            f"  computed {self.method}. This is the loss from parameter uncertainty "
            "within the model, not from the model being wrong."
        )

    def __str__(self) -> str:
        return self.text()

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        *,
        plan_value: float = float("nan"),
        samples: int = 0,
        kind: str = "single-round",
    ) -> Regret:
        """Rebuild from :meth:`to_dict` (the extra fields are passed separately)."""
        return cls(
            mean=float(data["mean"]),
            q90=float(data["q90"]),
            share_mean=data.get("share_mean"),
            share_q90=data.get("share_q90"),
            p_optimal=float(data["p_optimal"]),
            plan_value=plan_value,
            samples=samples,
            kind=kind,
        )


def summarise_regret(
    regret: Any,
    best: Any,
    *,
    plan_value: float | None = None,
    values: Any = None,
    kind: str = "single-round",
) -> Regret:
    """Summarise per-sample regrets into a :class:`Regret`.

    Parameters
    ----------
    regret
        ``(sample,)`` regrets ``best_d - value_d`` (negative round-off is clipped to 0).
    best
        ``(sample,)`` best values per sample (sets the optimality tolerance).
    plan_value
        The plan's value for the shares; default: the mean of ``values``.
    values
        ``(sample,)`` the plan's value per sample (used when ``plan_value`` is None).
    kind
        See :class:`Regret`.
    """
    reg = np.clip(np.asarray(regret, dtype=np.float64).ravel(), 0.0, None)
    top = np.asarray(best, dtype=np.float64).ravel()
    if reg.size == 0:
        raise ValueError("regret needs at least one posterior sample")
    if plan_value is None:
        if values is None:
            raise ValueError("give plan_value or the per-sample values")
        plan_value = float(np.mean(values))
    tol = OPTIMAL_TOLERANCE * np.maximum(1.0, np.abs(top))
    optimal = reg <= tol
    reg = np.where(optimal, 0.0, reg)
    mean = float(reg.mean())
    q90 = float(np.quantile(reg, 0.9))
    value = float(plan_value)
    positive = value > 0 and np.isfinite(value)
    return Regret(
        mean=mean,
        q90=q90,
        share_mean=mean / value if positive else None,
        share_q90=q90 / value if positive else None,
        p_optimal=float(optimal.mean()),
        plan_value=value,
        samples=int(reg.size),
        kind=kind,
    )


def single_round_regret_samples(
    survival: Any, allocation: Any, caps: Any = None, weights: Any = None, *, check: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample single-round regret, exact and vectorised over samples.

    Parameters
    ----------
    survival
        ``(sample, person, L)`` (or ``(person, L)``) survival curves.
    allocation
        ``(person,)`` the plan's coupons; its spend ``s`` is the comparison budget.
    caps
        Optional per-person caps (the plan must respect them).
    weights
        Optional recruit weights: ``(person,)`` ``w_i`` or ``(sample, person)``
        ``w_di`` (one row per sample, or one row for all).
    check
        Validate the curves (``False`` for curves already validated, e.g.
        ``PlanningInputs.survival``: validation is most of the cost).

    Returns
    -------
    regret, values, best
        ``(sample,)`` arrays: ``best - values``, the plan's value
        ``sum_i w_i sum_{l<=k_i} S_di(l)`` and the best value with ``s`` coupons.
    """
    if check:
        curves = as_survival_samples(survival)
    else:
        curves = np.asarray(getattr(survival, "values", survival), dtype=np.float64)
        curves = curves[None] if curves.ndim == 2 else curves
    n_samples, n, length = curves.shape
    caps_arr = _check_caps(caps, n, length)
    curves, w = _value_curves(curves, weights)
    k = np.asarray(allocation)
    if k.shape != (n,) or np.any(k < 0) or np.any(k != np.round(k)):
        raise ValueError(f"allocation must be ({n},) whole numbers >= 0; got shape {k.shape}")
    k = k.astype(np.int64)
    if np.any(k > caps_arr):
        bad = int(np.flatnonzero(k > caps_arr)[0])
        raise ValueError(
            f"allocation[{bad}] = {k[bad]} exceeds the cap {caps_arr[bad]} (or L = {length})"
        )
    spend = int(k.sum())
    if spend == 0:
        zeros = np.zeros(n_samples)
        return zeros, zeros.copy(), zeros.copy()
    # The plan's value: gather its s coupons.
    person = np.repeat(np.arange(n), k)
    level = np.arange(spend) - np.repeat(np.cumsum(k) - k, k)  # 0-based level within each row
    taken = curves[:, person, level]
    if w is not None:
        taken = taken * w[person]
    values = taken.sum(axis=1)
    best = _best_values(curves, spend, caps_arr, w)
    return best - values, values, best


def _value_curves(curves: np.ndarray, weights: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """``(curves, per-person weights)``: per-sample weights are multiplied into the curves."""
    n_samples, n, _ = curves.shape
    if weights is None or np.ndim(weights) <= 1:
        return curves, _check_weights(weights, n)
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != n or w.shape[0] not in (1, n_samples):
        raise ValueError(
            f"weights must be (person,) or (sample, person) = ({n_samples}, {n}); got {w.shape}"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    return curves * w[..., None], None


def _best_values(
    curves: np.ndarray, spend: int, caps: np.ndarray, w: np.ndarray | None
) -> np.ndarray:
    """Sum of the ``spend`` largest capped marginals per sample (module docstring, steps 1-3)."""
    n_samples, n, length = curves.shape
    first = curves[:, :, 0] if w is None else curves[:, :, 0] * w
    first = np.where(caps > 0, first, -1.0)
    if n > spend:
        rows = np.argpartition(first, n - spend, axis=1)[:, n - spend :]  # (sample, spend)
        floor = np.take_along_axis(first, rows, axis=1).min(axis=1)  # s-th largest first marginal
    else:
        rows = np.broadcast_to(np.arange(n), (n_samples, n))
        floor = np.full(n_samples, -np.inf)
    width = int(min(length, spend, caps.max()))
    sub = curves[np.arange(n_samples)[:, None], rows, :width]  # (sample, rows, width)
    if w is not None:
        sub = sub * w[rows][:, :, None]
    if n > spend:
        reach = int((sub >= np.maximum(floor, 0.0)[:, None, None]).sum(axis=2).max())
        width = max(1, min(width, reach))
        sub = sub[:, :, :width]
    sub = np.minimum.accumulate(np.maximum(sub, 0.0), axis=2)
    sub = np.where(np.arange(width) < caps[rows][:, :, None], sub, -1.0)
    flat = sub.reshape(n_samples, -1)
    count = min(spend, flat.shape[1])
    top = np.partition(flat, flat.shape[1] - count, axis=1)[:, flat.shape[1] - count :]
    return np.maximum(top, 0.0).sum(axis=1)


def single_round_regret(
    survival: Any,
    allocation: Any,
    caps: Any = None,
    weights: Any = None,
    plan_value: float | None = None,
    *,
    check: bool = True,
) -> Regret:
    """Posterior regret of a single-round plan (exact; see the module docstring).

    Parameters
    ----------
    survival
        ``(sample, person, L)`` posterior survival curves.
    allocation
        ``(person,)`` the plan's coupons.
    caps, weights
        Per-person caps and recruit weights (``(person,)`` or ``(sample,
        person)``), as given to the planner.
    plan_value
        Value the shares are relative to; default: the posterior mean of the
        plan's expected recruits.
    check
        Validate the curves (see :func:`single_round_regret_samples`).

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[[0.9, 0.1], [0.5, 0.4]], [[0.2, 0.1], [0.5, 0.4]]])
    >>> r = single_round_regret(S, [1, 0])
    >>> round(r.mean, 3), r.p_optimal
    (0.15, 0.5)
    """
    regret, values, best = single_round_regret_samples(
        survival, allocation, caps, weights, check=check
    )
    return summarise_regret(regret, best, plan_value=plan_value, values=values, kind="single-round")


def score_regret(
    sample_scores: Any, chosen: int, plan_value: float | None = None, kind: str = "scores"
) -> Regret:
    """Regret of choosing option ``chosen`` when each sample scores every option.

    Parameters
    ----------
    sample_scores
        ``(sample, option)`` scores ``Q_d(option)`` (higher is better).
    chosen
        Index of the option played.
    plan_value
        Value the shares are relative to; default: ``mean_d Q_d(chosen)``.
    """
    scores = np.asarray(sample_scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[None]
    if scores.ndim != 2 or scores.shape[1] == 0:
        raise ValueError(f"sample_scores must be (sample, option); got shape {scores.shape}")
    if not 0 <= int(chosen) < scores.shape[1]:
        raise ValueError(f"chosen must be in [0, {scores.shape[1] - 1}]; got {chosen}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("sample_scores contains NaN or infinite values")
    best = scores.max(axis=1)
    values = scores[:, int(chosen)]
    return summarise_regret(best - values, best, plan_value=plan_value, values=values, kind=kind)


def spend_regret(
    spend_sample_scores: Any, spend: int, plan_value: float | None = None, kind: str = "spend"
) -> Regret:
    """Posterior regret of a multi-round spend decision.

    Parameters
    ----------
    spend_sample_scores
        ``(sample, max_spend + 1)``: ``Q_d(s)`` from the DP planner
        (``Decision.details["spend_sample_scores"]``).
    spend
        The spend played.
    plan_value
        Value the shares are relative to; default: ``mean_d Q_d(spend)``.
    kind
        ``"spend"`` (population surrogate tables) or ``"backed-up"`` (a
        planner's own backed-up value, e.g. GFP).
    """
    return score_regret(spend_sample_scores, spend, plan_value, kind=kind)
