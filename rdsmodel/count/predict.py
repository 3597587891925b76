r"""Posterior predictions in numpy: linear predictors, survival curves, pmfs, redeemed counts.

Everything here works on posterior draws flattened to one ``sample`` axis and
on plain arrays; :class:`rdsmodel.count.CountModel` adds labels and checks.

For person :math:`i` under draw :math:`s`,
:math:`\eta_{si} = b_{0s} + x_i^\top \beta_s + u_{s, g(i)}`; a person in a
group the fit never saw gets :math:`u \sim N(0, \sigma_{u,s})`, one draw per
(sample, unseen group) from a seeded generator, so people of the same new
group share their effect. Survival curves are
:math:`S_{si}(\ell) = P(C \ge \ell)`, ``ell = 1..L``, from the log-survival
grid of :mod:`rdsmodel.laws.capacity` (non-increasing by construction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rdsmodel.laws.capacity import Family, logpmf_grid, pmf_grid, survival_grid

__all__ = ["Draws", "linear_predictor", "pmf_array", "redeemed_draws", "survival_array"]

_CHUNK_ELEMENTS = 8_000_000


@dataclass(frozen=True)
class Draws:
    """Posterior (or prior) draws on one flat ``sample`` axis.

    Attributes
    ----------
    b0 : (S,) array
    beta : (S, q) array
    sigma_u : (S,) array or None
    u : (S, G) array or None
    phi, psi : (S,) arrays or None
    chain, draw : (S,) arrays
        Where each sample came from.
    """

    b0: np.ndarray
    beta: np.ndarray
    sigma_u: np.ndarray | None
    u: np.ndarray | None
    phi: np.ndarray | None
    psi: np.ndarray | None
    chain: np.ndarray
    draw: np.ndarray

    @property
    def n(self) -> int:
        """Number of samples."""
        return len(self.b0)

    def take(self, index: np.ndarray) -> Draws:
        """The samples at ``index`` (an integer array over the flat sample axis)."""

        def pick(a):
            return None if a is None else a[index]

        return Draws(
            b0=self.b0[index],
            beta=self.beta[index],
            sigma_u=pick(self.sigma_u),
            u=pick(self.u),
            phi=pick(self.phi),
            psi=pick(self.psi),
            chain=self.chain[index],
            draw=self.draw[index],
        )

    @classmethod
    def from_dataset(cls, ds, *, n_terms: int, samples: int | None = None) -> Draws:
        """Flatten an ArviZ ``posterior`` or ``prior`` dataset (dims ``chain``, ``draw``).

        Parameters
        ----------
        ds : xarray.Dataset
        n_terms : int
            Number of design terms (``beta`` may be absent when 0).
        samples : int, optional
            Keep this many samples, evenly spaced over the flattened draws
            (all when ``None``).
        """
        n_chain, n_draw = ds.sizes["chain"], ds.sizes["draw"]
        total = n_chain * n_draw
        if samples is None:
            keep = np.arange(total)
        else:
            samples = int(samples)
            if not 1 <= samples <= total:
                raise ValueError(
                    f"samples must be between 1 and {total} (the posterior's draws), got {samples}"
                )
            keep = np.unique(np.linspace(0, total - 1, samples).round().astype(np.int64))

        def flat(name):
            if name not in ds:
                return None
            arr = np.asarray(ds[name].transpose("chain", "draw", ...).values, dtype=float)
            return arr.reshape((total, *arr.shape[2:]))[keep]

        beta = flat("beta")
        if beta is None:
            beta = np.zeros((len(keep), n_terms))
        return cls(
            b0=flat("b0"),
            beta=beta,
            sigma_u=flat("sigma_u"),
            u=flat("u"),
            phi=flat("phi"),
            psi=flat("psi"),
            chain=np.asarray(ds["chain"].values)[keep // n_draw],
            draw=np.asarray(ds["draw"].values)[keep % n_draw],
        )


def linear_predictor(
    draws: Draws,
    design: np.ndarray,
    group: np.ndarray,
    *,
    n_unseen: int = 0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Log means ``eta`` of shape ``(S, n)``.

    Parameters
    ----------
    draws : Draws
    design : (n, q) array
        Centred design rows (:meth:`rdsmodel.count.design.DesignSpec.matrix`).
    group : (n,) int array
        Group index; ``-1 - j`` for the ``j``-th unseen group.
    n_unseen : int
        Number of unseen groups.
    rng : numpy.random.Generator
        Required when ``n_unseen > 0``.
    """
    eta = draws.b0[:, None] + draws.beta @ np.asarray(design, dtype=float).T
    if draws.u is None:
        return eta
    seen = group >= 0
    if seen.any():
        eta[:, seen] += draws.u[:, group[seen]]
    if n_unseen:
        if rng is None:
            raise ValueError("a generator is needed to draw effects of unseen groups")
        new = rng.standard_normal((draws.n, n_unseen)) * draws.sigma_u[:, None]
        eta[:, ~seen] += new[:, -1 - group[~seen]]
    return eta


