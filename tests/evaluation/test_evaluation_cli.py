"""``rdsplan evaluate``: the --json contract, files written, one-line user errors."""

from __future__ import annotations

import json

import pytest

from planning.app.cli import main

KEYS = {"policy", "gamma", "frontier", "mean", "se", "total_mean", "total_se"}
BASE = [
    "evaluate",
    "--scenario",
    "tunnel",
    "--oracle-models",
    "--episodes",
    "3",
    "--pilot-respondents",
    "60",
    "--budget",
    "30",
    "--max-per-round",
    "6",
]


def test_json_prints_only_the_results(tmp_path, capsys):
    out = tmp_path / "results.nc"
    status = main(
        [
            *BASE,
            "--policies",
            "greedy,constant:3",
            "--gammas",
            "0.5,0.9",
            "--frontier",
            "5,10",
            "--json",
            "-o",
            str(out),
        ]
    )
    assert status == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"results", "budget_binding"}
    rows = printed["results"]
    assert len(rows) == 2 * 2 * 2
    assert all(set(row) == KEYS for row in rows)
    assert {(r["policy"], r["gamma"], r["frontier"]) for r in rows} == {
        (p, g, f) for p in ("greedy", "constant:3") for g in (0.5, 0.9) for f in (5, 10)
    }
    assert all(r["total_mean"] >= r["mean"] - 1e-9 for r in rows)
    assert {(b["gamma"], b["frontier"]) for b in printed["budget_binding"]} == {
        (g, f) for g in (0.5, 0.9) for f in (5, 10)
    }
    assert out.stat().st_size > 0 and out.with_suffix(".png").stat().st_size > 0


def test_table_and_binding_check_without_json(tmp_path, capsys):
    assert (
        main(
            [
                *BASE,
                "--policies",
                "random,oracle",
                "--gammas",
                "0.9",
                "--no-plot",
                "-o",
                str(tmp_path / "r.nc"),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "random" in captured.out and "oracle" in captured.out
    assert "budget binding" in captured.err
    assert not (tmp_path / "r.png").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--policies", "nonsense"], "unknown policy 'nonsense'"),
        (["--gammas", "1.5"], "--gammas must be numbers in (0, 1]"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --executor dask"),
        (["--episodes", "0"], "--episodes must be a whole number >= 1"),
    ],
)
def test_user_errors_are_one_line(tmp_path, capsys, extra, message):
    assert main([*BASE, *extra, "-o", str(tmp_path / "r.nc")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rdsplan: error: ") and message in err
    assert not (tmp_path / "r.nc").exists()
