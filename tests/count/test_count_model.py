"""CountModel construction: design, priors, config and every bad input (no MCMC here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rdsmodel.count import DEFAULT_PRIORS, CountModel
from rdsmodel.count.design import DesignSpec
from rdsmodel.data import RecruitmentData
from rdsmodel.errors import ModelError


def _frame(coupons, sex=None, group=None, age=None, seeds_only=False):
    n = len(coupons)
    df = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "recruiter_id": [None] * n if seeds_only else [None] + ["p0"] * (n - 1),
            "coupons_issued": pd.array(coupons, dtype="Int64"),
        }
    )
    if sex is not None:
        df["sex"] = sex
    if age is not None:
        df["age"] = age
    if group is not None:
        df["group"] = group
    return df


def _one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def small_data():
    return RecruitmentData.from_frame(
        _frame(
            [5, 2, 3, 1, 2, None],
            sex=["f", "m", "f", "m", "f", "m"],
            group=list("aabbab"),
            age=[20.5, 31.0, 45.2, 28.1, 39.9, 50.0],
        ),
        group_col="group",
    )


def test_design_reference_centering_and_config():
    data = small_data()
    model = CountModel(data)
    spec = model.design
    assert spec.reference == {"sex": "f"}  # most frequent among the fitted rows
    assert spec.terms == ["sex[m]", "age"]
    assert spec.groups == ["a", "b"]
    x = spec.matrix(model._rows)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-12)
    again = DesignSpec.from_config(spec.to_config())
    np.testing.assert_allclose(again.matrix(model._rows), x)
    cfg = model.config
    assert cfg["family"] == "nb" and cfg["group_column"] == "group"
    assert cfg["priors"]["b0"]["mu"] == pytest.approx(model.log_mean)
    assert set(cfg["priors"]) == {"b0", "beta", "sigma_u", "phi"}
    assert "nb" in repr(model)


def test_priors_merge_user_over_defaults():
    data = small_data()
    model = CountModel(
        data,
        family="zinb",
        priors={"b0": {"sigma": 0.7}, "phi": {"dist": "Gamma", "alpha": 2, "beta": 1}},
    )
    assert model.priors["b0"] == {
        "dist": "Normal",
        "mu": pytest.approx(model.log_mean),
        "sigma": 0.7,
    }
    assert model.priors["phi"] == {"dist": "Gamma", "alpha": 2.0, "beta": 1.0}
    assert model.priors["psi"] == DEFAULT_PRIORS["psi"]
    assert DEFAULT_PRIORS["b0"]["sigma"] == 1.5  # defaults untouched


def test_no_groups_unless_asked():
    data = small_data()
    assert CountModel(data, group=False).design.groups is None
    assert CountModel(data, covariates=["sex"]).design.terms == ["sex[m]"]
    assert CountModel(data, covariates="age").design.terms == ["age"]
    assert CountModel(data, wave_effect=False, covariates=[]).design.terms == []


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"family": "gamma"}, "unknown family 'gamma'"),
        ({"covariates": ["sex", "income"]}, "unknown covariate column\\(s\\) 'income'"),
        ({"priors": {"kappa": {"sigma": 1}}}, "unknown prior parameter"),
        ({"priors": {"phi": {"dist": "NoSuchDist"}}}, "unknown PyMC distribution"),
        ({"priors": {"b0": {"sigma": "wide"}}}, "must be a number"),
        ({"config": {"speed": 3}}, "unknown config key"),
        ({"config": {"sampler": {"sampler": "emcee"}}}, "unknown --sampler 'emcee'"),
    ],
)
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern) as err:
        CountModel(small_data(), **kwargs)
    _one_line(err)
    if (
        "family" not in kwargs
    ):  # the count model's own checks raise ModelError: exit status 1 in the CLI
        assert isinstance(err.value, ModelError)


def test_group_requested_without_group_column():
    data = RecruitmentData.from_frame(_frame([2, 1, 3], sex=["f", "m", "f"]))
    with pytest.raises(ValueError, match="no group column") as err:
        CountModel(data, group=True)
    _one_line(err)


def test_no_usable_rows():
    data = RecruitmentData.from_frame(_frame([None, None, None], sex=["f", "m", "f"]))
    with pytest.raises(ValueError, match="no usable rows") as err:
        CountModel(data)
    _one_line(err)


def test_every_respondent_given_zero_coupons():
    data = RecruitmentData.from_frame(
        _frame([0, 0, 0, 0], sex=["f", "m", "f", "m"], seeds_only=True)
    )
    with pytest.raises(ValueError, match="every respondent was given zero coupons") as err:
        CountModel(data)
    _one_line(err)


def test_constant_covariate():
    data = RecruitmentData.from_frame(
        _frame([2, 3, 1, None], sex=["f", "f", "f", "m"], seeds_only=True)
    )
    with pytest.raises(
        ValueError, match="covariate 'sex' is constant among the 3 fitted respondents"
    ) as err:
        CountModel(data)
    _one_line(err)
    numeric = RecruitmentData.from_frame(
        _frame([2, 3, 1], age=[30.5, 30.5, 30.5], seeds_only=True), numeric=["age"]
    )
    with pytest.raises(ValueError, match="covariate 'age' is constant"):
        CountModel(numeric)


def test_open_windows_without_recruits_are_not_usable():
    df = _frame([3, 2, 2], sex=["f", "m", "f"])
    df["recruiter_id"] = [None, None, None]
    df["interview_time"] = pd.to_datetime(["2024-01-10", "2024-01-10", "2024-01-11"])
    data = RecruitmentData.from_frame(df, coupon_window=30, cutoff="2024-01-12")
    with pytest.raises(
        ValueError, match="open coupon windows need the redemption delay law, but only 0"
    ):
        CountModel(data)  # "auto" is "delay" with interview times: no delay to fit G from
    with pytest.raises(
        ValueError, match="no usable rows: every respondent with coupons still has an open"
    ):
        CountModel(data, open_windows="exclude")
    with pytest.raises(
        ValueError, match="no usable rows: every respondent with coupons has an open window"
    ):
        CountModel(data, open_windows="lower-bound")
    with pytest.raises(ValueError, match="open-windows must be one of"):
        CountModel(data, open_windows="maybe")


def test_open_windows_enter_through_the_delay_by_default_left_out_or_lower_bounds_on_request():
    from planning.simulation import simulate_study

    data = RecruitmentData.from_frame(
        simulate_study("homogeneous", seed=5, respondents=400), group_col="group"
    )
    table = data.table
    informative = table["coupons_issued"].notna() & (table["censor_at"].fillna(0) >= 1)
    closed = informative & table["window_closed"]
    assert closed.sum() < informative.sum(), "the study should have informative open windows"
    with_coupons = table["coupons_issued"].fillna(0) >= 1
    default = CountModel(data)
    assert default.open_windows == "delay"
    assert default.n_observations == (closed | (with_coupons & ~table["window_closed"])).sum()
    assert CountModel(data, open_windows="exclude").n_observations == closed.sum()
    assert CountModel(data, open_windows="lower-bound").n_observations == informative.sum()


def test_excluding_open_windows_recovers_the_mean_that_lower_bounds_overstate():
    """C ~ NB(mean 2, phi 1.5) in the homogeneous world; many windows are open at the cut."""
    from planning.simulation import simulate_study

    data = RecruitmentData.from_frame(simulate_study("homogeneous", seed=11, respondents=1500))
    means = {}
    for treatment in ("exclude", "lower-bound"):
        model = CountModel(data, covariates=[], group=False, open_windows=treatment)
        model.fit(draws=300, tune=300, chains=2, seed=3, progressbar=False)
        means[treatment] = np.exp(model.idata.posterior["b0"].values.ravel())
    low, high = np.quantile(means["exclude"], [0.005, 0.995])
    assert low < 2.0 < high
    assert np.quantile(means["lower-bound"], 0.005) > 2.0


def test_unfitted_model_refuses_predictions():
    model = CountModel(small_data())
    with pytest.raises(ValueError, match="fit"):
        model.survival(model._rows, max_coupons=3)
    with pytest.raises(ValueError, match="fit the model first"):
        model.save("never.nc")
