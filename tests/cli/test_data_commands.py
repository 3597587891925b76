"""``rdsplan simulate``, ``validate`` and ``describe`` as a user runs them."""

import pandas as pd
import pytest

from planning.app.cli import main


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "study.csv"
    assert (
        main(
            [
                "simulate",
                "--scenario",
                "homogeneous",
                "--seed",
                "4",
                "--respondents",
                "120",
                "-o",
                str(path),
            ]
        )
        == 0
    )
    return path


def test_simulate_is_deterministic(study, tmp_path):
    again = tmp_path / "again.csv"
    assert (
        main(
            [
                "simulate",
                "--scenario",
                "homogeneous",
                "--seed",
                "4",
                "--respondents",
                "120",
                "-o",
                str(again),
            ]
        )
        == 0
    )
    assert again.read_bytes() == study.read_bytes()


def test_validate_accepts_a_simulated_study(study, capsys):
    assert main(["validate", str(study)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "120 respondents" in out


def test_validate_reports_errors_in_one_line_each_and_exits_1(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    pd.DataFrame(
        {"id": ["a", "a", "b"], "recruiter_id": ["", "", "zz"], "coupons_issued": [3, 3, 3]}
    ).to_csv(bad, index=False)
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rdsplan: error:")
    assert "Traceback" not in err
    assert "duplicate" in err.lower() and "zz" in err


def test_missing_file_is_one_line(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.csv")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such file" in err[0]


def test_describe_writes_tables_and_tree(study, tmp_path, capsys):
    out = tmp_path / "described"
    assert main(["describe", str(study), "-o", str(out)]) == 0
    assert "respondents" in capsys.readouterr().out
    assert (out / "recruitment_tree.png").stat().st_size > 0
    assert (out / "homophily.csv").exists()


def test_options_of_another_format_are_refused(study, capsys):
    assert main(["validate", str(study), "--max-coupons", "3"]) == 1
    assert "--format rds" in capsys.readouterr().err


def test_argument_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "study.csv", "-o", "p.nc", "--family", "gamma"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid choice: 'gamma'" in err[0]
