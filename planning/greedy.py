r"""Exact single-round greedy allocation of referral coupons.

Giving ``k_i`` coupons to person ``i`` yields ``E[min(C_i, k_i)] =
sum_{l<=k_i} S_i(l)`` expected recruits, ``S_i(l) = P(C_i >= l)``. With an
optional per-person recruit weight ``w_i >= 0`` the objective is

.. math:: f(k) = \sum_i w_i \sum_{l \le k_i} S_i(l), \qquad
          \sum_i k_i \le s,\; 0 \le k_i \le \mathrm{cap}_i .

Because every ``S_i`` is non-increasing the objective is separable concave,
so handing out coupons one at a time to the largest next marginal value
``m_{il} = w_i S_i(l)`` is optimal (Pan et al., Theorem 4.2).

Implementation. The textbook algorithm pops ``s`` times from a heap of the
``n`` next marginals. Since each row of marginals is non-increasing, the
``s`` coupons the heap would pop are exactly the ``s`` largest entries of the
whole ``(person, level)`` marginal matrix (each person's chosen entries form a
prefix ``l = 1..k_i``). We therefore select them directly with a partial sort:

1. only the ``s`` people with the largest first marginal ``m_{i1}`` can get a
   coupon (any chosen entry is at least the ``s``-th largest ``m_{i1}``);
2. within those rows only levels ``l <= s`` matter, and only those whose
   marginal reaches the ``s``-th largest first marginal;
3. ``numpy.partition`` finds the ``s``-th largest value ``t`` of that
   sub-matrix, every entry above ``t`` is taken and entries equal to ``t``
   are taken in (person, level) order.

Ties are broken deterministically: larger marginal value first, then lower
person index, then lower coupon level -- the order a heap keyed on
``(-value, person, level)`` would pop. The cost is ``O(n + s * min(s, L))``
with no Python loop over people or coupons.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from planning.curves import SURVIVAL_DIMS, _to_numpy, check_survival

__all__ = ["allocation_values", "greedy_allocation", "greedy_order", "prepare_single_round"]


def _check_budget(budget: Any, name: str = "budget") -> int:
    if isinstance(budget, bool) or not np.issubdtype(type(budget), np.integer):
        if isinstance(budget, float | np.floating) and float(budget).is_integer():
            budget = int(budget)
        else:
            raise ValueError(f"{name} must be a non-negative integer; got {budget!r}")
    budget = int(budget)
    if budget < 0:
        raise ValueError(f"{name} must be non-negative; got {budget}")
    return budget


def _check_caps(caps: Any, n: int, length: int) -> np.ndarray:
    """Per-person caps as int64, clipped to ``L`` (no survival beyond ``L``)."""
    if caps is None:
        return np.full(n, length, dtype=np.int64)
    arr = np.asarray(caps)
    if arr.ndim == 0:
        arr = np.full(n, arr)
    if arr.shape != (n,):
        raise ValueError(f"caps must be a scalar or have shape ({n},); got {arr.shape}")
    if not np.all(np.isfinite(arr.astype(np.float64))) or np.any(arr != np.round(arr)):
        raise ValueError("caps must be whole numbers")
    arr = arr.astype(np.int64)
    if np.any(arr < 0):
        bad = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"caps must be non-negative; caps[{bad}] = {arr[bad]}")
    return np.minimum(arr, length)


def _check_weights(weights: Any, n: int) -> np.ndarray | None:
    if weights is None:
        return None
    arr = np.asarray(weights, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"weights must be a scalar or have shape ({n},); got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("weights must be finite and non-negative")
    return arr


def prepare_single_round(
    survival: Any, caps: Any = None, weights: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate planner inputs and reduce posterior samples to mean curves.

    Returns ``(curves (person, L), caps (person,), weights or None)``. A 3-D
    ``(sample, person, L)`` input (or DataArray with a ``sample`` dim) is
    replaced by its posterior-mean curve, which keeps the greedy exact for the
    posterior-expected objective (the objective is linear in ``S``).
    """
    curves = _to_numpy(survival)
    if curves.ndim == 3:
        if curves.shape[0] == 0:
            raise ValueError("survival has no samples")
        check_survival(curves)
        curves = curves.mean(axis=0)
    elif curves.ndim == 2:
        check_survival(curves)
    else:
        dims = getattr(survival, "dims", None)
        raise ValueError(
            "survival must have shape (person, L) or (sample, person, L)"
            + (
                f" with dims from {SURVIVAL_DIMS}; got dims {dims}"
                if dims
                else f"; got {curves.shape}"
            )
        )
    n, length = curves.shape
    if length == 0 and n > 0:
        raise ValueError("survival needs at least one coupon level (L >= 1)")
    return curves, _check_caps(caps, n, length), _check_weights(weights, n)


def _take_top(values: np.ndarray, count: int) -> np.ndarray:
    """Flat indices of the ``count`` largest entries, ties to the lowest flat index.

    The result is sorted by ``(-value, flat index)``.
    """
    flat = values.ravel()
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    if count >= flat.size:
        chosen = np.arange(flat.size)
    else:
        threshold = np.partition(flat, flat.size - count)[flat.size - count]
        above = np.flatnonzero(flat > threshold)
        equal = np.flatnonzero(flat == threshold)[: count - above.size]
        chosen = np.concatenate([above, equal])
    order = np.lexsort((chosen, -flat[chosen]))
    return chosen[order]