def _params(draws: Draws, sl: slice):
    phi = None if draws.phi is None else draws.phi[sl, None]
    psi = None if draws.psi is None else draws.psi[sl, None]
    return phi, psi


def survival_array(family: Family, draws: Draws, eta: np.ndarray, max_coupons: int) -> np.ndarray:
    """``P(C >= ell)`` for ``ell = 1..max_coupons``, shape ``(S, n, max_coupons)``."""
    n_s, n = eta.shape
    out = np.empty((n_s, n, max_coupons))
    step = max(1, _CHUNK_ELEMENTS // max(1, n * (max_coupons + 1)))
    for lo in range(0, n_s, step):
        sl = slice(lo, lo + step)
        phi, psi = _params(draws, sl)
        out[sl] = survival_grid(family, eta[sl], max_coupons, phi, psi)
    return out


def pmf_array(
    family: Family, draws: Draws, eta: np.ndarray, max_count: int, *, tail: bool = False
) -> np.ndarray:
    """``P(C = c)`` for ``c = 0..max_count``, shape ``(S, n, max_count + 1)``.

    With ``tail=True`` the last entry is ``P(C >= max_count)`` so each row sums to one.
    """
    n_s, n = eta.shape
    out = np.empty((n_s, n, max_count + 1))
    step = max(1, _CHUNK_ELEMENTS // max(1, n * (max_count + 1)))
    for lo in range(0, n_s, step):
        sl = slice(lo, lo + step)
        phi, psi = _params(draws, sl)
        out[sl] = pmf_grid(family, eta[sl], max_count, phi, psi, tail=tail)
    return out


def redeemed_draws(
    family: Family,
    draws: Draws,
    eta: np.ndarray,
    bound: np.ndarray,
    *,
    rng: np.random.Generator,
    pattern: np.ndarray | None = None,
) -> np.ndarray:
    r"""Draw redeemed counts ``min(C, bound)`` by inverse CDF on the count grid, shape ``(S, n)``.

    With :math:`u \sim U(0, 1)`, :math:`\min(C, K) = \#\{j < K : F(j) < u\}`
    for the capacity CDF :math:`F`, then capped at each person's bound.

    Parameters
    ----------
    eta : (S, P) array
        Log means per person (``P = n``) or per pattern (with ``pattern``).
    bound : (n,) int array
        Coupons (or censoring bound) per person.
    rng : numpy.random.Generator
    pattern : (n,) int array, optional
        Column of ``eta`` for each person.
    """
    bound = np.asarray(bound, dtype=np.int64)
    n_s, n = eta.shape[0], len(bound)
    pattern = np.arange(n) if pattern is None else np.asarray(pattern)
    kmax = int(bound.max(initial=0))
    out = np.zeros((n_s, n), dtype=np.int64)
    if kmax == 0:
        return out
    u = rng.random((n_s, n))
    step = max(1, _CHUNK_ELEMENTS // max(1, max(eta.shape[1], n) * (kmax + 1)))
    for lo in range(0, n_s, step):
        sl = slice(lo, lo + step)
        phi, psi = _params(draws, sl)
        cdf = np.cumsum(np.exp(logpmf_grid(family, eta[sl], kmax, phi, psi)[..., :kmax]), axis=-1)
        below = (cdf[:, pattern, :] < u[sl, :, None]).sum(axis=-1)
        out[sl] = np.minimum(below, bound[None, :])
    return out
