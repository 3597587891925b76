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
