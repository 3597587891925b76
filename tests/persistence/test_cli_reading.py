"""The command line's reading flags: typed versus not typed, and rereading with a posterior's options."""

from __future__ import annotations

import argparse

import pandas as pd
import pytest

from planning.app.cli.common import (
    READING_FLAGS,
    add_data_options,
    given_reading_options,
    load_study,
)
from rdsmodel.data import FLAGS, ReadingOptions, read_table
from rdsmodel.errors import DataError, StudyMismatchError


def _parser(positional: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_data_options(parser, positional=positional)
    return parser


@pytest.fixture
def study(tmp_path):
    path = tmp_path / "study.csv"
    pd.DataFrame(
        {
            "id": ["s1", "a", "b", "c"],
            "recruiter_id": ["", "s1", "s1", "a"],
            "coupons_issued": [3, 2, 2, None],
            "site": ["n", "n", "s", "s"],
            "sex": ["f", "m", "f", "m"],
            "drug": ["y", "n", "n", "y"],
        }
    ).to_csv(path, index=False)
    return path


def test_every_reading_flag_is_an_option_and_defaults_to_none():
    assert set(READING_FLAGS) == set(FLAGS)
    args = _parser().parse_args(["study.csv"])
    assert all(getattr(args, name) is None for name in READING_FLAGS)
    assert given_reading_options(args) == {}


def test_only_typed_options_are_given():
    args = _parser(positional=False).parse_args(
        [
            "--data",
            "s.csv",
            "--group",
            "site",
            "--covariates",
            "sex,drug",
            "--drop-warned",
            "--format",
            "rds",
            "--max-coupons",
            "3",
            "--seed-markers",
            "seed,-1",
        ]
    )
    assert given_reading_options(args) == {
        "format": "rds",
        "group_col": "site",
        "covariates": ("sex", "drug"),
        "drop_warned": True,
        "max_coupons": 3,
        "seed_markers": ("seed", "-1"),
    }
    assert _parser().parse_args(["s.rdsat", "--format", "rdsat"]).format == "rdsat"


def test_load_study_without_a_posterior(study):
    data = load_study(_parser().parse_args([str(study), "--group", "site"]))
    assert data.reading.group_col == "site" and data.covariates == ["sex", "drug"]
    with pytest.raises(DataError, match="--max-coupons"):
        load_study(_parser().parse_args([str(study), "--max-coupons", "3"]))


def test_load_study_rereads_with_the_stored_options(study):
    stored = read_table(study, group_col="site", covariates=["sex"]).reading
    data = load_study(_parser().parse_args([str(study)]), stored)
    assert data.reading == stored and data.covariates == ["sex"] and data.group_column == "group"
    agreeing = load_study(
        _parser().parse_args([str(study), "--group", "site", "--cutoff", "2024-06-01"]), stored
    )
    assert agreeing.reading.cutoff == "2024-06-01"
    with pytest.raises(StudyMismatchError) as info:
        load_study(_parser().parse_args([str(study), "--group", "sex"]), stored)
    assert "--group site, but --group sex was given" in str(info.value)
    with pytest.raises(
        StudyMismatchError, match="--covariates sex, but --covariates sex,drug was given"
    ):
        load_study(_parser().parse_args([str(study), "--covariates", "sex,drug"]), stored)


def test_posterior_without_reading_options_uses_the_typed_ones(study):
    data = load_study(_parser().parse_args([str(study), "--group", "site"]), None)
    assert data.reading == ReadingOptions.from_dict(data.reading.to_dict())
