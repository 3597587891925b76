"""The evaluation harness: executors agree, common random numbers, the budget-binding check, policies."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import xarray as xr

from planning.app.evaluation import (
    EvaluationSettings,
    budget_binding,
    evaluate_policies,
    load_results,
    open_executor,
    parse_policies,
    plot_results,
    save_results,
    summarise,
)
from planning.app.evaluation.results import build_dataset
from planning.errors import PlanningError

SMALL = dict(
    scenario="tunnel",
    policies=["greedy", "greedy_fixed:1.0", "random", "oracle"],
    gammas=[0.5, 0.9],
    episodes=4,
    chunk=2,
    oracle_models=True,
    pilot_respondents=60,
)


def without_timings(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    out.attrs.pop("timings", None)
    return out


@pytest.fixture(scope="module")
def serial():
    return evaluate_policies(EvaluationSettings(**SMALL))


def test_results_have_the_documented_shape(serial):
    ds = serial.dataset
    assert dict(ds.sizes) | {"round": 0} == {
        "policy": 4,
        "gamma": 2,
        "frontier": 1,
        "episode": 4,
        "round": 0,
    }
    assert set(ds.data_vars) == {"recruits", "spend", "discounted", "total", "spent"}
    np.testing.assert_allclose(
        ds["discounted"].sel(gamma=0.5),
        (ds["recruits"].sel(gamma=0.5) * 0.5 ** ds["round"]).sum("round"),
    )
    assert int(ds["spent"].max()) <= 100 and int(ds["spend"].max()) <= 10
    assert {r["policy"] for r in serial.summary} == {
        "greedy",
        "greedy_fixed:1.0",
        "random",
        "oracle",
    }
    assert json.loads(ds.attrs["budget_binding"]) == serial.binding


def test_common_random_numbers_two_identical_policies_agree(serial):
    ds = serial.dataset
    # greedy_fixed:1.0 spends the round's limit greedily: the same policy as greedy
    np.testing.assert_array_equal(
        ds["recruits"].sel(policy="greedy").values,
        ds["recruits"].sel(policy="greedy_fixed:1.0").values,
    )
    # a policy without gamma is played once: its totals repeat across gamma
    np.testing.assert_array_equal(
        ds["total"].sel(gamma=0.5).values, ds["total"].sel(gamma=0.9).values
    )


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_every_executor_gives_identical_results(serial, executor):
    if executor == "dask":
        pytest.importorskip("distributed")
    other = evaluate_policies(EvaluationSettings(**SMALL), executor=executor, workers=2)
    xr.testing.assert_identical(without_timings(serial.dataset), without_timings(other.dataset))
    assert other.summary == serial.summary


def test_save_load_and_plot(serial, tmp_path):
    path = save_results(serial.dataset, tmp_path / "out" / "results.nc")
    back = load_results(path)
    np.testing.assert_array_equal(back["recruits"].values, serial.dataset["recruits"].values)
    assert summarise(back) == serial.summary
    assert list(tmp_path.joinpath("out").iterdir()) == [path]  # nothing left behind
    figure = plot_results(serial.dataset, tmp_path / "results.png", title="tunnel")
    assert figure.stat().st_size > 1000


def _dataset(
    spent_share: dict[str, float], values: dict[str, float], budget: int = 100
) -> xr.Dataset:
    policies = list(spent_share)
    runs = {}
    for p in policies:
        spend = np.full((3, 1), int(spent_share[p] * budget))
        recruits = np.full((3, 1), int(values[p]))
        runs[(p, -1, 10)] = (recruits, spend)
    return build_dataset(policies, [0.9], [10], 3, runs, {"budget": budget})


def test_budget_binding_check():
    binds = budget_binding(
        _dataset({"a": 1.0, "b": 0.5, "oracle": 0.97}, {"a": 40, "b": 20, "oracle": 60})
    )
    assert binds == [
        {
            "gamma": 0.9,
            "frontier": 10,
            "budget": 100,
            "oracle_spent": 0.97,
            "best_policy": "a",
            "best_spent": 1.0,
            "binds": True,
            "max_excess_over_oracle": -20.0 * 0.9**0,
            "under_oracle": True,
        }
    ]
    loose = budget_binding(
        _dataset({"a": 0.6, "b": 1.0, "oracle": 1.0}, {"a": 40, "b": 20, "oracle": 60})
    )
    assert loose[0]["best_policy"] == "a" and not loose[0]["binds"]
    starved = budget_binding(_dataset({"a": 1.0, "oracle": 0.4}, {"a": 40, "oracle": 30}))
    assert not starved[0]["binds"]
    alone = budget_binding(_dataset({"a": 0.99}, {"a": 40}))
    assert alone[0]["oracle_spent"] is None and alone[0]["binds"]
    assert "under_oracle" not in alone[0]
    above = budget_binding(_dataset({"a": 1.0, "oracle": 1.0}, {"a": 61, "oracle": 60}))
    assert above[0]["max_excess_over_oracle"] == 1.0 and not above[0]["under_oracle"]


def test_the_oracle_row_is_the_hindsight_bound_and_every_policy_stays_under_it(serial):
    from dataclasses import replace

    from planning.app.evaluation.pilot import episode_seed, prepare
    from planning.simulation.hindsight import hindsight_bound

    settings = EvaluationSettings(**SMALL)
    setup = prepare(settings)
    episode = replace(setup.episode, initial_frontier=10)
    oracle = serial.dataset["discounted"].sel(policy="oracle", frontier=10)
    for e in range(settings.episodes):
        seed = episode_seed(settings.seed, 10, e)
        bound = hindsight_bound(setup.arrays, episode, seed, gammas=settings.gammas)
        np.testing.assert_allclose(oracle.isel(episode=e).values, bound.discounted)
    others = serial.dataset["discounted"].drop_sel(policy="oracle")
    assert bool((others <= oracle + 1e-9).all())
    assert all(b["under_oracle"] for b in serial.binding)


def test_policy_names():
    specs = parse_policies("gfp,dp,constant:5,greedy_fixed:0.3,oracle")
    assert [s.label for s in specs] == ["gfp", "dp", "constant:5", "greedy_fixed:0.3", "oracle"]
    assert specs[2].settings == {"k": 5} and specs[3].settings == {"fraction": 0.3}
    assert specs[0].training == "gfp" and specs[0].uses_gamma and specs[4].hindsight
    assert not specs[2].uses_gamma
    assert len(parse_policies("all")) == 17
    for bad, message in [
        ("nonsense", "unknown policy"),
        ("constant:x", "not a valid k"),
        ("greedy_fixed", "needs a fraction"),
        ("dp:3", "takes no value"),
        ("greedy,greedy", "more than once"),
        ("", "names no policy"),
    ]:
        with pytest.raises(PlanningError, match=message):
            parse_policies(bad)


def test_settings_are_checked():
    for bad, message in [
        ({"gammas": [0.0]}, "gammas"),
        ({"episodes": 0}, "episodes"),
        ({"scenario": "moon"}, "unknown scenario"),
        ({"frontiers": [5, 5]}, "frontier"),
        ({"budget": -1}, "budget"),
    ]:
        with pytest.raises(PlanningError, match=message):
            EvaluationSettings(**bad)


def test_dask_missing_is_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(PlanningError, match=r"pip install 'rdsplan\[dask\]'"):
        with open_executor("dask"):
            pass
    # refused before the pilot study is simulated and fitted
    monkeypatch.setattr(
        "planning.app.evaluation.workflow.prepare", lambda *a, **k: pytest.fail("prepared")
    )
    with pytest.raises(PlanningError, match="dask"):
        evaluate_policies(EvaluationSettings("calibrated"), executor="dask")
    with pytest.raises(PlanningError, match="--scheduler needs --executor dask"):
        with open_executor("serial", scheduler="tcp://localhost:1"):
            pass


def test_without_a_round_cap_a_person_gets_at_most_what_the_pilot_gave_anyone():
    from planning.app.evaluation.pilot import prepare

    small = dict(scenario="homogeneous", gammas=[0.9], episodes=2, oracle_models=True)
    setup = prepare(EvaluationSettings(**small, pilot_respondents=80, pilot_coupons=(1, 2, 4)))
    assert setup.episode.max_per_round is None
    assert setup.episode.person_cap == 4
    assert any("at most 4 coupons per person" in note for note in setup.notes)
    given = prepare(EvaluationSettings(**small, pilot_respondents=80, max_per_person=7))
    assert given.episode.person_cap == 7
    capped = prepare(
        EvaluationSettings(**{**SMALL, "pilot_respondents": 80})
    )  # tunnel: round cap 10
    assert capped.episode.person_cap == 10
