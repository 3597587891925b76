"""The ``Plan`` object and :func:`make_plan`, the entry point of ``rdsplan plan``.

A plan holds, for the current frontier: the coupons per person, the round
spend, the expected recruits (posterior mean and 90% interval over samples),
for multi-round methods the value estimate, the error statement (posterior
regret, then the misspecification bound with its parts and whether it
informs), the capacity check (where the fitted capacity law departs from the
observed redeemed coupons; carried by the diagnostics summary), the
diagnostics summary of the posterior it came from, the method, its settings
and the seed. It exports to a pandas table, CSV and JSON, and
prints a summary in that order.

With priority subgroups (``PlanningInputs.weights`` and ``subgroups``) it also
holds the expected *weighted* recruits (the planners' objective) and the
expected recruits from each subgroup, each a posterior mean with its 90%
interval, beside the total.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from planning.bounds import BoundReport
from planning.error_statement import ErrorStatement, error_statement_for
from planning.errors import PlanningError
from planning.greedy import allocation_values
from planning.inputs import PlanningInputs
from planning.planners import Planner
from planning.regret import Regret
from planning.serial import jsonable

__all__ = ["Plan", "make_plan"]


@dataclass
class Plan:
    """A coupon plan for the current frontier.

    Attributes
    ----------
    ids
        Frontier member identifiers.
    allocation
        ``(person,)`` coupons per person.
    spend
        Coupons handed out this round (``allocation.sum()``).
    budget
        Budget the plan was asked for (remaining budget for ``dp``).
    expected_recruits
        Posterior mean of this round's expected recruits.
    interval
        90% posterior interval ``(5%, 95%)`` of this round's expected recruits.
    person_recruits
        ``(person,)`` posterior-mean expected recruits per person.
    value_estimate
        Multi-round methods: the score of the chosen spend (discounted
        recruits, this round and later); ``None`` otherwise.
    statement
        The error statement: posterior regret, misspecification bound with its
        parts and whether it informs (:class:`planning.error_statement.ErrorStatement`).
    diagnostics
        Diagnostics summary of the posterior (passed in by the caller).
    method, settings, seed
        How the plan was made.
    details
        Method-specific extras (price of robustness, solver status, spend scores).
    subgroups
        ``{label: {"mean": m, "interval_90": [lo, hi]}}``: expected recruits this
        round from each subgroup (empty without subgroups).
    weighted_recruits
        ``{"mean": m, "interval_90": [lo, hi]}`` of the weighted recruits this
        round (the planners' objective) when recruits carry weights, else ``None``.
    priority
        The priorities the weights came from, as text (``None`` without).
    """

    ids: list[str]
    allocation: np.ndarray
    spend: int
    budget: int
    expected_recruits: float
    interval: tuple[float, float]
    person_recruits: np.ndarray
    statement: ErrorStatement | None
    method: str
    settings: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    value_estimate: float | None = None
    diagnostics: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    subgroups: dict[str, dict[str, Any]] = field(default_factory=dict)
    weighted_recruits: dict[str, Any] | None = None
    priority: str | None = None

    @property
    def bound(self) -> BoundReport | None:
        """The misspecification bound of the error statement."""
        return None if self.statement is None else self.statement.bound

    @property
    def regret(self) -> Regret | None:
        """The posterior regret of the error statement."""
        return None if self.statement is None else self.statement.regret

    @property
    def capacity_check(self) -> dict[str, Any] | None:
        """Where the fitted capacity law departs from the data (the diagnostics' headline).

        The ``capacity_check`` entry of :attr:`diagnostics` (computed at fit
        time, :meth:`rdsmodel.diagnostics.capacity_check.CapacityCheck.summary`):
        ``verdict``, ``checked``, ``flagged``, ``misfits`` and ``text``; ``None``
        when the diagnostics do not carry it.
        """
        entry = (self.diagnostics or {}).get("capacity_check")
        return entry if isinstance(entry, dict) else None

    def summary(self):
        """The plan's :class:`planning.summary.PlanSummary` (table, paragraph, trust verdict)."""
        from planning.summary import summarise_plan

        return summarise_plan(self)

    # ------------------------------------------------------------------ export
    def to_frame(self) -> pd.DataFrame:
        """One row per frontier member: ``id``, ``coupons``, ``expected_recruits``."""
        return pd.DataFrame(
            {
                "id": pd.array(self.ids, dtype="string"),
                "coupons": np.asarray(self.allocation, dtype=np.int64),
                "expected_recruits": np.asarray(self.person_recruits, dtype=np.float64),
            }
        )

    def to_csv(self, path_or_buffer: Any) -> None:
        """Write :meth:`to_frame` as CSV to a path or buffer (no index).

        The write is plain; the application layer makes file writes atomic
        (``rdsmodel.persistence.atomic_path``, the one atomic write).
        """
        self.to_frame().to_csv(path_or_buffer, index=False)

    def to_dict(self) -> dict[str, Any]:
        """Everything in the plan as JSON-ready Python objects."""
        return jsonable(
            {
                "method": self.method,
                "budget": self.budget,
                "spend": self.spend,
                "expected_recruits": {
                    "mean": self.expected_recruits,
                    "interval_90": list(self.interval),
                },
                "value_estimate": self.value_estimate,
                "priority": self.priority,
                "weighted_recruits": self.weighted_recruits,
                "subgroups": self.subgroups,
                "allocation": [
                    {"id": i, "coupons": int(k), "expected_recruits": float(v)}
                    for i, k, v in zip(self.ids, self.allocation, self.person_recruits, strict=True)
                ],
                "regret": None if self.statement is None else self.statement.regret.to_dict(),
                "bound": None if self.bound is None else self.bound.to_dict(),
                "error_statement": None if self.statement is None else self.statement.to_dict(),
                "summary": self.summary().to_dict(),
                "capacity_check": self.capacity_check,
                "diagnostics": self.diagnostics,
                "settings": self.settings,
                "seed": self.seed,
                "details": self.details,
            }
        )

    def to_json(self, indent: int | None = 2) -> str:
        """The plan as a JSON string (:meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """Inverse of :meth:`to_dict`."""
        rows = data["allocation"]
        return cls(
            ids=[str(r["id"]) for r in rows],
            allocation=np.array([r["coupons"] for r in rows], dtype=np.int64),
            spend=int(data["spend"]),
            budget=int(data["budget"]),
            expected_recruits=float(data["expected_recruits"]["mean"]),
            interval=tuple(float(v) for v in data["expected_recruits"]["interval_90"]),
            person_recruits=np.array([r["expected_recruits"] for r in rows], dtype=np.float64),
            statement=None
            if data.get("error_statement") is None
            else ErrorStatement.from_dict(data["error_statement"]),
            method=data["method"],
            settings=dict(data.get("settings") or {}),
            seed=data.get("seed"),
            value_estimate=data.get("value_estimate"),
            diagnostics=data.get("diagnostics"),
            details=dict(data.get("details") or {}),
            subgroups=dict(data.get("subgroups") or {}),
            weighted_recruits=data.get("weighted_recruits"),
            priority=data.get("priority"),
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    # ----------------------------------------------------------------- display
    def summary_text(self, max_rows: int = 40) -> str:
        """Allocation table, expected recruits, error statement, capacity check, diagnostics."""
        settings = ", ".join(f"{k}={v}" for k, v in self.settings.items())
        lines = [
            f"Coupon plan ({self.method}{'; ' + settings if settings else ''})",
            f"Budget {self.budget}; coupons handed out this round: {self.spend} "
            f"to {int(np.count_nonzero(self.allocation))} of {len(self.ids)} frontier members",
            "",
        ]
        frame = self.to_frame()
        shown = frame[frame["coupons"] > 0] if len(frame) > max_rows else frame
        table = shown.head(max_rows)
        lines.append(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        if len(shown) > max_rows or len(shown) < len(frame):
            hidden = len(frame) - len(table)
            lines.append(f"... {hidden} more rows (members with no coupons or beyond {max_rows})")
        lo, hi = self.interval
        lines += [
            "",
            f"Expected recruits this round: {self.expected_recruits:.2f} "
            f"(90% interval {lo:.2f} to {hi:.2f})",
        ]
        lines += _priority_lines(self)
        if self.value_estimate is not None:
            lines.append(
                f"Value estimate (discounted recruits, this and later rounds): "
                f"{self.value_estimate:.2f}"
            )
        if "price_of_robustness" in self.details:
            lines.append(
                f"Price of robustness: {self.details['price_of_robustness']:.3f} expected "
                "recruits given up against the mean-optimal plan"
            )
        lines += ["", "In short: " + self.summary().text]
        lines.append("")
        lines.append(
            self.statement.text() if self.statement is not None else "Error statement: not computed"
        )
        if self.diagnostics:
            lines.append("")
            lines.append(_capacity_text(self.capacity_check))
        lines.append("")
        lines.append(_diagnostics_text(self.diagnostics))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary_text()


def _interval(values: np.ndarray) -> dict[str, Any]:
    """``{"mean", "interval_90"}`` of per-sample values."""
    lo, hi = np.quantile(values, [0.05, 0.95])
    return {"mean": float(values.mean()), "interval_90": [float(lo), float(hi)]}


def _priority_lines(plan: Plan) -> list[str]:
    """Weighted recruits and recruits by subgroup, under the total."""
    lines = []
    if plan.weighted_recruits is not None:
        lo, hi = plan.weighted_recruits["interval_90"]
        what = f" ({plan.priority})" if plan.priority else ""
        lines.append(
            f"Weighted recruits this round{what}: {plan.weighted_recruits['mean']:.2f} "
            f"(90% interval {lo:.2f} to {hi:.2f}); the planner's objective, and the unit of "
            "the posterior regret and bounds below"
        )
    if plan.subgroups:
        width = max(len(label) for label in plan.subgroups)
        lines.append("Expected recruits by subgroup (90% interval):")
        for label, entry in plan.subgroups.items():
            lo, hi = entry["interval_90"]
            lines.append(f"  {label:<{width}}  {entry['mean']:7.2f}  ({lo:.2f} to {hi:.2f})")
    return lines


def _capacity_text(check: dict[str, Any] | None) -> str:
    """The capacity check's words, or why there are none."""
    if check is None:
        return (
            "Capacity check: not available (the posterior was saved without it; refit to see "
            "where the fitted capacity law departs from the observed redeemed coupons)"
        )
    return str(check.get("text") or f"Capacity check: {check.get('verdict')}")


def _diagnostics_text(diagnostics: dict[str, Any] | None) -> str:
    """Verdict first, then one line per message, per-section verdict and figure.

    The capacity check, printed above it, is not repeated.
    """
    if not diagnostics:
        return "Posterior diagnostics: not supplied"
    verdict = diagnostics.get("verdict", diagnostics.get("status"))
    lines = [
        f"Posterior diagnostics: {verdict}" if verdict is not None else "Posterior diagnostics:"
    ]
    for key, value in diagnostics.items():
        if key in {"verdict", "status", "capacity_check"}:
            continue
        if key == "messages" and isinstance(value, list):
            value = [m for m in value if not str(m).startswith("capacity_check: ")]
        if isinstance(value, (list, tuple)):
            lines.append(f"  {key}:" if value else f"  {key}: none")
            lines.extend(f"    - {item}" for item in value)
        elif isinstance(value, dict):
            lines.append(f"  {key}: " + ", ".join(f"{k} {v}" for k, v in value.items()))
        elif isinstance(value, float):
            lines.append(f"  {key}: {value:.4g}")
        else:
            lines.append(f"  {key}: {value}")
    return "\n".join(lines)


def make_plan(
    inputs: PlanningInputs,
    planner: Planner,
    budget: int,
    *,
    seed: int = 0,
    diagnostics: dict[str, Any] | None = None,
    quantile: float = 0.9,
) -> Plan:
    """Plan the next round for ``inputs``' frontier with ``planner``.

    Parameters
    ----------
    inputs
        Validated planner inputs (:class:`planning.PlanningInputs`).
    planner
        Any :class:`planning.Planner` (see :func:`planning.make_planner`).
    budget
        Single-round planners: coupons for this round. Multi-round planners:
        coupons left; the round spend is part of the decision.
    seed
        Seed of the decision's generator; recorded in the plan.
    diagnostics
        Diagnostics summary of the posterior, stored and printed as given
        (a ``"verdict"`` key is shown first).
    quantile
        Posterior quantile used for the bound estimates.

    Returns
    -------
    Plan
        The allocation, its expected recruits per posterior sample (mean and
        90% interval), the value the planner claims for that very allocation
        and the error statement beside it.

    Examples
    --------
    >>> import numpy as np
    >>> from planning import PlanningInputs, make_planner, make_plan
    >>> inputs = PlanningInputs.from_arrays(np.array([[0.9, 0.5, 0.1], [0.8, 0.7, 0.6]]))
    >>> make_plan(inputs, make_planner("greedy"), 3).allocation.tolist()
    [1, 2]
    """
    if isinstance(budget, bool) or int(budget) != budget or budget < 0:
        raise PlanningError(f"the budget must be a whole number >= 0, got {budget!r}")
    budget = int(budget)
    decision = planner.decide(inputs, budget, np.random.default_rng(seed))
    allocation = np.asarray(decision.allocation, dtype=np.int64)
    samples = inputs.survival
    per_sample = allocation_values(samples, allocation)  # (sample, person)
    totals = per_sample.sum(axis=1)
    lo, hi = np.quantile(totals, [0.05, 0.95])
    spend = int(allocation.sum())
    multi = decision.horizon == "multi"
    settings: dict[str, Any] = {
        key: _setting(value) for key, value in vars(planner).items() if not key.startswith("_")
    }
    settings["quantile"] = quantile
    statement = error_statement_for(inputs, decision, budget, quantile=quantile)
    subgroups = {
        label: _interval(values) for label, values in inputs.subgroup_recruits(allocation).items()
    }
    weighted = _interval(inputs.objective(allocation)) if inputs.weighted else None
    priority = inputs.provenance.get("priority")
    details = dict(decision.details)
    details.pop("spend_sample_scores", None)
    if multi:
        details["remaining_after"] = budget - spend
    return Plan(
        ids=list(inputs.ids),
        allocation=allocation,
        spend=spend,
        budget=budget,
        expected_recruits=float(totals.mean()),
        interval=(float(lo), float(hi)),
        person_recruits=per_sample.mean(axis=0),
        statement=statement,
        method=planner.name,
        settings=settings,
        seed=seed,
        value_estimate=float(decision.value) if multi else None,
        diagnostics=diagnostics,
        details=details,
        subgroups=subgroups,
        weighted_recruits=weighted,
        priority=None if priority is None else str(priority),
    )


def _setting(value: Any) -> Any:
    """A planner setting as shown and stored with a plan: plain values as they are, fitted
    objects (a surrogate, a Q model) by their type and identity."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, tuple | list):  # e.g. coverage requests: "SEX=F:10,DRUG=yes:4"
        return ",".join(str(item) for item in value) or None
    identity = getattr(value, "identity", "")
    return f"{type(value).__name__}({identity})" if identity else type(value).__name__
