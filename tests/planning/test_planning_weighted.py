"""The weighted objective (priority subgroups): exactness, regret, bounds and coverage constraints.

* *Weighted greedy versus brute force*: random instances of 2-4 people, 1-4
  posterior samples with their own weights ``w_di``, caps up to 3, every
  budget up to the total capacity; the planner's posterior-expected weighted
  recruits equal the best over every allocation.
* *Regret*: the weighted posterior regret equals, per sample, the brute-force
  best weighted value minus the plan's.
* *Bounds*: realised loss <= bound for the weighted objective, single round
  (each sample taken as the truth, as the report does) and multi-round (the
  surrogate world with weighted recruits and a pooled weight, exact DP).
* *Coverage*: the robust MIP meets "at least N recruits from G" under its
  risk measure, is optimal among plans that do (brute force), and refuses a
  request no plan can meet, alone or together.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planning_helpers import allocations, random_curves, value
from reference_dp import evaluate_policy, reference_q_values
from test_planning_bounds import _random_law, _score, perturb
from test_planning_contract import planner_for, random_inputs

from planning import PlanningInputs, make_planner, surrogate_table
from planning.bounds import (
    _normalised_values,
    single_round_report,
    single_round_terms,
    tightened_multi_round_bound,
)
from planning.greedy import allocation_values
from planning.regret import single_round_regret_samples
from planning.risk import parse_risk
from planning.robust import CoverageConstraint, CoverageInfeasibleError, robust_allocation


def weighted_instance(rng, n_samples, n, length, zeros=True):
    curves = random_curves(rng, (n_samples, n, length), ties=bool(rng.random() < 0.3))
    weights = rng.gamma(1.0, 1.5, (n_samples, n))
    if zeros:
        weights *= rng.random((n_samples, n)) > 0.2
    return curves, weights


def expected_weighted(curves, weights, k):
    return float((allocation_values(curves, k) * weights).sum(axis=1).mean())


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 4),
    length=st.integers(1, 3),
    n_samples=st.integers(1, 4),
)
def test_weighted_greedy_equals_brute_force(seed, n, length, n_samples):
    rng = np.random.default_rng(seed)
    curves, weights = weighted_instance(rng, n_samples, n, length)
    caps = rng.integers(0, length + 1, n)
    inputs = PlanningInputs.from_arrays(curves, caps=caps, weights=weights)
    planner = make_planner("greedy")
    for budget in range(int(caps.sum()) + 1):
        decision = planner.decide(inputs, budget, np.random.default_rng(0))
        best = max(expected_weighted(curves, weights, k) for k in allocations(n, budget, caps))
        assert decision.value == pytest.approx(best, abs=1e-12)
        assert decision.value == pytest.approx(
            expected_weighted(curves, weights, decision.allocation)
        )


def test_the_greedy_uses_the_mean_of_products_not_the_product_of_means():
    """E_d[S_d w_d] differs from E[S] E[w] when capacity and weight move together over samples."""
    curves = np.array([[[0.9], [0.5]], [[0.1], [0.5]]])  # person 0 uncertain, person 1 not
    weights = np.array([[0.2, 1.0], [3.0, 1.0]])  # person 0 is worth most where it recruits least
    inputs = PlanningInputs.from_arrays(curves, weights=weights)
    decision = make_planner("greedy").decide(inputs, 1, np.random.default_rng(0))
    # E[S w]: person 0 (0.9*0.2 + 0.1*3)/2 = 0.24 < person 1's 0.5; E[S]E[w] would say 0.5*1.6 = 0.8
    assert decision.allocation.tolist() == [0, 1]
    assert decision.value == pytest.approx(0.5)


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 4),
    length=st.integers(1, 3),
    n_samples=st.integers(1, 4),
)
def test_weighted_regret_is_exact(seed, n, length, n_samples):
    rng = np.random.default_rng(seed)
    curves, weights = weighted_instance(rng, n_samples, n, length)
    caps = rng.integers(0, length + 1, n)
    plan = np.array([int(rng.integers(0, c + 1)) for c in caps])
    regret, values, best = single_round_regret_samples(curves, plan, caps, weights)
    for d in range(n_samples):
        options = [k for k in allocations(n, int(plan.sum()), caps) if k.sum() == plan.sum()]
        top = max(value(curves[d], k, weights[d]) for k in options)
        assert best[d] == pytest.approx(top, abs=1e-12)
        assert values[d] == pytest.approx(value(curves[d], plan, weights[d]), abs=1e-12)
        assert regret[d] == pytest.approx(top - values[d], abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 5),
    length=st.integers(1, 4),
    n_samples=st.integers(2, 6),
    budget=st.integers(0, 10),
)
def test_weighted_single_round_bound_covers_each_sample_as_the_truth(
    seed, n, length, n_samples, budget
):
    rng = np.random.default_rng(seed)
    curves, weights = weighted_instance(rng, n_samples, n, length)
    caps = rng.integers(0, length + 1, n)
    inputs = PlanningInputs.from_arrays(curves, caps=caps, weights=weights)
    plan = make_planner("greedy").decide(inputs, budget, np.random.default_rng(0)).allocation
    spend = int(plan.sum())
    scaled, top = _normalised_values(curves, weights)
    hat = scaled.mean(axis=0)
    terms = single_round_terms(hat, plan, np.abs(scaled - hat[None]), caps, top)
    assert terms.plan_is_greedy
    options = [k for k in allocations(n, spend, caps) if k.sum() == spend]
    for d in range(n_samples):
        loss = max(value(curves[d], k, weights[d]) for k in options) - value(
            curves[d], plan, weights[d]
        )
        assert loss <= terms.total[d] + 1e-9
        assert terms.total[d] <= terms.paper[d] + 1e-9
    report = single_round_report(curves, spend, weights=weights, allocation=plan, caps=caps)
    assert report.total == pytest.approx(np.quantile(terms.total, 0.9, method="higher"))


@settings(max_examples=120, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    budget=st.integers(1, 6),
    n=st.integers(1, 3),
    length=st.integers(1, 3),
    gamma=st.sampled_from([0.3, 0.8, 1.0]),
    scale=st.sampled_from([0.02, 0.1, 0.3]),
)
def test_weighted_multi_round_loss_never_exceeds_the_bound(seed, budget, n, length, gamma, scale):
    """Surrogate world with weights: round 1 worth sum_i w_i S_i, later recruits wbar each."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(2, 5))
    true_pop = _random_law(rng, size)
    est_pop = np.clip(true_pop + rng.normal(0, scale, size), 0, None) + 1e-3
    est_pop /= est_pop.sum()
    true_front = random_curves(rng, (n, length))
    est_front = perturb(rng, true_front, scale)
    w_true = rng.gamma(1.0, 1.5, n)
    w_est = np.clip(w_true + rng.normal(0, scale * 3, n), 0, None)
    p_true = float(rng.uniform(0.3, 3.0))
    p_est = max(0.0, p_true + float(rng.normal(0, scale * 3)))
    caps = np.full(n, length)
    u_true = surrogate_table(true_pop, budget, gamma)
    u_est = surrogate_table(est_pop, budget, gamma)
    policy = np.argmax(reference_q_values(est_pop, budget, gamma, u_est), axis=2)
    v_policy = evaluate_policy(true_pop, budget, gamma, policy)

    def score(front, w, k, table, pooled):
        later = _score(front, k, table, budget - int(k.sum()), gamma) - value(front, k)
        return value(front, k, w) + pooled * later

    options = list(allocations(n, budget, caps))
    plan = max(options, key=lambda k: score(est_front, w_est, k, u_est, p_est))
    optimum = max(score(true_front, w_true, k, u_true, p_true) for k in options)
    loss = optimum - score(true_front, w_true, plan, v_policy, p_true)
    assert loss >= -1e-9
    terms = tightened_multi_round_bound(
        true_front,
        est_front,
        plan,
        true_pop,
        est_pop,
        gamma,
        budget,
        caps=caps,
        table=u_est,
        weights=(w_true, w_est),
        pooled_weight=(p_true, p_est),
    )
    assert loss <= terms.total[0] + 1e-9


