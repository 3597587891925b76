r"""The world, its pilot study, the planning models and the trained planners of an evaluation.

Seeds (all from :class:`numpy.random.SeedSequence` with the evaluation's seed
as entropy and a fixed spawn key, so each piece is reproducible on its own):

============ ==================================================================
spawn key    what it seeds
============ ==================================================================
``(0,)``     the world (the network's graph)
``(1,)``     the pilot study
``(2,)``     the pilot fits (sampler seed)
``(3,)``     the first frontier the trained planners start their rollouts from
``(5, g, k)`` training of kind ``k`` (0 GFP, 1 fitted Q) at the ``g``-th gamma
``(4, n, e)`` episode ``e`` with a first frontier of ``n`` people
============ ==================================================================

The pilot study is simulated in the evaluation's world with random coupon
counts (``pilot_coupons``), read as a field table and fitted with
:func:`planning.app.workflows.fit_study` (count and covariate models, small
draws; the covariate model with ``transitions="auto"``: a full transition
matrix for categorical fields with few levels, so a type rule such as the
tunnel world's is learnt); policies plan with those fits (:class:`~planning.app.evaluation.models.FittedLaws`)
and are scored in the true world. With ``oracle_models`` they plan with the
world's own laws (:class:`planning.simulation.planned.TrueLaws`), pooled over
the pilot's respondents as the count model pools over its fitted respondents.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from planning.app.evaluation.models import FittedLaws, GroupMixture, fitted_laws
from planning.app.evaluation.scoring import CodedPriority
from planning.app.evaluation.settings import EvaluationSettings
from planning.app.evaluation.weighted import WeightedLaws, planning_offspring
from planning.app.posterior import default_cap
from planning.errors import PlanningError
from planning.simulation.arrays import ArrayWorld, NetworkArrays, as_arrays
from planning.simulation.coded import Cohort
from planning.simulation.planned import TrueLaws
from planning.simulation.rounds import EpisodeSettings

__all__ = ["Setup", "child_seed", "episode_seed", "prepare", "train"]

Progress = Any


def child_seed(seed: int, *key: int) -> np.random.SeedSequence:
    """``SeedSequence(seed, spawn_key=key)``: an independent stream per purpose (module docstring)."""
    return np.random.SeedSequence(int(seed), spawn_key=tuple(int(k) for k in key))


def episode_seed(seed: int, frontier: int, episode: int) -> np.random.SeedSequence:
    """The seed of episode ``episode`` with a first frontier of ``frontier`` people."""
    return child_seed(seed, 4, frontier, episode)


@dataclass(eq=False)
class Setup:
    """Everything the episodes need, built once.

    Attributes
    ----------
    settings : EvaluationSettings
    world : planning.simulation.World
    arrays : ArrayWorld
    episode : EpisodeSettings
        Budget, caps and rounds (the first frontier's size is set per frontier size).
    frontiers : tuple of int
    model : FittedLaws or TrueLaws
        What the policies plan with.
    pilot : planning.simulation.SimulatedStudy
    training : tuple
        ``(capacity, offspring)`` laws the trained planners roll out under
        (``None`` when they cannot be trained, e.g. true laws of a network).
    initial_frame : pandas.DataFrame
        The first frontier the trainings start from.
    notes : list of str
    timings : dict
        Seconds spent in the pilot fit and the trainings.
    scoring : CodedPriority or None
        The priority compiled against the world's codes (scores the episodes'
        recruits by who they are); ``None`` without a priority.
    """

    settings: EvaluationSettings
    world: Any
    arrays: ArrayWorld
    episode: EpisodeSettings
    frontiers: tuple[int, ...]
    model: Any
    pilot: Any
    training: tuple[Any, Any] | None
    initial_frame: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    scoring: CodedPriority | None = None


def _pilot_cohort(arrays: ArrayWorld, study: Any) -> Cohort:
    """The pilot's respondents who were given coupons, coded (network worlds: with their nodes)."""
    table = study.table
    given = table["coupons_issued"].notna().to_numpy()
    if not given.any():
        given = np.ones(len(table), dtype=bool)
    node = None
    if isinstance(arrays, NetworkArrays):
        node = study.episode.nodes[given]
    return arrays.coding.encode(table.loc[given].reset_index(drop=True), node=node)


def _frame_for(model: Any, arrays: ArrayWorld, cohort: Cohort) -> pd.DataFrame:
    frame = arrays.coding.frame(cohort)
    if isinstance(model, FittedLaws):
        for name, known in model.known_levels.items():
            if not known.all():
                frame[name] = frame[name].where(
                    known[cohort.codes[:, arrays.coding.field_index(name)]]
                )
    return frame


