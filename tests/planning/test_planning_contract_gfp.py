"""The planner contract over GFP and every evaluation baseline, in the settings they are used with.

``tests/planning/test_planning_contract.py`` runs every registered planner
with default settings on inputs without covariates; here each planner also
runs with its evaluation settings (fitted surrogates and models, fractions,
per-round caps, robust spends, known capacities) on inputs that carry an
offspring law and the frontier's covariates. Checked: integer allocation,
caps, budget and per-round cap respected, same seed same decision, and the
claimed value equals ``evaluate`` of the returned allocation.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_planning_gfp import TinyOffspring, TypePoisson, curves_from_pmf

from planning import PlanningInputs, make_planner
from planning.baselines import fit_fitted_q
from planning.gfp_fit import fit_surrogate


@cache
def fitted_surrogate():
    offspring = TinyOffspring.homophily(0.5, [0.4, 0.4, 0.2])
    initial = pd.DataFrame({"type": [0, 1, 2, 1]})
    return fit_surrogate(
        initial,
        12,
        TypePoisson([2.0, 1.0, 0.3]),
        offspring,
        gamma=0.9,
        length=4,
        n_types=8,
        episodes=24,
        iterations=3,
        seed=0,
    )


@cache
def fitted_q():
    initial = pd.DataFrame({"type": [0, 0, 0, 0]})  # one type: Poisson(1.5) capacities
    return fit_fitted_q(
        initial,
        12,
        TypePoisson([1.5]),
        TinyOffspring(np.ones((1, 1))),
        gamma=0.9,
        length=4,
        episodes=40,
        iterations=5,
        seed=0,
    )


def contract_inputs(
    seed: int, n_samples: int = 5, n_people: int = 6, length: int = 4
) -> PlanningInputs:
    """Type-dependent Poisson curves per sample, random caps, a pooled law, covariates and their law."""
    rng = np.random.default_rng(seed)
    frontier = pd.DataFrame({"type": rng.integers(0, 3, n_people)})
    rates = np.array([2.0, 1.0, 0.3])[None, :] * rng.lognormal(0.0, 0.3, (n_samples, 1))
    curves = np.stack([curves_from_pmf(TypePoisson(r).pmf(frontier, length)) for r in rates])
    caps = rng.integers(0, length + 1, size=n_people)
    pooled = np.stack([stats.poisson.pmf(np.arange(15), 1.0 + 0.2 * d) for d in range(n_samples)])
    capacities = tuple(int(c) for c in rng.poisson(1.5, n_people))
    return PlanningInputs.from_arrays(
        curves,
        caps=caps,
        pooled_pmf=pooled,
        offspring=TinyOffspring.homophily(0.5, [0.4, 0.4, 0.2]),
        frontier=frontier,
        provenance={"capacities": capacities},
    )


CASES = {
    "gfp-fallback": ("gfp", lambda: {}),
    "gfp-fitted": ("gfp", lambda: {"surrogate": fitted_surrogate()}),
    "gfp-fitted-cap": ("gfp", lambda: {"surrogate": fitted_surrogate(), "max_per_round": 3}),
    "gfp-robust": (
        "gfp",
        lambda: {"surrogate": fitted_surrogate(), "samples": 4, "risk": "cvar:0.5"},
    ),
    "gfp-worst": ("gfp", lambda: {"samples": 3, "risk": "worst", "gamma": 1.0}),
    "random": ("random", lambda: {}),
    "random-capped": ("random", lambda: {"max_coupons": 2, "max_per_round": 4}),
    **{f"constant-{k}": ("constant", lambda k=k: {"k": k}) for k in (2, 3, 5, 10)},
    **{
        f"greedy_fixed-{f}": ("greedy_fixed", lambda f=f: {"fraction": f, "total_budget": 12})
        for f in (0.1, 0.2, 0.3, 0.5, 1.0)
    },
    "greedy_remaining-0.3": ("greedy_remaining", lambda: {"fraction": 0.3}),
    "greedy_remaining-capped": ("greedy_remaining", lambda: {"fraction": 1.0, "max_per_round": 2}),
    "thompson": ("thompson", lambda: {}),
    "thompson-capped": ("thompson", lambda: {"gamma": 0.7, "max_per_round": 3}),
    "fitted_q-myopic": ("fitted_q", lambda: {}),
    "fitted_q-fitted": ("fitted_q", lambda: {"model": fitted_q()}),
    "oracle-provenance": ("oracle", lambda: {}),
    "oracle-given": ("oracle", lambda: {"capacities": (3, 0, 1, 2, 4, 1), "max_per_round": 5}),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", range(5))
def test_planner_contract(case, seed):
    name, settings = CASES[case]
    planner = make_planner(name, **settings())
    inputs = contract_inputs(seed)
    budget = int(np.random.default_rng(seed + 100).integers(0, 14))
    first = planner.decide(inputs, budget, np.random.default_rng(seed))
    again = planner.decide(inputs, budget, np.random.default_rng(seed))

    allocation = first.allocation
    assert allocation.dtype == np.int64 and allocation.shape == (inputs.n_people,)
    assert np.all(allocation >= 0)
    assert np.all(allocation <= inputs.caps), "caps respected"
    assert allocation.sum() <= budget, "budget respected"
    cap = getattr(planner, "max_per_round", None)
    assert cap is None or allocation.sum() <= cap, "per-round cap respected"
    assert first.spend == allocation.sum()
    np.testing.assert_array_equal(again.allocation, allocation)
    assert again.value == first.value
    claimed = planner.evaluate(inputs, budget, allocation, np.random.default_rng(seed))
    assert first.value == pytest.approx(claimed, rel=1e-9, abs=1e-9)
    assert np.all(np.isfinite(first.sample_values))
