r"""A hindsight upper bound on an episode's recruits, under the episode's own random numbers.

The evaluation's ``oracle`` policy (:class:`planning.baselines.HindsightOraclePlanner`)
is a round-by-round greedy that is shown *this* round's realised capacities:
it is not an upper bound over several rounds (GFP beats it in the tunnel
world). This module bounds what *any* policy, clairvoyant or not, can reach
in one episode: a sequence ``n_0, n_1, ...`` (recruits per round) such that
every policy's recruits ``N_t`` satisfy, for every ``gamma`` in ``(0, 1]``,

.. math:: \sum_t \gamma^t N_t \le \sum_t \gamma^t n_t
          \quad\text{and}\quad \sum_t N_t \le \sum_t n_t \le B.

One sequence serves every ``gamma``: it dominates every policy's *prefix
sums* ``N_0 + ... + N_t``, and with non-increasing weights ``gamma^t``
(Abel summation) dominating prefix sums is dominating discounted sums.

Episode semantics used (:mod:`planning.simulation.rounds`)
----------------------------------------------------------
In round ``t`` the frontier ``K_t`` (the seeds for ``t = 0``, else round
``t - 1``'s recruits; everybody else has left) is given ``k_i <= cap``
coupons, ``sum_i k_i <= min(m, left)`` (``m = max_per_round``), and person
``i`` brings ``min(C_i, k_i)`` recruits; coupons are spent whether used or
not. So for every policy, clairvoyant or not, including policies that give
coupons to people who then recruit fewer:

(a) ``N_t <= spend_t <= min(m, left_t)`` and ``sum_t N_t <= sum_t spend_t <= B``;
(b) ``N_t <= sum_{i in K_t} min(C_i, cap)`` (a person recruits at most their
    realised capacity, and at most the coupons they may get);
(c) rounds ``t < max_rounds`` only, and a round with no recruits ends the episode.

Branching worlds: the realised tree
-----------------------------------
With keyed randomness (:mod:`planning.simulation.keyed`) the ``j``-th recruit
of the person with key ``K`` always has the same key, covariates and
capacity, whoever recruits them and whenever. The *potential tree* (seeds at
depth 0, person ``v`` with ``c_v = min(C_v, cap)`` children) is therefore
fixed by the episode's key, and a policy's recruits of round ``t`` are a set
``K_{t+1}`` of depth-``t+1`` nodes whose parents are in ``K_t`` (each
parent's first ``min(c_v, k_v)`` children). Let ``L_t`` be all depth-``t``
nodes and ``top_x(L_t)`` the sum of the ``x`` largest ``c_v`` over ``L_t``.
Since ``K_t`` is a subset of ``L_t`` with ``N_{t-1} = |K_t|`` people
(``N_{-1}`` = the seeds),

.. math:: N_t \le \sum_{v \in K_t} c_v \le g_t(N_{t-1}) := \min\big(m,\ \mathrm{top}_{N_{t-1}}(L_t)\big),

``g_t`` non-decreasing. The bound plays the greedy
``n_t = min(g_t(n_{t-1}), B - n_0 - ... - n_{t-1})``. It dominates every
feasible ``(N_t)``'s prefix sums: until the greedy exhausts ``B``,
``N_t <= g_t(N_{t-1}) <= g_t(n_{t-1}) = n_t`` by induction (``g_t``
non-decreasing); after, its prefix sum is ``B``, which nobody exceeds.

*Without a per-round cap* (``m = inf``) the greedy keeps every node of a
depth while the budget lasts (``top_{|L_t|}(L_t) = |L_{t+1}|``): it is the
``B`` shallowest nodes of the tree, which is the exact hindsight optimum over
all ancestor-closed node sets of at most ``B`` nodes (such a set has at most
``min(B, |L_1| + ... + |L_t|)`` nodes down to depth ``t``, and this set
reaches that for every ``t`` at once). *With a cap* it is a relaxation:
``top_x`` may count children of nodes that no cap-respecting choice keeps
together, so the bound can exceed what any policy reaches.

The tree is built level by level with the world's own ``realise`` and
``recruit`` (all of a level's children at once, vectorised over people).
Supercritical worlds grow geometrically, so once a level would exceed
``max_nodes`` people the bound stops building it and uses
``g_t(x) = min(m, cap x)`` for the remaining rounds (valid by (b): nobody
has more than ``cap`` children); ``HindsightBound.exact_rounds`` says how
many rounds used the tree.

Network worlds: a looser bound
------------------------------
In a network a recruit is a not-yet-recruited neighbour who is willing *in
that round* (keyed by the two nodes and the round), so the potential
recruits depend on the order of recruitment and there is no fixed tree. The
bound uses only what holds for every order:

* round 0: ``N_0 <= min(sum_i min(C_i, cap), distinct willing neighbours)``
  with the seeds' realised round-0 capacities;
* round ``t >= 1``: the frontier is round ``t - 1``'s recruits, distinct
  non-seed nodes within graph distance ``t`` of the seeds, each with at most
  ``min(cap, degree - 1)`` free neighbours (their recruiter is taken), so
  ``N_t <= U_t := min(m, top_{U_{t-1}}(min(cap, deg - 1) over D_t))``,
  ``D_t`` the non-seed nodes within distance ``t``;
* recruits are distinct nodes: ``N_0 + ... + N_t <= |D_{t+1}|``.

``U_t`` is computed from ``U_{t-1}`` (an a-priori bound, not the greedy's
``n_{t-1}``), and the greedy ``n_t = min(U_t, |D_{t+1}| - P_{t-1}, B - P_{t-1})``
(``P`` the prefix sums) then maximises every prefix sum
(``P_t = min(P_{t-1} + U_t, |D_{t+1}|, B)``). This ignores who is willing
after round 0 and that neighbours are shared, so it is much looser than the
branching bound: expect it to say "the budget could be spent" whenever the
graph is not tiny.

Examples
--------
>>> from planning.simulation import make_world
>>> from planning.simulation.rounds import EpisodeSettings
>>> world = make_world("tunnel")
>>> settings = EpisodeSettings.for_world(world)
>>> bound = hindsight_bound(world, settings, seed=1, gammas=(0.9, 1.0))
>>> bool(bound.total <= settings.budget and bound.discounted[1] == bound.total)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from planning.simulation.arrays import (
    ArrayWorld,
    BranchingArrays,
    Memory,
    NetworkArrays,
    as_arrays,
)
from planning.simulation.coded import Cohort
from planning.simulation.keyed import root_keys
from planning.simulation.rounds import EpisodeSettings, episode_start
from planning.simulation.study import World

__all__ = [
    "DEFAULT_MAX_NODES",
    "HindsightBound",
    "hindsight_bound",
    "hindsight_bound_from",
    "hindsight_rounds",
    "trivial_bound",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

#: Most people of one tree level the branching bound builds (then it bounds by ``cap``).
DEFAULT_MAX_NODES = 200_000


@dataclass(frozen=True)
class HindsightBound:
    """An upper bound on one episode's recruits (module docstring).

    Attributes
    ----------
    recruits : int array, shape (rounds,)
        ``n_t``: the bound's recruits per round (the same for every gamma).
    gammas : tuple of float
    discounted : float array, shape (gammas,)
        ``sum_t gamma^t n_t``: at least the discounted recruits of every policy.
    budget : int
    kind : {"branching", "network"}
        Which bound (branching worlds: the realised tree; networks: the looser one).
    exact_rounds : int
        Rounds whose bound used the realised tree level in full (branching
        worlds; the rest used ``cap`` children per person). Networks: 1 (round 0).
    capped : bool
        Whether a per-round cap applied (without one the branching bound is the
        exact hindsight optimum, not only a bound).
    """

    recruits: IntArray
    gammas: tuple[float, ...]
    discounted: FloatArray
    budget: int
    kind: str
    exact_rounds: int
    capped: bool

    @property
    def total(self) -> int:
        """``sum_t n_t``: at least every policy's total recruits."""
        return int(self.recruits.sum())

    @property
    def spent(self) -> int:
        """Coupons the bound "spends": one per recruit (at most the budget)."""
        return self.total

    @property
    def spend(self) -> IntArray:
        """``(rounds,)`` coupons per round (= recruits), as an episode records them."""
        return self.recruits.copy()

    @property
    def rounds(self) -> int:
        """Rounds with recruits."""
        return int(self.recruits.size)

    def discounted_at(self, gamma: float) -> float:
        """``sum_t gamma^t n_t`` for any ``gamma`` in ``(0, 1]``."""
        return float(np.sum(self.recruits * float(gamma) ** np.arange(self.rounds)))


