"""One test per validation error, the warnings, drop_warned, and the error's text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rdsmodel.data import (
    CovariateField,
    CovariateSchema,
    DataValidationError,
    Problem,
    RecruitmentData,
)


def frame(**overrides) -> pd.DataFrame:
    base = {
        "id": ["s", "a", "b", "c"],
        "recruiter_id": [None, "s", "s", "a"],
        "coupons_issued": [3, 3, 3, None],
        "interview_time": ["2024-01-01", "2024-01-03", "2024-01-04", "2024-01-09"],
        "sex": ["f", "m", "f", "m"],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def errors_of(df: pd.DataFrame, **options) -> list[Problem]:
    with pytest.raises(DataValidationError) as info:
        RecruitmentData.from_frame(df, **options)
    return info.value.errors


def only(problems: list[Problem], kind: str) -> list[Problem]:
    found = [p for p in problems if p.kind == kind]
    assert found, f"no {kind} in {[str(p) for p in problems]}"
    return found


def test_valid_frame_loads():
    data = RecruitmentData.from_frame(frame())
    assert len(data) == 4 and data.warnings == []


def test_missing_column_lists_available():
    (problem,) = errors_of(frame().drop(columns="coupons_issued"))
    assert problem.kind == "missing_column"
    assert "'coupons_issued'" in problem.message and "'sex'" in problem.message


def test_missing_id():
    (problem,) = only(errors_of(frame(id=["s", "a", None, "c"])), "missing_id")
    assert problem.rows == (2,) and "row 2" in problem.message


def test_duplicate_id():
    (problem,) = only(errors_of(frame(id=["s", "a", "a", "c"])), "duplicate_id")
    assert problem.rows == (1, 2) and "'a'" in problem.message and "rows 1, 2" in problem.message


def test_self_recruitment():
    (problem,) = only(errors_of(frame(recruiter_id=[None, "s", "b", "a"])), "self_recruitment")
    assert problem.ids == ("b",) and "row 2" in problem.message


def test_unknown_recruiter():
    (problem,) = only(errors_of(frame(recruiter_id=[None, "s", "zz", "a"])), "unknown_recruiter")
    assert problem.ids == ("b",) and "'zz'" in problem.message


def test_cycle():
    df = frame(recruiter_id=[None, "c", "s", "a"])  # a <- c <- a
    (problem,) = only(errors_of(df), "cycle")
    assert set(problem.ids) == {"a", "c"}
    assert "cycle" in problem.message and "'a'" in problem.message


def test_long_cycle_has_no_recursion_limit():
    n = 5000
    ids = [f"p{i}" for i in range(n)]
    df = pd.DataFrame({"id": ids, "recruiter_id": ids[-1:] + ids[:-1], "coupons_issued": 1})
    (problem,) = only(errors_of(df), "cycle")
    assert len(problem.rows) == n and "..." in problem.message


def test_recruited_before_recruiter():
    df = frame(interview_time=["2024-01-01", "2024-01-03", "2024-01-04", "2024-01-02"])
    (problem,) = only(errors_of(df), "recruited_before_recruiter")
    assert problem.ids == ("c", "a") and "before its recruiter" in problem.message


def test_too_many_recruits():
    df = frame(coupons_issued=[1, 3, 3, None])
    (problem,) = only(errors_of(df), "too_many_recruits")
    assert (
        problem.ids == ("s",) and "2 recruits" in problem.message and "1 coupon" in problem.message
    )


def test_frontier_is_not_checked_against_recruits():
    data = RecruitmentData.from_frame(frame(coupons_issued=[3, None, 3, None]))
    (warning,) = data.warnings
    assert warning.kind == "frontier_with_recruits" and warning.ids == ("a",)


@pytest.mark.parametrize("value", ["-1", "2.5", "three"])
def test_bad_coupons(value):
    df = frame(coupons_issued=["3", value, "3", None])
    (problem,) = only(errors_of(df), "bad_coupons")
    assert problem.ids == ("a",) and repr(value) in problem.message


def test_bad_covariate_numeric():
    df = frame(age=["31.5", "abc", "22", "40"])
    (problem,) = only(errors_of(df, numeric=["age"]), "bad_covariate")
    assert problem.ids == ("a",) and "'abc'" in problem.message and "number" in problem.message


def test_bad_covariate_level_outside_schema():
    schema = CovariateSchema([CovariateField("sex", "categorical", ("f", "m"))])
    df = frame(sex=["f", "m", "x", "m"])
    (problem,) = only(errors_of(df, schema=schema), "bad_covariate")
    assert problem.ids == ("b",) and "'x'" in problem.message


def test_bad_time():
    df = frame(interview_time=["2024-01-01", "soon", "2024-01-04", "2024-01-09"])
    (problem,) = only(errors_of(df), "bad_time")
    assert problem.ids == ("a",) and "'soon'" in problem.message


def test_bad_window_closed():
    df = frame(window_closed=["true", "maybe", "false", None])
    (problem,) = only(errors_of(df.drop(columns="interview_time")), "bad_window_closed")
    assert problem.ids == ("a",)


def test_all_errors_reported_at_once_one_line_each():
    df = frame(
        id=["s", "a", "a", "c"],
        coupons_issued=["3", "-2", "3", None],
        recruiter_id=[None, "s", "q", "a"],
    )
    with pytest.raises(DataValidationError) as info:
        RecruitmentData.from_frame(df)
    kinds = {p.kind for p in info.value.errors}
    assert {"duplicate_id", "bad_coupons", "unknown_recruiter"} <= kinds
    lines = str(info.value).splitlines()
    assert len(lines) == len(info.value.problems)
    assert all(line.startswith(("error [", "warning [")) for line in lines)
    assert isinstance(info.value, ValueError)


def test_implausible_date_warning_and_drop_warned():
    df = frame(interview_time=["2024-01-01", "2024-01-03", "2024-01-04", "1975-01-09"])
    df["recruiter_id"] = [None, "s", "s", None]  # c: a seed with an odd date
    data = RecruitmentData.from_frame(df)
    (warning,) = data.warnings
    assert (
        warning.kind == "implausible_date"
        and warning.ids == ("c",)
        and warning.severity == "warning"
    )
    assert "before 1980" in warning.message and data.dropped.empty

    dropped = RecruitmentData.from_frame(df, drop_warned=True)
    assert dropped.table["id"].tolist() == ["s", "a", "b"]
    assert dropped.dropped["row"].tolist() == [3]
    assert "before 1980" in dropped.dropped["reason"].iloc[0]


def test_drop_warned_drops_descendants_and_says_so():
    df = frame(coupons_issued=[3, None, 3, None])  # a has a recruit (c) but no coupons: warning
    data = RecruitmentData.from_frame(df, drop_warned=True)
    assert data.table["id"].tolist() == ["s", "b"]
    assert data.dropped["row"].tolist() == [1, 3]
    assert "no coupons issued" in data.dropped["reason"].iloc[0]
    assert "dropped respondent 'a'" in data.dropped["reason"].iloc[1]
    assert data.dropped["id"].tolist() == ["a", "c"]  # the caller's columns are kept
    (note,) = [p for p in data.warnings if p.kind == "dropped_descendant"]
    assert note.ids == ("c",)
    assert data.table.loc[0, "n_recruits"] == 1


def test_dates_after_cutoff_or_in_future_warn():
    df = frame(interview_time=["2024-01-01", "2024-01-03", "2024-01-04", "2999-01-09"])
    kinds = [(p.kind, p.ids) for p in RecruitmentData.from_frame(df).warnings]
    assert kinds == [("implausible_date", ("c",))]
    data = RecruitmentData.from_frame(frame(), cutoff="2024-01-05")
    assert [(p.kind, p.ids) for p in data.warnings] == [("implausible_date", ("c",))]


def test_missing_time_and_group_warn():
    df = frame(
        interview_time=["2024-01-01", None, "2024-01-04", "2024-01-09"], site=["x", "y", None, "x"]
    )
    data = RecruitmentData.from_frame(df, coupon_window=3, group_col="site")
    assert {(p.kind, p.ids) for p in data.warnings} == {
        ("missing_time", ("a",)),
        ("missing_group", ("b",)),
    }
    assert not data.table.set_index("id").loc["a", "window_closed"]


def test_error_text_is_capped_but_problems_kept():
    n = 300
    df = pd.DataFrame(
        {"id": [f"p{i}" for i in range(n)], "recruiter_id": None, "coupons_issued": "x"}
    )
    with pytest.raises(DataValidationError) as info:
        RecruitmentData.from_frame(df)
    assert len(info.value.problems) == n
    assert str(info.value).splitlines()[-1].startswith("... and 100 more")


def test_validation_is_vectorised_on_many_errors():
    rng = np.random.default_rng(0)
    n = 20_000
    ids = np.array([f"p{i}" for i in range(n)])
    rec = np.where(np.arange(n) > 0, ids[rng.integers(0, np.maximum(np.arange(n), 1))], "")
    coupons = np.where(rng.random(n) < 0.05, "bad", "999")
    errors = errors_of(pd.DataFrame({"id": ids, "recruiter_id": rec, "coupons_issued": coupons}))
    assert all(p.kind == "bad_coupons" for p in errors) and len(errors) > 500
