r"""The error statement printed beside every plan: regret, bounds, and whether they inform.

A plan's numbers are only as good as the model behind them. The statement
says, in this order (DESIGN.md, "Error statements beside every plan"):

1. **Posterior regret** (:mod:`planning.regret`): what the plan gives up, per
   posterior sample, against the best plan for that sample -- the cost of
   parameter uncertainty *within* the model. Mean, 90% quantile, both as
   recruits and as a share of the plan's value, and the probability that the
   plan is optimal.
2. **Misspecification bound** (:mod:`planning.bounds`): how much model error
   of the estimated size could cost, tightened (laws that matter, shared
   coupons cancelled, margins used) with the paper's form beside it, its
   parts and how each distance was estimated.
3. **Whether the bound informs**: a bound above the plan's value guarantees
   nothing; the statement says so in words, names the dominant part and what
   would shrink it.

With recruit weights (priority subgroups) both the regret and the bounds are
those of the weighted objective: the regret compares weighted recruits per
sample, the bounds run on value curves (:mod:`planning.bounds`, "Weighted
recruits").

:func:`error_statement` takes plain arrays (so the planners' tests can use
it); :func:`error_statement_for` takes a :class:`planning.inputs.PlanningInputs`
and a :class:`planning.planners.Decision`, which is what ``make_plan`` calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from planning.bounds import BoundReport, Estimate, multi_round_report, single_round_report
from planning.curves import as_survival_samples
from planning.greedy import _check_budget, _check_caps
from planning.regret import Regret, single_round_regret, spend_regret

__all__ = ["ErrorStatement", "error_statement", "error_statement_for"]


@dataclass(frozen=True)
class ErrorStatement:
    """Posterior regret, misspecification bound and the verdict, for one plan.

    Attributes
    ----------
    regret
        :class:`planning.regret.Regret`.
    bound
        :class:`planning.bounds.BoundReport` (single- or multi-round) with
        ``informative``, ``paper_total`` and ``verdict``.
    horizon
        ``"single"`` or ``"multi"``.
    plan_value
        The plan's value both are compared with (recruits this round, or
        discounted recruits this round and later).
    """

    regret: Regret
    bound: BoundReport
    horizon: str
    plan_value: float

    @property
    def informative(self) -> bool | None:
        """Whether the misspecification bound is at most the plan's value."""
        return self.bound.informative

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``regret`` ``{mean, q90, share_mean, share_q90, p_optimal}``,
        ``bound`` ``{total, parts, informative, paper_total, ...}``, and context."""
        return {
            "horizon": self.horizon,
            "plan_value": float(self.plan_value),
            "regret": self.regret.to_dict(),
            "regret_method": {
                "kind": self.regret.kind,
                "samples": self.regret.samples,
                "how": self.regret.method,
            },
            "bound": self.bound.to_dict(),
            "informative": self.informative,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErrorStatement:
        """Inverse of :meth:`to_dict`."""
        how = data.get("regret_method", {})
        regret = Regret.from_dict(
            data["regret"],
            plan_value=float(data["plan_value"]),
            samples=int(how.get("samples", 0)),
            kind=how.get("kind", "single-round"),
        )
        return cls(
            regret=regret,
            bound=BoundReport.from_dict(data["bound"]),
            horizon=data["horizon"],
            plan_value=float(data["plan_value"]),
        )

    def text(self) -> str:
        """The statement as printed under a plan: regret, then the bound, then the verdict."""
        lines = ["Error statement", "1. " + self.regret.text(), "2. " + self.bound.text()]
        if self.informative is True:
            lines.append("3. The bound informs: it is below the plan's value.")
        elif self.informative is False and self._same_form_informs():
            lines.append(
                "3. The full bound does not inform at this budget, but against plans of the "
                "planner's own form it does (see the same-form check); the rest is what a planner "
                "knowing each future recruit's own capacity law could gain."
            )
        elif self.informative is False:
            lines.append(
                "3. The bound does not inform at this budget; read the posterior regret (1.) as "
                "the error statement and the bound as saying only that misspecification of the "
                "estimated size cannot be ruled out as costly."
            )
        else:
            lines.append("3. Whether the bound informs is unknown (no plan value).")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def _same_form_informs(self) -> bool:
        return any(
            c.name == "same-form bound" and c.value is not None and c.value <= self.plan_value
            for c in self.bound.checks
        )


def error_statement(
    survival: Any,
    allocation: Any,
    *,
    budget: int,
    caps: Any = None,
    horizon: str = "single",
    plan_value: float | None = None,
    spend_sample_scores: Any = None,
    spend: int | None = None,
    pooled_pmf: Any = None,
    gamma: float | None = None,
    ppc: Estimate | None = None,
    quantile: float = 0.9,
    weights: Any = None,
    table: Any = "auto",
    check: bool = True,
    multi_bound: bool = True,
    pooled_weight: Any = None,
) -> ErrorStatement:
    """Build the error statement of a plan from plain arrays.

    Parameters
    ----------
    survival
        ``(sample, person, L)`` posterior survival curves of the frontier.
    allocation
        ``(person,)`` the plan's coupons this round.
    budget
        Single round: the round budget (the bound compares plans with the
        plan's spend). Multi-round: the coupons left before this round, ``r``.
    caps
        Per-person caps the planner respected.
    horizon
        ``"single"`` (greedy, robust) or ``"multi"`` (DP spend decision).
    plan_value
        The plan's value for shares and the verdict. Default: single round,
        the posterior-mean expected recruits of ``allocation``; multi-round,
        the mean over scored samples of the score at the chosen spend.
    spend_sample_scores
        Multi-round: ``(sample, max_spend + 1)`` scores ``Q_d(s)`` of the
        scored samples (``Decision.details["spend_sample_scores"]``).
    spend
        Multi-round: the spend played (default ``allocation.sum()``).
    pooled_pmf
        Multi-round: ``(sample, J)`` pooled capacity laws.
    gamma
        Multi-round: the discount.
    ppc
        Posterior predictive TV estimate (``PlanningInputs.ppc``), used in checks.
    quantile
        Posterior quantile for the bound estimates.
    weights
        Recruit weights, ``(person,)`` or ``(sample, person)`` (``PlanningInputs.weights``).
    table
        Multi-round: plug-in surrogate table, ``"auto"`` or ``None``
        (:func:`planning.bounds.multi_round_report`).
    check
        Validate the curves (``False`` when they come from ``PlanningInputs``).
    multi_bound
        Multi-round: ``False`` for planners whose later rounds are not the
        population surrogate DP (e.g. GFP), for which the multi-round bound
        is not derived; the statement then bounds this round's recruits
        (single-round form, valid for any allocation) and says so.
    pooled_weight
        Multi-round: ``(sample,)`` weights of future pooled recruits' recruits.

    Returns
    -------
    ErrorStatement
    """
    if check:
        samples = as_survival_samples(survival)
    else:
        samples = np.asarray(survival, dtype=np.float64)
        samples = samples[None] if samples.ndim == 2 else samples
    n = samples.shape[1]
    caps_arr = _check_caps(caps, n, samples.shape[2])
    k = np.asarray(allocation, dtype=np.int64)
    budget = _check_budget(budget)
    if horizon == "single":
        regret = single_round_regret(samples, k, caps_arr, weights, plan_value, check=False)
        value = regret.plan_value
        bound = single_round_report(
            samples,
            int(k.sum()),
            quantile=quantile,
            weights=weights,
            ppc=ppc,
            allocation=k,
            caps=caps_arr,
            plan_value=value,
        )
    elif horizon == "multi":
        if spend_sample_scores is None or gamma is None or (multi_bound and pooled_pmf is None):
            raise ValueError(
                "a multi-round error statement needs spend_sample_scores, gamma and (for the "
                "multi-round bound) pooled_pmf"
            )
        played = int(k.sum()) if spend is None else int(spend)
        regret = spend_regret(
            spend_sample_scores, played, plan_value, kind="spend" if multi_bound else "backed-up"
        )
        value = regret.plan_value
        if multi_bound:
            bound = multi_round_report(
                samples,
                k,
                pooled_pmf,
                gamma,
                budget,
                caps=caps_arr,
                quantile=quantile,
                plan_value=value,
                table=table,
                ppc=ppc,
                weights=weights,
                pooled_weight=pooled_weight,
            )
        else:
            bound = single_round_report(
                samples,
                played,
                quantile=quantile,
                ppc=ppc,
                allocation=k,
                caps=caps_arr,
                weights=weights,
            )
            bound.verdict += (
                " No multi-round bound is derived for this planner (its later rounds are not "
                "the population surrogate DP); this bound covers this round's recruits only, "
                f"worth {bound.plan_value:.2f} of the plan's {value:.2f}."
            )
    else:
        raise ValueError(f"horizon must be 'single' or 'multi'; got {horizon!r}")
    return ErrorStatement(regret=regret, bound=bound, horizon=horizon, plan_value=float(value))


def error_statement_for(
    inputs: Any, decision: Any, budget: int, *, quantile: float = 0.9, table: Any = "auto"
) -> ErrorStatement:
    """The error statement of a planner's decision (what ``make_plan`` calls).

    Parameters
    ----------
    inputs
        :class:`planning.inputs.PlanningInputs` the planner was given.
    decision
        :class:`planning.planners.Decision` it returned. A multi-round decision
        must carry ``details["spend_sample_scores"]`` and ``details["gamma"]``.
    budget
        The budget given to ``decide`` (coupons left, for the DP planner).
    quantile, table
        As in :func:`error_statement`.
    """
    allocation = np.asarray(decision.allocation, dtype=np.int64)
    if decision.horizon == "multi":
        details = decision.details
        scores = details.get("spend_sample_scores")
        if scores is None:  # no posterior samples scored: the plug-in scores only
            scores = np.atleast_2d(details["spend_scores"])
        scores = np.asarray(scores, dtype=np.float64)
        population_dp = "tables" in details  # the DP planner's surrogate tables
        return error_statement(
            inputs.survival,
            allocation,
            budget=budget,
            caps=inputs.caps,
            horizon="multi",
            spend_sample_scores=scores,
            spend=decision.spend,
            plan_value=float(scores[:, decision.spend].mean()),
            pooled_pmf=inputs.pooled_pmf if not population_dp else inputs.require_pooled(),
            gamma=float(details["gamma"]),
            ppc=inputs.ppc,
            quantile=quantile,
            table=table,
            check=False,
            multi_bound=population_dp,
            weights=inputs.weights,
            pooled_weight=inputs.pooled_weight,
        )
    return error_statement(
        inputs.survival,
        allocation,
        budget=budget,
        caps=inputs.caps,
        horizon="single",
        ppc=inputs.ppc,
        quantile=quantile,
        check=False,
        weights=inputs.weights,
    )