def greedy_order(
    curves: np.ndarray, budget: int, caps: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The coupons the greedy hands out, in the order it hands them out.

    Numerical core of :func:`greedy_allocation` on validated arrays. Returns
    ``(person, level, value)`` arrays of length ``min(budget, sum(caps))``;
    ``level`` is 1-based and ``value`` is the marginal ``w_i S_i(l)``. Every
    prefix of the order is the greedy allocation for that smaller budget
    (allocations are nested in the budget).
    """
    n, length = curves.shape
    spend = int(min(budget, int(caps.sum()))) if n else 0
    if spend == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    first = curves[:, 0] if weights is None else curves[:, 0] * weights
    first = np.where(caps > 0, first, -1.0)
    # Step 1: candidate rows = the `spend` best rows by first marginal (key order).
    if n > spend:
        rows = np.sort(_take_top(first, spend))
    else:
        rows = np.arange(n)
    # Step 2: candidate levels 1..min(L, spend, max cap), then only levels whose
    # marginal can reach t0 = the spend-th best first marginal (every chosen
    # entry is >= t0 when column 1 alone offers `spend` valid entries).
    width = int(min(length, spend, caps[rows].max()))
    sub = curves[rows, :width]
    if weights is not None:
        sub = sub * weights[rows, None]
    if n > spend:
        floor = float(first[rows].min())
        if floor > 0:
            width = max(1, int((sub >= floor).sum(axis=1).max()))
            sub = sub[:, :width]
    # Enforce exact monotonicity (inputs may rise by round-off) and non-negativity.
    sub = np.minimum.accumulate(np.maximum(sub, 0.0), axis=1)
    sub = np.where(np.arange(width)[None, :] < caps[rows, None], sub, -1.0)
    # Step 3: top `spend` entries with (value desc, person asc, level asc) ties.
    chosen = _take_top(sub, spend)
    person = rows[chosen // width]
    level = chosen % width + 1
    return person, level, sub.ravel()[chosen]


def greedy_allocation(
    survival: Any,
    budget: int,
    caps: Any = None,
    weights: Any = None,
) -> np.ndarray:
    r"""Exact greedy coupon allocation for one round.

    Maximises :math:`\sum_i w_i \sum_{l \le k_i} S_i(l)` subject to
    :math:`\sum_i k_i \le s` and :math:`0 \le k_i \le \mathrm{cap}_i`, by
    handing out coupons in decreasing order of marginal value
    :math:`w_i S_i(l)` (optimal because each :math:`S_i` is non-increasing).

    Parameters
    ----------
    survival
        ``(person, L)`` array with ``survival[i, l-1] = P(C_i >= l)``. A 3-D
        ``(sample, person, L)`` array (or DataArray with dims ``sample``,
        ``person``, ``ell``) is reduced to its posterior-mean curves, which
        keeps the result exact for the posterior-expected objective.
    budget
        Coupons to hand out, ``s >= 0``. If ``s`` exceeds the total capacity
        ``sum_i cap_i`` (``L * n`` without caps) every available coupon is
        allocated and the rest of the budget is left unspent.
    caps
        Optional per-person maximum number of coupons (scalar or ``(person,)``).
        Caps above ``L`` are clipped to ``L``: the curves say nothing beyond it.
    weights
        Optional non-negative per-person recruit weights ``w_i``
        (``E[w(X') | x_i]``); the marginal value of coupon ``l`` is ``w_i S_i(l)``.

    Returns
    -------
    numpy.ndarray
        ``(person,)`` int64 coupons per person, summing to
        ``min(budget, sum(caps))``. Coupons of zero marginal value are still
        handed out while budget remains (a coupon never lowers the objective).

    Notes
    -----
    Ties are broken deterministically: larger marginal first, then lower
    person index, then lower coupon level. The top-``s`` marginals are found
    with a partial sort rather than ``s`` heap pops (same result, see the
    module docstring); 10,000 people and 1,000 coupons take about
    15 ms, most of it validating the curves.

    Examples
    --------
    >>> import numpy as np
    >>> from planning import greedy_allocation
    >>> S = np.array([[0.9, 0.5, 0.1], [0.8, 0.7, 0.6]])
    >>> greedy_allocation(S, 3).tolist()
    [1, 2]
    """
    budget = _check_budget(budget)
    curves, caps_arr, w = prepare_single_round(survival, caps, weights)
    person, _, _ = greedy_order(curves, budget, caps_arr, w)
    return np.bincount(person, minlength=curves.shape[0]).astype(np.int64)


def allocation_values(curves: np.ndarray, allocation: np.ndarray) -> np.ndarray:
    """Expected recruits per person ``sum_{l<=k_i} S_i(l)`` for curves ``(..., person, L)``."""
    cum = np.concatenate([np.zeros((*curves.shape[:-1], 1)), np.cumsum(curves, axis=-1)], axis=-1)
    idx = np.broadcast_to(np.asarray(allocation, dtype=np.int64), cum.shape[:-1])[..., None]
    return np.take_along_axis(cum, idx, axis=-1)[..., 0]
