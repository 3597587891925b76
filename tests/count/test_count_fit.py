"""A real (small, seeded) fit shared by the session: groups, recovery, predictions, persistence."""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest
from count_helpers import QUICK
from study_gen import make_study

from rdsmodel.count import CountModel
from rdsmodel.data import RecruitmentData
from rdsmodel.persistence import StudyChangedWarning, StudyMismatchError

pytestmark = [
    pytest.mark.filterwarnings("error"),
    # PyTensor (imported by PyMC) warns once when it finds no BLAS: an installation note
    pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning"),
]


def test_fit_groups_and_shapes(nb_model, nb_data):
    idata = nb_model.idata
    assert {
        "posterior",
        "sample_stats",
        "log_likelihood",
        "posterior_predictive",
        "observed_data",
        "constant_data",
    } <= set(idata.groups())
    post = idata.posterior
    assert set(post.data_vars) == {"b0", "beta", "z", "sigma_u", "u", "phi", "intercept"}
    assert post.sizes["chain"] == 4 and post.sizes["draw"] == 1000
    assert list(post["beta"].coords["term"].values) == nb_model.design.terms
    assert post.attrs["rdsplan_sampler"] == "nutpie-kernel"
    n = int((nb_data.fit_rows["censor_at"] >= 1).sum())
    assert idata.log_likelihood["y"].shape == (4, 1000, n)
    assert idata.posterior_predictive["y"].sizes["person"] == n
    assert idata.observed_data["y"].shape == (n,)
    rep = idata.posterior_predictive["y"].values
    assert np.all(rep <= idata.constant_data["censor_at"].values[None, None, :])
    assert np.all(np.isfinite(idata.log_likelihood["y"].values))


def test_converged(nb_model):
    summary = az.summary(nb_model.idata, var_names=["b0", "beta", "sigma_u", "phi"])
    assert summary["r_hat"].max() <= 1.01
    assert summary["ess_bulk"].min() > 300


def _recovery_misses(idata, want, prob):
    hdi = az.hdi(idata, hdi_prob=prob)
    misses = []
    for name, value in want.items():
        if name.startswith("beta["):
            lo, hi = hdi["beta"].sel(term=name[5:-1]).values
        else:
            lo, hi = hdi[name].values
        if not lo <= value <= hi:
            misses.append(f"{name}: {value:.3f} not in [{lo:.3f}, {hi:.3f}]")
    return misses


def test_parameter_recovery_quick(nb_model, nb_study):
    """True values inside their 94% HDIs (1,500 respondents, 8 groups).

    Seven parameters each inside a calibrated 94% interval all at once has
    probability ~0.65, so the honest quick check is: at most one outside the
    94% HDI and none outside the 99% HDI.
    """
    truth = nb_study.truth
    spec = nb_model.design
    mean_age, sd_age = spec.numeric["age"]
    want = {
        "intercept": truth["b0"] + truth["effects"]["age"] * mean_age,
        "sigma_u": truth["sigma_u"],
        "phi": truth["phi"],
        **{f"beta[{t}]": truth["effects"][t] * (sd_age if t == "age" else 1.0) for t in spec.terms},
    }
    assert len(_recovery_misses(nb_model.idata, want, 0.94)) <= 1
    assert _recovery_misses(nb_model.idata, want, 0.99) == []


def test_survival_curves_for_frontier(nb_model, nb_data):
    frontier = nb_data.frontier
    curves = nb_model.survival(frontier, max_coupons=6, samples=50)
    assert curves.name == "survival"
    assert curves.dims == ("sample", "person", "ell")
    assert curves.shape == (50, len(frontier), 6)
    assert list(curves["ell"].values) == [1, 2, 3, 4, 5, 6]
    assert list(curves["person"].values) == frontier["id"].tolist()
    v = curves.values
    assert np.all((v >= 0) & (v <= 1))
    assert np.all(np.diff(v, axis=-1) <= 1e-12)
    pmf = nb_model.capacity_pmf(frontier, max_count=6, samples=50)
    np.testing.assert_allclose(v[..., 0], 1 - pmf.values[..., 0], atol=1e-12)
    np.testing.assert_allclose(v[..., 1], 1 - pmf.values[..., :2].sum(-1), atol=1e-12)
    tail = nb_model.capacity_pmf(frontier, max_count=6, samples=50, tail=True)
    np.testing.assert_allclose(tail.values.sum(-1), 1.0, atol=1e-12)


