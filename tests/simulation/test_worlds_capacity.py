"""World capacity laws: mean functions, and the law module's pmfs and draws reached through them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from worlds_helpers import binomial_tolerance

from planning.greedy import allocation_values
from planning.simulation import (
    HurdleCapacity,
    LogLinearMean,
    NegativeBinomialCapacity,
    NumericEffect,
    PoissonCapacity,
    TypeRates,
    ZeroInflatedCapacity,
)
from rdsmodel.laws.capacity import survival_from_pmf

PEOPLE = pd.DataFrame(
    {
        "sex": pd.Categorical(["F", "M", "M", "X"] * 3000),
        "size": np.tile([4.0, 10.0, 25.0, 8.0], 3000),
        "group": ["S1", "S2"] * 6000,
    }
)
MEAN = LogLinearMean(
    intercept=np.log(1.5),
    categorical={"sex": {"M": 0.4, "X": -0.5}},
    numeric={"size": NumericEffect(0.3, "log", center=np.log(10.0))},
    group_effects={"S1": -0.2, "S2": 0.25},
)
NB = NegativeBinomialCapacity(MEAN, dispersion=1.3)
LAWS = {
    "poisson": PoissonCapacity(MEAN),
    "negbin": NB,
    "zinb": ZeroInflatedCapacity(NB, zero_prob=0.3),
    "hurdle_nb": HurdleCapacity(NB, zero_prob=0.45),
    "hurdle_poisson": HurdleCapacity(PoissonCapacity(MEAN), zero_prob=0.2),
    "type_rates": PoissonCapacity(TypeRates("sex", {"F": 4.0, "M": 0.8, "X": 0.02})),
}


def test_log_linear_mean_adds_its_terms():
    mu = MEAN.mean(PEOPLE.iloc[:4])
    expected = np.exp(
        np.log(1.5)
        + np.array([0, 0.4, 0.4, -0.5])
        + 0.3 * (np.log([4.0, 10.0, 25.0, 8.0]) - np.log(10.0))
        + np.array([-0.2, 0.25, -0.2, 0.25])
    )
    np.testing.assert_allclose(mu, expected)


@pytest.mark.parametrize("name", list(LAWS))
def test_pmf_is_tail_closed_and_matches_samples(name):
    law = LAWS[name]
    max_count = 6
    pmf = law.pmf(PEOPLE, max_count)
    assert pmf.shape == (len(PEOPLE), max_count + 1)
    assert np.all(pmf >= 0)
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0, atol=1e-12)
    draws = law.sample(PEOPLE, np.random.default_rng(42))
    assert draws.dtype == np.int64 and draws.shape == (len(PEOPLE),) and draws.min() >= 0
    freq = np.bincount(np.minimum(draws, max_count), minlength=max_count + 1) / len(draws)
    expected = pmf.mean(axis=0)
    assert np.all(np.abs(freq - expected) <= binomial_tolerance(expected, len(draws)))
    np.testing.assert_allclose(draws.mean(), law.mean(PEOPLE).mean(), rtol=0.05)


def test_negative_binomial_matches_scipy_reference():
    mu = MEAN.mean(PEOPLE.iloc[:4])
    pmf = NB.pmf(PEOPLE.iloc[:4], 5)
    phi = 1.3
    ref = stats.nbinom.pmf(np.arange(5)[None, :], phi, (phi / (phi + mu))[:, None])
    np.testing.assert_allclose(pmf[:, :5], ref)
    np.testing.assert_allclose(pmf[:, 5], stats.nbinom.sf(4, phi, phi / (phi + mu)))


def test_zero_inflated_and_hurdle_formulas():
    row = PEOPLE.iloc[:1]
    base = NB.pmf(row, 4)[0]
    zi = ZeroInflatedCapacity(NB, 0.3).pmf(row, 4)[0]
    np.testing.assert_allclose(zi[0], 0.3 + 0.7 * base[0])
    np.testing.assert_allclose(zi[1:], 0.7 * base[1:])
    hurdle = HurdleCapacity(NB, 0.45).pmf(row, 4)[0]
    np.testing.assert_allclose(hurdle[0], 0.45)
    np.testing.assert_allclose(hurdle[1:], 0.55 * base[1:] / (1 - base[0]))


def test_survival_and_expected_recruits():
    pmf = NB.pmf(PEOPLE.iloc[:4], 8)
    surv = survival_from_pmf(pmf)
    assert surv.shape == (4, 8)
    assert np.all(np.diff(surv, axis=1) <= 1e-15)
    np.testing.assert_allclose(surv[:, 0], 1 - pmf[:, 0])
    k = np.array([0, 1, 3, 8])
    want = np.array([0.0, surv[1, 0], surv[2, :3].sum(), surv[3].sum()])
    np.testing.assert_allclose(allocation_values(surv, k), want)
    reps = 4000
    draws = NB.sample(PEOPLE.iloc[np.tile(np.arange(4), reps)], np.random.default_rng(1)).reshape(
        reps, 4
    )
    mc = np.minimum(draws, k).mean(axis=0)
    np.testing.assert_allclose(mc, want, atol=0.08)


def test_world_laws_are_the_law_module_families():
    """A world law is a mean function over one of rdsmodel.laws.capacity's families (no maths of its own)."""
    from rdsmodel.laws.capacity import pmf_grid, random_capacity

    people = PEOPLE.iloc[:50]
    eta = MEAN.log_mean(people)
    cases = {
        "poisson": ("poisson", None, None),
        "negbin": ("nb", 1.3, None),
        "zinb": ("zinb", 1.3, 0.3),
        "hurdle_nb": ("hurdle", 1.3, 0.45),
    }
    for name, (family, phi, psi) in cases.items():
        law = LAWS[name]
        np.testing.assert_array_equal(
            law.pmf(people, 5), pmf_grid(family, eta, 5, phi, psi, tail=True)
        )
        np.testing.assert_array_equal(
            law.sample(people, np.random.default_rng(3)),
            random_capacity(family, eta, phi, psi, rng=np.random.default_rng(3)),
        )


