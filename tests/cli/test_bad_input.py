"""Bad input never destroys data and never crashes (issue 9, part 4).

Every case runs one ``rdsplan`` command on hostile input and asserts

* the exit status: 1 for a user error, 2 for an argument error, 130 for an
  interrupt (0 where the input is odd but usable, e.g. a ``;``-separated file);
* that the message names the culprit (row, column, flag, path or value);
* that nothing looks like a crash: no ``Traceback`` and never ``internal error``;
* that every input file is byte for byte what it was (hashed before and after).

The field tables are written by hand here, as messy field exports are; the one
fitted posterior the planning cases need is fitted once per module on a small
generated study (2 chains of 100 draws).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from planning.app.cli import main

FAST_FIT = ["--chains", "2", "--draws", "100", "--tune", "100", "--seed", "3", "--no-progress"]
PLAN = ["--allow-unconverged", "--samples", "20"]

# A small canonical study: two seeds, three waves, a frontier of four.
GOOD = """\
id,recruiter_id,coupons_issued,interview_time,sex,age
1,,3,2024-01-01,f,30
2,,3,2024-01-01,m,41
3,1,3,2024-01-05,f,25
4,1,3,2024-01-06,m,33
5,2,3,2024-01-07,f,28
6,3,,2024-01-10,m,52
7,3,,2024-01-11,f,19
8,4,,2024-01-12,m,44
9,5,,2024-01-12,f,37
"""

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


# ---------------------------------------------------------------------------------------- helpers
@dataclass
class Result:
    """What one command did."""

    status: int
    out: str
    err: str


def _digest(path: Path) -> dict[str, str]:
    if path.is_dir():
        return {
            str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*"))
            if p.is_file()
        }
    if path.exists():
        return {str(path): hashlib.sha256(path.read_bytes()).hexdigest()}
    return {str(path): "absent"}


def snapshot(paths: Iterable[Path]) -> dict[str, str]:
    """sha256 of every file (folders: of every file inside), ``absent`` for what does not exist."""
    out: dict[str, str] = {}
    for path in paths:
        out.update(_digest(Path(path)))
    return out


def rdsplan(capfd, args: Sequence[object], inputs: Iterable[Path] = ()) -> Result:
    """Run ``rdsplan`` in this process and check the inputs are untouched afterwards.

    ``capfd`` captures at the file-descriptor level, so output a C library
    writes directly (a solver's banner) is seen too.
    """
    inputs = list(inputs)
    before = snapshot(inputs)
    capfd.readouterr()
    try:
        status = main([str(a) for a in args])
    except SystemExit as exit_:  # argparse
        status = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capfd.readouterr()
    assert snapshot(inputs) == before, f"an input changed: rdsplan {' '.join(map(str, args))}"
    return Result(status, out, err)


def assert_clean(result: Result) -> None:
    """No crash: no traceback anywhere, no internal error."""
    assert "Traceback" not in result.err and "Traceback" not in result.out, result.err
    assert "internal error" not in result.err, result.err


def refused(result: Result, *culprits: str, status: int = 1) -> str:
    """Assert a one-message refusal with ``status`` naming every culprit; return the message."""
    assert_clean(result)
    assert result.status == status, (result.status, result.err)
    if status == 1:
        assert "rdsplan: error:" in result.err, result.err
    lowered = result.err.lower()
    for culprit in culprits:
        assert culprit.lower() in lowered, f"{culprit!r} not named in: {result.err}"
    return result.err


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def branching_study(seed: int, seeds: int = 12, waves: int = 4) -> str:
    """A canonical study as a field system would export it (site groups, sex, interview dates)."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    frontier: list[int] = []
    for s in range(seeds):
        rows.append(
            {
                "id": f"P{len(rows):04d}",
                "recruiter_id": "",
                "site": "ABC"[s % 3],
                "sex": str(rng.choice(["f", "m"])),
                "day": int(rng.integers(0, 5)),
            }
        )
        frontier.append(len(rows) - 1)
    for _ in range(waves):
        nxt = []
        for parent in frontier:
            rows[parent]["coupons_issued"] = 3
            mean = 1.6 if rows[parent]["sex"] == "f" else 1.0
            for _ in range(min(3, int(rng.negative_binomial(2, 2 / (2 + mean))))):
                rows.append(
                    {
                        "id": f"P{len(rows):04d}",
                        "recruiter_id": rows[parent]["id"],
                        "site": rows[parent]["site"],
                        "sex": str(rng.choice(["f", "m"])),
                        "day": rows[parent]["day"] + int(rng.integers(1, 6)),
                    }
                )
                nxt.append(len(rows) - 1)
        frontier = nxt
    lines = ["id,recruiter_id,coupons_issued,interview_time,group,sex"]
    for row in rows:
        date = np.datetime64("2024-01-01") + np.timedelta64(row["day"], "D")
        lines.append(
            f"{row['id']},{row['recruiter_id']},{row.get('coupons_issued', '')},{date},"
            f"{row['site']},{row['sex']}"
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------- fixtures
@pytest.fixture
def memory_cap():
    """Cap this process's address space 3 GB above what it holds, for the cases whose failure mode
    is a huge allocation: a regression then fails with MemoryError instead of exhausting the
    machine (which is shared)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as handle:
        size = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = size + 3 * 2**30
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture
def good(tmp_path) -> Path:
    return write(tmp_path / "study.csv", GOOD)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A small study and its posterior (count model and covariate model beside it)."""
    folder = tmp_path_factory.mktemp("fitted")
    study = write(folder / "study.csv", branching_study(seed=11))
    posterior = folder / "posterior.nc"
    assert main(["fit", str(study), "-o", str(posterior), *FAST_FIT]) in (0, 1)  # verdict may fail
    assert posterior.exists() and posterior.with_name("posterior.covariates.nc").exists()
    return study, posterior


def fit_files(fitted) -> list[Path]:
    study, posterior = fitted
    return [study, posterior, posterior.with_name("posterior.covariates.nc")]


# ============================================================ 1. outputs that are inputs: refused
def test_plan_output_is_the_study(fitted, capfd):
    study, posterior = fitted
    result = rdsplan(
        capfd,
        ["plan", posterior, "--data", study, "--budget", 5, *PLAN, "-o", study],
        fit_files(fitted),
    )
    refused(result, "-o", str(study), "input")


def test_plan_output_is_the_posterior(fitted, capfd):
    study, posterior = fitted
    result = rdsplan(
        capfd,
        ["plan", posterior, "--data", study, "--budget", 5, *PLAN, "-o", posterior],
        fit_files(fitted),
    )
    refused(result, "-o", str(posterior))


def test_plan_output_is_the_covariate_posterior(fitted, capfd):
    study, posterior = fitted
    beside = posterior.with_name("posterior.covariates.nc")
    result = rdsplan(
        capfd,
        ["plan", posterior, "--data", study, "--budget", 5, *PLAN, "-o", beside],
        fit_files(fitted),
    )
    refused(result, "-o", str(beside))


def test_plan_output_is_the_study_by_another_spelling(fitted, capfd, monkeypatch):
    study, posterior = fitted
    monkeypatch.chdir(study.parent)
    result = rdsplan(
        capfd,
        [
            "plan",
            posterior,
            "--data",
            "study.csv",
            "--budget",
            5,
            *PLAN,
            "-o",
            "./sub/../study.csv",
        ],
        fit_files(fitted),
    )
    refused(result, "-o", "study.csv")


def test_fit_output_is_the_study(good, capfd):
    result = rdsplan(capfd, ["fit", good, "-o", good, *FAST_FIT], [good])
    refused(result, "-o", str(good))


def test_fit_covariate_output_is_the_study(tmp_path, capfd):
    # the covariate model goes beside -o as NAME.covariates.nc: here, the study itself
    study = write(tmp_path / "run.covariates.nc", GOOD)
    result = rdsplan(capfd, ["fit", study, "-o", tmp_path / "run.nc", *FAST_FIT], [study])
    refused(result, "-o", "input")
    assert not (tmp_path / "run.nc").exists()


def test_report_output_is_the_study(fitted, capfd):
    study, posterior = fitted
    result = rdsplan(
        capfd,
        ["report", posterior, "--data", study, "--budget", 5, *PLAN, "-o", study],
        fit_files(fitted),
    )
    refused(result, "-o", str(study))


def test_report_output_is_the_posterior(fitted, capfd):
    study, posterior = fitted
    result = rdsplan(
        capfd,
        ["report", posterior, "--data", study, "--budget", 5, *PLAN, "-o", posterior],
        fit_files(fitted),
    )
    refused(result, "-o", str(posterior))


def test_describe_output_is_the_study(good, capfd):
    result = rdsplan(capfd, ["describe", good, "-o", good], [good])
    refused(result, str(good))


def test_diagnose_output_is_the_posterior(fitted, capfd):
    _, posterior = fitted
    result = rdsplan(capfd, ["diagnose", posterior, "-o", posterior], fit_files(fitted))
    refused(result, "-o", str(posterior))


def test_diagnose_output_is_the_covariate_posterior(fitted, capfd):
    _, posterior = fitted
    beside = posterior.with_name("posterior.covariates.nc")
    result = rdsplan(capfd, ["diagnose", posterior, "-o", beside], fit_files(fitted))
    refused(result, "-o", str(beside))


def test_evaluate_output_is_its_figure(tmp_path, capfd):
    out = write(tmp_path / "results.nc", b"keep me")
    result = rdsplan(
        capfd, ["evaluate", "--oracle-models", "--episodes", 1, "-o", out, "--plot", out], [out]
    )
    refused(result, "--plot", "-o")


def test_demo_output_folder_holds_the_study_under_a_name_it_writes(tmp_path, capfd):
    # demo writes plan.csv (and posterior.nc, report.html) into -o: a study with that name there
    # would be replaced
    out = tmp_path / "run"
    study = write(out / "plan.csv", GOOD)
    result = rdsplan(
        capfd, ["demo", "--data", study, "-o", out, "--chains", 1, "--draws", 20], [study]
    )
    refused(result, str(study))


def test_simulate_output_is_a_folder(tmp_path, capfd):
    folder = tmp_path / "existing"
    write(folder / "keep.txt", "x")
    result = rdsplan(capfd, ["simulate", "--respondents", 20, "-o", folder], [folder])
    refused(result, str(folder), "folder")


def test_plan_output_is_a_folder(fitted, tmp_path, capfd):
    study, posterior = fitted
    folder = tmp_path / "plans"
    write(folder / "old.csv", "x")
    result = rdsplan(
        capfd,
        ["plan", posterior, "--data", study, "--budget", 5, *PLAN, "-o", folder],
        [*fit_files(fitted), folder],
    )
    refused(result, str(folder), "folder")
    assert ".tmp" not in result.err


# ============================================================ 2. sizes checked before allocating
def test_fit_refuses_a_trillion_coupons_with_value_and_limit(tmp_path, capfd, memory_cap):
    study = write(tmp_path / "study.csv", GOOD.replace("3,1,3,", "3,1,1000000000000,"))
    start = time.perf_counter()
    result = rdsplan(capfd, ["fit", study, "-o", tmp_path / "p.nc", *FAST_FIT], [study])
    message = refused(result, "1000000000000", "1,000", "coupons_issued", "line 4")
    assert time.perf_counter() - start < 60, "refused only after work"
    assert "at most" in message.lower() or "limit" in message.lower()
    assert not (tmp_path / "p.nc").exists()


def test_validate_refuses_a_trillion_coupons(tmp_path, capfd):
    study = write(tmp_path / "study.csv", GOOD.replace("3,1,3,", "3,1,1000000000000,"))
    refused(rdsplan(capfd, ["validate", study], [study]), "1000000000000", "id '3'")


def test_plan_refuses_a_billion_coupons_per_person(fitted, capfd, memory_cap):
    study, posterior = fitted
    result = rdsplan(
        capfd,
        [
            "plan",
            posterior,
            "--data",
            study,
            "--budget",
            10,
            *PLAN,
            "--max-per-person",
            1_000_000_000,
        ],
        fit_files(fitted),
    )
    refused(result, "--max-per-person", "1000000000", "1,000")


def test_dp_budget_of_ten_thousand_is_refused_naming_the_budget(fitted, capfd, memory_cap):
    study, posterior = fitted
    result = rdsplan(
        capfd,
        ["plan", posterior, "--data", study, "--budget", 10_000, "--method", "dp", *PLAN],
        fit_files(fitted),
    )
    refused(result, "--budget", "10000")


@pytest.mark.parametrize("method", ["greedy", "robust"])
def test_single_round_budget_beyond_the_frontier_is_clipped_with_a_note(
    fitted, capfd, memory_cap, method
):
    study, posterior = fitted
    result = rdsplan(
        capfd,
        [
            "plan",
            posterior,
            "--data",
            study,
            "--budget",
            10_000,
            "--method",
            method,
            *PLAN,
            "--json",
        ],
        fit_files(fitted),
    )
    assert_clean(result)
    assert result.status == 0, result.err
    plan = json.loads(result.out)
    assert 0 < plan["spend"] < 10_000
    assert "note" in result.err and "--budget" in result.err and "10000" in result.err


def test_a_billion_coupon_budget_plans_in_bounded_memory(fitted, capfd, memory_cap):
    study, posterior = fitted
    result = rdsplan(
        capfd,
        ["plan", posterior, "--data", study, "--budget", 1_000_000_000, *PLAN, "--json"],
        fit_files(fitted),
    )
    assert_clean(result)
    assert result.status == 0, result.err
    assert json.loads(result.out)["spend"] > 0


def test_simulate_refuses_a_billion_respondents(tmp_path, capfd, memory_cap):
    result = rdsplan(capfd, ["simulate", "--respondents", 1_000_000_000, "-o", tmp_path / "s.csv"])
    refused(result, "--respondents", "1000000000")
    assert not (tmp_path / "s.csv").exists()


# ============================================================ 3. files that are not what they claim
def test_duplicate_column_names(tmp_path, capfd):
    study = write(
        tmp_path / "study.csv", "id,recruiter_id,coupons_issued,sex,sex\n1,,3,f,f\n2,1,,m,m\n"
    )
    refused(rdsplan(capfd, ["validate", study], [study]), "sex", "line 1")


def test_duplicate_column_names_in_fit(tmp_path, capfd):
    study = write(
        tmp_path / "study.csv", "id,recruiter_id,coupons_issued,sex,sex\n1,,3,f,f\n2,1,,m,m\n"
    )
    refused(rdsplan(capfd, ["fit", study, "-o", tmp_path / "p.nc", *FAST_FIT], [study]), "sex")


def test_numeric_covariate_with_inf(tmp_path, capfd):
    study = write(
        tmp_path / "study.csv",
        "id,recruiter_id,coupons_issued,x\n1,,3,1.5\n2,1,3,inf\n3,1,,2.5\n4,2,,3\n",
    )
    refused(rdsplan(capfd, ["validate", study], [study]), "bad_covariate", "'x'", "inf", "line 3")


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_other_separators_are_sniffed_with_a_note(tmp_path, capfd, separator, name):
    study = write(tmp_path / "study.csv", GOOD.replace(",", separator))
    result = rdsplan(capfd, ["validate", study], [study])
    assert_clean(result)
    assert result.status == 0, result.err
    assert name in result.err and "--delimiter" in result.err
    assert "9 respondents" in result.out


def test_wrong_delimiter_forced(tmp_path, capfd):
    study = write(tmp_path / "study.csv", GOOD.replace(",", ";"))
    refused(
        rdsplan(capfd, ["validate", study, "--delimiter", "comma"], [study]),
        "single column",
        "--delimiter",
    )


@pytest.mark.parametrize("command", ["validate", "describe", "fit"])
def test_missing_file(tmp_path, capfd, command):
    extra = ["-o", tmp_path / "p.nc", *FAST_FIT] if command == "fit" else []
    result = rdsplan(capfd, [command, tmp_path / "nope.csv", *extra])
    refused(result, "nope.csv")
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["validate", "fit"])
def test_a_folder_as_the_study(tmp_path, capfd, command):
    folder = tmp_path / "data"
    write(folder / "inside.csv", GOOD)
    extra = ["-o", tmp_path / "p.nc", *FAST_FIT] if command == "fit" else []
    refused(rdsplan(capfd, [command, folder, *extra], [folder]), str(folder), "folder")


@pytest.mark.parametrize("command", ["validate", "fit"])
def test_empty_file(tmp_path, capfd, command):
    study = write(tmp_path / "empty.csv", "")
    extra = ["-o", tmp_path / "p.nc", *FAST_FIT] if command == "fit" else []
    refused(rdsplan(capfd, [command, study, *extra], [study]), "empty.csv", "empty")


@pytest.mark.parametrize("command", ["validate", "describe", "fit"])
def test_header_only_file(tmp_path, capfd, command):
    study = write(tmp_path / "header.csv", GOOD.splitlines()[0] + "\n")
    extra = ["-o", tmp_path / "p.nc", *FAST_FIT] if command == "fit" else []
    refused(rdsplan(capfd, [command, study, *extra], [study]), "header.csv", "no respondents")


@pytest.mark.parametrize("command", ["validate", "fit"])
def test_png_as_csv(tmp_path, capfd, command):
    study = write(tmp_path / "photo.csv", PNG)
    extra = ["-o", tmp_path / "p.nc", *FAST_FIT] if command == "fit" else []
    refused(rdsplan(capfd, [command, study, *extra], [study]), "photo.csv", "not UTF-8")


def test_spreadsheet_as_csv(tmp_path, capfd):
    study = write(
        tmp_path / "export.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(200)
    )
    refused(rdsplan(capfd, ["validate", study], [study]), "export.csv")


def test_ragged_row_names_its_line(tmp_path, capfd):
    study = write(
        tmp_path / "study.csv", GOOD.replace("5,2,3,2024-01-07,f,28", "5,2,3,2024-01-07,f,28,extra")
    )
    refused(rdsplan(capfd, ["validate", study], [study]), "line 6")


def test_format_rdsat_on_a_csv(good, capfd):
    refused(
        rdsplan(capfd, ["validate", good, "--format", "rdsat"], [good]),
        "RDSAT",
        "--format",
        "line 1",
    )


def test_posterior_that_is_a_csv(fitted, capfd):
    study, _ = fitted
    result = rdsplan(capfd, ["plan", study, "--data", study, "--budget", 5, *PLAN], [study])
    refused(result, str(study), "NetCDF")


def test_posterior_that_is_a_png(tmp_path, capfd):
    fake = write(tmp_path / "posterior.nc", PNG)
    refused(rdsplan(capfd, ["diagnose", fake], [fake]), str(fake))


def test_truncated_posterior(tmp_path, fitted, capfd):
    study, posterior = fitted
    cut = write(tmp_path / "cut.nc", posterior.read_bytes()[: posterior.stat().st_size // 3])
    result = rdsplan(capfd, ["plan", cut, "--data", study, "--budget", 5, *PLAN], [cut, study])
    refused(result, str(cut))


def test_truncated_posterior_in_diagnose(tmp_path, fitted, capfd):
    _, posterior = fitted
    cut = write(tmp_path / "cut.nc", posterior.read_bytes()[:4096])
    refused(rdsplan(capfd, ["diagnose", cut], [cut]), str(cut))


def test_covariate_posterior_given_as_the_count_posterior(fitted, capfd):
    study, posterior = fitted
    beside = posterior.with_name("posterior.covariates.nc")
    result = rdsplan(
        capfd, ["plan", beside, "--data", study, "--budget", 5, *PLAN], fit_files(fitted)
    )
    refused(result, str(beside), "covariates", "count")


def test_covariate_posterior_given_to_diagnose(fitted, capfd):
    _, posterior = fitted
    beside = posterior.with_name("posterior.covariates.nc")
    refused(rdsplan(capfd, ["diagnose", beside], fit_files(fitted)), str(beside), "count")


def test_missing_posterior(fitted, tmp_path, capfd):
    study, _ = fitted
    result = rdsplan(capfd, ["plan", tmp_path / "nope.nc", "--data", study, "--budget", 5], [study])
    refused(result, "nope.nc")


def test_folder_as_posterior(fitted, tmp_path, capfd):
    study, _ = fitted
    refused(rdsplan(capfd, ["diagnose", tmp_path], [study]), str(tmp_path), "folder")


def test_plan_on_another_study(fitted, good, capfd):
    _, posterior = fitted
    result = rdsplan(
        capfd, ["plan", posterior, "--data", good, "--budget", 5, *PLAN], [good, *fit_files(fitted)]
    )
    assert result.status == 1
    assert_clean(result)


# ============================================================ 4. option values
@pytest.mark.parametrize(
    ("extra", "culprits", "status"),
    [
        (["--budget", "-5"], ["--budget", "-5"], 1),
        (["--budget", "ten"], ["--budget", "ten"], 2),
        (["--method", "dp", "--gamma", "0"], ["gamma", "0"], 1),
        (["--method", "dp", "--gamma", "1.5"], ["gamma", "1.5"], 1),
        (["--method", "robust", "--risk", "bogus"], ["bogus"], 1),
        (["--samples", "0"], ["--samples", "0"], 1),
        (["--method", "simplex"], ["--method", "simplex"], 2),
        (["--gamma", "0.9"], ["--gamma", "greedy"], 1),
        (["--max-per-person", "0"], ["--max-per-person", "0"], 1),
    ],
)
def test_bad_plan_options(fitted, capfd, extra, culprits, status):
    study, posterior = fitted
    args = ["plan", posterior, "--data", study, *PLAN]
    if "--budget" not in extra:
        args += ["--budget", "5"]
    refused(rdsplan(capfd, [*args, *extra], fit_files(fitted)), *culprits, status=status)


def test_report_negative_budget(fitted, tmp_path, capfd):
    study, posterior = fitted
    result = rdsplan(
        capfd,
        ["report", posterior, "--data", study, "--budget", -1, *PLAN, "-o", tmp_path / "r.html"],
        fit_files(fitted),
    )
    refused(result, "--budget", "-1")
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("extra", "culprits"),
    [
        (["--chains", "0"], ["--chains", "0"]),
        (["--draws", "-5"], ["--draws", "-5"]),
        (["--tune", "-1"], ["--tune", "-1"]),
        (["--target-accept", "1.5"], ["--target-accept", "1.5"]),
    ],
)
def test_bad_fit_options(good, tmp_path, capfd, extra, culprits):
    result = rdsplan(capfd, ["fit", good, "-o", tmp_path / "p.nc", "--no-progress", *extra], [good])
    refused(result, *culprits)
    assert not (tmp_path / "p.nc").exists()


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--id-col", "rid"),
        ("--recruiter-col", "referrer"),
        ("--coupons-col", "ncoupons"),
        ("--time-col", "when"),
        ("--group", "site"),
        ("--covariates", "sex,height"),
        ("--categorical", "colour"),
        ("--exclude-columns", "notes"),
    ],
)
def test_unknown_column_in_a_column_flag(good, capfd, flag, value):
    err = refused(
        rdsplan(capfd, ["validate", good, flag, value], [good]), flag, value.split(",")[-1]
    )
    # one problem, not a cascade of consequences
    assert "has the name of a column the toolkit derives" not in err


