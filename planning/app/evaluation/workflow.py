r"""The evaluation workflow: pilot, fits, training, episodes on an executor, results.

:func:`evaluate_policies` is what ``rdsplan evaluate`` calls:

1. build the world and its pilot study, fit the pilot's models (or take the
   true laws) (:func:`planning.app.evaluation.pilot.prepare`);
2. train the planners that need it (GFP's surrogate, the fitted-Q model),
   one task per ``gamma``;
3. play every policy's episodes, in chunks of episodes per task; episode
   ``e`` of a frontier size has the same seed for every policy (common random
   numbers), and a policy without a ``gamma`` is played once for all gammas;
4. collect the Dataset, its summary and the budget-binding check.

Every task is a pure function of picklable arguments, so the serial, process
and Dask executors give identical results.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from planning.app.evaluation.executors import check_executor, open_executor
from planning.app.evaluation.pilot import Setup, episode_seed, prepare, train
from planning.app.evaluation.policies import PolicySpec, parse_policies
from planning.app.evaluation.results import budget_binding, build_dataset, summarise
from planning.app.evaluation.scoring import CodedPriority
from planning.app.evaluation.settings import EvaluationSettings
from planning.simulation.arrays import ArrayWorld
from planning.simulation.hindsight import hindsight_rounds
from planning.simulation.planned import PlannerPolicy
from planning.simulation.rounds import EpisodeSettings, EpisodeTable, run_episode

__all__ = ["Evaluation", "evaluate_policies", "play_chunk"]

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    """Default progress sink."""


@dataclass
class Evaluation:
    """What an evaluation produced.

    Attributes
    ----------
    dataset : xarray.Dataset
        Per-episode results (:mod:`planning.app.evaluation.results`).
    summary : list of dict
        Mean and standard error per policy, gamma and frontier size.
    binding : list of dict
        The budget-binding check per gamma and frontier size.
    notes : list of str
        What the reader should know (levels the pilot never showed, fallbacks).
    timings : dict
        Seconds per stage.
    """

    dataset: xr.Dataset
    summary: list[dict[str, Any]]
    binding: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """``{"results": [...], "budget_binding": [...]}`` (what ``--json`` prints).

        ``results`` is :attr:`summary`: with a priority each row adds
        ``weighted_mean``, ``weighted_se``, ``weighted_total_mean``,
        ``weighted_total_se`` and ``subgroups``
        (:func:`planning.app.evaluation.results.summarise`).
        """
        return {"results": self.summary, "budget_binding": self.binding}


def play_chunk(
    policy: Any,
    arrays: ArrayWorld,
    settings: EpisodeSettings,
    seed: int,
    frontier: int,
    first: int,
    count: int,
    scoring: CodedPriority | None = None,
) -> tuple[np.ndarray, ...]:
    """Play episodes ``first .. first + count - 1`` of one policy (an executor task).

    The hindsight oracle (a policy with ``hindsight=True``) is not played: its
    rows are the episodes' hindsight upper bound
    (:func:`planning.simulation.hindsight.hindsight_rounds`) under the same
    random numbers, one coupon per recruit. With ``scoring`` its weighted
    recruits are bounded by its recruits times the largest weight and each
    subgroup's recruits by its recruits.

    Parameters
    ----------
    scoring : CodedPriority, optional
        Also score the recruits by who they are (their coded covariates are
        recorded; the episodes' draws do not change).

    Returns
    -------
    recruits, spend : int arrays, shape (count, rounds)
    weighted : float array, shape (count, rounds)
        Only with ``scoring``: weighted recruits per round.
    subgroups : int array, shape (count, rounds, subgroup)
        Only with ``scoring``: recruits per subgroup and round.
    """
    if getattr(policy, "hindsight", False):
        seeds = [episode_seed(seed, frontier, e) for e in range(first, first + count)]
        recruits, spend = hindsight_rounds(arrays, settings, seeds)
        if scoring is None:
            return recruits, spend
        subgroups = np.repeat(recruits[:, :, None], len(scoring.labels), axis=2)
        return recruits, spend, recruits * scoring.max_weight(), subgroups
    record = scoring is not None
    results = [
        run_episode(arrays, policy, settings, episode_seed(seed, frontier, e), record_codes=record)
        for e in range(first, first + count)
    ]
    table = EpisodeTable.from_results(results, settings.budget)
    if scoring is None:
        return table.recruits, table.spend
    rounds = table.recruits.shape[1]
    weighted = np.zeros((count, rounds))
    groups = np.zeros((count, rounds, len(scoring.labels)), dtype=np.int64)
    for e, result in enumerate(results):  # a loop over episodes; each is scored on arrays
        weighted[e], groups[e] = scoring.per_round(result.codes, result.code_round, rounds)
    return table.recruits, table.spend, weighted, groups


class _Tracker:
    """Progress on standard error: tasks done, elapsed and remaining time, every few seconds."""

    def __init__(self, progress: Progress, total: int, what: str, every: float = 5.0) -> None:
        self.progress, self.total, self.what, self.every = progress, total, what, every
        self.done = 0
        self.started = self.last = time.perf_counter()

    def tick(self, _: Any = None) -> None:
        """One more task done (usable as a future's done callback)."""
        self.done += 1
        now = time.perf_counter()
        if now - self.last >= self.every or self.done == self.total:
            self.last = now
            elapsed = now - self.started
            left = elapsed / self.done * (self.total - self.done)
            self.progress(
                f"{self.what}: {self.done}/{self.total} tasks ({100 * self.done / self.total:.0f}%), "
                f"{elapsed:.0f}s elapsed, about {left:.0f}s left"
            )


def _submit_training(
    executor: Executor, specs: list[PolicySpec], setup: Setup, progress: Progress
) -> dict[Future, tuple[str, int]]:
    """Submit one training task per trainable kind and gamma (nothing when there is nothing to train on)."""
    kinds = sorted({s.training for s in specs if s.training})
    if not kinds:
        return {}
    if setup.training is None:
        setup.notes.append(
            f"{', '.join(kinds)}: no laws to train on; played untrained "
            "(GFP with its covariate-blind surrogate, fitted Q myopic)"
        )
        return {}
    settings = setup.settings
    capacity, offspring = setup.training
    pooled = np.atleast_2d(setup.model.pooled_pmf).mean(axis=0)
    parts = {
        "initial": setup.initial_frame,
        "budget": setup.episode.budget,
        "capacity": capacity,
        "offspring": offspring,
        "length": setup.episode.person_cap,
        "max_per_round": setup.episode.max_per_round,
        "pooled": pooled,
        "settings": settings,
        "identity": f"{settings.scenario}-seed{settings.seed}-{'true' if settings.oracle_models else 'pilot'}",
    }
    progress(f"training {', '.join(kinds)} for {len(settings.gammas)} gamma(s) ...")
    tracker = _Tracker(progress, len(kinds) * len(settings.gammas), "training")
    futures: dict[Future, tuple[str, int]] = {}
    for kind in kinds:
        for g, gamma in enumerate(settings.gammas):
            future = executor.submit(train, kind, gamma, g, parts)
            future.add_done_callback(tracker.tick)
            futures[future] = (kind, g)
    return futures


def _collect_training(
    futures: dict[Future, tuple[str, int]], setup: Setup
) -> dict[tuple[str, int], Any]:
    out: dict[tuple[str, int], Any] = {}
    for future in as_completed(futures):
        trained, seconds = future.result()
        kind, g = futures[future]
        out[(kind, g)] = trained
        setup.timings[f"train_{kind}"] = setup.timings.get(f"train_{kind}", 0.0) + seconds
    return out


def _stack(chunks: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """Row-bind chunks of ``(recruits, spend[, weighted, subgroups])``, zero-padded to the longest episode."""
    width = max(c[0].shape[1] for c in chunks)

    def pad(a: np.ndarray) -> np.ndarray:
        return np.pad(a, [(0, 0), (0, width - a.shape[1])] + [(0, 0)] * (a.ndim - 2))

    return tuple(np.concatenate([pad(c[k]) for c in chunks]) for k in range(len(chunks[0])))


def _policy(
    spec: PolicySpec,
    g: int | None,
    gamma: float | None,
    trained: dict[tuple[str, int], Any],
    setup: Setup,
) -> PlannerPolicy:
    extra = {}
    if spec.training and (spec.training, g) in trained:
        extra = {"surrogate" if spec.training == "gfp" else "model": trained[(spec.training, g)]}
    planner = spec.build(gamma, **extra)
    return PlannerPolicy(planner, setup.model, spec.label, spec.hindsight).for_settings(
        setup.episode
    )


def evaluate_policies(
    settings: EvaluationSettings,
    *,
    executor: str = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress = _quiet,
    world: Any = None,
) -> Evaluation:
    """Evaluate policies in a world (module docstring).

    Parameters
    ----------
    settings : EvaluationSettings
        With ``priority``: every policy plans with the recruit weights and the
        results add weighted recruits and recruits per subgroup
        (:mod:`planning.app.evaluation.results`).
    executor : {"serial", "processes", "dask"}
    workers : int, optional
        Worker processes (default: the cores).
    scheduler : str, optional
        Address of a Dask scheduler (``executor="dask"``); default a LocalCluster.
    progress : callable
        Receives one line of text per step (the command line prints it to standard error).
    world : planning.simulation.World, optional
        Evaluate in this world instead of the scenario's (from Python; see
        :func:`planning.app.evaluation.pilot.prepare`).

    Returns
    -------
    Evaluation

    Raises
    ------
    planning.errors.PlanningError
        For a user mistake (unknown policy, bad settings, Dask missing).
    """
    specs = parse_policies(settings.policies)
    check_executor(executor, workers, scheduler)
    started = time.perf_counter()
    labels = [s.label for s in specs]
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(1) as boot:
        # Workers start (a Dask cluster takes seconds) while the pilot study is fitted.
        booting = boot.submit(stack.enter_context, open_executor(executor, workers, scheduler))
        try:
            setup = prepare(settings, progress, world=world)
        finally:
            pool = booting.result()
        training = _submit_training(pool, specs, setup, progress)
        chunks = -(-settings.episodes // settings.chunk)
        n_tasks = (
            sum(len(settings.gammas) if s.uses_gamma else 1 for s in specs)
            * len(setup.frontiers)
            * chunks
        )
        tracker = _Tracker(progress, n_tasks, "episodes")
        futures: dict[Future, tuple[str, int, int, int]] = {}

        def submit(spec: PolicySpec, trained: dict[tuple[str, int], Any]) -> None:
            gammas = list(enumerate(settings.gammas)) if spec.uses_gamma else [(-1, None)]
            for g, gamma in gammas:
                policy = _policy(spec, g if g >= 0 else None, gamma, trained, setup)
                for frontier in setup.frontiers:
                    ep = EpisodeSettings(
                        setup.episode.budget,
                        setup.episode.max_per_round,
                        setup.episode.max_per_person,
                        setup.episode.max_rounds,
                        frontier,
                    )
                    for first in range(0, settings.episodes, settings.chunk):
                        count = min(settings.chunk, settings.episodes - first)
                        task = pool.submit(
                            play_chunk,
                            policy,
                            setup.arrays,
                            ep,
                            settings.seed,
                            frontier,
                            first,
                            count,
                            setup.scoring,
                        )
                        task.add_done_callback(tracker.tick)
                        futures[task] = (spec.label, g, frontier, first)

        progress(
            f"playing {settings.episodes} episodes x {len(specs)} policies x "
            f"{len(settings.gammas)} gamma(s) x {len(setup.frontiers)} frontier size(s) "
            f"({n_tasks} tasks, executor {executor}) ..."
        )
        played = time.perf_counter()
        # Policies that need no training queue behind the trainings, so no worker waits for them.
        waiting = [spec for spec in specs if spec.training and training]
        for spec in specs:
            if spec not in waiting:
                submit(spec, {})
        trained = _collect_training(training, setup)
        for spec in waiting:
            submit(spec, trained)
        parts: dict[tuple[str, int, int], dict[int, tuple[np.ndarray, ...]]] = {}
        for future in as_completed(futures):
            label, g, frontier, first = futures[future]
            parts.setdefault((label, g, frontier), {})[first] = future.result()
    setup.timings["training_and_episodes"] = time.perf_counter() - played
    runs = {key: _stack([chunks[k] for k in sorted(chunks)]) for key, chunks in parts.items()}
    setup.timings["total"] = time.perf_counter() - started
    ep = setup.episode
    attrs = {
        "scenario": settings.scenario,
        "budget": ep.budget,
        "max_per_round": ep.max_per_round or 0,
        "max_per_person": ep.person_cap,
        "seed": settings.seed,
        "oracle_models": int(settings.oracle_models),
        "settings": settings.as_dict(),
        "notes": setup.notes,
    }
    if world is not None:
        attrs["world"] = type(setup.world).__name__
    subgroups = None
    if setup.scoring is not None:
        attrs["priority"] = settings.priority.to_dict()
        subgroups = setup.scoring.labels
    ds = build_dataset(
        labels, settings.gammas, setup.frontiers, settings.episodes, runs, attrs, subgroups
    )
    binding = budget_binding(ds)
    ds.attrs["budget_binding"] = json.dumps(binding)
    ds.attrs["timings"] = json.dumps(setup.timings)
    return Evaluation(ds, summarise(ds), binding, list(setup.notes), dict(setup.timings))
