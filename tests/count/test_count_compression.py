"""Sufficient-statistic compression gives the row-wise censored log-likelihood."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from rdsmodel.count import kernel
from rdsmodel.count.compression import compress
from rdsmodel.count.families import FAMILIES, get_family
from rdsmodel.count.inputs import group_centring
from rdsmodel.count.likelihood import build_pymc_model, outcome_loglik
from rdsmodel.count.priors import resolve_priors

PHI, PSI = 1.3, 0.2


def _respondents(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    design = rng.binomial(1, 0.4, size=(n, 3)).astype(float)
    design -= design.mean(axis=0)
    group = rng.integers(0, 6, n)
    bound = rng.choice([1, 2, 3, 5], n)
    y = rng.poisson(1.4, n)  # above the bound -> censored at the bound
    return design, group, y, bound


def _rowwise_scipy(family, eta, y, bound):
    """Independent reference: one scipy term per respondent."""
    mu = np.exp(eta)
    nb = stats.nbinom(PHI, PHI / (PHI + mu))
    yc = np.minimum(y, bound)
    cens = y >= bound
    if family == "poisson":
        lp, ls = stats.poisson(mu).logpmf(yc), stats.poisson(mu).logsf(bound - 1)
    elif family == "nb":
        lp, ls = nb.logpmf(yc), nb.logsf(bound - 1)
    elif family == "zinb":
        lp = np.log(PSI * (yc == 0) + (1 - PSI) * nb.pmf(yc))
        ls = np.log1p(-PSI) + nb.logsf(bound - 1)
    else:
        lp = np.where(yc == 0, np.log(PSI), np.log1p(-PSI) + nb.logpmf(yc) - nb.logsf(0))
        ls = np.log1p(-PSI) + nb.logsf(bound - 1) - nb.logsf(0)
    return np.where(cens, ls, lp)


def test_counts_add_up():
    design, group, y, bound = _respondents()
    cells = compress(design, group, y, bound)
    assert cells.exact.sum() + cells.censored.sum() == len(y)
    assert cells.outcome_weight.sum() == len(y)
    assert cells.censored[:, 0].sum() == 0
    # the per-respondent maps reproduce each respondent's observation
    yc = np.minimum(y, bound)
    np.testing.assert_array_equal(cells.outcome_value[cells.outcome], yc)
    np.testing.assert_array_equal(cells.outcome_censored[cells.outcome], y >= bound)
    np.testing.assert_allclose(cells.design[cells.pattern], design)
    np.testing.assert_array_equal(cells.group[cells.pattern], group)
    assert cells.n_patterns <= 8 * 6


def test_rows_at_zero_are_refused():
    with pytest.raises(ValueError, match="bounds >= 1"):
        compress(np.zeros((2, 0)), np.zeros(2, int), np.zeros(2, int), np.array([0, 1]))


@pytest.mark.parametrize("family", list(FAMILIES))
def test_compressed_loglik_equals_rowwise(family):
    fam = get_family(family)
    design, group, y, bound = _respondents(seed=1)
    beta = np.array([0.3, -0.2, 0.5])
    u = np.linspace(-0.4, 0.4, 6)
    eta_row = 0.2 + design @ beta + u[group]
    reference = _rowwise_scipy(family, eta_row, y, bound).sum()
    cells = compress(design, group, y, bound)
    eta_pat = 0.2 + cells.design @ beta + u[cells.group]
    lfact = special.gammaln(np.arange(cells.kmax + 1) + 1.0)
    total, _, _ = kernel.loglik_patterns(
        eta_pat,
        np.log(PHI),
        special.logit(PSI),
        cells.exact,
        cells.censored,
        fam.code,
        lfact,
        np.empty(cells.n_patterns),
    )
    assert total == pytest.approx(reference, rel=1e-9, abs=1e-9)
    # uncompressed (every respondent its own pattern) through the same kernel
    single = compress(np.column_stack([design, np.arange(len(y))]), group, y, bound)
    assert single.n_patterns == len(y)
    eta_single = 0.2 + single.design[:, :3] @ beta + u[single.group]
    total_rows, _, _ = kernel.loglik_patterns(
        eta_single,
        np.log(PHI),
        special.logit(PSI),
        single.exact,
        single.censored,
        fam.code,
        special.gammaln(np.arange(single.kmax + 1) + 1.0),
        np.empty(single.n_patterns),
    )
    assert total == pytest.approx(total_rows, abs=1e-9)
    # numpy pointwise values (used for LOO), expanded to respondents
    ll = outcome_loglik(fam, eta_pat[None, :], np.array([PHI]), np.array([PSI]), cells)
    np.testing.assert_allclose(
        ll[0, cells.outcome], _rowwise_scipy(family, eta_row, y, bound), rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("family", ["nb", "poisson"])
@pytest.mark.parametrize("how", ["auto", "noncentered"])
def test_potential_model_equals_pm_censored(family, how):
    """Our model has the log density of PyMC's textbook pm.Censored formulation.

    The reference samples (b0, z) with u = sigma_u z i.i.d.; ours samples the mean group
    log mean a = b0 + mean(u), whitened sum-to-zero contrasts v and e = sqrt(G) mean(z).
    The two densities differ by the log-Jacobian of that change of coordinates,
    sum_j log(s_j / sigma_u).
    """
    import pymc as pm

    fam = get_family(family)
    design, group, y, bound = _respondents(n=400, seed=2)
    yc = np.minimum(y, bound)
    cells = compress(design, group, yc, bound)
    names = ("b0", "beta", "sigma_u", *fam.params)
    priors = resolve_priors(None, log_mean=0.0, names=names)
    centring = group_centring(cells, fam, 6, None, how=how)
    ours = build_pymc_model(
        cells,
        family=fam,
        priors=priors,
        terms=["a", "b", "c"],
        groups=[str(g) for g in range(6)],
        centring=centring,
    )
    with pm.Model(coords={"term": ["a", "b", "c"], "group": [str(g) for g in range(6)]}) as ref:
        b0 = pm.Normal("b0", 0.0, 1.5)
        beta = pm.Normal("beta", 0.0, 1.0, dims="term")
        sigma_u = pm.HalfNormal("sigma_u", 0.5)
        z = pm.Normal("z", 0.0, 1.0, dims="group")
        mu = pm.math.exp(b0 + pm.math.dot(design, beta) + sigma_u * z[group])
        if family == "nb":
            phi = pm.LogNormal("phi", 0.5, 1.5)
            dist = pm.NegativeBinomial.dist(mu=mu, alpha=phi)
        else:
            dist = pm.Poisson.dist(mu=mu)
        pm.Censored("y", dist, lower=None, upper=bound, observed=yc)
    sigma, b0_value, zv = 0.3, 0.3, np.linspace(-1, 1.4, 6)
    point = {
        "b0": b0_value,
        "beta": np.array([0.2, -0.1, 0.4]),
        "z": zv,
        "sigma_u_log__": np.log(sigma),
    }
    # the same parameters in our coordinates
    u = sigma * zv
    r = centring.kappa * sigma**2
    scale = sigma / np.sqrt(1 + r)
    c = centring.basis.T @ u
    mine = {
        "b0_groups": b0_value + u.mean(),
        "beta": point["beta"],
        "u_raw": (c - centring.center * sigma**2 / (1 + r)) / scale,
        "u_mean_z": np.sqrt(6) * zv.mean(),
        "sigma_u_log__": np.log(sigma),
    }
    if family == "nb":
        point["phi_log__"] = mine["phi_log__"] = np.log(PHI)
    got = ours.compile_logp()(mine)
    want = ref.compile_logp()(point) + np.log(scale / sigma).sum()
    assert got == pytest.approx(want, rel=1e-7)
