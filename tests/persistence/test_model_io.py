"""A posterior remembers its study: models reload through their constructors, tables are checked by name.

No MCMC here: the models are built on a small hand-made study and given a
fixed, hand-made posterior; what is tested is what the file stores and what
reloading and checking do with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from rdsmodel.count import CountModel
from rdsmodel.covariates import CovariateModel
from rdsmodel.data import ReadingOptions, read_table, resolve_reading
from rdsmodel.errors import ModelError, RdsplanError, StudyMismatchError
from rdsmodel.persistence import StudyChangedWarning, row_digests, save_inference

SITES = ("north", "south", "east")


def _study_frame(n: int = 60, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parent = np.concatenate([[-1, -1, -1], rng.integers(0, np.arange(3, n))])
    ids = np.array([f"p{i:03d}" for i in range(n)])
    recruiter = np.where(parent >= 0, ids[np.maximum(parent, 0)], "")
    kids = np.bincount(parent[parent >= 0], minlength=n)
    coupons = np.maximum(kids, 3).astype(float)
    coupons[-5:] = np.nan  # the frontier
    return pd.DataFrame(
        {
            "pid": ids,
            "parent": recruiter,
            "k": pd.array(coupons, dtype="Float64").astype("Int64"),
            "site": rng.choice(SITES, size=n),
            "sex": rng.choice(["f", "m"], size=n),
            "drug": rng.choice(["yes", "no"], size=n),
            "age": np.round(rng.normal(35, 8, size=n), 1),
        }
    )


@pytest.fixture
def study(tmp_path):
    path = tmp_path / "study.csv"
    _study_frame().to_csv(path, index=False)
    return path


OPTIONS = {
    "id_col": "pid",
    "recruiter_col": "parent",
    "coupons_col": "k",
    "group_col": "site",
    "covariates": ("sex", "drug"),
}


def _count_posterior(model: CountModel, draws: int = 40) -> az.InferenceData:
    rng = np.random.default_rng(0)
    n_terms = len(model.design.terms)
    n_groups = len(model.design.groups)
    return az.from_dict(
        posterior={
            "b0": rng.normal(0.5, 0.1, size=(2, draws)),
            "beta": rng.normal(0, 0.1, size=(2, draws, n_terms)),
            "sigma_u": np.abs(rng.normal(0.3, 0.05, size=(2, draws))),
            "u": rng.normal(0, 0.2, size=(2, draws, n_groups)),
            "phi": np.abs(rng.normal(3, 0.3, size=(2, draws))),
        },
        dims={"beta": ["term"], "u": ["group"]},
        coords={"term": list(model.design.terms), "group": list(model.design.groups)},
    )


@pytest.fixture
def saved(study, tmp_path):
    data = read_table(study, **OPTIONS)
    model = CountModel(data, family="nb")
    model.idata = _count_posterior(model)
    path = model.save(tmp_path / "post.nc")
    return data, model, path


# -- what the file holds ----------------------------------------------------------------------------------
def test_the_file_holds_reading_options_column_digests_and_constructor_arguments(saved):
    _, _, path = saved
    attrs = az.from_netcdf(str(path)).posterior.attrs
    assert attrs["rdsplan_layout"] == 2 and attrs["rdsplan_version"]
    reading = json.loads(attrs["rdsplan_reading"])
    assert (
        reading["group_col"] == "site"
        and reading["id_col"] == "pid"
        and reading["covariates"] == ["sex", "drug"]
    )
    columns = json.loads(attrs["rdsplan_columns"])
    assert set(columns) == {"recruiter_id", "group", "sex", "drug"}
    assert columns["group"]["column"] == "site" and columns["recruiter_id"]["column"] == "parent"
    init = json.loads(attrs["rdsplan_init"])
    assert set(init) == {
        "family",
        "covariates",
        "group",
        "wave_effect",
        "priors",
        "config",
        "open_windows",
        "spec",
    }


def test_load_goes_through_the_constructor(saved, monkeypatch):
    _, model, path = saved
    calls = []
    original = CountModel.__init__

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(CountModel, "__init__", spy)
    again = CountModel.load(path)
    assert len(calls) == 1 and calls[0]["family"] == "nb" and "spec" in calls[0]
    assert again.reading == model.reading and again.reading.group_col == "site"
    assert again.covariates == model.covariates and again.group_column == "group"
    frontier = model.data.frontier
    np.testing.assert_allclose(
        again.survival(frontier, 4).values, model.survival(frontier, 4).values
    )


def test_saving_refuses_a_model_whose_constructor_arguments_are_not_all_stored(saved, tmp_path):
    data, model, _ = saved

    class Extended(CountModel):
        def __init__(self, data=None, *, shrink: float = 1.0, **kwargs):
            super().__init__(data, **kwargs)
            self.shrink = shrink

    extended = Extended(data)
    extended.idata = model.idata
    with pytest.raises(ModelError, match=r"constructor argument\(s\) shrink are not stored"):
        extended.save(tmp_path / "x.nc")
    assert not (tmp_path / "x.nc").exists()


def test_a_model_needs_data_or_a_spec():
    with pytest.raises(ModelError, match=r"CountModel\.load"):
        CountModel()


# -- checking a table against the posterior -----------------------------------------------------------------
def test_rereading_with_the_stored_options_passes(saved, study):
    _, _, path = saved
    model = CountModel.load(path)
    data = read_table(study, resolve_reading(model.reading, {}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model.check_study(data) == []


def test_a_table_read_without_the_group_is_refused_naming_the_flag(saved, study):
    _, _, path = saved
    model = CountModel.load(path)
    data = read_table(study, **{k: v for k, v in OPTIONS.items() if k != "group_col"})
    with pytest.raises(StudyMismatchError) as info:
        model.check_study(data)
    message = str(info.value)
    assert (
        "the posterior was fitted with --group site; this table was read without --group: "
        "pass --group site or omit the reading flags"
    ) in message


def test_different_covariates_are_named_as_such(saved, study):
    _, _, path = saved
    model = CountModel.load(path)
    data = read_table(study, **{**OPTIONS, "covariates": ("sex",)})
    with pytest.raises(StudyMismatchError) as info:
        model.check_study(data)
    message = str(info.value)
    assert "fitted with --covariates sex,drug; this table was read with --covariates sex" in message
    assert (
        "recruiter, group or covariates changed" not in message and "--categorical" not in message
    )


def test_typed_options_that_disagree_are_refused_before_reading(saved):
    _, _, path = saved
    model = CountModel.load(path)
    with pytest.raises(
        StudyMismatchError, match="fitted with --group site, but --group sex was given"
    ):
        resolve_reading(model.reading, {"group_col": "sex"})


def test_a_changed_column_is_named(saved, study, tmp_path):
    _, _, path = saved
    frame = _study_frame()
    frame.loc[[4, 9], "sex"] = frame.loc[[4, 9], "sex"].map({"f": "m", "m": "f"})
    changed = tmp_path / "changed.csv"
    frame.to_csv(changed, index=False)
    model = CountModel.load(path)
    with pytest.raises(StudyMismatchError) as info:
        model.check_study(read_table(changed, model.reading))
    message = str(info.value)
    assert (
        "the values of covariate 'sex' differ for 2 fitted respondent(s) (e.g. p004, p009)"
        in message
    )
    assert "'drug'" not in message


def test_a_changed_recruiter_column_is_named_in_the_users_words(saved, tmp_path):
    _, _, path = saved
    frame = _study_frame()
    kids = frame["parent"].value_counts()
    spare = [
        p
        for p, k in zip(frame["pid"][:-5], frame["k"][:-5], strict=True)
        if kids.get(p, 0) < k and p not in ("p010", frame.loc[10, "parent"]) and p < "p010"
    ]
    frame.loc[10, "parent"] = spare[0]
    changed = tmp_path / "changed.csv"
    frame.to_csv(changed, index=False)
    model = CountModel.load(path)
    with pytest.raises(StudyMismatchError, match="the recruiter column 'parent' differ"):
        model.check_study(read_table(changed, model.reading))


def test_missing_respondents_are_refused_and_new_ones_warn(saved, tmp_path):
    _, _, path = saved
    model = CountModel.load(path)
    frame = _study_frame()
    fewer = tmp_path / "fewer.csv"
    frame.iloc[:-1].to_csv(fewer, index=False)
    with pytest.raises(StudyMismatchError, match="1 fitted respondent\\(s\\) are missing"):
        model.check_study(read_table(fewer, model.reading))
    grown = pd.concat(
        [
            frame,
            pd.DataFrame(
                {
                    "pid": ["p999"],
                    "parent": ["p059"],
                    "k": pd.array([pd.NA], "Int64"),
                    "site": ["north"],
                    "sex": ["f"],
                    "drug": ["no"],
                    "age": [30.0],
                }
            ),
        ]
    )
    path_grown = tmp_path / "grown.csv"
    grown.to_csv(path_grown, index=False)
    with pytest.warns(StudyChangedWarning) as caught:
        notes = model.check_study(read_table(path_grown, model.reading))
    assert (
        any("joined since the fit" in str(w.message) for w in caught)
        and len(notes) == len(caught) == 2
    )


def test_a_fresh_model_checks_like_a_loaded_one(saved, study):
    data, model, _ = saved
    assert model.check_study(data) == []
    with pytest.raises(StudyMismatchError, match="--group"):
        model.check_study(
            read_table(study, **{k: v for k, v in OPTIONS.items() if k != "group_col"})
        )


# -- files written by the previous version ------------------------------------------------------------------
def _legacy_file(model: CountModel, data, path):
    config = dict(model.config)
    config["options"] = {
        **config["options"],
        "retired_option": 3,
    }  # a key this version no longer knows
    return save_inference(
        model.idata,
        path,
        kind="count",
        config=config,
        identity=data.identity_digests(legacy=True),
        state=data.state_digests(),
    )


def test_a_file_of_the_previous_version_loads_and_checks(saved, study, tmp_path):
    data, model, _ = saved
    path = _legacy_file(model, data, tmp_path / "old.nc")
    old = CountModel.load(path)
    assert old.reading is None and old.covariates == ["sex", "drug"]
    assert old.check_study(read_table(study, **OPTIONS)) == []
    with pytest.raises(StudyMismatchError, match="did not store how the study was read"):
        old.check_study(read_table(study, **{**OPTIONS, "covariates": ("sex",)}))


def test_a_file_that_cannot_be_rebuilt_asks_for_a_refit(saved, tmp_path):
    _, model, _ = saved
    broken = dict(model.init_kwargs, family="gamma")
    path = save_inference(
        model.idata,
        tmp_path / "broken.nc",
        kind="count",
        config=model.config,
        identity={},
        state={},
        init=broken,
    )
    with pytest.raises(ModelError, match=r"cannot be rebuilt.*refit"):
        CountModel.load(path)


def test_loading_errors_are_package_errors(tmp_path):
    with pytest.raises(RdsplanError, match="not found"):
        CountModel.load(tmp_path / "nothing.nc")
    (tmp_path / "garbage.nc").write_text("not netcdf")
    with pytest.raises(ModelError, match="not a readable"):
        CountModel.load(tmp_path / "garbage.nc")


# -- the covariate model ---------------------------------------------------------------------------------------
def _covariate_posterior(model: CovariateModel, draws: int = 30) -> az.InferenceData:
    rng = np.random.default_rng(1)
    k = max(s.n_levels for s in model.fields)
    pi = rng.dirichlet(np.ones(k), size=(2, draws, len(model.fields)))
    return az.from_dict(
        posterior={"rho": rng.uniform(0.1, 0.6, size=(2, draws, len(model.fields))), "pi": pi},
        dims={"rho": ["field"], "pi": ["field", "level"]},
        coords={"field": model.categorical_fields, "level": list(range(k))},
    )


def test_covariate_model_round_trip_through_the_constructor(study, tmp_path):
    data = read_table(study, **OPTIONS)
    model = CovariateModel(data)
    model.idata = _covariate_posterior(model)
    path = model.save(tmp_path / "post.covariates.nc")
    again = CovariateModel.load(path)
    assert again.reading == data.reading and again.config == model.config
    assert again.check_study(read_table(study, again.reading)) == []
    with pytest.raises(
        StudyMismatchError, match="--covariates sex,drug; this table was read with --covariates sex"
    ):
        again.check_study(read_table(study, **{**OPTIONS, "covariates": ("sex",)}))


def test_covariate_model_file_of_the_previous_version(study, tmp_path):
    data = read_table(study, **OPTIONS)
    model = CovariateModel(data)
    model.idata = _covariate_posterior(model)
    path = save_inference(
        model.idata,
        tmp_path / "old.nc",
        kind="covariates",
        config=model.config,
        identity=data.identity_digests(legacy=True),
        state=data.state_digests(),
    )
    old = CovariateModel.load(path)
    assert old.reading is None and [f.name for f in old.fields] == ["sex", "drug"]
    assert old.check_study(data) == []


def test_a_study_of_only_seeds_gets_a_hint_in_the_covariate_model(tmp_path):
    path = tmp_path / "seeds.csv"
    path.write_text("id,recruiter_id,coupons_issued,sex\na,,3,f\nb,,3,m\nc,,2,f\n")
    with pytest.raises(ModelError, match="--no-covariate-model"):
        CovariateModel(read_table(path))


def test_row_digests_by_name_ignore_column_order():
    table = pd.DataFrame({"id": ["a", "b"], "x": ["1", "2"], "y": ["3", "4"]})
    assert row_digests(table, ["x", "y"], names=True) != row_digests(table, ["y", "x"], names=True)
    assert (
        ReadingOptions(covariates=("y", "x")).differences(ReadingOptions(covariates=("x", "y")))
        == []
    )


# -- reading without ArviZ ------------------------------------------------------------------------------
def test_a_loaded_model_gives_the_same_inference_data_as_arviz(saved):
    _, _, path = saved
    loaded = CountModel.load(path)
    assert not isinstance(loaded.stored, az.InferenceData)  # read without ArviZ
    idata = loaded.idata
    assert isinstance(idata, az.InferenceData) and loaded.idata is idata
    reference = az.from_netcdf(str(path))
    assert sorted(idata.groups()) == sorted(reference.groups())
    for group in reference.groups():
        xr.testing.assert_identical(getattr(idata, group), getattr(reference, group))
    assert loaded.stored is idata  # built once, then kept


def test_predicting_from_a_saved_posterior_does_not_import_arviz(saved, study):
    _, _, path = saved
    code = (
        "import sys\n"
        "from rdsmodel.count import CountModel\n"
        "from rdsmodel.data import read_table\n"
        f"data = read_table({str(study)!r}, **{OPTIONS!r})\n"
        f"model = CountModel.load({str(path)!r}, data)\n"
        "s = model.survival(data.frontier, max_coupons=3, samples=10, seed=1)\n"
        "assert s.shape[0] == 10, s.shape\n"
        "assert 'arviz' not in sys.modules, 'arviz imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
