r"""The planner protocol, the planners behind it and their registry.

Every planner is a small frozen dataclass of its settings with one method,
``decide(inputs, budget, rng) -> Decision``: the allocation for this round,
and the value the planner claims for *exactly that allocation* under its own
objective. ``evaluate(inputs, budget, allocation, rng)`` recomputes that
objective for any allocation; the contract suite
(``tests/planning/test_planning_contract.py``) checks, over every planner,
that budget and caps are respected, the allocation is integer, the same seed
gives the same decision and the claimed value equals ``evaluate`` of the
returned allocation.

Planners are chosen by name through :data:`PLANNERS` (:func:`make_planner`),
never by a chain of ``if method == ...``.

Every planner's objective counts recruits with the weights the inputs carry
(``PlanningInputs.weights``, ``E[w(X') | x_i]`` of priority subgroups,
:mod:`planning.priorities`): the marginal value of coupon ``l`` to person
``i`` under sample ``d`` is ``S_di(l) w_di``. Without weights (or with every
weight 1) the decisions are exactly the unweighted ones.

=========  =====================================================================
name       objective
=========  =====================================================================
greedy     posterior-expected (weighted) recruits this round: the exact greedy on
           ``E_d[S_d w_d]`` (Pan et al. Thm 4.2)
robust     a risk measure (CVaR, worst case) of the per-sample weighted recruits
           (cvxpy MIP), optionally with coverage constraints per subgroup
dp         this round's weighted recruits plus ``gamma`` times the population
           surrogate value of the next frontier (scaled by the pooled weight),
           aggregated over posterior samples by a risk measure (online spend
           decision over the surrogate DP table)
=========  =====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from planning.errors import PlanningError
from planning.greedy import greedy_order
from planning.inputs import PlanningInputs
from planning.priorities import Coverage, subgroup_probabilities
from planning.risk import parse_risk

__all__ = [
    "PLANNERS",
    "DPPlanner",
    "Decision",
    "GreedyPlanner",
    "Planner",
    "RobustPlanner",
    "make_planner",
]

#: Largest surrogate table (floats) a DP decision may build: about 1 GB.
MAX_TABLE_FLOATS = 125_000_000


@dataclass(frozen=True)
class Decision:
    """What a planner decided for this round.

    Attributes
    ----------
    allocation : numpy.ndarray
        ``(person,)`` int64 coupons per frontier member.
    value : float
        The planner's objective at ``allocation`` (recruits this round for
        single-round planners; discounted recruits this round and later for
        multi-round planners).
    horizon : {"single", "multi"}
        Whether ``value`` covers this round only or later rounds too.
    sample_values : numpy.ndarray
        ``(sample,)`` the objective per posterior sample before the risk
        measure is applied (the samples the planner scored).
    details : dict
        Planner-specific extras (price of robustness, spend scores, solver status).
    """

    allocation: np.ndarray
    value: float
    horizon: str
    sample_values: np.ndarray
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def spend(self) -> int:
        """Coupons handed out this round."""
        return int(self.allocation.sum())


@runtime_checkable
class Planner(Protocol):
    """Anything that turns :class:`PlanningInputs` and a budget into a :class:`Decision`."""

    name: ClassVar[str]

    def decide(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator) -> Decision:
        """Allocate at most ``budget`` coupons to ``inputs``' frontier this round."""
        ...

    def evaluate(
        self, inputs: PlanningInputs, budget: int, allocation: np.ndarray, rng: np.random.Generator
    ) -> float:
        """The planner's objective at ``allocation`` (``rng`` as given to :meth:`decide`)."""
        ...


def _recruits(inputs: PlanningInputs, allocation: np.ndarray) -> np.ndarray:
    """``(sample,)`` (weighted) expected recruits of ``allocation`` under each posterior sample."""
    return inputs.objective(allocation)


def check_round_cap(max_per_round: Any) -> None:
    """Refuse a per-round spend cap that is not ``None`` or a whole number ``>= 0``."""
    cap = max_per_round
    if cap is not None and (isinstance(cap, bool) or int(cap) != cap or cap < 0):
        raise PlanningError(f"max_per_round must be a whole number >= 0, got {cap!r}")


def _budget(budget: Any) -> int:
    if isinstance(budget, bool) or int(budget) != budget or budget < 0:
        raise PlanningError(f"the budget must be a whole number >= 0, got {budget!r}")
    return int(budget)


