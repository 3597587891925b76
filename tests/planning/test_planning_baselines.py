"""The evaluation baselines: each does what its name says, on hand-made inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from planning_helpers import nb_curves
from scipy import stats
from test_planning_gfp import TinyOffspring, TypePoisson

from planning import PLANNERS, PlanningInputs, greedy_allocation, make_planner, surrogate_table
from planning.baselines import (
    ConstantPlanner,
    FittedQModel,
    FittedQPlanner,
    FixedFractionGreedyPlanner,
    HindsightOraclePlanner,
    RandomPlanner,
    RemainingFractionGreedyPlanner,
    ThompsonPlanner,
    _dp_table,
    fit_fitted_q,
)
from planning.errors import PlanningError
from planning.online import allocation_scores, online_decision
from planning.rollout import PooledCapacity, per_episode, rollout


def inputs_for(
    seed: int, samples: int = 4, people: int = 8, length: int = 5, caps=None
) -> PlanningInputs:
    rng = np.random.default_rng(seed)
    curves = nb_curves(rng, samples, people, length)
    pooled = np.stack(
        [stats.nbinom.pmf(np.arange(20), 1.5, 1.5 / (1.5 + 1.2 + 0.2 * d)) for d in range(samples)]
    )
    return PlanningInputs.from_arrays(curves, caps=caps, pooled_pmf=pooled)


def test_registry_names():
    for name in (
        "random",
        "constant",
        "greedy_fixed",
        "greedy_remaining",
        "thompson",
        "fitted_q",
        "oracle",
        "gfp",
    ):
        assert name in PLANNERS
        assert make_planner(name).name == name


def test_constant_gives_k_in_frontier_order_until_the_round_runs_out():
    inputs = inputs_for(0, caps=[5, 2, 5, 5, 0, 5, 5, 5])
    decision = ConstantPlanner(k=3).decide(inputs, 100, np.random.default_rng(0))
    np.testing.assert_array_equal(decision.allocation, [3, 2, 3, 3, 0, 3, 3, 3])
    decision = ConstantPlanner(k=3).decide(inputs, 7, np.random.default_rng(0))
    np.testing.assert_array_equal(decision.allocation, [3, 2, 2, 0, 0, 0, 0, 0])
    capped = ConstantPlanner(k=5, max_per_round=4).decide(inputs, 100, np.random.default_rng(0))
    np.testing.assert_array_equal(capped.allocation, [4, 0, 0, 0, 0, 0, 0, 0])
    assert decision.horizon == "single"


def test_random_is_seeded_within_caps_and_thinned_to_the_limit():
    inputs = inputs_for(1)
    planner = RandomPlanner(max_per_round=6)
    draws = [planner.decide(inputs, 50, np.random.default_rng(s)).allocation for s in range(40)]
    assert all(d.sum() <= 6 and np.all(d <= inputs.caps) for d in draws)
    assert len({tuple(d) for d in draws}) > 20
    np.testing.assert_array_equal(
        planner.decide(inputs, 50, np.random.default_rng(3)).allocation, draws[3]
    )
    small = RandomPlanner(max_coupons=1).decide(inputs, 50, np.random.default_rng(0)).allocation
    assert small.max() <= 1


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.3, 0.5, 1.0])
def test_fixed_fraction_spends_a_share_of_the_total_budget(fraction):
    inputs = inputs_for(2)
    planner = FixedFractionGreedyPlanner(fraction=fraction, total_budget=30)
    for remaining in (30, 12, 2):
        spend = min(max(1, round(fraction * 30)), remaining)
        decision = planner.decide(inputs, remaining, np.random.default_rng(0))
        np.testing.assert_array_equal(
            decision.allocation, greedy_allocation(inputs.mean_survival, spend, inputs.caps)
        )


@pytest.mark.parametrize("fraction", [0.1, 0.3, 1.0])
def test_remaining_fraction_spends_a_share_of_what_is_left(fraction):
    inputs = inputs_for(3)
    planner = RemainingFractionGreedyPlanner(fraction=fraction)
    for remaining in (30, 7, 1, 0):
        spend = math.ceil(fraction * remaining - 1e-12)
        assert planner.decide(inputs, remaining, np.random.default_rng(0)).spend == spend


def test_thompson_plans_for_one_drawn_sample():
    inputs = inputs_for(4, samples=6)
    planner = ThompsonPlanner(gamma=0.8)
    decision = planner.decide(inputs, 15, np.random.default_rng(9))
    d = int(np.random.default_rng(9).integers(6))
    assert decision.details["sample"] == d
    table = _dp_table(inputs.pooled_pmf[d], 15, 0.8)
    expected = online_decision(inputs.survival[d], 15, table, 0.8, caps=inputs.caps)
    np.testing.assert_array_equal(decision.allocation, expected.allocation)
    assert decision.value == pytest.approx(
        allocation_scores(inputs.survival[d], 15, table, 0.8, expected.allocation)[0], rel=1e-12
    )
    # other draws, other samples (and generally other plans)
    samples = {
        planner.decide(inputs, 15, np.random.default_rng(s)).details["sample"] for s in range(20)
    }
    assert len(samples) > 3


def test_thompson_with_a_round_cap_plans_with_the_capped_table():
    """The drawn sample's DP table assumes the same cap in later rounds as in this one."""
    inputs = inputs_for(4, samples=6)
    d = int(np.random.default_rng(9).integers(6))
    capped = surrogate_table(inputs.pooled_pmf[d], 16, 0.8, max_per_round=3)
    np.testing.assert_array_equal(_dp_table(inputs.pooled_pmf[d], 15, 0.8, 3), capped)
    assert not np.array_equal(capped, _dp_table(inputs.pooled_pmf[d], 15, 0.8))
    decision = ThompsonPlanner(gamma=0.8, max_per_round=3).decide(
        inputs, 15, np.random.default_rng(9)
    )
    expected = online_decision(inputs.survival[d], 15, capped, 0.8, caps=inputs.caps, max_spend=3)
    np.testing.assert_array_equal(decision.allocation, expected.allocation)
    assert decision.allocation.sum() <= 3
    assert decision.value == pytest.approx(
        allocation_scores(inputs.survival[d], 15, capped, 0.8, expected.allocation)[0], rel=1e-12
    )