def test_survival_unseen_group_and_levels(nb_model, nb_data):
    people = nb_data.frontier.head(4).copy()
    people["group"] = ["new-site", "new-site", "g1", "other-new"]
    a = nb_model.survival(people, max_coupons=3, rng=7)
    b = nb_model.survival(people, max_coupons=3, rng=7)
    c = nb_model.survival(people, max_coupons=3, rng=8)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.values, c.values)
    # an unseen group widens the spread of the curves across samples
    same = people.assign(
        group="g1",
        sex=people["sex"].iloc[0],
        site=people["site"].iloc[0],
        age=people["age"].iloc[0],
    )
    spread_seen = nb_model.survival(same.head(1), max_coupons=1).values.std()
    spread_new = nb_model.survival(same.head(1).assign(group="zzz"), max_coupons=1).values.std()
    assert spread_new > spread_seen
    # people without a recorded group are treated like an unseen group
    assert np.all(np.isfinite(nb_model.survival(people.assign(group=pd.NA), max_coupons=2).values))
    bad = people.assign(sex=["L0", "L1", "L9", "L1"])
    with pytest.raises(
        ValueError, match="covariate 'sex' has level\\(s\\) 'L9' the model never saw"
    ):
        nb_model.survival(bad, max_coupons=3)
    with pytest.raises(ValueError, match="lacks covariate column\\(s\\) age"):
        nb_model.survival(people.drop(columns="age"), max_coupons=3)
    with pytest.raises(ValueError, match="max_coupons must be a whole number >= 1"):
        nb_model.survival(people, max_coupons=0)
    with pytest.raises(ValueError, match="samples must be between 1 and 4000"):
        nb_model.survival(people, max_coupons=2, samples=5000)


def test_population_pmf_and_predictive(nb_model, nb_data):
    pop = nb_model.population_pmf(8, samples=20, tail=True)
    assert pop.dims == ("sample", "count") and pop.shape == (20, 9)
    np.testing.assert_allclose(pop.values.sum(-1), 1.0, atol=1e-12)
    # the pooled law reproduces the observed mean redeemed count at the coupons given
    rows = nb_data.fit_rows
    pred = nb_model.posterior_predictive(samples=200, rng=1)
    assert pred.dims == ("sample", "person")
    assert np.all(pred.values <= rows["coupons_issued"].to_numpy(dtype=int)[None, :])
    observed = np.minimum(rows["n_recruits"], rows["coupons_issued"]).mean()
    assert pred.values.mean() == pytest.approx(observed, rel=0.1)
    two = nb_model.posterior_predictive(nb_data.frontier, coupons=2, samples=10, rng=1)
    assert two.values.max() <= 2
    with pytest.raises(ValueError, match="coupons must be whole numbers"):
        nb_model.posterior_predictive(nb_data.frontier, coupons=-1)


def test_save_load_round_trip(nb_model, nb_data, tmp_path):
    path = nb_model.save(tmp_path / "posterior.nc")
    loaded = CountModel.load(path, data=nb_data)
    np.testing.assert_array_equal(
        loaded.idata.posterior["beta"].values, nb_model.idata.posterior["beta"].values
    )
    assert loaded.config == nb_model.config
    people = nb_data.frontier.head(10)
    np.testing.assert_allclose(
        loaded.survival(people, 4, samples=30).values,
        nb_model.survival(people, 4, samples=30).values,
    )
    # without the data: design constants travel with the file
    alone = CountModel.load(path)
    np.testing.assert_allclose(
        alone.survival(people, 4, samples=30).values,
        nb_model.survival(people, 4, samples=30).values,
    )
    np.testing.assert_allclose(
        alone.population_pmf(5, samples=10).values, nb_model.population_pmf(5, samples=10).values
    )
    with pytest.raises(ValueError, match="loaded without its data"):
        alone.fit()


def test_refuses_another_study(nb_model, nb_study, tmp_path):
    path = nb_model.save(tmp_path / "posterior.nc")
    frame = nb_study.frame.copy()
    fitted = frame["coupons_issued"].notna()
    first = frame.index[fitted][0]
    frame.loc[first, "sex"] = "L1" if frame.loc[first, "sex"] == "L0" else "L0"
    other = RecruitmentData.from_frame(frame, **nb_study.options)
    with pytest.raises(StudyMismatchError, match="values of covariate 'sex' differ"):
        CountModel.load(path, data=other)
    with pytest.raises(StudyMismatchError, match="missing from the table"):
        nb_model.check_study(
            RecruitmentData.from_frame(
                nb_study.frame.iloc[5:].assign(
                    recruiter_id=lambda d: d["recruiter_id"].where(d["recruiter_id"].isin(d["id"]))
                ),
                **nb_study.options,
            )
        )