@pytest.mark.parametrize(
    "case",
    [
        "greedy",
        "robust-cvar",
        "robust-worst",
        "dp",
        "dp-cvar-pooled",
        "thompson",
        "gfp",
        "greedy_fixed",
        "random",
        "fitted_q",
        "oracle",
    ],
)
def test_a_common_weight_scales_values_and_keeps_the_plan(case):
    """Every recruit worth c: the same plan, every value multiplied by c."""
    base = random_inputs(5, n_samples=6, n_people=6, length=4)
    c = 2.5
    scaled = PlanningInputs.from_arrays(
        base.survival, caps=base.caps, pooled_pmf=base.pooled_pmf, weights=np.full((6, 6), c)
    )
    planner = planner_for(case)
    a = planner.decide(base, 9, np.random.default_rng(1))
    b = planner.decide(scaled, 9, np.random.default_rng(1))
    np.testing.assert_array_equal(a.allocation, b.allocation)
    assert b.value == pytest.approx(c * a.value, rel=1e-9)


# --------------------------------------------------------------------------- coverage
def coverage_instance(seed, n_samples=5, n=4, length=3):
    rng = np.random.default_rng(seed)
    curves = random_curves(rng, (n_samples, n, length))
    probs = rng.uniform(0, 1, (n_samples, n)) * (rng.random(n) < 0.6)[None]
    weights = rng.uniform(0.5, 2.0, (n_samples, n))
    return curves, probs, weights


