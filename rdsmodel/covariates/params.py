"""Posterior parameters of the inheritance model as plain numpy arrays (no PyMC).

:class:`InheritanceParams` holds one array per parameter with a leading
``sample`` axis; the offspring model, the pair log-likelihood and the
posterior predictive checks all work on it. The ``sample`` axis flattens the
posterior's ``(chain, draw)`` in chain-major order.

Shapes (``S`` samples, ``F`` categorical fields, ``L`` padded levels, ``Z``
latent classes, ``G`` numeric fields):

=================  ===============  =====================================================
``rho``            (S, F, L)        inheritance probability by recruiter level
``pi``             (S, Z, F, L)     non-inherited level law (per class), zero padding
``class_weight``   (S, Z)           class law of non-inherited classes and of seeds
``class_rho``      (S,)             probability a recruit keeps the recruiter's class
``intercept``      (S, G)           numeric regression on the modelling scale
``slope``          (S, G)
``sigma``          (S, G)
``transition``     (S, F, L, L)     full transition matrices ``T[p, c]`` (or None)
=================  ===============  =====================================================

Without latent classes ``Z = 1``, ``class_weight = 1`` and ``class_rho = 0``.

Fields following a full transition matrix (``transitions="matrix"``; their
positions among the categorical fields in ``matrix_fields``) have their law
in ``transition``; for them ``rho[:, f, p]`` holds the matrix's diagonal
``T[p, p]`` (the "stay" probability, for reports) and ``pi[:, 0, f]`` the
recruiters' population law (used for a recruiter whose value is missing).
:meth:`InheritanceParams.kernel` gives every field's ``P(c | p)``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from rdsmodel.laws.inheritance import marginal_recruit, transition_matrix

from .fields import FieldSpec

__all__ = ["InheritanceParams", "pair_log_likelihood", "transition_matrix"]


@dataclass(frozen=True)
class InheritanceParams:
    """Parameter draws of the inheritance model (see the module docstring)."""

    rho: np.ndarray
    pi: np.ndarray
    class_weight: np.ndarray
    class_rho: np.ndarray
    intercept: np.ndarray
    slope: np.ndarray
    sigma: np.ndarray
    transition: np.ndarray | None = None
    matrix_fields: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        S = self.rho.shape[0]
        object.__setattr__(self, "matrix_fields", tuple(int(f) for f in self.matrix_fields))
        if self.matrix_fields and self.transition is None:
            raise ValueError("matrix_fields need the transition matrices")
        if self.matrix_fields and self.n_classes != 1:
            raise ValueError("full transition matrices are not available with latent classes")
        for name in self._sampled():
            if getattr(self, name).shape[0] != S:
                raise ValueError(
                    f"parameter {name!r} has {getattr(self, name).shape[0]} samples, rho has {S}"
                )

    @property
    def n_samples(self) -> int:
        """int: number of posterior samples."""
        return int(self.rho.shape[0])

    @property
    def n_classes(self) -> int:
        """int: number of latent classes (1 without classes)."""
        return int(self.pi.shape[1])

    def _sampled(self) -> tuple[str, ...]:
        """Names of the arrays with a leading sample axis."""
        names = ("pi", "class_weight", "class_rho", "intercept", "slope", "sigma")
        return (*names, "transition") if self.transition is not None else names

    def take(self, index: np.ndarray | Sequence[int]) -> InheritanceParams:
        """The samples at ``index``."""
        idx = np.asarray(index, dtype=np.int64)
        arrays = {k: getattr(self, k)[idx] for k in ("rho", *self._sampled())}
        return InheritanceParams(**arrays, matrix_fields=self.matrix_fields)

    def mean(self) -> InheritanceParams:
        """Posterior-mean parameters as a single sample."""
        arrays = {
            k: getattr(self, k).mean(axis=0, keepdims=True) for k in ("rho", *self._sampled())
        }
        return InheritanceParams(**arrays, matrix_fields=self.matrix_fields)

    def kernel(self) -> np.ndarray:
        """(S, F, L, L): every categorical field's ``P(c | p)`` (no latent classes).

        The mixture ``rho_p 1[c = p] + (1 - rho_p) pi(c)`` for mixture fields,
        ``T[p, c]`` for the fields in ``matrix_fields``.
        """
        if self.n_classes != 1:
            raise ValueError("kernel() is for models without latent classes")
        return self.apply_matrices(transition_matrix(self.rho, self.pi[:, 0]))

    def apply_matrices(self, kernel: np.ndarray) -> np.ndarray:
        """``kernel`` (S, F, L, L) with the matrix fields' rows replaced by ``T`` (in place; returned)."""
        if self.matrix_fields:
            idx = list(self.matrix_fields)
            kernel[:, idx] = self.transition[:, idx]
        return kernel

    def apply_matrix_marginals(self, marginal: np.ndarray) -> np.ndarray:
        """Recruit laws (S, F, L) with an unknown recruiter, matrix fields set to ``sum_p q(p) T[p, c]`` (in place)."""
        if self.matrix_fields:
            idx = list(self.matrix_fields)
            marginal[:, idx] = np.einsum(
                "sfp,sfpc->sfc", self.pi[:, 0, idx], self.transition[:, idx]
            )
        return marginal

    def population(self) -> np.ndarray:
        """(S, F, L): the population level law ``sum_z w(z) pi_z``, used for missing recruiters."""
        return np.einsum("sz,szfl->sfl", self.class_weight, self.pi)

    def with_(self, **changes: Any) -> InheritanceParams:
        """Copy with some arrays replaced."""
        return replace(self, **changes)

    @classmethod
    def from_posterior(cls, posterior: Any, specs: Sequence[FieldSpec]) -> InheritanceParams:
        """Read the parameter arrays from an ArviZ ``posterior`` group (an ``xarray.Dataset``)."""
        cat = [s for s in specs if s.is_categorical]
        num = [s for s in specs if not s.is_categorical]
        L = max([s.n_levels for s in cat], default=1)

        def flat(name: str) -> np.ndarray:
            v = posterior[name]
            arr = np.asarray(v.transpose("chain", "draw", ...).values, dtype=float)
            return arr.reshape((-1, *arr.shape[2:]))

        S = posterior.sizes["chain"] * posterior.sizes["draw"]
        F = len(cat)
        if "rho_level" in posterior:
            rho = np.nan_to_num(flat("rho_level"))
        elif F:
            rho = np.repeat(flat("rho")[:, :, None], L, axis=2)
        else:
            rho = np.zeros((S, 0, L))
        if "class_pi" in posterior:
            pi = np.nan_to_num(flat("class_pi"))
            weight = flat("class_weight")
            crho = flat("class_rho")
        else:
            pi = np.nan_to_num(flat("pi"))[:, None] if F else np.zeros((S, 1, 0, L))
            weight = np.ones((S, 1))
            crho = np.zeros(S)
        if num:
            intercept, slope, sigma = flat("intercept"), flat("slope"), flat("sigma")
        else:
            intercept = slope = sigma = np.zeros((S, 0))
        transition, matrix_fields = None, ()
        if "transition" in posterior:
            names = [s.name for s in cat]
            matrix_fields = tuple(names.index(str(n)) for n in posterior["matrix_field"].values)
            given = np.nan_to_num(flat("transition"))  # (S, M, L, L)
            population = np.nan_to_num(flat("transition_population"))  # (S, M, L)
            transition = np.zeros((S, F, L, L))
            idx = list(matrix_fields)
            transition[:, idx] = given
            rho = rho.copy()
            rho[:, idx] = np.einsum("smpp->smp", given)
            pi = pi.copy()
            pi[:, 0, idx] = population
        return cls(
            rho=rho,
            pi=pi,
            class_weight=weight,
            class_rho=crho,
            intercept=intercept,
            slope=slope,
            sigma=sigma,
            transition=transition,
            matrix_fields=matrix_fields,
        )