def test_dp_tables_do_not_depend_on_what_was_planned_before():
    pmf = stats.poisson.pmf(np.arange(20), 1.4)
    small = _dp_table(pmf, 9, 0.9)
    _dp_table(pmf, 40, 0.9)
    again = _dp_table(pmf, 9, 0.9)
    assert again.shape == small.shape and np.array_equal(again, small)


def test_oracle_turns_every_coupon_into_a_recruit():
    inputs = inputs_for(5, caps=[5, 5, 5, 5, 5, 5, 2, 5])
    capacity = (0, 3, 1, 7, 0, 2, 4, 1)
    oracle = HindsightOraclePlanner(capacities=capacity)
    plenty = oracle.decide(inputs, 100, np.random.default_rng(0))
    np.testing.assert_array_equal(plenty.allocation, np.minimum(capacity, inputs.caps))
    assert plenty.value == plenty.spend == 5 + 3 + 1 + 2 + 2 + 1
    tight = oracle.decide(inputs, 6, np.random.default_rng(0))
    assert tight.spend == 6 and tight.value == 6.0
    assert np.all(tight.allocation <= np.minimum(capacity, inputs.caps))
    # an upper bound on any plan's realised recruits with the same capacities
    for planner in (ConstantPlanner(3), FixedFractionGreedyPlanner(1.0), RandomPlanner()):
        other = planner.decide(inputs, 6, np.random.default_rng(1)).allocation
        assert np.minimum(capacity, other).sum() <= tight.value
    assert tight.horizon == "hindsight"


def test_oracle_reads_provenance_or_draws_a_realisation():
    base = inputs_for(6, people=4)
    known = PlanningInputs.from_arrays(
        base.survival, pooled_pmf=base.pooled_pmf, provenance={"capacities": [2, 0, 1, 3]}
    )
    decision = HindsightOraclePlanner().decide(known, 10, np.random.default_rng(0))
    assert decision.details["capacity_source"] == "provenance"
    np.testing.assert_array_equal(decision.allocation, [2, 0, 1, 3])
    drawn = HindsightOraclePlanner().decide(base, 10, np.random.default_rng(4))
    assert drawn.details["capacity_source"] == "drawn"
    again = HindsightOraclePlanner().decide(base, 10, np.random.default_rng(4))
    np.testing.assert_array_equal(drawn.allocation, again.allocation)
    with pytest.raises(PlanningError, match="frontier has 4"):
        HindsightOraclePlanner(capacities=(1, 2)).decide(base, 10, np.random.default_rng(0))


def test_fitted_q_without_a_model_is_myopic():
    inputs = inputs_for(7)
    decision = FittedQPlanner(max_per_round=9).decide(inputs, 30, np.random.default_rng(0))
    assert decision.spend == 9 and decision.horizon == "single"
    np.testing.assert_array_equal(
        decision.allocation, greedy_allocation(inputs.mean_survival, 9, inputs.caps)
    )


