"""Population surrogate DP: fast table against the published recursion."""

from __future__ import annotations

import numpy as np
import pytest
from reference_dp import reference_table
from scipy import stats

from planning import surrogate_table, transition_laws

REF_BUDGET = 25


def laws() -> dict[str, np.ndarray]:
    j = np.arange(40)
    zero_inflated = 0.45 * (j == 0) + 0.55 * stats.poisson.pmf(j, 2.5)
    heavy = 1.0 / (j + 1.0) ** 2.2
    heavy = 0.97 * heavy / heavy.sum()  # missing mass 0.03 sits at C = 40
    return {
        "poisson": stats.poisson.pmf(j, 1.4),
        "negative-binomial": stats.nbinom.pmf(j, 0.8, 0.8 / (0.8 + 1.6)),
        "zero-inflated": zero_inflated,
        "heavy-tailed": heavy,
        "short": np.array([0.3, 0.2]),  # P(C >= 2) = 0.5 as an atom at 2
    }


@pytest.fixture(scope="module")
def references() -> dict[tuple[str, float], np.ndarray]:
    return {
        (name, gamma): reference_table(pmf, REF_BUDGET, gamma)
        for name, pmf in laws().items()
        for gamma in (0.5, 0.9, 1.0)
    }


@pytest.mark.parametrize("name", list(laws()))
@pytest.mark.parametrize("gamma", [0.5, 0.9, 1.0])
def test_fast_table_matches_reference_for_every_budget(references, name, gamma):
    pmf = laws()[name]
    ref = references[(name, gamma)]
    for budget in range(REF_BUDGET + 1):
        table = surrogate_table(pmf, budget, gamma)
        assert table.shape == (budget + 1, budget + 1)
        np.testing.assert_allclose(table, ref[: budget + 1, : budget + 1], rtol=0, atol=1e-9)


def test_block_size_does_not_matter():
    pmf = laws()["negative-binomial"]
    base = surrogate_table(pmf, 40, 0.9)
    for block in (1, 3, 7, 64):
        np.testing.assert_allclose(surrogate_table(pmf, 40, 0.9, block=block), base, atol=1e-12)


def test_structure_of_the_table():
    pmf = laws()["zero-inflated"]
    table = surrogate_table(pmf, 60, 0.8)
    assert np.all(table[0] == 0) and np.all(table[:, 0] == 0)
    assert np.all(np.diff(table, axis=0) >= -1e-12)  # more budget never hurts
    assert np.all(np.diff(table, axis=1) >= -1e-12)  # a larger frontier never hurts
    for r in range(61):
        np.testing.assert_allclose(table[r, r:], table[r, r])  # U(r, n) = U(r, r), n >= r
    assert np.all(table <= np.arange(61)[:, None] + 1e-12)  # at most one recruit per coupon


def test_laws_reuse_and_single_round_limit():
    pmf = laws()["poisson"]
    built = transition_laws(pmf, 30)
    np.testing.assert_allclose(
        surrogate_table(pmf, 30, 0.7, laws=built), surrogate_table(pmf, 30, 0.7), atol=0
    )
    with pytest.raises(ValueError, match="budget"):
        surrogate_table(pmf, 20, 0.7, laws=built)
    # With a tiny gamma the table is the best single-round even split.
    surv = 1 - np.cumsum(pmf)
    table = surrogate_table(pmf, 12, 1e-9)
    n, r = 5, 12
    a, c = divmod(r, n)
    assert table[r, n] == pytest.approx(n * surv[:a].sum() + c * surv[a], abs=1e-6)


@pytest.mark.parametrize("gamma", [0.0, -0.1, 1.5, float("nan")])
def test_bad_gamma(gamma):
    with pytest.raises(ValueError, match="gamma"):
        surrogate_table([0.5, 0.5], 3, gamma)


def test_bad_budget():
    with pytest.raises(ValueError, match="budget"):
        surrogate_table([0.5, 0.5], -1, 0.5)
    assert surrogate_table([0.5, 0.5], 0, 0.5).shape == (1, 1)
