"""A posterior remembers how its study was read: plan without retyping the reading flags.

The study is written by a small generator here (not the toolkit's simulator),
with the user's own column names, so every reading option is exercised.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

FAST = ["--chains", "2", "--draws", "200", "--tune", "200", "--seed", "3", "--no-progress"]
READING = [
    "--id-col",
    "rid",
    "--recruiter-col",
    "referrer",
    "--coupons-col",
    "ncoupons",
    "--group",
    "site",
    "--covariates",
    "sex,drug",
]


def field_export(seed: int = 5, waves: int = 5) -> pd.DataFrame:
    """Branching recruitment with sites and two covariates, in a field system's column names."""
    rng = np.random.default_rng(seed)
    rows = []
    frontier = []
    for s in range(12):
        rid = f"S{s:02d}"
        rows.append(
            {
                "rid": rid,
                "referrer": "",
                "site": ["north", "south", "east"][s % 3],
                "sex": rng.choice(["f", "m"]),
                "drug": rng.choice(["yes", "no"]),
            }
        )
        frontier.append(len(rows) - 1)
    for _wave in range(waves):
        nxt = []
        for parent in frontier:
            coupons = int(rng.integers(2, 5))
            rows[parent]["ncoupons"] = coupons
            mean = 1.4 if rows[parent]["drug"] == "yes" else 0.9
            kids = min(coupons, int(rng.negative_binomial(2, 2 / (2 + mean))))
            for _ in range(kids):
                same = rng.random() < 0.6
                rows.append(
                    {
                        "rid": f"R{len(rows):04d}",
                        "referrer": rows[parent]["rid"],
                        "site": rows[parent]["site"],
                        "sex": rows[parent]["sex"] if same else rng.choice(["f", "m"]),
                        "drug": rows[parent]["drug"]
                        if rng.random() < 0.7
                        else rng.choice(["yes", "no"]),
                    }
                )
                nxt.append(len(rows) - 1)
        frontier = nxt
    table = pd.DataFrame(rows)
    table["ncoupons"] = table["ncoupons"].astype("Int64")  # empty for the frontier
    table["notes"] = "free text"  # a column that is not a covariate
    return table


def rdsplan(*args: str) -> subprocess.CompletedProcess:
    """Run the command line in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "planning.app.cli", *args], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("memory")
    study = folder / "export.csv"
    field_export().to_csv(study, index=False)
    posterior = folder / "post.nc"
    result = rdsplan("fit", str(study), *READING, "-o", str(posterior), *FAST)
    assert posterior.exists(), result.stderr
    return study, posterior


def test_plan_without_reading_flags_equals_plan_with_them(fitted, tmp_path):
    study, posterior = fitted
    plan = [
        "plan",
        str(posterior),
        "--data",
        str(study),
        "--budget",
        "30",
        "--allow-unconverged",
        "--samples",
        "50",
    ]
    bare = rdsplan(*plan, "-o", str(tmp_path / "bare.csv"))
    assert bare.returncode == 0, bare.stderr
    full = rdsplan(*plan, *READING, "-o", str(tmp_path / "full.csv"))
    assert full.returncode == 0, full.stderr
    assert (tmp_path / "bare.csv").read_bytes() == (tmp_path / "full.csv").read_bytes()
    assert pd.read_csv(tmp_path / "bare.csv")["coupons"].sum() > 0


@pytest.mark.parametrize(
    ("flags", "named"),
    [(["--group", "sex"], "--group"), (["--covariates", "sex"], "--covariates")],
)
def test_a_conflicting_reading_flag_is_refused_by_name(fitted, flags, named):
    study, posterior = fitted
    result = rdsplan(
        "plan",
        str(posterior),
        "--data",
        str(study),
        "--budget",
        "30",
        "--allow-unconverged",
        *flags,
    )
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()
    assert error[0].startswith("rdsplan: error:") and named in result.stderr
    assert "Traceback" not in result.stderr


def test_outputs_equal_to_inputs_are_refused_before_any_work(fitted):
    study, posterior = fitted
    before = {path: path.read_bytes() for path in (study, posterior)}
    for target in (study, posterior):
        result = rdsplan(
            "plan",
            str(posterior),
            "--data",
            str(study),
            "--budget",
            "30",
            "--allow-unconverged",
            "-o",
            str(target),
        )
        assert result.returncode == 1 and str(target) in result.stderr
    result = rdsplan("fit", str(study), *READING, "-o", str(study), *FAST)
    assert result.returncode == 1 and "destroy" in result.stderr
    assert {path: path.read_bytes() for path in before} == before


@pytest.mark.parametrize("method", ["greedy", "dp"])
def test_planning_from_a_saved_posterior_imports_no_heavy_library(fitted, method):
    """The start-up budget of ``rdsplan plan``: no ArviZ, plotting, numba or PyMC on its path."""
    study, posterior = fitted
    heavy = ("arviz", "matplotlib", "numba", "pymc", "pytensor", "nutpie", "cvxpy")
    code = (
        "import sys\n"
        "from planning.app.cli import main\n"
        f"status = main(['plan', {str(posterior)!r}, '--data', {str(study)!r}, '--budget', '30',\n"
        f"               '--method', {method!r}, '--allow-unconverged', '--samples', '50'])\n"
        "assert status == 0, status\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))\n"
        "print(loaded)\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