@dataclass(frozen=True)
class GreedyPlanner:
    """Exact single-round greedy on the posterior-mean value curves ``E_d[S_d w_d]`` (no settings).

    The posterior expected weighted recruits ``E_d[sum_i w_di sum_{l<=k_i} S_di(l)]``
    are linear in the value curves ``S_d w_d``, whose posterior mean is
    non-increasing in ``l``: the greedy on it is exact (it is not the greedy
    on ``E[S] E[w]``, which ignores how capacity and weight vary together over
    the posterior).
    """

    name: ClassVar[str] = "greedy"

    def decide(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator) -> Decision:
        person, _, _ = greedy_order(inputs.mean_values, _budget(budget), inputs.caps)
        allocation = np.bincount(person, minlength=inputs.n_people).astype(np.int64)
        values = _recruits(inputs, allocation)
        return Decision(allocation, float(values.mean()), "single", values)

    def evaluate(self, inputs, budget, allocation, rng) -> float:
        return float(_recruits(inputs, allocation).mean())


@dataclass(frozen=True)
class RobustPlanner:
    """Risk-averse single round: maximise ``risk`` of the per-sample (weighted) recruits (cvxpy MIP).

    Parameters
    ----------
    risk : str
        ``"cvar:ALPHA"`` (mean of the worst ``ALPHA`` share of samples),
        ``"worst"`` or ``"mean"``.
    time_limit : float or None
        Solver seconds; the best plan found by then is returned and its
        status says so.
    coverage : str or tuple of Coverage
        "At least N recruits from subgroup G" constraints, e.g.
        ``"SEX=F:10,DRUG=yes:4"`` (:class:`planning.priorities.Coverage`),
        held under the same risk measure; the subgroup probabilities come from
        ``inputs.subgroups`` or the inputs' offspring law. A request no plan
        can meet is refused with what each subgroup can reach.
    """

    risk: str = "cvar:0.1"
    time_limit: float | None = 60.0
    coverage: Any = ()
    name: ClassVar[str] = "robust"

    def __post_init__(self) -> None:
        parse_risk(self.risk)
        object.__setattr__(self, "coverage", Coverage.parse(self.coverage) if self.coverage else ())

    def _constraints(self, inputs: PlanningInputs) -> list[Any]:
        from planning.robust import CoverageConstraint

        missing = [c.subgroup for c in self.coverage if c.label not in inputs.subgroups]
        computed = {}
        if missing:
            probs = subgroup_probabilities(
                missing, inputs.offspring, inputs.frontier, inputs.n_samples, origin="--coverage"
            )
            computed = {p.label: probs[..., j] for j, p in enumerate(missing)}
        return [
            CoverageConstraint(
                c.label, inputs.subgroups.get(c.label, computed.get(c.label)), c.minimum
            )
            for c in self.coverage
        ]

    def decide(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator) -> Decision:
        from planning.robust import robust_allocation

        result = robust_allocation(
            inputs.survival,
            _budget(budget),
            self.risk,
            caps=inputs.caps,
            weights=inputs.weights,
            time_limit=self.time_limit,
            coverage=self._constraints(inputs),
        )
        details = {
            "price_of_robustness": result.price_of_robustness,
            "mean_optimal_value": result.mean_value,
            "solver_status": result.status,
            "solver_gap": result.gap,
        }
        if result.coverage:
            details["coverage"] = result.coverage
        return Decision(
            result.allocation, result.objective, "single", result.sample_values, details
        )

    def evaluate(self, inputs, budget, allocation, rng) -> float:
        return float(parse_risk(self.risk).evaluate(_recruits(inputs, allocation)))


