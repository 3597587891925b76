"""RDSAT text files (``--format rdsat``): a hand-written fixture and broken variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdsmodel.data import DataError, DataValidationError, read_rdsat, read_table

FIXTURE = Path(__file__).parent / "fixtures" / "study.rdsat"


def test_reads_the_fixture():
    data = read_table(FIXTURE, format="rdsat", group_col="site")
    t = data.table.set_index("id")
    assert len(data) == 14 and data.seeds().tolist() == ["1001", "1002"]
    assert t.loc["1003", "recruiter_id"] == "1001" and t.loc["1014", "recruiter_id"] == "1004"
    assert t.loc["1002", "coupons_issued"] == 2  # the third coupon is the missing-value code
    assert data.frontier["id"].tolist() == ["1011", "1012", "1013", "1014"]
    assert data.schema["network.size"].kind == "numeric" and data.schema["gender"].levels == (
        "F",
        "M",
    )
    assert t["network.size"].isna().tolist().count(True) == 1  # '*' is the missing-value code
    assert data.group_column == "group" and data.reading.group_col == "site"
    assert read_rdsat(FIXTURE, group_col="site").fingerprint() == data.fingerprint()


def test_rereading_with_the_stored_options_gives_the_same_study():
    data = read_table(FIXTURE, format="rdsat")
    again = read_table(FIXTURE, data.reading)
    assert again.fingerprint() == data.fingerprint() and again.reading == data.reading


def _variant(tmp_path: Path, old: str, new: str, *, count: int = 1) -> Path:
    text = FIXTURE.read_text(encoding="utf-8").replace(old, new, count)
    path = tmp_path / "variant.rdsat"
    path.write_text(text, encoding="utf-8")
    return path


def test_space_and_comma_separated_files(tmp_path):
    for sep in (" ", ","):
        path = _variant(tmp_path, "\t", sep, count=-1)
        assert len(read_table(path, format="rdsat")) == 14


def test_not_an_rdsat_file(tmp_path):
    with pytest.raises(DataError, match="line 1 should read 'RDS'"):
        read_table(_variant(tmp_path, "RDS\n", "id,recruiter\n"), format="rdsat")


def test_a_bad_second_line(tmp_path):
    with pytest.raises(DataError, match="sample size and the number of coupons"):
        read_table(_variant(tmp_path, "14\t3", "fourteen\t3"), format="rdsat")


def test_a_line_with_too_many_values_is_named(tmp_path):
    path = _variant(
        tmp_path,
        "1005\t30\t2004\t2107\t2108\t2109\tM\t45\tsouth",
        "1005\t30\t2004\t2107\t2108\t2109\tM\t45\tsouth\textra",
    )
    with pytest.raises(DataError, match="line 7 has 10 values but line 2 announces 9"):
        read_table(path, format="rdsat")


def test_errors_name_physical_lines(tmp_path):
    path = _variant(tmp_path, "1009\t11\t2107", "1009\t11\t9999")
    with pytest.raises(DataValidationError) as info:
        read_table(path, format="rdsat")
    (error,) = info.value.errors
    assert error.kind == "unmatched_code" and "id '1009' (line 11)" in error.message
    assert "--unmatched seed" in error.message
    data = read_table(path, format="rdsat", unmatched="seed")
    assert data.table.set_index("id").loc["1009", "wave"] == 0


def test_a_sample_size_that_disagrees_is_a_warning(tmp_path):
    data = read_table(_variant(tmp_path, "14\t3", "20\t3"), format="rdsat")
    (warning,) = [p for p in data.warnings if p.kind == "rdsat_sample_size"]
    assert "announces 20 respondents, the file holds 14" in warning.message


def test_format_specific_flags_are_refused():
    with pytest.raises(DataError, match="--recruiter-col does not apply to --format rdsat"):
        read_table(FIXTURE, format="rdsat", recruiter_col="x")
