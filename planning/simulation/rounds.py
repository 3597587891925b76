r"""Fast episodes: the multi-round recruitment process on arrays.

An episode starts from a first frontier of ``initial_frontier`` people (the
world's seeds, with its fixed level shares) and ``budget`` coupons. Round
``t = 0, 1, ...``:

1. the world realises the frontier's capacities ``C_i`` (kept from the
   policy, shown only to a hindsight policy);
2. the policy sees a :class:`RoundView` (the frontier's coded covariates,
   the coupons left, this round's limit ``m = min(left, max_per_round)``,
   the per-person cap) and returns an allocation ``k`` with
   ``0 <= k_i <= cap`` and ``sum_i k_i <= m``;
3. person ``i`` brings ``min(C_i, k_i)`` recruits (fewer in a network world
   when neighbours are claimed twice), whose covariates the world draws;
   the coupons are spent whether used or not; the recruits are the next
   frontier and everybody else leaves.

The episode ends when the frontier is empty, the budget is spent or
``max_rounds`` rounds have been played. The reward of round ``t`` is its
number of recruits ``N_t``; the discounted reward is
``sum_t gamma^t N_t`` (the first round undiscounted, as in DESIGN.md's
``gamma^(t-1)`` with rounds counted from one), computed for any ``gamma``
from the recorded rounds, so a policy that does not depend on ``gamma`` is
played once for all of them.

Randomness: the episode's seed (an int or a ``numpy.random.SeedSequence``)
spawns the first frontier's stream, the policy's stream and the key of the
world's keyed draws (:mod:`planning.simulation.keyed`), so the same seed gives
the same first frontier and the same potential recruits to every policy
(common random numbers) and a policy's randomness never shifts the world's.

Examples
--------
>>> from planning.simulation import make_world
>>> from planning.simulation.rounds import CouponRule, EpisodeSettings, run_episode
>>> world = make_world("tunnel")
>>> settings = EpisodeSettings.for_world(world)
>>> result = run_episode(world, CouponRule.constant(3), settings, seed=1)
>>> result.spent <= settings.budget and result.total <= result.spent
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planning.simulation.arrays import ArrayWorld, Memory, as_arrays
from planning.simulation.coded import Coding, Cohort
from planning.simulation.keyed import root_keys
from planning.simulation.policies import ConstantCoupons, RandomAllocation
from planning.simulation.study import EpisodeDefaults, World

__all__ = [
    "CouponRule",
    "EpisodeResult",
    "EpisodeSettings",
    "EpisodeTable",
    "RoundPolicy",
    "RoundView",
    "episode_seeds",
    "episode_start",
    "run_episode",
    "run_episodes",
]

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class EpisodeSettings:
    """How an episode is played.

    Attributes
    ----------
    budget : int
        Coupons of the episode.
    max_per_round : int or None
        Most coupons handed out in one round (``None``: no cap).
    max_per_person : int or None
        Most coupons one person may get (default: the round's cap, else the budget).
    max_rounds : int or None
        Round limit (``None``: until the budget or the frontier runs out).
    initial_frontier : int
        People on the first frontier.
    """

    budget: int
    max_per_round: int | None = None
    max_per_person: int | None = None
    max_rounds: int | None = None
    initial_frontier: int = 10

    def __post_init__(self) -> None:
        for name in ("budget", "max_per_round", "max_per_person", "max_rounds", "initial_frontier"):
            value = getattr(self, name)
            if value is None:
                continue
            if (
                isinstance(value, bool)
                or int(value) != value
                or value < (0 if name == "budget" else 1)
            ):
                raise ValueError(
                    f"{name} must be a whole number >= {0 if name == 'budget' else 1}, "
                    f"got {value!r}"
                )
            object.__setattr__(self, name, int(value))

    @classmethod
    def for_world(cls, world: World | ArrayWorld, **overrides: Any) -> EpisodeSettings:
        """The world's default setting (:class:`EpisodeDefaults`), with ``overrides``."""
        d: EpisodeDefaults = world.defaults
        base = {
            "budget": d.budget,
            "max_per_round": d.max_per_round,
            "initial_frontier": d.initial_frontier,
        }
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)

    @property
    def person_cap(self) -> int:
        """Most coupons one person can get: ``max_per_person``, else the round cap, else the budget."""
        cap = self.max_per_person or self.max_per_round or self.budget
        return max(1, min(int(cap), self.max_per_round or cap, max(self.budget, 1)))


