"""Risk measures: numeric definitions, cvxpy expressions, parsing."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from planning import CVaR, Mean, Worst, cvar, mean, parse_risk, worst


def brute_cvar(values: np.ndarray, alpha: float) -> float:
    """max_t t - E[(t - X)_+] / alpha over the sample points (piecewise linear in t)."""
    return max(t - np.maximum(t - values, 0).mean() / alpha for t in values)


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.25, 0.3, 0.5, 0.9, 1.0])
def test_cvar_matches_rockafellar_uryasev(alpha):
    rng = np.random.default_rng(0)
    for size in (1, 2, 7, 20, 33):
        values = rng.normal(size=size)
        assert cvar(alpha).evaluate(values) == pytest.approx(brute_cvar(values, alpha))


def test_limits_and_axis():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(40, 3))
    np.testing.assert_allclose(cvar(1.0).evaluate(values), values.mean(axis=0))
    np.testing.assert_allclose(cvar(1 / 40).evaluate(values), values.min(axis=0))
    np.testing.assert_allclose(worst().evaluate(values.T, axis=1), values.min(axis=0))
    np.testing.assert_allclose(mean().evaluate(values), values.mean(axis=0))
    ordered = [
        worst().evaluate(values[:, 0]),
        cvar(0.2).evaluate(values[:, 0]),
        mean().evaluate(values[:, 0]),
    ]
    assert ordered == sorted(ordered)


@pytest.mark.parametrize("measure", [mean(), cvar(0.1), cvar(0.35), worst()])
def test_cvxpy_expression_agrees_with_numeric(measure):
    rng = np.random.default_rng(2)
    values = rng.normal(size=25)
    problem = cp.Problem(cp.Maximize(measure.expression(cp.Constant(values))))
    problem.solve(solver="HIGHS")
    assert problem.value == pytest.approx(float(measure.evaluate(values)), abs=1e-7)


def test_parse_risk():
    assert isinstance(parse_risk("mean"), Mean)
    assert isinstance(parse_risk("worst"), Worst)
    assert parse_risk("cvar:0.1") == CVaR(0.1)
    assert parse_risk(None) == Mean()
    measure = cvar(0.2)
    assert parse_risk(measure) is measure
    assert str(parse_risk(" CVaR:0.25 ")) == "cvar:0.25"
    for bad in ("cvar", "cvar:abc", "cvar:0", "cvar:1.5", "median"):
        with pytest.raises(ValueError):
            parse_risk(bad)
