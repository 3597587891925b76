"""The recruitment table: derived columns, censoring, frontier, identity, no mutation."""

from __future__ import annotations

import datetime as dt

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from rdsmodel.data import DataError, DataValidationError, RecruitmentData, read_canonical
from rdsmodel.data.tree import forest
from rdsmodel.persistence import row_digests


def test_derived_columns(small_frame):
    t = RecruitmentData.from_frame(small_frame).table.set_index("id")
    assert t["wave"].to_dict() == {"s1": 0, "s2": 0, "a": 1, "b": 1, "c": 1, "d": 2, "e": 2}
    assert t["seed_id"].to_dict() == {
        "s1": "s1",
        "s2": "s2",
        "a": "s1",
        "b": "s1",
        "c": "s2",
        "d": "s1",
        "e": "s1",
    }
    assert t["n_recruits"].to_dict() == {"s1": 2, "s2": 1, "a": 2, "b": 0, "c": 0, "d": 0, "e": 0}
    assert t.loc["s2", "recruiter_id"] is pd.NA  # "" marks a seed too


def test_dtypes_follow_the_contract(small_frame):
    t = RecruitmentData.from_frame(small_frame, group_col=None).table
    expected = {
        "id": "string",
        "recruiter_id": "string",
        "coupons_issued": "Int64",
        "sex": "string",
        "age": "float64",
        "n_recruits": "int64",
        "wave": "int64",
        "seed_id": "string",
        "window_closed": "bool",
        "censor_at": "Int64",
        "is_frontier": "bool",
    }
    assert {k: str(t[k].dtype) for k in expected} == expected
    assert str(t["interview_time"].dtype).startswith("datetime64")
    assert list(t.columns) == [
        "id",
        "recruiter_id",
        "coupons_issued",
        "interview_time",
        "sex",
        "age",
        "n_recruits",
        "wave",
        "seed_id",
        "window_closed",
        "censor_at",
        "is_frontier",
    ]


def test_frontier_rows(small_frame):
    data = RecruitmentData.from_frame(small_frame)
    assert data.frontier["id"].tolist() == ["d", "e"]
    assert data.frontier["censor_at"].isna().all() and data.frontier["is_frontier"].all()
    assert data.fit_rows["id"].tolist() == ["s1", "s2", "a", "b", "c"]
    assert data.fit_rows["censor_at"].notna().all()


def test_censoring_without_times_everything_closed(small_frame):
    data = RecruitmentData.from_frame(small_frame.drop(columns="interview_time"))
    t = data.table.set_index("id")
    assert t["window_closed"].all()
    assert t.loc[["s1", "a", "b"], "censor_at"].tolist() == [3, 2, 3]  # = coupons issued


def test_censoring_open_and_closed_windows(small_frame):
    # cut-off 2024-01-28 (last interview); window 10 days
    data = RecruitmentData.from_frame(small_frame, coupon_window=10)
    t = data.table.set_index("id")
    assert data.cutoff == pd.Timestamp("2024-01-28")
    # interviewed on or before 2024-01-18: closed; c (01-20) open; d, e frontier
    assert t["window_closed"].to_dict() == {
        "s1": True,
        "s2": True,
        "a": True,
        "b": True,
        "c": False,
        "d": False,
        "e": False,
    }
    assert t.loc["c", "censor_at"] == t.loc["c", "n_recruits"] == 0
    assert t.loc["a", "censor_at"] == 2 and t.loc["b", "censor_at"] == 3
    assert t.loc[["d", "e"], "censor_at"].isna().all()


def test_censoring_boundary_and_options(small_frame):
    # b interviewed 2024-01-06: with a 14-day window it closes exactly at 2024-01-20
    on_time = RecruitmentData.from_frame(
        small_frame, coupon_window=dt.timedelta(days=14), cutoff="2024-01-20"
    )
    assert on_time.table.set_index("id").loc["b", "window_closed"]
    assert [p.kind for p in on_time.warnings] == [
        "implausible_date",
        "implausible_date",
    ]  # d, e after cut-off
    late = RecruitmentData.from_frame(
        small_frame, coupon_window="15D", cutoff=pd.Timestamp("2024-01-20")
    )
    assert not late.table.set_index("id").loc["b", "window_closed"]
    with pytest.raises(DataError, match="--coupon-window"):
        RecruitmentData.from_frame(small_frame, coupon_window=-1)
    with pytest.raises(DataError, match="--cutoff"):
        RecruitmentData.from_frame(small_frame, coupon_window=1, cutoff="not a date")


def test_window_needs_times(small_frame):
    with pytest.raises(DataValidationError, match="--coupon-window needs interview times"):
        RecruitmentData.from_frame(small_frame.drop(columns="interview_time"), coupon_window=7)


def test_window_closed_column_is_used_without_a_window(small_frame):
    df = small_frame.drop(columns="interview_time").assign(
        window_closed=["yes", "yes", "no", "yes", "no", None, None]
    )
    t = RecruitmentData.from_frame(df).table.set_index("id")
    assert t.loc["a", "censor_at"] == 2 and not t.loc["a", "window_closed"]  # open: its 2 recruits
    assert t.loc["c", "censor_at"] == 0