def _check_gammas(gammas: Sequence[float] | float) -> tuple[float, ...]:
    values = tuple(float(g) for g in np.atleast_1d(np.asarray(gammas, dtype=np.float64)))
    if not values or any(not 0.0 < g <= 1.0 for g in values):
        raise ValueError(f"gammas must be in (0, 1]; got {values}")
    return values


def _top_sum(values: IntArray, count: int) -> int:
    """Sum of the ``count`` largest entries (all of them if ``count >= len``)."""
    if count <= 0 or values.size == 0:
        return 0
    if count >= values.size:
        return int(values.sum())
    return int(np.partition(values, values.size - count)[values.size - count :].sum())


def _limits(settings: EpisodeSettings) -> tuple[int, float, float]:
    """Budget, per-round cap (``inf``: none) and round limit (``inf``: none)."""
    m = np.inf if settings.max_per_round is None else float(settings.max_per_round)
    rounds = np.inf if settings.max_rounds is None else float(settings.max_rounds)
    return int(settings.budget), m, rounds


def _finish(
    recruits: list[int],
    gammas: tuple[float, ...],
    settings: EpisodeSettings,
    kind: str,
    exact: int,
) -> HindsightBound:
    n = np.asarray(recruits, dtype=np.int64)
    discount = np.asarray(gammas)[:, None] ** np.arange(n.size)[None, :]
    return HindsightBound(
        n,
        gammas,
        discount @ n.astype(np.float64),
        int(settings.budget),
        kind,
        exact,
        settings.max_per_round is not None,
    )


