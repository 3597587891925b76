"""Online spend decision: brute-force scores, agreement with the DP, risk aggregation."""

from __future__ import annotations

import numpy as np
import pytest
from planning_helpers import nb_curves
from scipy import stats

from planning import cvar, greedy_allocation, online_decision, surrogate_table
from planning.curves import pmf_from_survival
from planning.curves import survival_from_pmf as survival_of_pmf


def brute_scores(curves, tables, remaining, gamma):
    """Q_d(s) by explicit polynomial products (independent of the FFT path)."""
    n_samples, n, _ = curves.shape
    out = np.zeros((n_samples, remaining + 1))
    mean_curves = curves.mean(axis=0)
    for s in range(remaining + 1):
        k = greedy_allocation(mean_curves, s)
        for d in range(n_samples):
            pmf = pmf_from_survival(curves[d])
            poly = np.ones(1)
            for i in range(n):
                if k[i]:
                    poly = np.convolve(poly, np.r_[pmf[i, : k[i]], curves[d, i, k[i] - 1]])
            now = sum(curves[d, i, : k[i]].sum() for i in range(n))
            table = tables[d % len(tables)]
            later = sum(poly[m] * table[remaining - s, m] for m in range(poly.size))
            out[d, s] = now + gamma * later
    return out


def test_scores_match_brute_force():
    rng = np.random.default_rng(0)
    curves = nb_curves(rng, 3, 6, 5)
    remaining = 10
    tables = np.stack(
        [surrogate_table(stats.poisson.pmf(np.arange(20), 1.2 + 0.2 * d), remaining, 0.8) for d in range(3)]
    )
    decision = online_decision(curves, remaining, tables, 0.8)
    expected = brute_scores(curves, tables, remaining, 0.8)
    np.testing.assert_allclose(decision.sample_scores, expected, atol=1e-10)
    np.testing.assert_allclose(decision.scores, expected.mean(axis=0), atol=1e-10)
    assert decision.spend == int(np.argmax(expected.mean(axis=0)))
    # one shared table
    shared = online_decision(curves, remaining, tables[0], 0.8)
    np.testing.assert_allclose(
        shared.sample_scores, brute_scores(curves, tables[:1], remaining, 0.8), atol=1e-10
    )


@pytest.mark.parametrize("gamma", [0.5, 0.9, 1.0])
@pytest.mark.parametrize(("remaining", "n"), [(12, 4), (15, 1), (9, 13), (20, 7)])
def test_identical_frontier_recovers_the_dp_value(gamma, remaining, n):
    """People who all follow the pooled law: greedy = even split, so max_s Q(s) = U(r, n)."""
    pmf = stats.nbinom.pmf(np.arange(30), 1.5, 0.5)
    table = surrogate_table(pmf, remaining, gamma)
    curves = np.tile(survival_of_pmf(pmf, remaining + 1), (n, 1))
    decision = online_decision(curves, remaining, table, gamma)
    assert decision.value == pytest.approx(table[remaining, min(n, remaining)], abs=1e-9)


def test_no_future_value_spends_everything_useful():
    rng = np.random.default_rng(1)
    curves = nb_curves(rng, 1, 8, 6)[0]
    decision = online_decision(curves, 20, np.zeros((21, 21)), 0.9)
    assert decision.spend == 20
    np.testing.assert_array_equal(decision.allocation, greedy_allocation(curves, 20))
    # a tiny discount makes the future negligible: same decision
    table = surrogate_table([0.2, 0.3, 0.5], 20, 1e-6)
    assert online_decision(curves, 20, table, 1e-6).spend == 20
    # zero-value coupons are not spent (ties go to the smaller spend)
    flat = np.zeros((3, 4))
    flat[0, 0] = 0.5
    assert online_decision(flat, 5, np.zeros((6, 6)), 0.9).spend == 1


def test_future_value_holds_coupons_back():
    # Frontier of weak recruiters, strong population: save the budget for later rounds.
    weak = np.tile([0.05, 0.01, 0.0], (10, 1))
    pmf = stats.poisson.pmf(np.arange(30), 3.0)
    table = surrogate_table(pmf, 30, 0.95)
    decision = online_decision(weak, 30, table, 0.95)
    assert 0 < decision.spend < 30


def test_risk_aggregation_over_sample_tables():
    rng = np.random.default_rng(2)
    curves = nb_curves(rng, 12, 10, 6)
    tables = np.stack(
        [surrogate_table(stats.poisson.pmf(np.arange(25), rng.uniform(0.5, 2.5)), 15, 0.9) for _ in range(12)]
    )
    decision = online_decision(curves, 15, tables, 0.9, risk="cvar:0.25")
    np.testing.assert_allclose(decision.scores, cvar(0.25).evaluate(decision.sample_scores))
    assert decision.spend == int(np.argmax(decision.scores))
    assert decision.risk == "cvar:0.25"
    np.testing.assert_allclose(
        decision.sample_scores, decision.immediate + 0.9 * decision.continuation
    )
    for s in (0, 3, decision.spend):
        np.testing.assert_array_equal(
            decision.allocation_for(s), greedy_allocation(curves.mean(axis=0), s)
        )


def test_caps_and_empty_spend():
    curves = np.array([[0.9, 0.5], [0.8, 0.1]])
    decision = online_decision(curves, 5, np.zeros((6, 6)), 0.5, caps=[0, 1])
    assert decision.allocation.tolist() == [0, 1]
    assert decision.scores.size == 2  # spends 0 and 1 only
    nothing = online_decision(curves, 0, np.zeros((1, 1)), 0.5)
    assert nothing.spend == 0 and nothing.scores.tolist() == [0.0]


def test_bad_inputs():
    curves = np.array([[0.9, 0.5]])
    with pytest.raises(ValueError, match="covers budgets up to 3"):
        online_decision(curves, 5, np.zeros((4, 4)), 0.9)
    with pytest.raises(ValueError, match="square"):
        online_decision(curves, 2, np.zeros((4, 3)), 0.9)
    with pytest.raises(ValueError, match="samples"):
        online_decision(np.stack([curves] * 2), 2, np.zeros((3, 4, 4)), 0.9)
    with pytest.raises(ValueError, match="gamma"):
        online_decision(curves, 2, np.zeros((4, 4)), 0.0)
