"""The capacity law module against scipy.stats: pmf, survival, moments and draws of every family."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rdsmodel.laws.capacity import (
    FAMILIES,
    capacity_mean,
    family_of,
    get_family,
    log_grids,
    logpmf_grid,
    logsurv_grid,
    pmf_grid,
    random_capacity,
    survival_from_pmf,
    survival_grid,
)

K = 8
ETAS = np.array([-2.0, -0.7, 0.0, 0.4, 1.3, 2.5])
PHI, PSI = 1.7, 0.25
#: Every base/inflation pair: the four model families and the simulator's Poisson variants.
ALL = [*FAMILIES.values(), family_of("poisson", "zero"), family_of("poisson", "hurdle")]
IDS = [f.name for f in ALL]


def scipy_base(family, mu, phi=PHI):
    """The base count law as a frozen scipy distribution (NB: n = phi, p = phi / (phi + mu))."""
    return stats.poisson(mu) if family.base == "poisson" else stats.nbinom(phi, phi / (phi + mu))


def scipy_pmf(family, y, mu, phi=PHI, psi=PSI):
    """P(C = y), written from scipy's base pmf and the inflation formulas."""
    f = scipy_base(family, mu, phi)
    if family.inflation is None:
        return f.pmf(y)
    if family.inflation == "zero":
        return psi * (y == 0) + (1 - psi) * f.pmf(y)
    return np.where(y == 0, psi, (1 - psi) * f.pmf(y) / f.sf(0))


def scipy_sf(family, k, mu, phi=PHI, psi=PSI):
    """P(C >= k) from scipy's survival function (not from a sum of the pmf)."""
    f = scipy_base(family, mu, phi)
    base = f.sf(k - 1)
    if family.inflation is None:
        out = base
    elif family.inflation == "zero":
        out = (1 - psi) * base
    else:
        out = (1 - psi) * base / f.sf(0)
    return np.where(k == 0, 1.0, out)


def scipy_moments(family, mu, phi=PHI, psi=PSI):
    """Mean and variance from the base law's moments (mixture formulas)."""
    f = scipy_base(family, mu, phi)
    m1, m2 = f.mean(), f.var() + f.mean() ** 2
    if family.inflation is None:
        scale = 1.0
    elif family.inflation == "zero":
        scale = 1 - psi
    else:
        scale = (1 - psi) / f.sf(0)
    mean = scale * m1
    return mean, scale * m2 - mean**2


@pytest.mark.parametrize("family", ALL, ids=IDS)
def test_pmf_and_survival_match_scipy(family):
    y = np.arange(K + 1)
    mu = np.exp(ETAS)[:, None]
    lp, ls = log_grids(family, ETAS, K, PHI, PSI)
    np.testing.assert_allclose(np.exp(lp), scipy_pmf(family, y, mu), rtol=1e-10, atol=1e-15)
    ref = scipy_sf(family, y, mu)
    # S = 1 - F has absolute error ~1e-16 (documented); relative accuracy where S is not tiny
    np.testing.assert_allclose(np.exp(ls), ref, rtol=0, atol=1e-14)
    big = ref > 1e-6
    np.testing.assert_allclose(np.exp(ls)[big], ref[big], rtol=1e-9)
    np.testing.assert_array_equal(lp, logpmf_grid(family, ETAS, K, PHI, PSI))
    np.testing.assert_array_equal(ls, logsurv_grid(family, ETAS, K, PHI, PSI))
    assert np.all(ls[:, 0] == 0.0) and np.all(np.diff(ls, axis=1) <= 1e-15)


@pytest.mark.parametrize("family", ALL, ids=IDS)
def test_tail_closed_pmf_and_survival_curves(family):
    mu = np.exp(ETAS)[:, None]
    pmf = pmf_grid(family, ETAS, K, PHI, PSI, tail=True)
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(
        pmf[:, :K], scipy_pmf(family, np.arange(K), mu), rtol=1e-10, atol=1e-15
    )
    np.testing.assert_allclose(
        pmf[:, K], scipy_sf(family, np.full(len(ETAS), K), np.exp(ETAS)), atol=1e-14
    )
    surv = survival_grid(family, ETAS, K, PHI, PSI)
    assert surv.shape == (len(ETAS), K)
    np.testing.assert_allclose(surv, scipy_sf(family, np.arange(1, K + 1), mu), atol=1e-14)
    np.testing.assert_allclose(survival_from_pmf(pmf), surv, atol=1e-14)
    np.testing.assert_allclose(pmf_grid(family, ETAS, 0, PHI, PSI, tail=True), 1.0)


