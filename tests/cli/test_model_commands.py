"""``rdsplan fit``, ``diagnose`` and ``plan`` end to end on a small simulated study."""

import json

import pandas as pd
import pytest

from planning.app.cli import main

FAST = ["--chains", "2", "--draws", "300", "--tune", "300", "--seed", "2", "--no-progress"]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fit")
    study = folder / "study.csv"
    assert (
        main(
            [
                "simulate",
                "--scenario",
                "calibrated",
                "--seed",
                "8",
                "--respondents",
                "600",
                "-o",
                str(study),
            ]
        )
        == 0
    )
    posterior = folder / "posterior.nc"
    assert (
        main(
            [
                "fit",
                str(study),
                "-o",
                str(posterior),
                "--capacity-covariates",
                "SEX,BEHAV",
                "--target-accept",
                "0.95",
                *FAST,
            ]
        )
        == 0
    )
    return study, posterior


def test_fit_writes_both_models(fitted):
    _, posterior = fitted
    assert posterior.exists()
    assert posterior.with_name("posterior.covariates.nc").exists()


def test_diagnose_json_has_verdict_and_homophily_per_field(fitted, capsys):
    _, posterior = fitted
    status = main(["diagnose", str(posterior), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == (1 if report["verdict"] == "fail" else 0)
    assert report["verdict"] in ("ok", "warn", "fail")
    fields = {entry["field"]: entry for entry in report["homophily"]}
    assert len(fields) == 17
    for entry in fields.values():
        assert entry["hdi_low"] <= entry["mean"] <= entry["hdi_high"]
    for key in ("convergence", "sampler", "loo", "ppc", "covariates", "capacity_check"):
        assert key in report
    # The capacity check was computed at fit time (the data are gone now) and stored with the
    # posterior: every cell, per group, per capacity covariate and per other covariate level.
    check = report["capacity_check"]
    factors = {cell["factor"] for cell in check["cells"]}
    assert {"all", "group", "SEX", "BEHAV"} <= factors and len(factors) > 4
    assert all(0 < cell["p_value"] <= 1 for cell in check["cells"])
    assert check["checked"] == len(check["cells"])
    assert check["flagged"] == sum(cell["flagged"] for cell in check["cells"])
    assert check["verdict"] == ("warn" if check["flagged"] else "ok")


def test_diagnose_text_shows_where_the_capacity_law_misfits(fitted, capsys):
    _, posterior = fitted
    main(["diagnose", str(posterior)])
    printed = capsys.readouterr().out
    assert "Capacity check: fitted capacity law against observed redeemed coupons" in printed
    assert "groups and levels" in printed and "observed against predicted" in printed


@pytest.mark.parametrize("method", ["greedy", "robust", "dp"])
def test_plan_allocates_the_frontier_within_budget(fitted, tmp_path, capsys, method):
    study, posterior = fitted
    out = tmp_path / "plan.csv"
    args = [
        "plan",
        str(posterior),
        "--data",
        str(study),
        "--budget",
        "25",
        "--method",
        method,
        "--allow-unconverged",
        "--samples",
        "50",
        "-o",
        str(out),
    ]
    if method == "robust":
        args += ["--risk", "cvar:0.2"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "bound" in printed and "Posterior diagnostics" in printed
    # The capacity check follows the error statement and precedes the diagnostics.
    assert (
        printed.index("Error statement")
        < printed.index("Capacity check: the fitted law")
        < printed.index("Posterior diagnostics")
    )
    plan = pd.read_csv(out, dtype={"id": str})
    frontier = pd.read_csv(study, dtype={"id": str})
    frontier = set(frontier.loc[frontier["coupons_issued"].isna(), "id"])
    assert set(plan["id"]) <= frontier
    assert plan["coupons"].sum() <= 25 and (plan["coupons"] >= 0).all()
    if method != "dp":  # dp may hold coupons back for later rounds
        assert plan["coupons"].sum() == 25


def test_plan_json(fitted, capsys):
    study, posterior = fitted
    assert (
        main(
            [
                "plan",
                str(posterior),
                "--data",
                str(study),
                "--budget",
                "10",
                "--json",
                "--allow-unconverged",
                "--samples",
                "50",
            ]
        )
        == 0
    )
    plan = json.loads(capsys.readouterr().out)
    assert plan["method"] == "greedy"
    assert plan["spend"] == 10
    assert sum(entry["coupons"] for entry in plan["allocation"]) == 10
    assert plan["diagnostics"]["verdict"] in ("ok", "warn", "fail")
    assert plan["bound"] is not None
    check = plan["capacity_check"]
    assert check["text"].startswith("Capacity check: the fitted law")
    assert check["checked"] > 4 and 0 <= check["flagged"] <= check["checked"]
    assert len(check["misfits"]) == min(check["flagged"], 10)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--budget", "-1"], "--budget must be a whole number >= 0"),
        (["--budget", "5", "--method", "dp", "--gamma", "1.5"], "gamma must be in (0, 1]"),
        (["--budget", "5", "--risk", "cvar:2"], "CVaR level alpha must be in (0, 1]"),
        (["--budget", "5", "--gamma", "0.5"], "--gamma does not apply to --method robust"),
    ],
)
def test_plan_refuses_bad_arguments_in_one_line(fitted, capsys, extra, message):
    study, posterior = fitted
    status = main(
        [
            "plan",
            str(posterior),
            "--data",
            str(study),
            "--method",
            "robust",
            "--allow-unconverged",
            *extra,
        ]
    )
    err = capsys.readouterr().err
    assert status == 1
    assert message in err and "Traceback" not in err


def test_plan_refuses_a_different_study(fitted, tmp_path, capsys):
    _, posterior = fitted
    other = tmp_path / "other.csv"
    assert (
        main(
            [
                "simulate",
                "--scenario",
                "calibrated",
                "--seed",
                "9",
                "--respondents",
                "600",
                "-o",
                str(other),
            ]
        )
        == 0
    )
    assert (
        main(["plan", str(posterior), "--data", str(other), "--budget", "5", "--allow-unconverged"])
        == 1
    )
    assert "different study" in capsys.readouterr().err


def test_plan_warns_when_the_study_moved_on(fitted, tmp_path, capsys):
    study, posterior = fitted
    table = pd.read_csv(study, dtype={"id": str, "recruiter_id": str})
    frontier = table.index[table["coupons_issued"].isna()]
    table.loc[frontier[:5], "coupons_issued"] = 3  # five frontier members got coupons since
    moved = tmp_path / "moved.csv"
    table.to_csv(moved, index=False)
    assert (
        main(
            [
                "plan",
                str(posterior),
                "--data",
                str(moved),
                "--budget",
                "5",
                "--allow-unconverged",
                "--samples",
                "50",
            ]
        )
        == 0
    )
    assert "moved on" in capsys.readouterr().err


def test_plan_refuses_an_empty_frontier(fitted, tmp_path, capsys):
    study, posterior = fitted
    table = pd.read_csv(study, dtype={"id": str, "recruiter_id": str})
    table["coupons_issued"] = table["coupons_issued"].fillna(0)
    full = tmp_path / "full.csv"
    table.to_csv(full, index=False)
    assert (
        main(["plan", str(posterior), "--data", str(full), "--budget", "5", "--allow-unconverged"])
        == 1
    )
    assert "no frontier" in capsys.readouterr().err


def test_fit_refuses_unknown_columns_in_one_line(fitted, tmp_path, capsys):
    study, _ = fitted
    status = main(
        ["fit", str(study), "-o", str(tmp_path / "p.nc"), "--capacity-covariates", "NOPE", *FAST]
    )
    err = capsys.readouterr().err
    assert status == 1 and "NOPE" in err and len(err.strip().splitlines()) == 1