def test_unknown_capacity_covariate(good, tmp_path, capfd):
    start = time.perf_counter()
    result = rdsplan(
        capfd,
        ["fit", good, "-o", tmp_path / "p.nc", "--capacity-covariates", "sex,height", *FAST_FIT],
        [good],
    )
    refused(result, "--capacity-covariates", "height")
    assert time.perf_counter() - start < 60, "refused only after fitting"


@pytest.mark.parametrize(
    ("extra", "culprits"),
    [
        (["--coupon-window", "-3"], ["--coupon-window", "-3"]),
        (["--cutoff", "next tuesday"], ["--cutoff", "next tuesday"]),
        (["--max-levels", "0"], ["--max-levels", "0"]),
        (["--delimiter", "ab"], ["--delimiter", "ab"]),
    ],
)
def test_bad_reading_options(good, capfd, extra, culprits):
    refused(rdsplan(capfd, ["validate", good, *extra], [good]), *culprits)


def test_unknown_command(capfd):
    refused(rdsplan(capfd, ["simmulate"]), "simmulate", status=2)


def test_simulate_needs_two_respondents(tmp_path, capfd):
    refused(
        rdsplan(capfd, ["simulate", "--respondents", 0, "-o", tmp_path / "s.csv"]), "--respondents"
    )


