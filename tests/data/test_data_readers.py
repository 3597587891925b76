"""Readers: canonical CSV, R RDS-package style, coupon-code exports, and read_table."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from rdsmodel.data import (
    DataError,
    DataValidationError,
    read_canonical,
    read_coupons,
    read_rds,
    read_table,
)


def write(tmp_path: Path, text: str, name: str = "study.csv") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


CANONICAL = """
    id,recruiter_id,coupons_issued,interview_time,site,sex,age
    s1,,3,2024-02-01,north,f,31
    a,s1,3,2024-02-04T10:30,north,m,25
    b,s1,2,2024-02-05,north,f,44
    c,a,,2024-02-20,south,f,38
    """


# -- canonical -----------------------------------------------------------------------------------
def test_read_canonical_file(tmp_path):
    data = read_canonical(write(tmp_path, CANONICAL), group_col="site", coupon_window=7)
    t = data.table.set_index("id")
    assert t["recruiter_id"].isna().tolist() == [True, False, False, False]
    assert t.loc["c", "is_frontier"] and t.loc["s1", "n_recruits"] == 2
    assert data.schema["age"].kind == "categorical"  # four integers: categorical by the rule
    assert t.loc["a", "interview_time"] == pd.Timestamp("2024-02-04 10:30")
    assert data.group_column == "group"


def test_read_canonical_data_frame_and_tsv(tmp_path):
    df = pd.read_csv(write(tmp_path, CANONICAL))
    assert len(read_canonical(df, numeric=["age"])) == 4
    tsv = write(tmp_path, CANONICAL.replace(",", "\t"), "study.tsv")
    assert read_canonical(tsv).covariates == ["site", "sex", "age"]


def test_errors_name_file_lines(tmp_path):
    path = write(tmp_path, CANONICAL.replace("b,s1,2", "b,zz,2"))
    with pytest.raises(DataValidationError) as info:
        read_canonical(path)
    (problem,) = info.value.errors
    assert (
        problem.kind == "unknown_recruiter" and "line 4" in problem.message and problem.rows == (2,)
    )


def test_custom_column_names(tmp_path):
    text = "pid,parent,k,x\n1,,2,a\n2,1,1,b\n"
    data = read_canonical(
        write(tmp_path, text), id_col="pid", recruiter_col="parent", coupons_col="k"
    )
    assert data.table["recruiter_id"].tolist()[1] == "1" and data.covariates == ["x"]


def test_missing_file_and_columns(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_canonical(tmp_path / "nope.csv")
    path = write(tmp_path, "id,recruiter,coupons_issued\n1,,2\n")
    with pytest.raises(DataValidationError) as info:
        read_canonical(path)
    message = str(info.value)
    assert (
        "no column 'recruiter_id'" in message
        and "'recruiter'" in message
        and "--recruiter-col" in message
    )
    assert "recruiter_col" not in message


def test_unreadable_files(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        read_canonical(write(tmp_path, "", "empty.csv"))
    with pytest.raises(ValueError, match="well-formed"):
        read_canonical(write(tmp_path, 'id,recruiter_id,coupons_issued\n1,,2\n2,1,"3\n', "bad.csv"))
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"id,recruiter_id,coupons_issued\n\xff\xfe,,2\n")
    with pytest.raises(ValueError, match="UTF-8"):
        read_canonical(binary)


# -- R RDS package style -------------------------------------------------------------------------
RDS = """
    id,recruiter.id,network.size,sex,interview_time
    1,seed,10,f,2024-03-01
    2,0,4,m,2024-03-01
    3,1,25,f,2024-03-03
    4,1,7,m,2024-03-05
    5,3,3,f,2024-03-09
    """


def test_read_rds(tmp_path):
    data = read_rds(write(tmp_path, RDS), max_coupons=3)
    t = data.table.set_index("id")
    assert t["recruiter_id"].isna().to_dict() == {
        "1": True,
        "2": True,
        "3": False,
        "4": False,
        "5": False,
    }
    assert (t["coupons_issued"] == 3).all() and not t["is_frontier"].any()
    assert data.schema["network.size"].kind == "numeric"
    assert t["wave"].tolist() == [0, 0, 1, 1, 2]


def test_read_rds_needs_coupons_and_network_size(tmp_path):
    path = write(tmp_path, RDS)
    with pytest.raises(DataError, match="--max-coupons N"):
        read_rds(path)
    with pytest.raises(DataError, match="--max-coupons must be a whole number"):
        read_rds(path, max_coupons=-2)
    no_size = write(tmp_path, RDS.replace("network.size", "degree"), "nosize.csv")
    # without a network.size column, none is used unless named
    assert read_rds(no_size, max_coupons=3).reading.network_size_col is None
    with pytest.raises(DataValidationError, match="--network-size-col"):
        read_rds(no_size, max_coupons=3, network_size_col="netsize")
    named = read_rds(no_size, max_coupons=3, network_size_col="degree")
    assert named.schema["degree"].kind == "numeric"


def test_read_rds_seed_marker_that_is_an_id(tmp_path):
    text = "id,recruiter.id,network.size\n0,seed,3\n1,0,4\n"
    with pytest.raises(DataValidationError) as info:
        read_rds(write(tmp_path, text), max_coupons=2)
    (problem,) = info.value.errors
    assert problem.kind == "seed_marker_is_an_id" and "--seed-markers" in problem.message
    data = read_rds(write(tmp_path, text), max_coupons=2, seed_markers=("seed",))
    assert data.table["recruiter_id"].tolist()[1] == "0"


def test_read_rds_per_row_coupons(tmp_path):
    text = "id,recruiter.id,network.size,k\n1,seed,3,2\n2,1,4,\n"
    data = read_rds(write(tmp_path, text), coupons_col="k")
    assert data.frontier["id"].tolist() == ["2"]


# -- coupon-code exports -------------------------------------------------------------------------
COUPONS = """
    id,coupon,coupon1,coupon2,coupon3,sex
    r1,,A11,A12,A13,f
    r2,A11,B21,B22,,m
    r3,A12,,,,f
    r4,B22,C41,C42,C43,m
    r5,C41,,,,f
    """


def test_read_coupons_resolves_recruiters(tmp_path):
    data = read_coupons(write(tmp_path, COUPONS))
    t = data.table.set_index("id")
    assert t["recruiter_id"].fillna("-").to_dict() == {
        "r1": "-",
        "r2": "r1",
        "r3": "r1",
        "r4": "r2",
        "r5": "r4",
    }
    assert t["coupons_issued"].tolist()[:2] == [3, 2] and t.loc["r4", "coupons_issued"] == 3
    assert t.loc["r3", "is_frontier"] and t.loc["r5", "is_frontier"]  # no codes: awaiting coupons
    assert data.covariates == ["sex"]
    zero = read_coupons(write(tmp_path, COUPONS), empty_issued="zero")
    assert zero.frontier.empty and zero.table.set_index("id").loc["r3", "coupons_issued"] == 0


def test_coupon_issued_twice_is_a_warning_with_rows(tmp_path):
    text = COUPONS.replace("r4,B22,C41,C42,C43,m", "r4,B22,C41,C42,A13,m")  # A13 also given to r1
    data = read_coupons(write(tmp_path, text))
    (warning,) = [p for p in data.warnings if p.kind == "duplicate_code"]
    assert warning.severity == "warning" and warning.rows == (0, 3)
    assert (
        "'A13'" in warning.message and "line 2" in warning.message and "line 5" in warning.message
    )
    assert "not redeemed" in warning.message


def test_redeeming_a_code_issued_twice_is_ambiguous(tmp_path):
    text = COUPONS.replace(
        "r4,B22,C41,C42,C43,m", "r4,B22,C41,C42,A12,m"
    )  # r3 redeemed A12: whose?
    with pytest.raises(DataValidationError) as info:
        read_coupons(write(tmp_path, text))
    (error,) = info.value.errors
    assert error.kind == "ambiguous_code" and error.ids == ("r3",)
    assert any(p.kind == "duplicate_code" for p in info.value.warnings)
    dropped = read_coupons(write(tmp_path, text), drop_warned=True)
    # the rows behind the warning (both holders of A12 and its redeemer) go, with their descendants
    assert set(dropped.dropped["id"]) == {"r1", "r2", "r3", "r4", "r5"}
    assert dropped.table.empty


def test_same_code_twice_for_one_respondent_counts_once(tmp_path):
    text = COUPONS.replace("r1,,A11,A12,A13,f", "r1,,A11,A12,A12,f")
    data = read_coupons(write(tmp_path, text))
    assert data.table.set_index("id").loc["r1", "coupons_issued"] == 2
    (warning,) = [p for p in data.warnings if p.kind == "duplicate_code"]
    assert "counted once" in warning.message and warning.ids == ("r1",)


def test_code_redeemed_twice_warns(tmp_path):
    text = COUPONS.replace("r5,C41", "r5,A11")
    data = read_coupons(write(tmp_path, text))
    (warning,) = [p for p in data.warnings if p.kind == "code_redeemed_twice"]
    assert warning.ids == ("r2", "r5")
    assert data.table.set_index("id").loc["r1", "n_recruits"] == 3


UNMATCHED = COUPONS.replace("r4,B22", "r4,ZZZ")


def test_unmatched_code_is_an_error_by_default(tmp_path):
    with pytest.raises(DataValidationError) as info:
        read_coupons(write(tmp_path, UNMATCHED))
    (error,) = info.value.errors
    assert error.kind == "unmatched_code" and error.ids == ("r4",) and "line 5" in error.message
    assert "--unmatched seed" in error.message


def test_unmatched_as_seed(tmp_path):
    data = read_coupons(write(tmp_path, UNMATCHED), unmatched="seed")
    t = data.table.set_index("id")
    assert t.loc["r4", "wave"] == 0 and t.loc["r5", "seed_id"] == "r4"
    (warning,) = [p for p in data.warnings if p.kind == "unmatched_code"]
    assert warning.ids == ("r4",) and "treated as a seed" in warning.message


def test_unmatched_drop_records_rows_and_descendants(tmp_path):
    data = read_coupons(write(tmp_path, UNMATCHED), unmatched="drop")
    assert data.table["id"].tolist() == ["r1", "r2", "r3"]
    assert data.dropped["id"].tolist() == ["r4", "r5"]
    assert "issued to nobody" in data.dropped["reason"].iloc[0]
    kinds = [p.kind for p in data.warnings]
    assert "unmatched_code" in kinds and "dropped_descendant" in kinds


NOT_CODES = """
    id,coupon,coupon1,coupon2,coupon3,coupon4,sex
    r1,,A11,A12,A13,3,f
    r2,A11,B21,B22,,2,m
    r3,A12,,,,0,f
    r4,B22,C41,C42,C43,3,m
    """


def test_column_that_is_not_coupons_is_reported(tmp_path):
    path = write(tmp_path, NOT_CODES)
    with pytest.raises(DataValidationError) as info:
        read_coupons(path)
    (error,) = info.value.errors
    assert error.kind == "suspicious_coupon_column" and "'coupon4'" in error.message
    assert "--exclude-columns coupon4" in error.message
    data = read_coupons(path, exclude_columns=["coupon4"])
    assert "coupon4" not in data.covariates and data.table["coupons_issued"].tolist()[0] == 3


def test_named_suspicious_column_only_warns(tmp_path):
    text = NOT_CODES.replace(",3,f", ",three coupons given,f").replace(",2,m", ",gave two,m")
    text = text.replace(",0,f", ",none given,f").replace(",3,m", ",gave all,m")
    data = read_coupons(
        write(tmp_path, text), issued_cols=["coupon1", "coupon2", "coupon3", "coupon4"]
    )
    (warning,) = [p for p in data.warnings if p.kind == "suspicious_coupon_column"]
    assert "free text" in warning.message


def test_coupon_reader_argument_errors(tmp_path):
    path = write(tmp_path, COUPONS)
    with pytest.raises(ValueError, match="unmatched"):
        read_coupons(path, unmatched="guess")
    with pytest.raises(DataError, match="--recruiter-col does not apply to --format coupons"):
        read_coupons(path, recruiter_col="x")
    with pytest.raises(DataValidationError, match="no issued-code columns"):
        read_coupons(path, issued_pattern="^nothing$")
    with pytest.raises(DataValidationError, match="'typo' \\(listed in --exclude-columns\\)"):
        read_coupons(path, exclude_columns=["typo"])


# -- dispatch ------------------------------------------------------------------------------------
def test_read_table_dispatches(tmp_path):
    assert len(read_table(write(tmp_path, CANONICAL))) == 4
    assert len(read_table(write(tmp_path, RDS, "r.csv"), format="rds", max_coupons=3)) == 5
    assert len(read_table(write(tmp_path, COUPONS, "c.csv"), format="coupons")) == 5
    with pytest.raises(DataError, match="unknown --format 'xls'"):
        read_table(tmp_path / "x.csv", format="xls")
    with pytest.raises(DataError, match=r"unknown reading option.*bogus"):
        read_table(write(tmp_path, CANONICAL), bogus=1)


def test_readers_never_mutate_a_data_frame(tmp_path):
    for text, options in (
        (RDS, {"format": "rds", "max_coupons": 3}),
        (COUPONS, {"format": "coupons"}),
        (CANONICAL, {}),
    ):
        df = pd.read_csv(write(tmp_path, text)).set_axis([7, 7, 3, 1, 0][: len(text.split()) - 1])
        before = df.copy(deep=True)
        data = read_table(df, **options)
        pd.testing.assert_frame_equal(df, before)
        assert len(data) == len(df)
