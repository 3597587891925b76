r"""Evaluation baselines, each a :class:`planning.planners.Planner`.

=================  ==========================================================================
name               policy (``r`` coupons left, ``m = min(r, max_per_round)`` this round)
=================  ==========================================================================
random             each person ``k_i ~ U{0..min(cap_i, max_coupons)}``, thinned at random to ``m``
constant           everyone ``min(k, cap_i)`` (``k = 3``: standard RDS), in frontier order
                   until ``m`` runs out
greedy_fixed       the exact greedy with a spend of ``f`` times the *total* budget each round
greedy_remaining   the exact greedy with a spend of ``f`` times the *remaining* budget
thompson           draw one posterior sample ``d``; the greedy on ``S_d`` and the spend of
                   ``d``'s own population-DP decision (adaptive RDS, Weltz et al.)
fitted_q           the spend (a fraction of ``m``) with the best fitted ``Q``; greedy inside
oracle             knows the frontier's realised capacities: gives ``min(C_i, cap_i)``
=================  ==========================================================================

Single-round baselines (random, constant, greedy_*) claim the posterior-mean
expected recruits of their allocation, ``mean_d sum_i sum_{l<=k_i} S_di(l)``.

With recruit weights (priority subgroups, ``PlanningInputs.weights``) every
baseline counts weighted recruits, ``sum_i w_di sum_{l<=k_i} S_di(l)``: the
greedy ones run on the posterior-mean value curves ``E_d[S_d w_d]``;
``thompson`` plans for its drawn sample's value curves ``S_d w_d`` and scales
that sample's table by its pooled weight (as ``dp``); ``fitted_q`` scores the
weighted greedy's values (a model fitted on unweighted rollouts reads them as
recruits); ``random`` and ``constant`` keep their allocation rule (it ignores
values) and claim its weighted value; ``oracle`` gives useful coupons
(``l <= C_i``) to the highest expected weights first and claims
``sum_i min(C_i, k_i) E_d[w_di]``.
``thompson`` claims the DP score of its sample,
``v_d(k) + gamma sum_m P_d(N = m | k) U_d(r - s, m)``; ``fitted_q`` its
``Q``; ``oracle`` the recruits its allocation makes given the capacities it
knows (``horizon="hindsight"``).

The hindsight oracle
--------------------
Told the realised capacities ``C_i`` of the current frontier, giving
``k_i = min(C_i, cap_i)`` turns every coupon into a recruit, which no policy
can beat in the round, and because the next frontier is then as large as
the round's coupons allow, spending all useful coupons now is also what an
agent with this knowledge does over the rounds (holding a coupon back only
delays, and discounts, the recruit it buys). When the round's limit binds
the coupons go to realised capacity first, then to the posterior-mean curve.
Run round by round with each round's realised capacities it is *not* an
upper bound over several rounds: it sees only this round's capacities, so
with a per-round cap it can fill the round with recruits whose lineages
die out, and a planner that keeps a sustainable lineage alive beats it
(GFP does in the tunnel world). The episode's true hindsight upper bound,
over every policy on the same random numbers, is
:func:`planning.simulation.hindsight.hindsight_bound`. Capacities come from the ``capacities`` setting, else
from ``inputs.provenance["capacities"]``, else one realisation is drawn from
the inputs with the decision's generator (a clairvoyant on a simulated
world; ``details["capacity_source"]`` says which).

The fitted-Q baseline
---------------------
Actions are spend fractions ``a`` of ``m`` (``s_a = max(1, round(a m))``), the
allocation inside the round is the greedy on the posterior-mean curves, with
expected recruits ``v_a``. ``Q(r, F, a) = B theta . psi(v_a / B, (r - s_a) / B,
s_a / B, n / B, v_max / B)``, ``psi`` a fixed quadratic feature map, ``B`` the
fitted budget and ``v_max`` the greedy value of all ``m`` coupons: linear
fitted Q-iteration (ridge) on transitions of exploring rollouts
(:func:`fit_fitted_q`). Without a fitted model the planner is myopic
(``Q = v_a``: it spends ``m``).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from planning.errors import PlanningError
from planning.greedy import allocation_values, greedy_order
from planning.inputs import PlanningInputs
from planning.planners import PLANNERS, Decision, check_round_cap

__all__ = [
    "ConstantPlanner",
    "FittedQModel",
    "FittedQPlanner",
    "FixedFractionGreedyPlanner",
    "HindsightOraclePlanner",
    "RandomPlanner",
    "RemainingFractionGreedyPlanner",
    "ThompsonPlanner",
    "fit_fitted_q",
]


def _budget(budget: Any) -> int:
    if isinstance(budget, bool) or int(budget) != budget or budget < 0:
        raise PlanningError(f"the budget must be a whole number >= 0, got {budget!r}")
    return int(budget)


def _limit(inputs: PlanningInputs, budget: int, max_per_round: int | None) -> int:
    """Most coupons this round: ``min(budget, max_per_round, sum of caps)``."""
    limit = budget if max_per_round is None else min(budget, int(max_per_round))
    return int(min(limit, int(inputs.caps.sum())))


def _recruits(inputs: PlanningInputs, allocation: np.ndarray) -> np.ndarray:
    """``(sample,)`` (weighted) expected recruits of ``allocation`` under each posterior sample."""
    return inputs.objective(allocation)


def _single(
    inputs: PlanningInputs, allocation: np.ndarray, details: dict[str, Any] | None = None
) -> Decision:
    values = _recruits(inputs, allocation)
    return Decision(
        allocation.astype(np.int64), float(values.mean()), "single", values, details or {}
    )


def _greedy(curves: np.ndarray, spend: int, caps: np.ndarray) -> np.ndarray:
    person, _, _ = greedy_order(curves, int(spend), caps)
    return np.bincount(person, minlength=curves.shape[0]).astype(np.int64)


# --------------------------------------------------------------------------- simple baselines
@dataclass(frozen=True)
class RandomPlanner:
    """Uniformly random coupons: ``k_i ~ U{0..min(cap_i, max_coupons)}``, thinned to the round's limit.

    Parameters
    ----------
    max_coupons : int or None
        Largest draw per person (default: the person's cap).
    max_per_round : int or None
        Per-round spend cap.
    """

    max_coupons: int | None = None
    max_per_round: int | None = None
    name: ClassVar[str] = "random"

    def __post_init__(self) -> None:
        check_round_cap(self.max_per_round)
        if self.max_coupons is not None and self.max_coupons < 0:
            raise PlanningError(f"max_coupons must be >= 0, got {self.max_coupons}")

    def decide(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator) -> Decision:
        limit = _limit(inputs, _budget(budget), self.max_per_round)
        top = inputs.caps if self.max_coupons is None else np.minimum(inputs.caps, self.max_coupons)
        draw = rng.integers(0, top + 1)
        if draw.sum() > limit:
            slots = np.repeat(np.arange(inputs.n_people), draw)
            kept = rng.choice(slots.size, size=limit, replace=False)
            draw = np.bincount(slots[kept], minlength=inputs.n_people)
        return _single(inputs, draw.astype(np.int64))

    def evaluate(self, inputs, budget, allocation, rng) -> float:
        return float(_recruits(inputs, np.asarray(allocation)).mean())


@dataclass(frozen=True)
class ConstantPlanner:
    """Everyone gets ``min(k, cap_i)``, in frontier order, while the round's coupons last.

    ``k = 3`` is standard RDS; the evaluation uses ``k = 2, 3, 5, 10``.
    """

    k: int = 3
    max_per_round: int | None = None
    name: ClassVar[str] = "constant"

    def __post_init__(self) -> None:
        check_round_cap(self.max_per_round)
        if int(self.k) != self.k or self.k < 0:
            raise PlanningError(f"k must be a whole number >= 0, got {self.k!r}")

    def decide(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator) -> Decision:
        limit = _limit(inputs, _budget(budget), self.max_per_round)
        want = np.minimum(inputs.caps, int(self.k))
        before = np.concatenate([[0], np.cumsum(want)[:-1]])
        allocation = np.clip(limit - before, 0, want)
        return _single(inputs, allocation.astype(np.int64))

    def evaluate(self, inputs, budget, allocation, rng) -> float:
        return float(_recruits(inputs, np.asarray(allocation)).mean())


@dataclass(frozen=True)
class FixedFractionGreedyPlanner:
    """The exact greedy spending ``round(fraction * total_budget)`` (at least 1) each round.

    Parameters
    ----------
    fraction : float
        ``f`` in ``(0, 1]`` (the evaluation uses 0.1, 0.2, 0.3, 0.5, 1.0).
    total_budget : int or None
        The study's budget at the start. ``None``: the budget passed to
        :meth:`decide` is taken as the total (right for the first round
        only; an evaluation harness sets it).
    max_per_round : int or None
        Per-round spend cap.
    """

    fraction: float = 0.2
    total_budget: int | None = None
    max_per_round: int | None = None
    name: ClassVar[str] = "greedy_fixed"

    def __post_init__(self) -> None:
        check_round_cap(self.max_per_round)
        if not 0.0 < float(self.fraction) <= 1.0:
            raise PlanningError(f"fraction must be in (0, 1], got {self.fraction}")

    def spend(self, inputs: PlanningInputs, budget: int) -> int:
        """This round's spend."""
        total = budget if self.total_budget is None else int(self.total_budget)
        want = max(1, round(self.fraction * total))
        return min(want, _limit(inputs, budget, self.max_per_round))

    def decide(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator) -> Decision:
        budget = _budget(budget)
        spend = self.spend(inputs, budget)
        return _single(inputs, _greedy(inputs.mean_values, spend, inputs.caps))

    def evaluate(self, inputs, budget, allocation, rng) -> float:
        return float(_recruits(inputs, np.asarray(allocation)).mean())


@dataclass(frozen=True)
class RemainingFractionGreedyPlanner:
    """The exact greedy spending ``ceil(fraction * remaining)`` each round."""

    fraction: float = 0.2
    max_per_round: int | None = None
    name: ClassVar[str] = "greedy_remaining"

    def __post_init__(self) -> None:
        check_round_cap(self.max_per_round)
        if not 0.0 < float(self.fraction) <= 1.0:
            raise PlanningError(f"fraction must be in (0, 1], got {self.fraction}")

    def decide(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator) -> Decision:
        budget = _budget(budget)
        spend = min(
            math.ceil(self.fraction * budget - 1e-12), _limit(inputs, budget, self.max_per_round)
        )
        return _single(inputs, _greedy(inputs.mean_values, max(0, spend), inputs.caps))

    def evaluate(self, inputs, budget, allocation, rng) -> float:
        return float(_recruits(inputs, np.asarray(allocation)).mean())


# --------------------------------------------------------------------------- Thompson sampling
_TABLES: OrderedDict[tuple, np.ndarray] = OrderedDict()
_TABLES_LOCK = threading.Lock()


def _canonical(budget: int) -> int:
    """Table size for a budget: the next power of two (at least 16), so results never
    depend on which budgets were planned before."""
    return max(16, 1 << max(0, int(budget) - 1).bit_length())


def _dp_table(
    pmf: np.ndarray, budget: int, gamma: float, max_per_round: int | None = None
) -> np.ndarray:
    """The population DP table of ``pmf`` covering ``budget`` (cached, canonical size),
    with every round's spend at most ``max_per_round``."""
    from planning.dp import surrogate_table

    size = _canonical(budget)
    cap = None if max_per_round is None or max_per_round >= size else int(max_per_round)
    key = (np.ascontiguousarray(pmf).tobytes(), float(gamma), size, cap)
    with _TABLES_LOCK:
        table = _TABLES.get(key)
        if table is not None:
            _TABLES.move_to_end(key)
            return table
    table = surrogate_table(pmf, size, gamma, max_per_round=cap)
    table.flags.writeable = False
    with _TABLES_LOCK:
        _TABLES[key] = table
        while len(_TABLES) > 64:
            _TABLES.popitem(last=False)
    return table


@dataclass(frozen=True)
class ThompsonPlanner:
    """Thompson sampling over the posterior (adaptive RDS in the style of Weltz et al.).

    Each decision draws one posterior sample ``d`` with the decision's
    generator and plans optimally for it: the greedy on ``S_d`` (``S_d w_d``
    with recruit weights) for every spend, the spend chosen by ``d``'s
    population-DP table (:func:`planning.online_decision`; scaled by ``d``'s
    pooled weight). The claimed value is ``d``'s score of the allocation.

    Parameters
    ----------
    gamma : float
        Discount in ``(0, 1]``.
    max_per_round : int or None
        Per-round spend cap, in this round and in the DP table's later rounds.
    """

    gamma: float = 0.9
    max_per_round: int | None = None
    name: ClassVar[str] = "thompson"

    def __post_init__(self) -> None:
        check_round_cap(self.max_per_round)
        if not 0.0 < float(self.gamma) <= 1.0:
            raise PlanningError(f"gamma must be in (0, 1], got {self.gamma}")

    def _draw(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator):
        pooled = inputs.require_pooled()
        d = int(rng.integers(inputs.n_samples))
        return d, _dp_table(pooled[d], budget, float(self.gamma), self.max_per_round)

    def decide(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator) -> Decision:
        from planning.online import allocation_scores, online_decision

        budget = _budget(budget)
        d, table = self._draw(inputs, budget, rng)
        weights, scale = self._weights(inputs, d)
        spend = online_decision(
            inputs.survival[d],
            budget,
            table,
            float(self.gamma),
            caps=inputs.caps,
            max_spend=self.max_per_round,
            weights=weights,
            table_scale=scale,
        )
        allocation = spend.allocation.astype(np.int64)
        value = allocation_scores(
            inputs.survival[d],
            budget,
            table,
            float(self.gamma),
            allocation,
            weights=weights,
            table_scale=scale,
        )
        details = {
            "sample": d,
            "gamma": float(self.gamma),
            "spend_scores": spend.scores,
            "remaining_after": budget - int(allocation.sum()),
        }
        return Decision(allocation, float(value[0]), "multi", value, details)

    def evaluate(self, inputs, budget, allocation, rng) -> float:
        from planning.online import allocation_scores

        budget = _budget(budget)
        d, table = self._draw(inputs, budget, rng)
        weights, scale = self._weights(inputs, d)
        return float(
            allocation_scores(
                inputs.survival[d],
                budget,
                table,
                float(self.gamma),
                np.asarray(allocation, dtype=np.int64),
                weights=weights,
                table_scale=scale,
            )[0]
        )

    @staticmethod
    def _weights(inputs: PlanningInputs, d: int) -> tuple[np.ndarray | None, float | None]:
        """Sample ``d``'s recruit weights ``(1, person)`` and pooled weight (``None`` without)."""
        weights = inputs.sample_weights([d])
        scale = None if inputs.pooled_weight is None else float(inputs.pooled_weight[d])
        return weights, scale


# --------------------------------------------------------------------------- the hindsight oracle
@dataclass(frozen=True)
class HindsightOraclePlanner:
    """Knows the frontier's realised capacities (module docstring; a clairvoyant round, not a policy).

    Parameters
    ----------
    capacities : tuple of int or None
        Realised capacities ``C_i`` of the frontier, in its order. ``None``:
        read ``inputs.provenance["capacities"]``, else draw one realisation
        from the inputs with the decision's generator.
    max_per_round : int or None
        Per-round spend cap.
    """

    capacities: tuple[int, ...] | None = None
    max_per_round: int | None = None
    name: ClassVar[str] = "oracle"

    def __post_init__(self) -> None:
        check_round_cap(self.max_per_round)
        if self.capacities is not None:
            caps = tuple(int(c) for c in self.capacities)
            if any(c < 0 for c in caps):
                raise PlanningError("capacities must be whole numbers >= 0")
            object.__setattr__(self, "capacities", caps)

    def _capacities(
        self, inputs: PlanningInputs, rng: np.random.Generator
    ) -> tuple[np.ndarray, str]:
        given = self.capacities
        source = "given"
        if given is None and "capacities" in inputs.provenance:
            given, source = inputs.provenance["capacities"], "provenance"
        if given is not None:
            caps = np.asarray(given, dtype=np.int64)
            if caps.shape != (inputs.n_people,):
                raise PlanningError(
                    f"the oracle knows {caps.size} capacities but the frontier has {inputs.n_people} people"
                )
            return caps, source
        from planning.rollout import draw_capacities

        d = int(rng.integers(inputs.n_samples))
        return draw_capacities(inputs.pmf[d], rng), "drawn"

    def decide(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator) -> Decision:
        limit = _limit(inputs, _budget(budget), self.max_per_round)
        capacity, source = self._capacities(inputs, rng)
        useful = np.minimum(capacity, inputs.caps)
        levels = np.arange(1, inputs.length + 1)
        spend = min(limit, int(useful.sum()))
        if inputs.weights is None:
            curves = 2.0 * (levels[None, :] <= useful[:, None]) + inputs.mean_survival
            allocation = _greedy(curves, spend, inputs.caps)
        else:
            # useful coupons, highest expected weight first, then as the unweighted oracle orders them
            person = np.repeat(np.arange(inputs.n_people), useful)
            level = np.arange(person.size) - np.repeat(np.cumsum(useful) - useful, useful)
            mean_w = inputs.weights.mean(axis=0)
            order = np.lexsort(
                (level, person, -(2.0 + inputs.mean_values[person, level]), -mean_w[person])
            )
            allocation = np.bincount(person[order[:spend]], minlength=inputs.n_people).astype(
                np.int64
            )
        value = self._value(inputs, capacity, allocation)
        details = {"capacities": capacity, "capacity_source": source}
        return Decision(allocation, value, "hindsight", np.array([value]), details)

    def evaluate(self, inputs, budget, allocation, rng) -> float:
        capacity, _ = self._capacities(inputs, rng)
        return self._value(inputs, capacity, np.asarray(allocation, dtype=np.int64))

    @staticmethod
    def _value(inputs: PlanningInputs, capacity: np.ndarray, allocation: np.ndarray) -> float:
        """Recruits the allocation makes, each worth its recruiter's posterior-mean expected weight."""
        recruits = np.minimum(capacity, allocation)
        if inputs.weights is None:
            return float(recruits.sum())
        return float((recruits * inputs.weights.mean(axis=0)).sum())


# --------------------------------------------------------------------------- fitted Q
FQ_FORMAT = "rdsplan-fitted-q"


def _features(
    v: np.ndarray,
    left: np.ndarray,
    spend: np.ndarray,
    n: np.ndarray,
    vmax: np.ndarray,
    scale: float,
) -> np.ndarray:
    """``psi``: quadratic features of scaled (value, budget after, spend, frontier, best value)."""
    a, b, c, d, e = (np.asarray(x, dtype=np.float64) / scale for x in (v, left, spend, n, vmax))
    return np.stack(
        [
            np.ones_like(a),
            a,
            b,
            c,
            d,
            e,
            a * a,
            b * b,
            a * b,
            a * c,
            b * c,
            a * d,
            b * d,
            np.sqrt(np.maximum(a * b, 0.0)),
            np.minimum(a, b),
            a * e,
            b * e,
        ],
        axis=-1,
    )


N_FEATURES = 17


@dataclass(frozen=True, eq=False)
class FittedQModel:
    """Linear fitted ``Q`` over the round spend (module docstring).

    Attributes
    ----------
    theta : numpy.ndarray
        ``(17,)`` coefficients of ``psi``.
    scale : float
        The budget ``B`` it was fitted for.
    fractions : tuple of float
        Spend fractions (the actions).
    gamma : float
        Discount it was fitted with.
    identity : str
        Identity of the posterior (or world) it was fitted for.
    info : dict
        Settings, seed and the loss curve (mean squared TD error per iteration).
    """

    theta: np.ndarray
    scale: float
    fractions: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
    gamma: float = 0.9
    identity: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        theta = np.asarray(self.theta, dtype=np.float64)
        if theta.shape != (N_FEATURES,) or not np.all(np.isfinite(theta)):
            raise PlanningError(f"fitted-Q theta must be {N_FEATURES} finite numbers")
        if not self.fractions or any(not 0 < f <= 1 for f in self.fractions):
            raise PlanningError("fitted-Q fractions must lie in (0, 1]")
        theta.flags.writeable = False
        object.__setattr__(self, "theta", theta)
        object.__setattr__(self, "fractions", tuple(float(f) for f in self.fractions))

    def q(self, v, left, spend, n, vmax) -> np.ndarray:
        """``Q`` of (expected recruits, budget after, spend, frontier size, best value)."""
        return self.scale * (_features(v, left, spend, n, vmax, self.scale) @ self.theta)

    def to_json(self) -> str:
        """The model as JSON text (the application writes files, atomically)."""
        return json.dumps(
            {
                "format": FQ_FORMAT,
                "version": 1,
                "theta": self.theta.tolist(),
                "scale": self.scale,
                "fractions": list(self.fractions),
                "gamma": self.gamma,
                "identity": self.identity,
                "info": json.loads(json.dumps(self.info, default=_plain)),
            }
        )

    @classmethod
    def from_json(cls, text: str, identity: str | None = None) -> FittedQModel:
        """Inverse of :meth:`to_json`; with ``identity``, refuse one fitted for another posterior."""
        try:
            data = json.loads(text)
        except ValueError as err:
            raise PlanningError(f"not a readable fitted-Q model: {err}") from None
        if data.get("format") != FQ_FORMAT:
            raise PlanningError("not a saved fitted-Q model")
        model = cls(
            np.asarray(data["theta"]),
            float(data["scale"]),
            tuple(data["fractions"]),
            float(data["gamma"]),
            str(data.get("identity", "")),
            dict(data.get("info", {})),
        )
        if identity is not None and model.identity != identity:
            raise PlanningError(
                f"the fitted-Q model was fitted for {model.identity!r}, not {identity!r}"
            )
        return model


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value).__name__)


