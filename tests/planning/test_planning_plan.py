"""The Plan object and make_plan: methods, exports, summaries, refusals."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from planning_helpers import nb_curves
from scipy import stats

from planning import Plan, PlanningInputs, greedy_allocation, make_plan, make_planner, ppc_tv


def plan_of(
    survival,
    budget,
    method="greedy",
    *,
    population=None,
    ids=None,
    ppc=None,
    seed=0,
    diagnostics=None,
    **settings,
):
    inputs = PlanningInputs.from_arrays(survival, pooled_pmf=population, ids=ids, ppc=ppc)
    return make_plan(
        inputs, make_planner(method, **settings), budget, seed=seed, diagnostics=diagnostics
    )


@pytest.fixture(scope="module")
def posterior():
    rng = np.random.default_rng(0)
    samples = nb_curves(rng, 60, 9, 8)
    survival = xr.DataArray(
        samples,
        dims=("sample", "person", "ell"),
        coords={"person": [f"r{i:02d}" for i in range(9)], "ell": np.arange(1, 9)},
        name="survival",
    )
    means = rng.uniform(1.0, 2.0, 60)
    population = stats.nbinom.pmf(np.arange(30)[None], 2.0, (2.0 / (2.0 + means))[:, None])
    return survival, population


@pytest.mark.parametrize(
    ("method", "settings"),
    [
        ("greedy", {}),
        ("robust", {"risk": "cvar:0.2"}),
        ("robust", {"risk": "worst"}),
        ("dp", {"gamma": 0.8}),
        ("dp", {"gamma": 0.8, "risk": "cvar:0.3"}),
    ],
)
def test_make_plan_methods(posterior, method, settings):
    survival, population = posterior
    plan = plan_of(
        survival,
        12,
        method,
        population=population,
        diagnostics={"verdict": "converged", "max_rhat": 1.003},
        **settings,
    )
    assert plan.ids[0] == "r00" and len(plan.ids) == 9
    assert plan.spend == plan.allocation.sum() <= 12
    lo, hi = plan.interval
    assert lo <= plan.expected_recruits <= hi
    assert plan.person_recruits.sum() == pytest.approx(plan.expected_recruits)
    assert plan.bound is not None and plan.bound.total is not None
    if method == "greedy":
        np.testing.assert_array_equal(plan.allocation, greedy_allocation(survival.values, 12))
        assert plan.spend == 12 and plan.value_estimate is None
    if method == "robust":
        assert plan.details["price_of_robustness"] >= 0
    if method == "dp":
        assert (
            plan.value_estimate is not None and plan.value_estimate >= plan.expected_recruits - 1e-6
        )
        assert plan.bound.kind == "multi-round" and len(plan.bound.parts) == 3
        # the allocation of the chosen spend is the greedy on all samples' mean curves
        np.testing.assert_array_equal(
            plan.allocation, greedy_allocation(survival.values, plan.spend)
        )
        planner = make_planner("dp", **settings)
        claimed = planner.evaluate(
            PlanningInputs.from_arrays(survival, pooled_pmf=population),
            12,
            plan.allocation,
            np.random.default_rng(plan.seed),
        )
        assert plan.value_estimate == pytest.approx(claimed, rel=1e-9)
    text = plan.summary_text()
    for piece in ("r00", "Expected recruits this round", "90% interval", "bound", "converged"):
        assert piece in text


def test_exports_round_trip(posterior, tmp_path):
    survival, population = posterior
    plan = plan_of(survival, 10, "dp", population=population, seed=3)
    frame = plan.to_frame()
    assert list(frame.columns)[:2] == ["id", "coupons"] and "expected_recruits" in frame
    plan.to_csv(tmp_path / "plan.csv")
    back = pd.read_csv(tmp_path / "plan.csv", dtype={"id": str})
    assert back["id"].tolist() == plan.ids
    assert back["coupons"].tolist() == plan.allocation.tolist()
    text = plan.to_json()
    data = json.loads(text)
    assert data["spend"] == plan.spend and data["seed"] == 3
    again = Plan.from_json(text)
    assert again.to_dict() == plan.to_dict()
    np.testing.assert_array_equal(again.allocation, plan.allocation)


def test_gamma_one_dp_plan_says_the_paper_bound_is_not_finite(posterior):
    survival, population = posterior
    plan = plan_of(survival, 8, "dp", population=population, gamma=1.0)
    assert plan.bound.paper_total is None
    text = plan.summary_text()
    assert "no finite value at gamma = 1" in text
    assert not re.search(r"\binf\b|infinity", text, flags=re.IGNORECASE)
    payload = json.loads(plan.to_json())
    assert payload["bound"]["paper_total"] is None
    assert set(payload["regret"]) == {"mean", "q90", "share_mean", "share_q90", "p_optimal"}


def test_plan_text_order_regret_then_bound_then_diagnostics(posterior):
    survival, _ = posterior
    plan = plan_of(survival, 6, diagnostics={"verdict": "ok"})
    text = plan.summary_text()
    order = [
        text.index(piece)
        for piece in (
            "Expected recruits this round",
            "1. Posterior regret",
            "2. Single-round",
            "Posterior diagnostics",
        )
    ]
    assert order == sorted(order)
    assert json.loads(plan.to_json())["bound"]["informative"] in (True, False)


def test_ppc_check_and_numpy_input(posterior):
    survival, _ = posterior
    rng = np.random.default_rng(4)
    coupons = rng.integers(1, 4, 50)
    curves = np.repeat(survival.values[:, :1], 50, axis=1)
    estimate = ppc_tv(np.minimum(rng.poisson(1.0, 50), coupons), coupons, curves)
    plan = plan_of(survival.values, 6, ppc=estimate, ids=[f"x{i}" for i in range(9)])
    assert plan.ids[0] == "x0"
    assert plan.bound.checks and "posterior predictive" in plan.summary_text()
    one = plan_of(survival.values[0], 6)  # a plug-in (single sample) model
    assert one.interval[0] == pytest.approx(one.interval[1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": -1}, "whole number >= 0"),
        ({"method": "magic"}, "unknown planner"),
        ({"method": "dp", "gamma": 0.0}, "gamma"),
        ({"method": "dp", "gamma": 1.2}, "gamma"),
        ({"method": "dp"}, "pooled capacity law"),
        ({"method": "robust", "risk": "median"}, "risk"),
        ({"ids": ["a"] * 9}, "unique"),
        ({"risk": "cvar:0.1"}, "no setting"),
    ],
)
def test_refusals(posterior, kwargs, message):
    survival, _ = posterior
    args = {"budget": 5, **kwargs}
    budget = args.pop("budget")
    with pytest.raises(ValueError, match=message):
        plan_of(survival, budget, **args)


def test_empty_frontier_is_refused():
    with pytest.raises(ValueError, match="frontier is empty"):
        PlanningInputs.from_arrays(np.zeros((3, 0, 4)))


def test_planning_never_imports_pymc():
    code = (
        "import sys, planning; planning.make_plan(planning.PlanningInputs.from_arrays([[0.5, 0.2]]), "
        "planning.make_planner('greedy'), 1); "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('pymc', 'pytensor', 'arviz', 'rdsmodel')]; print(bad); assert not bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
