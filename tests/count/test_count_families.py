"""Count families in the model: PyTensor grids and the compiled kernel against the numpy laws and scipy.

The numpy laws themselves (:mod:`rdsmodel.laws.capacity`) are checked against
scipy in ``tests/laws``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from rdsmodel.count import kernel
from rdsmodel.count.families import (
    FAMILIES,
    get_family,
    logpmf_grid,
    logpmf_grid_pt,
    logsurv_grid,
    logsurv_grid_pt,
)

K = 8
ETAS = np.array([-2.0, -0.7, 0.0, 0.4, 1.3, 2.5])
PHI, PSI = 1.7, 0.25


def scipy_logpmf(family: str, y, mu, phi=PHI, psi=PSI):
    nb = stats.nbinom(phi, phi / (phi + mu))
    if family == "poisson":
        return stats.poisson(mu).logpmf(y)
    if family == "nb":
        return nb.logpmf(y)
    if family == "zinb":
        return np.log(psi * (y == 0) + (1 - psi) * nb.pmf(y))
    return np.where(y == 0, np.log(psi), np.log1p(-psi) + nb.logpmf(y) - nb.logsf(0))


def scipy_logsurv(family: str, k, mu, phi=PHI, psi=PSI):
    """log P(C >= k) by scipy's survival function (incomplete beta), independent of our code."""
    nb = stats.nbinom(phi, phi / (phi + mu))
    if family == "poisson":
        out = stats.poisson(mu).logsf(k - 1)
    elif family == "nb":
        out = nb.logsf(k - 1)
    elif family == "zinb":
        out = np.log1p(-psi) + nb.logsf(k - 1)
    else:
        out = np.log1p(-psi) + nb.logsf(k - 1) - nb.logsf(0)
    return np.where(k == 0, 0.0, out)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_pytensor_grids_match_numpy(family):
    import pytensor
    import pytensor.tensor as pt

    eta = pt.dvector("eta")
    fam = get_family(family)
    phi = pt.as_tensor(np.float64(PHI)) if fam.has_phi else None
    psi = pt.as_tensor(np.float64(PSI)) if fam.has_psi else None
    fn = pytensor.function(
        [eta], [logpmf_grid_pt(fam, eta, K, phi, psi), logsurv_grid_pt(fam, eta, K, phi, psi)]
    )
    lp, ls = fn(ETAS)
    np.testing.assert_allclose(lp, logpmf_grid(family, ETAS, K, PHI, PSI), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        np.exp(ls), np.exp(logsurv_grid(family, ETAS, K, PHI, PSI)), rtol=1e-9, atol=1e-14
    )


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("bound", [1, 2, 3, 5, 8])
def test_censored_row_is_log_survival_in_kernel_and_pymc(family, bound):
    """One respondent at their bound contributes exactly log P(C >= bound)."""
    import pytensor

    fam = get_family(family)
    exact = np.zeros((len(ETAS), K + 1))
    censored = np.zeros((len(ETAS), K + 1))
    censored[:, bound] = 1.0
    expected = scipy_logsurv(family, np.full(len(ETAS), bound), np.exp(ETAS))
    d_eta = np.empty(len(ETAS))
    lfact = special.gammaln(np.arange(K + 1) + 1.0)
    for i in range(len(ETAS)):
        one = np.zeros_like(censored)
        one[i] = censored[i]
        total, _, _ = kernel.loglik_patterns(
            ETAS, np.log(PHI), special.logit(PSI), exact, one, fam.code, lfact, d_eta
        )
        assert np.exp(total) == pytest.approx(np.exp(expected[i]), rel=1e-9, abs=1e-14)
        if expected[i] > np.log(1e-6):
            assert total == pytest.approx(expected[i], rel=1e-9)
    import pytensor.tensor as pt

    eta = pt.dvector("eta")
    ls = logsurv_grid_pt(fam, eta, K, pt.as_tensor(np.float64(PHI)), pt.as_tensor(np.float64(PSI)))
    row = pytensor.function([eta], ls[:, bound])(ETAS)
    np.testing.assert_allclose(np.exp(row), np.exp(expected), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_exact_rows_match_scipy_in_kernel(family):
    fam = get_family(family)
    rng = np.random.default_rng(4)
    exact = rng.integers(0, 3, size=(len(ETAS), K + 1)).astype(float)
    censored = np.zeros_like(exact)
    lfact = special.gammaln(np.arange(K + 1) + 1.0)
    total, _, _ = kernel.loglik_patterns(
        ETAS, np.log(PHI), special.logit(PSI), exact, censored, fam.code, lfact, np.empty(len(ETAS))
    )
    ref = (exact * scipy_logpmf(family, np.arange(K + 1)[None, :], np.exp(ETAS)[:, None])).sum()
    assert total == pytest.approx(ref, rel=1e-11)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_kernel_gradient_matches_finite_differences(family):
    fam = get_family(family)
    rng = np.random.default_rng(5)
    exact = rng.integers(0, 4, size=(len(ETAS), K + 1)).astype(float)
    censored = rng.integers(0, 3, size=(len(ETAS), K + 1)).astype(float)
    censored[:, 0] = 0
    # finite differences need S(k) well above 1e-16 / h: no far-tail censoring at tiny means
    censored[ETAS < -1, 4:] = 0
    lfact = special.gammaln(np.arange(K + 1) + 1.0)

    def f(eta, th, om):
        d = np.empty(len(eta))
        out = kernel.loglik_patterns(eta, th, om, exact, censored, fam.code, lfact, d)
        return out[0], d, out[1], out[2]

    th, om = np.log(PHI), special.logit(PSI)
    _, d_eta, d_th, d_om = f(ETAS, th, om)
    h = 1e-6
    for i in range(len(ETAS)):
        up, dn = ETAS.copy(), ETAS.copy()
        up[i] += h
        dn[i] -= h
        assert d_eta[i] == pytest.approx(
            (f(up, th, om)[0] - f(dn, th, om)[0]) / (2 * h), rel=1e-5, abs=1e-6
        )
    if fam.has_phi:
        assert d_th == pytest.approx(
            (f(ETAS, th + h, om)[0] - f(ETAS, th - h, om)[0]) / (2 * h), rel=1e-5
        )
    if fam.has_psi:
        assert d_om == pytest.approx(
            (f(ETAS, th, om + h)[0] - f(ETAS, th, om - h)[0]) / (2 * h), rel=1e-5
        )


def test_unknown_family_is_one_clear_error():
    with pytest.raises(
        ValueError, match="unknown family 'negbinomial'; choose one of nb, poisson, zinb, hurdle"
    ):
        get_family("negbinomial")
    assert get_family("NB").name == "nb"


def test_the_model_families_are_the_law_module_families():
    from rdsmodel.count import families
    from rdsmodel.laws import capacity

    assert families.FAMILIES is capacity.FAMILIES
    for name in (
        "Family",
        "get_family",
        "log_grids",
        "logpmf_grid",
        "logsurv_grid",
        "random_capacity",
    ):
        assert getattr(families, name) is getattr(capacity, name)
    assert sorted(f.code for f in families.FAMILIES.values()) == [0, 1, 2, 3]