@dataclass(eq=False)
class RoundView:
    """What a policy sees in one round.

    Attributes
    ----------
    round : int
        ``t``, from 0.
    remaining : int
        Coupons left before this round.
    limit : int
        Most coupons this round: ``min(remaining, max_per_round)``.
    person_cap : int
        Most coupons one person may get.
    cohort : Cohort
        The frontier's coded covariates.
    coding : Coding
        What the codes mean (:meth:`frame` builds the table).
    world : ArrayWorld
        The true world, for policies that plan with the true laws.
    memory : Memory
        The world's memory of the episode (who was recruited, in networks).
    capacity : int array or None
        The frontier's realised capacities (truncated at ``person_cap``),
        shown only to hindsight policies.
    budget : int
        The episode's budget.
    """

    round: int
    remaining: int
    limit: int
    person_cap: int
    cohort: Cohort
    coding: Coding
    world: ArrayWorld
    memory: Memory
    capacity: IntArray | None = None
    budget: int = 0

    @property
    def size(self) -> int:
        """Frontier size."""
        return len(self.cohort)

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The frontier's covariates as a table (categorical dtypes), built once per round."""
        return self.coding.frame(self.cohort)

    def true_capacity_pmf(self, max_count: int) -> NDArray[np.float64]:
        """The true capacity law of the frontier, ``(person, max_count + 1)``, tail last."""
        return self.world.capacity_pmf(self.cohort, max_count, self.memory)


@runtime_checkable
class RoundPolicy(Protocol):
    """Anything that allocates a round's coupons from a :class:`RoundView`.

    ``hindsight`` policies are shown the realised capacities (an oracle, not a policy).
    """

    hindsight: bool

    def allocate(self, view: RoundView, rng: np.random.Generator) -> IntArray:
        """Coupons per frontier member."""
        ...


@dataclass(frozen=True)
class CouponRule:
    """A :mod:`planning.simulation.policies` coupon rule as a round policy.

    ``make(limit, person_cap)`` builds the rule for the round; the rule is
    called with the frontier (only its length is read by the built-in rules).
    """

    make: Callable[[int, int], Callable[[Any, np.random.Generator], IntArray]]
    label: str = "rule"
    hindsight: ClassVar[bool] = False

    @classmethod
    def constant(cls, k: int) -> CouponRule:
        """Constant-k in frontier order while the round's coupons last (standard RDS: 3)."""
        return cls(
            lambda limit, cap: ConstantCoupons(min(int(k), cap), budget=limit), f"constant-{k}"
        )

    @classmethod
    def random(cls, cap: int | None = None) -> CouponRule:
        """The round's coupons one at a time to random people with room left (at most ``cap`` each)."""
        return cls(
            lambda limit, person: RandomAllocation(limit, min(cap or person, person)), "random"
        )

    def allocate(self, view: RoundView, rng: np.random.Generator) -> IntArray:
        """The rule's allocation of this round's limit."""
        return np.asarray(self.make(view.limit, view.person_cap)(view.cohort, rng), dtype=np.int64)


