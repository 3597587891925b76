"""Parameter recovery on simulated studies.

Calibrated scenario (``planning.simulation``): 17 ICPSR 22140 fields with known
inheritance probabilities. If the 94% intervals are calibrated, the number of
true values inside them out of ``n`` independent fields is Binomial(n, 0.94):

* one study, n = 17: P(X <= 12) = 0.0026, so requiring at least 13 of 17
  fails a correct model about once in 400 seeds (and the seed is fixed);
* five studies, n = 85: P(X <= 72) = 0.0016, so the slow test requires 73.

Fields are not exactly independent (they share the recruitment tree), which
widens the spread of X a little; these thresholds leave room for that.
"""

from __future__ import annotations

import numpy as np
import pytest

from rdsmodel.covariates import CovariateModel, FieldSpec, InheritanceOffspring, homophily_summary
from rdsmodel.covariates.simulate import simulate_table
from rdsmodel.data import RecruitmentData


def _calibrated_coverage(seed: int, respondents: int, **overrides) -> tuple[int, int, object]:
    from planning.simulation import load_calibration, simulate_study

    truth = {f.name: f.inherit_prob for f in load_calibration().fields}
    table = simulate_study("calibrated", seed=seed, respondents=respondents, **overrides)
    data = RecruitmentData.from_frame(table, group_col="group", categorical=list(truth))
    model = CovariateModel(data, fields=list(truth))
    idata = model.fit(draws=500, tune=500, chains=2, seed=seed)
    summary = homophily_summary(idata).set_index("field")
    inside = sum(
        summary.loc[f, "hdi_low"] <= rho <= summary.loc[f, "hdi_high"] for f, rho in truth.items()
    )
    return int(inside), len(truth), summary


def test_calibrated_recovery_quick():
    inside, n, summary = _calibrated_coverage(seed=1, respondents=2500)
    assert n == 17
    assert inside >= 13, summary
    assert (summary["r_hat"] < 1.05).all()


@pytest.mark.slow
def test_calibrated_recovery_five_studies():
    total = 0
    for seed in range(2, 7):
        inside, _, _ = _calibrated_coverage(seed=seed, respondents=3000)
        total += inside
    assert total >= 73, total


@pytest.mark.slow
def test_calibrated_tilted_levels():
    """Non-uniform pi: the model still covers the truth; the naive estimate is biased high.

    Chance matches have probability ``sum_c pi(c)^2 > 1/K`` when ``pi`` is not
    uniform, and the naive estimate attributes them to inheritance.
    """
    inside, _, summary = _calibrated_coverage(seed=9, respondents=4000, level_weights="tilted")
    assert inside >= 13, summary
    assert (summary["naive"] > summary["mean"]).mean() > 0.7


def _latent_law() -> InheritanceOffspring:
    fields = [
        FieldSpec.categorical("SEX", ["F", "M", "T"]),
        FieldSpec.categorical("RACE", list("abcd")),
        FieldSpec.categorical("DRUG", list("xyz")),
    ]
    return InheritanceOffspring.from_values(
        fields,
        rho={"SEX": 0.3, "RACE": 0.5, "DRUG": 0.4},
        class_weight=[0.6, 0.4],
        class_rho=0.85,
        class_pi={
            "SEX": [[0.8, 0.15, 0.05], [0.1, 0.3, 0.6]],
            "RACE": [[0.7, 0.1, 0.1, 0.1], [0.05, 0.05, 0.2, 0.7]],
            "DRUG": [[0.8, 0.1, 0.1], [0.1, 0.2, 0.7]],
        },
    )


