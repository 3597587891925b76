"""Coupon-allocation planning over posterior draws (never imports PyMC)."""

from planning.bounds import (
    BoundPart,
    BoundReport,
    Estimate,
    frontier_tv_from_samples,
    heterogeneity_tv,
    multi_round_bound,
    ppc_tv,
    single_round_bound,
    single_round_report,
    transition_tv_from_samples,
)
from planning.dp import TransitionLaws, surrogate_table, transition_laws
from planning.greedy import allocation_values, greedy_allocation, greedy_order
from planning.online import Decision, online_decision
from planning.plan import Plan, make_plan
from planning.risk import CVaR, Mean, RiskMeasure, Worst, cvar, mean, parse_risk, worst
from planning.robust import RobustResult, SolverUnavailableError, robust_allocation

__all__ = [
    "BoundPart",
    "BoundReport",
    "CVaR",
    "Decision",
    "Estimate",
    "Mean",
    "Plan",
    "RiskMeasure",
    "RobustResult",
    "SolverUnavailableError",
    "TransitionLaws",
    "Worst",
    "allocation_values",
    "cvar",
    "frontier_tv_from_samples",
    "greedy_allocation",
    "greedy_order",
    "heterogeneity_tv",
    "make_plan",
    "mean",
    "multi_round_bound",
    "online_decision",
    "parse_risk",
    "ppc_tv",
    "robust_allocation",
    "single_round_bound",
    "single_round_report",
    "surrogate_table",
    "transition_laws",
    "transition_tv_from_samples",
    "worst",
]