@dataclass(frozen=True)
class EpisodeResult:
    """What happened in one episode, round by round.

    Attributes
    ----------
    recruits : int array, shape (rounds,)
        ``N_t``.
    spend : int array, shape (rounds,)
        Coupons handed out in round ``t``.
    frontier : int array, shape (rounds,)
        Frontier size at the start of round ``t``.
    budget : int
    codes : int array, shape (recruit, field), or None
        With ``run_episode(..., record_codes=True)``: the coded categorical
        covariates of every recruit (the world's :class:`Coding`), in the
        order they came; ``None`` otherwise.
    code_round : int array, shape (recruit,), or None
        The round each row of ``codes`` came in.
    """

    recruits: IntArray
    spend: IntArray
    frontier: IntArray
    budget: int
    codes: IntArray | None = None
    code_round: IntArray | None = None

    @property
    def rounds(self) -> int:
        """Rounds played."""
        return int(self.recruits.size)

    @property
    def total(self) -> int:
        """Recruits over the episode."""
        return int(self.recruits.sum())

    @property
    def spent(self) -> int:
        """Coupons handed out."""
        return int(self.spend.sum())

    def discounted(self, gamma: float) -> float:
        """``sum_t gamma^t N_t``."""
        return float(np.sum(self.recruits * float(gamma) ** np.arange(self.rounds)))


def _check_allocation(allocation: Any, view: RoundView, policy: Any) -> IntArray:
    alloc = np.asarray(allocation)
    who = getattr(policy, "label", type(policy).__name__)
    if alloc.shape != (view.size,):
        raise ValueError(f"policy {who} returned shape {alloc.shape} for a frontier of {view.size}")
    if alloc.size and not np.issubdtype(alloc.dtype, np.integer):
        if not np.all(np.isfinite(alloc)) or np.any(alloc != np.round(alloc)):
            raise ValueError(f"policy {who} returned fractional coupons")
    alloc = alloc.astype(np.int64)
    if alloc.size and (alloc.min() < 0 or alloc.max() > view.person_cap):
        raise ValueError(
            f"policy {who} gave a person {alloc.min() if alloc.min() < 0 else alloc.max()} "
            f"coupons (allowed 0..{view.person_cap})"
        )
    if int(alloc.sum()) > view.limit:
        raise ValueError(
            f"policy {who} spent {int(alloc.sum())} coupons; this round allows {view.limit}"
        )
    return alloc


def _streams(seed: int | np.random.SeedSequence, count: int) -> list[np.random.SeedSequence]:
    """``count`` child sequences of ``seed``, derived without changing ``seed`` (unlike ``spawn``)."""
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(int(seed))
    return [
        np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, k), pool_size=seq.pool_size)
        for k in range(count)
    ]


def episode_start(
    arrays: ArrayWorld, settings: EpisodeSettings, seed: int | np.random.SeedSequence
) -> tuple[Cohort, Memory, NDArray[np.uint64], np.random.SeedSequence]:
    """How ``seed`` starts an episode: first frontier, memory, the frontier's keys, policy stream.

    The one derivation :func:`run_episode` and the hindsight bound
    (:mod:`planning.simulation.hindsight`) share, so both see the same first
    frontier and potential recruits (common random numbers).
    """
    frontier_seq, policy_seq, key_seq = _streams(seed, 3)
    key = np.uint64(key_seq.generate_state(1, np.uint64)[0])
    cohort, memory = arrays.start(
        settings.initial_frontier, np.random.default_rng(frontier_seq), key
    )
    return cohort, memory, root_keys(key, len(cohort)), policy_seq


