"""Misspecification bounds: validity on random instances, tightness, reports, estimates."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planning_helpers import allocations, nb_curves, random_curves, value
from reference_dp import evaluate_policy, reference_q_values
from scipy import stats

from planning import (
    Estimate,
    frontier_tv_from_samples,
    greedy_allocation,
    heterogeneity_tv,
    multi_round_bound,
    ppc_tv,
    single_round_bound,
    single_round_report,
    surrogate_table,
    transition_tv_from_samples,
)
from planning.curves import pmf_from_survival, tv_distance


def perturb(rng, curves, scale):
    noisy = np.clip(curves + rng.normal(0, scale, curves.shape), 0, 1)
    return np.minimum.accumulate(noisy, axis=-1)


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 7),
    length=st.integers(1, 6),
    budget=st.integers(0, 12),
    scale=st.sampled_from([0.01, 0.1, 0.3, 1.0]),
    ties=st.booleans(),
)
def test_single_round_loss_never_exceeds_bound(seed, n, length, budget, scale, ties):
    rng = np.random.default_rng(seed)
    true = random_curves(rng, (n, length), ties=ties)
    hat = perturb(rng, true, scale)
    if ties:
        hat = np.round(hat * 4) / 4
    optimum = value(true, greedy_allocation(true, budget))
    realised = value(true, greedy_allocation(hat, budget))
    loss = optimum - realised
    assert loss >= -1e-12
    assert loss <= single_round_bound(true, hat, budget) + 1e-12


def test_single_round_bound_is_tight():
    true = np.array([[0.0], [1.0]])
    hat = np.array([[0.5], [0.5]])  # the tie goes to person 0
    loss = value(true, greedy_allocation(true, 1)) - value(true, greedy_allocation(hat, 1))
    assert loss == pytest.approx(1.0)
    assert single_round_bound(true, hat, 1) == pytest.approx(loss)
    # levels beyond the budget do not count; samples broadcast
    assert single_round_bound(np.array([[0.5, 0.4]]), np.array([[0.5, 0.0]]), 1) == 0.0
    per_sample = single_round_bound(np.stack([true, hat]), hat, 1)
    np.testing.assert_allclose(per_sample, [1.0, 0.0])


def _random_law(rng, size):
    return rng.dirichlet(np.ones(size) * rng.uniform(0.3, 2.0))


@pytest.mark.parametrize("seed", range(6))
def test_multi_round_bound_holds_for_the_population_dp(seed):
    """Plan with the DP on an estimated law, score under the true law, vs the true optimum."""
    rng = np.random.default_rng(seed)
    budget = 6
    for _ in range(4):
        size = int(rng.integers(2, 5))
        true = _random_law(rng, size)
        est = np.clip(true + rng.normal(0, rng.choice([0.02, 0.2]), size), 0, None)
        est /= est.sum()
        gamma = float(rng.choice([0.5, 0.7, 0.9]))
        optimum = surrogate_table(true, budget, gamma)
        est_table = surrogate_table(est, budget, gamma)
        policy = np.argmax(reference_q_values(est, budget, gamma, est_table), axis=2)
        realised = evaluate_policy(true, budget, gamma, policy)
        tv = float(tv_distance(np.r_[true, 0.0], np.r_[est, 0.0]))
        for r in range(1, budget + 1):
            for n in range(1, budget + 1):
                loss = optimum[r, n] - realised[r, n]
                assert loss >= -1e-9
                # the frontier is n members of the population: sum_i TV = n tv
                report = multi_round_bound(n * tv, tv, 0.0, gamma, r)
                assert loss <= report.total + 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_multi_round_bound_holds_with_a_heterogeneous_frontier(seed):
    """Two frontier members with their own laws; any first-round allocation allowed."""
    rng = np.random.default_rng(100 + seed)
    budget, n, gamma = 5, 2, float(rng.choice([0.5, 0.8]))
    true_pop = _random_law(rng, 3)
    est_pop = np.clip(true_pop + rng.normal(0, 0.1, 3), 0, None)
    est_pop /= est_pop.sum()
    true_front = random_curves(rng, (n, budget))
    est_front = perturb(rng, true_front, 0.15)
    u_true = surrogate_table(true_pop, budget, gamma)
    u_est = surrogate_table(est_pop, budget, gamma)
    policy = np.argmax(reference_q_values(est_pop, budget, gamma, u_est), axis=2)
    v_policy = evaluate_policy(true_pop, budget, gamma, policy)

    def score(curves, k, table):
        pmf = pmf_from_survival(curves)
        poly = np.ones(1)
        for i in range(n):
            if k[i]:
                poly = np.convolve(poly, np.r_[pmf[i, : k[i]], curves[i, k[i] - 1]])
        left = budget - int(k.sum())
        later = sum(poly[m] * table[left, min(m, budget)] for m in range(poly.size))
        return value(curves, k) + gamma * later

    options = list(allocations(n, budget, np.full(n, budget)))
    optimum = max(score(true_front, k, u_true) for k in options)
    chosen = max(options, key=lambda k: score(est_front, k, u_est))
    realised = score(true_front, chosen, v_policy)
    loss = optimum - realised
    frontier_tv = float(tv_distance(pmf_from_survival(true_front), pmf_from_survival(est_front)).sum())
    pop_tv = float(tv_distance(np.r_[true_pop, 0.0], np.r_[est_pop, 0.0]))
    report = multi_round_bound(frontier_tv, pop_tv, 0.0, gamma, budget)
    assert -1e-9 <= loss <= report.total + 1e-9


def test_multi_round_parts_and_no_bound_at_gamma_one():
    report = multi_round_bound(0.5, 0.1, 0.2, 0.9, 10)
    c = 2 * 0.9 * 10 / 0.1
    parts = {p.name: p.value for p in report.parts}
    assert parts == pytest.approx(
        {"frontier": 2 * 1.9 * 10 * 0.5, "transition": c * 0.1, "heterogeneity": c * 10 * 0.2}
    )
    assert report.total == pytest.approx(sum(parts.values()))
    unbounded = multi_round_bound(Estimate(0.5, "spread"), 0.1, 0.2, 1.0, 10)
    assert not unbounded.finite and unbounded.total is None
    text = unbounded.text()
    assert "no finite bound" in text and "inf" not in text.replace("infinite", "")
    json.dumps(unbounded.to_dict(), allow_nan=False)
    assert unbounded.parts[0].method == "spread"
    with pytest.raises(ValueError, match="gamma"):
        multi_round_bound(0.1, 0.1, 0.1, 0.0, 3)
    with pytest.raises(ValueError, match="finite"):
        multi_round_bound(float("inf"), 0.1, 0.1, 0.5, 3)


def test_estimates_from_posterior_samples():
    rng = np.random.default_rng(7)
    samples = nb_curves(rng, 50, 8, 6)
    same = np.repeat(samples[:1], 5, axis=0)
    assert frontier_tv_from_samples(same).value == pytest.approx(0.0, abs=1e-12)
    spread = frontier_tv_from_samples(samples, quantile=0.9)
    assert spread.value > 0 and "90% posterior quantile" in spread.method
    assert frontier_tv_from_samples(samples, quantile=0.5).value <= spread.value
    pops = stats.poisson.pmf(np.arange(20)[None], rng.uniform(1, 2, (30, 1)))
    assert transition_tv_from_samples(pops).value > 0
    assert transition_tv_from_samples(pops[:1].repeat(3, 0)).value == pytest.approx(0, abs=1e-12)
    laws = pmf_from_survival(samples[0])
    assert heterogeneity_tv(laws).value > 0
    assert heterogeneity_tv(laws[:1].repeat(4, 0)).value == pytest.approx(0.0)
    report = single_round_report(samples, 10)
    per = single_round_bound(samples, samples.mean(axis=0), 10)
    assert report.total == pytest.approx(np.quantile(per, 0.9))
    assert "posterior quantile" in report.parts[0].method
    json.dumps(report.to_dict(), allow_nan=False)


def test_ppc_estimate_separates_fit_from_misfit():
    rng = np.random.default_rng(8)
    rows = 400
    coupons = rng.integers(1, 4, rows)
    curves = np.repeat(nb_curves(rng, 20, 1, 5), rows, axis=1)  # everyone the same law
    law = pmf_from_survival(curves.mean(axis=0)[0])
    capacity = rng.choice(law.size, size=rows, p=law / law.sum())
    good = ppc_tv(np.minimum(capacity, coupons), coupons, curves, seed=1)
    bad = ppc_tv(np.zeros(rows, dtype=int), coupons, curves, seed=1)
    assert good.value < 0.05 < 0.3 < bad.value
    assert "posterior predictive" in bad.method
    with pytest.raises(ValueError, match="redeemed"):
        ppc_tv(coupons + 1, coupons, curves)