@dataclass(frozen=True)
class DPPlanner:
    """Population surrogate DP with the online spend decision (Pan et al.).

    Every spend ``s <= min(budget, max_per_round)`` is allocated greedily on the posterior-mean
    curves and scored, per scored posterior sample ``d``, as
    ``v_d(k) + gamma sum_m P_d(N = m | k) U_d(budget - s, m)``; the spend with
    the best ``risk`` of these scores is played and its score is the claimed value.

    Parameters
    ----------
    gamma : float
        Discount per round in ``(0, 1]``.
    risk : str
        How scores are aggregated over samples (``"mean"``, ``"cvar:ALPHA"``, ``"worst"``).
    samples : int
        Posterior samples scored, drawn with the decision's generator.
    tables : {"auto", "per_sample", "pooled"}
        A surrogate table of each scored sample's own pooled law, or one table
        of the posterior-mean law; ``"auto"``: per sample up to a budget of 200.
    max_per_round : int or None
        Most coupons spent in any round. The surrogate recursion maximises over
        spends ``0..min(r, max_per_round)`` in every round
        (:func:`planning.surrogate_table`) and this round's spend is chosen
        among the same spends, so the claimed value is that of a
        cap-respecting policy. ``None``: no cap.

    Notes
    -----
    With recruit weights the immediate value is weighted per sample, the
    allocation of each spend is the greedy on ``E_d[S_d w_d]`` and each
    sample's table is scaled by its pooled weight ``wbar_d``
    (``inputs.pooled_weight``; the mean of the scored samples' for a pooled
    table): the DP of the pooled weighted law (:mod:`planning.online`).
    """

    gamma: float = 0.9
    risk: str = "mean"
    samples: int = 32
    tables: str = "auto"
    max_per_round: int | None = None
    name: ClassVar[str] = "dp"

    def __post_init__(self) -> None:
        if not 0.0 < float(self.gamma) <= 1.0:
            raise PlanningError(f"gamma must be in (0, 1], got {self.gamma}")
        if self.tables not in ("auto", "per_sample", "pooled"):
            raise PlanningError(f"tables must be auto, per_sample or pooled, got {self.tables!r}")
        if self.samples < 1:
            raise PlanningError(f"samples must be at least 1, got {self.samples}")
        check_round_cap(self.max_per_round)
        parse_risk(self.risk)

    def _scored(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator):
        """The scored sample indices and their surrogate tables ``(sample or 1, b+1, b+1)``."""
        from planning.dp import surrogate_table

        pooled = inputs.require_pooled()
        chosen = np.sort(
            rng.choice(inputs.n_samples, size=min(self.samples, inputs.n_samples), replace=False)
        )
        per_sample = self.tables == "per_sample" or (self.tables == "auto" and budget <= 200)
        cap = self.max_per_round
        if cap is None or cap >= budget // 2:
            size = (budget + 1) ** 3 // 8
        else:  # laws of spends s <= cap only, about cap^3 / 3 floats, and the table
            size = int(cap) ** 3 // 3 + (budget + 1) ** 2
        if size > MAX_TABLE_FLOATS:
            raise PlanningError(
                f"the population DP at a budget of {budget} needs about {size * 8 / 1e9:.0f} GB "
                f"(the limit is {MAX_TABLE_FLOATS * 8 / 1e9:.0f} GB, a budget of about 1,000); "
                "plan with a smaller --budget or use --method greedy"
            )
        if per_sample:
            tables = np.stack(
                [surrogate_table(pooled[d], budget, self.gamma, max_per_round=cap) for d in chosen]
            )
        else:
            tables = surrogate_table(
                pooled[chosen].mean(axis=0), budget, self.gamma, max_per_round=cap
            )[None]
        return chosen, tables, per_sample

    def decide(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator) -> Decision:
        from planning.online import online_decision

        budget = _budget(budget)
        chosen, tables, per_sample = self._scored(inputs, budget, rng)
        spend = online_decision(
            inputs.survival[chosen],
            budget,
            tables,
            self.gamma,
            self.risk,
            caps=inputs.caps,
            order_curves=inputs.mean_values,
            weights=inputs.sample_weights(chosen),
            table_scale=self._scale(inputs, chosen, per_sample),
            max_spend=self.max_per_round,
        )
        details = {
            "gamma": float(self.gamma),
            "max_per_round": self.max_per_round,
            "scored_samples": len(chosen),
            "tables": "per_sample" if per_sample else "pooled",
            "spend_scores": spend.scores,
            "spend_sample_scores": spend.sample_scores,
            "remaining_after": budget - spend.spend,
        }
        return Decision(
            spend.allocation, spend.value, "multi", spend.sample_scores[:, spend.spend], details
        )

    def evaluate(self, inputs, budget, allocation, rng) -> float:
        from planning.online import allocation_scores

        budget = _budget(budget)
        chosen, tables, per_sample = self._scored(inputs, budget, rng)
        scores = allocation_scores(
            inputs.survival[chosen],
            budget,
            tables,
            self.gamma,
            allocation,
            weights=inputs.sample_weights(chosen),
            table_scale=self._scale(inputs, chosen, per_sample),
        )
        return float(parse_risk(self.risk).evaluate(scores))

    @staticmethod
    def _scale(inputs: PlanningInputs, chosen: np.ndarray, per_sample: bool) -> Any:
        """Pooled weight of each scored sample (per-sample tables) or their mean (pooled table)."""
        if inputs.pooled_weight is None:
            return None
        weight = inputs.future_weight(chosen)
        return weight if per_sample else float(weight.mean())


#: Planners by name (the ``--method`` of the command line).
PLANNERS: dict[str, type] = {cls.name: cls for cls in (GreedyPlanner, RobustPlanner, DPPlanner)}


def make_planner(name: str, **settings: Any) -> Planner:
    """The planner registered as ``name``, with ``settings`` (its dataclass fields).

    Raises
    ------
    planning.errors.PlanningError
        For an unknown name or setting.
    """
    try:
        cls = PLANNERS[name]
    except KeyError:
        raise PlanningError(f"unknown planner {name!r}; known: {', '.join(PLANNERS)}") from None
    known = set(cls.__dataclass_fields__) - {"name"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise PlanningError(
            f"planner {name!r} has no setting(s) {', '.join(unknown)}; it takes: "
            f"{', '.join(sorted(known)) or 'none'}"
        )
    return cls(**settings)


from planning import baselines, gfp  # noqa: E402, F401  (they register GFP and the evaluation baselines)