def _refuse_unweighable(settings: EvaluationSettings, where: str) -> None:
    """Refuse a priority the planning models cannot weigh: they have no recruit-covariate law."""
    why = (
        "its recruits' covariates come from the population graph, so there is no true "
        "recruit-covariate law to weigh recruits with; plan with models fitted to the pilot "
        "(drop --oracle-models)"
        if settings.oracle_models
        else "the pilot's models have no recruit-covariate model"
    )
    raise PlanningError(f"{settings.priority.origin} in {where}: {why}")


def _weighted(
    model: Any,
    settings: EvaluationSettings,
    arrays: ArrayWorld,
    people: Cohort,
    where: str,
    notes: list[str],
) -> WeightedLaws | None:
    """The planning model with the priority's recruit weights (``None``: plan unweighted).

    A priority whose weights are all 1 plans exactly as no priority (no
    weights at all). Levels the planning model's offspring law never saw are
    dropped from it with a note (they have probability 0 under it).
    """
    from planning.priorities import law_layout

    priority = settings.priority
    if priority is None or priority.trivial:
        return None
    offspring = planning_offspring(model)
    if offspring is None:
        _refuse_unweighable(settings, where)
    restricted, dropped = priority.restricted(law_layout(offspring))
    if dropped:
        notes.append(
            f"{priority.origin}: level(s) {', '.join(dropped)} never seen in the pilot; the fitted "
            "covariate model gives them probability 0, so they change no planning weight "
            "(episodes are still scored with them)"
        )
    frame = _frame_for(model, arrays, people)
    samples = model.n_samples if isinstance(model, FittedLaws) else 1
    return WeightedLaws(model, restricted, restricted.pooled_weight(offspring, frame, samples))


def _person_cap(
    episode: EpisodeSettings, settings: EvaluationSettings, study: Any, notes: list[str]
) -> EpisodeSettings:
    """Without a round cap or ``--max-per-person``: at most what the pilot gave anyone.

    The same default as ``rdsplan plan``. A pilot that gave at most ``k``
    coupons says nothing about capacities beyond ``k``: a fitted law's tail
    there is extrapolation, and planning deeper allocations on it wastes
    coupons (in the calibrated world the fitted pooled law's mean was 6.1
    against the true 2.2, and the DP then lost to constant-k).
    """
    if settings.max_per_person is not None or episode.max_per_round is not None:
        return episode
    most = max(1, default_cap(study))
    notes.append(
        f"at most {most} coupons per person: the most any pilot respondent was given "
        "(as rdsplan plan's default; --max-per-person to change)"
    )
    return replace(episode, max_per_person=most)


