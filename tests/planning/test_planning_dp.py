"""Population surrogate DP: fast table against the published recursion."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from reference_dp import evaluate_policy, reference_table
from scipy import stats

from planning import surrogate_table, transition_laws

REF_BUDGET = 25


def laws() -> dict[str, np.ndarray]:
    j = np.arange(40)
    zero_inflated = 0.45 * (j == 0) + 0.55 * stats.poisson.pmf(j, 2.5)
    heavy = 1.0 / (j + 1.0) ** 2.2
    heavy = 0.97 * heavy / heavy.sum()  # missing mass 0.03 sits at C = 40
    return {
        "poisson": stats.poisson.pmf(j, 1.4),
        "negative-binomial": stats.nbinom.pmf(j, 0.8, 0.8 / (0.8 + 1.6)),
        "zero-inflated": zero_inflated,
        "heavy-tailed": heavy,
        "short": np.array([0.3, 0.2]),  # P(C >= 2) = 0.5 as an atom at 2
    }


@pytest.fixture(scope="module")
def references() -> dict[tuple[str, float], np.ndarray]:
    return {
        (name, gamma): reference_table(pmf, REF_BUDGET, gamma)
        for name, pmf in laws().items()
        for gamma in (0.5, 0.9, 1.0)
    }


@pytest.mark.parametrize("name", list(laws()))
@pytest.mark.parametrize("gamma", [0.5, 0.9, 1.0])
def test_fast_table_matches_reference_for_every_budget(references, name, gamma):
    pmf = laws()[name]
    ref = references[(name, gamma)]
    for budget in range(REF_BUDGET + 1):
        table = surrogate_table(pmf, budget, gamma)
        assert table.shape == (budget + 1, budget + 1)
        np.testing.assert_allclose(table, ref[: budget + 1, : budget + 1], rtol=0, atol=1e-9)


def test_block_size_does_not_matter():
    pmf = laws()["negative-binomial"]
    base = surrogate_table(pmf, 40, 0.9)
    for block in (1, 3, 7, 64):
        np.testing.assert_allclose(surrogate_table(pmf, 40, 0.9, block=block), base, atol=1e-12)


def test_structure_of_the_table():
    pmf = laws()["zero-inflated"]
    table = surrogate_table(pmf, 60, 0.8)
    assert np.all(table[0] == 0) and np.all(table[:, 0] == 0)
    assert np.all(np.diff(table, axis=0) >= -1e-12)  # more budget never hurts
    assert np.all(np.diff(table, axis=1) >= -1e-12)  # a larger frontier never hurts
    for r in range(61):
        np.testing.assert_allclose(table[r, r:], table[r, r])  # U(r, n) = U(r, r), n >= r
    assert np.all(table <= np.arange(61)[:, None] + 1e-12)  # at most one recruit per coupon


def test_laws_reuse_and_single_round_limit():
    pmf = laws()["poisson"]
    built = transition_laws(pmf, 30)
    np.testing.assert_allclose(
        surrogate_table(pmf, 30, 0.7, laws=built), surrogate_table(pmf, 30, 0.7), atol=0
    )
    with pytest.raises(ValueError, match="budget"):
        surrogate_table(pmf, 20, 0.7, laws=built)
    # With a tiny gamma the table is the best single-round even split.
    surv = 1 - np.cumsum(pmf)
    table = surrogate_table(pmf, 12, 1e-9)
    n, r = 5, 12
    a, c = divmod(r, n)
    assert table[r, n] == pytest.approx(n * surv[:a].sum() + c * surv[a], abs=1e-6)


@pytest.mark.parametrize("gamma", [0.0, -0.1, 1.5, float("nan")])
def test_bad_gamma(gamma):
    with pytest.raises(ValueError, match="gamma"):
        surrogate_table([0.5, 0.5], 3, gamma)


def test_bad_budget():
    with pytest.raises(ValueError, match="budget"):
        surrogate_table([0.5, 0.5], -1, 0.5)
    assert surrogate_table([0.5, 0.5], 0, 0.5).shape == (1, 1)


# --------------------------------------------------------------------------- per-round spend cap
@pytest.mark.parametrize("name", ["poisson", "zero-inflated", "short"])
@pytest.mark.parametrize("cap", [0, 1, 2, 5])
def test_capped_table_matches_the_capped_recursion(name, cap):
    pmf = laws()[name]
    budget = 14
    ref = reference_table(pmf, budget, 0.9, max_per_round=cap)
    table = surrogate_table(pmf, budget, 0.9, max_per_round=cap)
    np.testing.assert_allclose(table, ref, rtol=0, atol=1e-9)
    for block in (1, 4):
        np.testing.assert_allclose(
            surrogate_table(pmf, budget, 0.9, max_per_round=cap, block=block), table, atol=1e-12
        )


def test_no_cap_and_a_loose_cap_reproduce_the_uncapped_table_exactly():
    for pmf in laws().values():
        base = surrogate_table(pmf, 30, 0.8)
        np.testing.assert_array_equal(surrogate_table(pmf, 30, 0.8, max_per_round=None), base)
        np.testing.assert_array_equal(surrogate_table(pmf, 30, 0.8, max_per_round=30), base)
        np.testing.assert_array_equal(surrogate_table(pmf, 30, 0.8, max_per_round=99), base)
        built = transition_laws(pmf, 30)
        np.testing.assert_array_equal(surrogate_table(pmf, 30, 0.8, laws=built), base)


def test_cap_costs_value_monotonically_and_capped_laws_are_checked():
    pmf = laws()["negative-binomial"]
    tables = [surrogate_table(pmf, 24, 0.9, max_per_round=cap) for cap in range(0, 25)]
    assert np.all(tables[0] == 0)
    for tighter, looser in itertools.pairwise(tables):
        assert np.all(tighter <= looser + 1e-12)  # a tighter cap never helps
    capped = tables[3]
    for r in range(25):
        np.testing.assert_allclose(capped[r, r:], capped[r, r])  # U(r, n) = U(r, r), n >= r
    # One round of at most 3 coupons brings at most 3 recruits: U <= 3 sum_t gamma^t.
    assert np.all(capped <= 3 / (1 - 0.9) + 1e-9)
    small = transition_laws(pmf, 24, max_spend=3)
    np.testing.assert_allclose(
        surrogate_table(pmf, 24, 0.9, laws=small, max_per_round=3), capped, atol=0
    )
    with pytest.raises(ValueError, match="spends up to"):
        surrogate_table(pmf, 24, 0.9, laws=small, max_per_round=4)
    with pytest.raises(ValueError, match="max_per_round"):
        surrogate_table(pmf, 24, 0.9, max_per_round=-1)


def _all_policies_best(pmf, budget: int, gamma: float, cap: int) -> np.ndarray:
    """Brute force: the best value over every deterministic cap-respecting spend policy.

    A policy is a spend ``s(r, n) in 0..min(r, cap)`` for every state ``1 <= r, n <= budget``;
    each is evaluated with the reference's own policy evaluation (no maximisation inside).
    """
    states = [(r, n) for r in range(1, budget + 1) for n in range(1, budget + 1)]
    choices = [range(min(r, cap) + 1) for r, _ in states]
    best = np.zeros((budget + 1, budget + 1))
    for spends in itertools.product(*choices):
        policy = np.zeros((budget + 1, budget + 1), dtype=np.int64)
        for (r, n), s in zip(states, spends, strict=True):
            policy[r, n] = s
        best = np.maximum(best, evaluate_policy(pmf, budget, gamma, policy))
    return best


@pytest.mark.parametrize("cap", [1, 2])
def test_capped_table_is_the_best_cap_respecting_policy_by_enumeration(cap):
    """Enumerate every spend policy under the cap on a tiny instance (same pooled law)."""
    pmf = np.array([0.35, 0.25, 0.25])  # P(C >= 3) = 0.15
    budget, gamma = 3, 0.8
    best = _all_policies_best(pmf, budget, gamma, cap)
    table = surrogate_table(pmf, budget, gamma, max_per_round=cap)
    np.testing.assert_allclose(table, best, atol=1e-12)
    # ... and the uncapped table is strictly better somewhere (the cap binds).
    assert np.max(surrogate_table(pmf, budget, gamma) - table) > 1e-6


def test_capped_planner_spends_within_the_cap_and_claims_its_allocation():
    from planning import PlanningInputs, make_planner

    rng = np.random.default_rng(3)
    curves = np.cumprod(rng.uniform(0.5, 1.0, size=(4, 8, 5)), axis=-1)
    pooled = rng.dirichlet(np.ones(7), size=4)[:, :-1]
    inputs = PlanningInputs.from_arrays(curves, caps=5, pooled_pmf=pooled)
    uncapped = make_planner("dp", gamma=0.9).decide(inputs, 20, np.random.default_rng(1))
    assert uncapped.allocation.sum() > 4  # the cap below binds
    for cap in (0, 1, 4):
        planner = make_planner("dp", gamma=0.9, max_per_round=cap)
        decision = planner.decide(inputs, 20, np.random.default_rng(1))
        assert decision.allocation.sum() <= cap
        assert decision.details["spend_scores"].size == cap + 1
        claimed = planner.evaluate(inputs, 20, decision.allocation, np.random.default_rng(1))
        assert decision.value == pytest.approx(claimed, rel=1e-12, abs=1e-12)
        assert decision.value <= uncapped.value + 1e-9
    loose = make_planner("dp", gamma=0.9, max_per_round=20).decide(
        inputs, 20, np.random.default_rng(1)
    )
    np.testing.assert_array_equal(loose.allocation, uncapped.allocation)
    assert loose.value == uncapped.value
    with pytest.raises(ValueError, match="max_per_round"):
        make_planner("dp", max_per_round=-2)


def test_episodes_pass_the_round_cap_to_the_dp_instead_of_trimming():
    from planning import make_planner
    from planning.simulation import make_world
    from planning.simulation.arrays import as_arrays
    from planning.simulation.planned import PlannerPolicy, TrueLaws
    from planning.simulation.rounds import EpisodeSettings, run_episode

    arrays = as_arrays(make_world("tunnel"))
    settings = EpisodeSettings.for_world(arrays, budget=40, max_per_round=4)
    people, _ = arrays.start(30, np.random.default_rng(0), np.uint64(1))
    model = TrueLaws.of(arrays, people, settings.budget)
    policy = PlannerPolicy(make_planner("dp", gamma=0.9), model, record=True)
    policy = policy.for_settings(settings)
    assert policy.planner.max_per_round == 4
    result = run_episode(arrays, policy, settings, seed=3)
    assert result.spend.max() <= 4 and result.rounds > 1
    assert not any(d["trimmed"] for d in policy.decisions)
