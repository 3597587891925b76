"""Coupon-allocation planning over posterior draws (never imports PyMC or ``rdsmodel``).

The planners read :class:`PlanningInputs` and satisfy the :class:`Planner`
protocol (:mod:`planning.planners`); :func:`make_plan` turns a decision into a
:class:`Plan` with its error statement. The application layer
(:mod:`planning.app`) and the simulator (:mod:`planning.simulation`) are
sub-packages that build on them.
"""

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
from planning.error_statement import ErrorStatement, error_statement_for
from planning.errors import PlanningError
from planning.greedy import allocation_values, greedy_allocation, greedy_order
from planning.inputs import PlanningInputs, choose_truncation
from planning.online import SpendDecision, allocation_scores, online_decision
from planning.plan import Plan, make_plan
from planning.planners import (
    PLANNERS,
    Decision,
    DPPlanner,
    GreedyPlanner,
    Planner,
    RobustPlanner,
    make_planner,
)
from planning.regret import Regret, single_round_regret
from planning.risk import CVaR, Mean, RiskMeasure, Worst, cvar, mean, parse_risk, worst
from planning.robust import RobustResult, SolverUnavailableError, robust_allocation

__all__ = [
    "PLANNERS",
    "BoundPart",
    "BoundReport",
    "CVaR",
    "DPPlanner",
    "Decision",
    "ErrorStatement",
    "Estimate",
    "GreedyPlanner",
    "Mean",
    "Plan",
    "Planner",
    "PlanningError",
    "PlanningInputs",
    "Regret",
    "RiskMeasure",
    "RobustPlanner",
    "RobustResult",
    "SolverUnavailableError",
    "SpendDecision",
    "TransitionLaws",
    "Worst",
    "allocation_scores",
    "allocation_values",
    "choose_truncation",
    "cvar",
    "error_statement_for",
    "frontier_tv_from_samples",
    "greedy_allocation",
    "greedy_order",
    "heterogeneity_tv",
    "make_plan",
    "make_planner",
    "mean",
    "multi_round_bound",
    "online_decision",
    "parse_risk",
    "ppc_tv",
    "robust_allocation",
    "single_round_bound",
    "single_round_regret",
    "single_round_report",
    "surrogate_table",
    "transition_laws",
    "transition_tv_from_samples",
    "worst",
]
