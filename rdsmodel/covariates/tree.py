"""Recruitment trees for the latent-class model: structure and the upward (pruning) pass.

With a latent community class ``Z`` carried along referral edges, recruits'
covariates are no longer independent given their recruiter: siblings share
their recruiter's (unknown) class. The likelihood of a recruitment tree is
computed by Felsenstein's pruning recursion, from the deepest wave up. With
``e_u(z)`` the probability of node ``u``'s covariates given its class (and its
recruiter's covariates) and ``T(z, z') = rho_z 1[z = z'] + (1 - rho_z) w(z')``,

.. math::

    m_u(z) = \\sum_{z'} T(z, z') \\, e_u(z') \\prod_{c \\in \\text{children}(u)} m_c(z'),
    \\qquad
    P(\\text{tree}) = \\sum_z w(z) \\, e_r(z) \\prod_{c \\in \\text{children}(r)} m_c(z).

Each wave is one vectorised step (a log-sum-exp over classes and a scatter-add
of the messages into the recruiters' rows), so the graph has one step per wave
and costs ``O(nodes * Z^2)`` per evaluation: slower than the count likelihood
(which costs nothing per pair), but linear in the study size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .fields import FieldSpec
from .transitions import encode_frame

__all__ = ["RecruitmentForest", "upward_pass"]


@dataclass(frozen=True)
class RecruitmentForest:
    """Parent links, waves and categorical codes of every respondent.

    Attributes
    ----------
    ids : ndarray of str
        Respondent ids, in table order.
    parent : ndarray of int64
        Position of each respondent's recruiter, ``-1`` for roots (seeds and
        respondents whose recruiter is not in the table).
    depth : ndarray of int64
        Edges from the root.
    codes : ndarray of int64, shape (respondents, categorical fields)
        Level codes (``-1`` missing).
    """

    ids: np.ndarray
    parent: np.ndarray
    depth: np.ndarray
    codes: np.ndarray

    @classmethod
    def from_table(cls, table: pd.DataFrame, specs: Sequence[FieldSpec]) -> RecruitmentForest:
        """Build from a canonical table (``id``, ``recruiter_id`` and covariate columns)."""
        ids = table["id"].astype(str).to_numpy()
        rec = table["recruiter_id"]
        index = pd.Index(ids)
        if not index.is_unique:
            raise ValueError("respondent ids must be unique to build recruitment trees")
        parent = index.get_indexer(rec.astype("string").fillna("\x00<seed>").to_numpy(dtype=object))
        parent = np.asarray(parent, dtype=np.int64)
        depth = np.zeros(len(ids), dtype=np.int64)
        current = parent.copy()
        for _ in range(len(ids) + 1):
            active = current >= 0
            if not active.any():
                break
            depth[active] += 1
            current = np.where(active, parent[np.maximum(current, 0)], -1)
        else:
            raise ValueError("the recruitment table contains a cycle")
        codes, _, _ = encode_frame(table, [s for s in specs if s.is_categorical])
        return cls(ids=ids, parent=parent, depth=depth, codes=codes)

    @property
    def roots(self) -> np.ndarray:
        """Positions of the roots, in table order."""
        return np.flatnonzero(self.parent < 0)

    @property
    def edges(self) -> np.ndarray:
        """Positions of the non-root respondents (one per recruiter-recruit pair)."""
        return np.flatnonzero(self.parent >= 0)

    def waves(self) -> list[np.ndarray]:
        """Positions at each depth, ``waves()[d]`` for ``d = 0..max depth``."""
        order = np.argsort(self.depth, kind="stable")
        bounds = np.searchsorted(self.depth[order], np.arange(self.depth.max() + 2))
        return [order[bounds[d] : bounds[d + 1]] for d in range(self.depth.max() + 1)]

    def wave_order(self) -> np.ndarray:
        """Positions in wave order: ``numpy.concatenate(self.waves())``."""
        return np.concatenate(self.waves())

    def root_of(self) -> np.ndarray:
        """Root position of each respondent."""
        root = np.arange(len(self.parent))
        for nodes in self.waves()[1:]:
            root[nodes] = root[self.parent[nodes]]
        return root


def upward_pass(forest: RecruitmentForest, log_e, log_T, log_w, backend: str = "pytensor"):
    """Log-likelihood of each tree by the pruning recursion.

    Parameters
    ----------
    forest : RecruitmentForest
    log_e : tensor or ndarray, shape (respondents, Z)
        Log emission of each respondent's covariates given its class (roots:
        given the class alone; others: given the class and the recruiter's
        covariates), rows in **wave order** (``numpy.concatenate(forest.waves())``).
    log_T : tensor or ndarray, shape (Z, Z)
        Log class transition ``log T(z, z')``.
    log_w : tensor or ndarray, shape (Z,)
        Log class law of the roots.
    backend : {"pytensor", "numpy"}

    Returns
    -------
    tensor or ndarray, shape (roots,)
        Log-likelihood of each tree, roots in table order.

    Notes
    -----
    Each wave's messages are summed into their recruiters' rows by a constant
    sparse 0/1 matrix (one product per wave), and each wave's rows of
    ``log_e`` are a contiguous slice: no scatter or gather operations, whose
    gradients are slow in PyTensor's C backend.
    """
    waves = forest.waves()
    bounds = np.cumsum([0, *[len(w) for w in waves]])
    local = np.empty(len(forest.parent), dtype=np.int64)
    for nodes in waves:
        local[nodes] = np.arange(len(nodes))
    if backend == "pytensor":
        import pytensor.sparse as ps
        import pytensor.tensor as xp

        def aggregate(matrix, vals):
            return ps.structured_dot(ps.as_sparse_variable(matrix), vals)
    else:
        xp = np

        def aggregate(matrix, vals):
            return matrix @ vals

    def log_mix(le, weights):
        """``log(exp(le) @ weights)`` without overflow: a scaled matrix product, not a 3-D log-sum-exp."""
        top = le.max(axis=1, keepdims=True)
        return xp.log(xp.dot(xp.exp(le - top), weights)) + top

    T_t = xp.exp(log_T).T  # (z', z): message(z) = log sum_z' T(z, z') exp(le(z'))
    agg = None
    for d in range(len(waves) - 1, 0, -1):
        nodes = waves[d]
        le = log_e[bounds[d] : bounds[d + 1]]
        if agg is not None:
            le = le + agg
        msg = log_mix(le, T_t)
        agg = aggregate(_membership(local[forest.parent[nodes]], len(waves[d - 1])), msg)
    le = log_e[bounds[0] : bounds[1]]
    if agg is not None:
        le = le + agg
    # waves[0] lists the roots in table order (stable sort), as does forest.roots.
    return log_mix(le, xp.exp(log_w)[:, None])[:, 0]


def _membership(rows: np.ndarray, n_rows: int):
    """Sparse (n_rows, len(rows)) matrix with a one at (rows[i], i)."""
    import scipy.sparse as sp

    n = len(rows)
    return sp.csr_matrix((np.ones(n), (rows, np.arange(n))), shape=(n_rows, n))
