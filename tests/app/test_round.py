"""``rdsplan round``: two rounds of a growing study, and the comparison of posteriors."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from planning.app.cli import main
from planning.app.live import compare_fits

FAST = ["--chains", "2", "--draws", "200", "--tune", "200", "--seed", "5", "--no-progress"]


def fake_fit(b0: np.ndarray, rho: np.ndarray | None = None):
    post = xr.Dataset({"b0": (("chain", "draw"), b0.reshape(2, -1))})
    count = SimpleNamespace(idata=SimpleNamespace(posterior=post))
    covariate = None
    if rho is not None:
        field = xr.Dataset(
            {"rho": (("chain", "draw", "field"), rho.reshape(2, -1, 2))},
            coords={"field": ["sex", "drug"]},
        )
        covariate = SimpleNamespace(idata=SimpleNamespace(posterior=field))
    return SimpleNamespace(count=count, covariate=covariate)


def test_compare_fits_measures_shifts_in_previous_sds():
    rng = np.random.default_rng(0)
    before = fake_fit(rng.normal(0.0, 1.0, 4000), rng.normal(0.5, 0.1, (4000, 2)))
    now = fake_fit(
        rng.normal(3.0, 0.5, 4000),
        np.column_stack([rng.normal(0.5, 0.05, 4000), rng.normal(0.8, 0.05, 4000)]),
    )
    table = compare_fits(before, now).set_index("parameter")
    assert table.loc["b0", "shift"] == pytest.approx(3.0, abs=0.1)
    assert table.loc["b0", "sd_ratio"] == pytest.approx(0.5, abs=0.05)
    assert table.loc["rho[drug]", "moved"] and not table.loc["rho[sex]", "moved"]
    assert table.index[0] == "b0"  # sorted by |shift|


def test_two_rounds_of_a_growing_study(tmp_path):
    first, second = tmp_path / "week1.csv", tmp_path / "week2.csv"
    for path, n in ((first, 400), (second, 550)):
        assert (
            main(
                [
                    "simulate",
                    "--scenario",
                    "calibrated",
                    "--seed",
                    "11",
                    "--respondents",
                    str(n),
                    "-o",
                    str(path),
                ]
            )
            == 0
        )
    r1, r2 = tmp_path / "round1", tmp_path / "round2"
    assert (
        main(
            [
                "round",
                str(first),
                "--group",
                "group",
                "--covariates",
                "SEX,BEHAV,RACE",
                "--budget-left",
                "60",
                "--allow-unconverged",
                *FAST,
                "-o",
                str(r1),
            ]
        )
        == 0
    )
    for name in ("posterior.nc", "plan.csv", "report.html", "round.json"):
        assert (r1 / name).stat().st_size > 0
    assert json.loads((r1 / "round.json").read_text())["changes"] is None
    # the second round rereads with the first round's options: no reading flag typed
    assert (
        main(
            [
                "round",
                str(second),
                "--previous",
                str(r1),
                "--budget-left",
                "40",
                "--allow-unconverged",
                *FAST,
                "-o",
                str(r2),
            ]
        )
        == 0
    )
    summary = json.loads((r2 / "round.json").read_text())
    assert summary["respondents"] == 550 and summary["budget_left"] == 40
    assert summary["spend"] <= 40 and summary["changes"]
    assert {row["parameter"] for row in summary["changes"]} >= {"b0"}
    assert "estimate" in summary["estimates_moved"]


def test_a_failed_fit_is_not_planned_on(tmp_path, capsys):
    study = tmp_path / "s.csv"
    assert (
        main(
            [
                "simulate",
                "--scenario",
                "calibrated",
                "--seed",
                "2",
                "--respondents",
                "300",
                "-o",
                str(study),
            ]
        )
        == 0
    )
    status = main(
        [
            "round",
            str(study),
            "--budget-left",
            "20",
            "--chains",
            "2",
            "--draws",
            "20",
            "--tune",
            "10",
            "--no-progress",
            "-o",
            str(tmp_path / "r"),
        ]
    )
    err = capsys.readouterr().err
    assert status == 1 and "--allow-unconverged" in err
    assert (tmp_path / "r" / "posterior.nc").exists() and not (tmp_path / "r" / "plan.csv").exists()


def test_a_round_with_a_priority_plans_and_reports_as_plan_does(tmp_path, capsys):
    """``round --priority`` plans as ``plan --priority`` on the same posterior, and says so in round.json."""
    study = tmp_path / "s.csv"
    simulate = ["simulate", "--scenario", "calibrated", "--seed", "3", "--respondents", "200"]
    assert main([*simulate, "-o", str(study)]) == 0
    out = tmp_path / "r"
    common = ["--method", "greedy", "--priority", "SEX=L2:3"]
    fit = ["--chains", "2", "--draws", "100", "--tune", "100", "--seed", "5", "--no-progress"]
    args = ["round", str(study), "--covariates", "SEX,BEHAV", "--budget-left", "20"]
    assert main([*args, *common, "--allow-unconverged", *fit, "-o", str(out)]) == 0
    summary = json.loads((out / "round.json").read_text())
    assert summary["priority"] == "SEX=L2:3"
    assert set(summary["subgroups"]) == {"SEX=L2"}
    women = summary["subgroups"]["SEX=L2"]
    assert 0 < women["mean"] <= summary["expected_recruits"]
    assert women["interval_90"][0] <= women["mean"] <= women["interval_90"][1]
    assert summary["weighted_recruits"]["mean"] > summary["expected_recruits"]
    assert "SEX=L2" in (out / "report.html").read_text()
    capsys.readouterr()
    plan = [
        "plan",
        str(out / "posterior.nc"),
        "--data",
        str(study),
        "--budget",
        "20",
        "--seed",
        "5",
        "--allow-unconverged",
        "--json",
        *common,
    ]
    assert main(plan) == 0
    planned = json.loads(capsys.readouterr().out)
    assert planned["subgroups"] == summary["subgroups"]
    assert planned["weighted_recruits"] == summary["weighted_recruits"]
    assert planned["spend"] == summary["spend"]


def test_a_round_refuses_an_unknown_priority_level_before_fitting(tmp_path, capsys):
    study = tmp_path / "s.csv"
    simulate = ["simulate", "--scenario", "calibrated", "--seed", "3", "--respondents", "60"]
    assert main([*simulate, "-o", str(study)]) == 0
    capsys.readouterr()
    out = tmp_path / "r"
    args = ["round", str(study), "--budget-left", "20", "--priority", "SEX=L7:3", "-o", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "--priority" in err and "L7" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # refused before the fit wrote anything