def test_caller_frame_is_never_mutated(small_frame):
    before = small_frame.copy(deep=True)
    data = RecruitmentData.from_frame(small_frame, coupon_window=5, drop_warned=True)
    pd.testing.assert_frame_equal(small_frame, before)
    table = data.table
    table.loc[0, "wave"] = 99
    assert data.table.loc[0, "wave"] == 0


def test_ids_as_numbers_compare_as_text():
    df = pd.DataFrame(
        {"id": [1, 2, 3], "recruiter_id": [np.nan, 1.0, 1.0], "coupons_issued": [2.0, np.nan, 1]}
    )
    t = RecruitmentData.from_frame(df).table
    assert t["id"].tolist() == ["1", "2", "3"] and t["recruiter_id"].tolist()[1:] == ["1", "1"]


def test_group_column(small_frame):
    df = small_frame.assign(site=["x", "x", "x", "y", "y", "y", "y"])
    data = RecruitmentData.from_frame(df, group_col="site")
    assert data.group_column == "group" and "site" not in data.covariates
    assert data.table["group"].tolist()[:3] == ["x", "x", "x"]
    auto = RecruitmentData.from_frame(small_frame.assign(group="g"))
    assert auto.group_column == "group" and "group" not in auto.covariates


def test_pairs_align_recruiter_and_recruit(small_frame):
    data = RecruitmentData.from_frame(small_frame)
    parents, recruits = data.pairs()
    assert len(parents) == len(recruits) == 5
    assert parents.index.equals(recruits.index)
    assert parents["sex"].tolist() == ["f", "f", "m", "f", "f"]  # s1, s1, s2, a, a
    assert recruits["age"].tolist() == [27.2, 40.1, 36.0, 22.9, 29.4]
    assert data.edges()["recruiter_id"].tolist() == ["s1", "s1", "s2", "a", "a"]


def test_fingerprint_digests_and_csv_round_trip(small_frame, tmp_path):
    data = RecruitmentData.from_frame(small_frame, coupon_window=10)
    assert len(data.fingerprint()) == 64
    path = data.to_csv(tmp_path / "out" / "study.csv")
    again = read_canonical(path)  # window_closed is read back from the file
    assert again.fingerprint() == data.fingerprint()
    pd.testing.assert_frame_equal(again.table, data.table)
    assert data.identity_digests(legacy=True) == row_digests(
        data.table, ["recruiter_id", "sex", "age"]
    )
    assert data.identity_digests() == row_digests(
        data.table, ["age", "recruiter_id", "sex"], names=True
    )
    assert set(data.state_digests()) == set(data.table["id"])
    changed = RecruitmentData.from_frame(small_frame.assign(age=small_frame["age"] + 1))
    assert changed.fingerprint() != data.fingerprint()
    assert changed.identity_digests()["a"] != data.identity_digests()["a"]
    assert changed.state_digests() == RecruitmentData.from_frame(small_frame).state_digests()


def test_to_csv_keeps_the_old_file_on_failure(small_frame, tmp_path, monkeypatch):
    data = RecruitmentData.from_frame(small_frame)
    path = tmp_path / "study.csv"
    path.write_text("precious")
    monkeypatch.setattr(RecruitmentData, "_csv_text", lambda self: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        data.to_csv(path)
    assert path.read_text() == "precious"


def test_derived_column_that_disagrees_warns(small_frame):
    data = RecruitmentData.from_frame(small_frame.assign(wave=[0, 0, 1, 1, 1, 2, 5]))
    (warning,) = data.warnings
    assert warning.kind == "derived_column_differs" and "'wave'" in warning.message
    assert data.table["wave"].tolist()[-1] == 2


def test_seeds_and_tree_sizes(study_frame):
    data = RecruitmentData.from_frame(study_frame)
    sizes = data.recruits_per_seed()
    assert sizes.sum() == len(data) and len(sizes) == len(data.seeds()) == 10


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-1, max_value=60), min_size=1, max_size=60))
def test_pointer_jumping_matches_a_plain_walk(raw):
    parent = np.array([p if p < i else -1 for i, p in enumerate(raw)])  # a forest (parents first)
    perm = np.random.default_rng(len(raw)).permutation(
        len(raw)
    )  # shuffle rows: order must not matter
    inverse = np.argsort(perm)
    shuffled = np.where(parent[perm] >= 0, inverse[np.maximum(parent[perm], 0)], -1)
    result = forest(shuffled)
    assert result.rooted.all() and result.cycles == []
    for i in range(len(shuffled)):
        node, depth = i, 0
        while shuffled[node] >= 0:
            node, depth = shuffled[node], depth + 1
        assert result.depth[i] == depth and result.root[i] == node


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=30))
def test_every_cycle_is_found(raw):
    parent = np.array(
        [p % len(raw) for p in raw]
    )  # a functional graph: every component has a cycle
    result = forest(parent)
    on_cycle = set()
    for i in range(len(parent)):
        seen, node = [], i
        while node not in seen:
            seen.append(node)
            node = parent[node]
        on_cycle |= set(seen[seen.index(node) :])
    assert not result.rooted.any()
    assert {i for c in result.cycles for i in c} == on_cycle
    for cycle in result.cycles:  # each listed in recruitment order
        for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True):
            assert parent[b] == a