def _branching(
    arrays: ArrayWorld,
    cohort: Cohort,
    keys: NDArray[np.uint64],
    memory: Memory,
    settings: EpisodeSettings,
    max_nodes: int,
) -> tuple[list[int], int]:
    """``n_t`` of the realised-tree bound and the rounds that used the tree."""
    budget, m, max_rounds = _limits(settings)
    cap = settings.person_cap
    left = budget
    kept = len(cohort)  # n_{t-1}: the whole first frontier is there
    realised = arrays.realise(cohort, keys, cap, memory, 0) if len(cohort) else None
    out: list[int] = []
    exact = 0
    t = 0
    while left > 0 and t < max_rounds and kept > 0:
        if realised is not None:
            reach = _top_sum(realised.capacity, kept)  # top_{n_{t-1}}(L_t)
            exact += 1
        else:
            reach = cap * kept  # nobody has more than cap children
        n = int(min(m, left, reach))
        if n <= 0:
            break
        out.append(n)
        left -= n
        if realised is not None and int(realised.capacity.sum()) <= max_nodes:
            # The next level L_{t+1}: every node's c_v children (allocation = capacity).
            came = arrays.recruit(cohort, keys, realised, realised.capacity, memory, t)
            cohort, keys = came.cohort, came.keys
            realised = arrays.realise(cohort, keys, cap, memory, t + 1)
        else:
            realised = None
        kept = n
        t += 1
    return out, exact


def _network(
    arrays: NetworkArrays,
    cohort: Cohort,
    keys: NDArray[np.uint64],
    memory: Memory,
    settings: EpisodeSettings,
) -> list[int]:
    """``n_t`` of the looser network bound."""
    budget, m, max_rounds = _limits(settings)
    cap = settings.person_cap
    if len(cohort) == 0 or budget == 0 or max_rounds < 1:
        return []
    adjacency = arrays.adjacency
    degree = arrays.degree
    # Free neighbours of a recruit: at most degree - 1 (the recruiter is taken), at most cap.
    room = np.minimum(np.maximum(degree - 1, 0), cap)
    realised = arrays.realise(cohort, keys, cap, memory, 0)
    _, nbr, _ = realised.detail
    first = min(int(realised.capacity.sum()), int(np.unique(nbr).size))
    # Graph distance from the seeds, one ring per round.
    n_nodes = adjacency.shape[0]
    is_seed = np.zeros(n_nodes, dtype=bool)
    is_seed[cohort.node] = True
    seen = is_seed.copy()  # nodes within distance t
    ring = is_seed.copy()
    within = 0  # |D_{t+1}|: non-seed nodes within distance t + 1
    recruits: list[int] = []
    prefix = 0
    bound = 0  # U_t
    t = 0
    while prefix < budget and t < max_rounds:
        if t == 0:
            bound = int(min(m, first))
        else:  # the frontier: at most U_{t-1} non-seed nodes within distance t
            bound = int(min(m, _top_sum(room[seen & ~is_seed], bound)))
        ring = ((adjacency @ ring.astype(np.int32)) > 0) & ~seen
        seen |= ring
        within += int(ring.sum())
        n = int(min(bound, within - prefix, budget - prefix))
        if n <= 0:
            break
        recruits.append(n)
        prefix += n
        t += 1
    return recruits


