"""Parameter recovery for every family (quick in the default suite, larger ones marked slow)
and a simulation-based calibration check of the censored likelihood (slow)."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
from scipy import stats

from rdsmodel.count import CountModel
from rdsmodel.count.simulate import simulate_study

pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning"),
]

TRUTH = {
    "nb": {"b0": 0.3, "phi": 1.5, "psi": None},
    "poisson": {"b0": 0.1, "phi": None, "psi": None},
    "zinb": {"b0": 0.6, "phi": 2.0, "psi": 0.25},
    "hurdle": {"b0": 0.5, "phi": 1.5, "psi": 0.3},
}


def _fit_and_check(family, n, *, groups, seed, draws, chains, effects):
    t = TRUTH[family]
    sim = simulate_study(
        n,
        family=family,
        b0=t["b0"],
        phi=t["phi"] or 1.0,
        psi=t["psi"] or 0.0,
        categorical={"sex": [0.0, effects[0]], "site": [0.0, effects[1], effects[2]]},
        n_groups=groups,
        sigma_u=0.3,
        coupons=(2, 3, 5),
        seed=seed,
    )
    model = CountModel(sim.data(), family=family)
    idata = model.fit(draws=draws, tune=draws, chains=chains, seed=seed, progressbar=False)
    summary = az.summary(idata, var_names=["b0", "beta", *model.family.params])
    assert summary["r_hat"].max() <= 1.02
    want = {"intercept": t["b0"], **{f"beta[{k}]": v for k, v in sim.truth["effects"].items()}}
    if groups:
        want["sigma_u"] = 0.3
    for p in model.family.params:
        want[p] = t[p]
    misses = {}
    for prob in (0.94, 0.99):
        hdi = az.hdi(idata, hdi_prob=prob)
        misses[prob] = []
        for name, value in want.items():
            lo, hi = (
                hdi["beta"].sel(term=name[5:-1]) if name.startswith("beta[") else hdi[name]
            ).values
            if not lo <= value <= hi:
                misses[prob].append(f"{name}={value} not in [{lo:.3f}, {hi:.3f}]")
    return misses, len(want)


@pytest.mark.parametrize("family", ["poisson", "zinb", "hurdle"])
def test_recovery_quick(family):
    """True values inside the 94% HDIs: at most one of ~7 outside (a calibrated set misses
    one about a third of the time), none outside the 99% HDIs."""
    misses, _ = _fit_and_check(
        family, 2000, groups=0, seed=21, draws=500, chains=2, effects=(0.4, -0.3, 0.2)
    )
    assert len(misses[0.94]) <= 1, misses
    assert misses[0.99] == [], misses


@pytest.mark.slow
@pytest.mark.parametrize("family", ["nb", "poisson", "zinb", "hurdle"])
@pytest.mark.parametrize("seed", [31, 32])
def test_recovery_large(family, seed):
    misses, _ = _fit_and_check(
        family, 8000, groups=20, seed=seed, draws=1000, chains=4, effects=(0.4, -0.3, 0.2)
    )
    assert len(misses[0.94]) <= 2, misses
    assert misses[0.99] == [], misses


@pytest.mark.slow
def test_simulation_based_calibration():
    """Ranks of the true (b0, sigma_u, phi) among posterior draws over 50 data sets drawn from
    the prior are uniform (Talts et al., 2018): the censored likelihood is calibrated."""
    priors = {
        "b0": {"dist": "Normal", "mu": 0.3, "sigma": 0.4},
        "sigma_u": {"dist": "HalfNormal", "sigma": 0.4},
        "phi": {"dist": "LogNormal", "mu": 0.7, "sigma": 0.4},
    }
    rng = np.random.default_rng(2024)
    n_sets, keep = 50, 99
    ranks = {"b0": [], "sigma_u": [], "phi": []}
    for i in range(n_sets):
        truth = {
            "b0": rng.normal(0.3, 0.4),
            "sigma_u": abs(rng.normal(0.0, 0.4)),
            "phi": float(np.exp(rng.normal(0.7, 0.4))),
        }
        sim = simulate_study(
            300,
            family="nb",
            b0=truth["b0"],
            sigma_u=truth["sigma_u"],
            phi=truth["phi"],
            n_groups=5,
            coupons=(2, 3, 4),
            seed=1000 + i,
        )
        model = CountModel(sim.data(), family="nb", priors=priors)
        idata = model.fit(draws=500, tune=500, chains=2, seed=i, progressbar=False)
        for name in ranks:
            draws = idata.posterior[name].values.reshape(-1)
            thinned = draws[np.linspace(0, len(draws) - 1, keep).astype(int)]
            ranks[name].append(int(np.sum(thinned < truth[name])))
    for name, r in ranks.items():
        counts = np.histogram(r, bins=5, range=(0, keep + 1))[0]
        p = stats.chisquare(counts).pvalue
        assert p > 0.001, f"{name}: SBC rank histogram {counts.tolist()} (chi-square p = {p:.2g})"
