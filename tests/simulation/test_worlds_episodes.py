"""The round-by-round API planners are scored with, and the scenario worlds' true laws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning.simulation import (
    SCENARIOS,
    BranchingWorld,
    CategoricalTransition,
    ConstantCoupons,
    LogLinearMean,
    OffspringLaw,
    PoissonCapacity,
    make_world,
    simulate_study_detailed,
)
from rdsmodel.laws.capacity import survival_from_pmf


def test_step_gives_coupons_and_returns_the_new_frontier():
    world = make_world("calibrated")
    rng = np.random.default_rng(0)
    episode = world.start(n_seeds=8, rng=rng)
    assert episode.frontier_size == 8 and episode.round == 0
    frontier = episode.frontier
    assert frontier["id"].tolist() == [f"R0000{i}" for i in range(1, 9)]
    assert {"group", "SEX", "interview_time"} <= set(frontier.columns)
    allocation = np.array([0, 1, 2, 3, 4, 5, 0, 3])
    outcome = episode.step(allocation, rng)
    np.testing.assert_array_equal(outcome.recruits, np.minimum(outcome.capacity, allocation))
    assert outcome.n_recruits == len(outcome.new_frontier) == episode.frontier_size
    assert episode.round == 1 and episode.n_respondents == 8 + outcome.n_recruits
    table = episode.table()
    np.testing.assert_array_equal(table["coupons_issued"].iloc[:8].to_numpy(dtype=int), allocation)
    assert table["coupons_issued"].iloc[8:].isna().all()
    with pytest.raises(ValueError, match="the frontier has"):
        episode.step(np.ones(episode.frontier_size + 1, dtype=int), rng)
    with pytest.raises(ValueError, match=">= 0"):
        episode.step(-np.ones(episode.frontier_size, dtype=int), rng)


def test_common_random_numbers_make_steps_reproducible():
    world = make_world("homogeneous")

    def run(seed):
        rng = np.random.default_rng(seed)
        episode = world.start(n_seeds=5, rng=rng)
        sizes = []
        for _ in range(4):
            sizes.append(episode.step(np.full(episode.frontier_size, 2), rng).n_recruits)
        return sizes, episode.table()

    a, ta = run(9)
    b, tb = run(9)
    assert a == b
    pd.testing.assert_frame_equal(ta, tb)


def test_true_capacity_of_the_frontier_is_the_world_law():
    world = make_world("calibrated")
    rng = np.random.default_rng(1)
    episode = world.start(n_seeds=12, rng=rng)
    via_episode = episode.capacity_pmf(5)
    via_law = world.capacity.pmf(episode.frontier, 5)
    np.testing.assert_allclose(via_episode, via_law)
    np.testing.assert_allclose(episode.capacity_survival(5), survival_from_pmf(via_law))


def test_stop_keeps_the_earliest_and_the_frontier_can_be_planned():
    study = simulate_study_detailed("calibrated", seed=3, respondents=300)
    episode = study.episode
    table = study.table
    assert episode.n_respondents == 300
    frontier_ids = table.loc[table["coupons_issued"].isna(), "id"].tolist()
    assert episode.frontier["id"].tolist() == frontier_ids
    outcome = episode.step(np.full(episode.frontier_size, 3), np.random.default_rng(0))
    assert episode.n_respondents == 300 + outcome.n_recruits


def test_zero_coupons_end_the_chain_and_reseeding_restarts_it():
    world = BranchingWorld(
        PoissonCapacity(LogLinearMean(np.log(3.0))),
        OffspringLaw([CategoricalTransition.inheritance("x", ["a", "b"], 0.5)]),
    )
    rng = np.random.default_rng(2)
    episode = world.start(n_seeds=3, rng=rng)
    outcome = episode.step(np.zeros(3, dtype=int), rng)
    assert outcome.n_recruits == 0 and episode.frontier_size == 0
    table = world.run_study(
        3, max_respondents=40, rng=np.random.default_rng(4), coupon_policy=ConstantCoupons(0)
    )
    assert len(table) == 40 and table["recruiter_id"].isna().all()
    short = world.run_study(
        3, max_respondents=40, rng=np.random.default_rng(4), coupon_policy=0, reseed=False
    )
    assert len(short) == 3


def test_tunnel_world_follows_the_calibration_file():
    world = make_world("tunnel")
    local = world.offspring.field("LOCAL")
    m = local.transition_matrix()
    # L1 = A -> C (= L3) with 0.85, else uniform over the four levels
    np.testing.assert_allclose(m[0], [0.0375, 0.0375, 0.85 + 0.0375, 0.0375])
    np.testing.assert_allclose(m[1], [0.0375, 0.85 + 0.0375, 0.0375, 0.0375])
    np.testing.assert_allclose(m[3], m[2])
    people = pd.DataFrame({"LOCAL": ["L1", "L2", "L3", "L4"]})
    # the binding setting is the default (A 5, B 2, C 0.01); the file's first rates stay an option
    np.testing.assert_allclose(world.capacity.mean(people), [5.0, 2.0, 0.01, 0.01])
    original = make_world("tunnel", setting="original")
    np.testing.assert_allclose(original.capacity.mean(people), [4.0, 0.8, 0.02, 0.02])
    np.testing.assert_allclose(make_world("tunnel", rates={"B": 1.5}).capacity.mean(people)[1], 1.5)
    assert len(world.offspring.fields) == 17
    assert world.offspring.field("RACE").rho == 0.474
    assert world.defaults.budget == 100 and world.defaults.max_per_round == 10
    assert world.defaults.initial_frontier == 10
    assert dict(world.defaults.frontier_mix["LOCAL"]) == {"L1": 0.5, "L2": 0.5}
    assert original.defaults.max_per_round is None and not original.defaults.frontier_mix
    seeds = world.seed_covariate_law.sample(20000, np.random.default_rng(0))["LOCAL"]
    shares = seeds.value_counts(normalize=True).reindex(["L1", "L2", "L3", "L4"]).to_numpy()
    np.testing.assert_allclose(shares, [0.45, 0.45, 0.05, 0.05], atol=0.015)
    with pytest.raises(ValueError, match="setting"):
        make_world("tunnel", setting="loose")


def test_registry_and_world_options():
    assert set(SCENARIOS) == {"homogeneous", "calibrated", "tunnel", "network", "subgroup"}
    assert "n_nodes" in SCENARIOS["network"].options
    assert make_world("calibrated").groups == ("S1", "S2", "S3", "S4")
    assert len(make_world("homogeneous", sites=2).groups) == 2
    assert SCENARIOS["tunnel"].default_seeds(10000) == 400
    with pytest.raises(TypeError, match="world options"):
        make_world("tunnel", sites=2)


def test_the_command_line_offers_every_scenario():
    from planning.app.cli.common import SCENARIO_NAMES

    assert tuple(SCENARIOS) == SCENARIO_NAMES
