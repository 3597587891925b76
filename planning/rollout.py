r"""A minimal array-based rollout engine for fitted (or true) recruitment laws.

Many episodes run in lock-step: all active episodes' frontiers are stacked in
one table (rows sorted by episode), so each round costs one call of the
capacity model, one draw of capacities and one call of the offspring law for
all episodes together; only the policy sees one episode (or the whole batch)
at a time.

One round, for every active episode ``e`` with ``r_e`` coupons left:

1. the frontier's capacity laws ``P(C_i = c)``, ``c < L``, and the tail
   ``P(C_i >= L)`` come from the capacity model (the first round may use
   given laws, e.g. the posterior's curves of the real frontier);
2. the policy returns ``k_i`` with ``0 <= k_i <= L`` and
   ``sum_{i in e} k_i <= min(r_e, max_per_round)``;
3. capacities are drawn, ``C_i ~ P(C_i = .)``, and person ``i`` brings
   ``N_i = min(C_i, k_i)`` recruits; the reward is ``gamma^t sum_i N_i``;
4. the recruits' covariates are drawn from the offspring law
   (``offspring.sample(parents, N, rng, sample)``, recruiter-major) and
   become the next frontier; people given no coupon leave.

An episode ends when its budget is spent, its frontier is empty or the round
limit is reached.

The engine is general: a *capacity model* is anything with
``pmf(frame, max_count)`` (optionally a ``sample`` keyword) returning
``(person, max_count + 1)`` laws with the tail mass last -- every
``planning.simulation`` capacity law qualifies, :class:`PooledCapacity`
gives every recruit the pooled law of :class:`planning.PlanningInputs`. An
*offspring law* is anything with ``sample``; ``None`` runs without
covariates. A *policy* maps a :class:`RoundBatch` to the allocation of all
its rows (:func:`per_episode` adapts a one-frontier rule).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from planning.curves import survival_from_pmf
from planning.errors import PlanningError

__all__ = [
    "CapacityModel",
    "CovariateCoder",
    "PooledCapacity",
    "RolloutResult",
    "RoundBatch",
    "StatePool",
    "coder_for",
    "draw_capacities",
    "per_episode",
    "rollout",
]


@runtime_checkable
class CapacityModel(Protocol):
    """Per-person capacity laws of a table of people."""

    def pmf(self, frame: Any, max_count: int) -> np.ndarray:
        """``(person, max_count + 1)``: ``P(C = c)`` for ``c < max_count``, then ``P(C >= max_count)``."""
        ...


@dataclass(frozen=True)
class PooledCapacity:
    """Every person follows the pooled law (per posterior sample).

    Parameters
    ----------
    law : numpy.ndarray
        ``(J,)`` or ``(sample, J)``: ``P(C = c)`` for ``c < J``; mass missing
        from the sum is an atom at ``J`` (as in :mod:`planning.pgf`).
    """

    law: np.ndarray

    def __post_init__(self) -> None:
        arr = np.atleast_2d(np.asarray(self.law, dtype=np.float64))
        if arr.ndim != 2 or np.any(arr < -1e-12) or np.any(arr.sum(axis=1) > 1 + 1e-9):
            raise PlanningError("PooledCapacity: law must be (J,) or (sample, J) probabilities")
        object.__setattr__(self, "law", np.clip(arr, 0.0, None))

    def pmf(self, frame: Any, max_count: int, sample: int | None = None) -> np.ndarray:
        """The pooled law of ``sample`` (posterior mean for ``None``) for every row."""
        from planning.pgf import extend_pmf

        law = self.law.mean(axis=0) if sample is None else self.law[int(sample) % self.law.shape[0]]
        n = frame if isinstance(frame, int | np.integer) else len(frame)
        return np.tile(extend_pmf(law, int(max_count)), (int(n), 1))


@dataclass(frozen=True)
class CovariateCoder:
    """Integer codes of the covariate levels an offspring law's ``H`` is indexed by.

    Attributes
    ----------
    fields : tuple of str
        Field names (``H``'s field axis).
    levels : tuple of int
        Levels (or bins) per field.
    encoder : callable
        ``frame -> (rows, fields)`` int codes; ``-1`` for a missing value.
    """

    fields: tuple[str, ...]
    levels: tuple[int, ...]
    encoder: Callable[[Any], np.ndarray] | None = None

    @property
    def width(self) -> int:
        """Largest number of levels (``H``'s level axis)."""
        return max(self.levels, default=1)

    def encode(self, frame: Any) -> np.ndarray:
        """``(rows, fields)`` codes."""
        if not self.fields:
            return np.zeros((len(frame), 0), dtype=np.int64)
        return np.asarray(self.encoder(frame), dtype=np.int64).reshape(len(frame), len(self.fields))

    def counts(self, codes: np.ndarray, owner: np.ndarray, n_states: int) -> np.ndarray:
        """``(state, fields, levels)`` level counts of each state's members (missing ignored)."""
        F, K = len(self.fields), self.width
        out = np.zeros(n_states * F * K)
        if F:
            f = np.arange(F)[None, :]
            ok = codes >= 0
            flat = (owner[:, None] * F + f) * K + np.where(ok, codes, 0)
            out += np.bincount(flat[ok], minlength=out.size)
        return out.reshape(n_states, F, K)


def _category_encoder(
    names: Sequence[str], levels: Sequence[Sequence[str]]
) -> Callable[[Any], np.ndarray]:
    def encode(frame: Any) -> np.ndarray:
        out = np.empty((len(frame), len(names)), dtype=np.int64)
        for f, (name, lv) in enumerate(zip(names, levels, strict=True)):
            values = frame[name]
            out[:, f] = pd.Index(list(lv)).get_indexer(values.astype(object).to_numpy())
        return out

    return encode


def coder_for(offspring: Any) -> CovariateCoder:
    """The coder matching ``offspring.laplace``'s ``H`` axes.

    * ``None``: no fields;
    * a law with ``encode``, ``field_names`` and ``n_levels`` (the covariate
      model's inheritance law; numeric fields are binned by it);
    * a law with ``categorical`` field laws (the simulator's ``OffspringLaw``:
      its ``H`` covers the categorical fields only).

    Raises
    ------
    planning.errors.PlanningError
        For any other law (pass a :class:`CovariateCoder` yourself).
    """
    if offspring is None:
        return CovariateCoder((), ())
    if hasattr(offspring, "encode") and hasattr(offspring, "n_levels"):
        names = tuple(getattr(offspring, "field_names", ()))
        return CovariateCoder(names, tuple(int(v) for v in offspring.n_levels), offspring.encode)
    cats = getattr(offspring, "categorical", None)
    if cats is not None:
        names = tuple(c.name for c in cats)
        levels = [tuple(c.levels) for c in cats]
        return CovariateCoder(
            names, tuple(len(v) for v in levels), _category_encoder(names, levels)
        )
    raise PlanningError(
        f"cannot tell the covariate levels of {type(offspring).__name__}: pass a CovariateCoder"
    )


@dataclass
class RoundBatch:
    """The frontiers of all active episodes in one round (rows sorted by episode).

    Attributes
    ----------
    round : int
        Round ``t`` (0 first).
    episodes : numpy.ndarray
        ``(E,)`` episode ids.
    offsets : numpy.ndarray
        ``(E + 1,)`` rows of episode ``episodes[e]`` are ``offsets[e]:offsets[e+1]``.
    remaining : numpy.ndarray
        ``(E,)`` coupons left.
    limit : numpy.ndarray
        ``(E,)`` most coupons this round (``min(remaining, max_per_round)``).
    survival, pmf, caps : numpy.ndarray
        ``(N, L)``, ``(N, L + 1)``, ``(N,)`` capacity laws and coupon caps of the rows.
    frame : pandas.DataFrame
        The rows' covariates (no columns without an offspring law).
    sample : int or None
        Posterior sample the episodes run under.
    allocation, recruits : numpy.ndarray or None
        ``(N,)`` what the policy gave and what came of it (filled in
        recorded rollouts after the round is played).
    """

    round: int
    episodes: np.ndarray
    offsets: np.ndarray
    remaining: np.ndarray
    limit: np.ndarray
    survival: np.ndarray
    pmf: np.ndarray
    caps: np.ndarray
    frame: Any
    sample: int | None = None
    allocation: np.ndarray | None = None
    recruits: np.ndarray | None = None

    @property
    def n_episodes(self) -> int:
        """Active episodes."""
        return self.episodes.size

    def rows(self, e: int) -> slice:
        """Rows of the ``e``-th active episode."""
        return slice(int(self.offsets[e]), int(self.offsets[e + 1]))

    def frontier(self, e: int) -> Any:
        """Covariates of the ``e``-th active episode's frontier (index reset)."""
        return self.frame.iloc[self.rows(e)].reset_index(drop=True)


Policy = Callable[[RoundBatch, np.random.Generator], np.ndarray]


def per_episode(rule: Callable[[RoundBatch, int, np.random.Generator], np.ndarray]) -> Policy:
    """A batch policy from a rule ``(batch, e, rng) -> allocation of episode e's rows``."""

    def policy(batch: RoundBatch, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros(batch.caps.size, dtype=np.int64)
        for e in range(batch.n_episodes):
            out[batch.rows(e)] = rule(batch, e, rng)
        return out

    return policy


@dataclass
class RolloutResult:
    """Outcome of :func:`rollout`, per episode.

    Attributes
    ----------
    discounted, total : numpy.ndarray
        ``(E,)`` discounted and total recruits.
    spent : numpy.ndarray
        ``(E,)`` coupons handed out.
    rounds : numpy.ndarray
        ``(E,)`` rounds played.
    batches : list of RoundBatch
        Every round's batch (with ``record=True``): the states the policy saw.
    """

    discounted: np.ndarray
    total: np.ndarray
    spent: np.ndarray
    rounds: np.ndarray
    batches: list[RoundBatch] = field(default_factory=list)


def draw_capacities(pmf: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One capacity per row of ``pmf`` (``(n, L + 1)``, last entry: ``C >= L`` drawn as ``L``)."""
    cum = np.cumsum(pmf, axis=1)
    u = rng.random(pmf.shape[0])[:, None] * cum[:, -1:]
    return np.minimum((u >= cum).sum(axis=1), pmf.shape[1] - 1).astype(np.int64)


def _takes_sample(capacity: Any) -> bool:
    try:
        return "sample" in inspect.signature(capacity.pmf).parameters
    except (TypeError, ValueError):
        return False


def _laws(
    capacity: Any, frame: Any, length: int, sample: int | None, with_sample: bool
) -> np.ndarray:
    pmf = capacity.pmf(frame, length, sample=sample) if with_sample else capacity.pmf(frame, length)
    pmf = np.asarray(pmf, dtype=np.float64)
    if pmf.shape != (len(frame), length + 1):
        raise PlanningError(
            f"the capacity model returned laws of shape {pmf.shape}, expected ({len(frame)}, {length + 1})"
        )
    return pmf


def rollout(
    policy: Policy,
    initial: Any,
    budget: int,
    capacity: Any,
    offspring: Any,
    rng: np.random.Generator,
    *,
    episodes: int = 1,
    gamma: float = 1.0,
    length: int | None = None,
    max_rounds: int | None = None,
    max_per_round: int | None = None,
    initial_pmf: Any = None,
    budgets: Any = None,
    samples: Sequence[int | None] | None = None,
    record: bool = False,
) -> RolloutResult:
    """Run ``episodes`` episodes of ``policy`` in lock-step (see the module docstring).

    Parameters
    ----------
    policy
        ``(RoundBatch, rng) -> (rows,)`` int allocations.
    initial
        The initial frontier: a covariate table (every episode starts from
        it), a list of tables (one per episode), or a number of people
        (without covariates).
    budget
        Coupons per episode (or see ``budgets``).
    capacity
        Capacity model (``pmf(frame, max_count[, sample])``).
    offspring
        Offspring law (``sample(parents, n_children, rng, sample)``) or ``None``.
    rng
        The only source of randomness.
    episodes
        Episodes (ignored when ``initial`` is a list).
    gamma
        Discount of the reward.
    length
        Coupons a person may get, ``L`` (default ``min(budget, 10)``).
    max_rounds, max_per_round
        Round limit and per-round spend cap (``None``: none).
    initial_pmf
        ``(n, L + 1)`` laws of the initial frontier (or a list, one per
        episode); default from the capacity model.
    budgets
        ``(episodes,)`` budgets, one per episode (overrides ``budget``).
    samples
        Posterior sample of each episode, passed to the capacity model (if
        it takes ``sample``) and to ``offspring.sample``; default ``None``.
    record
        Keep every round's :class:`RoundBatch`.
    """
    if isinstance(initial, list | tuple):
        frames = [_as_frame(f) for f in initial]
        episodes = len(frames)
    else:
        frames = None
    budgets_arr = (
        np.full(episodes, int(budget), dtype=np.int64)
        if budgets is None
        else np.asarray(budgets, dtype=np.int64)
    )
    if budgets_arr.shape != (episodes,) or np.any(budgets_arr < 0):
        raise PlanningError(f"budgets must be {episodes} whole numbers >= 0")
    L = int(length) if length is not None else max(1, min(int(budgets_arr.max(initial=1)), 10))
    sample_of = [None] * episodes if samples is None else list(samples)
    if len(sample_of) != episodes:
        raise PlanningError(f"samples must give one posterior sample per episode ({episodes})")
    result = RolloutResult(
        np.zeros(episodes),
        np.zeros(episodes),
        np.zeros(episodes, dtype=np.int64),
        np.zeros(episodes, dtype=np.int64),
    )
    groups: dict[Any, list[int]] = {}
    for e, s in enumerate(sample_of):
        groups.setdefault(s, []).append(e)
    for sample, members in groups.items():
        ids = np.asarray(members, dtype=np.int64)
        if frames is None:
            base = _as_frame(initial)
            n = len(base)
            frame = base.iloc[np.tile(np.arange(n), ids.size)].reset_index(drop=True)
            owner = np.repeat(ids, n)
            pmf0 = (
                None
                if initial_pmf is None
                else np.tile(np.asarray(initial_pmf, dtype=np.float64), (ids.size, 1))
            )
        else:
            parts = [frames[e] for e in ids]
            frame = pd.concat(parts, ignore_index=True) if parts else frames[0].iloc[:0]
            owner = np.repeat(ids, [len(p) for p in parts])
            pmf0 = (
                None
                if initial_pmf is None
                else np.concatenate([np.asarray(initial_pmf[e], dtype=np.float64) for e in ids])
            )
        _run(
            policy,
            frame,
            owner,
            budgets_arr,
            capacity,
            offspring,
            rng,
            L,
            gamma,
            max_rounds,
            max_per_round,
            pmf0,
            sample,
            record,
            result,
        )
    return result


def _as_frame(initial: Any) -> Any:
    if isinstance(initial, int | np.integer):
        return pd.DataFrame(index=pd.RangeIndex(int(initial)))
    if not hasattr(initial, "iloc"):
        raise PlanningError("the initial frontier must be a covariate table or a number of people")
    return initial.reset_index(drop=True)


def _run(
    policy,
    frame,
    owner,
    budgets,
    capacity,
    offspring,
    rng,
    L,
    gamma,
    max_rounds,
    max_per_round,
    pmf0,
    sample,
    record,
    result,
) -> None:
    remaining = budgets.copy()
    with_sample = _takes_sample(capacity)
    keep = remaining[owner] > 0
    frame, owner = frame.iloc[np.flatnonzero(keep)].reset_index(drop=True), owner[keep]
    pmf = _laws(capacity, frame, L, sample, with_sample) if pmf0 is None else pmf0[keep]
    if pmf.shape != (owner.size, L + 1):
        raise PlanningError(f"initial_pmf must have shape (people, {L + 1}), got {pmf.shape}")
    t = 0
    while owner.size and (max_rounds is None or t < max_rounds):
        episodes, starts = np.unique(owner, return_index=True)
        offsets = np.append(starts, owner.size).astype(np.int64)
        limit = (
            remaining[episodes]
            if max_per_round is None
            else np.minimum(remaining[episodes], max_per_round)
        )
        survival = survival_from_pmf(pmf, L)
        batch = RoundBatch(
            t,
            episodes,
            offsets,
            remaining[episodes].copy(),
            limit,
            survival,
            pmf,
            np.full(owner.size, L, dtype=np.int64),
            frame,
            sample,
        )
        k = np.asarray(policy(batch, rng))
        if k.shape != (owner.size,) or (k.size and (np.any(k < 0) or np.any(k > L))):
            raise PlanningError(f"the policy must return {owner.size} coupon counts in 0..{L}")
        k = k.astype(np.int64)
        spent = np.add.reduceat(k, starts) if k.size else np.zeros(0, dtype=np.int64)
        if np.any(spent > limit):
            bad = int(episodes[np.argmax(spent > limit)])
            raise PlanningError(f"the policy overspent in episode {bad} (round {t})")
        if record:
            result.batches.append(batch)
        recruits = np.minimum(draw_capacities(pmf, rng), k)
        if record:
            batch.allocation, batch.recruits = k, recruits
        got = np.add.reduceat(recruits, starts)
        result.discounted[episodes] += gamma**t * got
        result.total[episodes] += got
        result.spent[episodes] += spent
        result.rounds[episodes] += 1
        remaining[episodes] -= spent
        if offspring is None:
            children = pd.DataFrame(index=pd.RangeIndex(int(recruits.sum())))
        else:
            children = offspring.sample(frame, recruits, rng, sample)
            children = children.drop(columns=["parent"], errors="ignore").reset_index(drop=True)
        owner = np.repeat(owner, recruits)
        alive = remaining[owner] > 0
        if not alive.all():
            children = children.iloc[np.flatnonzero(alive)].reset_index(drop=True)
            owner = owner[alive]
        frame = children
        t += 1
        if owner.size:
            pmf = _laws(capacity, frame, L, sample, with_sample)


@dataclass
class StatePool:
    """Decision states recorded from rollouts, as arrays (what fitting needs).

    Attributes
    ----------
    remaining : numpy.ndarray
        ``(P,)`` coupons left in each state.
    limit : numpy.ndarray
        ``(P,)`` most coupons the state's round may spend.
    offsets : numpy.ndarray
        ``(P + 1,)`` people of state ``p`` are ``offsets[p]:offsets[p+1]``.
    survival, pmf, caps : numpy.ndarray
        Per person.
    counts : numpy.ndarray
        ``(P, fields, levels)`` level counts of each state's frontier.
    frames : list
        The rounds' covariate tables; concatenated in order they are the
        people (``laplace`` is called once per table).
    """

    remaining: np.ndarray
    limit: np.ndarray
    offsets: np.ndarray
    survival: np.ndarray
    pmf: np.ndarray
    caps: np.ndarray
    counts: np.ndarray
    frames: list[Any]

    @property
    def n_states(self) -> int:
        """States ``P``."""
        return self.remaining.size

    @property
    def frame(self) -> Any:
        """All people's covariates in one table (built once)."""
        if len(self.frames) != 1:
            joined = pd.concat(self.frames, ignore_index=True) if self.frames else pd.DataFrame()
            self.frames = [joined]
        return self.frames[0]

    @property
    def sizes(self) -> np.ndarray:
        """``(P,)`` frontier sizes."""
        return np.diff(self.offsets)

    @classmethod
    def from_batches(cls, batches: Sequence[RoundBatch], coder: CovariateCoder) -> StatePool:
        """Every episode of every batch is one state."""
        L = batches[0].survival.shape[1] if batches else 1
        offsets, remaining, limit, counts = [np.zeros(1, dtype=np.int64)], [], [], []
        done = 0
        for b in batches:
            offsets.append(done + b.offsets[1:])
            done += int(b.offsets[-1])
            remaining.append(b.remaining)
            limit.append(b.limit)
            owner = np.repeat(np.arange(b.n_episodes), np.diff(b.offsets))
            counts.append(coder.counts(coder.encode(b.frame), owner, b.n_episodes))

        def cat(xs: list[np.ndarray], shape: Any) -> np.ndarray:
            return np.concatenate(xs) if xs else np.zeros(shape)

        return cls(
            remaining=cat(remaining, 0).astype(np.int64),
            limit=cat(limit, 0).astype(np.int64),
            offsets=np.concatenate(offsets).astype(np.int64),
            survival=cat([b.survival for b in batches], (0, L)),
            pmf=cat([b.pmf for b in batches], (0, L + 1)),
            caps=cat([b.caps for b in batches], 0).astype(np.int64),
            counts=cat(counts, (0, len(coder.fields), coder.width)),
            frames=[b.frame for b in batches],
        )

    def merge(self, other: StatePool) -> StatePool:
        """Both pools' states."""
        return StatePool(
            remaining=np.concatenate([self.remaining, other.remaining]),
            limit=np.concatenate([self.limit, other.limit]),
            offsets=np.concatenate([self.offsets, self.offsets[-1] + other.offsets[1:]]),
            survival=np.concatenate([self.survival, other.survival]),
            pmf=np.concatenate([self.pmf, other.pmf]),
            caps=np.concatenate([self.caps, other.caps]),
            counts=np.concatenate([self.counts, other.counts]),
            frames=[*self.frames, *other.frames],
        )
