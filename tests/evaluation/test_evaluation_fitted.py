"""Planning with models fitted to a pilot study (slow: real PyMC fits) and the tunnel world's verdict."""

from __future__ import annotations

import numpy as np
import pytest

import planning.app.evaluation.pilot as pilot_module
from planning.app.evaluation import EvaluationSettings, evaluate_policies
from planning.app.evaluation.pilot import prepare

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("scenario", ["homogeneous", "calibrated", "network"])
def test_fitted_laws_equal_the_count_models_curves(monkeypatch, scenario):
    seen = {}
    original = pilot_module.fitted_laws

    def spy(fit, coding, **kwargs):
        seen["fit"] = fit
        return original(fit, coding, **kwargs)

    monkeypatch.setattr(pilot_module, "fitted_laws", spy)
    setup = prepare(
        EvaluationSettings(
            scenario, draws=60, tune=60, chains=1, pilot_respondents=200, planning_samples=20
        )
    )
    table = setup.pilot.table
    node = setup.pilot.episode.nodes if scenario == "network" else None
    cohort = setup.arrays.coding.encode(table, node=node)
    mine = setup.model.survival(cohort, 6)
    theirs = seen["fit"].count.survival(table, max_coupons=6, samples=20).values
    np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)
    pooled = (
        seen["fit"]
        .count.population_pmf(max_count=setup.episode.budget + 1, samples=20, tail=True)
        .values
    )
    np.testing.assert_allclose(setup.model.pooled_pmf, pooled)


def test_a_fitted_evaluation_runs_every_policy():
    settings = EvaluationSettings(
        "homogeneous",
        budget=40,
        gammas=[0.9],
        episodes=4,
        draws=60,
        tune=60,
        chains=1,
        pilot_respondents=200,
        gfp_episodes=16,
        gfp_iterations=2,
        fitted_q_episodes=40,
    )
    result = evaluate_policies(settings)
    assert {r["policy"] for r in result.summary} == set(result.dataset["policy"].values)
    assert int(result.dataset["spent"].max()) <= 40
    assert "pilot_fit" in result.timings and "train_gfp" in result.timings


def test_tunnel_with_true_laws_separates_planners():
    """With the true laws, GFP keeps the B lineage alive and uses the budget; the greedy starves it."""
    settings = EvaluationSettings(
        "tunnel",
        policies=["gfp", "greedy", "oracle"],
        gammas=[0.9],
        episodes=30,
        oracle_models=True,
        pilot_respondents=100,
    )
    result = evaluate_policies(settings)
    rows = {r["policy"]: r for r in result.summary}
    assert rows["gfp"]["mean"] - rows["greedy"]["mean"] > 2 * np.hypot(
        rows["gfp"]["se"], rows["greedy"]["se"]
    )
    spent = result.dataset["spent"].mean("episode").sel(gamma=0.9, frontier=10)
    assert float(spent.sel(policy="gfp")) >= 95
    assert result.binding[0]["best_policy"] == "gfp"
