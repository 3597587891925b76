"""Network worlds: the graph, recruitment along its edges, the true capacity law."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from worlds_helpers import parent_positions

from planning.simulation import NetworkWorld, make_world, simulate_study_detailed
from planning.simulation.graph import degree_corrected_sbm


@pytest.fixture(scope="module")
def world():
    return make_world("network", rng=np.random.default_rng(8), n_nodes=3000)


def test_graph_is_simple_symmetric_homophilous_and_heavy_tailed(world):
    adj = world.adjacency
    assert adj.shape == (3000, 3000)
    assert (adj != adj.T).nnz == 0
    assert adj.diagonal().sum() == 0
    assert set(np.unique(adj.data)) == {1}
    degree = world.degree
    assert 6.0 < degree.mean() < 9.0
    assert degree.max() > 6 * degree.mean()  # heavy tail
    np.testing.assert_array_equal(world.population["network_size"].to_numpy(), degree)
    rows, cols = adj.nonzero()
    community = world.population["community"].cat.codes.to_numpy()
    same = np.mean(community[rows] == community[cols])
    share = world.population["community"].value_counts(normalize=True).to_numpy()
    assert same > np.sum(share**2) + 0.3  # far above random mixing


def test_dcsbm_expected_degrees_follow_theta():
    rng = np.random.default_rng(1)
    n = 4000
    theta = np.where(np.arange(n) < n // 2, 1.0, 3.0)
    adj = degree_corrected_sbm(np.zeros(n, dtype=int), np.ones((1, 1)), theta, 10.0, rng)
    degree = np.diff(adj.indptr)
    assert degree[: n // 2].mean() == pytest.approx(5.0, rel=0.05)
    assert degree[n // 2 :].mean() == pytest.approx(15.0, rel=0.05)


def test_recruits_are_unrecruited_neighbours():
    study = simulate_study_detailed("network", seed=4, respondents=1500)
    table, truth = study.table, study.truth
    world = study.episode.world
    node = truth["node"].to_numpy()
    assert len(np.unique(node)) == len(node)  # nobody recruited twice
    parent = parent_positions(table)
    kids = np.flatnonzero(parent >= 0)
    assert world.are_neighbours(node[parent[kids]], node[kids]).all()
    pop = world.population.iloc[node].reset_index(drop=True)
    for column in ("community", "injects", "sex"):
        assert (table[column].to_numpy() == pop[column].astype(str).to_numpy()).all()
    np.testing.assert_array_equal(table["network_size"].to_numpy(), world.degree[node])


def test_capacity_is_binomial_in_available_neighbours(world):
    rng = np.random.default_rng(3)
    episode = world.start(n_seeds=40, rng=rng)
    episode.step(np.full(episode.frontier_size, 3), rng)
    a = world.available_neighbours(episode)
    pmf = episode.capacity_pmf(4)
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0)
    np.testing.assert_allclose(pmf[:, 0], stats.binom.pmf(0, a, world.accept_prob))
    # the realised capacity of a round follows that law (pooled over frontier and repeats)
    draws = []
    for s in range(300):
        r = np.random.default_rng(100 + s)
        draws.append(
            world.recruit(episode, np.zeros(episode.frontier_size, dtype=np.int64), r).capacity
        )
    freq = np.bincount(np.minimum(np.concatenate(draws), 4), minlength=5) / (300 * len(a))
    np.testing.assert_allclose(freq, pmf.mean(axis=0), atol=0.02)


def test_population_can_run_out():
    tiny = NetworkWorld.generate(np.random.default_rng(0), 60, mean_degree=3.0, accept_prob=1.0)
    table = tiny.run_study(5, max_respondents=500, rng=np.random.default_rng(1))
    assert len(table) <= 60
    assert table["id"].is_unique


def test_bad_network_inputs():
    with pytest.raises(ValueError, match="accept_prob"):
        NetworkWorld.generate(np.random.default_rng(0), 50, accept_prob=0.0)
    with pytest.raises(ValueError, match="disagree"):
        world = NetworkWorld.generate(np.random.default_rng(0), 50)
        NetworkWorld(world.adjacency, world.population.iloc[:10])
    with pytest.raises(ValueError, match="tail index"):
        NetworkWorld.generate(np.random.default_rng(0), 50, degree_tail=1.0)


def test_network_table_has_no_group(world):
    table = world.run_study(5, max_respondents=50, rng=np.random.default_rng(2))
    assert "group" not in table.columns
    assert isinstance(table, pd.DataFrame)
