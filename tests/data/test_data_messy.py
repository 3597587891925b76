"""Real exports read without guesswork: hand-written messy tables, each message naming the culprit."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from rdsmodel.data import DataError, DataValidationError, RecruitmentData, read_table
from rdsmodel.errors import RdsplanError


def write(tmp_path: Path, text: str, name: str = "study.csv") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# -- R row names ------------------------------------------------------------------------------------------
R_EXPORT = """
    "","id","recruiter.id","network.size","Gender"
    "1","101","seed",12,"F"
    "2","102","101",4,"M"
    "3","103","101",25,"F"
    "4","104","102",7,"M"
    "5","105","103",3,"F"
    """


def test_r_row_names_are_left_out_with_a_note(tmp_path):
    data = read_table(write(tmp_path, R_EXPORT), format="rds", max_coupons=3)
    assert data.covariates == ["network.size", "Gender"]
    (note,) = [p for p in data.notes if p.kind == "row_names"]
    assert (
        note.severity == "note" and "row names (1..5" in note.message and "left out" in note.message
    )
    assert not [p for p in data.warnings if p.kind == "row_names"]


def test_pandas_row_names_in_a_data_frame_are_left_out_too():
    frame = pd.DataFrame(
        {
            "Unnamed: 0": [0, 1, 2],
            "id": ["a", "b", "c"],
            "recruiter_id": ["", "a", "a"],
            "coupons_issued": [2, 1, 1],
            "sex": ["f", "m", "f"],
        }
    )
    data = RecruitmentData.from_frame(frame)
    assert data.covariates == ["sex"] and data.notes[0].kind == "row_names"


def test_an_unnamed_column_that_is_not_row_names_is_left_out_with_a_warning(tmp_path):
    text = "id,recruiter_id,coupons_issued,,sex\ns1,,3,x,f\na,s1,2,y,m\nb,s1,2,z,f\n"
    data = read_table(write(tmp_path, text))
    assert data.covariates == ["sex"]
    (warning,) = [p for p in data.warnings if p.kind == "unnamed_column"]
    assert "column 4 has no name" in warning.message


def test_a_first_column_named_x_with_other_values_is_kept(tmp_path):
    text = "X,id,recruiter_id,coupons_issued\n5,s1,,3\n2,a,s1,2\n"
    data = read_table(write(tmp_path, text))
    assert data.covariates == ["X"] and data.notes == []


# -- identical and collinear covariates -------------------------------------------------------------------
COLLINEAR = """
    id,recruiter_id,coupons_issued,network.size,Degree,age,age_months,site,region,sex
    s1,,3,12,12,30.5,366,north,N,f
    a,s1,3,4,4,41.2,494.4,north,N,m
    b,s1,3,25,25,22.9,274.8,south,S,f
    c,a,3,7,7,35.0,420,south,S,m
    d,a,3,3,3,28.1,337.2,east,E,f
    e,b,3,9,9,50.3,603.6,east,E,m
    f,b,3,14,14,19.9,238.8,north,N,f
    g,c,3,31,31,44.4,532.8,south,S,m
    h,c,3,2,2,33.3,399.6,east,E,f
    i,d,3,18,18,27.7,332.4,north,N,m
    j,d,3,11,11,38.8,465.6,south,S,f
    k,e,3,22,22,61.0,732,east,E,m
    """


def test_identical_and_collinear_covariates_are_reported(tmp_path):
    data = read_table(write(tmp_path, COLLINEAR))
    messages = [p.message for p in data.warnings if p.kind == "collinear_covariates"]
    assert any("'network.size' and 'Degree' hold the same values" in m for m in messages)
    assert any("'age' and 'age_months' are perfectly collinear" in m for m in messages)
    assert any("'site' and 'region' carry the same information" in m for m in messages)
    degree = next(m for m in messages if "Degree" in m)
    assert "--covariates network.size,age,age_months,site,region,sex" in degree


def test_a_linear_combination_of_several_covariates_is_reported():
    n = 12
    x = [float(v) for v in range(n)]
    y = [float((3 * v) % 7) for v in range(n)]
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "recruiter_id": [""] + ["r0"] * 3 + ["r1"] * 3 + ["r2"] * 3 + ["r3"] * 2,
            "coupons_issued": [3] * n,
            "x": x,
            "y": y,
            "z": [a + 2 * b for a, b in zip(x, y, strict=True)],
        }
    )
    data = RecruitmentData.from_frame(frame, numeric=["x", "y", "z"])
    (problem,) = [p for p in data.warnings if p.kind == "collinear_covariates"]
    assert "'z' is an exact linear combination of 'x' and 'y'" in problem.message


def test_a_constant_covariate_is_reported(tmp_path):
    text = "id,recruiter_id,coupons_issued,coupon_count,sex\ns1,,3,3,f\na,s1,3,3,m\nb,s1,3,3,f\n"
    data = read_table(write(tmp_path, text))
    (problem,) = [p for p in data.warnings if p.kind == "constant_covariate"]
    assert "'coupon_count'" in problem.message and "--covariates sex" in problem.message


# -- coupon columns whose codes do not look like the others ----------------------------------------------
ODD_COUPONS = """
    id,coupon,coupon1,coupon2,coupon3,coupon4,sex
    101,,51001,51002,51003,90101,f
    102,51001,51004,51005,51006,90102,m
    103,51002,51007,51008,51009,90103,f
    104,51004,51010,51011,51012,90104,m
    105,51005,51013,51014,51015,90105,f
    106,51007,51016,51017,51018,90106,m
    107,51010,,,,90107,f
    108,51013,,,,90108,m
    """


def test_a_coupon_column_holding_the_respondents_id_is_reported(tmp_path):
    path = write(tmp_path, ODD_COUPONS)
    with pytest.raises(DataValidationError) as info:
        read_table(path, format="coupons")
    (error,) = info.value.errors
    assert error.kind == "suspicious_coupon_column" and "'coupon4'" in error.message
    assert "own id" in error.message and "--exclude-columns coupon4" in error.message
    assert "exclude_columns=" not in error.message
    data = read_table(path, format="coupons", exclude_columns=["coupon4"])
    assert data.table.set_index("id").loc["101", "coupons_issued"] == 3
    assert data.reading.issued_cols == ("coupon1", "coupon2", "coupon3")


def test_a_coupon_column_written_differently_is_reported(tmp_path):
    text = ODD_COUPONS.replace("51", "K5").replace(",901", ",77701")
    with pytest.raises(DataValidationError) as info:
        read_table(write(tmp_path, text), format="coupons")
    (error,) = info.value.errors
    assert "'coupon4'" in error.message and "7 characters long (e.g. '7770101')" in error.message
    same_length = ODD_COUPONS.replace("51", "K5").replace(",90", ",Q-")
    with pytest.raises(DataValidationError) as info:
        read_table(write(tmp_path, same_length, "same.csv"), format="coupons")
    assert "written differently (e.g. 'Q-101')" in info.value.errors[0].message


def test_coupon_columns_numbered_by_column_are_not_odd(tmp_path):
    rows = ["id,coupon,coupon1,coupon2,coupon3"]
    for i in range(8):
        redeemed = "" if i == 0 else f"1{i - 1:03d}"
        rows.append(f"r{i},{redeemed},1{i:03d},2{i:03d},3{i:03d}")
    data = read_table(write(tmp_path, "\n".join(rows) + "\n"), format="coupons")
    assert len(data) == 8


# -- delimiters, duplicate headers, lines -----------------------------------------------------------------
@pytest.mark.parametrize(("sep", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_other_delimiters_are_sniffed_with_a_note(tmp_path, sep, name):
    text = sep.join(["id", "recruiter_id", "coupons_issued", "sex"]) + "\n"
    text += "\n".join(sep.join(r) for r in (["s1", "", "3", "f"], ["a", "s1", "2", "m"])) + "\n"
    data = read_table(write(tmp_path, text, "study.txt"))
    assert len(data) == 2 and data.covariates == ["sex"]
    assert any(p.kind == "delimiter" and name in p.message for p in data.notes)
    assert data.reading.delimiter is None  # sniffed again on every read


def test_a_single_column_header_names_the_delimiter_flag(tmp_path):
    path = write(tmp_path, "id;recruiter_id;coupons_issued\ns1;;3\n")
    with pytest.raises(DataError, match="--delimiter"):
        read_table(path, delimiter=",")


def test_duplicate_column_names_are_refused(tmp_path):
    with pytest.raises(DataError) as info:
        read_table(write(tmp_path, "id,recruiter_id,coupons_issued,sex,sex\ns1,,3,f,m\n"))
    assert "'sex' (columns 4, 5)" in str(info.value)
    frame = pd.DataFrame(
        [["s1", "", 3, "f", "m"]], columns=["id", "recruiter_id", "coupons_issued", "sex", "sex"]
    )
    with pytest.raises(DataError, match="'sex'"):
        read_table(frame)


def test_line_numbers_are_physical_lines(tmp_path):
    text = 'id,recruiter_id,coupons_issued,note\ns1,,3,"first\nsecond"\n\na,s1,2,x\nb,zz,2,y\n'
    with pytest.raises(DataValidationError) as info:
        read_table(write(tmp_path, text))
    (error,) = info.value.errors
    assert error.kind == "unknown_recruiter" and "(line 6)" in error.message


def test_a_line_with_too_many_cells_is_named(tmp_path):
    path = write(tmp_path, "id,recruiter_id,coupons_issued\ns1,,3\na,s1,2,extra\n")
    with pytest.raises(DataError, match="line 3 has 4 cells but the header names 3 columns"):
        read_table(path)
    # a trailing separator is harmless
    assert (
        len(read_table(write(tmp_path, "id,recruiter_id,coupons_issued\ns1,,3,\n", "t.csv"))) == 1
    )


def test_unterminated_quote_names_the_line(tmp_path):
    with pytest.raises(DataError, match="line 3"):
        read_table(write(tmp_path, 'id,recruiter_id,coupons_issued\n1,,2\n2,1,"3\n'))


# -- values ---------------------------------------------------------------------------------------------------
def test_recruiter_written_as_a_float_matches_the_id(tmp_path):
    text = "id,recruiter_id,coupons_issued\n7,,3\n8,7.0,2\n9,7.0,2\n12.0,8,1\n"
    data = read_table(write(tmp_path, text))
    assert data.table.set_index("id").loc["8", "recruiter_id"] == "7"
    assert data.table["id"].tolist() == ["7", "8", "9", "12"]


def test_an_infinite_value_in_a_numeric_covariate_is_a_bad_covariate(tmp_path):
    ages = [
        "30.5",
        "inf",
        "31.5",
        "40.2",
        "33.3",
        "35.1",
        "22.2",
        "28.8",
        "29.9",
        "30.1",
        "50.2",
        "44.4",
    ]
    rows = [f"r{i},{'' if i == 0 else 'r0'},12,{age}" for i, age in enumerate(ages)]
    path = write(tmp_path, "id,recruiter_id,coupons_issued,age\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataValidationError) as info:
        read_table(path)
    (error,) = info.value.errors
    assert error.kind == "bad_covariate" and "'age'" in error.message and "'inf'" in error.message
    assert "(line 3)" in error.message and "--categorical age" in error.message


def test_a_study_of_only_seeds_gets_a_hint(tmp_path):
    data = read_table(
        write(tmp_path, "id,recruiter.id,network.size\n1,seed,3\n2,seed,4\n3,seed,5\n"),
        format="rds",
        max_coupons=2,
    )
    (warning,) = [p for p in data.warnings if p.kind == "no_recruits"]
    assert "every one is a seed" in warning.message
    assert "--recruiter-col" in warning.message and "--no-covariate-model" in warning.message


def test_an_implausible_number_of_coupons_is_a_warning(tmp_path):
    data = read_table(write(tmp_path, "id,recruiter_id,coupons_issued\ns1,,5e2\na,s1,3\n"))
    (warning,) = [p for p in data.warnings if p.kind == "implausible_coupons"]
    assert "id 's1' (line 2) was issued 500 coupons" in warning.message
    assert "'coupons_issued'" in warning.message


def test_an_impossible_number_of_coupons_is_an_error_with_the_limit(tmp_path):
    # the models lay out every count up to the largest: 1e12 would ask for terabytes
    with pytest.raises(DataValidationError) as caught:
        read_table(write(tmp_path, "id,recruiter_id,coupons_issued\ns1,,1e12\na,s1,3\n"))
    (error,) = [p for p in caught.value.errors if p.kind == "too_many_coupons"]
    assert "id 's1' (line 2) was issued 1000000000000 coupons" in error.message
    assert "'coupons_issued'" in error.message and "at most 1,000" in error.message


# -- dropped rows -----------------------------------------------------------------------------------------------
def test_dropped_rows_are_printed_as_a_table(tmp_path):
    text = """
        id,coupon,coupon1,coupon2,coupon3,sex
        r1,,A11,A12,A13,f
        r2,A11,B21,B22,,m
        r3,A12,,,,f
        r4,ZZZ,C41,C42,C43,m
        r5,C41,,,,f
        """
    data = read_table(write(tmp_path, text), format="coupons", unmatched="drop")
    report = data.dropped_report()
    lines = report.splitlines()
    assert lines[0] == "dropped 2 respondent(s):"
    assert lines[1].split() == ["id", "line", "reason"]
    assert lines[2].split()[:2] == ["r4", "5"] and "issued to nobody" in lines[2]
    assert lines[3].split()[:2] == ["r5", "6"] and "dropped respondent 'r4'" in lines[3]
    assert "{" not in report
    assert data.dropped["line"].tolist() == [5, 6]
    assert (
        read_table(
            write(tmp_path, text.replace("ZZZ", "A13"), "ok.csv"), format="coupons"
        ).dropped_report()
        == ""
    )


# -- every user error is an RdsplanError ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda p: read_table(p / "missing.csv"),
        lambda p: read_table(p, format="canonical"),
        lambda p: read_table(p / "x.csv", format="xls"),
        lambda p: read_table(p / "x.csv", bogus=1),
        lambda p: read_table(p / "x.csv", coupon_window=-3),
        lambda p: read_table(p / "x.csv", format="rds"),
        lambda p: read_table(p / "x.csv", max_coupons=3),
        lambda p: read_table(p / "x.csv", cutoff="yesterday"),
    ],
)
def test_user_errors_derive_from_the_package_error(tmp_path, call):
    with pytest.raises(RdsplanError):
        call(tmp_path)