def test_warns_when_the_study_moved_on(nb_model, nb_study):
    frame = nb_study.frame.copy()
    waiting = frame.index[frame["coupons_issued"].isna()][:3]
    frame.loc[waiting, "coupons_issued"] = 3
    newcomer = frame.loc[[waiting[0]]].assign(
        id="late-1", recruiter_id=frame.loc[waiting[0], "id"], coupons_issued=pd.NA
    )
    moved = RecruitmentData.from_frame(
        pd.concat([frame, newcomer], ignore_index=True), **nb_study.options
    )
    with pytest.warns(StudyChangedWarning, match="moved on"):
        notes = nb_model.check_study(moved)
    assert any("joined" in n for n in notes) and any("changed" in n for n in notes)


def test_prior_predictive(nb_model):
    prior = nb_model.sample_prior_predictive(draws=50, seed=2)
    assert {"prior", "prior_predictive", "observed_data"} <= set(prior.groups())
    assert prior.prior["b0"].shape == (1, 50)
    y = prior.prior_predictive["y"].values
    assert y.shape == (1, 50, prior.observed_data["y"].size)
    assert y.min() >= 0


def test_diagnostics_of_the_fit(nb_model):
    diag = nb_model.diagnose()
    assert diag.verdict in ("ok", "warn")
    report = diag.to_dict()
    json.dumps(report, allow_nan=False)
    assert report["convergence"]["parameters"]["phi"]["r_hat"] < 1.02
    assert report["loo"]["n_data_points"] == nb_model.idata.observed_data["y"].size


FAMILY_TRUTH = {  # b0 at the reference levels, dispersion, zero probability
    "poisson": {"b0": 0.45, "phi": None, "psi": None},
    "zinb": {"b0": 0.7, "phi": 2.0, "psi": 0.25},
    "hurdle": {"b0": 0.6, "phi": 1.5, "psi": 0.3},
}


@pytest.mark.parametrize("family", ["poisson", "zinb", "hurdle"])
def test_other_families_recover_and_predict(family):
    """Data drawn from the family itself (numpy, not the toolkit's simulator): the intercept,
    both coefficients and the family's own parameters are inside their 99% intervals, and the
    predicted zero share at the reference levels matches the generating law's."""
    t = FAMILY_TRUTH[family]
    study = make_study(
        40 + len(family),
        n=1500,
        n_sites=1,
        sigma_u=0.0,
        family=family,
        b0=t["b0"],
        phi=t["phi"] or 1.0,
        psi=t["psi"] or 0.0,
    )
    data = study.data()
    model = CountModel(data, family=family, group=False)
    idata = model.fit(**{**QUICK, "draws": 400, "tune": 400, "chains": 2})
    assert idata.posterior.attrs["family"] == family
    post = idata.posterior
    want = {
        "intercept": post["intercept"],
        **{f"beta[{k}]": post["beta"].sel(term=k) for k in study.beta},
    }
    truth = {"intercept": t["b0"], **{f"beta[{k}]": v for k, v in study.beta.items()}}
    for p in model.family.params:
        want[p], truth[p] = post[p], t[p]
    assert set(model.family.params) == {p for p in ("phi", "psi") if t[p] is not None}
    misses = {}
    for name, draws in want.items():
        lo, hi = np.quantile(draws.values.reshape(-1), [0.005, 0.995])
        if not lo <= truth[name] <= hi:
            misses[name] = (truth[name], round(lo, 3), round(hi, 3))
    assert misses == {}
    # P(C = 0) at the reference levels, model against the generating law
    ref = data.frontier.head(1).assign(x1="0", x2="0")
    p0 = 1.0 - model.survival(ref, max_coupons=1).values[:, 0, 0]
    mu, phi, psi = np.exp(t["b0"]), t["phi"], t["psi"]
    nb0 = (phi / (phi + mu)) ** phi if phi else np.exp(-mu)
    want_p0 = {"poisson": nb0, "zinb": psi + (1 - psi) * nb0 if psi else nb0, "hurdle": psi}[family]
    assert np.quantile(p0, 0.005) <= want_p0 <= np.quantile(p0, 0.995)
    curves = model.survival(data.frontier.head(3), max_coupons=4, samples=10).values
    assert np.all(np.diff(curves, axis=-1) <= 1e-12)