@pytest.mark.parametrize(
    ("extra", "culprits"),
    [
        (["--episodes", "0"], ["--episodes", "0"]),
        (["--gammas", "0,1.5"], ["--gammas"]),
        (["--budget", "-5"], ["--budget", "-5"]),
        (["--world-setting", "original", "--scenario", "calibrated"], ["--world-setting"]),
    ],
)
def test_bad_evaluate_options(tmp_path, capfd, extra, culprits):
    result = rdsplan(capfd, ["evaluate", "--oracle-models", *extra, "-o", tmp_path / "e.nc"])
    refused(result, *culprits)
    assert not (tmp_path / "e.nc").exists()


@pytest.mark.parametrize(
    ("data", "culprits"),
    [
        (None, ["nope.csv"]),
        (PNG, ["not UTF-8"]),
        (GOOD.splitlines()[0] + "\n", ["no respondents"]),
        ("folder", ["folder"]),
    ],
)
def test_demo_with_bad_data(tmp_path, capfd, data, culprits):
    if data is None:
        path = tmp_path / "nope.csv"
    elif data == "folder":
        path = tmp_path / "folder"
        write(path / "x.csv", GOOD)
    else:
        path = write(tmp_path / "data.csv", data)
    result = rdsplan(
        capfd,
        ["demo", "--data", path, "-o", tmp_path / "out", "--chains", 1, "--draws", 20],
        [path],
    )
    refused(result, *culprits)


