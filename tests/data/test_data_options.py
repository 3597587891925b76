"""ReadingOptions: normalisation, flags, the options a reader fills in, and resolve_reading."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from rdsmodel.data import DataError, ReadingOptions, read_table, resolve_reading
from rdsmodel.errors import StudyMismatchError

STUDY = """
    id,recruiter_id,coupons_issued,interview_time,site,sex,drug,age
    s1,,3,2024-02-01,north,f,yes,31.5
    a,s1,3,2024-02-04,north,m,no,25.1
    b,s1,2,2024-02-05,south,f,yes,44.2
    c,a,,2024-02-20,south,f,no,38.9
    """


@pytest.fixture
def study(tmp_path):
    path = tmp_path / "study.csv"
    path.write_text(textwrap.dedent(STUDY).lstrip(), encoding="utf-8")
    return path


def test_values_are_normalised():
    options = ReadingOptions(
        covariates="sex, drug,sex",
        coupon_window=dt.timedelta(days=14),
        cutoff="2024-03-01T00:00",
        delimiter="semicolon",
        exclude_columns=["x"],
    )
    assert options.covariates == ("sex", "drug") and options.coupon_window == 14.0
    assert (
        options.cutoff == "2024-03-01"
        and options.delimiter == ";"
        and options.exclude_columns == ("x",)
    )
    assert ReadingOptions(coupon_window="36h").coupon_window == 1.5


@pytest.mark.parametrize(
    ("options", "flag"),
    [
        ({"format": "xls"}, "--format"),
        ({"max_coupons": 3}, "--max-coupons"),
        ({"format": "rds"}, "--max-coupons"),
        ({"format": "coupons", "recruiter_col": "r"}, "--recruiter-col"),
        ({"coupon_window": -1}, "--coupon-window"),
        ({"cutoff": "soon"}, "--cutoff"),
        ({"unmatched": "guess", "format": "coupons"}, "--unmatched"),
        ({"categorical": ["a"], "numeric": ["a"]}, "--categorical"),
        ({"delimiter": ";;"}, "--delimiter"),
        ({"max_levels": 0}, "--max-levels"),
    ],
)
def test_bad_options_name_the_flag(options, flag):
    with pytest.raises(DataError) as info:
        ReadingOptions(**options)
    assert flag in str(info.value) and "_col=" not in str(info.value)


def test_json_round_trip_and_command_line():
    options = ReadingOptions(
        format="rds",
        max_coupons=3,
        group_col="site",
        seed_markers=("seed", "0"),
        covariates=("sex", "age"),
        coupon_window=21,
    )
    assert ReadingOptions.from_dict(options.to_dict()) == options
    assert options.command_line() == (
        "--format rds --coupon-window 21 --covariates sex,age --group site "
        "--max-coupons 3 --seed-markers seed,0"
    )
    with pytest.raises(DataError, match="newer"):
        ReadingOptions.from_dict({**options.to_dict(), "future_option": 1})


def test_the_reader_fills_in_what_it_used(study):
    data = read_table(study, group_col="site")
    reading = data.reading
    assert (
        reading.id_col == "id"
        and reading.recruiter_col == "recruiter_id"
        and reading.time_col == "interview_time"
    )
    assert reading.covariates == ("sex", "drug", "age")
    assert reading.categorical == ("sex", "drug") and reading.numeric == ("age",)
    assert reading.cutoff is None  # the last interview, again on every read
    again = read_table(study, reading)
    assert again.fingerprint() == data.fingerprint()


def test_keyword_and_options_forms_agree(study):
    by_keywords = read_table(study, format="canonical", group_col="site", coupon_window=7)
    by_options = read_table(study, ReadingOptions(group_col="site", coupon_window=7))
    assert by_keywords.fingerprint() == by_options.fingerprint()
    assert (
        read_table(study, ReadingOptions(group_col="city"), group_col="site").reading.group_col
        == "site"
    )


def test_kinds_are_kept_when_the_study_grows(study, tmp_path):
    data = read_table(study, categorical=["age"])
    grown = tmp_path / "grown.csv"
    grown.write_text(study.read_text() + "d,c,,2024-02-22,north,m,no,27.0\n", encoding="utf-8")
    again = read_table(grown, data.reading)
    assert again.schema["age"].kind == "categorical"


# -- resolve_reading ---------------------------------------------------------------------------------------
STORED = ReadingOptions(
    group_col="site",
    covariates=("sex", "drug"),
    coupon_window=21,
    cutoff="2024-03-01",
    categorical=("sex", "drug"),
    numeric=(),
)


def test_nothing_typed_uses_the_stored_options():
    assert resolve_reading(STORED, {}) is STORED


def test_typed_options_that_agree_are_accepted():
    assert (
        resolve_reading(
            STORED, {"group_col": "site", "covariates": ["drug", "sex"], "coupon_window": 21.0}
        )
        == STORED
    )


def test_a_different_group_is_refused_naming_the_flag():
    with pytest.raises(StudyMismatchError) as info:
        resolve_reading(STORED, {"group_col": "city"})
    message = str(info.value)
    assert "fitted with --group site, but --group city was given" in message
    assert "pass --group site or omit the reading flags" in message


def test_a_different_covariates_list_is_named_as_such():
    with pytest.raises(StudyMismatchError) as info:
        resolve_reading(STORED, {"covariates": "sex"})
    message = str(info.value)
    assert "--covariates sex,drug, but --covariates sex was given" in message
    assert "to model other covariates, refit" in message
    assert "recruiter, group or covariates changed" not in message


def test_an_option_the_fit_did_not_use_is_refused():
    with pytest.raises(
        StudyMismatchError, match="fitted without --drop-warned, but --drop-warned was given"
    ):
        resolve_reading(STORED, {"drop_warned": True})
    with pytest.raises(StudyMismatchError, match="--format"):
        resolve_reading(STORED, {"format": "rds", "max_coupons": 3})


def test_cut_off_and_delimiter_may_change():
    later = resolve_reading(STORED, {"cutoff": "2024-04-01", "delimiter": ";"})
    assert later.cutoff == "2024-04-01" and later.delimiter == ";" and later.group_col == "site"


def test_unknown_given_option():
    with pytest.raises(DataError, match="unknown reading option"):
        resolve_reading(STORED, {"groups": "site"})
