"""Worlds on arrays: coding round trips, compiled laws against the tables' laws, keyed draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from worlds_helpers import binomial_tolerance

from planning.simulation import Cohort, as_arrays, make_world
from planning.simulation.arrays import Memory
from planning.simulation.keyed import child_keys, inverse_cdf, root_keys, uniforms


@pytest.mark.parametrize("scenario", ["homogeneous", "calibrated", "tunnel", "network"])
def test_coding_round_trips_a_study_table(studies, scenario):
    study = studies[scenario]
    arrays = as_arrays(study.episode.world)
    table = study.table
    cohort = arrays.coding.encode(table)
    frame = arrays.coding.frame(cohort)
    for column in frame.columns:
        expected = table[column]
        got = frame[column]
        if isinstance(got.dtype, pd.CategoricalDtype):
            assert got.astype(str).tolist() == expected.astype(str).tolist(), column
        else:
            np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(dtype=float))


@pytest.mark.parametrize("scenario", ["homogeneous", "calibrated", "tunnel"])
def test_compiled_capacity_equals_the_law_on_tables(studies, scenario):
    study = studies[scenario]
    world = study.episode.world
    arrays = as_arrays(world)
    cohort = arrays.coding.encode(study.table)
    np.testing.assert_allclose(
        arrays.capacity_pmf(cohort, 7),
        world.capacity.pmf(arrays.coding.frame(cohort), 7),
        rtol=1e-12,
        atol=1e-15,
    )


def test_network_capacity_is_binomial_in_free_neighbours():
    world = make_world("network", 3, n_nodes=400)
    arrays = as_arrays(world)
    cohort, memory = arrays.start(20, np.random.default_rng(1), np.uint64(5))
    free = np.array([np.sum(~memory.recruited[world.adjacency[[n]].indices]) for n in cohort.node])
    expected = stats.binom.pmf(np.arange(4)[None, :], free[:, None], world.accept_prob)
    np.testing.assert_allclose(arrays.capacity_pmf(cohort, 4, memory)[:, :4], expected)


def test_keyed_uniforms_are_uniform_and_fixed_by_the_key():
    keys = root_keys(np.uint64(11), 50_000)
    u = uniforms(keys, 0)
    assert u.min() >= 0 and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(u, uniforms(keys, 1))[0, 1]) < 0.02
    np.testing.assert_array_equal(u, uniforms(root_keys(np.uint64(11), 50_000), 0))
    kids = child_keys(keys[:3], np.array([2, 0, 3]))
    # the j-th recruit of a person has the same key whatever the other people's counts
    np.testing.assert_array_equal(child_keys(keys[:3], np.array([2, 5, 3]))[[0, 1, 7, 8, 9]], kids)
    assert len(np.unique(kids)) == 5
    pmf = np.array([[0.2, 0.3, 0.5]])
    draws = inverse_cdf(np.repeat(pmf, 50_000, axis=0), u)
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / u.size, pmf[0], atol=0.01)


def test_tunnel_recruits_follow_the_type_rule_and_the_rates():
    world = make_world("tunnel")
    arrays = as_arrays(world)
    n = 20_000
    local = arrays.coding.field_index("LOCAL")
    codes = np.zeros(
        (n, len(arrays.coding.categorical)), dtype=np.int64
    )  # everyone L1 = type A (rate 5)
    cohort = Cohort(codes)
    keys = root_keys(np.uint64(3), n)
    memory = Memory(np.uint64(3))
    realised = arrays.realise(cohort, keys, 10, memory, 0)
    expected = stats.poisson.pmf(np.arange(10), 5.0)
    freq = np.bincount(realised.capacity, minlength=11)[:10] / n
    assert np.all(np.abs(freq - expected) <= binomial_tolerance(expected, n))
    allocation = np.full(n, 2, dtype=np.int64)
    came = arrays.recruit(cohort, keys, realised, allocation, memory, 0)
    assert np.array_equal(np.bincount(came.parent, minlength=n), np.minimum(realised.capacity, 2))
    row = world.offspring.field("LOCAL").transition_matrix()[0]  # A -> C mostly
    share = np.bincount(came.cohort.codes[:, local], minlength=4) / len(came.parent)
    assert np.all(np.abs(share - row) <= binomial_tolerance(row, len(came.parent)))


def test_network_recruits_are_free_neighbours_recruited_once():
    world = make_world("network", 4, n_nodes=600)
    arrays = as_arrays(world)
    cohort, memory = arrays.start(30, np.random.default_rng(2), np.uint64(9))
    keys = root_keys(np.uint64(9), len(cohort))
    seen = set(cohort.node.tolist())
    for t in range(4):
        before = memory.recruited.copy()
        realised = arrays.realise(cohort, keys, 5, memory, t)
        came = arrays.recruit(cohort, keys, realised, np.full(len(cohort), 5), memory, t)
        nodes = came.cohort.node
        assert len(np.unique(nodes)) == len(nodes)
        assert not before[nodes].any()
        assert world.are_neighbours(cohort.node[came.parent], nodes).all()
        assert np.all(np.bincount(came.parent, minlength=len(cohort)) <= realised.capacity)
        assert not (seen & set(nodes.tolist()))
        seen |= set(nodes.tolist())
        cohort, keys = came.cohort, came.keys
        if not len(cohort):
            break
