"""``rdsplan plan --priority / --priority-file / --coverage`` end to end on a small fitted study.

A calibrated study of 300 respondents read with two covariates (``SEX``,
``RACE``; levels ``L1..``), both models fitted with 2 chains of 200 draws.
The plan's expected weights must be the priority's exact expectation under
the fitted covariate model, the plan must report recruits by subgroup, the
coverage must hold in the plan it returns, and every user error must name
the flag, the covariate or the level.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from planning.app.cli import main
from planning.app.posterior import planning_inputs
from planning.app.workflows import load_fit
from planning.priorities import Pattern, Priority, subgroup_probabilities

FAST = ["--chains", "2", "--draws", "200", "--tune", "200", "--seed", "3", "--no-progress"]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("priorities")
    study = folder / "study.csv"
    assert (
        main(
            [
                "simulate",
                "--scenario",
                "calibrated",
                "--seed",
                "5",
                "--respondents",
                "300",
                "-o",
                str(study),
            ]
        )
        == 0
    )
    posterior = folder / "posterior.nc"
    assert main(["fit", str(study), "-o", str(posterior), "--covariates", "SEX,RACE", *FAST]) == 0
    return study, posterior


def plan(fitted, capsys, *extra):
    study, posterior = fitted
    status = main(
        [
            "plan",
            str(posterior),
            "--data",
            str(study),
            "--budget",
            "20",
            "--samples",
            "40",
            "--allow-unconverged",
            *extra,
        ]
    )
    out = capsys.readouterr()
    return status, out.out, out.err


def test_priority_plan_reports_weighted_recruits_and_subgroups(fitted, capsys):
    status, out, _ = plan(fitted, capsys, "--priority", "SEX=L1:3,RACE=L2:2", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["priority"] == "SEX=L1:3,RACE=L2:2"
    assert set(data["subgroups"]) == {"SEX=L1", "RACE=L2"}
    for entry in data["subgroups"].values():
        lo, hi = entry["interval_90"]
        assert 0 <= lo <= entry["mean"] <= hi <= data["expected_recruits"]["mean"] * 2
    assert data["weighted_recruits"]["mean"] > 0
    rows = {r["quantity"] for r in data["summary"]["table"]}
    assert {"weighted recruits this round", "expected recruits from SEX=L1"} <= rows
    # the regret is of the weighted objective: its shares refer to the weighted value
    assert data["error_statement"]["plan_value"] == pytest.approx(data["weighted_recruits"]["mean"])
    status, text, _ = plan(fitted, capsys, "--priority", "SEX=L1:3")
    assert "Expected recruits by subgroup" in text and "Weighted recruits this round" in text


def test_the_inputs_carry_the_exact_expected_weights(fitted):
    from rdsmodel.data import read_table

    study, posterior = fitted
    fit = load_fit(posterior)
    data = read_table(study, fit.count.reading)
    priority = Priority.parse("SEX=L1:3")
    inputs = planning_inputs(
        data,
        fit.count,
        fit.covariate,
        budget=20,
        samples=30,
        priority=priority,
        subgroups=["RACE=L2"],
    )
    offspring = fit.covariate.offspring()
    frontier = data.frontier.reset_index(drop=True)
    np.testing.assert_allclose(inputs.weights, priority.expected_weights(offspring, frontier, 30))
    probs = subgroup_probabilities([Pattern.parse("RACE=L2")], offspring, frontier, 30)[..., 0]
    np.testing.assert_allclose(inputs.subgroups["RACE=L2"], probs)
    assert set(inputs.subgroups) == {"SEX=L1", "RACE=L2"}
    assert inputs.pooled_weight.shape == (30,) and np.all(inputs.pooled_weight >= 1.0)


def test_priority_file_and_coverage(fitted, capsys, tmp_path):
    table = tmp_path / "priorities.csv"
    table.write_text("SEX,RACE,weight\nL1,L2,5\nL1,,3\n", encoding="utf-8")
    status, out, _ = plan(
        fitted,
        capsys,
        "--priority-file",
        str(table),
        "--method",
        "robust",
        "--risk",
        "cvar:0.2",
        "--coverage",
        "SEX=L1:3",
        "--json",
    )
    assert status == 0
    data = json.loads(out)
    reached = data["details"]["coverage"][0]
    assert reached["subgroup"] == "SEX=L1" and reached["achieved"] >= 3 - 1e-6
    assert data["settings"]["coverage"] == "SEX=L1:3"
    assert data["subgroups"]["SEX=L1"]["mean"] >= 3 - 1e-6
    assert set(data["subgroups"]) == {"SEX=L1&RACE=L2", "SEX=L1"}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--priority", "SEXX=L1:3"],
            "--priority: unknown covariate 'SEXX'; the covariate model has SEX, RACE",
        ),
        (
            ["--priority", "SEX=Q:3"],
            "--priority: covariate SEX has no level 'Q'; its levels are L1, L2, L3",
        ),
        (["--priority", "SEX=L1"], "cannot read 'SEX=L1'; write FIELD=LEVEL:FACTOR"),
        (
            ["--priority", "SEX=L1:2", "--priority-file", "x.csv"],
            "give --priority or --priority-file, not both",
        ),
        (["--priority-rule", "max"], "--priority-rule applies to --priority-file"),
        (
            ["--priority-file", "nowhere.csv"],
            "--priority-file nowhere.csv: cannot read the priority table",
        ),
        (["--coverage", "SEX=L1:3"], "--coverage does not apply to --method greedy"),
        (
            ["--method", "robust", "--coverage", "SEX=L9:3"],
            "--coverage: covariate SEX has no level 'L9'",
        ),
        (
            ["--method", "robust", "--coverage", "SEX=L1:400"],
            r"SEX=L1: at most \d+\.\d\d \(asked 400\)",
        ),
    ],
)
def test_user_errors_name_the_flag_covariate_or_level(fitted, capsys, flags, message):
    status, _, err = plan(fitted, capsys, *flags)
    assert status == 1
    assert err.count("\n") == 1, err  # one line, no traceback
    assert message in err or re.search(message, err), err


def test_robust_json_is_the_only_thing_on_standard_output(fitted):
    """HiGHS prints a banner from C on file descriptor 1; --json must still be pure JSON."""
    import subprocess
    import sys

    study, posterior = fitted
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "planning.app.cli",
            "plan",
            str(posterior),
            "--data",
            str(study),
            "--budget",
            "10",
            "--samples",
            "20",
            "--allow-unconverged",
            "--method",
            "robust",
            "--coverage",
            "SEX=L1:1",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["method"] == "robust"