def test_zero_rate_type_is_never_recruited():
    law = PoissonCapacity(TypeRates("t", {"a": 0.0, "b": 2.0}))
    people = pd.DataFrame({"t": ["a", "b"]})
    pmf = law.pmf(people, 3)
    np.testing.assert_allclose(pmf[0], [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(
        pmf[1], [*stats.poisson.pmf(np.arange(3), 2.0), stats.poisson.sf(2, 2.0)]
    )
    draws = law.sample(people.iloc[[0] * 100], np.random.default_rng(0))
    assert (draws == 0).all()


def test_zero_max_count_is_all_tail():
    for law in LAWS.values():
        np.testing.assert_allclose(law.pmf(PEOPLE.iloc[:3], 0), 1.0)


def test_clear_errors():
    with pytest.raises(ValueError, match="max_count must be >= 0"):
        NB.pmf(PEOPLE.iloc[:1], -1)
    with pytest.raises(ValueError, match="needs the column 'sex'"):
        NB.pmf(pd.DataFrame({"size": [1.0], "group": ["S1"]}), 3)
    with pytest.raises(ValueError, match=r"no group effect for group\(s\) \['S9'\]"):
        NB.sample(PEOPLE.iloc[:1].assign(group="S9"), np.random.default_rng(0))
    with pytest.raises(ValueError, match="no rate for level"):
        LAWS["type_rates"].pmf(pd.DataFrame({"sex": ["Q"]}), 3)
    with pytest.raises(ValueError, match="dispersion"):
        NegativeBinomialCapacity(MEAN, dispersion=0.0)
    with pytest.raises(ValueError, match="zero_prob"):
        HurdleCapacity(NB, 1.0)
