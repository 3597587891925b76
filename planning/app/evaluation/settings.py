"""What an evaluation runs: :class:`EvaluationSettings` (the options of ``rdsplan evaluate``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from planning.errors import PlanningError

__all__ = ["EXECUTORS", "EvaluationSettings"]

#: Executor kinds (``--executor``).
EXECUTORS = ("serial", "processes", "dask")


def _whole(name: str, value: Any, low: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or int(value) != value or value < low:
        raise PlanningError(f"{name} must be a whole number >= {low}, got {value!r}")


@dataclass(frozen=True)
class EvaluationSettings:
    """How to evaluate policies in a world.

    Attributes
    ----------
    scenario : str
        A scenario of :data:`planning.simulation.SCENARIOS`.
    budget : int or None
        Coupons per episode (default: the world's, e.g. 100 in ``tunnel``, 200 elsewhere).
    max_per_round : int or None
        Most coupons a round (default: the world's; ``0``: no cap).
    max_per_person : int or None
        Most coupons one person may get (default: the round cap, else the budget).
    gammas : sequence of float
        Discounts in ``(0, 1]``.
    frontiers : sequence of int or None
        Sizes of the first frontier (default: the world's).
    episodes : int
        Episodes per policy, gamma and frontier size (common random numbers:
        episode ``e`` is the same world for every policy).
    policies : sequence of str or None
        Policy names (:mod:`planning.app.evaluation.policies`); ``None``: all.
    seed : int
        Seeds the world, the pilot study, the fits, the training and every episode.
    oracle_models : bool
        Plan with the true laws instead of models fitted to a pilot study.
    pilot_respondents : int
        Size of the simulated pilot study the models are fitted to.
    pilot_coupons : sequence of int
        Coupons a pilot respondent gets, drawn uniformly from these (variation
        in the censoring point helps the count model).
    draws, tune, chains : int
        Sampler settings of the pilot fits (small: evaluation fits many worlds).
    sampler : str
        ``auto``, ``nutpie`` or ``pymc``.
    planning_samples : int
        Posterior samples the planners see.
    gfp_episodes, gfp_iterations, gfp_types : int
        GFP surrogate training: rollout episodes, value-iteration steps, latent types ``J``.
    fitted_q_episodes : int
        Rollout episodes of the fitted-Q baseline's training.
    max_rounds : int or None
        Round limit of an episode.
    chunk : int
        Episodes per task sent to the executor.
    world_options : mapping
        Options of the scenario's world builder (e.g. ``{"setting": "original"}``).
    priority : planning.priorities.Priority or str, optional
        Priority subgroups (``--priority``; text is read with
        :meth:`~planning.priorities.Priority.parse`): every policy plans with
        the recruit weights its planning model implies, and the results add
        weighted recruits and recruits per subgroup, scored in the true world.
        ``None``: plain recruits, and results exactly as without this option.
    """

    scenario: str = "tunnel"
    budget: int | None = None
    max_per_round: int | None = None
    max_per_person: int | None = None
    gammas: Sequence[float] = (0.5, 0.7, 0.9, 1.0)
    frontiers: Sequence[int] | None = None
    episodes: int = 50
    policies: Sequence[str] | None = None
    seed: int = 1
    oracle_models: bool = False
    pilot_respondents: int = 300
    pilot_coupons: Sequence[int] = (1, 2, 3, 4, 5)
    draws: int = 200
    tune: int = 200
    chains: int = 2
    sampler: str = "auto"
    planning_samples: int = 32
    gfp_episodes: int = 96
    gfp_iterations: int = 12
    gfp_types: int = 16
    fitted_q_episodes: int = 200
    max_rounds: int | None = None
    chunk: int = 10
    world_options: Mapping[str, Any] = field(default_factory=dict)
    priority: Any = None

    def __post_init__(self) -> None:
        from planning.simulation import SCENARIOS

        if self.scenario not in SCENARIOS:
            raise PlanningError(
                f"unknown scenario {self.scenario!r}; choose one of: {', '.join(SCENARIOS)}"
            )
        _whole("--budget", self.budget, 1)
        _whole("--max-per-round", self.max_per_round, 0)
        _whole("--max-per-person", self.max_per_person, 1)
        _whole("--episodes", self.episodes, 1)
        _whole("--max-rounds", self.max_rounds, 1)
        _whole("--pilot-respondents", self.pilot_respondents, 20)
        for name in (
            "draws",
            "chains",
            "planning_samples",
            "gfp_episodes",
            "gfp_iterations",
            "gfp_types",
            "fitted_q_episodes",
            "chunk",
        ):
            _whole(name, getattr(self, name), 1)
        _whole("tune", self.tune, 0)
        gammas = tuple(float(g) for g in self.gammas)
        if not gammas or any(not 0.0 < g <= 1.0 for g in gammas):
            raise PlanningError(f"--gammas must be numbers in (0, 1], got {list(self.gammas)}")
        if len(set(gammas)) != len(gammas):
            raise PlanningError(f"--gammas repeats a value: {list(gammas)}")
        object.__setattr__(self, "gammas", gammas)
        if self.frontiers is not None:
            frontiers = tuple(int(f) for f in self.frontiers)
            if (
                not frontiers
                or any(f < 1 for f in frontiers)
                or len(set(frontiers)) != len(frontiers)
            ):
                raise PlanningError(
                    f"--frontier must be distinct whole numbers >= 1, got {list(self.frontiers)}"
                )
            object.__setattr__(self, "frontiers", frontiers)
        coupons = tuple(int(c) for c in self.pilot_coupons)
        if not coupons or min(coupons) < 0:
            raise PlanningError("pilot coupons must be whole numbers >= 0")
        object.__setattr__(self, "pilot_coupons", coupons)
        if self.policies is not None:
            object.__setattr__(self, "policies", tuple(self.policies))
        object.__setattr__(self, "world_options", dict(self.world_options))
        if isinstance(self.priority, str):
            from planning.priorities import Priority

            object.__setattr__(self, "priority", Priority.parse(self.priority))

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-able values (stored with the results)."""
        out = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "priority":
                if value is not None:  # without a priority the stored settings stay as they were
                    out[name] = value.to_dict()
                continue
            out[name] = list(value) if isinstance(value, tuple) else value
        return out