# ============================================================ 5. data that are wrong
def test_duplicated_ids(tmp_path, capfd):
    study = write(tmp_path / "study.csv", "id,recruiter_id,coupons_issued\n1,,3\n2,1,3\n2,1,\n")
    refused(rdsplan(capfd, ["validate", study], [study]), "duplicate", "'2'", "lines 3, 4")


def test_recruiter_cycle(tmp_path, capfd):
    study = write(
        tmp_path / "study.csv", "id,recruiter_id,coupons_issued\n1,,3\n2,3,3\n3,2,3\n4,1,\n"
    )
    refused(rdsplan(capfd, ["validate", study], [study]), "cycle", "'2'", "'3'")


def test_recruited_before_the_recruiter(tmp_path, capfd):
    study = write(
        tmp_path / "study.csv",
        "id,recruiter_id,coupons_issued,interview_time\n"
        "1,,3,2024-01-01\n2,1,3,2024-01-10\n3,2,,2024-01-05\n",
    )
    refused(rdsplan(capfd, ["validate", study], [study]), "'3'", "line 4", "before", "'2'")


@pytest.mark.parametrize("value", ["-2", "2.5", "three"])
def test_bad_coupon_counts(tmp_path, capfd, value):
    study = write(
        tmp_path / "study.csv", f"id,recruiter_id,coupons_issued\n1,,3\n2,1,{value}\n3,1,\n"
    )
    refused(rdsplan(capfd, ["validate", study], [study]), "coupons_issued", value, "line 3")


