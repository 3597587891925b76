"""The compiled kernel evaluates exactly the PyMC model's log density and gradient."""

from __future__ import annotations

import numpy as np
import pytest

from rdsmodel.count.compression import compress
from rdsmodel.count.families import FAMILIES, get_family
from rdsmodel.count.inputs import group_centring
from rdsmodel.count.likelihood import build_pymc_model, parameter_names
from rdsmodel.count.priors import kernel_prior_table, resolve_priors
from rdsmodel.count.sampling import KernelModel

PRIOR_SETS = [
    None,
    {
        "b0": {"dist": "StudentT", "nu": 4, "mu": 0.2, "sigma": 2},
        "beta": {"dist": "Cauchy", "alpha": 0, "beta": 1},
        "sigma_u": {"dist": "Exponential", "lam": 2},
        "phi": {"dist": "Gamma", "alpha": 2, "beta": 0.5},
        "psi": {"dist": "Beta", "alpha": 2, "beta": 5},
    },
    {
        "sigma_u": {"dist": "HalfStudentT", "nu": 3, "sigma": 1},
        "phi": {"dist": "InverseGamma", "alpha": 3, "beta": 2},
    },
    {"sigma_u": {"dist": "HalfCauchy", "beta": 1}, "phi": {"dist": "HalfNormal", "sigma": 5}},
]


def _cells(seed=0, open_rows=False):
    """600 respondents; with ``open_rows`` a third have open windows (redemption delay model)."""
    rng = np.random.default_rng(seed)
    n = 600
    design = rng.binomial(1, 0.4, (n, 3)).astype(float)
    design -= design.mean(0)
    group = rng.integers(0, 5, n)
    bound = rng.choice([1, 2, 3, 5], n)
    y = rng.poisson(1.2, n)
    if not open_rows:
        return compress(design, group, y, bound)
    is_open = rng.random(n) < 0.35
    # up to 5 coupons, as the closed bounds: deeper tails (P(C >= 6) ~ 1e-9 at the test points) leave both
    # implementations with the 1 - CDF cancellation error (relative ~1e-7 in the gradient)
    coupons = rng.choice([1, 2, 3, 5], n)
    g = rng.choice([0.05, 0.3, 0.7, 0.99, 1.0], n)
    y = np.where(is_open, np.minimum(rng.binomial(np.minimum(y, coupons), g), coupons), y)
    cells = compress(design, group, y, bound, open_rows=is_open, coupons=coupons, g=g)
    assert cells.n_open > 20 and cells.kmax == 5
    return cells


def _to_point(model, km: KernelModel, x: np.ndarray) -> dict:
    """Map the kernel's flat layout onto PyMC's named value variables."""
    q, g = km.n_terms, km.n_groups
    point = {
        "b0_groups": x[0],
        "beta": x[1 : 1 + q],
        "u_raw": x[1 + q : q + g],
        "u_mean_z": x[q + g],
        "sigma_u_log__": x[1 + q + g],
    }
    pos = 2 + q + g
    if km.family.has_phi:
        point["phi_log__"] = x[pos]
        pos += 1
    if km.family.has_psi:
        point["psi_logodds__"] = x[pos]
    names = [v.name for v in model.value_vars]
    return {k: np.asarray(v) for k, v in point.items() if k in names}


def _grad_in_kernel_order(model, km, grad_dict_vector, point):
    names = [v.name for v in model.value_vars]
    sizes = [np.size(point[n]) for n in names]
    parts = dict(zip(names, np.split(grad_dict_vector, np.cumsum(sizes)[:-1]), strict=True))
    order = [
        "b0_groups",
        "beta",
        "u_raw",
        "u_mean_z",
        "sigma_u_log__",
        "phi_log__",
        "psi_logodds__",
    ]
    return np.concatenate([parts[n] for n in order if n in parts])


def _centring(cells, fam, groups=5, how="auto"):
    return group_centring(cells, fam, groups, None, how=how)


CASES = [(f, 0, False) for f in FAMILIES] + [
    ("zinb", 1, False),
    ("nb", 2, False),
    ("hurdle", 3, False),
    ("poisson", 1, False),
]
CASES += [("nb", 0, True), ("poisson", 1, True), ("zinb", 1, True), ("hurdle", 3, True)]


