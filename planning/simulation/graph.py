"""Degree-corrected stochastic block model graphs (numpy + scipy.sparse).

Nodes carry a block ``b_i`` and a degree propensity ``theta_i``. The number of
edges between distinct nodes ``i`` and ``j`` is Poisson with mean

.. math::

    \\lambda_{ij} = c \\, \\theta_i \\theta_j W_{b_i b_j},

(Karrer and Newman, 2011). It is generated block pair by block pair: the
count between blocks ``r < s`` is ``Poisson(c W_rs Theta_r Theta_s)``
(``Poisson(c W_rr Theta_r^2 / 2)`` within a block), ``Theta_r`` the sum of
``theta`` over block ``r``, and each edge picks its endpoints in proportion
to ``theta`` within the blocks, so the cost is linear in the number of edges.
The scale ``c`` makes the expected mean degree ``mean_degree``. Self-loops are
dropped and multi-edges merged, so the realised mean degree is slightly
lower. Heavy-tailed ``theta`` (Pareto) gives heavy-tailed degrees; an
affinity ``W`` larger on the diagonal gives homophily.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

__all__ = ["degree_corrected_sbm", "homophily_affinity", "pareto_propensities"]


def pareto_propensities(n: int, tail: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """``theta_i ~ Pareto(x_m = 1, shape = tail)``; ``P(theta > t) = t^(-tail)``.

    ``tail > 2`` keeps the degree variance finite; smaller is heavier.
    """
    if tail <= 1:
        raise ValueError(f"degree tail index must be > 1 (finite mean degree), got {tail}")
    return 1.0 + rng.pareto(tail, size=n)


def homophily_affinity(block_levels: NDArray[np.int64], factors: ArrayLike) -> NDArray[np.float64]:
    """Affinity ``W[r, s] = prod_f factor_f ** 1[level_f(r) = level_f(s)]``.

    Parameters
    ----------
    block_levels : int array, shape (B, F)
        Level of each homophilous field in each block.
    factors : array, shape (F,)
        Homophily factor per field (1 = none).
    """
    factors = np.asarray(factors, dtype="float64")
    same = block_levels[:, None, :] == block_levels[None, :, :]
    return np.prod(np.where(same, factors[None, None, :], 1.0), axis=2)


def degree_corrected_sbm(
    blocks: ArrayLike,
    affinity: ArrayLike,
    theta: ArrayLike,
    mean_degree: float,
    rng: np.random.Generator,
) -> sparse.csr_array:
    """Draw a simple undirected DC-SBM graph.

    Parameters
    ----------
    blocks : int array, shape (n,)
        Block of each node, ``0..B-1``.
    affinity : array, shape (B, B)
        Symmetric nonnegative ``W``.
    theta : array, shape (n,)
        Positive degree propensities.
    mean_degree : float
        Target expected mean degree (before simplification).
    rng : numpy.random.Generator

    Returns
    -------
    scipy.sparse.csr_array
        Symmetric ``int8`` adjacency, zero diagonal, sorted indices.
    """
    blocks = np.asarray(blocks, dtype=np.int64)
    theta = np.asarray(theta, dtype="float64")
    w = np.asarray(affinity, dtype="float64")
    n = len(blocks)
    n_blocks = w.shape[0]
    if w.shape != (n_blocks, n_blocks) or not np.allclose(w, w.T) or np.any(w < 0):
        raise ValueError("affinity must be a symmetric nonnegative square matrix")
    if theta.shape != (n,) or np.any(theta <= 0):
        raise ValueError("theta must hold one positive propensity per node")
    members = [np.flatnonzero(blocks == r) for r in range(n_blocks)]
    cum = [np.cumsum(theta[m]) for m in members]
    mass = np.array([c[-1] if len(c) else 0.0 for c in cum])
    total_pairs = 0.5 * mass @ w @ mass
    scale = 0.0 if total_pairs == 0 else 0.5 * n * mean_degree / total_pairs

    def endpoints(r: int, size: int) -> NDArray[np.int64]:
        u = rng.random(size) * mass[r]
        pos = np.minimum(np.searchsorted(cum[r], u, side="right"), len(cum[r]) - 1)
        return members[r][pos]

    heads, tails = [], []
    for r in range(n_blocks):
        for s in range(r, n_blocks):
            lam = scale * w[r, s] * mass[r] * mass[s] * (0.5 if r == s else 1.0)
            m = int(rng.poisson(lam)) if lam > 0 else 0
            if m:
                heads.append(endpoints(r, m))
                tails.append(endpoints(s, m))
    if heads:
        u = np.concatenate(heads)
        v = np.concatenate(tails)
        loop = u == v
        u, v = u[~loop], v[~loop]
    else:
        u = v = np.empty(0, dtype=np.int64)
    data = np.ones(2 * len(u), dtype=np.int32)
    adj = sparse.coo_array(
        (data, (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n, n)
    ).tocsr()
    adj.sum_duplicates()
    adj.sort_indices()
    adj.data = np.ones(len(adj.data), dtype=np.int8)
    return adj