def _action_spends(limit: int, fractions: tuple[float, ...]) -> np.ndarray:
    """Distinct spends ``max(1, round(f m))`` of the fractions (``[0]`` when ``m = 0``)."""
    if limit <= 0:
        return np.zeros(1, dtype=np.int64)
    return np.unique(np.clip(np.round(np.asarray(fractions) * limit), 1, limit).astype(np.int64))


DEFAULT_FRACTIONS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class FittedQPlanner:
    """Fitted-Q reinforcement-learning baseline: the spend by ``Q``, the greedy inside the round.

    Parameters
    ----------
    model : FittedQModel or None
        From :func:`fit_fitted_q`; ``None``: myopic (``Q`` = this round's
        expected recruits), which spends the round's limit.
    max_per_round : int or None
        Per-round spend cap.
    """

    model: FittedQModel | None = None
    max_per_round: int | None = None
    name: ClassVar[str] = "fitted_q"

    def __post_init__(self) -> None:
        check_round_cap(self.max_per_round)
        if self.model is not None and not isinstance(self.model, FittedQModel):
            raise PlanningError("model must be a FittedQModel (planning.baselines.fit_fitted_q)")

    def _q(
        self, inputs: PlanningInputs, budget: int, spend: np.ndarray, value: np.ndarray, vmax: float
    ) -> np.ndarray:
        if self.model is None:
            return value
        n = np.full(spend.shape, inputs.n_people)
        return self.model.q(value, budget - spend, spend, n, np.full(spend.shape, vmax))

    def decide(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator) -> Decision:
        budget = _budget(budget)
        limit = _limit(inputs, budget, self.max_per_round)
        fractions = DEFAULT_FRACTIONS if self.model is None else self.model.fractions
        spends = _action_spends(limit, fractions)
        person, _, gains = greedy_order(inputs.mean_values, limit, inputs.caps)
        cum = np.concatenate([[0.0], np.cumsum(gains)])
        values = cum[spends]
        q = self._q(inputs, budget, spends, values, float(cum[-1]))
        best = int(np.argmax(q))
        allocation = np.bincount(person[: spends[best]], minlength=inputs.n_people).astype(np.int64)
        details = {"spends": spends, "q": q}
        if self.model is None:
            return _single(inputs, allocation, details)
        value = self.evaluate(inputs, budget, allocation, rng)
        return Decision(allocation, value, "multi", np.array([value]), details)

    def evaluate(self, inputs, budget, allocation, rng) -> float:
        allocation = np.asarray(allocation, dtype=np.int64)
        recruits = _recruits(inputs, allocation)
        if self.model is None:
            return float(recruits.mean())
        budget = _budget(budget)
        limit = _limit(inputs, budget, self.max_per_round)
        _, _, gains = greedy_order(inputs.mean_values, limit, inputs.caps)
        spend = np.array([int(allocation.sum())])
        return float(
            self._q(inputs, budget, spend, np.array([recruits.mean()]), float(gains.sum()))[0]
        )