@pytest.mark.parametrize("risk", ["mean", "cvar:0.4", "worst"])
@pytest.mark.parametrize("seed", range(6))
def test_coverage_is_met_and_optimal_among_plans_that_meet_it(risk, seed):
    curves, probs, weights = coverage_instance(seed)
    measure = parse_risk(risk)
    budget = 5
    free = robust_allocation(curves, budget, risk, weights=weights, mip_rel_gap=0.0)
    sub = curves * probs[..., None]
    top = robust_allocation(sub, budget, risk, mip_rel_gap=0.0).objective
    reached = measure.evaluate(allocation_values(sub, free.allocation).sum(axis=1))
    minimum = float(
        reached + 0.6 * (top - reached)
    )  # between what the free plan reaches and the most
    result = robust_allocation(
        curves,
        budget,
        risk,
        weights=weights,
        mip_rel_gap=0.0,
        coverage=[CoverageConstraint("G", probs, minimum)],
    )
    achieved = measure.evaluate(allocation_values(sub, result.allocation).sum(axis=1))
    assert achieved >= minimum - 1e-6
    assert result.coverage[0]["achieved"] == pytest.approx(achieved)
    assert result.objective <= free.objective + 1e-9
    feasible = [
        k
        for k in allocations(4, budget, np.full(4, 3))
        if measure.evaluate(allocation_values(sub, k).sum(axis=1)) >= minimum - 1e-9
    ]
    best = max(
        measure.evaluate((allocation_values(curves, k) * weights).sum(axis=1)) for k in feasible
    )
    assert result.objective == pytest.approx(best, abs=1e-6)


def test_coverage_beyond_reach_is_refused_with_what_can_be_reached():
    curves, probs, _ = coverage_instance(2)
    top = robust_allocation(curves * probs[..., None], 4, "cvar:0.4").objective
    with pytest.raises(CoverageInfeasibleError, match=r"G: at most \d+\.\d\d \(asked 99\)"):
        robust_allocation(curves, 4, "cvar:0.4", coverage=[CoverageConstraint("G", probs, 99.0)])
    ok = robust_allocation(
        curves, 4, "cvar:0.4", coverage=[CoverageConstraint("G", probs, 0.999 * top)]
    )
    assert ok.coverage[0]["achieved"] >= 0.999 * top - 1e-6


def test_coverage_constraints_that_cannot_hold_together_are_refused():
    curves = np.ones((2, 2, 1))  # two people, one coupon each at most, both recruit for sure
    a = np.array([[1.0, 0.0]] * 2)  # person 0's recruits are in A
    b = np.array([[0.0, 1.0]] * 2)  # person 1's in B
    both = [CoverageConstraint("A", a, 0.9), CoverageConstraint("B", b, 0.9)]
    with pytest.raises(CoverageInfeasibleError, match="cannot all be met together"):
        robust_allocation(curves, 1, "mean", coverage=both)
    assert robust_allocation(curves, 2, "mean", coverage=both).allocation.tolist() == [1, 1]