def test_unknown_recruiter(tmp_path, capfd):
    study = write(tmp_path / "study.csv", "id,recruiter_id,coupons_issued\n1,,3\n2,1,3\n3,99,\n")
    refused(rdsplan(capfd, ["validate", study], [study]), "'99'", "line 4")


def test_errors_name_physical_lines(tmp_path, capfd):
    # a blank line and a note with a line break come before the bad row: it is on line 7
    study = write(
        tmp_path / "study.csv",
        'id,recruiter_id,coupons_issued,note\n1,,3,ok\n\n2,1,3,"two\nlines"\n'
        "3,1,,fine\n4,2,lots,bad\n",
    )
    refused(rdsplan(capfd, ["validate", study], [study]), "id '4' (line 7)", "lots")


def test_recruiter_written_as_a_float_matches(tmp_path, capfd):
    study = write(tmp_path / "study.csv", "id,recruiter_id,coupons_issued\n7,,3\n8,7.0,\n")
    result = rdsplan(capfd, ["validate", study], [study])
    assert_clean(result)
    assert result.status == 0, result.err


def test_study_of_only_seeds_hints_to_skip_the_covariate_model(tmp_path, capfd):
    study = write(
        tmp_path / "seeds.csv",
        "id,recruiter_id,coupons_issued,sex\n1,,3,f\n2,,3,m\n3,,3,f\n4,,,m\n",
    )
    result = rdsplan(capfd, ["fit", study, "-o", tmp_path / "p.nc", *FAST_FIT], [study])
    refused(result, "seeds", "--no-covariate-model")
    assert not (tmp_path / "p.nc").exists()


