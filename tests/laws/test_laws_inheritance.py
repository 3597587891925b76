"""The inheritance law module: transition matrices, draws against them, exact Laplace against Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rdsmodel.laws.inheritance import (
    categorical_from_uniform,
    draw_categorical,
    laplace_table,
    marginal_recruit,
    sample_inheritance,
    transition_matrix,
)

PI = np.array([0.4, 0.3, 0.2, 0.1])
RHO_LEVEL = np.array([0.9, 0.5, 0.2, 0.0])
TARGET = np.array([2, 1, 2, 2])  # a type rule: levels 0, 2, 3 send to level 2


def explicit_matrix(rho, pi, target):
    """P(c | p) written entry by entry."""
    k = len(pi)
    rho = np.broadcast_to(rho, (k,))
    return np.array(
        [[rho[p] * (c == target[p]) + (1 - rho[p]) * pi[c] for c in range(k)] for p in range(k)]
    )


@pytest.mark.parametrize("rho", [0.0, 0.47, 1.0, RHO_LEVEL], ids=["0", "0.47", "1", "per-level"])
@pytest.mark.parametrize("target", [None, TARGET], ids=["inherit", "type-rule"])
def test_transition_matrix(rho, target):
    m = transition_matrix(rho, PI, target)
    want = explicit_matrix(rho, PI, np.arange(4) if target is None else target)
    np.testing.assert_allclose(m, want, rtol=1e-15)
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    if target is None and np.ndim(rho) == 0:
        np.testing.assert_allclose(PI @ m, PI)  # pi is stationary under inheritance


def test_batches_broadcast():
    """(sample, field, level) arrays: one matrix per sample and field."""
    rng = np.random.default_rng(0)
    rho = rng.random((3, 2, 4))
    pi = rng.dirichlet(np.ones(4), size=(3, 2))
    m = transition_matrix(rho, pi)
    assert m.shape == (3, 2, 4, 4)
    np.testing.assert_allclose(m[1, 0], explicit_matrix(rho[1, 0], pi[1, 0], np.arange(4)))
    q = rng.dirichlet(np.ones(4), size=(3, 2))
    np.testing.assert_allclose(marginal_recruit(rho, pi, q), np.einsum("sfp,sfpc->sfc", q, m))
    np.testing.assert_allclose(marginal_recruit(0.3, PI), PI)


@pytest.mark.parametrize("rho", [0.0, 0.6, RHO_LEVEL], ids=["0", "0.6", "per-level"])
@pytest.mark.parametrize("target", [None, TARGET], ids=["inherit", "type-rule"])
def test_draws_follow_the_transition_matrix(rho, target):
    n_per = 40_000
    parents = np.repeat(np.arange(4), n_per)
    kids = sample_inheritance(parents, rho, PI, np.random.default_rng(3), target)
    m = transition_matrix(rho, PI, target)
    for p in range(4):
        observed = np.bincount(kids[parents == p], minlength=4)
        expected = m[p] * n_per
        keep = expected > 0
        assert observed[~keep].sum() == 0
        if keep.sum() > 1:
            assert stats.chisquare(observed[keep], expected[keep]).pvalue > 1e-4


def test_per_recruit_laws_latent_classes():
    """A fresh level drawn from each recruit's own law (its latent class)."""
    laws = np.array([[0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 0.5, 0.5]])
    n = 60_000
    cls = np.random.default_rng(1).integers(0, 2, n)
    kids = sample_inheritance(
        np.zeros(n, dtype=np.int64), 0.25, laws[cls], np.random.default_rng(2)
    )
    for z in range(2):
        observed = np.bincount(kids[cls == z], minlength=4)
        expected = transition_matrix(0.25, laws[z])[0] * (cls == z).sum()
        keep = expected > 0
        assert observed[~keep].sum() == 0
        assert stats.chisquare(observed[keep], expected[keep]).pvalue > 1e-4


def test_random_stream_is_the_documented_one():
    """Copy decided by one uniform each, then a fresh level by inversion of one uniform each."""
    parents = np.array([0, 1, 2, 3, 0, 1])
    rng = np.random.default_rng(9)
    copy = rng.random(6) < RHO_LEVEL[parents]
    fresh = np.searchsorted(np.cumsum(PI), rng.random(6), side="right")
    want = np.where(copy, parents, fresh)
    np.testing.assert_array_equal(
        sample_inheritance(parents, RHO_LEVEL, PI, np.random.default_rng(9)), want
    )


def test_categorical_inversion_and_draws():
    u = np.array([0.0, 0.39, 0.41, 0.69, 0.71, 0.91, 0.99999])  # away from float boundaries
    np.testing.assert_array_equal(categorical_from_uniform(PI, u), [0, 0, 1, 1, 2, 3, 3])
    np.testing.assert_array_equal(
        categorical_from_uniform(np.tile(PI, (7, 1)), u), [0, 0, 1, 1, 2, 3, 3]
    )
    np.testing.assert_array_equal(
        categorical_from_uniform(2 * PI, u), [0, 0, 1, 1, 2, 3, 3]
    )  # unnormalised
    draws = draw_categorical(PI, np.random.default_rng(4), 100_000)
    assert stats.chisquare(np.bincount(draws, minlength=4), PI * 100_000).pvalue > 1e-4
    rows = draw_categorical(
        np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]), np.random.default_rng(4)
    )
    np.testing.assert_array_equal(rows, [1, 3])


@pytest.mark.parametrize("target", [None, TARGET], ids=["inherit", "type-rule"])
def test_laplace_is_the_transition_matrix_times_the_weights(target):
    rng = np.random.default_rng(5)
    h = rng.exponential(1.0, (3, 4))
    table = laplace_table(RHO_LEVEL, PI, np.exp(-h), target)
    assert table.shape == (3, 4)
    np.testing.assert_allclose(
        table, (transition_matrix(RHO_LEVEL, PI, target) @ np.exp(-h).T).T, rtol=1e-13
    )


def test_laplace_matches_monte_carlo():
    rng = np.random.default_rng(7)
    h = rng.exponential(0.8, (5, 4))
    h[0] = 0.0
    n_per = 50_000
    parents = np.repeat(np.arange(4), n_per)
    kids = sample_inheritance(parents, 0.35, PI, np.random.default_rng(8))
    values = np.exp(-h[:, kids]).reshape(5, 4, n_per)  # (J, parent, recruit)
    mean, se = values.mean(axis=2), values.std(axis=2, ddof=1) / np.sqrt(n_per)
    exact = laplace_table(0.35, PI, np.exp(-h))
    np.testing.assert_allclose(exact[0], 1.0)
    z = (exact - mean) / np.maximum(se, 1e-12)
    assert np.abs(z).max() < 4.5


def test_laplace_batches_over_samples_classes_and_fields():
    """rho (S, 1, F, K), pi (S, Z, F, K), weights (F, J, K): the covariate model's layout."""
    rng = np.random.default_rng(11)
    S, Z, F, J, K = 3, 2, 2, 4, 3
    rho = rng.random((S, 1, F, K))
    pi = rng.dirichlet(np.ones(K), size=(S, Z, F))
    w = np.exp(-rng.exponential(1.0, (F, J, K)))
    table = laplace_table(rho, pi, w)
    assert table.shape == (S, Z, F, J, K)
    s, z, f = 2, 1, 0
    np.testing.assert_allclose(
        table[s, z, f], laplace_table(rho[s, 0, f], pi[s, z, f], w[f]), rtol=1e-14
    )
