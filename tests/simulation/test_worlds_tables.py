"""Simulated studies: determinism and the canonical field-table contract."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from worlds_helpers import SCENARIO_NAMES, parent_positions

from planning.simulation import RandomCoupons, simulate_study, simulate_study_detailed
from planning.simulation.episode import respondent_ids

CANONICAL = ["id", "recruiter_id", "coupons_issued", "interview_time", "window_closed"]


def _csv(table: pd.DataFrame) -> str:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    return buffer.getvalue()


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_same_seed_same_bytes_and_different_seeds_differ(scenario):
    first = _csv(simulate_study(scenario, seed=5, respondents=300))
    second = _csv(simulate_study(scenario, seed=5, respondents=300))
    other = _csv(simulate_study(scenario, seed=6, respondents=300))
    assert first == second
    assert first != other


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_canonical_columns_and_dtypes(studies, scenario):
    table = studies[scenario].table
    assert list(table.columns[:5]) == CANONICAL
    assert len(table) == 600
    assert table["id"].dtype == "string" and table["id"].is_unique
    assert table["id"].iloc[0] == "R00001"
    assert table["recruiter_id"].dtype == "string"
    assert table["coupons_issued"].dtype == "Int64"
    assert pd.api.types.is_datetime64_dtype(table["interview_time"])
    assert table["window_closed"].dtype == bool
    covariates = [c for c in table.columns if c not in CANONICAL]
    assert covariates, "a world without covariates"
    for column in covariates:
        assert table[column].dtype in ("string", "float64"), column
        assert table[column].notna().all(), column
    if scenario in ("homogeneous", "calibrated"):
        assert table.columns[5] == "group"
        assert 2 <= table["group"].nunique() <= 4
    assert pd.Timestamp(table.attrs["cutoff"]) == table["interview_time"].max()
    assert table.attrs["coupon_window_days"] == 14.0


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_recruitment_structure(studies, scenario):
    study = studies[scenario]
    table, truth = study.table, study.truth
    parent = parent_positions(table)
    is_seed = parent < 0
    assert table.loc[is_seed, "recruiter_id"].isna().all()
    # recruiters precede recruits and are interviewed strictly earlier, inside the window
    assert np.all(parent[~is_seed] < np.flatnonzero(~is_seed))
    times = table["interview_time"].to_numpy()
    delay = times[~is_seed] - times[parent[~is_seed]]
    assert np.all(delay >= np.timedelta64(1, "h"))
    assert np.all(delay < np.timedelta64(14, "D"))
    # recruits never exceed coupons; frontier members (no coupons yet) recruited nobody
    n_recruits = np.bincount(parent[~is_seed], minlength=len(table))
    coupons = table["coupons_issued"]
    frontier = coupons.isna().to_numpy()
    assert np.all(n_recruits[~frontier] <= coupons[~frontier].to_numpy(dtype=int))
    assert np.all(n_recruits[frontier] == 0)
    np.testing.assert_array_equal(n_recruits, truth["n_recruits"].to_numpy())


@pytest.mark.parametrize("scenario", ["homogeneous", "calibrated", "network"])
def test_frontier_and_open_windows_exist(studies, scenario):
    table, truth = studies[scenario].table, studies[scenario].truth
    frontier = table["coupons_issued"].isna()
    assert frontier.sum() > 0
    issued = ~frontier
    open_windows = (~truth["window_closed"] & issued).sum()
    assert 0 < open_windows < issued.sum()


@pytest.mark.parametrize("scenario", ["homogeneous", "calibrated", "tunnel"])
def test_censoring_is_honest(studies, scenario):
    """Closed windows show every recruit: n_recruits = min(C, k); open ones at most that."""
    table, truth = studies[scenario].table, studies[scenario].truth
    issued = table["coupons_issued"].notna().to_numpy()
    k = table.loc[issued, "coupons_issued"].to_numpy(dtype=int)
    c = truth.loc[issued, "capacity"].to_numpy(dtype=int)
    y = truth.loc[issued, "n_recruits"].to_numpy()
    closed = truth.loc[issued, "window_closed"].to_numpy()
    np.testing.assert_array_equal(y[closed], np.minimum(c, k)[closed])
    assert np.all(y[~closed] <= np.minimum(c, k)[~closed])


def test_study_stops_at_target_with_time_ordered_cut():
    study = simulate_study_detailed("homogeneous", seed=3, respondents=400)
    table = study.table
    assert len(table) == 400
    assert study.cutoff == table["interview_time"].max()
    assert table["interview_time"].min() >= pd.Timestamp("2024-01-01")


def test_study_options_are_honoured():
    table = simulate_study(
        "calibrated",
        seed=4,
        respondents=300,
        n_seeds=4,
        coupon_policy=RandomCoupons((1, 2, 5)),
        start_time="2023-06-01 09:30",
        coupon_window=21.0,
        mean_interview_delay=3.0,
    )
    assert table["recruiter_id"].isna().sum() == 4
    assert set(table["coupons_issued"].dropna().unique()) <= {1, 2, 5}
    assert table["interview_time"].min() >= pd.Timestamp("2023-06-01 09:30")
    assert table.attrs["coupon_window_days"] == 21.0


def test_calendar_cutoff_stops_the_study():
    table = simulate_study("homogeneous", seed=4, respondents=5000, cutoff="2024-01-25")
    assert 0 < len(table) < 5000
    assert table["interview_time"].max() <= pd.Timestamp("2024-01-25")
    assert table.attrs["cutoff"] == "2024-01-25T00:00:00"


def test_bad_scenario_and_options_are_named():
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        simulate_study("nope", seed=1)
    with pytest.raises(TypeError, match="unknown option"):
        simulate_study("homogeneous", seed=1, n_nodes=10)
    with pytest.raises(ValueError, match="respondents"):
        simulate_study("homogeneous", seed=1, respondents=0)


def test_ids_widen_past_five_digits():
    ids = respondent_ids(123456)
    assert ids[0] == "R000001" and ids[-1] == "R123456"
    assert respondent_ids(3).tolist() == ["R00001", "R00002", "R00003"]