def _batch_actions(batch: Any, e: int, fractions: tuple[float, ...]):
    """Spends, greedy person order and cumulative values of episode ``e`` of a rollout batch."""
    rows = batch.rows(e)
    caps = batch.caps[rows]
    limit = int(min(batch.limit[e], caps.sum()))
    spends = _action_spends(limit, fractions)
    person, _, gains = greedy_order(batch.survival[rows], limit, caps)
    cum = np.concatenate([[0.0], np.cumsum(gains)])
    return spends, person, cum, rows.stop - rows.start


def fit_fitted_q(
    initial: Any,
    budget: int,
    capacity: Any,
    offspring: Any,
    *,
    gamma: float = 0.9,
    length: int | None = None,
    max_per_round: int | None = None,
    fractions: tuple[float, ...] = DEFAULT_FRACTIONS,
    episodes: int = 400,
    iterations: int = 30,
    rounds: int = 2,
    epsilon: float = 0.3,
    ridge: float = 1e-3,
    identity: str = "",
    seed: int = 0,
) -> FittedQModel:
    r"""Fit the fitted-Q baseline by linear fitted Q-iteration on rollouts.

    ``rounds`` collection rounds: the first plays uniformly random actions,
    later ones the current ``Q`` greedily with an ``epsilon`` share of random
    actions; after each, ``iterations`` steps of
    ``theta <- argmin sum (Q_theta(s, a) - [R + gamma max_a' Q_theta_old(s', a')])^2 + ridge |theta|^2``
    over all transitions so far. Arguments as :func:`planning.gfp_fit.fit_surrogate`
    (the same rollout engine, :func:`planning.rollout.rollout`).

    Returns
    -------
    FittedQModel
        ``info["loss"]``: mean squared TD error per iteration.
    """
    from planning.rollout import rollout

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    scale = float(max(1, int(budget)))
    L = int(length) if length is not None else min(int(budget), 10)
    model = FittedQModel(np.zeros(N_FEATURES), scale, tuple(fractions), float(gamma), identity)
    taken: list[np.ndarray] = []  # features of the action taken, per transition
    rewards: list[float] = []
    following: list[int] = []  # index of the next state (-1: terminal)
    options: list[np.ndarray] = []  # features of every action, per state
    losses: list[float] = []

    def policy_for(current: FittedQModel | None, explore: float):
        def policy(batch, rng_):
            out = np.zeros(batch.caps.size, dtype=np.int64)
            for e in range(batch.n_episodes):
                spends, person, cum, n = _batch_actions(batch, e, fractions)
                if current is None or rng_.random() < explore:
                    a = int(rng_.integers(spends.size))
                else:
                    q = current.q(
                        cum[spends],
                        batch.remaining[e] - spends,
                        spends,
                        np.full(spends.size, n),
                        np.full(spends.size, cum[-1]),
                    )
                    a = int(np.argmax(q))
                out[batch.rows(e)] = np.bincount(person[: spends[a]], minlength=n)
            return out

        return policy

    for collection in range(int(rounds)):
        current = None if collection == 0 else model
        budgets = np.where(
            np.arange(episodes) % 2 == 0, int(budget), rng.integers(1, int(budget) + 1, episodes)
        )
        result = rollout(
            policy_for(current, epsilon),
            initial,
            int(budget),
            capacity,
            offspring,
            rng,
            episodes=int(episodes),
            gamma=gamma,
            length=L,
            max_per_round=max_per_round,
            budgets=budgets,
            record=True,
        )
        first = len(options)
        where: dict[tuple[int, int], int] = {}
        pending = []
        for t, batch in enumerate(result.batches):
            for e in range(batch.n_episodes):
                spends, _, cum, n = _batch_actions(batch, e, fractions)
                rows = batch.rows(e)
                spent = int(batch.allocation[rows].sum())
                v = float(allocation_values(batch.survival[rows], batch.allocation[rows]).sum())
                r = int(batch.remaining[e])
                where[(int(batch.episodes[e]), t)] = len(options)
                options.append(
                    _features(
                        cum[spends],
                        r - spends,
                        spends,
                        np.full(spends.size, n),
                        np.full(spends.size, cum[-1]),
                        scale,
                    )
                )
                taken.append(_features(v, r - spent, spent, n, cum[-1], scale))
                rewards.append(float(batch.recruits[rows].sum()))
                pending.append((int(batch.episodes[e]), t))
        following.extend(where.get((ep, t + 1), -1) for ep, t in pending)
        assert len(following) == len(options) and first <= len(options)
        X = np.asarray(taken)
        R = np.asarray(rewards)
        nxt = np.asarray(following)
        stacked = np.concatenate(options)
        starts = np.concatenate([[0], np.cumsum([o.shape[0] for o in options])[:-1]])
        gram = X.T @ X + ridge * max(1, X.shape[0]) * np.eye(N_FEATURES)
        for _ in range(int(iterations)):
            best = np.maximum.reduceat(stacked @ model.theta, starts)  # max_a' Q / scale per state
            y = R / scale + gamma * np.where(nxt >= 0, best[np.maximum(nxt, 0)], 0.0)
            theta = np.linalg.solve(gram, X.T @ y)
            losses.append(float(np.mean((scale * (X @ theta - y)) ** 2)))
            model = FittedQModel(theta, scale, tuple(fractions), float(gamma), identity)
    info = {
        "method": "fitted_q_iteration",
        "loss": losses,
        "transitions": len(taken),
        "seed": int(seed),
        "seconds": time.perf_counter() - started,
        "settings": {
            "budget": int(budget),
            "gamma": float(gamma),
            "length": L,
            "max_per_round": max_per_round,
            "episodes": episodes,
            "iterations": iterations,
            "rounds": rounds,
            "epsilon": epsilon,
            "ridge": ridge,
        },
    }
    return FittedQModel(model.theta, scale, tuple(fractions), float(gamma), identity, info)


for _cls in (
    RandomPlanner,
    ConstantPlanner,
    FixedFractionGreedyPlanner,
    RemainingFractionGreedyPlanner,
    ThompsonPlanner,
    FittedQPlanner,
    HindsightOraclePlanner,
):
    PLANNERS[_cls.name] = _cls
