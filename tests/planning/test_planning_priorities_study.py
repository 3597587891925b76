"""What prioritising a subgroup gains and costs, measured against the truth.

The world (a branching world of :mod:`planning.simulation`):

* ``SEX``: women (``F``) are 15% of the population and a recruit inherits
  the recruiter's level with probability ``rho = 0.7`` (else a population
  draw), so a woman brings a woman with probability ``0.7 + 0.3 * 0.15 = 0.745``
  and a man with probability ``0.3 * 0.15 = 0.045``;
* ``DRUG``: ``yes``/``no``, half each, ``rho = 0.4``;
* capacity negative binomial, dispersion 1.5, mean ``2 exp(-0.2 [F] + 0.3 [yes])``:
  women are a little harder to reach and recruit a little less.

The plan: one round of 40 coupons, at most 5 per person, with the priority
``SEX=F:3`` (a woman recruited counts three times) against the unweighted plan,
both by the exact greedy. Scored under the true laws: expected recruits in
total and expected women recruited, ``sum_i P(X' = F | x_i) E[min(C_i, k_i)]``.

*Planning with the true laws* (fast; a frontier of 120 drawn from the
population, 12 of them women): the priority raises the women recruited from
1.42 to 11.01 (+9.59) and costs 4.86 of 31.46 recruits in total (15%). The
unweighted plan gives its 40 coupons to men who use drugs (the largest
capacity); the weighted one gives the women up to 5 each and the rest to men.

*Planning with fitted models* (slow, PyMC): a study of 600 respondents from
the world (13.8% women; its frontier: 155 people, 12 women), both models fitted (2 chains
of 400 draws), the frontier planned from the posterior (200 samples) with and
without the priority, both plans scored under the truth. Observed: the
priority raises the women recruited from 1.42 to 10.88 (+9.46) at a cost of
5.04 of 31.46 recruits, the same allocation as the true-law plans on the same
frontier (+9.46 at 5.04). An earlier fit of the same study gave another point
of an almost flat trade-off (+10.56 at 7.26, true weighted value 48.16 against
the optimum's 48.18), which is why the requirements leave room. Required:
a gain of at least 75% of the true-law plans' gain, a cost at most 1.5 times theirs plus one recruit,
a true weighted value within 5% of the optimum, and the unweighted fitted
plan within 5% of the true-law optimum in total recruits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning import PlanningInputs, make_planner
from planning.curves import survival_from_pmf
from planning.greedy import allocation_values
from planning.priorities import Pattern, Priority, subgroup_probabilities
from planning.simulation.branching import BranchingWorld
from planning.simulation.scenarios import subgroup_world

BUDGET, CAP = 40, 5
PRIORITY = Priority.parse("SEX=F:3")
WOMEN = Pattern.parse("SEX=F")


def world() -> BranchingWorld:
    return subgroup_world()  # as the module docstring describes


def truth(w: BranchingWorld, frontier: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """True survival curves ``(person, CAP)`` and ``P(X' = F | x_i)``."""
    pmf = w.capacity.pmf(frontier, CAP)
    curves = survival_from_pmf(pmf, CAP)
    women = subgroup_probabilities([WOMEN], w.offspring, frontier)[0, :, 0]
    return curves, women


def score(curves: np.ndarray, women: np.ndarray, allocation: np.ndarray) -> tuple[float, float]:
    """(expected recruits, expected women recruited) of an allocation under the truth."""
    per_person = allocation_values(curves, allocation)
    return float(per_person.sum()), float((per_person * women).sum())


def true_law_plans(w: BranchingWorld, frontier: pd.DataFrame) -> dict[str, tuple[float, float]]:
    curves, women = truth(w, frontier)
    weights = PRIORITY.expected_weights(w.offspring, frontier)
    planner = make_planner("greedy")
    out = {}
    for name, inputs in (
        ("plain", PlanningInputs.from_arrays(curves, caps=CAP)),
        ("priority", PlanningInputs.from_arrays(curves, caps=CAP, weights=weights)),
    ):
        out[name] = score(curves, women, planner.decide(inputs, BUDGET, None).allocation)
    return out


def test_priority_gain_and_cost_planning_with_the_true_laws():
    rng = np.random.default_rng(2026)
    frontier = pd.DataFrame(
        {
            "SEX": np.where(rng.random(120) < 0.15, "F", "M"),
            "DRUG": np.where(rng.random(120) < 0.5, "yes", "no"),
        }
    )
    assert (frontier["SEX"] == "F").sum() == 12
    result = true_law_plans(world(), frontier)
    (total0, women0), (total1, women1) = result["plain"], result["priority"]
    assert women0 == pytest.approx(1.42, abs=0.01) and women1 == pytest.approx(11.01, abs=0.01)
    assert total0 == pytest.approx(31.46, abs=0.01) and total1 == pytest.approx(26.60, abs=0.01)
    # the weighted objective (a woman counts 3: two more than anyone) is what the priority maximises
    assert total1 + 2 * women1 > total0 + 2 * women0


@pytest.mark.slow
def test_priority_gain_and_cost_planning_with_fitted_models():
    from planning.app.posterior import planning_inputs
    from planning.app.workflows import FitSettings, fit_study
    from rdsmodel.data import RecruitmentData

    w = world()
    study = w.simulate(10, max_respondents=600, rng=11)
    data = RecruitmentData.from_frame(study.table, categorical=["SEX", "DRUG"])
    fit = fit_study(data, FitSettings(draws=400, tune=400, chains=2, seed=3, progress_bars=False))
    inputs = planning_inputs(
        data,
        fit.count,
        fit.covariate,
        budget=BUDGET,
        max_per_person=CAP,
        samples=200,
        priority=PRIORITY,
        pooled=False,
    )
    plain = PlanningInputs.from_arrays(inputs.survival, ids=inputs.ids, caps=inputs.caps)
    planner = make_planner("greedy")
    frontier = data.frontier.reset_index(drop=True)
    curves, women = truth(w, frontier)
    total0, women0 = score(curves, women, planner.decide(plain, BUDGET, None).allocation)
    total1, women1 = score(curves, women, planner.decide(inputs, BUDGET, None).allocation)
    best = true_law_plans(w, frontier)
    gain, cost = women1 - women0, total0 - total1
    true_gain = best["priority"][1] - best["plain"][1]
    true_cost = best["plain"][0] - best["priority"][0]
    print(
        f"fitted: women {women0:.2f} -> {women1:.2f} (+{gain:.2f}), total {total0:.2f} -> {total1:.2f} "
        f"(-{cost:.2f}); true laws: +{true_gain:.2f} women, -{true_cost:.2f} total"
    )
    assert true_gain > 0
    assert gain >= 0.75 * true_gain
    assert cost <= 1.5 * true_cost + 1.0
    optimum = best["priority"][0] + 2 * best["priority"][1]
    assert total1 + 2 * women1 >= 0.95 * optimum
    assert total0 >= 0.95 * best["plain"][0]
