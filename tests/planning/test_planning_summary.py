"""PlanSummary: one table and paragraph from the plan's numbers, and the trust verdict."""

from __future__ import annotations

import json

import numpy as np
import pytest
from planning_helpers import nb_curves

from planning import PlanningInputs, make_plan, make_planner


def plan_with(diagnostics, samples=1, seed=0):
    curves = nb_curves(np.random.default_rng(seed), samples, 12, 5)
    inputs = PlanningInputs.from_arrays(curves)
    return make_plan(inputs, make_planner("greedy"), 10, diagnostics=diagnostics)


def test_a_point_model_with_clean_diagnostics_is_trusted():
    summary = plan_with({"verdict": "ok"}).summary()
    assert summary.verdict == "trust"
    values = dict(zip(summary.table["quantity"], summary.table["value"], strict=True))
    assert values["coupons this round"] == 10
    assert values["posterior regret (mean)"] == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("diagnostics", "verdict"),
    [({"verdict": "fail"}, "do not use"), ({"verdict": "warn"}, "caution"), (None, "caution")],
)
def test_diagnostics_cap_the_verdict(diagnostics, verdict):
    summary = plan_with(diagnostics).summary()
    assert summary.verdict == verdict
    assert verdict in summary.text


def test_large_regret_is_not_trusted():
    # very different posterior samples: the plan for their mean is poor for many of them
    rng = np.random.default_rng(3)
    curves = np.where(rng.random((40, 12, 1)) < 0.5, 0.95, 0.02) * np.ones((1, 1, 4))
    plan = make_plan(
        PlanningInputs.from_arrays(curves), make_planner("greedy"), 3, diagnostics={"verdict": "ok"}
    )
    assert plan.regret.share_q90 > 0.25
    assert plan.summary().verdict == "do not use"


def test_summary_numbers_match_the_plan_and_the_json():
    plan = plan_with({"verdict": "ok"}, samples=30)
    summary = plan.summary()
    row = summary.table.set_index("quantity").loc["expected recruits this round"]
    assert row["value"] == pytest.approx(plan.expected_recruits)
    assert (row["low"], row["high"]) == pytest.approx(plan.interval)
    payload = json.loads(plan.to_json())
    assert payload["summary"]["verdict"] == summary.verdict
    assert payload["summary"]["text"] == summary.text
