"""Offspring covariate laws and the calibrated homophily they reproduce."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from worlds_helpers import binomial_tolerance, parent_positions

from planning.simulation import (
    CategoricalTransition,
    LogNormalRegression,
    OffspringLaw,
    load_calibration,
    make_world,
    simulate_study,
)


def test_calibration_is_shipped_with_its_source():
    cal = load_calibration()
    assert len(cal.fields) == 17
    assert cal.source.startswith("ICPSR 22140")
    assert "published summary" in cal.copied_from
    local = cal.field("LOCAL")
    assert (local.levels, local.inherit_prob, local.match_rate) == (4, 0.766, 0.825)
    assert cal.field("ORIENT").match_rate is None
    assert cal.tunnel_vision.poisson_rate_by_type == {"A": 4.0, "B": 0.8, "C": 0.02}
    assert cal.tunnel_vision.p_follow_transition == 0.85
    binding = cal.tunnel_vision.binding
    assert binding.poisson_rate_by_type == {"A": 5.0, "B": 2.0, "C": 0.01}
    assert (binding.budget, binding.initial_frontier, binding.max_coupons_per_round) == (
        100,
        10,
        10,
    )
    assert binding.seed_type_fractions == {"A": 0.45, "B": 0.45, "C": 0.1}
    with pytest.raises(KeyError, match="no calibrated field named 'AGE'"):
        cal.field("AGE")


def test_published_rho_reproduces_published_match_rates():
    """With uniform pi the model's match rate is the published one (up to rounding)."""
    for f in load_calibration().fields:
        if f.match_rate is None:
            continue
        law = CategoricalTransition.inheritance(
            f.name, [f"L{i}" for i in range(f.levels)], f.inherit_prob
        )
        assert abs(law.expected_match_rate() - f.match_rate) < 1.5e-3, f.name


def test_transition_matrices():
    law = CategoricalTransition.inheritance("x", ["a", "b", "c"], rho=0.6, pi=[0.5, 0.3, 0.2])
    m = law.transition_matrix()
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.diag(m), 0.6 + 0.4 * np.array([0.5, 0.3, 0.2]))
    np.testing.assert_allclose(law.pi @ m, law.pi)  # pi is stationary
    assert law.expected_match_rate() == pytest.approx(0.6 + 0.4 * (0.25 + 0.09 + 0.04))
    rule = CategoricalTransition.type_rule(
        "t", ["A", "B", "C"], {"A": "C", "B": "B", "C": "C"}, 0.85
    )
    np.testing.assert_allclose(rule.transition_matrix()[0], [0.05, 0.05, 0.9])
    with pytest.raises(ValueError, match="no target for level"):
        CategoricalTransition.type_rule("t", ["A", "B"], {"A": "B"}, 0.5)


@pytest.mark.parametrize("rho", [0.0, 0.47, 0.95])
def test_sampled_transitions_match_the_law(rho):
    pi = np.array([0.4, 0.3, 0.2, 0.1])
    law = OffspringLaw([CategoricalTransition.inheritance("x", ["a", "b", "c", "d"], rho, pi)])
    rng = np.random.default_rng(7)
    parents = law.sample_population(20000, rng)
    children = law.sample(parents, np.ones(len(parents), dtype=int), rng)
    match = (children["x"].to_numpy() == parents["x"].to_numpy()).mean()
    expected = rho + (1 - rho) * np.sum(pi**2)
    assert abs(match - expected) <= binomial_tolerance(expected, len(parents))
    m = law.transition_matrix("x")
    pc = parents["x"].cat.codes.to_numpy()
    cc = children["x"].cat.codes.to_numpy()
    for p in range(4):
        freq = np.bincount(cc[pc == p], minlength=4) / np.sum(pc == p)
        assert np.all(np.abs(freq - m[p]) <= binomial_tolerance(m[p], int(np.sum(pc == p))))


