"""``rdsplan plan --method gfp``: the surrogate is fitted on rollouts of the fitted models once,
saved beside the posterior, and reused for the same posterior."""

from __future__ import annotations

import json

import pytest

from planning.app.cli import main

FAST = ["--chains", "2", "--draws", "150", "--tune", "150", "--seed", "6", "--no-progress"]


@pytest.mark.slow
def test_gfp_plan_fits_its_surrogate_once_and_reuses_it(tmp_path, capsys):
    study = tmp_path / "study.csv"
    assert (
        main(
            [
                "simulate",
                "--scenario",
                "calibrated",
                "--seed",
                "4",
                "--respondents",
                "300",
                "-o",
                str(study),
            ]
        )
        == 0
    )
    posterior = tmp_path / "post.nc"
    main(["fit", str(study), "-o", str(posterior), "--covariates", "SEX,BEHAV,RACE", *FAST])
    capsys.readouterr()
    plan = [
        "plan",
        str(posterior),
        "--data",
        str(study),
        "--budget",
        "20",
        "--method",
        "gfp",
        "--allow-unconverged",
        "--json",
    ]
    assert main(plan) == 0
    first = capsys.readouterr()
    assert "fitting the GFP surrogate" in first.err
    saved = tmp_path / "post.gfp.json"
    assert json.loads(saved.read_text())["identity"]
    assert main(plan) == 0
    second = capsys.readouterr()
    assert "reusing the GFP surrogate" in second.err
    one, two = json.loads(first.out), json.loads(second.out)
    assert [r["coupons"] for r in one["allocation"]] == [r["coupons"] for r in two["allocation"]]
    assert sum(r["coupons"] for r in one["allocation"]) <= 20
