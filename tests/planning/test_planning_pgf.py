"""Truncated PGFs and polynomial helpers."""

from __future__ import annotations

import numpy as np
import pytest

from planning.curves import survival_from_pmf as survival_of_pmf
from planning.pgf import (
    check_pmf,
    extend_pmf,
    poly_mul,
    poly_pow,
    power_table,
    truncated_pgf,
    truncated_products,
)


def test_truncated_pgf_and_missing_mass():
    pmf = np.array([0.2, 0.3, 0.1])  # P(C >= 3) = 0.4, an atom at 3
    np.testing.assert_allclose(truncated_pgf(pmf, 0), [1.0])
    np.testing.assert_allclose(truncated_pgf(pmf, 2), [0.2, 0.3, 0.5])
    np.testing.assert_allclose(truncated_pgf(pmf, 3), [0.2, 0.3, 0.1, 0.4])
    np.testing.assert_allclose(truncated_pgf(pmf, 5), [0.2, 0.3, 0.1, 0.4, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(survival_of_pmf(pmf, 5), [0.8, 0.5, 0.4, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(extend_pmf(pmf, 1), [0.2, 0.8])


def test_mean_of_truncated_pgf_is_sum_of_survival():
    rng = np.random.default_rng(0)
    pmf = rng.dirichlet(np.ones(8))[:6]
    surv = survival_of_pmf(pmf, 10)
    for k in range(10):
        h = truncated_pgf(pmf, k)
        assert h.sum() == pytest.approx(1.0)
        assert (np.arange(k + 1) * h).sum() == pytest.approx(surv[:k].sum())


def test_products_and_powers_agree_with_repeated_convolution():
    rng = np.random.default_rng(1)
    a = rng.dirichlet(np.ones(5))
    b = rng.dirichlet(np.ones(3))
    direct = a.copy()
    for k in range(2, 9):
        direct = np.convolve(direct, a)
        np.testing.assert_allclose(poly_pow(a, k), direct, atol=1e-15)
        np.testing.assert_allclose(poly_pow(a, k, degree=6), direct[:7], atol=1e-15)
    np.testing.assert_allclose(poly_mul(a, b), np.convolve(a, b))
    table = power_table(a, 6, 10)
    for k in range(7):
        np.testing.assert_allclose(table[k], np.r_[poly_pow(a, k), np.zeros(40)][:10], atol=1e-15)
    for width in (0, 3, 9, 40):
        left = rng.random((4, 50))
        right = rng.random((4, 50))
        expected = np.array([np.convolve(x, y)[:width] for x, y in zip(left, right, strict=True)])
        np.testing.assert_allclose(
            truncated_products(left, right, width), expected.reshape(4, width), atol=1e-12
        )


@pytest.mark.parametrize(
    ("pmf", "message"),
    [
        ([], "non-empty"),
        ([[0.5]], "1-D"),
        ([0.5, -0.1], "non-negative"),
        ([0.7, 0.6], "sums to"),
        ([np.nan], "NaN"),
    ],
)
def test_bad_pmf(pmf, message):
    with pytest.raises(ValueError, match=message):
        check_pmf(pmf)
