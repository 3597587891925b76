r"""Population surrogate dynamic program for the round spend (Pan et al.).

Every future recruit is an i.i.d. draw from a population whose pooled
capacity law is ``D`` (``S(l) = P(C >= l)``). With budget ``r`` left and a
frontier of ``n`` people, spending ``s`` coupons split evenly (``a = s // n``
each, one more to ``c = s - a n`` of them) gives ``F(n, s)`` expected
recruits now and a next frontier of ``N`` people with law ``P_{n,s}``:

.. math::

    U(r, n) &= \max_{0 \le s \le r} \Big[ F(n,s) + \gamma
                \sum_m P_{n,s}(m)\, U(r-s, m) \Big],
    \qquad U(r, 0) = U(0, n) = 0, \\
    F(n, s) &= n \sum_{l \le a} S(l) + c\, S(a+1), \qquad
    P_{n,s}(m) = [z^m]\; H_a(z)^{n-c} H_{a+1}(z)^{c},

with :math:`H_k` the truncated PGF of ``min(C, k)`` (:mod:`planning.pgf`).

A per-round spend cap
---------------------
With ``max_per_round = m`` the maximum runs over ``0 <= s <= min(r, m)``:
the action set of every round (the first and all later ones) is "spend at
most ``m`` coupons", so ``U`` is the value of a cap-respecting policy of the
surrogate process, not the value of an uncapped policy trimmed afterwards.
``U(r, n) = U(r, r)`` for ``n >= r`` still holds (every spend ``s <= r`` has
``s <= n``). Only the laws of spends ``s <= m`` are built, so a small cap
makes large budgets cheap (``b = 1000``, ``m = 10``: the table is
``(b + 1)^2`` floats and the laws about ``m^3 / 3``). ``max_per_round=None``
is the uncapped recursion, computed exactly as before.

How the fast table works
------------------------
The published recursion recomputes ``P_{n,s}`` for every ``(r, n, s)``
(``O(b^5 log b)``). Here:

* ``P_{n,s}`` does not depend on ``r``: it is built once.
* For ``n >= s`` everybody gets at most one coupon: ``P_{n,s} = H_1^s`` and
  ``F(n,s) = s S(1)``, independent of ``n``. Only ``n < s`` needs its own law,
  and the ``n >= s`` options enter ``U(r, n)`` through a running maximum
  over ``s <= n``.
* Consequently ``U(r', m) = U(r', r')`` for ``m >= r'``, and since
  ``r - s <= b - s`` only the coefficients ``m < M_s = min(s, b - s)`` of
  ``P_{n,s}`` are needed, plus the tail mass ``P(N >= M_s)``. Storage is
  about ``b^3 / 8`` floats (125 MB at ``b = 500``).
* The truncated powers ``H_a^k`` are tabulated once per ``a``
  (``k <= b / a``); the ``P_{n,s}`` for all ``n < s`` of a given ``s`` are
  products of two table rows, computed in one batched real FFT.
* ``U`` is filled by increasing ``r`` in blocks: contributions from rows of
  ``U`` finished before the block are matrix-matrix products, the few from
  inside the block are matrix-vector products.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from planning.curves import survival_from_pmf
from planning.pgf import check_pmf, extend_pmf, power_table, truncated_products

__all__ = ["TransitionLaws", "surrogate_table", "transition_laws"]


@dataclass
class TransitionLaws:
    """Truncated next-frontier laws and immediate values for all ``n <= s <= b``.

    Attributes
    ----------
    budget
        ``b``.
    survival
        ``S(l)``, ``l = 1..b+1``.
    laws
        ``laws[s]``: ``(s, M_s + 1)`` array; row ``n - 1`` holds
        ``P_{n,s}(m)`` for ``m < M_s`` and ``P_{n,s}(N >= M_s)`` last; the row
        ``n = s`` also serves every ``n > s``. ``laws[0]`` is empty.
    immediate
        ``immediate[s]``: ``(s,)`` array of ``F(n, s)``, ``n = 1..s``.
    max_spend
        Largest spend ``s`` whose law was built (``budget`` without a cap);
        ``laws`` and ``immediate`` have ``max_spend + 1`` entries.
    """

    budget: int
    survival: np.ndarray
    laws: list[np.ndarray]
    immediate: list[np.ndarray]
    max_spend: int | None = None

    def __post_init__(self) -> None:
        if self.max_spend is None:
            self.max_spend = self.budget


def _check_gamma(gamma: float) -> float:
    gamma = float(gamma)
    if not (0.0 < gamma <= 1.0):
        raise ValueError(f"gamma must be in (0, 1]; got {gamma}")
    return gamma


def _check_cap(max_per_round: Any) -> int | None:
    """``None`` or a whole number ``>= 0`` (as int)."""
    if max_per_round is None:
        return None
    if isinstance(max_per_round, bool) or int(max_per_round) != max_per_round or max_per_round < 0:
        raise ValueError(f"max_per_round must be a whole number >= 0; got {max_per_round!r}")
    return int(max_per_round)


def transition_laws(pmf: Any, budget: int, max_spend: int | None = None) -> TransitionLaws:
    """Build ``P_{n,s}`` (truncated) and ``F(n,s)`` for ``1 <= n <= s <= min(budget, max_spend)``.

    Parameters
    ----------
    pmf
        Pooled capacity law, ``pmf[j] = P(C = j)``; missing mass is an atom at
        ``len(pmf)``.
    budget
        ``b >= 0``.
    max_spend
        Largest spend needed (a per-round cap); ``None``: ``budget``.
    """
    law = check_pmf(pmf)
    b = int(budget)
    cap = _check_cap(max_spend)
    top = b if cap is None else min(b, cap)
    full = extend_pmf(law, b + 2)  # P(C = j), j <= b+1, last = P(C >= b+2)
    survival = survival_from_pmf(full, b + 1)  # S(1..b+1)
    cum_survival = np.concatenate([[0.0], np.cumsum(survival)])  # sum_{l<=a} S(l)
    width = max(b // 2, 1)  # coefficients m < M_s <= b // 2 ever needed
    # Truncated powers of H_a for a = 1..top+1, k = 0..top // a, stacked in one array
    # (spend s = a n + c <= top needs H_a^(n-c) and H_(a+1)^c with n <= top // a).
    max_power = np.array([top // a if a <= top else 0 for a in range(1, top + 2)])
    offsets = np.concatenate([[0], np.cumsum(max_power + 1)])
    powers = np.zeros((int(offsets[-1]), width))
    for a in range(1, top + 2):
        h_a = extend_pmf(law, a)  # H_a coefficients
        start = offsets[a - 1]
        powers[start : start + max_power[a - 1] + 1] = power_table(
            h_a, int(max_power[a - 1]), width
        )

    laws: list[np.ndarray] = [np.zeros((0, 1))]
    immediate: list[np.ndarray] = [np.zeros(0)]
    for s in range(1, top + 1):
        n = np.arange(1, s + 1)
        a = s // n
        c = s - a * n
        keep = min(s, b - s)
        left = powers[offsets[a - 1] + (n - c)]
        right = powers[offsets[a] + c]
        coeffs = truncated_products(left, right, keep)
        tail = np.clip(1.0 - coeffs.sum(axis=1, keepdims=True), 0.0, None)
        laws.append(np.hstack([np.clip(coeffs, 0.0, None), tail]))
        immediate.append(n * cum_survival[a] + c * survival[a])  # S(a+1) = survival[a]
    return TransitionLaws(
        budget=b, survival=survival, laws=laws, immediate=immediate, max_spend=top
    )


def surrogate_table(
    pmf: Any,
    budget: int,
    gamma: float,
    *,
    laws: TransitionLaws | None = None,
    block: int | None = None,
    max_per_round: int | None = None,
) -> np.ndarray:
    r"""Surrogate value table ``U[r, n]`` of the population DP.

    Parameters
    ----------
    pmf
        Pooled capacity law of future recruits, ``pmf[j] = P(C = j)`` for
        ``j < len(pmf)``; the mass missing from its sum is ``P(C >= len(pmf))``
        and is treated as an atom at ``len(pmf)``.
    budget
        Largest remaining budget ``b``; the table covers ``r, n = 0..b``.
        (``U(r, n) = U(r, r)`` for ``n >= r``, so larger frontiers need no
        more columns.)
    gamma
        Discount factor in ``(0, 1]``.
    laws
        Precomputed :func:`transition_laws` of the same pmf and budget (reuse
        across several ``gamma``).
    block
        Rows of ``U`` filled per block (tuning only).
    max_per_round
        Most coupons spent in any round (``None``: no cap): the maximum runs
        over ``0 <= s <= min(r, max_per_round)`` at every ``(r, n)``.

    Returns
    -------
    numpy.ndarray
        ``(b + 1, b + 1)`` float64, ``U[r, n]`` as in the module docstring.

    Notes
    -----
    ``b = 200`` takes well under a second and ``b = 500`` some seconds; the
    direct recursion it reproduces (to about ``1e-12``) takes hours at ``b = 200``.

    Examples
    --------
    >>> import numpy as np
    >>> from planning import surrogate_table
    >>> U = surrogate_table([0.3, 0.3, 0.4], budget=4, gamma=0.9)
    >>> U.shape
    (5, 5)
    """
    gamma = _check_gamma(gamma)
    if isinstance(budget, bool) or int(budget) != budget or budget < 0:
        raise ValueError(f"budget must be a non-negative integer; got {budget!r}")
    b = int(budget)
    cap = _check_cap(max_per_round)
    top = b if cap is None else min(b, cap)  # largest spend of any round
    if laws is None:
        laws = transition_laws(pmf, b, cap)
    elif laws.budget != b:
        raise ValueError(f"laws were built for budget {laws.budget}, not {b}")
    elif laws.max_spend is not None and laws.max_spend < top:
        raise ValueError(
            f"laws were built for spends up to {laws.max_spend}, but spends up to {top} are needed"
        )
    table = np.zeros((b + 1, b + 1))
    if b == 0 or top == 0:
        return table
    step = int(block) if block else max(16, int(2 * np.sqrt(b)))
    keep = [q.shape[1] for q in laws.laws]  # M_s + 1 columns of U used by spend s
    for start in range(1, b + 1, step):
        stop = min(start + step, b + 1)
        cols = stop - start
        best = np.zeros((b + 1, cols))  # max over spends s > n (and the s = 0 option)
        tails = np.full((b + 1, cols), -np.inf)  # value of spend s for every n >= s
        # Phase 1: rows r - s < start are final; batch over the block's r.
        for s in range(1, min(stop, top + 1)):
            first = max(start, s)
            last = min(stop - 1, start + s - 1)
            if first > last:
                continue
            rows = table[first - s : last - s + 1, : keep[s]]
            values = laws.immediate[s][:, None] + gamma * (laws.laws[s] @ rows.T)
            j0, j1 = first - start, last - start + 1
            np.maximum(best[1:s, j0:j1], values[:-1], out=best[1:s, j0:j1])
            tails[s, j0:j1] = values[-1]
        # Phase 2: spends that reach back into the block, row by row.
        for r in range(start, stop):
            j = r - start
            for s in range(1, min(r - start, top) + 1):
                values = laws.immediate[s] + gamma * (laws.laws[s] @ table[r - s, : keep[s]])
                np.maximum(best[1:s, j], values[:-1], out=best[1:s, j])
                tails[s, j] = values[-1]
            running = np.maximum.accumulate(tails[1:, j])  # best spend s <= n (and <= top)
            table[r, 1:] = np.maximum(best[1:, j], running)
    return table