def test_robust_planner_reads_coverage_from_the_inputs_subgroups():
    curves, probs, weights = coverage_instance(4)
    inputs = PlanningInputs.from_arrays(curves, weights=weights, subgroups={"SEX=F": probs})
    planner = make_planner("robust", risk="mean", coverage="SEX=F:1.2")
    decision = planner.decide(inputs, 5, np.random.default_rng(0))
    assert decision.details["coverage"][0]["subgroup"] == "SEX=F"
    assert decision.details["coverage"][0]["achieved"] >= 1.2 - 1e-6
    assert decision.value == pytest.approx(planner.evaluate(inputs, 5, decision.allocation, None))
    with pytest.raises(ValueError, match="recruit-covariate model"):
        make_planner("robust", coverage="DRUG=yes:1").decide(inputs, 5, np.random.default_rng(0))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(3, 6),
    budget=st.integers(1, 4),
    risk=st.sampled_from(["mean", "cvar:0.5", "worst"]),
    share=st.floats(0.2, 0.95),
)
def test_coverage_with_dominance_trimming_matches_brute_force(seed, n, budget, risk, share):
    """Many people, few coupons: most coupons are dominated, and trimming must keep an optimum."""
    rng = np.random.default_rng(seed)
    curves = random_curves(rng, (3, n, 2))
    probs = rng.uniform(0, 1, (3, n)) * (rng.random(n) < 0.5)[None]
    weights = rng.uniform(0.5, 2.0, (3, n))
    measure = parse_risk(risk)
    sub = curves * probs[..., None]
    options = list(allocations(n, budget, np.full(n, 2)))
    reach = [measure.evaluate(allocation_values(sub, k).sum(axis=1)) for k in options]
    minimum = share * max(reach)
    best = max(
        measure.evaluate((allocation_values(curves, k) * weights).sum(axis=1))
        for k, r in zip(options, reach, strict=True)
        if r >= minimum - 1e-9
    )
    result = robust_allocation(
        curves,
        budget,
        risk,
        weights=weights,
        mip_rel_gap=0.0,
        coverage=[CoverageConstraint("G", probs, minimum)],
    )
    assert result.coverage[0]["achieved"] >= minimum - 1e-6
    assert result.objective == pytest.approx(best, abs=1e-6)


def test_plan_reports_weighted_recruits_and_subgroups_and_round_trips():
    from planning import make_plan
    from planning.plan import Plan

    curves, probs, weights = coverage_instance(8, n_samples=40, n=6)
    inputs = PlanningInputs.from_arrays(
        curves, weights=weights, subgroups={"SEX=F": probs}, provenance={"priority": "SEX=F:3"}
    )
    plan = make_plan(inputs, make_planner("greedy"), 5, seed=0)
    per_sample = (allocation_values(curves, plan.allocation) * probs).sum(axis=1)
    assert plan.subgroups["SEX=F"]["mean"] == pytest.approx(per_sample.mean())
    lo, hi = plan.subgroups["SEX=F"]["interval_90"]
    assert lo == pytest.approx(np.quantile(per_sample, 0.05)) and hi == pytest.approx(
        np.quantile(per_sample, 0.95)
    )
    weighted = (allocation_values(curves, plan.allocation) * weights).sum(axis=1)
    assert plan.weighted_recruits["mean"] == pytest.approx(weighted.mean())
    assert plan.statement.plan_value == pytest.approx(weighted.mean())
    again = Plan.from_json(plan.to_json())
    assert again.subgroups == plan.subgroups and again.weighted_recruits == plan.weighted_recruits
    assert again.priority == "SEX=F:3"
    text = plan.summary_text()
    assert (
        "Weighted recruits this round (SEX=F:3)" in text and "Expected recruits by subgroup" in text
    )
    rows = plan.summary().table.set_index("quantity")
    assert rows.loc["expected recruits from SEX=F", "value"] == pytest.approx(per_sample.mean())
    plain = make_plan(PlanningInputs.from_arrays(curves), make_planner("greedy"), 5, seed=0)
    assert plain.subgroups == {} and plain.weighted_recruits is None and plain.priority is None
    assert "Weighted recruits" not in plain.summary_text()


def test_adding_weights_to_validated_inputs_equals_building_them_with_weights():
    rng = np.random.default_rng(3)
    curves = random_curves(rng, (4, 6, 3))
    weights = rng.uniform(0.0, 3.0, size=(4, 6))
    built = PlanningInputs.from_arrays(curves, weights=weights, pooled_weight=1.5)
    added = PlanningInputs.from_arrays(curves).with_weights(weights, 1.5, {"priority": "x"})
    np.testing.assert_array_equal(added.weights, built.weights)
    np.testing.assert_array_equal(added.pooled_weight, built.pooled_weight)
    assert added.provenance["priority"] == "x" and not added.weights.flags.writeable
    with pytest.raises(ValueError, match="weights"):
        PlanningInputs.from_arrays(curves).with_weights(-weights)
