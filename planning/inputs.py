r"""``PlanningInputs``: everything a planner reads, validated once.

Planners are numpy functions over plain arrays with an explicit sample axis
(STYLE.md, pattern 12). This module is the labelled edge in front of them: a
``PlanningInputs`` is built once, from posterior draws (the application layer
does that from a fitted model, :mod:`planning.app.posterior`) or from
hand-made arrays (:meth:`PlanningInputs.from_arrays`, what tests do), checks
shapes and laws once, and every planner trusts it afterwards.

What it holds (``D`` posterior samples, ``n`` frontier members, ``L`` levels):

* ``survival`` ``(D, n, L)``: ``S_di(l) = P(C_i >= l)`` under sample ``d``;
  non-increasing in ``l``, in ``[0, 1]``;
* ``pmf`` ``(D, n, L + 1)``: the law of ``min(C_i, L)`` (the matching pmfs);
* ``ids`` and ``caps`` (coupons each person may get, ``<= L``);
* ``pooled_pmf`` ``(D, J)``: the pooled capacity law ``D`` of future recruits
  per sample (multi-round planners), its last entry the tail mass;
* ``offspring`` and ``frontier``: the recruit-covariate law (anything with
  ``sample(parents, n_children, rng, sample)`` and ``laplace(H, parents,
  sample)``) and the frontier's covariates, for covariate-aware planners;
* ``ppc``: the posterior-predictive estimate the error statements use.

A plug-in (point) model is the same with ``D = 1``.

The truncation ``L`` is not a constant: it is the largest per-person cap,
which defaults to the most coupons anyone in the study was given and is never
more than the budget (:func:`choose_truncation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from planning.curves import as_survival_samples, person_ids, pmf_from_survival
from planning.errors import PlanningError
from planning.pgf import check_pmf

__all__ = ["PlanningInputs", "choose_truncation"]


def choose_truncation(budget: int, max_per_person: int) -> int:
    """Coupon levels the frontier's curves need: ``min(max_per_person, budget)``, at least 1.

    A person can be given at most ``max_per_person`` coupons and never more
    than the budget, so ``S(l)`` beyond that level never enters a plan.
    """
    if max_per_person < 1:
        raise PlanningError(f"the coupon cap per person must be at least 1, got {max_per_person}")
    return max(1, min(int(max_per_person), int(budget)))


@dataclass(frozen=True, eq=False)
class PlanningInputs:
    """Validated planner inputs for one frontier (see the module docstring).

    Build with :meth:`from_arrays`; the fields are read-only arrays.

    Attributes
    ----------
    survival : numpy.ndarray
        ``(sample, person, L)`` survival curves.
    pmf : numpy.ndarray
        ``(sample, person, L + 1)`` laws of ``min(C_i, L)``.
    ids : tuple of str
        Frontier member ids.
    caps : numpy.ndarray
        ``(person,)`` int64 coupon caps, ``0 <= cap <= L``.
    pooled_pmf : numpy.ndarray or None
        ``(sample, J)`` pooled capacity law of future recruits (last entry: tail mass).
    offspring : object or None
        Recruit-covariate law with ``sample`` and ``laplace``.
    frontier : pandas.DataFrame or None
        Covariates of the frontier members, one row per person, in ``ids`` order.
    ppc : object or None
        Posterior predictive distance estimate (:class:`planning.bounds.Estimate`).
    provenance : dict
        How the inputs were built (samples, seed, truncation rule); stored in plans.
    """

    survival: np.ndarray
    pmf: np.ndarray
    ids: tuple[str, ...]
    caps: np.ndarray
    pooled_pmf: np.ndarray | None = None
    offspring: Any = None
    frontier: Any = None
    ppc: Any = None
    provenance: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(
        cls,
        survival: Any,
        *,
        ids: Sequence[Any] | None = None,
        caps: Any = None,
        pooled_pmf: Any = None,
        offspring: Any = None,
        frontier: Any = None,
        ppc: Any = None,
        provenance: dict[str, Any] | None = None,
    ) -> PlanningInputs:
        """Validate arrays (numpy or DataArray) and build the inputs.

        Parameters
        ----------
        survival
            ``(sample, person, L)`` or ``(person, L)`` curves, or a DataArray
            named ``survival`` with dims ``("sample", "person", "ell")``.
        ids
            Person ids (default: the ``person`` coordinate, else ``0..n-1``).
        caps
            Scalar or ``(person,)`` coupon caps (default ``L``); clipped to ``L``.
        pooled_pmf
            ``(J,)`` or ``(sample, J)`` pooled capacity law (one sample, or one
            per survival sample).
        offspring, frontier, ppc, provenance
            See the class attributes.

        Raises
        ------
        planning.errors.PlanningError
            Naming the argument that is wrong.
        """
        try:
            curves = as_survival_samples(survival)
        except ValueError as err:
            raise PlanningError(str(err)) from None
        n_samples, n_people, length = curves.shape
        if n_people == 0:
            raise PlanningError("the frontier is empty: no one to give coupons to")
        names = tuple(person_ids(survival, ids, n_people))
        caps_arr = _caps(caps, n_people, length)
        pooled = None
        if pooled_pmf is not None:
            pooled = np.asarray(getattr(pooled_pmf, "values", pooled_pmf), dtype=np.float64)
            if pooled.ndim == 1:
                pooled = pooled[None]
            if pooled.ndim != 2 or pooled.shape[0] not in (1, n_samples):
                raise PlanningError(
                    f"pooled_pmf must be (J,) or (sample, J) with {n_samples} sample(s); "
                    f"got shape {pooled.shape}"
                )
            for row in range(pooled.shape[0]):
                try:
                    check_pmf(pooled[row], f"pooled_pmf[{row}]")
                except ValueError as err:
                    raise PlanningError(str(err)) from None
            if pooled.shape[0] == 1 and n_samples > 1:
                pooled = np.broadcast_to(pooled, (n_samples, pooled.shape[1]))
        if frontier is not None and len(frontier) != n_people:
            raise PlanningError(
                f"frontier has {len(frontier)} rows but the curves have {n_people} people"
            )
        pmf = pmf_from_survival(curves)
        for array in (curves, pmf, caps_arr):
            array.flags.writeable = False  # validated once: nobody changes them afterwards
        return cls(
            survival=curves,
            pmf=pmf,
            ids=names,
            caps=caps_arr,
            pooled_pmf=pooled,
            offspring=offspring,
            frontier=frontier,
            ppc=ppc,
            provenance=dict(provenance or {}),
        )

    # ------------------------------------------------------------------ shape
    @property
    def n_samples(self) -> int:
        """Posterior samples ``D``."""
        return self.survival.shape[0]

    @property
    def n_people(self) -> int:
        """Frontier members ``n``."""
        return self.survival.shape[1]

    @property
    def length(self) -> int:
        """Coupon levels ``L``."""
        return self.survival.shape[2]

    @cached_property
    def mean_survival(self) -> np.ndarray:
        """``(person, L)`` posterior-mean curves (the greedy is exact on them)."""
        out = self.survival.mean(axis=0)
        out.flags.writeable = False
        return out

    @cached_property
    def mean_pooled_pmf(self) -> np.ndarray:
        """``(J,)`` posterior-mean pooled law (requires ``pooled_pmf``)."""
        return self.require_pooled().mean(axis=0)

    def require_pooled(self) -> np.ndarray:
        """The pooled law, or a clear error for planners that need it."""
        if self.pooled_pmf is None:
            raise PlanningError(
                "this planner needs the pooled capacity law of future recruits (pooled_pmf)"
            )
        return self.pooled_pmf

    def with_samples(self, index: Any) -> PlanningInputs:
        """The same inputs restricted to posterior samples ``index`` (an int or array)."""
        index = np.atleast_1d(np.asarray(index, dtype=np.int64))
        return replace(
            self,
            survival=self.survival[index],
            pmf=self.pmf[index],
            pooled_pmf=None if self.pooled_pmf is None else self.pooled_pmf[index],
            provenance={**self.provenance, "samples": index.tolist()},
        )

    def labelled_survival(self):
        """The curves as an ``xarray.DataArray`` named ``survival``."""
        import xarray as xr

        return xr.DataArray(
            self.survival,
            dims=("sample", "person", "ell"),
            name="survival",
            coords={"person": list(self.ids), "ell": np.arange(1, self.length + 1)},
        )

    def __repr__(self) -> str:
        pooled = None if self.pooled_pmf is None else self.pooled_pmf.shape[1]
        return (
            f"PlanningInputs(samples={self.n_samples}, people={self.n_people}, L={self.length}, "
            f"pooled={pooled}, offspring={self.offspring is not None})"
        )


def _caps(caps: Any, n: int, length: int) -> np.ndarray:
    if caps is None:
        return np.full(n, length, dtype=np.int64)
    arr = np.asarray(caps)
    if arr.ndim == 0:
        arr = np.full(n, arr.item())
    if arr.shape != (n,):
        raise PlanningError(f"caps must be a scalar or have shape ({n},); got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.any(arr != np.round(arr)) or np.any(arr < 0):
        raise PlanningError("caps must be whole numbers >= 0")
    return np.minimum(arr.astype(np.int64), length)
