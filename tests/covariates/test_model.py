"""Fitting, the InferenceData layout, persistence, study checks and the homophily report.

One small seeded fit per module (a few seconds with nutpie on the C backend).
"""

from __future__ import annotations

import json
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

from rdsmodel.covariates import CovariateModel, homophily_section, homophily_summary, plot_homophily
from rdsmodel.data import RecruitmentData
from rdsmodel.persistence import StudyChangedWarning, StudyMismatchError


@pytest.fixture(scope="module")
def fitted(mixed_data):
    model = CovariateModel(mixed_data)
    model.fit(draws=300, tune=300, chains=2, seed=1)
    return model


def test_inference_data_layout(fitted, mixed_data):
    idata = fitted.idata
    for group in (
        "posterior",
        "sample_stats",
        "log_likelihood",
        "posterior_predictive",
        "observed_data",
    ):
        assert group in idata.groups()
    post = idata.posterior
    assert post["rho"].dims == ("chain", "draw", "field")
    assert post["pi"].dims == ("chain", "draw", "field", "level")
    assert post["field"].values.tolist() == ["SEX", "RACE"]
    assert post["intercept"].dims == ("chain", "draw", "numeric")
    assert np.isnan(post["pi"].sel(field="SEX", level=3)).all()  # SEX has 3 levels: padding
    np.testing.assert_allclose(
        post["pi"].sel(field="SEX").sum("level", skipna=True), 1.0, rtol=1e-9
    )
    assert not any(name.startswith("_") for name in post.data_vars)
    n_pairs = len(mixed_data.pairs()[0])
    assert idata.log_likelihood["pairs"].shape == (2, 300, n_pairs)
    assert idata.posterior_predictive["transitions"].shape == (2, 300, 2, 4, 4)
    loo = az.loo(idata)
    assert np.isfinite(loo.elpd_loo)


def test_recovers_mixed_truth(fitted):
    """True values within the 99.7% central posterior interval (a coarse check of the whole pipeline)."""
    post = fitted.idata.posterior
    truth = {("rho", "SEX"): 0.3, ("rho", "RACE"): 0.7}
    for (name, field), value in truth.items():
        lo, hi = np.quantile(post[name].sel(field=field).values, [0.0015, 0.9985])
        assert lo < value < hi, (name, field, lo, hi)
    for name, value in (("intercept", 1.7), ("slope", 0.5), ("sigma", 0.2)):
        lo, hi = np.quantile(post[name].sel(numeric="age").values, [0.0015, 0.9985])
        assert lo < value < hi, (name, lo, hi)
    pi_race = post["pi"].sel(field="RACE")
    z = (pi_race.mean(("chain", "draw")).values - [0.1, 0.2, 0.3, 0.4]) / pi_race.std(
        ("chain", "draw")
    ).values
    assert np.abs(z).max() < 4.0, z


def test_offspring_from_fit(fitted, mixed_data):
    off = fitted.offspring()
    assert off.n_samples == 600 and off.field_names == ["SEX", "RACE", "age"]
    frontier = mixed_data.table[["SEX", "RACE", "age"]].head(20)
    H = np.random.default_rng(0).exponential(1.0, (4, 3, off.max_levels))
    assert off.laplace(H, frontier).shape == (20, 4)
    assert off.laplace(H, frontier, sample="all").shape == (600, 20, 4)
    kids = off.sample(frontier, np.full(20, 2), np.random.default_rng(1), sample=7)
    assert len(kids) == 40