def tunnel_setting():
    follow = np.full((3, 3), 0.05)
    follow[0, 2] += 0.85
    follow[1, 1] += 0.85
    follow[2, 2] += 0.85
    return (
        pd.DataFrame({"type": [0] * 5 + [1] * 5}),
        TypePoisson([5.0, 2.0, 0.01]),
        TinyOffspring(follow),
    )


def test_fitted_q_is_fitted_seeded_and_saved_and_no_worse_than_myopia_in_the_tunnel(tmp_path):
    """The spend alone cannot fix tunnel vision (the greedy inside still feeds type A)."""
    initial, capacity, offspring = tunnel_setting()
    settings = dict(
        gamma=0.9,
        length=10,
        max_per_round=10,
        episodes=150,
        iterations=15,
        seed=4,
        identity="tunnel",
    )
    model = fit_fitted_q(initial, 60, capacity, offspring, **settings)
    again = fit_fitted_q(initial, 60, capacity, offspring, **settings)
    np.testing.assert_array_equal(model.theta, again.theta)
    assert len(model.info["loss"]) == 2 * 15 and model.info["transitions"] > 100
    text = model.to_json()
    back = FittedQModel.from_json(text, identity="tunnel")
    np.testing.assert_array_equal(back.theta, model.theta)
    with pytest.raises(PlanningError, match="fitted for"):
        FittedQModel.from_json(text, identity="other")

    def play(planner):
        def rule(batch, e, rng):
            rows = batch.rows(e)
            inputs = PlanningInputs.from_arrays(batch.survival[rows][None], caps=batch.caps[rows])
            return planner.decide(inputs, int(batch.remaining[e]), rng).allocation

        return rollout(
            per_episode(rule),
            initial,
            60,
            capacity,
            offspring,
            np.random.default_rng(2),
            episodes=300,
            gamma=0.9,
            length=10,
            max_per_round=10,
        ).discounted

    fitted, myopic = (
        play(FittedQPlanner(model, max_per_round=10)),
        play(FittedQPlanner(max_per_round=10)),
    )
    se = np.hypot(fitted.std(), myopic.std()) / np.sqrt(fitted.size)
    print(f"\nfitted Q {fitted.mean():.2f}, myopic {myopic.mean():.2f} (se {se:.2f})")
    assert fitted.mean() > myopic.mean() - 2 * se  # never clearly worse than the myopic greedy


def test_fitted_q_learns_to_hold_coupons_back_in_a_homogeneous_world():
    """Pooled NB capacity (mean 1.6), budget 30, frontier 5, up to 10 coupons each, gamma 0.9:
    spending everything at once wastes coupons; the fitted spend gets close to the DP's value."""
    pmf = stats.nbinom.pmf(np.arange(40), 1.5, 1.5 / 3.1)
    capacity = PooledCapacity(pmf)
    model = fit_fitted_q(
        5, 30, capacity, None, gamma=0.9, length=10, episodes=300, iterations=20, seed=1
    )

    def play(planner):
        def rule(batch, e, rng):
            rows = batch.rows(e)
            inputs = PlanningInputs.from_arrays(batch.survival[rows][None], caps=batch.caps[rows])
            return planner.decide(inputs, int(batch.remaining[e]), rng).allocation

        return rollout(
            per_episode(rule),
            5,
            30,
            capacity,
            None,
            np.random.default_rng(2),
            episodes=500,
            gamma=0.9,
            length=10,
        ).discounted

    fitted, myopic = play(FittedQPlanner(model)), play(FittedQPlanner())
    best = surrogate_table(pmf, 30, 0.9)[30, 5]
    print(
        f"\nhomogeneous: fitted Q {fitted.mean():.2f}, myopic {myopic.mean():.2f}, DP value {best:.2f}"
    )
    assert fitted.mean() > myopic.mean() + 3 * np.hypot(fitted.std(), myopic.std()) / np.sqrt(500)
    assert fitted.mean() > 0.9 * best


def test_bad_settings_are_refused():
    with pytest.raises(PlanningError, match="fraction"):
        FixedFractionGreedyPlanner(fraction=0.0)
    with pytest.raises(PlanningError, match="fraction"):
        RemainingFractionGreedyPlanner(fraction=1.5)
    with pytest.raises(PlanningError, match="k must"):
        ConstantPlanner(k=-1)
    with pytest.raises(PlanningError, match="max_per_round"):
        RandomPlanner(max_per_round=-2)
    with pytest.raises(PlanningError, match="gamma"):
        ThompsonPlanner(gamma=1.5)
    with pytest.raises(PlanningError, match="capacities"):
        HindsightOraclePlanner(capacities=(1, -1))