@pytest.mark.parametrize("family", ALL, ids=IDS)
def test_mean_matches_scipy(family):
    mu = np.exp(ETAS)
    np.testing.assert_allclose(
        capacity_mean(family, ETAS, PHI, PSI), scipy_moments(family, mu)[0], rtol=1e-12
    )


@pytest.mark.parametrize("family", ALL, ids=IDS)
@pytest.mark.parametrize("eta", [-1.5, 0.3, 1.8])
def test_draws_follow_the_law(family, eta):
    n = 200_000
    draws = random_capacity(family, np.full(n, eta), PHI, PSI, rng=np.random.default_rng(6))
    assert draws.dtype == np.int64 and draws.shape == (n,) and draws.min() >= 0
    mean, var = scipy_moments(family, np.exp(eta))
    # sample mean within 5 standard errors; sample variance within 10% (heavy NB tails)
    assert abs(draws.mean() - mean) < 5 * np.sqrt(var / n)
    assert draws.var() == pytest.approx(var, rel=0.1)
    pmf = scipy_pmf(family, np.arange(K), np.exp(eta))
    freq = np.bincount(np.minimum(draws, K), minlength=K + 1)[:K] / n
    assert np.all(np.abs(freq - pmf) <= 5 * np.sqrt(pmf * (1 - pmf) / n) + 1e-9)


def test_parameters_broadcast_over_samples():
    """One dispersion and zero probability per posterior sample, one mean per (sample, person)."""
    fam = get_family("hurdle")
    eta = np.array([[0.1, 0.9, -0.4], [0.5, 0.2, 1.1]])
    phi = np.array([[0.8], [3.0]])
    psi = np.array([[0.1], [0.5]])
    pmf = pmf_grid(fam, eta, 5, phi, psi)
    for s in range(2):
        ref = scipy_pmf(fam, np.arange(6)[None, :], np.exp(eta[s])[:, None], phi[s, 0], psi[s, 0])
        np.testing.assert_allclose(pmf[s], ref, rtol=1e-10)
    draws = random_capacity(fam, eta, phi, psi, rng=np.random.default_rng(0))
    assert draws.shape == (2, 3)
    scalar = random_capacity("nb", 0.0, np.full(4, 2.0), rng=np.random.default_rng(0))
    assert scalar.shape == (4,)


def test_random_stream_is_the_documented_one():
    """Same generator state, same draws: NB by numpy's negative_binomial, hurdle by inversion."""
    mu = np.exp(ETAS)
    got = random_capacity("nb", ETAS, PHI, rng=np.random.default_rng(1))
    want = np.random.default_rng(1).negative_binomial(PHI, PHI / (PHI + mu))
    np.testing.assert_array_equal(got, want)
    rng = np.random.default_rng(2)
    base = stats.poisson(mu)
    u = base.cdf(0) + (1 - base.cdf(0)) * rng.random(len(mu))
    zero = rng.random(len(mu)) < PSI
    want = np.where(zero, 0, np.maximum(base.ppf(np.minimum(u, np.nextafter(1.0, 0.0))), 1))
    got = random_capacity(
        family_of("poisson", "hurdle"), ETAS, psi=PSI, rng=np.random.default_rng(2)
    )
    np.testing.assert_array_equal(got, want)


def test_zero_mean_is_a_point_mass_at_zero():
    for family in ("poisson", "nb", "zinb"):
        pmf = pmf_grid(family, -np.inf, 3, PHI, PSI, tail=True)
        np.testing.assert_allclose(pmf, [1.0, 0.0, 0.0, 0.0], atol=1e-15)
        assert not random_capacity(
            family, np.full(50, -np.inf), PHI, PSI, rng=np.random.default_rng(0)
        ).any()


def test_survival_from_pmf_reads_all_but_the_last_column():
    pmf = np.array([[0.2, 0.3, 0.1, 0.4], [0.5, 0.5, 0.0, 0.0]])
    np.testing.assert_allclose(
        survival_from_pmf(pmf), [[0.8, 0.5, 0.4], [0.5, 0.0, 0.0]], atol=1e-15
    )
    np.testing.assert_allclose(survival_from_pmf(pmf[:, :3]), [[0.8, 0.5], [0.5, 0.0]], atol=1e-15)


def test_family_registry():
    assert family_of("nb", "hurdle") is FAMILIES["hurdle"]
    assert family_of("poisson", "zero").code is None
    assert get_family(FAMILIES["zinb"]) is FAMILIES["zinb"]
    assert FAMILIES["zinb"].params == ("phi", "psi") and FAMILIES["poisson"].params == ()
    with pytest.raises(ValueError, match="no count family with base 'binomial'"):
        family_of("binomial")
    with pytest.raises(ValueError, match="unknown family 'zip'"):
        get_family("zip")
