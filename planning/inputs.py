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
* ``ppc``: the posterior-predictive estimate the error statements use;
* ``weights`` ``(D, n)``, optional: the expected weight ``E[w(X') | x_i]`` of a
  recruit of each frontier member under each sample (priority subgroups,
  :mod:`planning.priorities`); ``None`` means every recruit counts 1;
* ``pooled_weight`` ``(D,)``, optional: the expected weight of a recruit of a
  *future* recruiter drawn from the pooled population (what the multi-round
  planners scale their surrogate values by); defaults to the frontier's mean
  weight when ``weights`` are given;
* ``subgroups``: ``{label: (D, n)}`` probabilities ``P(X' in G | x_i)`` of
  the subgroups a plan reports expected recruits for.

With weights, every planner's objective is the weighted recruits
``f_d(k) = sum_i w_di sum_{l<=k_i} S_di(l)`` (:meth:`PlanningInputs.objective`);
its posterior mean is linear in the *value curves* ``V_di(l) = S_di(l) w_di``,
so the exact greedy runs on their posterior mean :attr:`PlanningInputs.mean_values`
(``E_d[S_d w_d]``, which is not ``E[S] E[w]``).

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
from planning.greedy import allocation_values
from planning.pgf import check_pmf

__all__ = [
    "MAX_PER_PERSON",
    "MAX_PLANNING_FLOATS",
    "MAX_POOLED_SUPPORT",
    "PlanningInputs",
    "check_planning_size",
    "choose_truncation",
]

#: Most coupons one person can be planned for (the field tables allow no more either,
#: ``rdsmodel.data.build.MAX_COUPONS``): the curves hold one level per coupon.
MAX_PER_PERSON = 1_000
#: Most floats the frontier's curves and their pmfs (2 x samples x frontier members x levels) may
#: take: 2 GB, checked before anything is allocated.
MAX_PLANNING_FLOATS = 250_000_000
#: Largest count the pooled law of future recruits is laid out to (its last entry holds the mass
#: beyond). The population DP refuses budgets above about 1,000 (its table would pass
#: ``planning.planners.MAX_TABLE_FLOATS``) and no capacity law puts mass that far, so a larger
#: budget for a single-round planner does not lay out billions of counts.
MAX_POOLED_SUPPORT = 1_000


def choose_truncation(budget: int, max_per_person: int) -> int:
    """Coupon levels the frontier's curves need: ``min(max_per_person, budget)``, at least 1.

    A person can be given at most ``max_per_person`` coupons and never more
    than the budget, so ``S(l)`` beyond that level never enters a plan.

    Raises
    ------
    planning.errors.PlanningError
        For a cap below 1 or above :data:`MAX_PER_PERSON` (naming ``--max-per-person``).
    """
    if max_per_person < 1:
        raise PlanningError(f"--max-per-person must be at least 1, got {max_per_person}")
    if max_per_person > MAX_PER_PERSON:
        raise PlanningError(
            f"--max-per-person {max_per_person} is more than the {MAX_PER_PERSON:,} coupons one person can be "
            "planned for; RDS studies give a few each"
        )
    return max(1, min(int(max_per_person), int(budget)))


def check_planning_size(samples: int, people: int, levels: int) -> None:
    """Refuse, before allocating, curves of more than :data:`MAX_PLANNING_FLOATS` floats.

    Parameters
    ----------
    samples, people, levels : int
        Posterior samples, frontier members and coupon levels of the curves.

    Raises
    ------
    planning.errors.PlanningError
        Naming the size, the limit and the flags that shrink it.
    """
    size = 2 * int(samples) * int(people) * (int(levels) + 1)  # the curves and their pmfs
    if size > MAX_PLANNING_FLOATS:
        raise PlanningError(
            f"planning {people:,} frontier member(s) over {samples} posterior draws with up to {levels} "
            f"coupon(s) each needs about {size * 8 / 1e9:.1f} GB (the limit is "
            f"{MAX_PLANNING_FLOATS * 8 / 1e9:.0f} GB); lower --samples or --max-per-person"
        )


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
    weights : numpy.ndarray or None
        ``(sample, person)`` expected recruit weights ``E[w(X') | x_i]``; ``None``: all 1.
    pooled_weight : numpy.ndarray or None
        ``(sample,)`` expected weight of a recruit of a future (pooled) recruiter.
    subgroups : dict
        ``{label: (sample, person)}`` subgroup probabilities ``P(X' in G | x_i)``.
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
    weights: np.ndarray | None = None
    pooled_weight: np.ndarray | None = None
    subgroups: dict[str, np.ndarray] = field(default_factory=dict)

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
        weights: Any = None,
        pooled_weight: Any = None,
        subgroups: dict[str, Any] | None = None,
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
        weights
            ``(person,)``, ``(1, person)`` or ``(sample, person)`` expected
            recruit weights, finite and ``>= 0`` (e.g.
            :meth:`planning.priorities.Priority.expected_weights`).
        pooled_weight
            Scalar or ``(sample,)`` weight of a future pooled recruit's
            recruit; default: the frontier's mean weight per sample (1 without
            ``weights``).
        subgroups
            ``{label: (person,) or (sample, person)}`` subgroup probabilities in ``[0, 1]``.

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
        w, pooled_w = _recruit_weights(weights, pooled_weight, n_samples, n_people)
        groups = {}
        for label, probs in (subgroups or {}).items():
            groups[str(label)] = _per_sample(
                probs, f"subgroup {label!r}", n_samples, n_people, upper=1.0
            )
        for array in (curves, pmf, caps_arr, w, pooled_w, *groups.values()):
            if array is not None:
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
            weights=w,
            pooled_weight=pooled_w,
            subgroups=groups,
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

    @property
    def weighted(self) -> bool:
        """Whether recruits carry weights (priority subgroups)."""
        return self.weights is not None

    @cached_property
    def mean_values(self) -> np.ndarray:
        r"""``(person, L)`` posterior-mean value curves ``E_d[S_di(l) w_di]``.

        The marginal value of coupon ``l`` to person ``i`` under the posterior
        expected weighted objective; the greedy on them is exact. Without
        weights this is :attr:`mean_survival` itself.
        """
        if self.weights is None:
            return self.mean_survival
        # the same arithmetic as mean_survival: with every weight 1 the curves are identical
        out = (self.survival * self.weights[..., None]).mean(axis=0)
        out.flags.writeable = False
        return out

    def values(self, index: Any = None) -> np.ndarray:
        """``(sample, person, L)`` value curves ``S_di(l) w_di`` of samples ``index`` (default all)."""
        curves = self.survival if index is None else self.survival[index]
        if self.weights is None:
            return curves
        w = self.weights if index is None else self.weights[index]
        return curves * w[..., None]

    def sample_weights(self, index: Any = None) -> np.ndarray | None:
        """``(sample, person)`` weights of samples ``index`` (``None`` without weights)."""
        if self.weights is None:
            return None
        return self.weights if index is None else self.weights[index]

    def future_weight(self, index: Any = None) -> np.ndarray:
        """``(sample,)`` weight of a future pooled recruit's recruit (1 without weights)."""
        weight = np.ones(self.n_samples) if self.pooled_weight is None else self.pooled_weight
        return weight if index is None else weight[index]

    def recruits(self, allocation: Any, index: Any = None) -> np.ndarray:
        """``(sample,)`` expected recruits (unweighted) of ``allocation`` per sample."""
        curves = self.survival if index is None else self.survival[index]
        return allocation_values(curves, allocation).sum(axis=-1)

    def objective(self, allocation: Any, index: Any = None) -> np.ndarray:
        r"""``(sample,)`` weighted expected recruits ``sum_i w_di sum_{l<=k_i} S_di(l)``.

        Equals :meth:`recruits` without weights (the same arithmetic).
        """
        curves = self.survival if index is None else self.survival[index]
        per_person = allocation_values(curves, allocation)
        w = self.sample_weights(index)
        if w is not None:
            per_person = per_person * w
        return per_person.sum(axis=-1)

    def subgroup_recruits(self, allocation: Any) -> dict[str, np.ndarray]:
        """``{label: (sample,)}`` expected recruits of ``allocation`` in each subgroup."""
        per_person = allocation_values(self.survival, allocation)
        return {label: (per_person * probs).sum(axis=1) for label, probs in self.subgroups.items()}

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

    def with_weights(
        self, weights: Any, pooled_weight: Any = None, provenance: dict[str, Any] | None = None
    ) -> PlanningInputs:
        """The same (already validated) inputs with recruit weights: only the weights are checked.

        ``weights`` and ``pooled_weight`` as in :meth:`from_arrays`;
        ``provenance`` entries are added to the inputs' own.
        """
        w, pooled_w = _recruit_weights(weights, pooled_weight, self.n_samples, self.n_people)
        for array in (w, pooled_w):
            if array is not None:
                array.flags.writeable = False
        return replace(
            self,
            weights=w,
            pooled_weight=pooled_w,
            provenance={**self.provenance, **(provenance or {})},
        )

    def with_samples(self, index: Any) -> PlanningInputs:
        """The same inputs restricted to posterior samples ``index`` (an int or array)."""
        index = np.atleast_1d(np.asarray(index, dtype=np.int64))
        return replace(
            self,
            survival=self.survival[index],
            pmf=self.pmf[index],
            pooled_pmf=None if self.pooled_pmf is None else self.pooled_pmf[index],
            provenance={**self.provenance, "samples": index.tolist()},
            weights=None if self.weights is None else self.weights[index],
            pooled_weight=None if self.pooled_weight is None else self.pooled_weight[index],
            subgroups={label: probs[index] for label, probs in self.subgroups.items()},
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
            f"pooled={pooled}, offspring={self.offspring is not None}, weighted={self.weighted})"
        )


def _per_sample(
    values: Any, name: str, n_samples: int, n: int, upper: float | None
) -> np.ndarray | None:
    """``(sample, person)`` float array from ``(person,)``, ``(1, person)`` or ``(sample, person)``."""
    if values is None:
        return None
    arr = np.asarray(getattr(values, "values", values), dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != n or arr.shape[0] not in (1, n_samples):
        raise PlanningError(
            f"{name} must have shape ({n},), (1, {n}) or ({n_samples}, {n}); got {arr.shape}"
        )
    if (
        not np.all(np.isfinite(arr))
        or np.any(arr < 0)
        or (upper is not None and np.any(arr > upper))
    ):
        bound = "in [0, 1]" if upper == 1.0 else ">= 0"
        raise PlanningError(f"{name} must be finite and {bound}")
    return np.array(np.broadcast_to(arr, (n_samples, n)))


def _recruit_weights(
    weights: Any, pooled_weight: Any, n_samples: int, n_people: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Validated ``(D, n)`` recruit weights and ``(D,)`` pooled weight (both ``None`` without)."""
    w = _per_sample(weights, "weights", n_samples, n_people, upper=None)
    if pooled_weight is None:
        return w, None if w is None else w.mean(axis=1)
    pooled_w = np.asarray(pooled_weight, dtype=np.float64)
    if pooled_w.ndim == 0 or pooled_w.shape == (1,):
        pooled_w = np.full(n_samples, float(pooled_w.reshape(-1)[0]))
    if pooled_w.shape != (n_samples,):
        raise PlanningError(
            f"pooled_weight must be a scalar or ({n_samples},); got shape {pooled_w.shape}"
        )
    if not np.all(np.isfinite(pooled_w)) or np.any(pooled_w < 0):
        raise PlanningError("pooled_weight must be finite and >= 0")
    return w, pooled_w


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