# ============================================================ 6. where outputs go
def test_every_command_creates_a_missing_output_folder(fitted, tmp_path, capfd):
    """Decided: -o into a folder that does not exist creates it (as ``mkdir -p``), for every command."""
    study, posterior = fitted
    base = tmp_path / "new" / "deeper"
    runs = {
        "simulate": [
            "simulate",
            "--scenario",
            "homogeneous",
            "--respondents",
            30,
            "-o",
            base / "sim" / "s.csv",
        ],
        "describe": ["describe", study, "-o", base / "described"],
        "diagnose": ["diagnose", posterior, "-o", base / "figures"],
        "plan": [
            "plan",
            posterior,
            "--data",
            study,
            "--budget",
            5,
            *PLAN,
            "-o",
            base / "plan" / "plan.csv",
        ],
    }
    for name, args in runs.items():
        result = rdsplan(capfd, args, fit_files(fitted))
        assert_clean(result)
        assert result.status in (0, 1) and "rdsplan: error" not in result.err, (name, result.err)
        assert Path(args[-1]).exists(), name


@pytest.mark.parametrize("command", ["simulate", "plan", "describe", "fit", "report", "diagnose"])
def test_help_of_o_says_missing_folders_are_created(capfd, command):
    result = rdsplan(capfd, [command, "--help"])
    assert result.status == 0
    assert "created" in " ".join(result.out.split()), result.out