def pair_log_likelihood(
    params: InheritanceParams, pairs: Any, specs: Sequence[FieldSpec], chunk: int = 256
) -> np.ndarray:
    """Log-likelihood of each pair under each sample, shape (S, pairs).

    Row-wise evaluation (no counts), for LOO and as the reference the count
    likelihood is tested against. Only for models without latent classes.

    Parameters
    ----------
    params : InheritanceParams
    pairs : EncodedPairs
    specs : sequence of FieldSpec
    chunk : int
        Samples processed at once (bounds memory at ``chunk * pairs`` floats per field).
    """
    if params.n_classes != 1:
        raise ValueError(
            "pair log-likelihoods need a model without latent classes (use tree log-likelihoods)"
        )
    cat = [s for s in specs if s.is_categorical]
    num = [s for s in specs if not s.is_categorical]
    S, n = params.n_samples, pairs.n_pairs
    out = np.zeros((S, n))
    L = params.rho.shape[-1]
    for start in range(0, S, chunk):
        sl = slice(start, min(S, start + chunk))
        rho, pi = params.rho[sl], params.pi[sl, 0]
        part = params.take(np.arange(sl.start, sl.stop)) if params.matrix_fields else params
        with np.errstate(divide="ignore"):
            logP = np.log(part.apply_matrices(transition_matrix(rho, pi)))  # (s, F, L, L)
            logM = np.log(part.apply_matrix_marginals(marginal_recruit(rho, pi)))  # (s, F, L)
        # One extra recruiter slot (L) for "missing" and one recruit slot (L) for "dropped".
        table = np.zeros((logP.shape[0], len(cat), L + 1, L + 1))
        table[:, :, :L, :L] = logP
        table[:, :, L, :L] = logM
        flat = table.reshape(table.shape[0], len(cat), (L + 1) ** 2)
        for k in range(len(cat)):
            p = np.where(pairs.parent_codes[:, k] < 0, L, pairs.parent_codes[:, k])
            c = np.where(pairs.recruit_codes[:, k] < 0, L, pairs.recruit_codes[:, k])
            out[sl] += flat[:, k, p * (L + 1) + c]
        for g, spec in enumerate(num):
            x, y = pairs.parent_values[:, g], pairs.recruit_values[:, g]
            a, b, s = (
                params.intercept[sl, g, None],
                params.slope[sl, g, None],
                params.sigma[sl, g, None],
            )
            miss = ~np.isfinite(x)
            mu = a + b * np.where(miss, spec.pop_mean, x)
            sd = np.where(miss, np.sqrt(s**2 + (b * spec.pop_sd) ** 2), s)
            ll = -0.5 * np.log(2 * np.pi) - np.log(sd) - 0.5 * ((y - mu) / sd) ** 2
            if spec.log:
                ll = ll - y
            out[sl] += np.where(np.isfinite(y), ll, 0.0)
    return out


def config_json(config: dict[str, Any]) -> str:
    """Serialise a configuration the way :mod:`rdsmodel.persistence` does."""
    return json.dumps(
        config, sort_keys=True, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)
    )
