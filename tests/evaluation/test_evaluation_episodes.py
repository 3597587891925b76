"""Fast episodes: budget and caps respected, recruits never exceed coupons, discounting, seeds."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from planning import make_planner
from planning.simulation import (
    CouponRule,
    EpisodeSettings,
    PlannerPolicy,
    TrueLaws,
    as_arrays,
    make_world,
    run_episode,
    run_episodes,
)
from planning.simulation.rounds import episode_seeds


@cache
def world(scenario: str):
    return as_arrays(make_world(scenario, 7, 300))


@cache
def true_laws(scenario: str, budget: int):
    arrays = world(scenario)
    people, _ = arrays.start(200, np.random.default_rng(0), np.uint64(0))
    return TrueLaws.of(arrays, people, budget)


def policies(scenario: str, settings: EpisodeSettings):
    model = true_laws(scenario, settings.budget)
    planned = [
        PlannerPolicy(make_planner("greedy"), model),
        PlannerPolicy(make_planner("dp", gamma=0.8, tables="pooled"), model),
        PlannerPolicy(make_planner("oracle"), model, hindsight=True),
        PlannerPolicy(make_planner("constant", k=3), model),
    ]
    return [
        CouponRule.constant(3),
        CouponRule.random(),
        *[p.for_settings(settings) for p in planned],
    ]


class Spender:
    """Spends the whole round limit on the first person (capped), or breaks a rule on purpose."""

    hindsight = False

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.first_frontiers: list[np.ndarray] = []

    def allocate(self, view, rng):
        if view.round == 0:
            self.first_frontiers.append(view.cohort.codes.copy())
        out = np.zeros(view.size, dtype=np.int64)
        if self.mode == "overspend":
            out[:] = view.person_cap
        elif self.mode == "person":
            out[0] = view.person_cap + 1
        else:
            left = view.limit
            for i in range(view.size):
                out[i] = min(view.person_cap, left)
                left -= out[i]
        return out


@pytest.mark.parametrize("scenario", ["homogeneous", "calibrated", "tunnel", "network"])
def test_budget_round_cap_and_recruits(scenario):
    settings = EpisodeSettings(budget=40, max_per_round=7, max_per_person=3, initial_frontier=6)
    for policy in [*policies(scenario, settings), Spender()]:
        table = run_episodes(world(scenario), policy, settings, episode_seeds(3, 4))
        assert np.all(table.spend <= 7)
        assert np.all(table.spent <= 40)
        assert np.all(table.recruits <= table.spend)
        assert np.all(table.total <= table.spent)
        # the frontier of round t + 1 is the recruits of round t
        assert np.all(
            table.frontier[:, 1:][table.spend[:, 1:] > 0]
            <= table.recruits[:, :-1][table.spend[:, 1:] > 0]
        )


def test_discounting_and_the_first_round_undiscounted():
    settings = EpisodeSettings.for_world(world("tunnel"))
    result = run_episode(world("tunnel"), CouponRule.random(), settings, seed=5)
    gamma = 0.7
    assert result.discounted(gamma) == pytest.approx(
        sum(n * gamma**t for t, n in enumerate(result.recruits))
    )
    assert result.discounted(1.0) == result.total
    assert result.discounted(0.5) <= result.discounted(0.9) <= result.total
    table = run_episodes(world("tunnel"), CouponRule.random(), settings, [5])
    assert table.discounted(gamma)[0] == pytest.approx(result.discounted(gamma))


def test_the_episode_ends_when_the_budget_the_frontier_or_the_rounds_run_out():
    settings = EpisodeSettings(budget=30, max_per_round=10, initial_frontier=10)
    result = run_episode(world("homogeneous"), Spender(), settings, seed=2)
    assert result.spent <= 30 and (
        result.spent == 30 or result.recruits[-1] == 0 or result.rounds == 0
    )
    short = run_episode(
        world("homogeneous"), Spender(), EpisodeSettings(30, 10, max_rounds=2), seed=2
    )
    assert short.rounds <= 2
    nothing = run_episode(world("homogeneous"), CouponRule.constant(0), settings, seed=2)
    assert nothing.rounds == 1 and nothing.total == 0 and nothing.spent == 0


@pytest.mark.parametrize(
    "mode, message", [("overspend", "this round allows"), ("person", "allowed 0..")]
)
def test_a_policy_that_breaks_the_limits_is_refused(mode, message):
    settings = EpisodeSettings(budget=50, max_per_round=5, max_per_person=2, initial_frontier=5)
    with pytest.raises(ValueError, match=message):
        run_episode(world("tunnel"), Spender(mode), settings, seed=1)


def test_same_seed_same_episode_and_common_random_numbers():
    settings = EpisodeSettings.for_world(world("tunnel"))
    seeds = episode_seeds(11, 6)
    a = run_episodes(world("tunnel"), CouponRule.random(), settings, seeds)
    b = run_episodes(world("tunnel"), CouponRule.random(), settings, episode_seeds(11, 6))
    np.testing.assert_array_equal(a.recruits, b.recruits)
    model = true_laws("tunnel", settings.budget)
    one = run_episodes(
        world("tunnel"), PlannerPolicy(make_planner("greedy"), model), settings, seeds
    )
    two = run_episodes(
        world("tunnel"), PlannerPolicy(make_planner("greedy"), model), settings, seeds
    )
    np.testing.assert_array_equal(one.recruits, two.recruits)
    np.testing.assert_array_equal(one.spend, two.spend)
    # every policy meets the same first frontier
    spy_a, spy_b = Spender(), Spender()
    run_episodes(world("tunnel"), spy_a, settings, seeds)
    run_episodes(world("tunnel"), spy_b, settings, seeds)
    for x, y in zip(spy_a.first_frontiers, spy_b.first_frontiers, strict=True):
        np.testing.assert_array_equal(x, y)
    local = world("tunnel").coding.field_index("LOCAL")
    assert (
        sorted(spy_a.first_frontiers[0][:, local].tolist()) == [0] * 5 + [1] * 5
    )  # half A, half B


def test_the_same_person_brings_the_same_recruits_under_any_policy():
    """Keyed draws: a policy that gives more coupons to person 0 sees a superset of recruits."""
    arrays = world("calibrated")
    settings = EpisodeSettings(
        budget=10, max_per_round=10, max_per_person=10, initial_frontier=3, max_rounds=1
    )

    class Give:
        hindsight = False

        def __init__(self, k):
            self.k = k

        def allocate(self, view, rng):
            out = np.zeros(view.size, dtype=np.int64)
            out[0] = self.k
            return out

    got = [run_episode(arrays, Give(k), settings, seed=4).total for k in range(0, 11)]
    assert got == sorted(got) and got[0] == 0


def test_planner_without_a_round_cap_is_trimmed_to_the_limit():
    settings = EpisodeSettings(budget=60, max_per_round=4, initial_frontier=10)
    model = true_laws("homogeneous", settings.budget)
    policy = PlannerPolicy(make_planner("dp", gamma=1.0, tables="pooled"), model, record=True)
    table = run_episodes(world("homogeneous"), policy, settings, episode_seeds(1, 3))
    assert np.all(table.spend <= 4)
    assert policy.decisions and all(d["spend"] <= 4 for d in policy.decisions)