@pytest.mark.parametrize("command", ["simulate", "plan", "describe", "fit", "report", "diagnose"])
def test_output_under_a_file(fitted, tmp_path, capfd, command):
    """-o below a path that is a file: refused naming the user's path, never a temporary file."""
    study, posterior = fitted
    blocker = write(tmp_path / "blocker", "not a folder")
    target = blocker / "out.x"
    args = {
        "simulate": ["simulate", "--respondents", 20, "-o", target],
        "plan": ["plan", posterior, "--data", study, "--budget", 5, *PLAN, "-o", target],
        "describe": ["describe", study, "-o", target],
        "fit": ["fit", study, "-o", target, *FAST_FIT],
        "report": ["report", posterior, "--data", study, "--budget", 5, *PLAN, "-o", target],
        "diagnose": ["diagnose", posterior, "-o", target],
    }[command]
    start = time.perf_counter()
    result = rdsplan(capfd, args, [*fit_files(fitted), blocker])
    err = refused(result, str(blocker))
    assert ".tmp" not in err
    if command == "fit":
        assert time.perf_counter() - start < 60, "refused only after fitting"


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders"
)
@pytest.mark.parametrize("command", ["simulate", "plan", "describe"])
def test_output_into_a_read_only_folder(fitted, tmp_path, capfd, command):
    study, posterior = fitted
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        target = locked / "out.csv"
        args = {
            "simulate": ["simulate", "--respondents", 20, "-o", target],
            "plan": ["plan", posterior, "--data", study, "--budget", 5, *PLAN, "-o", target],
            "describe": ["describe", study, "-o", locked / "described"],
        }[command]
        err = refused(rdsplan(capfd, args, fit_files(fitted)), str(locked))
        assert ".tmp" not in err
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize("command", ["simulate", "plan"])
def test_output_folder_not_writable(fitted, tmp_path, capfd, monkeypatch, command):
    """As root no folder is read-only, so the refusal of the operating system is simulated."""
    import rdsmodel.persistence

    study, posterior = fitted

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(rdsmodel.persistence.tempfile, "mkstemp", refuse)
    target = tmp_path / "locked" / "out.csv"
    args = {
        "simulate": ["simulate", "--respondents", 20, "-o", target],
        "plan": ["plan", posterior, "--data", study, "--budget", 5, *PLAN, "-o", target],
    }[command]
    err = refused(
        rdsplan(capfd, args, fit_files(fitted)), str(target), "not writable", "permission denied"
    )
    assert ".tmp" not in err


def test_outputs_follow_the_umask(tmp_path, capfd):
    previous = os.umask(0o022)
    try:
        result = rdsplan(capfd, ["simulate", "--respondents", 20, "-o", tmp_path / "s.csv"])
    finally:
        os.umask(previous)
    assert result.status == 0, result.err
    assert (tmp_path / "s.csv").stat().st_mode & 0o777 == 0o644


def test_more_samples_than_the_posterior_holds_is_not_an_error(fitted, capfd):
    study, posterior = fitted
    result = rdsplan(
        capfd,
        [
            "plan",
            posterior,
            "--data",
            study,
            "--budget",
            5,
            "--allow-unconverged",
            "--samples",
            5000,
            "--json",
        ],
        fit_files(fitted),
    )
    assert_clean(result)
    assert result.status == 0, result.err
    assert "5000" not in result.err


