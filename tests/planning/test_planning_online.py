"""Online spend decision: brute-force scores, agreement with the DP, risk aggregation."""

from __future__ import annotations

import numpy as np
import pytest
from planning_helpers import nb_curves
from scipy import stats

from planning import cvar, greedy_allocation, online_decision, surrogate_table
from planning.curves import pmf_from_survival
from planning.curves import survival_from_pmf as survival_of_pmf


def brute_parts(curves, tables, remaining, gamma, caps=None):
    """``(immediate, continuation)`` per sample and spend, by explicit polynomial products.

    Independent of the FFT path: the allocation of every spend ``s`` is the greedy
    on the mean curves, ``v_s`` its expected recruits and the continuation
    ``sum_m P(N = m) U(r - s, m)``. Spends beyond the total cap are not scored.
    """
    n_samples, n, length = curves.shape
    caps = np.full(n, length) if caps is None else np.minimum(caps, length)
    top = min(remaining, int(caps.sum()))
    now_all = np.zeros((n_samples, top + 1))
    later_all = np.zeros((n_samples, top + 1))
    mean_curves = curves.mean(axis=0)
    for s in range(top + 1):
        k = greedy_allocation(mean_curves, s, caps=caps)
        for d in range(n_samples):
            pmf = pmf_from_survival(curves[d])
            poly = np.ones(1)
            for i in range(n):
                if k[i]:
                    poly = np.convolve(poly, np.r_[pmf[i, : k[i]], curves[d, i, k[i] - 1]])
            now_all[d, s] = sum(curves[d, i, : k[i]].sum() for i in range(n))
            table = tables[d % len(tables)]
            later_all[d, s] = sum(poly[m] * table[remaining - s, m] for m in range(poly.size))
    return now_all, later_all


def brute_scores(curves, tables, remaining, gamma, caps=None):
    """Q_d(s) = v_s + gamma * continuation, from :func:`brute_parts`."""
    now, later = brute_parts(curves, tables, remaining, gamma, caps)
    return now + gamma * later


def test_scores_match_brute_force():
    rng = np.random.default_rng(0)
    curves = nb_curves(rng, 3, 6, 5)
    remaining = 10
    tables = np.stack(
        [
            surrogate_table(stats.poisson.pmf(np.arange(20), 1.2 + 0.2 * d), remaining, 0.8)
            for d in range(3)
        ]
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
    """Each sample's scores, the CVaR over them and the spend, all against the brute force."""
    rng = np.random.default_rng(2)
    curves = nb_curves(rng, 12, 10, 6)
    tables = np.stack(
        [
            surrogate_table(stats.poisson.pmf(np.arange(25), rng.uniform(0.5, 2.5)), 15, 0.9)
            for _ in range(12)
        ]
    )
    decision = online_decision(curves, 15, tables, 0.9, risk="cvar:0.25")
    now, later = brute_parts(curves, tables, 15, 0.9)
    expected = now + 0.9 * later
    np.testing.assert_allclose(decision.immediate, now, atol=1e-10)
    np.testing.assert_allclose(decision.continuation, later, atol=1e-10)
    np.testing.assert_allclose(decision.sample_scores, expected, atol=1e-10)
    risk = cvar(0.25).evaluate(expected)
    np.testing.assert_allclose(decision.scores, risk, atol=1e-10)
    assert decision.spend == int(np.argmax(risk))
    assert decision.value == pytest.approx(float(risk.max()), abs=1e-10)
    assert decision.risk == "cvar:0.25"
    # the CVaR spend differs from the mean spend on these samples, so the risk measure matters
    assert int(np.argmax(expected.mean(axis=0))) != decision.spend
    for s in (0, 3, decision.spend):
        np.testing.assert_array_equal(
            decision.allocation_for(s), greedy_allocation(curves.mean(axis=0), s)
        )


def test_caps_and_empty_spend():
    curves = np.array([[0.9, 0.5], [0.8, 0.1]])
    table = surrogate_table([0.3, 0.4, 0.3], 5, 0.5)
    decision = online_decision(curves, 5, table, 0.5, caps=[0, 1])
    assert decision.allocation.tolist() == [0, 1]
    assert decision.scores.size == 2  # spends 0 and 1 only
    np.testing.assert_allclose(
        decision.sample_scores,
        brute_scores(curves[None], table[None], 5, 0.5, caps=np.array([0, 1])),
        atol=1e-12,
    )
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
