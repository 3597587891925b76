"""Posterior regret (exact, against a per-sample brute force) and the error statement."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planning_helpers import allocations, heap_greedy, nb_curves, random_curves, value
from scipy import stats

from planning import PlanningInputs, greedy_allocation, make_planner
from planning.bounds import Estimate
from planning.error_statement import ErrorStatement, error_statement, error_statement_for
from planning.regret import (
    Regret,
    score_regret,
    single_round_regret,
    single_round_regret_samples,
    spend_regret,
)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    samples=st.integers(1, 5),
    n=st.integers(1, 7),
    length=st.integers(1, 5),
    budget=st.integers(0, 20),
    ties=st.booleans(),
    capped=st.booleans(),
    weighted=st.booleans(),
)
def test_single_round_regret_is_exact(seed, samples, n, length, budget, ties, capped, weighted):
    """Against the textbook heap greedy run on each sample separately."""
    rng = np.random.default_rng(seed)
    curves = random_curves(rng, (samples, n, length), ties=ties)
    caps = rng.integers(0, length + 1, n) if capped else None
    weights = rng.random(n) * 2 if weighted else None
    plan = greedy_allocation(curves.mean(axis=0), budget, caps=caps, weights=weights)
    spend = int(plan.sum())
    regret, values, best = single_round_regret_samples(curves, plan, caps, weights)
    for d in range(samples):
        top = heap_greedy(curves[d], spend, caps, weights)
        assert best[d] == pytest.approx(value(curves[d], top, weights), abs=1e-12)
        assert values[d] == pytest.approx(value(curves[d], plan, weights), abs=1e-12)
    assert np.all(regret >= -1e-12)


def test_regret_of_any_plan_is_its_gap_to_the_best_plan():
    rng = np.random.default_rng(1)
    curves = random_curves(rng, (3, 3, 3))
    caps = np.array([3, 2, 3])
    for plan in allocations(3, 5, caps):
        regret, _, _ = single_round_regret_samples(curves, plan, caps)
        spend = int(plan.sum())
        for d in range(3):
            best = max(value(curves[d], k) for k in allocations(3, spend, caps) if k.sum() == spend)
            assert regret[d] == pytest.approx(best - value(curves[d], plan), abs=1e-12)


def test_regret_summary_numbers():
    curves = np.array([[[0.9, 0.1], [0.5, 0.4]], [[0.2, 0.1], [0.5, 0.4]]])
    summary = single_round_regret(curves, [1, 0])
    assert summary.mean == pytest.approx(0.15)  # sample 1: 0.5 - 0.2
    assert summary.p_optimal == 0.5
    assert summary.plan_value == pytest.approx(0.55)
    assert summary.share_mean == pytest.approx(0.15 / 0.55)
    assert summary.q90 == pytest.approx(np.quantile([0.0, 0.3], 0.9))
    assert set(summary.to_dict()) == {"mean", "q90", "share_mean", "share_q90", "p_optimal"}
    json.dumps(summary.to_dict(), allow_nan=False)
    nothing = single_round_regret(curves, [0, 0])
    assert nothing.mean == 0 and nothing.share_mean is None and nothing.p_optimal == 1.0
    assert "optimal for 100%" in nothing.text()
    with pytest.raises(ValueError, match="exceeds"):
        single_round_regret(curves, [3, 0])


def test_spend_and_score_regret():
    scores = np.array([[1.0, 2.0, 1.5], [1.0, 1.2, 3.0], [0.5, 0.7, 0.6]])
    regret = spend_regret(scores, 1)
    assert regret.kind == "spend"
    assert regret.mean == pytest.approx((0 + 1.8 + 0) / 3)
    assert regret.p_optimal == pytest.approx(2 / 3)
    assert regret.plan_value == pytest.approx(scores[:, 1].mean())
    assert "discounted recruits" in regret.text() and "spend decision" in regret.text()
    assert score_regret(scores, 2).p_optimal == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="chosen"):
        score_regret(scores, 3)


def test_regret_on_a_large_frontier_matches_the_greedy():
    """200 x 500 x 200 is handled without a per-sample loop (the benchmark times it)."""
    rng = np.random.default_rng(2)
    curves = nb_curves(rng, 30, 500, 12)
    plan = greedy_allocation(curves.mean(axis=0), 200)
    regret, _, best = single_round_regret_samples(curves, plan)
    for d in (0, 17):
        assert best[d] == pytest.approx(value(curves[d], greedy_allocation(curves[d], 200)))
    assert regret.shape == (30,) and np.all(regret >= -1e-9)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(0)
    samples = nb_curves(rng, 40, 15, 6)
    means = rng.uniform(1.0, 2.0, 40)
    pooled = stats.nbinom.pmf(np.arange(31)[None], 2.0, (2.0 / (2.0 + means))[:, None])
    return PlanningInputs.from_arrays(samples, pooled_pmf=pooled, ppc=Estimate(0.03, "ppc"))


@pytest.mark.parametrize(
    ("name", "settings", "budget"),
    [
        ("greedy", {}, 12),
        ("robust", {"risk": "cvar:0.3"}, 12),
        ("dp", {"gamma": 0.8}, 25),
        ("dp", {"gamma": 1.0}, 25),
    ],
)
def test_error_statement_for_each_planner(inputs, name, settings, budget):
    decision = make_planner(name, **settings).decide(inputs, budget, np.random.default_rng(1))
    statement = error_statement_for(inputs, decision, budget)
    data = statement.to_dict()
    assert set(data["regret"]) == {"mean", "q90", "share_mean", "share_q90", "p_optimal"}
    assert {"total", "parts", "informative", "paper_total"} <= set(data["bound"])
    assert data["informative"] == statement.bound.informative
    json.dumps(data, allow_nan=False)
    assert ErrorStatement.from_dict(data).to_dict() == data
    text = statement.text()
    assert text.index("Posterior regret") < text.index("misspecification bound")
    assert "inf" not in text.replace("infinite", "").replace("inform", "")
    if decision.horizon == "multi":
        assert statement.regret.kind == "spend"
        assert statement.plan_value == pytest.approx(
            decision.details["spend_sample_scores"][:, decision.spend].mean()
        )
        if settings["gamma"] == 1.0:
            assert statement.bound.paper_total is None and statement.bound.total is not None
    else:
        assert statement.regret.kind == "single-round"
        assert statement.plan_value == pytest.approx(decision.sample_values.mean())
    if statement.informative is False:
        assert "does not inform" in text.lower()


def test_error_statement_from_arrays_and_refusals(inputs):
    plan = greedy_allocation(inputs.mean_survival, 8)
    statement = error_statement(inputs.survival, plan, budget=8)
    assert statement.horizon == "single" and statement.bound.kind == "single-round"
    assert statement.bound.total <= statement.bound.paper_total
    with pytest.raises(ValueError, match="spend_sample_scores"):
        error_statement(inputs.survival, plan, budget=8, horizon="multi")
    with pytest.raises(ValueError, match="horizon"):
        error_statement(inputs.survival, plan, budget=8, horizon="both")
    regret = Regret.from_dict(
        statement.regret.to_dict(), plan_value=statement.plan_value, samples=40
    )
    assert regret.to_dict() == statement.regret.to_dict()


def test_error_statement_for_a_multi_round_planner_other_than_the_dp(inputs):
    """A GFP-like decision (no surrogate tables): spend regret, and a single-round bound that says so."""
    from planning.planners import Decision

    plan = greedy_allocation(inputs.mean_survival, 7)
    scores = np.random.default_rng(3).normal(10, 1, (6, 26))
    decision = Decision(
        plan,
        float(scores[:, 7].mean()),
        "multi",
        scores[:, 7],
        {"gamma": 0.9, "spend_sample_scores": scores},
    )
    statement = error_statement_for(inputs, decision, 25)
    assert statement.regret.kind == "backed-up" and statement.regret.samples == 6
    assert "backed-up value" in statement.text()
    assert statement.bound.kind == "single-round"
    assert "No multi-round bound is derived" in statement.bound.verdict
    plug_in = Decision(
        plan, 10.0, "multi", np.array([10.0]), {"gamma": 0.9, "spend_scores": scores[0]}
    )
    assert error_statement_for(inputs, plug_in, 25).regret.samples == 1