def run_episode(
    world: World | ArrayWorld,
    policy: RoundPolicy,
    settings: EpisodeSettings,
    seed: int | np.random.SeedSequence,
    *,
    record_codes: bool = False,
) -> EpisodeResult:
    """Play one episode (module docstring).

    Parameters
    ----------
    world : World or ArrayWorld
        Compiled with :func:`planning.simulation.arrays.as_arrays` if needed
        (compile once and pass the array world when running many episodes).
    policy : RoundPolicy
    settings : EpisodeSettings
    seed : int or numpy.random.SeedSequence
        Same seed, same episode (and the same first frontier and potential
        recruits for every policy).
    record_codes : bool
        Keep the recruits' coded covariates (:attr:`EpisodeResult.codes`), for
        scoring recruits by who they are (priority subgroups). Changes no draw.

    Raises
    ------
    ValueError
        If the policy breaks the round's limit or the per-person cap.
    """
    arrays = as_arrays(world)
    cohort, memory, keys, policy_seq = episode_start(arrays, settings, seed)
    rng = np.random.default_rng(policy_seq)
    cap = settings.person_cap
    remaining = settings.budget
    recruits: list[int] = []
    spend: list[int] = []
    sizes: list[int] = []
    coded: list[IntArray] = []
    t = 0
    while (
        len(cohort) and remaining > 0 and (settings.max_rounds is None or t < settings.max_rounds)
    ):
        limit = (
            remaining if settings.max_per_round is None else min(remaining, settings.max_per_round)
        )
        realisation = arrays.realise(cohort, keys, cap, memory, t)
        view = RoundView(
            t,
            remaining,
            limit,
            cap,
            cohort,
            arrays.coding,
            arrays,
            memory,
            realisation.capacity if policy.hindsight else None,
            settings.budget,
        )
        allocation = _check_allocation(policy.allocate(view, rng), view, policy)
        came = arrays.recruit(cohort, keys, realisation, allocation, memory, t)
        recruits.append(len(came.parent))
        if record_codes:
            coded.append(came.cohort.codes)
        spend.append(int(allocation.sum()))
        sizes.append(len(cohort))
        remaining -= spend[-1]
        cohort, keys = came.cohort, came.keys
        t += 1
    as_int = lambda values: np.asarray(values, dtype=np.int64)  # noqa: E731
    codes = code_round = None
    if record_codes:
        width = len(arrays.coding.categorical)
        codes = np.concatenate([np.empty((0, width), dtype=np.int64), *coded]).astype(np.int64)
        code_round = np.repeat(np.arange(len(coded), dtype=np.int64), [len(c) for c in coded])
    return EpisodeResult(
        as_int(recruits), as_int(spend), as_int(sizes), settings.budget, codes, code_round
    )


@dataclass(frozen=True)
class EpisodeTable:
    """Many episodes of one policy, padded to the longest (zeros after an episode ended).

    Attributes
    ----------
    recruits, spend, frontier : int arrays, shape (episode, round)
    """

    recruits: IntArray
    spend: IntArray
    frontier: IntArray
    budget: int
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_results(
        cls, results: Sequence[EpisodeResult], budget: int, rounds: int | None = None
    ) -> EpisodeTable:
        """Stack episode results (``rounds``: pad to at least this many rounds)."""
        width = max([r.rounds for r in results] + [rounds or 0, 1])
        out = {
            name: np.zeros((len(results), width), dtype=np.int64)
            for name in ("recruits", "spend", "frontier")
        }
        for e, r in enumerate(results):
            out["recruits"][e, : r.rounds] = r.recruits
            out["spend"][e, : r.rounds] = r.spend
            out["frontier"][e, : r.rounds] = r.frontier
        return cls(budget=budget, **out)

    @property
    def total(self) -> IntArray:
        """``(episode,)`` recruits."""
        return self.recruits.sum(axis=1)

    @property
    def spent(self) -> IntArray:
        """``(episode,)`` coupons handed out."""
        return self.spend.sum(axis=1)

    def discounted(self, gamma: float) -> NDArray[np.float64]:
        """``(episode,)`` discounted recruits."""
        return self.recruits @ (float(gamma) ** np.arange(self.recruits.shape[1]))


def episode_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent episode seeds from one seed (``SeedSequence(seed).spawn(n)``).

    Episode ``e``'s seed depends only on ``seed`` and ``e``.
    """
    return np.random.SeedSequence(int(seed)).spawn(int(n))


def run_episodes(
    world: World | ArrayWorld,
    policy: RoundPolicy,
    settings: EpisodeSettings,
    seeds: Sequence[int | np.random.SeedSequence],
) -> EpisodeTable:
    """Play one episode per seed with the same policy."""
    arrays = as_arrays(world)
    results = [run_episode(arrays, policy, settings, s) for s in seeds]
    return EpisodeTable.from_results(results, settings.budget)


def with_settings(settings: EpisodeSettings, **changes: Any) -> EpisodeSettings:
    """A copy of ``settings`` with ``changes``."""
    return replace(settings, **changes)