def test_save_load_round_trip(fitted, mixed_data, tmp_path):
    path = fitted.save(tmp_path / "posterior.covariates.nc")
    loaded = CovariateModel.load(path)
    assert loaded.config == json.loads(json.dumps(fitted.config))
    assert loaded.fields == fitted.fields
    pd.testing.assert_frame_equal(loaded.missing_report, fitted.missing_report, check_dtype=False)
    frontier = mixed_data.table[["SEX", "RACE", "age"]].head(15)
    H = np.random.default_rng(2).exponential(1.0, (3, 3, 5))
    np.testing.assert_allclose(
        loaded.offspring().laplace(H, frontier, sample="all"),
        fitted.offspring().laplace(H, frontier, sample="all"),
        rtol=1e-12,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", StudyChangedWarning)
        assert loaded.check_study(mixed_data) == []
    pd.testing.assert_frame_equal(homophily_summary(loaded.idata), homophily_summary(fitted.idata))
    with pytest.raises(RuntimeError, match="no data"):
        loaded.build()


def test_refuses_a_different_study(fitted, mixed_table, tmp_path):
    path = fitted.save(tmp_path / "cov.nc")
    loaded = CovariateModel.load(path)
    changed = mixed_table.copy()
    row = changed.index[changed["SEX"].notna()][5]
    changed.loc[row, "SEX"] = "F" if changed.loc[row, "SEX"] != "F" else "M"
    other = RecruitmentData.from_frame(changed, categorical=["SEX", "RACE"], numeric=["age"])
    with pytest.raises(StudyMismatchError, match="refit"):
        loaded.check_study(other)
    with pytest.raises(StudyMismatchError, match="refit"):
        fitted.check_study(other)
    grown = pd.concat(
        [
            mixed_table,
            pd.DataFrame(
                {
                    "id": ["new1"],
                    "recruiter_id": [mixed_table["id"].iloc[-1]],
                    "coupons_issued": [3],
                    "SEX": ["F"],
                    "RACE": ["a"],
                    "age": [30.0],
                }
            ),
        ],
        ignore_index=True,
    )
    grown.loc[grown["id"] == mixed_table["id"].iloc[-1], "coupons_issued"] = 3
    bigger = RecruitmentData.from_frame(grown, categorical=["SEX", "RACE"], numeric=["age"])
    with pytest.warns(StudyChangedWarning) as record:
        notes = loaded.check_study(bigger)
    assert any("joined" in str(w.message) for w in record)
    assert any("joined" in note for note in notes)
    relabelled = mixed_table.assign(SEX=mixed_table["SEX"].map({"F": "f", "M": "m", "T": "t"}))
    with pytest.raises(StudyMismatchError):
        loaded.check_study(
            RecruitmentData.from_frame(relabelled, categorical=["SEX", "RACE"], numeric=["age"])
        )
    with pytest.raises(ValueError, match="covariates"):
        from rdsmodel.persistence import load_inference, save_inference

        idata, _ = load_inference(path)
        save_inference(idata, tmp_path / "count.nc", kind="count", config={}, identity={}, state={})
        CovariateModel.load(tmp_path / "count.nc")


def test_homophily_report(fitted, tmp_path):
    section = homophily_section(fitted.idata)
    text = json.dumps(section)  # JSON-able
    assert "NaN" not in text
    assert [row["field"] for row in section["homophily"]] == ["SEX", "RACE"]
    for row in section["homophily"]:
        assert row["hdi_low"] <= row["mean"] <= row["hdi_high"]
        assert 0.0 <= row["naive"] <= 1.0
    assert section["verdict"] in ("ok", "warn")
    assert len(section["ppc"]["match_rate"]) == 2 and len(section["ppc"]["levels"]) == 7
    summary = homophily_summary(fitted.idata)
    sex = summary.set_index("field").loc["SEX"]
    # Non-uniform pi: the naive (uniform-level) estimate is biased for SEX, the model is not.
    assert abs(sex["mean"] - 0.3) < abs(sex["naive"] - 0.3)
    import matplotlib

    matplotlib.use("Agg")
    ax = plot_homophily(fitted.idata)
    ax.figure.savefig(tmp_path / "forest.png")


def test_report_flags_a_misfit(fitted):
    """An observed table the model cannot produce is flagged by the predictive check."""
    idata = fitted.idata.copy()
    obs = idata.observed_data["transitions"].values.copy()
    obs[0] = np.diag(obs[0].sum(axis=1))  # every SEX pair matched
    idata.observed_data["transitions"] = (idata.observed_data["transitions"].dims, obs)
    section = homophily_section(idata)
    assert section["verdict"] == "warn"
    assert any("SEX" in m and "match rate" in m for m in section["messages"])


def test_bad_arguments(mixed_data):
    with pytest.raises(ValueError, match="latent_classes"):
        CovariateModel(mixed_data, latent_classes=1)
    with pytest.raises(ValueError, match="not covariates"):
        CovariateModel(mixed_data, fields=["SEX", "nope"])
    with pytest.raises(ValueError, match="unknown prior"):
        CovariateModel(mixed_data, priors={"rhoo": {"alpha": 1}})
    with pytest.raises(ValueError, match="missing must be"):
        CovariateModel(mixed_data, missing="drop")
    with pytest.raises(RuntimeError, match="not fitted"):
        CovariateModel(mixed_data).offspring()
    model = CovariateModel(mixed_data, fields=["RACE"], priors={"rho": {"alpha": 2.0, "beta": 2.0}})
    assert model.config["priors"]["rho"] == {"alpha": 2.0, "beta": 2.0}
    assert model.config["priors"]["pi"] == {"concentration": 1.0}


def test_diagnostics_section(fitted, tmp_path):
    from rdsmodel.covariates import homophily_diagnostics
    from rdsmodel.diagnostics import Diagnostics, Thresholds

    thresholds = Thresholds()
    section = homophily_diagnostics(fitted.idata, thresholds=thresholds)
    report = Diagnostics([section], thresholds=thresholds)
    out = report.to_dict()
    assert [row["field"] for row in out["homophily"]["fields"]] == ["SEX", "RACE"]
    assert {c["name"] for c in out["homophily"]["checks"]} >= {
        "rho_rhat",
        "rho_ess_bulk",
        "ppc_match_rate",
    }
    assert out["verdict"] == homophily_section(fitted.idata, thresholds=thresholds)["verdict"]
    json.dumps(out)
    assert "homophily" in report.text()
    import matplotlib

    matplotlib.use("Agg")
    assert [p.name for p in report.save_figures(tmp_path)] == ["homophily_rho.png"]


@pytest.mark.slow
def test_pymc_sampler_fallback(mixed_data):
    """``pm.sample`` gives the same layout (raw variables dropped, padding masked)."""
    model = CovariateModel(mixed_data)
    idata = model.fit(draws=200, tune=200, chains=2, seed=2, sampler="pymc")
    assert sorted(idata.posterior.data_vars) == ["intercept", "pi", "rho", "sigma", "slope"]
    assert np.isnan(idata.posterior["pi"].sel(field="SEX", level=3)).all()
    assert abs(float(idata.posterior["rho"].sel(field="RACE").mean()) - 0.7) < 0.06


def test_numeric_only_model(age_spec):
    from rdsmodel.covariates import InheritanceOffspring
    from rdsmodel.covariates.simulate import simulate_table

    law = InheritanceOffspring.from_values([age_spec], rho={}, numeric={"age": (1.7, 0.5, 0.2)})
    data = RecruitmentData.from_frame(simulate_table(law, 400, 1), numeric=["age"])
    model = CovariateModel(data)
    idata = model.fit(draws=150, tune=150, chains=2, seed=1)
    assert sorted(idata.posterior.data_vars) == ["intercept", "sigma", "slope"]
    assert idata.log_likelihood["pairs"].shape[2] == len(data.pairs()[0])
    section = homophily_section(idata)
    assert section["verdict"] == "ok" and section["homophily"] == []
    assert model.offspring().laplace(np.zeros((2, 1, 5)), data.table.head(3)).shape == (3, 2)
