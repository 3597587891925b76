"""``PlanSummary``: the numbers of a plan, as a table and a paragraph built from them.

One summary feeds the terminal, the JSON and the HTML report (STYLE.md,
pattern 13: CausalPy's ``EffectSummary``), so they can never disagree. It is
computed from a :class:`planning.Plan` alone.

The trust verdict reads the three things a field team needs before handing out
coupons, in this order:

1. the posterior's diagnostics (a failed fit is never trusted);
2. the posterior regret (how much the plan may give up because the parameters
   are uncertain): its 90% quantile as a share of the plan's value;
3. whether the misspecification bound informs (is below the plan's value).

==========  ===============================================================
verdict     when
==========  ===============================================================
trust       diagnostics ok, regret q90 <= 10% of the value, bound informs
caution     diagnostics warn, or regret q90 in (10%, 25%], or the bound does
            not inform (the model class itself is not vouched for)
do not use  diagnostics fail, or regret q90 > 25% of the value
==========  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["PlanSummary", "summarise_plan"]

#: Regret (90% quantile, share of the plan's value) above which a plan needs care / is not used.
REGRET_CAUTION = 0.10
REGRET_REFUSE = 0.25


@dataclass(frozen=True)
class PlanSummary:
    """The key numbers of a plan and a paragraph that reads them.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per quantity: ``quantity``, ``value``, ``low``, ``high``, ``note``.
    text : str
        A plain-language paragraph built from the same numbers.
    verdict : {"trust", "caution", "do not use"}
        Whether to trust the plan (see the module docstring).
    reasons : tuple of str
        Why, one short sentence each.
    """

    table: pd.DataFrame
    text: str
    verdict: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the table as records, the paragraph, the verdict and reasons."""
        records = self.table.astype(object).where(self.table.notna(), None).to_dict("records")
        return {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "text": self.text,
            "table": records,
        }


def _verdict(plan: Any) -> tuple[str, list[str]]:
    reasons: list[str] = []
    level = 0  # 0 trust, 1 caution, 2 do not use
    diagnostics = (plan.diagnostics or {}).get("verdict")
    if diagnostics == "fail":
        level = 2
        reasons.append("the posterior failed its diagnostics: refit before using this plan")
    elif diagnostics == "warn":
        level = max(level, 1)
        reasons.append("the posterior's diagnostics warn (see them beside the plan)")
    elif diagnostics is None:
        level = max(level, 1)
        reasons.append("no diagnostics of the posterior were supplied")
    regret = plan.regret
    if regret is not None and regret.share_q90 is not None:
        share = float(regret.share_q90)
        if share > REGRET_REFUSE:
            level = 2
            reasons.append(
                f"parameter uncertainty may cost {share:.0%} of the plan's value (90% quantile)"
            )
        elif share > REGRET_CAUTION:
            level = max(level, 1)
            reasons.append(
                f"parameter uncertainty may cost {share:.0%} of the plan's value (90% quantile)"
            )
        else:
            reasons.append(
                f"parameter uncertainty costs at most {share:.0%} of the value (90% quantile)"
            )
    bound = plan.bound
    if bound is not None and bound.informative is False:
        level = max(level, 1)
        reasons.append("the misspecification bound does not inform at this budget")
    elif bound is not None and bound.informative:
        reasons.append("the misspecification bound is below the plan's value")
    return ("trust", "caution", "do not use")[level], reasons


def summarise_plan(plan: Any) -> PlanSummary:
    """Build the :class:`PlanSummary` of ``plan``.

    Parameters
    ----------
    plan : planning.Plan

    Returns
    -------
    PlanSummary
    """
    lo, hi = plan.interval
    rows = [
        ("coupons this round", plan.spend, None, None, f"of a budget of {plan.budget}"),
        (
            "people given coupons",
            int((plan.allocation > 0).sum()),
            None,
            None,
            f"of {len(plan.ids)} frontier members",
        ),
        (
            "expected recruits this round",
            plan.expected_recruits,
            lo,
            hi,
            "posterior mean, 90% interval",
        ),
    ]
    weighted = getattr(plan, "weighted_recruits", None)
    if weighted is not None:
        rows.append(
            (
                "weighted recruits this round",
                weighted["mean"],
                *weighted["interval_90"],
                "the objective with priority weights"
                + (f" ({plan.priority})" if plan.priority else ""),
            )
        )
    for label, entry in (getattr(plan, "subgroups", None) or {}).items():
        rows.append(
            (
                f"expected recruits from {label}",
                entry["mean"],
                *entry["interval_90"],
                "posterior mean, 90% interval",
            )
        )
    if plan.value_estimate is not None:
        rows.append(
            (
                "value (discounted recruits, all rounds)",
                plan.value_estimate,
                None,
                None,
                "the planner's score of this allocation",
            )
        )
    if "price_of_robustness" in plan.details:
        rows.append(
            (
                "price of robustness",
                plan.details["price_of_robustness"],
                None,
                None,
                "expected recruits given up against the mean-optimal plan",
            )
        )
    regret = plan.regret
    if regret is not None:
        rows += [
            (
                "posterior regret (mean)",
                regret.mean,
                None,
                None,
                "recruits given up to parameter uncertainty",
            ),
            (
                "posterior regret (90% quantile)",
                regret.q90,
                None,
                None,
                "share of value: "
                + ("n/a" if regret.share_q90 is None else f"{regret.share_q90:.1%}"),
            ),
            (
                "P(plan optimal for a sample)",
                regret.p_optimal,
                None,
                None,
                "over posterior samples",
            ),
        ]
    bound = plan.bound
    if bound is not None:
        informs = {True: "informs", False: "does not inform", None: "unknown"}[bound.informative]
        rows.append(("misspecification bound", bound.total, None, None, f"{informs}; {bound.kind}"))
        rows.append(
            (
                "paper's bound",
                bound.paper_total,
                None,
                None,
                "not finite" if bound.paper_total is None else "Pan et al., Section 7",
            )
        )
    table = pd.DataFrame(rows, columns=["quantity", "value", "low", "high", "note"])
    verdict, reasons = _verdict(plan)
    sentences = [
        f"Hand out {plan.spend} coupons to {int((plan.allocation > 0).sum())} of the "
        f"{len(plan.ids)} people on the frontier; expect {plan.expected_recruits:.1f} recruits this "
        f"round (90% interval {lo:.1f} to {hi:.1f})."
    ]
    if getattr(plan, "subgroups", None):
        parts = [f"{entry['mean']:.1f} from {label}" for label, entry in plan.subgroups.items()]
        sentences.append("Of them, expect " + ", ".join(parts) + ".")
    if plan.value_estimate is not None:
        sentences.append(
            f"Counting later rounds, the plan is worth {plan.value_estimate:.1f} discounted recruits."
        )
    if regret is not None:
        sentences.append(
            f"Because the parameters are uncertain it may give up {regret.mean:.2f} recruits on "
            f"average ({regret.q90:.2f} at the 90% quantile) against the best plan for the truth."
        )
    if bound is not None and bound.total is not None:
        sentences.append(
            f"If the model class itself is wrong, the loss is at most {bound.total:.1f}, which "
            + (
                "is below the plan's value."
                if bound.informative
                else "does not inform at this budget."
            )
        )
    sentences.append(f"Verdict: {verdict} ({'; '.join(reasons)}).")
    return PlanSummary(
        table=table, text=" ".join(sentences), verdict=verdict, reasons=tuple(reasons)
    )
