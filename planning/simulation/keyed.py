r"""Keyed randomness: every potential person's fate fixed by a key, whoever recruits them.

Common random numbers across policies are strongest when each *potential*
recruit's capacity and covariates do not depend on the policy that reaches
them. Fast episodes therefore draw nothing from a shared stream once the
first frontier is in place: each person carries a 64-bit key, derived from
the episode's key and their position in the recruitment tree (root ``i``;
``j``-th recruit of the person with key ``K``), and every draw about them is
a uniform hashed from their key and a draw number:

.. math::

    u(K, d) = \operatorname{mix}(K \oplus \operatorname{mix}(d + c)) / 2^{64},

with ``mix`` the SplitMix64 finaliser (Steele, Lea and Flood, 2014), a
bijection of 64-bit integers whose outputs pass the usual statistical test
batteries. Draws are inverse-CDF transforms of these uniforms, vectorised
over people. Two policies that recruit the same person see the same person;
a policy's outcome is a deterministic function of the episode key, so
results do not depend on the order in which episodes run or on the executor.

Examples
--------
>>> import numpy as np
>>> keys = root_keys(np.uint64(7), 3)
>>> u = uniforms(keys, 0)
>>> bool(np.all((u >= 0) & (u < 1)))
True
>>> bool(np.array_equal(child_keys(keys, np.array([2, 0, 1])), child_keys(keys, np.array([2, 0, 1]))))
True
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["categorical_draws", "child_keys", "inverse_cdf", "mix", "root_keys", "uniforms"]

UInt = NDArray[np.uint64]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_CHILD = np.uint64(0xD1B54A32D192ED03)
_ROOT = np.uint64(0x8CB92BA72F3D8DD7)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))


def mix(x: UInt) -> UInt:
    """SplitMix64 of each entry (wrapping 64-bit arithmetic)."""
    z = np.asarray(x, dtype=np.uint64) + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def _as_array(x: np.uint64 | UInt) -> UInt:
    return np.atleast_1d(np.asarray(x, dtype=np.uint64))


def root_keys(episode: np.uint64 | int, n: int) -> UInt:
    """Keys of the ``n`` people of the first frontier of the episode with key ``episode``."""
    base = _as_array(np.uint64(episode))
    return mix(base ^ mix(np.arange(n, dtype=np.uint64) + _ROOT))


def child_keys(parents: UInt, counts: NDArray[np.int64]) -> UInt:
    """Keys of the recruits: ``counts[i]`` recruits of ``parents[i]``, recruiter-major.

    The ``j``-th recruit of a person always has the same key, whatever else happens.
    """
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    rank = (np.arange(owner.size, dtype=np.int64) - first).astype(np.uint64)
    return mix(_as_array(parents)[owner] ^ mix(rank + _CHILD))


def uniforms(keys: UInt, draw: int) -> NDArray[np.float64]:
    """The ``draw``-th uniform in ``[0, 1)`` of each key (53 random bits each)."""
    salt = mix(np.array([draw], dtype=np.uint64))
    bits = mix(_as_array(keys) ^ salt) >> _S11
    return bits.astype(np.float64) * 2.0**-53


def inverse_cdf(pmf: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.int64]:
    """Row-wise inverse CDF: the smallest ``c`` with ``u < sum_{j<=c} pmf[i, j]``.

    ``pmf`` is ``(n, K)`` with rows summing to one (the last column may be a
    tail mass); the result is in ``0..K-1``.
    """
    cum = np.cumsum(pmf, axis=1)
    cum[:, -1] = np.inf
    return (u[:, None] >= cum).sum(axis=1).astype(np.int64)


def categorical_draws(
    table: NDArray[np.float64], rows: NDArray[np.int64], u: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Codes drawn from ``table[rows[i]]`` (a law per row of ``table``) by inverse CDF."""
    cum = np.cumsum(table, axis=1)
    cum[:, -1] = np.inf
    return (u[:, None] >= cum[rows]).sum(axis=1).astype(np.int64)