@pytest.mark.parametrize(("family", "prior_set", "open_rows"), CASES)
def test_kernel_equals_pymc(family, prior_set, open_rows):
    """Value and gradient to 1e-8, with and without open windows entering through the delay law."""
    fam = get_family(family)
    cells = _cells(open_rows=open_rows)
    names = parameter_names(fam, 3, True)
    user = {k: v for k, v in (PRIOR_SETS[prior_set] or {}).items() if k in names}
    priors = resolve_priors(user, log_mean=0.1, names=names)
    table = kernel_prior_table(priors)
    assert table is not None
    centring = _centring(cells, fam, how="noncentered" if prior_set == 3 else "auto")
    assert prior_set == 3 or np.all(centring.kappa > 0)
    groups = [f"g{i}" for i in range(5)]
    model = build_pymc_model(
        cells, family=fam, priors=priors, terms=["a", "b", "c"], groups=groups, centring=centring
    )
    km = KernelModel.make(cells, fam, table, ["a", "b", "c"], groups, 0.1, centring)
    logp, dlogp = model.compile_logp(), model.compile_dlogp()
    rng = np.random.default_rng(prior_set)
    for _ in range(3):
        x = rng.normal(0.0, 0.6, km.ndim)
        point = _to_point(model, km, x)
        value, grad = km.logp_grad(x)
        # PyMC computes log(sqrt(2 pi)) with a ~1e-8 rounding; the gradients agree to rounding
        # (the survival sums run in a different order: relative ~1e-9 on large values)
        assert value == pytest.approx(float(logp(point)), abs=1e-6)
        # hurdle with open windows: PyMC's autodiff through log1mexp of the zero mass and the survival
        # ratio is the noisier side there (the kernel matches central differences to ~1e-8); 1e-6
        rtol = 1e-6 if (open_rows and family == "hurdle") else 1e-8
        np.testing.assert_allclose(
            grad, _grad_in_kernel_order(model, km, dlogp(point), point), rtol=rtol, atol=1e-9
        )


def test_other_parameterisations_leave_the_kernel():
    names = ("b0", "beta", "sigma_u", "phi")
    assert (
        kernel_prior_table(
            resolve_priors(
                {"phi": {"dist": "Gamma", "mu": 2, "sigma": 1}}, log_mean=0.0, names=names
            )
        )
        is None
    )
    assert (
        kernel_prior_table(
            resolve_priors(
                {"sigma_u": {"dist": "Weibull", "alpha": 2, "beta": 1}}, log_mean=0.0, names=names
            )
        )
        is None
    )
    assert (
        kernel_prior_table(
            resolve_priors({"b0": {"dist": "HalfNormal", "sigma": 1}}, log_mean=0.0, names=names)
        )
        is None
    )


def test_expand_maps_the_group_coordinates():
    """b0 + u_g equals the sampled mean plus the group's deviation; the deviations sum to zero."""
    fam = get_family("nb")
    cells = _cells()
    priors = resolve_priors(None, log_mean=0.1, names=parameter_names(fam, 3, True))
    centring = _centring(cells, fam)
    km = KernelModel.make(
        cells,
        fam,
        kernel_prior_table(priors),
        ["a", "b", "c"],
        [f"g{i}" for i in range(5)],
        0.1,
        centring,
    )
    x = np.arange(km.ndim, dtype=float) / 10
    out = km.expand(x)
    sigma = np.exp(x[1 + 3 + 5])
    v, e = x[4:8], x[8]
    r = centring.kappa * sigma**2
    c = centring.center * sigma**2 / (1 + r) + sigma / np.sqrt(1 + r) * v
    np.testing.assert_allclose(out["u"] - out["u"].mean(), centring.basis @ c)
    np.testing.assert_allclose(out["u"].mean(), sigma * e / np.sqrt(5))
    np.testing.assert_allclose(out["b0"] + out["u"], x[0] + centring.basis @ c)
    np.testing.assert_allclose(out["z"], out["u"] / sigma)
    np.testing.assert_allclose(centring.basis.sum(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(centring.basis.T @ centring.basis, np.eye(4), atol=1e-12)
    assert out["phi"] == pytest.approx(np.exp(x[-1]))
