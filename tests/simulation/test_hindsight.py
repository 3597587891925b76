"""The hindsight upper bound: above every policy on the same random numbers, exact without a cap."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from planning import make_planner
from planning.simulation import make_world
from planning.simulation.arrays import as_arrays
from planning.simulation.hindsight import (
    HindsightBound,
    hindsight_bound,
    hindsight_bound_from,
    hindsight_rounds,
    trivial_bound,
)
from planning.simulation.keyed import root_keys
from planning.simulation.planned import PlannerPolicy, TrueLaws
from planning.simulation.rounds import CouponRule, EpisodeSettings, _streams, run_episode

GAMMAS = (0.3, 0.5, 0.7, 0.9, 1.0)


@functools.cache
def arrays(name: str):
    return as_arrays(
        make_world(name, rng=3, respondents=300) if name == "network" else make_world(name)
    )


def policies(world, settings: EpisodeSettings, *, planners: bool = True) -> dict[str, object]:
    """Real policies (and the old per-round oracle), each set up for ``settings``."""
    out: dict[str, object] = {
        "random": CouponRule.random(),
        "constant-1": CouponRule.constant(1),
        "constant-2": CouponRule.constant(2),
        "constant-3": CouponRule.constant(3),
    }
    if not planners:
        return out
    people, _ = world.start(40, np.random.default_rng(5), np.uint64(9))
    model = TrueLaws.of(world, people, settings.budget)
    for label, planner, hindsight in (
        ("greedy", make_planner("greedy"), False),
        ("dp", make_planner("dp", gamma=0.8, tables="pooled", samples=1), False),
        ("gfp", make_planner("gfp", gamma=0.8), False),
        ("oracle", make_planner("oracle"), True),
    ):
        out[label] = PlannerPolicy(planner, model, label, hindsight).for_settings(settings)
    return out


def check_dominates(bound: HindsightBound, result, settings: EpisodeSettings, who: str) -> None:
    for g, value in zip(bound.gammas, bound.discounted, strict=True):
        assert result.discounted(g) <= value + 1e-9, (who, g, result.recruits, bound.recruits)
    assert result.total <= bound.total <= settings.budget, (who, result.recruits, bound.recruits)


@pytest.mark.parametrize("name", ["tunnel", "homogeneous", "calibrated"])
@pytest.mark.parametrize(
    ("budget", "cap", "rounds"), [(30, None, None), (30, 3, None), (40, 5, 4), (25, 2, None)]
)
def test_bound_is_above_every_policy_in_branching_worlds(name, budget, cap, rounds):
    world = arrays(name)
    settings = EpisodeSettings(budget, cap, None, rounds, 4)
    rules = policies(world, settings)
    trivial = trivial_bound(settings, GAMMAS)
    for seed in range(4):
        bound = hindsight_bound(world, settings, seed, GAMMAS)
        assert bound.kind == "branching" and bound.capped == (cap is not None)
        assert np.all(bound.discounted <= trivial + 1e-9)
        assert bound.recruits.size == 0 or bound.recruits.min() >= 1
        if cap is not None:
            assert bound.recruits.max(initial=0) <= cap
        if rounds is not None:
            assert bound.rounds <= rounds
        for label, policy in rules.items():
            result = run_episode(world, policy, settings, seed)
            check_dominates(bound, result, settings, label)


@pytest.mark.parametrize(("cap", "rounds"), [(None, None), (4, None), (3, 3)])
def test_bound_is_above_every_policy_in_a_network(cap, rounds):
    world = arrays("network")
    settings = EpisodeSettings(40, cap, None, rounds, 5)
    rules = policies(world, settings, planners=False)
    people, _ = world.start(40, np.random.default_rng(5), np.uint64(9))
    model = TrueLaws.of(world, people, settings.budget)
    rules["greedy"] = PlannerPolicy(make_planner("greedy"), model).for_settings(settings)
    rules["oracle"] = PlannerPolicy(make_planner("oracle"), model, "oracle", True).for_settings(
        settings
    )
    trivial = trivial_bound(settings, GAMMAS)
    for seed in range(4):
        bound = hindsight_bound(world, settings, seed, GAMMAS)
        assert bound.kind == "network"
        assert np.all(bound.discounted <= trivial + 1e-9)
        for label, policy in rules.items():
            check_dominates(bound, run_episode(world, policy, settings, seed), settings, label)


# --------------------------------------------------------------------------- brute force on tiny trees
def realised_tree(world, settings: EpisodeSettings, seed: int, depth: int):
    """The potential tree of an episode to ``depth`` (test's own construction): depth and parent."""
    frontier_seq, _, key_seq = _streams(seed, 3)
    key = np.uint64(key_seq.generate_state(1, np.uint64)[0])
    cohort, memory = world.start(
        settings.initial_frontier, np.random.default_rng(frontier_seq), key
    )
    keys = root_keys(key, len(cohort))
    depths, parents = [], []
    index = np.full(len(cohort), -1)  # seeds are not nodes of the choice
    for t in range(depth):
        realised = world.realise(cohort, keys, settings.person_cap, memory, t)
        came = world.recruit(cohort, keys, realised, realised.capacity, memory, t)
        start = len(depths)
        depths.extend([t + 1] * len(came.parent))
        parents.extend(index[came.parent].tolist())
        index = np.arange(start, start + len(came.parent))
        cohort, keys = came.cohort, came.keys
    return np.asarray(depths, dtype=np.int64), np.asarray(parents, dtype=np.int64)


def brute_force(depths, parents, budget: int, cap: int | None, gammas) -> tuple[np.ndarray, int]:
    """Best discounted value per gamma and most nodes over ancestor-closed sets (every subset)."""
    n = depths.size
    masks = ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)
    ok = masks.sum(axis=1) <= budget
    has = parents >= 0
    ok &= ~np.any(masks[:, has] & ~masks[:, parents[has]], axis=1)  # ancestor-closed
    if cap is not None:
        for d in np.unique(depths):
            ok &= masks[:, depths == d].sum(axis=1) <= cap
    chosen = masks[ok]
    values = [float((chosen * np.asarray(g) ** (depths - 1)).sum(axis=1).max()) for g in gammas]
    return np.asarray(values), int(chosen.sum(axis=1).max())


