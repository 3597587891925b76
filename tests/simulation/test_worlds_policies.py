"""The coupon baselines: constant-k (standard RDS) and random, within a round budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning.simulation import ConstantCoupons, RandomAllocation, RandomCoupons
from planning.simulation.policies import as_policy

FRONTIER = pd.DataFrame({"id": [f"R{i}" for i in range(7)]})


def test_constant_k_in_frontier_order_until_the_budget_runs_out():
    rng = np.random.default_rng(0)
    assert ConstantCoupons(3)(FRONTIER, rng).tolist() == [3] * 7
    assert ConstantCoupons(3, budget=11)(FRONTIER, rng).tolist() == [3, 3, 3, 2, 0, 0, 0]
    assert ConstantCoupons(3, budget=100)(FRONTIER, rng).tolist() == [3] * 7
    assert ConstantCoupons(0, budget=5)(FRONTIER, rng).tolist() == [0] * 7
    assert as_policy(2)(FRONTIER, rng).tolist() == [2] * 7


@pytest.mark.parametrize("budget", [0, 5, 13, 21, 40])
def test_random_spends_the_budget_within_caps_uniformly(budget):
    policy = RandomAllocation(budget, cap=3)
    k = policy(FRONTIER, np.random.default_rng(1))
    assert k.dtype == np.int64 and k.sum() == min(budget, 21) and k.max(initial=0) <= 3
    np.testing.assert_array_equal(k, policy(FRONTIER, np.random.default_rng(1)))
    if 0 < budget < 21:
        reps = np.array([policy(FRONTIER, np.random.default_rng(s)) for s in range(2000)])
        np.testing.assert_allclose(reps.mean(axis=0), budget / 7, atol=0.15)


def test_random_counts_and_bad_settings():
    k = RandomCoupons((1, 4))(FRONTIER, np.random.default_rng(2))
    assert set(k.tolist()) <= {1, 4}
    with pytest.raises(ValueError, match="coupons must be a nonnegative integer"):
        ConstantCoupons(-1)
    with pytest.raises(ValueError, match="budget must be a nonnegative integer"):
        RandomAllocation(2.5)
