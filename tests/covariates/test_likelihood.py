"""The count likelihood equals the row-wise likelihood (to 1e-9), in numpy and in the PyMC graph."""

from __future__ import annotations

import numpy as np
import pytest

from rdsmodel.covariates import CovariateModel, InheritanceParams
from rdsmodel.covariates.params import pair_log_likelihood
from rdsmodel.covariates.transitions import CategoricalCounts, NumericMoments, encode_pairs


def _random_params(
    model: CovariateModel, rng: np.random.Generator, by_level: bool
) -> InheritanceParams:
    cat = [s for s in model.fields if s.is_categorical]
    L = max(s.n_levels for s in cat)
    rho = np.zeros((1, len(cat), L))
    pi = np.zeros((1, 1, len(cat), L))
    for k, s in enumerate(cat):
        rho[0, k, : s.n_levels] = rng.uniform(0.05, 0.95, s.n_levels if by_level else 1)
        pi[0, 0, k, : s.n_levels] = rng.dirichlet(np.ones(s.n_levels))
    G = len(model.numeric_fields)
    return InheritanceParams(
        rho=rho,
        pi=pi,
        class_weight=np.ones((1, 1)),
        class_rho=np.zeros(1),
        intercept=rng.normal(1.0, 0.3, (1, G)),
        slope=rng.uniform(0.2, 0.8, (1, G)),
        sigma=rng.uniform(0.1, 0.4, (1, G)),
    )


def _naive_rowwise(model: CovariateModel, params: InheritanceParams) -> float:
    """Independent reference: a Python loop over pairs and fields, straight from the formulas."""
    from scipy.stats import norm

    cat = [s for s in model.fields if s.is_categorical]
    num = [s for s in model.fields if not s.is_categorical]
    total = 0.0
    pairs = model.pairs
    for e in range(pairs.n_pairs):
        for k, s in enumerate(cat):
            p, c = pairs.parent_codes[e, k], pairs.recruit_codes[e, k]
            rho, pi = params.rho[0, k], params.pi[0, 0, k]
            if c < 0:
                continue
            if p < 0:  # recruiter missing: sum_p pi(p) P(c | p)
                prob = sum(
                    pi[q] * (rho[q] * (c == q) + (1 - rho[q]) * pi[c]) for q in range(s.n_levels)
                )
            else:
                prob = rho[p] * (c == p) + (1 - rho[p]) * pi[c]
            total += np.log(prob)
        for g, s in enumerate(num):
            x, y = pairs.parent_values[e, g], pairs.recruit_values[e, g]
            a, b, sd = params.intercept[0, g], params.slope[0, g], params.sigma[0, g]
            if np.isnan(y):
                continue
            if np.isnan(x):
                mu, sd = a + b * s.pop_mean, np.hypot(sd, b * s.pop_sd)
            else:
                mu = a + b * x
            total += norm.logpdf(y, mu, sd) - (y if s.log else 0.0)
    return total


@pytest.mark.parametrize("by_level", [False, True])
def test_count_likelihood_equals_rowwise(mixed_data, by_level):
    import pytensor.tensor as pt

    from rdsmodel.covariates.graph import categorical_count_loglik, numeric_moment_loglik

    model = CovariateModel(mixed_data, rho_by_level=by_level)
    assert (model.missing_report["recruiter_missing"] > 0).all()
    params = _random_params(model, np.random.default_rng(3), by_level)
    reference = _naive_rowwise(model, params)
    rowwise = pair_log_likelihood(params, model.pairs, model.fields).sum()
    assert rowwise == pytest.approx(reference, abs=1e-9, rel=1e-12)

    rho, pi = params.rho[0], params.pi[0, 0]
    pi_one = np.where(pi > 0, pi, 1.0)
    cat_np = categorical_count_loglik(rho, pi_one, pi, model.counts, xp=np)
    cat_pt = categorical_count_loglik(
        pt.as_tensor(rho), pt.as_tensor(pi_one), pt.as_tensor(pi), model.counts
    ).eval()
    spec = model.fields[2]
    a = (params.intercept[0] - spec.center * (1 - params.slope[0])) / spec.scale
    b, s = params.slope[0], params.sigma[0] / spec.scale
    num_np = numeric_moment_loglik(a, b, s, model.moments, xp=np)
    assert cat_np + num_np == pytest.approx(rowwise, abs=1e-9, rel=1e-12)
    assert cat_pt == pytest.approx(cat_np, abs=1e-9, rel=1e-12)


def test_model_potential_equals_rowwise(mixed_data):
    """The PyMC graph's data terms, at a point, equal the row-wise sum of that point's parameters."""
    model = CovariateModel(mixed_data)
    pm_model = model.build()
    point = pm_model.initial_point(0)
    rng = np.random.default_rng(5)
    point = {k: v + rng.normal(0, 0.3, np.shape(v)) for k, v in point.items()}
    values = [point[v.name] for v in pm_model.value_vars]

    def evaluate(outs):
        outs = pm_model.replace_rvs_by_values(outs)  # functions of the value variables, not draws
        fn = pm_model.compile_fn(
            outs, inputs=pm_model.value_vars, point_fn=False, on_unused_input="ignore"
        )
        return fn(*values)

    data_ll = sum(evaluate([pm_model["loglik_categorical"], pm_model["loglik_numeric"]]))
    outs = evaluate([pm_model[n] for n in ("rho", "pi", "intercept", "slope", "sigma")])
    rho, pi, a, b, s = (np.asarray(o) for o in outs)
    L = pi.shape[1]
    params = InheritanceParams(
        rho=np.repeat(rho[None, :, None], L, 2),
        pi=pi[None, None],
        class_weight=np.ones((1, 1)),
        class_rho=np.zeros(1),
        intercept=a[None],
        slope=b[None],
        sigma=s[None],
    )
    rowwise = pair_log_likelihood(params, model.pairs, model.fields).sum()
    assert float(data_ll) == pytest.approx(rowwise, abs=1e-9, rel=1e-12)


def test_counts_are_complete(mixed_data):
    """Every pair with an observed recruit value is counted once: nothing dropped silently."""
    parents, recruits = mixed_data.pairs()
    model = CovariateModel(mixed_data)
    pairs = encode_pairs(parents, recruits, model.fields)
    counts = CategoricalCounts.from_pairs(pairs, model.fields)
    for k, name in enumerate(model.categorical_fields):
        observed = int(recruits[name].notna().sum())
        assert counts.transitions[k].sum() + counts.parent_missing[k].sum() == observed
    report = model.missing_report.set_index("field")
    assert report.loc["SEX", "recruit_missing"] == int(recruits["SEX"].isna().sum())
    assert report.loc["SEX", "pairs_used"] == int(recruits["SEX"].notna().sum())
    moments = NumericMoments.from_pairs(pairs, model.fields)
    assert moments.n[0] + moments.nm[0] == int(recruits["age"].notna().sum())


def test_missing_as_level(mixed_data):
    model = CovariateModel(mixed_data, missing="level")
    sex = next(s for s in model.fields if s.name == "SEX")
    assert sex.missing_level and sex.levels[-1] == "(missing)"
    assert model.counts.parent_missing.sum() == 0
    report = model.missing_report.set_index("field")
    assert report.loc["SEX", "treatment"] == "own level"
    assert report.loc["SEX", "pairs_used"] == report.loc["SEX", "pairs"]
