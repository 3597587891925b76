r"""Planners as round policies: a :class:`planning.Planner` driven through fast episodes.

A :class:`PlannerPolicy` asks a *planning model* for the round's
:class:`planning.PlanningInputs` and calls the planner's ``decide``. The
model is anything with ``inputs(view, budget) -> PlanningInputs``: here
:class:`TrueLaws` (the world's own laws: an oracle model), in the
application layer the models fitted to a pilot study.

How a planner meets the round's limits
--------------------------------------
* A planner with a ``max_per_round`` setting gets the episode's cap and the
  coupons left as its budget: the population DP, GFP, Thompson sampling and
  the other baselines. The DP's recursion then respects the cap in every
  round (:func:`planning.surrogate_table`), so the spend it plays is chosen
  among spends ``0..min(left, cap)`` and the value it claims is that of a
  cap-respecting policy; it is never trimmed.
* Any other planner with a ``gamma`` (a multi-round planner without a cap
  setting; no registered planner is one any more) gets the coupons left; if
  it spends more than the round's limit, the allocation is trimmed to the
  limit by keeping its coupons of largest marginal value under the
  posterior-mean curves, and the recorded decision says ``trimmed``. Its
  claimed value is then that of the untrimmed allocation: a fallback for
  outside planners, not a plan.
* A single-round planner (the greedy, the robust planner) gets the round's
  limit as its budget.

A planner with a ``total_budget`` setting left at ``None`` gets the
episode's budget. The hindsight oracle (``hindsight=True``) is told the
realised capacities through ``inputs.provenance["capacities"]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planning.greedy import greedy_order
from planning.inputs import PlanningInputs, choose_truncation
from planning.simulation.arrays import ArrayWorld
from planning.simulation.coded import Cohort
from planning.simulation.rounds import EpisodeSettings, RoundView
from rdsmodel.laws.capacity import survival_from_pmf

__all__ = ["PlannerPolicy", "TrueLaws", "drive_settings", "trim_allocation"]

IntArray = NDArray[np.int64]


def _field_names(planner: Any) -> set[str]:
    return {f.name for f in fields(planner)}


def drive_settings(planner: Any, settings: EpisodeSettings) -> Any:
    """The planner with the episode's round cap and total budget filled in (where it has them)."""
    names = _field_names(planner)
    changes: dict[str, Any] = {}
    if (
        "max_per_round" in names
        and settings.max_per_round is not None
        and planner.max_per_round is None
    ):
        changes["max_per_round"] = settings.max_per_round
    if "total_budget" in names and planner.total_budget is None:
        changes["total_budget"] = settings.budget
    return replace(planner, **changes) if changes else planner


def trim_allocation(allocation: IntArray, curves: NDArray[np.float64], limit: int) -> IntArray:
    """Keep ``limit`` of ``allocation``'s coupons, those of largest marginal value under ``curves``.

    Parameters
    ----------
    allocation : int array, shape (person,)
    curves : array, shape (person, L)
        Survival curves (the marginal value of person ``i``'s ``l``-th coupon is ``S_i(l)``).
    limit : int
    """
    if int(allocation.sum()) <= limit:
        return allocation
    person, _, _ = greedy_order(curves, int(limit), allocation)
    return np.bincount(person, minlength=allocation.size).astype(np.int64)


@dataclass(frozen=True, eq=False)
class TrueLaws:
    """Planning with the world's true laws (``--oracle-models``).

    Parameters
    ----------
    world : ArrayWorld
    pooled_pmf : array, shape (J,)
        The pooled capacity law of future recruits (e.g. the true law pooled
        over a pilot study's respondents, as the count model pools over its
        fitted respondents), tail mass last.
    offspring : object or None
        The true offspring law (``None`` in network worlds, whose recruits'
        covariates come from the graph).
    """

    world: ArrayWorld
    pooled_pmf: NDArray[np.float64]
    offspring: Any = None

    @classmethod
    def of(cls, world: ArrayWorld, people: Cohort, budget: int) -> TrueLaws:
        """The world's laws, pooled over ``people``, on ``0..budget + 1`` with the tail last."""
        pooled = world.population_pmf(people, int(budget) + 1)
        return cls(world, pooled, getattr(world.world, "offspring", None))

    def inputs(self, view: RoundView, budget: int) -> PlanningInputs:
        """The frontier's true curves (one sample), the pooled law, the offspring law and covariates."""
        length = choose_truncation(budget, view.person_cap)
        survival = survival_from_pmf(view.true_capacity_pmf(length))[None]
        return PlanningInputs.from_arrays(
            survival,
            caps=min(view.person_cap, length),
            pooled_pmf=self.pooled_pmf,
            offspring=self.offspring,
            frontier=view.frame if self.offspring is not None else None,
            provenance=_provenance(view),
        )


def _provenance(view: RoundView) -> dict[str, Any]:
    out: dict[str, Any] = {"round": view.round}
    if view.capacity is not None:
        out["capacities"] = tuple(int(c) for c in view.capacity)
    return out


@dataclass(eq=False)
class PlannerPolicy:
    """A planner driven round by round with a planning model (module docstring).

    Parameters
    ----------
    planner : planning.Planner
        With its settings (``gamma`` ...); :func:`drive_settings` fills in the round cap.
    model : object
        ``inputs(view, budget) -> PlanningInputs``.
    label : str
        Name in results.
    hindsight : bool
        Show the planner the realised capacities (the oracle).
    """

    planner: Any
    model: Any
    label: str = ""
    hindsight: bool = False
    decisions: list[dict[str, Any]] = field(default_factory=list, repr=False)
    record: bool = False

    def __post_init__(self) -> None:
        self.label = self.label or getattr(self.planner, "name", type(self.planner).__name__)
        names = _field_names(self.planner)
        self._capped = "max_per_round" in names
        self._multi = "gamma" in names

    def for_settings(self, settings: EpisodeSettings) -> PlannerPolicy:
        """This policy with the planner's cap and total budget set for ``settings``."""
        return PlannerPolicy(
            drive_settings(self.planner, settings),
            self.model,
            self.label,
            self.hindsight,
            record=self.record,
        )

    def _budget(self, view: RoundView) -> int:
        return view.remaining if (self._capped or self._multi) else view.limit

    def allocate(self, view: RoundView, rng: np.random.Generator) -> IntArray:
        """The planner's allocation of this round (trimmed to the limit when it has no cap)."""
        budget = self._budget(view)
        inputs = self.model.inputs(view, budget)
        decision = self.planner.decide(inputs, budget, rng)
        allocation = np.asarray(decision.allocation, dtype=np.int64)
        trimmed = False
        if allocation.sum() > view.limit:
            allocation = trim_allocation(allocation, inputs.mean_survival, view.limit)
            trimmed = True
        if self.record:
            self.decisions.append(
                {
                    "round": view.round,
                    "spend": int(allocation.sum()),
                    "value": float(decision.value),
                    "trimmed": trimmed,
                }
            )
        return allocation