# ============================================================ 7. machine-readable output stays clean
def test_robust_json_is_only_json(fitted):
    """In a fresh process: HiGHS prints its banner from C++ the first time it runs in a process."""
    study, posterior = fitted
    before = snapshot(fit_files(fitted))
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "planning.app.cli",
            "plan",
            str(posterior),
            "--data",
            str(study),
            "--budget",
            "6",
            "--method",
            "robust",
            *PLAN,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert snapshot(fit_files(fitted)) == before
    assert_clean(Result(process.returncode, process.stdout, process.stderr))
    assert process.returncode == 0, process.stderr
    plan = json.loads(process.stdout)  # nothing but JSON: no solver banner
    assert plan["method"] == "robust"
    assert "HiGHS" not in process.stdout and "HiGHS" not in process.stderr


def test_json_with_warnings_keeps_warnings_on_stderr(fitted, tmp_path, capfd):
    study, posterior = fitted
    grown = write(tmp_path / "grown.csv", study.read_text())
    text = grown.read_text().splitlines()
    frontier = [line for line in text[1:] if line.split(",")[2] == ""]
    assert frontier
    # the study moved on: one more frontier member (a warning), written with ; (a note)
    parent = text[1].split(",")[0]
    extra = f"NEW001,{parent},,2024-02-01,{text[1].split(',')[4]},f"
    write(grown, "\n".join([*text, extra]).replace(",", ";") + "\n")
    result = rdsplan(
        capfd,
        ["plan", posterior, "--data", grown, "--budget", 5, *PLAN, "--json"],
        [grown, *fit_files(fitted)],
    )
    assert_clean(result)
    assert result.status == 0, result.err
    json.loads(result.out)
    assert "rdsplan: note:" in result.err or "rdsplan: warning:" in result.err


# ============================================================ 8. Ctrl-C during a fit
def test_sigint_during_fit_writes_nothing_and_keeps_the_old_posterior(tmp_path):
    study = write(tmp_path / "study.csv", branching_study(seed=5, seeds=60, waves=5))
    posterior = write(tmp_path / "posterior.nc", b"the previous posterior")
    before = snapshot([study, posterior])
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "planning.app.cli",
            "fit",
            str(study),
            "-o",
            str(posterior),
            "--chains",
            "2",
            "--draws",
            "50000",
            "--tune",
            "1000",
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines = []
    try:
        for line in process.stderr:  # wait until the sampler starts, then a few seconds more
            lines.append(line)
            if "fitting the" in line:
                break
        time.sleep(4)
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    err = "".join(lines) + err
    assert process.returncode == 130, (process.returncode, err[-2000:])
    assert "interrupted" in err
    assert "Traceback" not in err and "internal error" not in err
    assert snapshot([study, posterior]) == before
    assert not posterior.with_name("posterior.covariates.nc").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "posterior.nc",
        "study.csv",
    ]  # no temporary files


@pytest.mark.parametrize(
    ("extra", "culprits"),
    [
        (["--priority", "LOCAL=L2"], ["--priority", "LOCAL=L2", "FIELD=LEVEL:FACTOR"]),
        (["--priority", "LOCAL=L2:lots"], ["--priority", "lots"]),
        (["--priority", "LOCAL=L2:-1"], ["--priority", "-1"]),
        (["--priority", "FOO=L1:3"], ["--priority", "FOO", "tunnel world", "LOCAL"]),
        (["--priority", "LOCAL=L9:3"], ["--priority", "L9", "L1, L2, L3, L4"]),
        (["--priority", "LOCAL=L2:3", "--priority-file", "w.csv"], ["--priority-file"]),
        (["--priority-rule", "max"], ["--priority-rule", "--priority-file"]),
        (["--priority-file", "MISSING"], ["--priority-file", "missing.csv"]),
        (["--priority-file", "NOWEIGHT"], ["--priority-file", "weight"]),
        (["--scenario", "network", "--priority", "injects=yes:3"], ["--priority", "oracle-models"]),
        (["--scenario", "network", "--priority", "sex=X:3"], ["--priority", "sex", "'X'", "F, M"]),
    ],
)
def test_bad_evaluate_priority(tmp_path, capfd, extra, culprits):
    """``evaluate --priority`` refuses what ``plan --priority`` refuses, and what the world lacks."""
    files = {"MISSING": tmp_path / "missing.csv", "NOWEIGHT": tmp_path / "noweight.csv"}
    write(files["NOWEIGHT"], "LOCAL,factor\nL2,3\n")
    extra = [str(files.get(x, x)) for x in extra]
    inputs = [files["NOWEIGHT"]]
    result = rdsplan(
        capfd, ["evaluate", "--oracle-models", *extra, "-o", tmp_path / "e.nc"], inputs
    )
    refused(result, *culprits)
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert not (tmp_path / "e.nc").exists()


def test_bad_round_priority_is_refused_before_any_fit(tmp_path, capfd):
    study = write(tmp_path / "s.csv", GOOD)
    out = tmp_path / "r"
    result = rdsplan(
        capfd,
        ["round", study, "--budget-left", "5", "--priority", "sex=x:3", "-o", out],
        [study],
    )
    refused(result, "--priority", "'x'", "f, m")
    assert not out.exists()