def tiny_instances(cap: int | None):
    """Episodes whose tree to depth 3 has 1..15 nodes (2 seeds, at most 2 coupons a person)."""
    world = arrays("homogeneous")
    found = 0
    for seed in range(200):
        for budget in (2, 4, 7, 30):
            settings = EpisodeSettings(budget, cap, 2, 3, 2)
            depths, parents = realised_tree(world, settings, seed, 3)
            if 1 <= depths.size <= 15:
                found += 1
                yield world, settings, seed, depths, parents
        if found >= 40:
            return


def test_without_a_cap_the_bound_is_the_hindsight_optimum():
    count = 0
    for world, settings, seed, depths, parents in tiny_instances(None):
        bound = hindsight_bound(world, settings, seed, GAMMAS)
        best, most = brute_force(depths, parents, settings.budget, None, GAMMAS)
        np.testing.assert_allclose(bound.discounted, best, rtol=0, atol=1e-9)
        assert bound.total == most
        count += 1
    assert count >= 20


def test_with_a_cap_the_bound_is_at_least_the_hindsight_optimum():
    count = 0
    looser = 0
    for cap in (1, 2, 3):
        for world, settings, seed, depths, parents in tiny_instances(cap):
            bound = hindsight_bound(world, settings, seed, GAMMAS)
            best, most = brute_force(depths, parents, settings.budget, cap, GAMMAS)
            assert np.all(bound.discounted >= best - 1e-9)
            assert bound.total >= most
            looser += bool(np.any(bound.discounted > best + 1e-9))
            count += 1
    assert count >= 60
    assert looser < count  # often exact on tiny trees, not always


# --------------------------------------------------------------------------- plumbing
def test_the_bound_matches_the_trivial_bound_where_nothing_else_binds_and_its_parts_agree():
    world = arrays("tunnel")
    settings = EpisodeSettings.for_world(world)
    bound = hindsight_bound(world, settings, 1, GAMMAS)
    assert bound.total == bound.spent == int(bound.spend.sum())
    for g, value in zip(GAMMAS, bound.discounted, strict=True):
        assert bound.discounted_at(g) == pytest.approx(value)
    assert bound.discounted[-1] == bound.total
    # With a tree too large to build it falls back to cap children a person, still a bound.
    small = hindsight_bound(world, settings, 1, GAMMAS, max_nodes=5)
    assert small.exact_rounds < bound.exact_rounds
    assert np.all(small.discounted >= bound.discounted - 1e-9)
    assert np.all(small.discounted <= trivial_bound(settings, GAMMAS) + 1e-9)


def test_hindsight_rounds_stack_the_bounds_as_episodes_record_them():
    world = arrays("calibrated")
    settings = EpisodeSettings(60, 6, None, None, 5)
    seeds = np.random.SeedSequence(4).spawn(5)
    recruits, spend = hindsight_rounds(world, settings, seeds)
    assert recruits.shape[0] == 5 and np.array_equal(recruits, spend)
    for e, seed in enumerate(seeds):
        bound = hindsight_bound(world, settings, seed, (0.9,))
        np.testing.assert_array_equal(recruits[e, : bound.rounds], bound.recruits)
        assert np.all(recruits[e, bound.rounds :] == 0)


def test_from_the_first_frontier_equals_from_the_seed_and_leaves_the_memory_alone():
    world = arrays("network")
    settings = EpisodeSettings(50, 5, None, None, 6)
    frontier_seq, _, key_seq = _streams(7, 3)
    key = np.uint64(key_seq.generate_state(1, np.uint64)[0])
    cohort, memory = world.start(6, np.random.default_rng(frontier_seq), key)
    before = memory.recruited.copy()
    direct = hindsight_bound_from(world, cohort, memory, settings, (0.5, 1.0))
    np.testing.assert_array_equal(memory.recruited, before)
    np.testing.assert_array_equal(direct.recruits, hindsight_bound(world, settings, 7).recruits)
    with pytest.raises(ValueError, match="gammas"):
        hindsight_bound(world, settings, 7, (0.0,))


@pytest.mark.parametrize("name", ["homogeneous", "tunnel", "network"])
def test_the_bound_sees_the_episode_a_policy_plays(name):
    """Same seed, same first frontier and capacities: giving everyone the cap recruits ``n_0``."""
    world = arrays(name)
    settings = EpisodeSettings(400, None, 4, 1, 5)
    totals = []
    for seed in range(5):
        bound = hindsight_bound(world, settings, seed)
        result = run_episode(world, CouponRule.constant(4), settings, seed)
        if name == "network":  # neighbours shared by two seeds come once
            assert result.total <= bound.total
        else:
            assert result.total == bound.total
        totals.append(bound.total)
    assert len(set(totals)) > 1  # the episodes differ
