"""Direct implementation of the published surrogate recursion (test reference).

``U(r, n) = max_{0<=s<=r} [F(n, s) + gamma sum_m P_{n,s}(m) U(r - s, m)]`` with
``P_{n,s}`` recomputed for every ``(r, n, s)`` by repeated convolution of the
truncated PGFs, exactly as written in Pan et al.; ``O(b^5)`` work. Kept
independent of :mod:`planning.pgf` and :mod:`planning.dp` on purpose.
"""

from __future__ import annotations

import numpy as np


def _law(pmf: np.ndarray, size: int) -> np.ndarray:
    """P(C = j) for j = 0..size (missing mass as an atom at len(pmf))."""
    out = np.zeros(max(size, len(pmf)) + 2)
    out[: len(pmf)] = pmf
    out[len(pmf)] += max(0.0, 1.0 - float(np.sum(pmf)))
    return out[: size + 1]


def _truncated_pgf(law: np.ndarray, k: int) -> np.ndarray:
    """Coefficients of H_k(z) = sum_{j<k} P(C=j) z^j + P(C>=k) z^k."""
    coef = np.zeros(k + 1)
    coef[:k] = law[:k]
    coef[k] = 1.0 - law[:k].sum()
    return coef


def _next_frontier_law(law: np.ndarray, n: int, s: int) -> np.ndarray:
    a, c = divmod(s, n)
    poly = np.ones(1)
    for _ in range(n - c):
        poly = np.convolve(poly, _truncated_pgf(law, a))
    for _ in range(c):
        poly = np.convolve(poly, _truncated_pgf(law, a + 1))
    return poly


def reference_table(pmf, budget: int, gamma: float, max_per_round: int | None = None) -> np.ndarray:
    """U[r, n] for r, n = 0..budget by the direct recursion (spends ``s <= max_per_round``)."""
    pmf = np.asarray(pmf, dtype=np.float64)
    b = int(budget)
    law = _law(pmf, b + 2)
    survival = 1.0 - np.cumsum(law)[: b + 1]  # S(1..b+1)
    table = np.zeros((b + 1, b + 1))
    for r in range(1, b + 1):
        for n in range(1, b + 1):
            best = 0.0
            for s in range(0, (r if max_per_round is None else min(r, max_per_round)) + 1):
                a, c = divmod(s, n)
                immediate = n * survival[:a].sum() + c * survival[a]
                p = _next_frontier_law(law, n, s)
                future = sum(p[m] * table[r - s, m] for m in range(min(len(p), b + 1)))
                best = max(best, immediate + gamma * future)
            table[r, n] = best
    return table


def reference_q_values(pmf, budget: int, gamma: float, table: np.ndarray) -> np.ndarray:
    """Q[r, n, s] = F(n, s) + gamma sum_m P_{n,s}(m) table[r - s, m] (-inf for s > r)."""
    pmf = np.asarray(pmf, dtype=np.float64)
    b = int(budget)
    law = _law(pmf, b + 2)
    survival = 1.0 - np.cumsum(law)[: b + 1]
    q = np.full((b + 1, b + 1, b + 1), -np.inf)
    for r in range(0, b + 1):
        for n in range(1, b + 1):
            for s in range(0, r + 1):
                a, c = divmod(s, n)
                p = _next_frontier_law(law, n, s)
                future = sum(p[m] * table[r - s, m] for m in range(min(len(p), b + 1)))
                q[r, n, s] = n * survival[:a].sum() + c * survival[a] + gamma * future
    return q


def evaluate_policy(pmf, budget: int, gamma: float, policy: np.ndarray) -> np.ndarray:
    """Value V[r, n] of the even-split policy ``s = policy[r, n]`` under the law ``pmf``."""
    pmf = np.asarray(pmf, dtype=np.float64)
    b = int(budget)
    law = _law(pmf, b + 2)
    survival = 1.0 - np.cumsum(law)[: b + 1]
    values = np.zeros((b + 1, b + 1))
    for r in range(1, b + 1):
        for n in range(1, b + 1):
            s = int(policy[r, n])
            a, c = divmod(s, n)
            p = _next_frontier_law(law, n, s)
            future = sum(p[m] * values[r - s, m] for m in range(min(len(p), b + 1)))
            values[r, n] = n * survival[:a].sum() + c * survival[a] + gamma * future
    return values