def test_children_are_recruiter_major_and_sized():
    law = OffspringLaw([CategoricalTransition.inheritance("x", ["a", "b"], rho=1.0)])
    parents = pd.DataFrame({"x": ["a", "b", "a"]})
    kids = law.sample(parents, np.array([2, 0, 3]), np.random.default_rng(0))
    assert kids["x"].astype(str).tolist() == ["a", "a", "a", "a", "a"]
    assert law.sample(parents, np.zeros(3, dtype=int), np.random.default_rng(0)).shape == (0, 1)
    with pytest.raises(ValueError, match=r"value\(s\) \['z'\] are not among its levels"):
        law.sample(pd.DataFrame({"x": ["z"]}), np.array([1]), np.random.default_rng(0))
    with pytest.raises(ValueError, match="nonnegative"):
        law.sample(parents, np.array([1, -1, 0]), np.random.default_rng(0))


def test_log_normal_regression_moments():
    law = LogNormalRegression(name="size", intercept=1.0, slope=0.5, sigma=0.4)
    rng = np.random.default_rng(3)
    parent = np.full(40000, np.exp(2.0))
    child = np.log(law.sample_children(pd.Series(parent), rng))
    assert child.mean() == pytest.approx(1.0 + 0.5 * 2.0, abs=0.01)
    assert child.std() == pytest.approx(0.4, abs=0.01)
    pop = np.log(law.sample_population(40000, rng))
    assert pop.mean() == pytest.approx(2.0, abs=0.01)
    assert pop.std() == pytest.approx(0.4 / np.sqrt(0.75), abs=0.01)
    whole = LogNormalRegression.stationary("n", median=12.0, log_sd=0.8, slope=0.3, integer=True)
    values = whole.sample_population(1000, rng)
    assert np.all(values >= 1) and np.all(values == np.round(values))


def test_laplace_is_exact():
    law = OffspringLaw(
        [
            CategoricalTransition.inheritance("x", ["a", "b", "c"], 0.5, [0.2, 0.3, 0.5]),
            LogNormalRegression("size", 0.0, 0.0, 1.0),
            CategoricalTransition.inheritance("y", ["u", "v"], 0.8),
        ]
    )
    rng = np.random.default_rng(5)
    H = rng.uniform(0, 2, size=(3, 2, 3))
    parents = pd.DataFrame({"x": ["a", "c"], "size": [1.0, 2.0], "y": ["v", "u"]})
    exact = law.laplace(H, parents)
    assert exact.shape == (2, 3)
    reps = 100000
    kids = law.sample(parents, np.array([reps, reps]), rng)
    xc = kids["x"].cat.codes.to_numpy()
    yc = kids["y"].cat.codes.to_numpy()
    mc = np.exp(-(H[:, 0, :][:, xc] + H[:, 1, :2][:, yc])).reshape(3, 2, reps).mean(axis=2).T
    np.testing.assert_allclose(mc, exact, atol=0.01)


def test_calibrated_study_match_rates_agree_with_the_model():
    """~20,000 recruitment pairs: each field's match rate within 4.5 binomial SE.

    Under uniform pi the match indicator of a pair is Bernoulli(rho + (1-rho)/K)
    whatever the recruiter, so pairs are independent trials.
    """
    table = simulate_study("calibrated", seed=2026, respondents=20000)
    parent = parent_positions(table)
    child = np.flatnonzero(parent >= 0)
    n_pairs = len(child)
    assert n_pairs > 19000
    world = make_world("calibrated")
    for law in world.offspring.categorical:
        values = table[law.name].to_numpy()
        match = np.mean(values[child] == values[parent[child]])
        expected = law.rho + (1 - law.rho) * np.sum(law.pi**2)
        assert abs(match - expected) <= binomial_tolerance(expected, n_pairs), law.name


def test_tilted_levels_are_mildly_non_uniform():
    world = make_world("calibrated", level_weights="tilted")
    pi = world.offspring.field("RACE").pi
    assert pi[0] > pi[-1] and pi.max() / pi.min() < 5
    with pytest.raises(ValueError, match="level_weights"):
        make_world("calibrated", level_weights="steep")
