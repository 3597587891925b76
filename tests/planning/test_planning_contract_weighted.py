"""The planner contract with recruit weights (priority subgroups), and all-ones weights changing nothing.

Every registered planner (default settings, the variants of
``test_planning_contract.py`` and the evaluation settings of
``test_planning_contract_gfp.py``) runs on inputs whose recruits carry random
per-sample weights ``w_di`` and a random pooled weight ``wbar_d``. Checked:
integer allocation, caps, budget and per-round cap respected, same seed same
decision, and the claimed value equals ``evaluate`` of the returned allocation
(the weighted objective, recomputed independently). Single-round planners
must claim a risk of the per-sample *weighted* recruits.

With every weight 1 each planner must return exactly what it returns without
weights: the same allocation, the same claimed value, the same error statement.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_planning_contract import CASES as PLAIN_CASES
from test_planning_contract import planner_for, random_inputs
from test_planning_contract_gfp import CASES as GFP_CASES
from test_planning_contract_gfp import contract_inputs

from planning import PlanningInputs, make_plan, make_planner
from planning.greedy import allocation_values


def weighted(inputs: PlanningInputs, seed: int, ones: bool = False) -> PlanningInputs:
    """The same inputs with random (or all-ones) weights per sample and a pooled weight."""
    rng = np.random.default_rng(seed + 1000)
    shape = (inputs.n_samples, inputs.n_people)
    weights = np.ones(shape) if ones else rng.gamma(1.0, 1.5, shape) * (rng.random(shape) > 0.15)
    pooled = None if ones else rng.uniform(0.3, 3.0, inputs.n_samples)
    return PlanningInputs.from_arrays(
        inputs.survival,
        ids=inputs.ids,
        caps=inputs.caps,
        pooled_pmf=inputs.pooled_pmf,
        offspring=inputs.offspring,
        frontier=inputs.frontier,
        provenance=inputs.provenance,
        weights=weights,
        pooled_weight=pooled,
    )


def plain_case(case: str):
    return planner_for(case), random_inputs


def gfp_case(case: str):
    name, settings = GFP_CASES[case]
    return make_planner(name, **settings()), contract_inputs


ALL = {
    **{f"plain:{c}": plain_case for c in PLAIN_CASES},
    **{f"eval:{c}": gfp_case for c in GFP_CASES},
}


def build(key: str):
    _, case = key.split(":", 1)
    return ALL[key](case)


@pytest.mark.parametrize("key", sorted(ALL))
@pytest.mark.parametrize("seed", range(4))
def test_weighted_planner_contract(key, seed):
    planner, make_inputs = build(key)
    inputs = weighted(make_inputs(seed), seed)
    budget = int(np.random.default_rng(seed + 100).integers(0, 13))
    first = planner.decide(inputs, budget, np.random.default_rng(seed))
    again = planner.decide(inputs, budget, np.random.default_rng(seed))

    allocation = first.allocation
    assert allocation.dtype == np.int64 and allocation.shape == (inputs.n_people,)
    assert np.all(allocation >= 0)
    assert np.all(allocation <= inputs.caps), "caps respected"
    assert allocation.sum() <= budget, "budget respected"
    cap = getattr(planner, "max_per_round", None)
    assert cap is None or allocation.sum() <= cap, "per-round cap respected"
    np.testing.assert_array_equal(again.allocation, allocation)
    assert again.value == first.value
    claimed = planner.evaluate(inputs, budget, allocation, np.random.default_rng(seed))
    assert first.value == pytest.approx(claimed, rel=1e-9, abs=1e-9)
    assert np.all(np.isfinite(first.sample_values))


@pytest.mark.parametrize("key", sorted(k for k in ALL if k.startswith("plain:")))
def test_single_round_planners_claim_weighted_recruits(key):
    planner, make_inputs = build(key)
    inputs = weighted(make_inputs(7), 7)
    decision = planner.decide(inputs, 6, np.random.default_rng(0))
    if decision.horizon != "single":
        pytest.skip("multi-round value covers later rounds")
    per_person = allocation_values(inputs.survival, decision.allocation) * inputs.weights
    np.testing.assert_allclose(decision.sample_values, per_person.sum(axis=1), rtol=1e-9)


@pytest.mark.parametrize("key", sorted(ALL))
@pytest.mark.parametrize("seed", range(3))
def test_all_ones_weights_change_nothing(key, seed):
    """Weights of 1 everywhere: the same allocation and the same claimed value, exactly."""
    planner, make_inputs = build(key)
    plain = make_inputs(seed)
    ones = weighted(plain, seed, ones=True)
    assert ones.weighted and np.all(ones.pooled_weight == 1.0)
    budget = int(np.random.default_rng(seed + 200).integers(0, 13))
    a = planner.decide(plain, budget, np.random.default_rng(seed))
    b = planner.decide(ones, budget, np.random.default_rng(seed))
    np.testing.assert_array_equal(a.allocation, b.allocation)
    assert a.value == b.value
    np.testing.assert_array_equal(a.sample_values, b.sample_values)


@pytest.mark.parametrize("case", ["greedy", "robust-cvar", "dp-cvar-pooled", "gfp"])
def test_all_ones_weights_keep_the_plan_and_its_error_statement(case):
    plain = random_inputs(3, n_samples=8, n_people=6, length=4)
    ones = weighted(plain, 3, ones=True)
    planner = planner_for(case)
    a = make_plan(plain, planner, 8, seed=2)
    b = make_plan(ones, planner, 8, seed=2)
    np.testing.assert_array_equal(a.allocation, b.allocation)
    assert a.statement.to_dict() == b.statement.to_dict()
    assert b.weighted_recruits["mean"] == pytest.approx(a.expected_recruits, rel=1e-12)


def test_pooled_weight_defaults_to_the_frontier_mean_and_samples_slice():
    inputs = random_inputs(1)
    rng = np.random.default_rng(0)
    w = rng.uniform(0, 2, (inputs.n_samples, inputs.n_people))
    out = replace(weighted(inputs, 1), pooled_weight=None)
    built = PlanningInputs.from_arrays(inputs.survival, caps=inputs.caps, weights=w)
    np.testing.assert_allclose(built.pooled_weight, w.mean(axis=1))
    part = built.with_samples([2, 0])
    np.testing.assert_array_equal(part.weights, w[[2, 0]])
    assert out.pooled_weight is None


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (-np.ones(5), "finite and >= 0"),
        (np.full(5, np.nan), "finite"),
        (np.ones((2, 5)), "must have shape"),
    ],
)
def test_bad_weights_are_refused(weights, message):
    inputs = random_inputs(0)
    with pytest.raises(ValueError, match=message):
        PlanningInputs.from_arrays(inputs.survival, weights=weights)
