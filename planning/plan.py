"""The ``Plan`` object and :func:`make_plan`, the entry point of ``rdsplan plan``.

A plan holds, for the current frontier: the coupons per person, the round
spend, the expected recruits (posterior mean and 90% interval over samples),
for multi-round methods the value estimate, the misspecification bound with
its parts, the diagnostics summary of the posterior it came from, the method,
its settings and the seed. It exports to a pandas table, CSV (written
atomically) and JSON, and prints a summary.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planning.bounds import (
    BoundPart,
    BoundReport,
    Estimate,
    frontier_tv_from_samples,
    heterogeneity_tv,
    multi_round_bound,
    single_round_report,
    transition_tv_from_samples,
)
from planning.curves import as_survival_samples, person_ids, pmf_from_survival
from planning.greedy import _check_budget, _check_caps, allocation_values, greedy_order
from planning.pgf import check_pmf, extend_pmf
from planning.risk import parse_risk

__all__ = ["METHODS", "Plan", "make_plan"]

METHODS = ("greedy", "robust", "dp")


def _jsonable(value: Any) -> Any:
    """Plain-Python copy of ``value`` for JSON (no NaN/inf: they become None)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


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
    bound
        Misspecification bound report.
    diagnostics
        Diagnostics summary of the posterior (passed in by the caller).
    method, settings, seed
        How the plan was made.
    details
        Method-specific extras (price of robustness, solver status, spend scores).
    """

    ids: list[str]
    allocation: np.ndarray
    spend: int
    budget: int
    expected_recruits: float
    interval: tuple[float, float]
    person_recruits: np.ndarray
    bound: BoundReport | None
    method: str
    settings: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    value_estimate: float | None = None
    diagnostics: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

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

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_frame` to ``path`` atomically (temporary file, then rename)."""
        target = Path(path)
        directory = target.parent if str(target.parent) else Path(".")
        handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(handle, "w", newline="") as stream:
                self.to_frame().to_csv(stream, index=False)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return target

    def to_dict(self) -> dict[str, Any]:
        """Everything in the plan as JSON-ready Python objects."""
        return _jsonable(
            {
                "method": self.method,
                "budget": self.budget,
                "spend": self.spend,
                "expected_recruits": {
                    "mean": self.expected_recruits,
                    "interval_90": list(self.interval),
                },
                "value_estimate": self.value_estimate,
                "allocation": [
                    {"id": i, "coupons": int(k), "expected_recruits": float(v)}
                    for i, k, v in zip(self.ids, self.allocation, self.person_recruits, strict=True)
                ],
                "bound": None if self.bound is None else self.bound.to_dict(),
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
            bound=None if data.get("bound") is None else BoundReport.from_dict(data["bound"]),
            method=data["method"],
            settings=dict(data.get("settings") or {}),
            seed=data.get("seed"),
            value_estimate=data.get("value_estimate"),
            diagnostics=data.get("diagnostics"),
            details=dict(data.get("details") or {}),
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    # ----------------------------------------------------------------- display
    def summary_text(self, max_rows: int = 40) -> str:
        """Allocation table, expected recruits, bound with parts, diagnostics verdict."""
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
        lines.append("")
        lines.append(self.bound.text() if self.bound is not None else "Bound: not computed")
        lines.append("")
        lines.append(_diagnostics_text(self.diagnostics))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary_text()


def _diagnostics_text(diagnostics: dict[str, Any] | None) -> str:
    """Verdict first, then one line per message, per-section verdict and figure."""
    if not diagnostics:
        return "Posterior diagnostics: not supplied"
    verdict = diagnostics.get("verdict", diagnostics.get("status"))
    lines = [f"Posterior diagnostics: {verdict}" if verdict is not None else "Posterior diagnostics:"]
    for key, value in diagnostics.items():
        if key in {"verdict", "status"}:
            continue
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
    survival: Any,
    budget: int,
    *,
    method: str = "greedy",
    risk: Any = "mean",
    gamma: float = 0.9,
    population_pmf: Any = None,
    caps: Any = None,
    diagnostics: dict[str, Any] | None = None,
    seed: int = 0,
    ids: Any = None,
    quantile: float = 0.9,
    ppc: Estimate | None = None,
    dp_samples: int = 32,
    dp_tables: str = "auto",
    time_limit: float | None = 60.0,
) -> Plan:
    """Plan the next round for a frontier from posterior survival curves.

    Parameters
    ----------
    survival
        ``(sample, person, L)`` curves (DataArray named ``survival`` with dims
        ``("sample", "person", "ell")`` or numpy); ``(person, L)`` is one sample.
        Person ids are taken from the ``person`` coordinate unless ``ids`` is given.
    budget
        ``greedy``/``robust``: coupons for this round. ``dp``: total coupons
        left; the round spend is chosen by the online policy.
    method
        ``"greedy"`` (exact, posterior-mean curves), ``"robust"`` (cvxpy MIP
        over samples with ``risk``) or ``"dp"`` (population surrogate DP with
        the online spend decision; needs ``population_pmf``).
    risk
        ``"mean"``, ``"cvar:<alpha>"``, ``"worst"`` or a risk measure. For
        ``robust`` it is the objective; for ``dp`` it aggregates spend scores.
    gamma
        Discount in ``(0, 1]`` (``dp`` and the multi-round bound).
    population_pmf
        ``(sample, J)`` pooled capacity law of future recruits per posterior
        sample (``dp`` only).
    caps
        Optional per-person coupon caps.
    diagnostics
        Diagnostics summary of the posterior, stored and printed as given
        (a ``"verdict"`` key is shown first).
    seed
        Seed of the generator that picks the ``dp_samples`` posterior samples
        given their own surrogate tables (``dp``); recorded in the plan.
    ids
        Person ids (default: the ``person`` coordinate, else ``0..n-1``).
    quantile
        Posterior quantile used for the bound estimates.
    ppc
        Optional posterior predictive TV estimate (:func:`planning.bounds.ppc_tv`),
        reported beside the bound.
    dp_samples
        Posterior samples scored by the online decision (``dp``).
    dp_tables
        ``"per_sample"``: each scored sample gets a surrogate table of its own
        pooled law; ``"pooled"``: one table of the posterior-mean pooled law;
        ``"auto"``: per sample up to a budget of 200, pooled above (a table
        at ``b = 500`` takes seconds).
    time_limit
        Solver time limit in seconds (``robust``).

    Returns
    -------
    Plan
    """
    from planning.dp import surrogate_table
    from planning.online import online_decision
    from planning.robust import robust_allocation

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    budget = _check_budget(budget)
    gamma = float(gamma)
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"gamma must be in (0, 1]; got {gamma}")
    measure = parse_risk(risk)
    samples = as_survival_samples(survival)
    n_samples, n_people, length = samples.shape
    if n_people == 0:
        raise ValueError("the frontier is empty: no one to give coupons to")
    names = person_ids(survival, ids, n_people)
    caps_arr = _check_caps(caps, n_people, length)
    mean_curves = samples.mean(axis=0)
    settings: dict[str, Any] = {"risk": str(measure)}
    details: dict[str, Any] = {}
    value_estimate = None

    if method == "greedy":
        if str(measure) != "mean":
            raise ValueError(
                f"risk {str(measure)!r} needs method 'robust' or 'dp'; the greedy maximises "
                "the posterior mean"
            )
        person, _, _ = greedy_order(mean_curves, budget, caps_arr)
        allocation = np.bincount(person, minlength=n_people).astype(np.int64)
        settings = {}
    elif method == "robust":
        result = robust_allocation(
            samples, budget, measure, caps=caps_arr, time_limit=time_limit
        )
        allocation = result.allocation
        details.update(
            price_of_robustness=result.price_of_robustness,
            objective=result.objective,
            mean_optimal_value=result.mean_value,
            solver_status=result.status,
            solver_gap=result.gap,
        )
    else:
        if population_pmf is None:
            raise ValueError("method 'dp' needs population_pmf, the (sample, J) pooled capacity law")
        pooled = np.asarray(population_pmf, dtype=np.float64)
        if pooled.ndim == 1:
            pooled = pooled[None]
        if pooled.ndim != 2:
            raise ValueError(f"population_pmf must be (sample, J); got shape {pooled.shape}")
        for row in range(pooled.shape[0]):
            check_pmf(pooled[row], f"population_pmf[{row}]")
        rng = np.random.default_rng(seed)
        count = max(n_samples, pooled.shape[0])
        if pooled.shape[0] not in (1, count) or n_samples not in (1, count):
            raise ValueError(
                f"survival has {n_samples} samples and population_pmf {pooled.shape[0]}; "
                "they must match (or one of them be a single sample)"
            )
        chosen = np.sort(rng.choice(count, size=min(dp_samples, count), replace=False))
        pick_curves = samples[chosen] if n_samples > 1 else samples
        pick_laws = pooled[chosen] if pooled.shape[0] > 1 else pooled
        if dp_tables not in {"auto", "per_sample", "pooled"}:
            raise ValueError(f"dp_tables must be 'auto', 'per_sample' or 'pooled'; got {dp_tables!r}")
        per_sample_tables = dp_tables == "per_sample" or (dp_tables == "auto" and budget <= 200)
        if per_sample_tables:
            tables = np.stack([surrogate_table(law, budget, gamma) for law in pick_laws])
        else:
            tables = surrogate_table(pooled.mean(axis=0), budget, gamma)
        decision = online_decision(pick_curves, budget, tables, gamma, measure, caps=caps_arr)
        # The allocation of the chosen spend is the greedy on all samples' mean curves
        # (the decision scored the greedy on the scored samples' mean curves).
        person, _, _ = greedy_order(mean_curves, decision.spend, caps_arr)
        allocation = np.bincount(person, minlength=n_people).astype(np.int64)
        value_estimate = decision.value
        settings.update(
            gamma=gamma,
            dp_samples=len(chosen),
            dp_tables="per_sample" if per_sample_tables else "pooled",
        )
        details.update(
            spend_scores=decision.scores,
            remaining_after=budget - int(allocation.sum()),
        )

    per_sample = allocation_values(samples, allocation)  # (sample, person)
    totals = per_sample.sum(axis=1)
    lo, hi = np.quantile(totals, [0.05, 0.95])
    spend = int(allocation.sum())

    if method == "dp":
        plug_laws = pmf_from_survival(mean_curves)  # laws of min(C_i, L)
        pooled_hat = extend_pmf(pooled.mean(axis=0), length)  # pooled law of min(C, L)
        checks = []
        if ppc is not None:
            checks.append(
                _ppc_part(ppc, "frontier TV (PPC)", n_people, "n * TV_ppc")
            )
        bound = multi_round_bound(
            frontier_tv_from_samples(samples, mean_curves, quantile),
            transition_tv_from_samples(pooled, None, quantile),
            heterogeneity_tv(plug_laws, pooled_hat),
            gamma,
            budget,
            checks=checks,
        )
        bound.settings["quantile"] = quantile
    else:
        bound = single_round_report(samples, spend, mean_curves, quantile, ppc=ppc)

    settings["quantile"] = quantile
    return Plan(
        ids=names,
        allocation=allocation,
        spend=spend,
        budget=budget,
        expected_recruits=float(totals.mean()),
        interval=(float(lo), float(hi)),
        person_recruits=per_sample.mean(axis=0),
        bound=bound,
        method=method,
        settings=settings,
        seed=seed,
        value_estimate=value_estimate,
        diagnostics=diagnostics,
        details=details,
    )


def _ppc_part(ppc: Estimate, name: str, n_people: int, formula: str) -> BoundPart:
    return BoundPart(name, float(n_people * ppc.value), formula, ppc.method)
