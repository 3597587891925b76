"""One contract suite for every planner (STYLE.md, pattern 14).

Over random small instances, each planner must: respect the budget and the
per-person caps, return an integer allocation, give the same decision for the
same seed, and claim for the returned allocation the value its own objective
gives that allocation, recomputed independently (``evaluate``). Planners
registered in ``planning.PLANNERS`` with default settings join automatically.
"""

from __future__ import annotations

import numpy as np
import pytest

from planning import PLANNERS, PlanningInputs, make_plan, make_planner
from planning.greedy import allocation_values


def random_inputs(
    seed: int, n_samples: int = 6, n_people: int = 5, length: int = 4
) -> PlanningInputs:
    """Random non-increasing curves, random caps and a random pooled law per sample."""
    rng = np.random.default_rng(seed)
    steps = rng.uniform(0.0, 1.0, size=(n_samples, n_people, length))
    curves = np.cumprod(steps, axis=-1)  # non-increasing in the level, in [0, 1]
    caps = rng.integers(0, length + 1, size=n_people)
    pooled = rng.dirichlet(np.ones(length + 2), size=n_samples)[:, :-1]  # last atom: tail
    return PlanningInputs.from_arrays(curves, caps=caps, pooled_pmf=pooled)


CASES = {
    **{name: {} for name in PLANNERS},
    "robust-cvar": {"risk": "cvar:0.3"},
    "robust-worst": {"risk": "worst"},
    "dp-cvar-pooled": {"risk": "cvar:0.5", "tables": "pooled", "samples": 3},
    "dp-gamma-one": {"gamma": 1.0},
    "dp-capped": {"max_per_round": 2},
    "dp-capped-cvar-pooled": {"max_per_round": 3, "risk": "cvar:0.5", "tables": "pooled"},
}


def planner_for(case: str):
    name = case.split("-")[0]
    return make_planner(name, **CASES[case])


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", range(6))
def test_planner_contract(case, seed):
    inputs = random_inputs(seed)
    planner = planner_for(case)
    budget = int(np.random.default_rng(seed + 100).integers(0, 12))
    first = planner.decide(inputs, budget, np.random.default_rng(seed))
    again = planner.decide(inputs, budget, np.random.default_rng(seed))

    allocation = first.allocation
    assert allocation.dtype == np.int64
    assert allocation.shape == (inputs.n_people,)
    assert np.all(allocation >= 0)
    assert np.all(allocation <= inputs.caps), "caps respected"
    assert allocation.sum() <= budget, "budget respected"
    assert first.spend == allocation.sum()
    np.testing.assert_array_equal(again.allocation, allocation)
    assert again.value == first.value
    claimed = planner.evaluate(inputs, budget, allocation, np.random.default_rng(seed))
    assert first.value == pytest.approx(claimed, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("case", sorted(CASES))
def test_single_round_values_are_expected_recruits(case):
    """Single-round planners claim a risk of the per-sample recruits of their allocation."""
    inputs = random_inputs(7)
    planner = planner_for(case)
    decision = planner.decide(inputs, 6, np.random.default_rng(0))
    if decision.horizon != "single":
        pytest.skip("multi-round value covers later rounds")
    recruits = allocation_values(inputs.survival, decision.allocation).sum(axis=1)
    np.testing.assert_allclose(decision.sample_values, recruits, rtol=1e-9)
    assert recruits.min() - 1e-9 <= decision.value <= recruits.max() + 1e-9


def test_dp_plan_reports_the_value_of_the_allocation_it_returns():
    """The dp plan's value estimate is the score of its allocation, not of another one.

    More posterior samples than the decision scores, so the allocation (greedy
    on all samples' mean curves) differs from the scored samples' own greedy.
    """
    inputs = random_inputs(11, n_samples=60, n_people=8, length=5)
    planner = make_planner("dp", samples=4, gamma=0.8)
    plan = make_plan(inputs, planner, 10, seed=5)
    recomputed = planner.evaluate(inputs, 10, plan.allocation, np.random.default_rng(5))
    assert plan.value_estimate == pytest.approx(recomputed, rel=1e-9)


def test_unknown_planner_and_setting_are_refused():
    with pytest.raises(ValueError, match="unknown planner 'nope'"):
        make_planner("nope")
    with pytest.raises(ValueError, match="has no setting"):
        make_planner("greedy", gamma=0.5)