def prepare(
    settings: EvaluationSettings, progress: Progress = lambda _: None, *, world: Any = None
) -> Setup:
    """Build the world, run and fit the pilot study, compile the models (module docstring).

    Parameters
    ----------
    settings : EvaluationSettings
    progress : callable
    world : planning.simulation.World, optional
        A world to evaluate in instead of the scenario's (from Python, e.g. a
        case study's own world); the scenario then only sets the pilot's
        seeds per batch. Its covariates are those a priority may name.

    Raises
    ------
    planning.errors.PlanningError
        For settings the world cannot honour, or a priority naming a
        covariate or level the world does not have.
    """
    import time

    from planning.simulation import SCENARIOS, make_world
    from planning.simulation.policies import RandomCoupons

    seed = settings.seed
    spec = SCENARIOS[settings.scenario]
    where = f"the {settings.scenario} world" if world is None else "this world"
    if world is None:
        try:
            world = make_world(
                settings.scenario,
                np.random.default_rng(child_seed(seed, 0)),
                settings.pilot_respondents,
                **settings.world_options,
            )
        except (TypeError, ValueError) as err:
            raise PlanningError(str(err)) from None
    arrays = as_arrays(world)
    scoring = None
    if settings.priority is not None:  # checked against the world before any pilot or fit
        scoring = CodedPriority.of(settings.priority, arrays.coding, where)
        no_law = settings.oracle_models and getattr(world, "offspring", None) is None
        if no_law and not settings.priority.trivial:
            _refuse_unweighable(settings, where)
    cap = settings.max_per_round
    overrides = {
        "budget": settings.budget,
        "max_per_person": settings.max_per_person,
        "max_rounds": settings.max_rounds,
    }
    episode = EpisodeSettings.for_world(arrays, **overrides)
    if cap is not None:
        episode = EpisodeSettings(
            episode.budget,
            cap or None,
            episode.max_per_person,
            episode.max_rounds,
            episode.initial_frontier,
        )
    frontiers = tuple(settings.frontiers) if settings.frontiers else (episode.initial_frontier,)
    notes: list[str] = []
    timings: dict[str, float] = {}
    progress(
        f"simulating a pilot study of {settings.pilot_respondents} respondents in the "
        f"{settings.scenario} world ..."
    )
    study = world.simulate(
        spec.default_seeds(settings.pilot_respondents),
        max_respondents=settings.pilot_respondents,
        rng=np.random.default_rng(child_seed(seed, 1)),
        coupon_policy=RandomCoupons(tuple(settings.pilot_coupons)),
    )
    people = _pilot_cohort(arrays, study)
    episode = _person_cap(episode, settings, study, notes)
    if settings.oracle_models:
        model: Any = TrueLaws.of(arrays, people, episode.budget)
        training = None
        offspring = getattr(world, "offspring", None)
        if offspring is not None:
            capacity = world.capacity
            if world.groups is not None:
                capacity = GroupMixture(world.capacity, tuple(world.groups), world.group_column)
            training = (capacity, offspring)
        else:
            notes.append(
                "true laws of a network world have no offspring law: trained planners fall back "
                "to their covariate-blind forms"
            )
    else:
        from planning.app.workflows import FitSettings, fit_study
        from rdsmodel.data import RecruitmentData

        started = time.perf_counter()
        data = RecruitmentData.from_frame(
            study.table,
            group_col=world.group_column if world.groups else None,
            coupon_window=study.coupon_window,
        )
        fit_seed = int(child_seed(seed, 2).generate_state(1)[0] % (2**31 - 1))
        progress(
            f"fitting the pilot's models ({settings.chains} chains x {settings.draws} draws) ..."
        )
        fit = fit_study(
            data,
            FitSettings(
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                seed=fit_seed,
                sampler=settings.sampler,
                progress_bars=False,
                covariate_transitions="auto",
            ),
            progress=progress,
        )
        model = fitted_laws(
            fit,
            arrays.coding,
            budget=episode.budget,
            samples=settings.planning_samples,
            seed=fit_seed,
        )
        notes.extend(model.notes)
        weights = None
        if arrays.coding.groups is not None:
            weights = np.bincount(people.group, minlength=len(arrays.coding.groups))
        training = (model.frame_capacity(weights), model.offspring)
        timings["pilot_fit"] = time.perf_counter() - started
    first, _ = arrays.start(
        max(frontiers), np.random.default_rng(child_seed(seed, 3)), np.uint64(0)
    )
    initial_frame = _frame_for(model, arrays, first) if training is not None else None
    weighted = _weighted(model, settings, arrays, people, where, notes)
    return Setup(
        settings,
        world,
        arrays,
        episode,
        frontiers,
        model if weighted is None else weighted,
        study,
        training,
        initial_frame,
        notes,
        timings,
        scoring,
    )


def train(kind: str, gamma: float, gamma_index: int, setup_parts: dict[str, Any]) -> Any:
    """Train GFP's surrogate (``kind="gfp"``) or the fitted-Q model for one ``gamma``.

    ``setup_parts`` holds what the training reads (picklable, sent to a worker):
    ``initial``, ``budget``, ``capacity``, ``offspring``, ``length``,
    ``max_per_round``, ``pooled``, ``settings``, ``identity``.
    """
    import time

    settings: EvaluationSettings = setup_parts["settings"]
    started = time.perf_counter()
    seed = int(
        child_seed(settings.seed, 5, gamma_index, 0 if kind == "gfp" else 1).generate_state(1)[0]
    )
    common = dict(
        gamma=float(gamma),
        length=setup_parts["length"],
        max_per_round=setup_parts["max_per_round"],
        identity=f"{setup_parts['identity']}-gamma{gamma}",
        seed=seed,
    )
    if kind == "gfp":
        from planning.gfp_fit import fit_surrogate

        out = fit_surrogate(
            setup_parts["initial"],
            setup_parts["budget"],
            setup_parts["capacity"],
            setup_parts["offspring"],
            n_types=settings.gfp_types,
            episodes=settings.gfp_episodes,
            iterations=settings.gfp_iterations,
            pooled_pmf=setup_parts["pooled"],
            **common,
        )
    elif kind == "fitted_q":
        from planning.baselines import fit_fitted_q

        out = fit_fitted_q(
            setup_parts["initial"],
            setup_parts["budget"],
            setup_parts["capacity"],
            setup_parts["offspring"],
            episodes=settings.fitted_q_episodes,
            **common,
        )
    else:  # pragma: no cover - the specs only name these two
        raise PlanningError(f"nothing to train for {kind!r}")
    return out, time.perf_counter() - started
