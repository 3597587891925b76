"""Robust allocation: brute force per risk measure, price of robustness, solver errors."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from planning_helpers import allocations, nb_curves, random_curves, value

from planning import SolverUnavailableError, cvar, greedy_allocation, robust_allocation
from planning.risk import parse_risk


def brute_force(samples, budget, risk, caps=None, weights=None):
    n, length = samples.shape[1:]
    caps = np.full(n, length) if caps is None else np.minimum(caps, length)
    measure = parse_risk(risk)
    return max(
        float(measure.evaluate(value(samples, k, weights))) for k in allocations(n, budget, caps)
    )


@pytest.mark.parametrize("risk", ["mean", "cvar:0.2", "cvar:0.5", "worst"])
def test_matches_brute_force(risk):
    rng = np.random.default_rng(10)
    for trial in range(8):
        samples = random_curves(rng, (6, 3, 3), ties=trial % 2 == 0)
        budget = int(rng.integers(0, 7))
        caps = rng.integers(0, 4, 3) if trial % 3 == 0 else None
        weights = rng.random(3) * 2 if trial % 4 == 1 else None
        res = robust_allocation(samples, budget, risk, caps=caps, weights=weights, mip_rel_gap=0.0)
        best = brute_force(samples, budget, risk, caps, weights)
        assert res.objective == pytest.approx(best, abs=1e-7)
        assert res.objective == pytest.approx(
            float(parse_risk(risk).evaluate(value(samples, res.allocation, weights))), abs=1e-12
        )
        assert res.status == "optimal"
        assert res.price_of_robustness >= 0.0


def test_mean_risk_is_exact_greedy_without_solver(monkeypatch):
    rng = np.random.default_rng(11)
    samples = random_curves(rng, (4, 5, 3))
    monkeypatch.setattr(cp, "installed_solvers", lambda: [])
    res = robust_allocation(samples, 6, "mean")
    np.testing.assert_array_equal(res.allocation, greedy_allocation(samples, 6))
    assert res.price_of_robustness == 0.0
    assert res.mean_value == pytest.approx(res.objective)


def test_price_of_robustness_and_worst_case_protection():
    # Person 0 is great in sample 0 only; person 1 is steady.
    samples = np.array([[[0.9, 0.2], [0.5, 0.5]], [[0.1, 0.0], [0.5, 0.5]]])
    res = robust_allocation(samples, 2, "worst")
    assert res.allocation.tolist() == [0, 2]
    assert res.objective == pytest.approx(1.0)
    assert res.mean_allocation.tolist() == [1, 1]
    assert res.mean_value == pytest.approx(1.0)
    assert res.price_of_robustness == pytest.approx(0.0)
    res = robust_allocation(samples[:, :, :1], 1, cvar(0.5))
    assert res.allocation.tolist() == [0, 1]


def test_medium_instance_is_consistent():
    rng = np.random.default_rng(12)
    samples = nb_curves(rng, 40, 30, 8)
    res = robust_allocation(samples, 45, "cvar:0.1")
    assert res.allocation.sum() == 45
    greedy_values = value(samples, res.mean_allocation)
    # the robust plan is at least as good as the mean-optimal plan in CVaR
    assert res.objective >= float(cvar(0.1).evaluate(greedy_values)) - 1e-9
    assert res.mean_value >= float(res.sample_values.mean()) - 1e-12
    assert res.price_of_robustness == pytest.approx(res.mean_value - res.sample_values.mean())


def test_unspent_zero_value_budget_is_handed_out():
    samples = np.zeros((3, 2, 3))
    samples[:, 0, 0] = [0.2, 0.5, 0.9]
    res = robust_allocation(samples, 4, "worst")
    assert res.allocation.sum() == 4 and res.allocation[0] >= 1


def test_missing_solver_gives_clear_message(monkeypatch):
    rng = np.random.default_rng(13)
    samples = random_curves(rng, (4, 3, 2))
    monkeypatch.setattr(cp, "installed_solvers", lambda: ["SCS"])
    with pytest.raises(SolverUnavailableError, match="pip install highspy"):
        robust_allocation(samples, 2, "worst")
    monkeypatch.undo()
    with pytest.raises(SolverUnavailableError, match="not installed"):
        robust_allocation(samples, 2, "worst", solver="NOT_A_SOLVER")


def test_solver_failure_gives_clear_message(monkeypatch):
    rng = np.random.default_rng(14)
    samples = random_curves(rng, (4, 3, 2))

    def broken(self, *args, **kwargs):
        raise cp.error.SolverError("boom")

    monkeypatch.setattr(cp.Problem, "solve", broken)
    with pytest.raises(SolverUnavailableError, match="failed"):
        robust_allocation(samples, 2, "cvar:0.5")


def _is_full_mip(problem) -> bool:
    """The last-resort MIP: boolean z, only the budget and monotonicity constraints."""
    boolean = [v for v in problem.variables() if v.size > 1]
    return all(v.attributes["boolean"] for v in boolean) and len(problem.constraints) <= 2


@pytest.mark.parametrize("reported", ["nothing", "worse point", "worse point only"])
def test_time_limit_keeps_the_best_plan_found(monkeypatch, reported):
    """The full MIP stops at its time limit, reporting no point or a feasible worse one.

    ``"worse point only"``: the small MIP over the LP's fractional variables
    finds nothing either, so the worse point is the only plan found. The plan
    returned must still be worth what it claims, no more than the brute-force
    optimum, at least the point the solver reported (the best plan found is
    kept and topping up never lowers a sample's value), and a plan short of
    the optimum must say so through a positive gap.
    """
    import planning.robust as robust

    original = robust._solve
    seen_points: list[float] = []
    short = 0

    def limited(problem, solver, time_limit, gap):
        boolean = any(v.attributes["boolean"] for v in problem.variables() if v.size > 1)
        if not _is_full_mip(problem):
            if boolean and reported == "worse point only":
                return "user_limit"  # the fixed MIP finds nothing in time
            return original(problem, solver, time_limit, gap)
        if reported == "nothing":
            return "user_limit"  # no incumbent reported
        original(problem, solver, time_limit, gap)
        z = next(v for v in problem.variables() if v.size > 1)
        point = np.round(np.asarray(z.value, dtype=float))
        ones = np.flatnonzero(point > 0.5)
        if ones.size:
            point[ones[-1]] = 0.0  # drop the last person's top coupon: feasible, worse or equal
        z.value = point
        seen_points.append(float(problem.objective.value))
        return "user_limit"

    monkeypatch.setattr(robust, "_solve", limited)
    rng = np.random.default_rng(10)
    seen = 0
    for _ in range(40):
        samples = random_curves(rng, (6, 3, 3))
        budget = int(rng.integers(2, 7))
        seen_points.clear()
        res = robust_allocation(samples, budget, "worst", mip_rel_gap=0.0)
        if res.info["method"] != "full-mip":
            continue
        seen += 1
        assert res.status == "time_limit"
        assert res.allocation.sum() == min(budget, 9)
        claimed = float(parse_risk("worst").evaluate(value(samples, res.allocation)))
        assert res.objective == pytest.approx(claimed, abs=1e-12)
        np.testing.assert_allclose(res.sample_values, value(samples, res.allocation), atol=1e-12)
        best = brute_force(samples, budget, "worst")
        assert res.objective <= best + 1e-9
        for point in seen_points:
            assert res.objective >= point - 1e-9
        assert res.gap >= 0
        if res.objective < best - 1e-9:
            short += 1
            assert res.gap > 0
    assert seen
    if reported == "worse point only":
        assert short  # the checks above did meet plans short of the optimum
