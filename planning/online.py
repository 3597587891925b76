r"""Online spend decision scored by the population surrogate table.

With ``r`` coupons left and the real frontier in hand, every spend
``s = 0..r`` is scored as

.. math:: Q(s) = v_s + \gamma \sum_m [z^m] \prod_i H_i(z; k_i^{(s)})\; U(r-s, m),

where ``k^{(s)}`` is the greedy allocation of ``s`` coupons,
``v_s = sum_i sum_{l<=k_i} S_i(l)`` its expected recruits, ``H_i(z; k)`` the
truncated PGF of person ``i``'s own capacity law (``P(C=j) = S(j) - S(j+1)``)
and ``U`` the surrogate table (:func:`planning.surrogate_table`). The best
``s`` is played.

Over posterior samples, ``Q_d(s)`` uses sample ``d``'s curves and its own
table (or one pooled table); the spend maximises a risk measure (mean, CVaR,
worst) of ``(Q_1(s), ..., Q_D(s))`` while the allocation is the greedy on the
posterior-mean curves.

Weighted recruits (priority subgroups)
--------------------------------------
With expected recruit weights ``w_di = E[w(X') | x_i]`` the immediate value
is ``v_s = sum_i w_di sum_{l<=k_i} S_di(l)``, the allocation of every spend
is the greedy on the posterior-mean value curves ``E_d[S_di(l) w_di]``, and
the continuation is the surrogate table scaled by the weight ``wbar_d`` of a
recruit of a future (pooled) recruiter, ``table_scale``:

.. math:: Q_d(s) = v_{d,s} + \gamma\, \bar w_d \sum_m P_d(N = m)\, U_d(r-s, m).

This is the population DP of the *pooled weighted law*: when every future
recruiter is a pooled draw whose recruits are worth ``wbar`` on average
(capacity and recruit weight independent in the pool), every round's reward
is ``wbar`` times its recruits, the optimal spends are unchanged and the
value is ``wbar U`` exactly. The next frontier's size law stays the
unweighted one (a coupon brings a recruit whatever their weight).

How it is fast
--------------
Greedy allocations are nested in ``s``: going from ``s`` to ``s + 1`` changes
one factor of the product. The products are kept in the Fourier domain at
``N > r`` points of the unit circle, as sums of logarithms: the step adds
``log H_i(z; k+1) - log H_i(z; k)``, so all ``r + 1`` products come from one
cumulative sum and one batched inverse FFT. (Moduli below ``1e-150``, e.g. exact zeros,
are clamped; a clamped factor that is later replaced is
removed exactly.) Degrees stay below ``N``, so the coefficients are exact up
to float rounding. ``U(r', m) = U(r', r')`` for ``m >= r'`` closes the sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import fft as sfft

from planning.curves import as_survival_samples, pmf_from_survival
from planning.greedy import _check_budget, _check_caps, allocation_values, greedy_order
from planning.risk import RiskMeasure, parse_risk

__all__ = ["SpendDecision", "allocation_scores", "online_decision"]


@dataclass
class SpendDecision:
    """Outcome of :func:`online_decision`.

    Attributes
    ----------
    spend
        Coupons to hand out this round.
    allocation
        ``(person,)`` greedy allocation of ``spend`` coupons (posterior-mean curves).
    scores
        ``(max_spend + 1,)`` risk measure of ``Q_d(s)`` over samples, per spend ``s``.
    sample_scores
        ``(sample, max_spend + 1)``: ``Q_d(s)``.
    immediate
        ``(sample, max_spend + 1)``: ``v_s`` per sample.
    continuation
        ``(sample, max_spend + 1)``: ``sum_m P(N = m) U(r - s, m)`` (undiscounted).
    order
        ``(person, level)`` arrays: the greedy order, so
        ``allocation_for(s)`` is cheap.
    """

    spend: int
    allocation: np.ndarray
    scores: np.ndarray
    sample_scores: np.ndarray
    immediate: np.ndarray
    continuation: np.ndarray
    remaining_budget: int
    gamma: float
    risk: str
    order: tuple[np.ndarray, np.ndarray] = field(repr=False, default=(np.empty(0), np.empty(0)))

    @property
    def value(self) -> float:
        """Score of the chosen spend."""
        return float(self.scores[self.spend])

    def allocation_for(self, spend: int) -> np.ndarray:
        """Greedy allocation of ``spend`` coupons (``0 <= spend <= max spend``)."""
        if not 0 <= spend < self.scores.size:
            raise ValueError(f"spend must be in [0, {self.scores.size - 1}]; got {spend}")
        return np.bincount(self.order[0][:spend], minlength=self.allocation.size).astype(np.int64)


def _tables(table: Any, remaining: int) -> np.ndarray:
    arr = np.asarray(table, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2]:
        raise ValueError(
            f"table must be a square U table (b+1, b+1) or (sample, b+1, b+1); got {arr.shape}"
        )
    if arr.shape[1] <= remaining:
        raise ValueError(
            f"table covers budgets up to {arr.shape[1] - 1} but {remaining} coupons remain; "
            f"build it with surrogate_table(..., budget={remaining})"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("table contains NaN or infinite values")
    return arr


def _log(values: np.ndarray) -> np.ndarray:
    """Complex logarithm, moduli below ``1e-150`` clamped (so exact zeros stay finite)."""
    re, im = values.real, values.imag
    out = np.empty_like(values)
    out.real = 0.5 * np.log(np.maximum(re * re + im * im, 1e-300))
    out.imag = np.arctan2(im, re)
    return out


def online_decision(
    survival: Any,
    remaining_budget: int,
    table: Any,
    gamma: float,
    risk: str | RiskMeasure = "mean",
    caps: Any = None,
    max_spend: int | None = None,
    chunk_elements: int = 200_000,
    order_curves: Any = None,
    weights: Any = None,
    table_scale: Any = None,
) -> SpendDecision:
    r"""Choose this round's spend by scoring every ``s`` with the surrogate table.

    Parameters
    ----------
    survival
        Frontier survival curves ``(person, L)`` or posterior samples
        ``(sample, person, L)`` (numpy or DataArray).
    remaining_budget
        Coupons left, ``r``.
    table
        ``U`` from :func:`planning.surrogate_table` with budget ``>= r``:
        ``(b+1, b+1)`` shared by all samples, or ``(sample, b+1, b+1)`` one
        per posterior sample.
    gamma
        Discount factor in ``(0, 1]`` (the one the table was built with).
    risk
        How scores are aggregated over samples: ``"mean"``, ``"cvar:0.1"``,
        ``"worst"`` or a :mod:`planning.risk` measure.
    caps
        Optional per-person coupon caps.
    max_spend
        Optional upper limit on the spend considered (default ``r``).
    chunk_elements
        Memory knob: complex entries processed per chunk of samples.
    order_curves
        ``(person, L)`` curves whose greedy order gives the allocation of every
        spend (default: the mean of ``survival``). Pass the posterior-mean
        curves of *all* samples when only some samples are scored, so that the
        scores are those of the allocation that is returned.

    Returns
    -------
    SpendDecision
        The spend (ties go to the smaller spend), its allocation and the
        score of every spend.

    Examples
    --------
    >>> import numpy as np
    >>> from planning import surrogate_table, online_decision
    >>> U = surrogate_table([0.3, 0.3, 0.4], budget=6, gamma=0.9)
    >>> S = np.array([[0.7, 0.4, 0.0], [0.9, 0.2, 0.0]])
    >>> d = online_decision(S, 6, U, 0.9)
    >>> int(d.spend), d.allocation.tolist()
    (3, [2, 1])
    """
    remaining = _check_budget(remaining_budget, "remaining_budget")
    gamma = float(gamma)
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"gamma must be in (0, 1]; got {gamma}")
    measure = parse_risk(risk)
    curves = as_survival_samples(survival)
    tables = _tables(table, remaining)
    n_curves, n_people, length = curves.shape
    if tables.shape[0] not in (1, n_curves) and n_curves != 1:
        raise ValueError(
            f"table has {tables.shape[0]} samples but survival has {n_curves}; "
            "pass one table or one per sample"
        )
    n_samples = max(n_curves, tables.shape[0])
    caps_arr = _check_caps(caps, n_people, length)
    limit = (
        remaining if max_spend is None else min(remaining, _check_budget(max_spend, "max_spend"))
    )
    w = _weights(weights, n_curves, n_people)
    scale = _scale(table_scale, n_samples)
    if order_curves is None:
        mean_curves = curves.mean(axis=0) if w is None else (curves * w[..., None]).mean(axis=0)
    elif w is None:
        mean_curves = as_survival_samples(order_curves, "order_curves")[0]
    else:
        mean_curves = np.asarray(order_curves, dtype=np.float64)
        if not np.all(np.isfinite(mean_curves)) or np.any(mean_curves < 0):
            raise ValueError("order_curves must be finite and non-negative")
    if mean_curves.shape != curves.shape[1:]:
        raise ValueError(f"order_curves has shape {mean_curves.shape}, expected {curves.shape[1:]}")
    person, level, _ = greedy_order(mean_curves, limit, caps_arr)
    top = person.size  # spends 0..top are possible
    spends = np.arange(top + 1)

    # Immediate value v_s per sample: cumulative marginals along the greedy order.
    gains = curves[:, person, level - 1]  # (curve sample, top)
    if w is not None:
        gains = gains * w[:, person]
    immediate = np.concatenate([np.zeros((n_curves, 1)), np.cumsum(gains, axis=1)], axis=1)

    # Entries (i, l) sorted by person then level: each person's levels 1..K_i.
    by_person = np.lexsort((level, person))
    p_sorted, l_sorted = person[by_person], level[by_person]
    starts = np.r_[True, p_sorted[1:] != p_sorted[:-1]] if top else np.zeros(0, bool)
    rank = np.empty(top, dtype=np.int64)
    rank[by_person] = np.arange(top)  # position of greedy step t in the sorted list

    size = sfft.next_fast_len(top + 1, real=True)
    # Real coefficients: the spectrum at the points q > size/2 is the conjugate
    # of the one at size - q, so only q = 0..size//2 are kept (inverse by irfft).
    angle = -2j * np.pi * np.arange(size // 2 + 1) / size
    # Rows of U needed: U(r - s, min(m, r - s)) for s = 0..top, m = 0..size-1.
    left = remaining - spends  # r - s
    col = np.minimum(np.arange(size)[None, :], left[:, None])

    pmf = pmf_from_survival(curves)  # (curve sample, person, L + 1)
    z_below = np.exp(np.outer(l_sorted - 1, angle))  # z^(l-1) at the N points
    z_level = np.exp(np.outer(l_sorted, angle))  # z^l
    offset = np.maximum.accumulate(np.where(starts, np.arange(top), 0))  # group starts
    continuation = np.empty((n_samples, top + 1))
    per_sample = max(1, (top + 1) * (size // 2 + 1))
    chunk = max(1, int(chunk_elements // per_sample))
    for lo in range(0, n_samples, chunk):
        hi = min(n_samples, lo + chunk)
        idx = np.arange(lo, hi)
        cidx = idx if n_curves > 1 else np.zeros_like(idx)
        tidx = idx if tables.shape[0] > 1 else np.zeros_like(idx)
        if top:
            # E(i, l)(z) = sum_{j<l} P(C_i = j) z^j by grouped cumulative sums.
            coef = pmf[cidx][:, p_sorted, l_sorted - 1]  # P(C_i = l - 1)
            terms = coef[:, :, None] * z_below[None]
            cum = np.cumsum(terms, axis=1)
            before = cum - terms  # cumulative sum before each entry
            partial = cum - before[:, offset]  # restart the sum at each person
            tail = curves[cidx][:, p_sorted, l_sorted - 1]  # S_i(l)
            h = partial + tail[:, :, None] * z_level[None]
            log_h = _log(h)
            step = log_h.copy()  # log H(i, l) - log H(i, l - 1), with H(i, 0) = 1
            step[:, 1:] -= log_h[:, :-1]
            step[:, starts] = log_h[:, starts]
            delta = step[:, rank]  # greedy order
            log_g = np.concatenate([np.zeros_like(delta[:, :1]), np.cumsum(delta, axis=1)], axis=1)
            coeffs = sfft.irfft(np.exp(log_g), n=size, axis=2)  # (chunk, top+1, size)
        else:
            coeffs = np.zeros((hi - lo, 1, size))
            coeffs[:, 0, 0] = 1.0
        weights_u = tables[tidx][:, left[:, None], col]  # (chunk, top+1, size)
        continuation[lo:hi] = np.einsum("csm,csm->cs", coeffs, weights_u)
        if scale is not None:
            continuation[lo:hi] *= scale[idx][:, None]

    immediate_all = np.broadcast_to(immediate, (n_samples, top + 1))
    sample_scores = immediate_all + gamma * continuation
    scores = np.asarray(measure.evaluate(sample_scores, axis=0), dtype=np.float64)
    spend = int(np.argmax(scores))
    allocation = np.bincount(person[:spend], minlength=n_people).astype(np.int64)
    return SpendDecision(
        spend=spend,
        allocation=allocation,
        scores=scores,
        sample_scores=sample_scores,
        immediate=np.array(immediate_all),
        continuation=continuation,
        remaining_budget=remaining,
        gamma=gamma,
        risk=str(measure),
        order=(person, level),
    )


def allocation_scores(
    survival: Any,
    remaining_budget: int,
    table: Any,
    gamma: float,
    allocation: Any,
    weights: Any = None,
    table_scale: Any = None,
) -> np.ndarray:
    r"""Score ``Q_d(k)`` of one given allocation per sample, by direct polynomial products.

    ``Q_d(k) = sum_i w_di sum_{l<=k_i} S_di(l) + gamma wbar_d sum_m [z^m] prod_i H_di(z; k_i) U_d(r - s, m)``
    with ``s = sum_i k_i`` (``w = wbar = 1`` without ``weights`` and
    ``table_scale``, as in :func:`online_decision`). This is the reference the
    online decision's FFT path is checked against, and how a plan's claimed
    value is recomputed.

    Returns
    -------
    numpy.ndarray
        ``(sample,)`` scores.
    """
    from planning.pgf import poly_mul, truncated_pgf

    curves = as_survival_samples(survival)
    remaining = _check_budget(remaining_budget, "remaining_budget")
    tables = _tables(table, remaining)
    k = np.asarray(allocation, dtype=np.int64)
    spend = int(k.sum())
    if spend > remaining:
        raise ValueError(f"the allocation spends {spend} coupons but only {remaining} remain")
    left = remaining - spend
    w = _weights(weights, curves.shape[0], curves.shape[1])
    scale = _scale(table_scale, curves.shape[0])
    pmf = pmf_from_survival(curves)
    out = np.empty(curves.shape[0])
    for d in range(curves.shape[0]):
        product = np.ones(1)
        for i in np.flatnonzero(k):
            product = poly_mul(product, truncated_pgf(pmf[d, i], int(k[i])))
        u = tables[d if tables.shape[0] > 1 else 0, left]
        weights_u = u[np.minimum(np.arange(product.size), left)]
        out[d] = gamma * float(product @ weights_u)
    if scale is not None:
        out *= scale
    now = allocation_values(curves, k)
    if w is not None:
        now = now * w
    out += now.sum(axis=1)
    return out


def _weights(weights: Any, n_curves: int, n: int) -> np.ndarray | None:
    """``(n_curves, n)`` recruit weights or ``None``."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 1:
        w = w[None]
    if w.ndim != 2 or w.shape[1] != n or w.shape[0] not in (1, n_curves):
        raise ValueError(
            f"weights must be (sample, person) with {n_curves} sample(s) and {n} people; "
            f"got {w.shape}"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    return np.broadcast_to(w, (n_curves, n))


def _scale(table_scale: Any, n_samples: int) -> np.ndarray | None:
    """``(n_samples,)`` continuation factors or ``None``."""
    if table_scale is None:
        return None
    scale = np.asarray(table_scale, dtype=np.float64)
    if scale.ndim == 0 or scale.shape == (1,):
        scale = np.full(n_samples, float(scale.reshape(-1)[0]))
    if scale.shape != (n_samples,) or not np.all(np.isfinite(scale)) or np.any(scale < 0):
        raise ValueError(
            f"table_scale must be a scalar or ({n_samples},) numbers >= 0; got {scale.shape}"
        )
    return scale
