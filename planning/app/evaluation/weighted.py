r"""Planning with a priority in an evaluation: the planning model's inputs, with recruit weights.

Every policy of an evaluation plans round by round through a planning model
(``inputs(view, budget) -> PlanningInputs``): the pilot's fitted laws
(:class:`~planning.app.evaluation.models.FittedLaws`) or the world's true laws
(:class:`planning.simulation.planned.TrueLaws`). :class:`WeightedLaws` wraps
either and adds what ``rdsplan plan --priority`` adds to a fitted study's
inputs (:func:`planning.app.posterior.planning_inputs`):

* the expected weight ``E[w(X') | x_i]`` of a recruit of each frontier member
  per posterior sample, exact from the planning model's offspring law
  (:meth:`planning.priorities.Priority.expected_weights`, one Laplace
  summary; no Monte Carlo);
* the pooled weight of a future recruit's recruit: the same expectation
  averaged over the pilot's respondents, the people the pooled capacity law
  averages over (computed once, :func:`pooled_weight`).

So the planners see the weights their planning model implies (fitted or
true), and the episodes are scored on the recruits' true covariates
(:mod:`planning.app.evaluation.scoring`). A priority whose weights are all 1
(:attr:`Priority.trivial`) plans exactly as no priority.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from planning.errors import PlanningError
from planning.inputs import PlanningInputs
from planning.priorities import Priority
from planning.simulation.rounds import RoundView

__all__ = ["WeightedLaws", "planning_offspring"]


def planning_offspring(model: Any) -> Any:
    """The offspring law a planning model plans with (``None`` when it has none)."""
    return getattr(model, "offspring", None)


@dataclass(frozen=True, eq=False)
class WeightedLaws:
    """A planning model whose inputs carry a priority's recruit weights (module docstring).

    Parameters
    ----------
    model : object
        ``inputs(view, budget) -> PlanningInputs`` with an ``offspring`` law.
    priority : Priority
        Restricted to the levels the model's offspring law knows
        (:meth:`Priority.restricted`).
    pooled : numpy.ndarray
        ``(samples,)`` pooled weight (:meth:`Priority.pooled_weight` over the pilot).
    """

    model: Any
    priority: Priority
    pooled: np.ndarray

    @property
    def offspring(self) -> Any:
        """The wrapped model's offspring law."""
        return planning_offspring(self.model)

    @property
    def pooled_pmf(self) -> np.ndarray:
        """The wrapped model's pooled capacity law."""
        return self.model.pooled_pmf

    def inputs(self, view: RoundView, budget: int) -> PlanningInputs:
        """The wrapped model's inputs with the frontier's expected recruit weights."""
        base = self.model.inputs(view, budget)
        if base.frontier is None:
            raise PlanningError(
                f"{self.priority.origin}: the planning model has no recruit-covariate law"
            )
        weights = self.priority.expected_weights(
            self.offspring, base.frontier, samples=base.n_samples
        )
        return base.with_weights(
            weights,
            np.broadcast_to(self.pooled, (base.n_samples,)),
            provenance={"priority": str(self.priority)},
        )
