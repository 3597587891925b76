r"""The inheritance (homophily) law of a categorical covariate, in numpy: its one home.

A recruit of a recruiter at level ``p`` of a field with levels ``0..K-1`` is at
level ``c`` with probability

.. math::

    P(c \mid p) = \rho_p \, 1[c = t(p)] + (1 - \rho_p) \, \pi(c),

a two-part mixture: with probability :math:`\rho_p` the recruit copies the
recruiter (``t`` is the identity for inheritance, a fixed *type rule* in the
tunnel-vision world), otherwise it draws afresh from :math:`\pi`. A single
:math:`\rho` is the usual model; :math:`\rho_p` varying with the recruiter's
level and :math:`\pi` varying with a latent class are the covariate model's
extensions. Because the law is a finite mixture, Laplace summaries are exact:

.. math::

    E\big[e^{-h(X')} \mid p\big]
      = \rho_p \, e^{-h(t(p))} + (1 - \rho_p) \sum_c \pi(c) \, e^{-h(c)} ,

and for independent fields the summary of an additive ``h`` is the product of
the fields' factors.

A field may instead follow a *full transition matrix*, :math:`P(c \mid p) =
T[p, c]` (:func:`laplace_matrix`, :func:`sample_transition`): it represents any
rule, for instance recruiters of one type bringing in people of another,
which the mixture cannot (it only keeps the recruiter's level or draws from
one law shared by all recruiters). Its Laplace summary is exact too,
:math:`E[e^{-h(X')} \mid p] = \sum_c T[p, c] \, e^{-h(c)}`.

With the recruiter's level unknown and drawn from a population law
:math:`q`, the recruit's law is :math:`m(c) = \sum_p q(p) P(c \mid p)`
(:func:`marginal_recruit`).

Every function takes plain arrays with optional leading batch axes (posterior
samples, latent classes, fields) that broadcast; the level axis is last.
Nothing here imports PyMC, PyTensor or numba: the covariate model's
predictions (:class:`rdsmodel.covariates.InheritanceOffspring`) and the
simulator's worlds (:mod:`planning.simulation.offspring`) both use it.

Examples
--------
>>> import numpy as np
>>> transition_matrix(0.5, np.array([0.5, 0.5]))
array([[0.75, 0.25],
       [0.25, 0.75]])
>>> laplace_table(0.5, np.array([0.5, 0.5]), np.exp(-np.array([[1.0, 0.0]]))).round(4)
array([[0.5259, 0.842 ]])
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "categorical_from_uniform",
    "draw_categorical",
    "laplace_matrix",
    "laplace_table",
    "marginal_recruit",
    "sample_inheritance",
    "sample_transition",
    "transition_matrix",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _per_level(rho: ArrayLike, k: int) -> FloatArray:
    """``rho`` as an array whose last axis runs over the ``k`` recruiter levels."""
    rho = np.asarray(rho, dtype=float)
    return np.broadcast_to(rho[..., None], (*rho.shape, k)) if rho.ndim == 0 else rho


def _copy_matrix(k: int, target: ArrayLike | None) -> FloatArray:
    """``T[p, c] = 1[c = t(p)]``: the identity for inheritance."""
    eye = np.eye(k)
    return eye if target is None else eye[np.asarray(target, dtype=np.int64)]


def transition_matrix(rho: ArrayLike, pi: ArrayLike, target: ArrayLike | None = None) -> FloatArray:
    r"""Transition matrices :math:`M[\dots, p, c] = P(c \mid p)`; rows sum to one.

    Parameters
    ----------
    rho : float or array_like, shape (..., K)
        Probability of copying, one value or one per recruiter level ``p``.
    pi : array_like, shape (..., K)
        Law of a fresh draw (zero padding beyond a field's levels is fine).
    target : int array_like, shape (K,), optional
        Level ``t(p)`` copied from a recruiter at level ``p``; the identity
        (inheritance) by default.

    Returns
    -------
    numpy.ndarray, shape (..., K, K)
    """
    pi = np.asarray(pi, dtype=float)
    rho = _per_level(rho, pi.shape[-1])
    copy = _copy_matrix(pi.shape[-1], target)
    return rho[..., :, None] * copy + (1.0 - rho[..., :, None]) * pi[..., None, :]


def marginal_recruit(
    rho: ArrayLike, pi: ArrayLike, population: ArrayLike | None = None
) -> FloatArray:
    r"""Recruit's level law when the recruiter's level is unknown, :math:`m(c) = \sum_p q(p) P(c \mid p)`.

    Under inheritance :math:`m = q \rho + (1 - \sum_p q(p) \rho_p) \pi`, with
    :math:`q` the recruiters' population law (``pi`` itself by default, which
    makes ``m = pi`` when ``rho`` does not depend on the level).

    Parameters
    ----------
    rho : float or array_like, shape (..., K)
    pi : array_like, shape (..., K)
    population : array_like, shape (..., K), optional
        :math:`q`.
    """
    pi = np.asarray(pi, dtype=float)
    rho = _per_level(rho, pi.shape[-1])
    q = pi if population is None else np.asarray(population, dtype=float)
    return q * rho + (1.0 - (q * rho).sum(axis=-1, keepdims=True)) * pi


def laplace_table(
    rho: ArrayLike, pi: ArrayLike, weight: ArrayLike, target: ArrayLike | None = None
) -> FloatArray:
    r"""Exact Laplace factors :math:`T[\dots, j, p] = \sum_c P(c \mid p)\, e_j(c)` of one field.

    With ``weight = exp(-h)`` this is :math:`E[e^{-h_j(X')} \mid p]
    = \rho_p e_j(t(p)) + (1 - \rho_p) \sum_c \pi(c) e_j(c)`.

    Parameters
    ----------
    rho : float or array_like, shape (..., K)
        As in :func:`transition_matrix`.
    pi : array_like, shape (..., K)
    weight : array_like, shape (..., J, K)
        :math:`e_j(c)`, one row per feature ``j`` (typically ``exp(-h)``).
    target : int array_like, shape (K,), optional

    Returns
    -------
    numpy.ndarray, shape (..., J, K)
        Leading axes broadcast from ``rho``, ``pi`` and ``weight``.
    """
    pi = np.asarray(pi, dtype=float)
    weight = np.asarray(weight, dtype=float)
    rho = _per_level(rho, pi.shape[-1])[..., None, :]
    own = weight if target is None else weight[..., np.asarray(target, dtype=np.int64)]
    mixed = np.matmul(weight, pi[..., :, None])  # (..., J, 1): sum_c pi(c) e_j(c)
    return rho * own + (1.0 - rho) * mixed


def categorical_from_uniform(probs: ArrayLike, u: ArrayLike) -> IntArray:
    r"""Categorical codes from uniforms by inversion: the first ``c`` with :math:`u \sum_k p_k < \sum_{k \le c} p_k`.

    Parameters
    ----------
    probs : array_like, shape (K,) or (n, K)
        One law for every uniform, or one law per uniform (rows need not be
        normalised; their totals are used).
    u : array_like, shape (n,)
        Uniforms in ``[0, 1)``.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        Codes in ``0..K-1``.
    """
    probs = np.asarray(probs, dtype=float)
    u = np.asarray(u, dtype=float)
    cum = np.cumsum(probs, axis=-1)
    if probs.ndim == 1:
        codes = np.searchsorted(cum, u * cum[-1], side="right")
    else:
        codes = ((u * cum[:, -1])[:, None] >= cum).sum(axis=1)
    return np.minimum(codes, probs.shape[-1] - 1).astype(np.int64)


def draw_categorical(
    probs: ArrayLike, rng: np.random.Generator, size: int | None = None
) -> IntArray:
    """Categorical draws, one uniform each.

    Parameters
    ----------
    probs : array_like, shape (K,) or (n, K)
        One law (then ``size`` draws) or one law per row (one draw per row).
    rng : numpy.random.Generator
    size : int, optional
        Number of draws from a single law.

    Returns
    -------
    numpy.ndarray of int64
    """
    probs = np.asarray(probs, dtype=float)
    n = len(probs) if probs.ndim == 2 else int(size if size is not None else 1)
    return categorical_from_uniform(probs, rng.random(n))


def sample_inheritance(
    parent_codes: ArrayLike,
    rho: ArrayLike,
    pi: ArrayLike,
    rng: np.random.Generator,
    target: ArrayLike | None = None,
) -> IntArray:
    r"""Recruits' level codes, one per entry of ``parent_codes``, from :math:`P(c \mid p)`.

    The stream is part of the contract: first one uniform per recruit decides
    copy (``u < rho_p``), then one uniform per recruit draws the fresh level
    (:func:`categorical_from_uniform`).

    Parameters
    ----------
    parent_codes : int array_like, shape (n,)
        Each recruit's recruiter level.
    rho : float or array_like, shape (K,)
        Probability of copying, one value or one per recruiter level.
    pi : array_like, shape (K,) or (n, K)
        Law of a fresh draw, shared or one per recruit (latent classes).
    rng : numpy.random.Generator
    target : int array_like, shape (K,), optional
        Level copied from each recruiter level; the identity by default.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
    """
    parent = np.asarray(parent_codes, dtype=np.int64)
    pi = np.asarray(pi, dtype=float)
    k = pi.shape[-1]
    copy = rng.random(parent.size) < _per_level(rho, k)[parent]
    fresh = categorical_from_uniform(pi, rng.random(parent.size))
    copied = parent if target is None else np.asarray(target, dtype=np.int64)[parent]
    return np.where(copy, copied, fresh)


def laplace_matrix(matrix: ArrayLike, weight: ArrayLike) -> FloatArray:
    r"""Exact Laplace factors of a full transition matrix, :math:`G[\dots, j, p] = \sum_c T[p, c]\, e_j(c)`.

    With ``weight = exp(-h)`` this is :math:`E[e^{-h_j(X')} \mid p]` when
    :math:`P(c \mid p) = T[p, c]`.

    Parameters
    ----------
    matrix : array_like, shape (..., K, K)
        :math:`T[\dots, p, c]`, rows summing to one (zero rows for padding are fine).
    weight : array_like, shape (..., J, K)
        :math:`e_j(c)`, one row per feature ``j``.

    Returns
    -------
    numpy.ndarray, shape (..., J, K)
        Leading axes broadcast from ``matrix`` and ``weight``; the last axis is
        the recruiter's level ``p``.

    Examples
    --------
    >>> laplace_matrix(np.array([[0.0, 1.0], [0.5, 0.5]]), np.array([[1.0, 0.0]]))
    array([[0. , 0.5]])
    """
    matrix = np.asarray(matrix, dtype=float)
    weight = np.asarray(weight, dtype=float)
    return np.matmul(weight, np.swapaxes(matrix, -1, -2))


def sample_transition(
    parent_codes: ArrayLike, matrix: ArrayLike, rng: np.random.Generator
) -> IntArray:
    r"""Recruits' level codes from a full transition matrix, :math:`P(c \mid p) = T[p, c]`.

    The stream is part of the contract: one uniform per recruit, inverted
    through the recruiter's row (:func:`categorical_from_uniform`).

    Parameters
    ----------
    parent_codes : int array_like, shape (n,)
        Each recruit's recruiter level.
    matrix : array_like, shape (K, K)
        :math:`T[p, c]`.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
    """
    parent = np.asarray(parent_codes, dtype=np.int64)
    return draw_categorical(np.asarray(matrix, dtype=float)[parent], rng)