def hindsight_bound_from(
    world: World | ArrayWorld,
    cohort: Cohort,
    memory: Memory,
    settings: EpisodeSettings,
    gammas: Sequence[float] | float = (1.0,),
    *,
    keys: NDArray[np.uint64] | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> HindsightBound:
    """The hindsight bound of an episode from its first frontier and memory.

    Parameters
    ----------
    world : World or ArrayWorld
    cohort : Cohort
        The first frontier (``arrays.start(...)[0]``).
    memory : Memory
        The episode's memory (its key; in networks who is recruited). Not changed.
    settings : EpisodeSettings
        Budget, ``max_per_round``, ``max_rounds`` and the per-person cap.
    gammas : float or sequence of float
        Discounts in ``(0, 1]`` for :attr:`HindsightBound.discounted`.
    keys : uint64 array, optional
        The first frontier's keys (default ``root_keys(memory.key, len(cohort))``,
        as :func:`planning.simulation.rounds.run_episode` makes them).
    max_nodes : int
        Largest tree level built in branching worlds (module docstring).

    Returns
    -------
    HindsightBound
    """
    arrays = as_arrays(world)
    values = _check_gammas(gammas)
    if keys is None:
        keys = root_keys(memory.key, len(cohort))
    if isinstance(arrays, NetworkArrays):
        copy = replace(
            memory, recruited=None if memory.recruited is None else memory.recruited.copy()
        )
        return _finish(
            _network(arrays, cohort, keys, copy, settings), values, settings, "network", 1
        )
    if not isinstance(arrays, BranchingArrays):
        raise TypeError(f"no hindsight bound for {type(arrays).__name__}")
    recruits, exact = _branching(arrays, cohort, keys, memory, settings, int(max_nodes))
    return _finish(recruits, values, settings, "branching", exact)


def hindsight_bound(
    world: World | ArrayWorld,
    settings: EpisodeSettings,
    seed: int | np.random.SeedSequence,
    gammas: Sequence[float] | float = (1.0,),
    *,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> HindsightBound:
    """The hindsight bound of the episode :func:`~planning.simulation.rounds.run_episode` plays with ``seed``.

    The first frontier and the world's key come from ``seed`` exactly as in
    ``run_episode``, so the bound holds for every policy played with the same
    seed (common random numbers).

    Parameters
    ----------
    world : World or ArrayWorld
    settings : EpisodeSettings
    seed : int or numpy.random.SeedSequence
    gammas : float or sequence of float
    max_nodes : int
        Largest tree level built in branching worlds.

    Returns
    -------
    HindsightBound
    """
    arrays = as_arrays(world)
    cohort, memory, keys, _ = episode_start(arrays, settings, seed)
    return hindsight_bound_from(
        arrays, cohort, memory, settings, gammas, keys=keys, max_nodes=max_nodes
    )


def hindsight_rounds(
    world: World | ArrayWorld,
    settings: EpisodeSettings,
    seeds: Sequence[int | np.random.SeedSequence],
    *,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> tuple[IntArray, IntArray]:
    """The bound's recruits and spend per round for many episodes, as played episodes record them.

    Returns
    -------
    recruits, spend : int arrays, shape (episode, rounds)
        Zero-padded to the longest; ``spend == recruits`` (one coupon per
        recruit). Discounting them with any ``gamma`` gives the bound at that
        ``gamma``, so they can stand in a results table as the ``oracle`` row.
    """
    arrays = as_arrays(world)
    bounds = [hindsight_bound(arrays, settings, s, max_nodes=max_nodes) for s in seeds]
    width = max([b.rounds for b in bounds] + [1])
    out = np.zeros((len(bounds), width), dtype=np.int64)
    for e, b in enumerate(bounds):
        out[e, : b.rounds] = b.recruits
    return out, out.copy()


def trivial_bound(
    settings: EpisodeSettings, gammas: Sequence[float] | float = (1.0,)
) -> FloatArray:
    """The budget-only bound: ``min(m, left)`` recruits a round (``m`` the cap), per gamma.

    Returns
    -------
    numpy.ndarray
        ``(gammas,)``; at ``gamma = 1`` it is ``min(B, m * max_rounds)``.
    """
    budget, m, max_rounds = _limits(settings)
    values = _check_gammas(gammas)
    n: list[int] = []
    left = budget
    while left > 0 and len(n) < max_rounds:
        n.append(int(min(m, left)))
        left -= n[-1]
    arr = np.asarray(n, dtype=np.float64)
    return np.asarray([float(arr @ (g ** np.arange(arr.size))) for g in values])