def test_pymc_sampler_route(nb_data):
    """PyMC's NUTS on the same model and coordinates (a short run: the remedy is off)."""
    model = CountModel(
        nb_data, covariates=["sex"], config={"group_parametrization": "auto", "remedy": False}
    )
    idata = model.fit(draws=100, tune=100, chains=2, seed=4, sampler="pymc", progressbar=False)
    assert idata.posterior.attrs["rdsplan_sampler"] == "pymc"
    assert idata.posterior.attrs["rdsplan_group_parametrization"] == "auto"
    # the sum-to-zero deviations: b0 + u_g is what the data see; mean(u) = sigma_u e / sqrt(G)
    post = idata.posterior
    assert np.all(np.isfinite(post["u"].values)) and post["u"].sizes["group"] == 8
    assert {"b0", "beta", "phi", "intercept", "u", "z", "sigma_u"} <= set(idata.posterior.data_vars)
    np.testing.assert_allclose(
        idata.posterior["z"] * idata.posterior["sigma_u"], idata.posterior["u"]
    )
    assert idata.log_likelihood["y"].sizes["person"] == idata.observed_data["y"].size


@pytest.mark.slow
def test_nutpie_on_the_pymc_graph_for_other_priors(nb_data):
    """A prior the kernel does not implement runs through nutpie's compiled PyMC model."""
    model = CountModel(
        nb_data,
        covariates=["sex"],
        priors={"sigma_u": {"dist": "Weibull", "alpha": 2, "beta": 0.5}},
    )
    idata = model.fit(draws=300, tune=300, chains=2, seed=4, progressbar=False)
    assert idata.posterior.attrs["rdsplan_sampler"] == "nutpie-pymc"
    assert az.summary(idata, var_names=["b0", "beta", "phi"])["r_hat"].max() < 1.05


def test_compressed_pointwise_storage(nb_data):
    model = CountModel(nb_data, covariates=["sex", "site"], config={"max_pointwise": 50_000})
    idata = model.fit(**{**QUICK, "draws": 100, "tune": 200, "chains": 2})
    assert idata.log_likelihood["y"].dims == ("chain", "draw", "outcome")
    assert idata.log_likelihood.attrs["rdsplan_pointwise"] == "outcome"
    assert int(idata.constant_data["outcome_weight"].sum()) == idata.observed_data["y"].size
    # the posterior predictive is thinned (>= 100 draws in all)
    assert (
        idata.posterior_predictive.sizes["draw"] * idata.posterior_predictive.sizes["chain"] >= 100
    )
    assert idata.posterior_predictive.sizes["draw"] < 100


def test_sizes_and_seed_alias(nb_model, nb_data, tmp_path):
    assert nb_model.n_observations == nb_model.idata.observed_data["y"].size
    assert nb_model.n_cells == nb_model.cells.n_patterns
    people = nb_data.frontier.head(3).assign(group="brand-new")
    np.testing.assert_array_equal(
        nb_model.survival(people, 2, samples=20, seed=4).values,
        nb_model.survival(people, 2, samples=20, rng=4).values,
    )
    loaded = CountModel.load(nb_model.save(tmp_path / "p.nc"))
    assert loaded.n_observations == nb_model.n_observations and loaded.n_cells == nb_model.n_cells
    report = loaded.diagnose()
    assert report.summary()["verdict"] == report.verdict


def test_wave_effect():
    """Capacity that falls by 0.12 on the log scale per wave: the wave coefficient (per sd of the
    wave among the fitted respondents) and the intercept (at the mean wave) are recovered."""
    slope = -0.12
    study = make_study(78, n=1500, n_sites=1, sigma_u=0.0, b0=0.9, wave_slope=slope)
    data = study.data()
    model = CountModel(data, group=False, wave_effect=True)
    assert model.design.terms == ["x1[1]", "x2[1]", "wave"]
    idata = model.fit(**{**QUICK, "draws": 400, "tune": 400, "chains": 2})
    mean_wave, sd_wave = model.design.wave
    post = idata.posterior
    beta_wave = post["beta"].sel(term="wave").values.reshape(-1)
    lo, hi = np.quantile(beta_wave, [0.005, 0.995])
    assert lo <= slope * sd_wave <= hi
    assert hi < 0  # the decline is detected
    # the intercept is the log mean at the reference levels and the mean wave
    lo, hi = np.quantile(post["intercept"].values.reshape(-1), [0.005, 0.995])
    assert lo <= 0.9 + slope * mean_wave <= hi
    for term, value in study.beta.items():
        lo, hi = np.quantile(post["beta"].sel(term=term).values.reshape(-1), [0.005, 0.995])
        assert lo <= value <= hi
    people = data.frontier.head(3)
    assert model.survival(people, 2, samples=5).shape == (5, 3, 2)
    later = model.survival(people.assign(wave=people["wave"] + 5), 2, samples=50).values
    assert np.all(later.mean(0) < model.survival(people, 2, samples=50).values.mean(0))
    with pytest.raises(ValueError, match="lacks covariate column\\(s\\) wave"):
        model.survival(people.drop(columns="wave"), 2)
