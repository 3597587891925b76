"""Exact greedy: brute force, ties, caps, weights, budgets and input checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planning_helpers import allocations, heap_greedy, random_curves, value

from planning import greedy_allocation, greedy_order


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 4),
    length=st.integers(1, 4),
    budget=st.integers(0, 9),
    ties=st.booleans(),
    use_caps=st.booleans(),
    use_weights=st.booleans(),
)
def test_greedy_matches_brute_force(seed, n, length, budget, ties, use_caps, use_weights):
    rng = np.random.default_rng(seed)
    curves = random_curves(rng, (n, length), ties=ties)
    caps = rng.integers(0, length + 2, n) if use_caps else None
    weights = np.round(rng.random(n) * 3, 1) if use_weights else None
    k = greedy_allocation(curves, budget, caps=caps, weights=weights)
    eff_caps = np.minimum(caps if caps is not None else length, length) * np.ones(n, int)
    best = max(value(curves, a, weights) for a in allocations(n, budget, eff_caps))
    assert value(curves, k, weights) == pytest.approx(best, abs=1e-12)
    assert k.sum() == min(budget, eff_caps.sum())
    assert np.all(k <= eff_caps) and np.all(k >= 0)
    # identical to the textbook heap with the documented tie-breaking
    np.testing.assert_array_equal(k, heap_greedy(curves, budget, caps, weights))


def test_tie_breaking_is_documented_order():
    curves = np.full((3, 2), 0.5)
    assert greedy_allocation(curves, 1).tolist() == [1, 0, 0]
    assert greedy_allocation(curves, 2).tolist() == [2, 0, 0]  # (person 0, level 2) before person 1
    assert greedy_allocation(curves, 4).tolist() == [2, 2, 0]


def test_zero_budget_and_budget_beyond_capacity():
    curves = np.array([[0.9, 0.1], [0.5, 0.0]])
    assert greedy_allocation(curves, 0).tolist() == [0, 0]
    assert greedy_allocation(curves, 100).tolist() == [2, 2]  # all available, rest unspent
    assert greedy_allocation(curves, 100, caps=[1, 0]).tolist() == [1, 0]


def test_zero_weight_person_gets_coupons_last():
    curves = np.array([[0.9, 0.8], [0.2, 0.1]])
    assert greedy_allocation(curves, 2, weights=[0.0, 1.0]).tolist() == [0, 2]
    assert greedy_allocation(curves, 3, weights=[0.0, 1.0]).tolist() == [1, 2]


def test_samples_use_posterior_mean_curves():
    rng = np.random.default_rng(1)
    samples = random_curves(rng, (5, 6, 4))
    np.testing.assert_array_equal(
        greedy_allocation(samples, 7), greedy_allocation(samples.mean(axis=0), 7)
    )


def test_dataarray_input():
    xr = pytest.importorskip("xarray")
    rng = np.random.default_rng(2)
    values = random_curves(rng, (3, 5, 4))
    da = xr.DataArray(values, dims=("sample", "person", "ell"))
    np.testing.assert_array_equal(
        greedy_allocation(da.transpose("person", "ell", "sample"), 6),
        greedy_allocation(values, 6),
    )


def test_order_is_nested_in_budget():
    rng = np.random.default_rng(3)
    curves = random_curves(rng, (30, 8), ties=True)
    person, _, gains = greedy_order(curves, 60, np.full(30, 8))
    assert np.all(np.diff(gains) <= 0)
    for s in (0, 1, 7, 33, 60):
        np.testing.assert_array_equal(
            np.bincount(person[:s], minlength=30), greedy_allocation(curves, s)
        )


def test_large_instance_matches_heap():
    rng = np.random.default_rng(4)
    curves = random_curves(rng, (3000, 50), ties=True)
    caps = rng.integers(0, 60, 3000)
    weights = rng.integers(0, 3, 3000).astype(float)
    k = greedy_allocation(curves, 2500, caps=caps, weights=weights)
    np.testing.assert_array_equal(k, heap_greedy(curves, 2500, caps, weights))


def test_round_off_rises_are_tolerated():
    curves = np.array([[0.5, 0.5 + 1e-12, 0.2]])
    assert greedy_allocation(curves, 2).tolist() == [2]


@pytest.mark.parametrize(
    ("curves", "budget", "kwargs", "message"),
    [
        (np.array([[0.5, 0.2]]), -1, {}, "non-negative"),
        (np.array([[0.5, 0.2]]), 1.5, {}, "integer"),
        (np.array([0.5, 0.2]), 1, {}, "shape"),
        (np.array([[0.2, 0.5]]), 1, {}, "non-increasing"),
        (np.array([[1.5, 0.5]]), 1, {}, r"\[0, 1\]"),
        (np.array([[np.nan, 0.5]]), 1, {}, "NaN"),
        (np.array([[0.5, 0.2]]), 1, {"caps": [-1]}, "caps"),
        (np.array([[0.5, 0.2]]), 1, {"caps": [1, 2]}, "caps"),
        (np.array([[0.5, 0.2]]), 1, {"weights": [-1.0]}, "weights"),
    ],
)
def test_bad_input_is_refused(curves, budget, kwargs, message):
    with pytest.raises(ValueError, match=message):
        greedy_allocation(curves, budget, **kwargs)


def test_error_names_the_rising_curve():
    curves = np.array([[0.9, 0.5], [0.3, 0.6]])
    with pytest.raises(ValueError, match=r"curve \[1\] rises by 0\.3 from l=1 to l=2"):
        greedy_allocation(curves, 1)