def test_latent_class_fit_smoke(tmp_path):
    """Small latent-class fit: layout, per-tree log-likelihood, predictive tables, reload."""
    table = simulate_table(
        _latent_law(), 400, np.random.default_rng(3), n_seeds=10, missing_rate=0.03
    )
    data = RecruitmentData.from_frame(table, categorical=["SEX", "RACE", "DRUG"])
    model = CovariateModel(data, latent_classes=2)
    idata = model.fit(draws=150, tune=200, chains=2, seed=2, ppc_draws=40)
    post = idata.posterior
    assert post["class_pi"].dims == ("chain", "draw", "class", "field", "level")
    w = post["class_weight"].mean(("chain", "draw")).values
    assert w[0] >= w[1]  # sorted by weight
    # even this small study (400 respondents) finds the two communities of the law:
    # weights 0.6 / 0.4 and class inheritance 0.85 inside 98% intervals, and each
    # class's most frequent level of every field is the true one (F / T, a / d, x / z)
    lo, hi = np.quantile(post["class_weight"].sel({"class": 0}).values, [0.01, 0.99])
    assert lo <= 0.6 <= hi
    lo, hi = np.quantile(post["class_rho"].values, [0.01, 0.99])
    assert lo <= 0.85 <= hi
    modes = np.nanargmax(post["class_pi"].mean(("chain", "draw")).values, axis=-1)  # (class, field)
    assert modes.tolist() == [[0, 0, 0], [2, 3, 2]]
    assert idata.log_likelihood["trees"].shape == (2, 150, 10)
    assert idata.posterior_predictive["transitions"].shape[:2] == (2, 20)
    off = CovariateModel.load(model.save(tmp_path / "latent.nc")).offspring()
    assert off.n_classes == 2
    H = np.ones((2, 3, 4))
    assert off.laplace(H, data.table.head(5), sample="all").shape == (300, 5, 2)


@pytest.mark.slow
def test_latent_class_recovery():
    law = _latent_law()
    table = simulate_table(law, 3000, np.random.default_rng(4), n_seeds=25)
    data = RecruitmentData.from_frame(table, categorical=["SEX", "RACE", "DRUG"])
    idata = CovariateModel(data, latent_classes=2).fit(draws=500, tune=500, chains=2, seed=4)
    post = idata.posterior

    def covered(values, truth, q=0.9985):
        lo, hi = np.quantile(values, [1 - q, q])
        return lo <= truth <= hi

    for field, rho in {"SEX": 0.3, "RACE": 0.5, "DRUG": 0.4}.items():
        assert covered(post["rho"].sel(field=field).values, rho), field
    assert covered(post["class_rho"].values, 0.85)
    assert covered(post["class_weight"].sel({"class": 0}).values, 0.6)
    true_pi = law.params.pi[0]  # (Z, F, L)
    est = post["class_pi"].mean(("chain", "draw")).values
    sd = post["class_pi"].std(("chain", "draw")).values
    z = np.nan_to_num((est - true_pi) / sd)
    assert np.abs(z).max() < 4.5, z


def test_rho_by_level_fit_smoke(mixed_data):
    model = CovariateModel(mixed_data, rho_by_level=True)
    idata = model.fit(draws=150, tune=200, chains=2, seed=3)
    post = idata.posterior
    assert post["rho_level"].dims == ("chain", "draw", "field", "level")
    weights = np.array(model.config["recruiter_level_weights"])
    np.testing.assert_allclose(
        post["rho"].values, (post["rho_level"].fillna(0).values * weights).sum(-1), rtol=1e-9
    )
    assert np.isnan(post["rho_level"].sel(field="SEX", level=3)).all()


@pytest.mark.slow
def test_rho_by_level_recovery():
    fields = [
        FieldSpec.categorical("SEX", ["F", "M", "T"]),
        FieldSpec.categorical("RACE", list("abcd")),
    ]
    truth = {"SEX": [0.2, 0.5, 0.8], "RACE": [0.6, 0.7, 0.8, 0.9]}
    law = InheritanceOffspring.from_values(fields, rho=truth, pi={"SEX": [0.4, 0.35, 0.25]})
    table = simulate_table(law, 5000, np.random.default_rng(5), n_seeds=30)
    data = RecruitmentData.from_frame(table, categorical=["SEX", "RACE"])
    idata = CovariateModel(data, rho_by_level=True).fit(draws=500, tune=500, chains=2, seed=5)
    post = idata.posterior["rho_level"]
    misses = 0
    for field, values in truth.items():
        for level, rho in enumerate(values):
            lo, hi = np.quantile(post.sel(field=field, level=level).values, [0.005, 0.995])
            misses += not lo <= rho <= hi
    assert misses <= 1
