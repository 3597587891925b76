r"""Misspecification bounds, their estimates and whether they inform (Pan et al., Section 7).

The posterior regret (:mod:`planning.regret`) measures what parameter
uncertainty *within* the model costs. The bounds here cover the model class
itself being wrong: the truth ``S`` (curves ``S_i(l) = P(C_i >= l)``, pooled law
``Dbar``) is anything within a distance of the plug-in ``S^`` the plan used,
and the bound says how many recruits that can cost. Every bound is reported
with the paper's form beside it, its parts, how each distance was estimated
and whether it *informs* (is at most the plan's value).

Notation: ``Delta = S - S^``; an *envelope* ``eps >= |Delta|`` entrywise; the
plan ``k^`` hands out ``s = sum_i k^_i`` coupons, its coupon set is
``P = {(i, l): l <= k^_i}``; ``k*`` is the best plan for the truth with the
same spend (it exists: the greedy on ``S`` hands out exactly ``s`` coupons),
with coupon set ``K*``; ``f(k) = sum_i sum_{l<=k_i} S_i(l)`` and ``f^`` the
same with ``S^``.

Single round
------------
Shared coupons cancel:

.. math:: f(k^*) - f(\hat k) = \sum_{K^*\setminus P} S - \sum_{P \setminus K^*} S . \qquad (1)

*Paper's form.* Writing ``S = S^ + Delta`` in (1) gives
``[f^(k*) - f^(k^)] + sum_{K*\P} Delta - sum_{P\K*} Delta``; the bracket is
``<= 0`` when ``k^`` maximises ``f^`` (the greedy on ``S^``), so

.. math:: \text{loss} \le \sum_{K^* \cup P} |\Delta| \le \sum_i \sum_{l=1}^{s} |S_i(l) - \hat S_i(l)| .

It is tight: two people, one coupon, ``S = (0, 1)``, ``S^ = (1/2, 1/2)``, the
greedy's tie goes to person 0 and loses exactly ``1``.

*Two-term form* (the design's ``|f - f^|(k*) + |f - f^|(k^)`` with the shared
coupons cancelled): ``K* \ P`` holds at most ``s`` coupons outside the plan, at
levels ``l <= min(cap_i, s)``, so

.. math:: \text{loss} \le T_1 + T_2, \quad
          T_1 = \text{sum of the } s \text{ largest } \varepsilon_i(l)
          \text{ with } \hat k_i < l \le \min(\mathrm{cap}_i, s), \quad
          T_2 = \sum_{(i,l) \in P} \varepsilon_i(l).

``T_1`` and ``T_2`` run over disjoint sets of coupons at levels ``<= s``, so
``T_1 + T_2`` never exceeds the paper's form. (Without the cancellation the two
terms can double count: one person, one coupon, gives ``2|Delta|`` against the
paper's ``|Delta|``.)

*Exchange form* (valid for **any** plan, not only a maximiser of ``f^``).
Since both plans spend ``s``, ``A = K* \ P`` and ``R = P \ K*`` have the same
size ``m``. Person ``i``'s coupons in ``A`` are levels ``k^_i + 1, ..., k*_i``
and in ``R`` levels ``k*_i + 1, ..., k^_i``. The truth is non-increasing in
``l``, in ``[0, 1]`` and within the envelope, so

.. math:: S_i(l) \le a_i(l) = \min\Big(1, \min_{\hat k_i < l' \le l}
          \hat S_i(l') + \varepsilon_i(l')\Big) \ \text{on } A, \qquad
          S_i(l) \ge b_i(l) = \max\Big(0, \max_{l \le l' \le \hat k_i}
          \hat S_i(l') - \varepsilon_i(l')\Big) \ \text{on } R .

With ``a_(1) >= a_(2) >= ...`` the values ``a`` outside the plan (levels
``<= min(cap_i, s)``) and ``b_(1) <= b_(2) <= ...`` the values ``b`` on the
plan's coupons, (1) gives

.. math:: \text{loss} \le \max_m \sum_{j \le m} \big(a_{(j)} - b_{(j)}\big)
          = \sum_j \big(a_{(j)} - b_{(j)}\big)^+ ,

because the increments ``a_(j) - b_(j)`` decrease in ``j``. Splitting each
increment, ``a_(j) - b_(j) = [a_(j) - S^] + [S^ - b_(j)] - [S^_(b) - S^_(a)]``,
gives the three reported parts: the error allowance on the coupons the plan
passed over (the ``k*`` term), on the plan's own coupons (the ``k^`` term) and
the plug-in *margin* by which the plan's coupons beat the ones passed over
(subtracted). When ``k^`` is the greedy on ``S^`` every coupon outside the plan
has ``S^`` at most that of every coupon in it, the margin is ``>= 0`` and the
first two parts are at most ``T_1`` and ``T_2``: the exchange form never
exceeds the two-term form. The reported single-round bound is the smaller of
the two (the exchange form alone when ``k^`` does not maximise ``f^``, e.g. a
robust plan), so **realised loss <= tightened bound <= paper's bound**
whenever the paper's bound applies; ``tests/planning/test_planning_bounds.py``
checks this by brute force on random small instances.

Multi-round (population surrogate, Pan et al.)
----------------------------------------------
*World.* Budget ``r``. Round 1 allocates ``k`` to the real frontier (laws
``D_i``; plug-in ``D^_i``); later frontiers are recruits whose capacities are
i.i.d. from the pooled law (true ``Dbar``, plug-in ``D^``) and each later spend
is split evenly (the surrogate DP). Any policy's value from a state with
``y`` coupons left lies in ``[0, y]``: a coupon brings at most one recruit.
``M`` is the true world, ``M^`` the plug-in one, the plan ``pi^`` plays ``k^``
and then the spends of the plug-in table; it is optimal in ``M^`` among
policies of this form, and ``pi*`` (round-1 allocation ``k*``) is the best
such policy in ``M``.

*Step 1* (three-term split). ``loss = V^{pi*}_M - V^{pi^}_M =
[V^{pi*}_M - V^{pi*}_{M^}] + [V^{pi*}_{M^} - V^{pi^}_{M^}] + [V^{pi^}_{M^} -
V^{pi^}_M]``; the middle bracket is ``<= 0``.

*Step 2* (simulation identity). For any policy, telescoping over rounds,
``V^pi_M(x) - V^pi_{M^}(x) = sum_t gamma^(t-1) E^pi_M[dR(x_t) + gamma
(P_M - P_{M^})(. | x_t) V^pi_{M^}]`` and ``|(P - P^) V| <= TV(P, P^) * range``.
The range of ``V^pi_{M^}(y, .)`` is at most ``R(y) = y``, or
``max_m U^(y, m)`` when the plug-in table ``U^`` is given (``V^pi_{M^} <= U^``).

*Step 3* (round 1, the laws that matter). The round-1 rewards of the two outer
brackets combine to (1): at most ``sum_P eps + (the |k*| largest eps
outside the plan)``. The next frontier size is ``N = sum_i min(C_i, k_i)``;
coupling person by person,
``TV <= min(1, sum_{i: k_i >= 1} TV(min(C_i, k_i), min(C^_i, k_i)))``: each
law truncated at what the person is given, and only people given coupons.
For the plan this is computed exactly; for the unknown ``k*`` with spend
``s`` it is at most the ``s`` largest increments
``TV_{l,i} - TV_{l-1,i} >= 0`` over levels ``l <= cap_i``.

*Step 4* (later rounds). From state ``(y, n)``, spend ``s``, ``a = s // n``,
``c = s - a n``: ``|F - F^| <= n sum_{l<=a} e(l) + c e(a+1)`` with
``e(l) = |Sbar(l) - S^(l)|``, and the next frontier's TV is at most
``min(1, (n - c) tau_a + c tau_{a+1})``, ``tau_k = TV(min(Cbar, k), min(C^, k))``.
Maximising over ``n`` gives ``rho(s)`` and ``theta(s)``; maximising over the
trajectory (spends sum to at most ``y``; a zero spend ends the process),

.. math:: B(y) = \max_{1 \le s \le y} \big[\rho(s) + \gamma R(y-s)\,\theta(s)
          + \gamma B(y-s)\big], \qquad B(0) = 0,

bounds ``|V^pi_M - V^pi_{M^}|`` from every population state with ``y`` coupons
left, for every policy of the surrogate's form.

*Result.*

.. math:: \text{loss} \le \underbrace{\textstyle\sum_P \varepsilon
          + \gamma R(r-\hat s) \min(1, \sum_i TV_{\hat k_i, i})}_{\text{frontier, plan}}
          + \gamma B(r - \hat s)
          + \max_{0 \le s \le r}\Big[\underbrace{\text{top}_s \varepsilon
          + \gamma R(r-s) \min(1, \text{top}_s\, \delta TV)}_{\text{frontier, } k^*}
          + \gamma B(r-s)\Big].

The ``B`` terms form the *transition* part. Because a zero spend ends the
process and every round spends a coupon, the bound stays finite at
``gamma = 1``; the paper's form (``c = 2 gamma r / (1 - gamma)``) does not.

*Heterogeneity.* If later recruits have laws of their own, ``D_j ~ P`` i.i.d.
and independent of their recruiter, with mean ``Dbar``, a comparator that
uses each recruit's law can beat every policy of the surrogate's form. Run
such a policy on fictitious i.i.d. types in the pooled world: it is a valid
(randomised) policy there, worth at most the pooled optimum, which is of the
surrogate's form (the even split is optimal in a homogeneous population;
checked by brute force on small instances). The two worlds agree in round 1
and, given the types, differ only in each later member's law, so Step 2
applies round by round from round 2 on. With ``N_t`` members in round ``t``
(at most ``r`` in all rounds ``t >= 2``; their types independent of ``N_t``),
the reward error is at most ``sum_j delta_j``, ``delta_j = sum_{l<=L}
|S_{D_j}(l) - Sbar(l)|``, and the next frontier's TV at most
``min(1, sum_j t_j)``, ``t_j = TV(min(C_{D_j}, L), min(Cbar, L))``, with
range at most ``r - 1``. By Jensen, ``E min(1, sum_j t_j) <= min(1, E N_t
E_P t)``, and the discounted sum of these minima, with ``sum_t E N_t <= r``,
is largest when front-loaded:

.. math:: H \le \gamma\, r\, E_P\,\delta + \gamma^2 (r-1)\, G(r\, E_P\, t),
          \qquad G(m) = \sum_{j=0}^{\lfloor m \rfloor - 1} \gamma^j
          + (m - \lfloor m \rfloor)\, \gamma^{\lfloor m \rfloor}

(``G(m) <= min(m, 1/(1 - gamma))``; ``H = 0`` for ``r < 2``). The plan plays
a type-blind policy after round 1, whose value is the same in both worlds,
so the plan's side has no heterogeneity part. (The estimate truncates at
``L``: it assumes later recruits are also given at most ``L`` coupons each.)

Paper's form, for comparison: ``2(1+gamma) r sum_i TV(D_i, D^_i) + c TV(P, P^)
+ c r E TV(D, Dbar)``, ``c = 2 gamma r / (1 - gamma)``, every TV on the full
laws and the frontier sum over everyone; no finite value at ``gamma = 1``.

Weighted recruits (priority subgroups)
--------------------------------------
With recruit weights (``w_di = E[w(X') | x_i]`` under sample ``d``, and the
pooled weight ``wbar_d`` of a future recruit's recruit) the objective counts
each recruit at its weight. Both bounds then run on *value curves* instead of
survival curves, while every distance between capacity laws (the TVs) is
unchanged, since a coupon brings a recruit whatever their weight:

* single round: person ``i``'s curves ``S_di(l) w_di`` are divided by
  ``m_i = max_d w_di``, which keeps them in ``[0, 1]`` and non-increasing,
  and ``m_i`` is passed as the per-person weight: the bound above with
  weights ``m_i`` is then the bound of the weighted loss (the upper values
  ``a`` stay capped at ``m_i``, a valid cap for every sample's truth);
* multi-round: every reward is divided by one constant
  ``c = max(max_di w_di, max_d wbar_d)``, so that each recruit is worth at
  most 1 and the derivation above holds as written, with reward envelopes
  ``|S_d w_d - E[S w]| / c`` on the frontier and
  ``|wbar_d Sbar_d(l) - wbar^ S^(l)| / c`` in the pooled population
  (``wbar^`` the plug-in pooled weight), the plug-in table ``wbar^ U^ / c``
  for the ranges, and the heterogeneity reward distance
  ``sum_l |w_j S_j(l) - wbar Sbar(l)| / c``; the total is multiplied by ``c``.

Estimates
---------
The truth is unknown, so every distance is estimated and says how:

* **posterior spread** (the bound's total): each posterior sample in turn is
  taken as the truth (envelope ``eps = |S_d - S^|``, its pooled law, its
  frontier laws for the heterogeneity), the bound is computed per sample and
  the reported total is a posterior quantile (default 90%) of the per-sample
  totals; the parts are those of the sample at that quantile, so they add up;
* **posterior predictive check** (beside the bound, as a check): the
  per-person TV beyond the posterior from :func:`ppc_tv`, used as a constant
  envelope (``|S(l) - S^(l)| <= TV`` for every ``l``).

Whether it informs
------------------
Every report carries ``informative`` (total ``<=`` the plan's value) and,
when it does not inform, says so in words, names the part that dominates and
what would shrink it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from planning.curves import as_survival_samples, pmf_from_survival, survival_from_pmf, tv_distance
from planning.greedy import _check_budget, _check_caps, _check_weights, greedy_order
from planning.pgf import check_pmf, extend_pmf

__all__ = [
    "BoundPart",
    "BoundReport",
    "Estimate",
    "MultiRoundTerms",
    "SingleRoundTerms",
    "frontier_tv_from_samples",
    "heterogeneity_tv",
    "multi_round_bound",
    "multi_round_report",
    "multi_round_terms",
    "population_error",
    "ppc_tv",
    "single_round_bound",
    "single_round_report",
    "single_round_terms",
    "tightened_multi_round_bound",
    "tightened_single_round_bound",
    "transition_tv_from_samples",
    "truncated_tv",
]

#: Entries (sample x person x level) processed at once by the per-sample bounds.
CHUNK_ENTRIES = 2_000_000


@dataclass(frozen=True)
class Estimate:
    """A number and the sentence saying how it was obtained."""

    value: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": float(self.value), "method": self.method}


@dataclass
class BoundPart:
    """One additive part of a bound. ``value`` is None when it is not finite."""

    name: str
    value: float | None
    formula: str
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BoundReport:
    """A misspecification bound, its parts, how each was estimated and whether it informs.

    Attributes
    ----------
    kind
        ``"single-round"`` or ``"multi-round"``.
    total
        Sum of the parts; ``None`` when no finite bound exists.
    parts
        The additive parts.
    finite
        Whether a finite bound exists.
    message
        One line in words: what the bound is.
    checks
        Alternative estimates reported beside the bound (posterior predictive
        checks), not added to ``total``.
    settings
        Budget, gamma, quantile.
    informative
        ``total <= plan_value``; ``None`` when no plan value was given or no
        finite bound exists.
    paper_total
        The paper's form estimated the same way (``None`` when not finite).
    plan_value
        The plan's value the bound is compared with.
    verdict
        Words: whether the bound informs and, if not, which part dominates and
        what would shrink it.
    """

    kind: str
    total: float | None
    parts: list[BoundPart]
    finite: bool
    message: str
    checks: list[BoundPart] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    informative: bool | None = None
    paper_total: float | None = None
    plan_value: float | None = None
    verdict: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (no infinities: missing values are ``None``)."""
        return {
            "kind": self.kind,
            "total": _num(self.total),
            "parts": [p.to_dict() for p in self.parts],
            "informative": self.informative,
            "paper_total": _num(self.paper_total),
            "plan_value": _num(self.plan_value),
            "finite": self.finite,
            "message": self.message,
            "verdict": self.verdict,
            "checks": [p.to_dict() for p in self.checks],
            "settings": dict(self.settings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BoundReport:
        """Inverse of :meth:`to_dict` (older dictionaries without the verdict keys load too)."""
        return cls(
            kind=data["kind"],
            total=data["total"],
            parts=[BoundPart(**p) for p in data["parts"]],
            finite=data["finite"],
            message=data["message"],
            checks=[BoundPart(**p) for p in data.get("checks", [])],
            settings=dict(data.get("settings", {})),
            informative=data.get("informative"),
            paper_total=data.get("paper_total"),
            plan_value=data.get("plan_value"),
            verdict=data.get("verdict", ""),
        )

    def text(self) -> str:
        """Human-readable lines: the total and verdict, then each part with its estimate."""
        lines = [self.message]
        if self.verdict:
            lines.append(f"  {self.verdict}")
        said = None
        for part in self.parts:
            value = "not finite" if part.value is None else f"{part.value:.3f}"
            lines.append(f"  {part.name:<20} {value:>10}   {part.formula}")
            if part.method != said:
                lines.append(f"  {'':<20} {'':>10}   estimated by: {part.method}")
                said = part.method
        for part in self.checks:
            value = "n/a" if part.value is None else f"{part.value:.3f}"
            lines.append(f"  check: {part.name}: {value} ({part.formula}); {part.method}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _survival(pmf: np.ndarray) -> np.ndarray:
    """``S(l)``, ``l = 1..J``, of pmfs over ``0..J`` (the last entry the tail) along the last axis."""
    return survival_from_pmf(pmf, pmf.shape[-1] - 1)


# ---------------------------------------------------------------------------- helpers


def _curves_pair(true: Any, estimate: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(true, dtype=np.float64)
    b = np.asarray(estimate, dtype=np.float64)
    if a.shape[-2:] != b.shape[-2:] or a.ndim < 2 or b.ndim < 2:
        raise ValueError(
            f"S_true and S_hat must both be (person, L) (or with a leading sample axis); "
            f"got {a.shape} and {b.shape}"
        )
    return a, b


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _quantile(values: np.ndarray, q: float) -> float:
    if not 0.0 < q <= 1.0:
        raise ValueError(f"quantile must be in (0, 1]; got {q}")
    return float(np.quantile(values, q))


def _quantile_index(values: np.ndarray, q: float) -> int:
    """Index of the sample whose value is the ``q`` quantile (``method="higher"``)."""
    if not 0.0 < q <= 1.0:
        raise ValueError(f"quantile must be in (0, 1]; got {q}")
    target = float(np.quantile(values, q, method="higher"))
    return int(np.flatnonzero(values == target)[0])


def _allocation(allocation: Any, n: int, caps: np.ndarray) -> np.ndarray:
    k = np.asarray(allocation)
    if k.shape != (n,) or np.any(k < 0) or np.any(k != np.round(k)):
        raise ValueError(f"allocation must be ({n},) whole numbers >= 0; got shape {k.shape}")
    k = k.astype(np.int64)
    if np.any(k > caps):
        bad = int(np.flatnonzero(k > caps)[0])
        raise ValueError(f"allocation[{bad}] = {k[bad]} exceeds its cap {caps[bad]} (or L)")
    return k


def _envelope(envelope: Any, shape: tuple[int, int]) -> np.ndarray:
    """Envelope as ``(sample, person, L)``, non-negative and finite."""
    env = np.asarray(envelope, dtype=np.float64)
    if env.ndim == 0:
        env = np.full((1, *shape), float(env))
    elif env.ndim == 2:
        env = env[None]
    if env.ndim != 3 or env.shape[1:] != shape:
        raise ValueError(
            f"envelope must be a scalar, (person, L) or (sample, person, L) with (person, L) = "
            f"{shape}; got {env.shape}"
        )
    if not np.all(np.isfinite(env)) or np.any(env < 0):
        raise ValueError("envelope must be finite and non-negative")
    return env


def _chunks(n_samples: int, per_sample: int):
    step = max(1, CHUNK_ENTRIES // max(1, per_sample))
    for lo in range(0, n_samples, step):
        yield slice(lo, min(n_samples, lo + step))


def _top_cumsum(values: np.ndarray, count: int) -> np.ndarray:
    """``(rows, count + 1)``: sums of the ``0..count`` largest entries per row (``-inf`` = absent)."""
    rows, size = values.shape
    out = np.zeros((rows, count + 1))
    take = min(count, size)
    if take == 0:
        return out
    top = np.partition(values, size - take, axis=1)[:, size - take :]
    top = -np.sort(-top, axis=1)
    top = np.where(np.isfinite(top), np.maximum(top, 0.0), 0.0)
    out[:, 1 : take + 1] = np.cumsum(top, axis=1)
    out[:, take + 1 :] = out[:, take : take + 1]
    return out


def truncated_tv(p: Any, q: Any) -> np.ndarray:
    r"""TV distances of the truncated laws, ``TV(min(C, k), min(C', k))`` for ``k = 1..K``.

    Parameters
    ----------
    p, q
        ``(..., K + 1)`` laws of ``min(C, K)`` and ``min(C', K)`` (last entry the
        tail mass ``P(C >= K)``), broadcasting.

    Returns
    -------
    numpy.ndarray
        ``(..., K)``: :math:`\tfrac12 \sum_{j<k} |p_j - q_j| + \tfrac12 |P(C \ge k) - P(C' \ge k)|`,
        non-decreasing in ``k``; the last entry is the TV of the laws of ``min(C, K)``.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    diff = p - q
    below = np.cumsum(np.abs(diff[..., :-1]), axis=-1)  # sum_{j<=k-1} |p_j - q_j|, k = 1..K
    tail = np.abs(np.cumsum(diff[..., ::-1], axis=-1)[..., ::-1][..., 1:])  # |S_p(k) - S_q(k)|
    out = 0.5 * (below + tail)
    return np.maximum.accumulate(np.clip(out, 0.0, 1.0), axis=-1)


# ---------------------------------------------------------------------------- single round


def single_round_bound(S_true: Any, S_hat: Any, budget: int, weights: Any = None) -> Any:
    r"""The paper's single-round bound :math:`\sum_i w_i \sum_{l \le s} |S_i(l) - \hat S_i(l)|`.

    Parameters
    ----------
    S_true, S_hat
        ``(person, L)`` curves; a leading sample axis on either broadcasts and
        returns one bound per sample.
    budget
        Coupons ``s``; levels ``l > min(s, L)`` do not enter.
    weights
        Optional per-person recruit weights (the loss is then weighted).

    Returns
    -------
    float or numpy.ndarray
        The bound: never below the loss of the greedy run on ``S_hat`` and
        scored under ``S_true`` (tight, see the module docstring).
    """
    budget = _check_budget(budget)
    a, b = _curves_pair(S_true, S_hat)
    width = min(budget, a.shape[-1])
    diff = np.abs(a[..., :width] - b[..., :width]).sum(axis=-1)
    if weights is not None:
        diff = diff * np.asarray(weights, dtype=np.float64)
    total = diff.sum(axis=-1)
    return float(total) if np.ndim(total) == 0 else total


@dataclass(frozen=True)
class SingleRoundTerms:
    """Per-sample single-round bounds (module docstring), each a ``(sample,)`` array.

    Attributes
    ----------
    total
        The tightened bound: the exchange form, or the smaller of the exchange
        and two-term forms when the plan maximises the plug-in objective.
    passed_over, own, margin
        Parts of ``total``: error allowance on coupons the plan passed over
        (the ``k*`` term), on the plan's own coupons (the ``k^`` term), and
        minus the plug-in margin (``<= 0`` for a greedy plan); they add up to
        ``total``.
    exchange, two_term, paper
        The three forms.
    plan_is_greedy
        Whether the plan maximises the plug-in objective at its spend (the
        two-term and paper's forms apply only then).
    """

    total: np.ndarray
    passed_over: np.ndarray
    own: np.ndarray
    margin: np.ndarray
    exchange: np.ndarray
    two_term: np.ndarray
    paper: np.ndarray
    plan_is_greedy: bool


def single_round_terms(
    S_hat: Any,
    allocation: Any,
    envelope: Any,
    caps: Any = None,
    weights: Any = None,
    plan_is_greedy: bool | None = None,
) -> SingleRoundTerms:
    r"""Tightened single-round bound for every envelope (vectorised over samples).

    Parameters
    ----------
    S_hat
        ``(person, L)`` plug-in curves the plan was made with.
    allocation
        ``(person,)`` the plan ``k^``; its spend ``s`` is the comparison budget.
    envelope
        ``eps >= |S - S^|`` entrywise: a scalar, ``(person, L)`` or
        ``(sample, person, L)`` (one bound per sample).
    caps
        Per-person caps (the comparator respects them too).
    weights
        Optional per-person recruit weights ``w_i`` (values ``w_i S_i(l)``).
    plan_is_greedy
        Whether ``k^`` maximises ``f^`` at its spend; checked when ``None``.

    Returns
    -------
    SingleRoundTerms
    """
    hat = as_survival_samples(S_hat, "S_hat")
    if hat.shape[0] != 1:
        raise ValueError(f"S_hat must be (person, L); got {hat.shape}")
    hat = np.minimum.accumulate(hat[0], axis=1)
    n, length = hat.shape
    caps_arr = _check_caps(caps, n, length)
    w = _check_weights(weights, n)
    k = _allocation(allocation, n, caps_arr)
    env = _envelope(envelope, (n, length))
    spend = int(k.sum())
    n_env = env.shape[0]
    zeros = np.zeros(n_env)
    if plan_is_greedy is None:
        from planning.regret import single_round_regret_samples

        gap = single_round_regret_samples(hat, k, caps_arr, w)[0][0]
        plan_is_greedy = bool(gap <= 1e-9 * max(1.0, float(hat.sum())))
    if spend == 0:
        return SingleRoundTerms(zeros, zeros, zeros, zeros, zeros, zeros, zeros, plan_is_greedy)
    width = min(length, spend)
    scale = np.ones(n) if w is None else w
    levels = np.arange(width)
    inside = levels[None, :] < k[:, None]  # the plan's coupons
    allowed = levels[None, :] < np.minimum(caps_arr, spend)[:, None]
    outside = allowed & ~inside
    n_outside = int(outside.sum())
    plan_person = np.repeat(np.arange(n), k)
    plan_level = np.arange(spend) - np.repeat(np.cumsum(k) - k, k)
    hat_w = hat[:, :width] * scale[:, None]
    top = scale[:, None]
    flat_outside = np.flatnonzero(outside.ravel())
    paper, own_all = np.empty(n_env), np.empty(n_env)
    exchange, two_term = np.empty(n_env), np.empty(n_env)
    passed, own, margin = np.empty(n_env), np.empty(n_env), np.empty(n_env)
    for part in _chunks(n_env, n * length):
        e = env[part] * scale[None, :, None]
        paper[part] = e[:, :, :width].sum(axis=(1, 2))
        e = e[:, :, :width]
        e_plan = e[:, plan_person, plan_level]  # (chunk, s)
        e_out = e.reshape(e.shape[0], -1)[:, flat_outside]
        own_all[part] = e_plan.sum(axis=1)
        two_term[part] = own_all[part] + _top_cumsum(e_out, spend)[:, -1]
        # Upper values a on coupons outside the plan (running minimum from k^_i + 1).
        up = np.minimum(top[None], hat_w[None] + e)
        up = np.where(inside[None], np.inf, up)
        up = np.minimum.accumulate(up, axis=2).reshape(e.shape[0], -1)[:, flat_outside]
        # Lower values b on the plan's coupons (running maximum down from k^_i).
        low = np.maximum(0.0, hat_w[None] - e)
        low = np.where(inside[None], low, -np.inf)
        low = np.maximum.accumulate(low[:, :, ::-1], axis=2)[:, :, ::-1][:, plan_person, plan_level]
        m = min(spend, n_outside)
        if m == 0:
            exchange[part] = passed[part] = own[part] = margin[part] = 0.0
            continue
        cut = up.shape[1] - m
        pick = np.argpartition(up, cut, axis=1)[:, cut:]
        order = np.argsort(-np.take_along_axis(up, pick, axis=1), axis=1, kind="stable")
        a_idx = np.take_along_axis(pick, order, axis=1)  # positions within flat_outside
        a_val = np.take_along_axis(up, a_idx, axis=1)
        b_idx = np.argsort(low, axis=1, kind="stable")[:, :m]
        b_val = np.take_along_axis(low, b_idx, axis=1)
        inc = a_val - b_val
        use = inc > 0
        a_hat = hat_w.ravel()[flat_outside][a_idx]
        b_hat = hat_w[plan_person, plan_level][b_idx]
        exchange[part] = np.where(use, inc, 0.0).sum(axis=1)
        passed[part] = np.where(use, a_val - a_hat, 0.0).sum(axis=1)
        own[part] = np.where(use, b_hat - b_val, 0.0).sum(axis=1)
        margin[part] = exchange[part] - passed[part] - own[part]
    if plan_is_greedy:
        pick_two = two_term < exchange
        total = np.where(pick_two, two_term, exchange)
        # two-term parts: T1 (passed over) and T2 (the plan's own), no margin
        passed = np.where(pick_two, two_term - own_all, passed)
        own = np.where(pick_two, own_all, own)
        margin = np.where(pick_two, 0.0, margin)
    else:
        total = exchange
    return SingleRoundTerms(
        total=total,
        passed_over=passed,
        own=own,
        margin=margin,
        exchange=exchange,
        two_term=two_term,
        paper=paper,
        plan_is_greedy=plan_is_greedy,
    )


def tightened_single_round_bound(
    S_true: Any,
    S_hat: Any,
    allocation: Any = None,
    budget: int | None = None,
    caps: Any = None,
    weights: Any = None,
) -> Any:
    """Tightened single-round bound with the truth known (envelope ``|S_true - S_hat|``).

    ``allocation`` defaults to the greedy on ``S_hat`` with ``budget`` coupons.
    Returns a float, or one bound per sample when ``S_true`` has a sample axis.
    """
    a, b = _curves_pair(S_true, S_hat)
    if b.ndim != 2:
        raise ValueError("S_hat must be (person, L)")
    if allocation is None:
        if budget is None:
            raise ValueError("give the allocation or the budget of the greedy on S_hat")
        caps_arr = _check_caps(caps, *b.shape)
        person, _, _ = greedy_order(
            np.minimum.accumulate(b, axis=1),
            _check_budget(budget),
            caps_arr,
            _check_weights(weights, b.shape[0]),
        )
        allocation = np.bincount(person, minlength=b.shape[0])
    terms = single_round_terms(b, allocation, np.abs(a - b), caps, weights)
    return float(terms.total[0]) if a.ndim == 2 else terms.total


# ---------------------------------------------------------------------------- verdicts

_ADVICE = {
    "passed-over coupons": (
        "narrower capacity curves for the people next in line: more respondents with closed "
        "coupon windows, fewer groups (pool small sites), or a smaller round budget"
    ),
    "plan's coupons": (
        "narrower capacity curves for the people the plan gives coupons: more respondents "
        "with closed coupon windows in their groups, or fewer groups"
    ),
    "frontier": (
        "narrower curves for the frontier members who can be given coupons (more closed "
        "coupon windows in their groups, fewer groups) or spending fewer coupons this round"
    ),
    "transition": (
        "a more precise pooled capacity law (more closed coupon windows) or a shorter budget "
        "horizon (fewer coupons left, or a smaller gamma)"
    ),
    "heterogeneity": (
        "a shorter budget horizon (fewer coupons left, or a smaller gamma); it measures how "
        "much recruiters differ from the pooled law, which more data does not remove"
    ),
}


def _verdict(
    total: float | None, plan_value: float | None, parts: list[BoundPart], unit: str
) -> tuple[bool | None, str]:
    """``(informative, words)`` for a bound beside a plan's value."""
    if total is None:
        return None, "No finite bound: nothing is guaranteed about model error."
    if plan_value is None or not math.isfinite(plan_value):
        return None, "No plan value given: cannot say whether the bound informs."
    if total <= plan_value:
        share = f" ({100 * total / plan_value:.0f}% of it)" if plan_value > 0 else ""
        return True, (
            f"Informs: model error of the estimated size costs at most {total:.2f} {unit} "
            f"against the plan's {plan_value:.2f}{share}."
        )
    positive = [p for p in parts if p.value is not None and p.value > 0]
    words = (
        f"Does not inform at this budget: the bound ({total:.2f} {unit}) exceeds the plan's "
        f"value ({plan_value:.2f}), so it guarantees nothing and is not a prediction of loss."
    )
    if positive:
        main = max(positive, key=lambda p: p.value)
        words += (
            f" The {main.name} part dominates ({main.value:.2f} of {total:.2f}); it would shrink "
            f"with {_ADVICE.get(main.name, 'narrower posteriors')}."
        )
    return False, words


def _plan_value(samples: np.ndarray, allocation: np.ndarray, weights: np.ndarray | None) -> float:
    """Posterior-mean (weighted) expected recruits of ``allocation``."""
    from planning.greedy import allocation_values

    per_person = allocation_values(samples, allocation)
    if weights is not None:
        per_person = per_person * weights
    return float(per_person.sum(axis=1).mean())


def _normalised_values(samples: np.ndarray, weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample weights into the curves: ``(S_d w_d / m, m)`` with ``m_i = max_d w_di``."""
    n_samples, n, _ = samples.shape
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != n or w.shape[0] not in (1, n_samples):
        raise ValueError(
            f"weights must be (person,) or (sample, person) = ({n_samples}, {n}); got {w.shape}"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    top = w.max(axis=0)
    ratio = w / np.where(top > 0, top, 1.0)
    return samples * ratio[..., None], top


def single_round_report(
    survival_samples: Any,
    budget: int,
    plugin: Any = None,
    quantile: float = 0.9,
    weights: Any = None,
    ppc: Estimate | None = None,
    *,
    allocation: Any = None,
    caps: Any = None,
    plan_value: float | None = None,
) -> BoundReport:
    """Estimated single-round bound (tightened, with the paper's beside it).

    Each posterior sample is taken as a possible truth with envelope
    ``|S_d - S^|``; the total is the ``quantile`` of the per-sample tightened
    bounds and the parts those of the sample at that quantile. The paper's
    form is estimated the same way (``paper_total``). If a PPC estimate of the
    per-person TV is given, the tightened bound with that constant envelope is
    reported as a check, beside the paper's ``n * min(s, L) * TV``.

    Parameters
    ----------
    survival_samples
        ``(sample, person, L)`` posterior curves.
    budget
        Coupons of the plan (its spend).
    plugin
        ``(person, L)`` curves the plan used (default: the posterior mean).
    quantile
        Posterior quantile of the per-sample bounds.
    weights
        Optional recruit weights: ``(person,)``, or ``(sample, person)``
        (``E[w(X') | x_i]`` per sample; the plug-in is then the posterior mean
        of the value curves ``S_d w_d`` and ``plugin`` must be ``None``; see
        the module docstring). The PPC check treats the weights as known.
    ppc
        Posterior predictive TV estimate (:func:`ppc_tv`).
    allocation
        The plan (default: the greedy on ``plugin`` with ``budget`` coupons).
    caps
        Per-person caps.
    plan_value
        The plan's value (default: its posterior-mean expected recruits).
    """
    samples = as_survival_samples(survival_samples, "survival_samples")
    budget = _check_budget(budget)
    if weights is not None and np.ndim(weights) == 2:
        if plugin is not None:
            raise ValueError(
                "with per-sample weights the plug-in is the mean value curve: leave plugin None"
            )
        samples, weights = _normalised_values(samples, weights)
    hat = samples.mean(axis=0) if plugin is None else np.asarray(plugin, dtype=np.float64)
    n_samples, n_people, length = samples.shape
    caps_arr = _check_caps(caps, n_people, length)
    w = _check_weights(weights, n_people)
    if allocation is None:
        person, _, _ = greedy_order(np.minimum.accumulate(hat, axis=1), budget, caps_arr, w)
        allocation = np.bincount(person, minlength=n_people)
    k = _allocation(allocation, n_people, caps_arr)
    spend = int(k.sum())
    if plan_value is None:
        plan_value = _plan_value(samples, k, w)
    terms = single_round_terms(hat, k, np.abs(samples - hat[None]), caps_arr, w)
    idx = _quantile_index(terms.total, quantile)
    total = float(terms.total[idx])
    paper_total = float(np.quantile(terms.paper, quantile, method="higher"))
    if n_samples == 1:
        how = "a single sample: the posterior spread is unknown, so the bound is 0 by construction"
    else:
        how = (
            f"{quantile:.0%} posterior quantile over {_count(n_samples, 'sample')} with each "
            "sample's curves as the truth and the plan's plug-in curves as S^ (parts: the sample "
            "at that quantile)"
        )
    parts = [
        BoundPart(
            "passed-over coupons",
            float(terms.passed_over[idx]),
            "k* term: error allowance on the coupons the plan did not give",
            how,
        ),
        BoundPart(
            "plan's coupons",
            float(terms.own[idx]),
            "k^ term: error allowance on the plan's own coupons",
            how,
        ),
        BoundPart(
            "margin",
            float(terms.margin[idx]),
            "minus the plug-in margin of the plan's coupons over those passed over",
            how,
        ),
    ]
    checks = []
    if ppc is not None:
        ppc_terms = single_round_terms(
            hat, k, float(ppc.value), caps_arr, w, plan_is_greedy=terms.plan_is_greedy
        )
        checks.append(
            BoundPart(
                "tightened bound (PPC)",
                float(ppc_terms.total[0]),
                "tightened bound with |S - S^| <= TV_ppc everywhere",
                ppc.method,
            )
        )
        width = min(spend, length)
        checks.append(
            BoundPart(
                "curve error (PPC)",
                float(n_people * width * ppc.value),
                "paper's form: n * min(s, L) * TV_ppc",
                ppc.method,
            )
        )
    informative, verdict = _verdict(total, plan_value, parts, "recruits")
    if not terms.plan_is_greedy:
        verdict += (
            " The plan does not maximise the plug-in expected recruits (e.g. a robust "
            "plan), so only the exchange form applies; the paper's form is shown for "
            "reference."
        )
    return BoundReport(
        kind="single-round",
        total=total,
        parts=parts,
        finite=True,
        message=(
            f"Single-round misspecification bound: expected recruits lost to model error "
            f"<= {total:.3f} (paper's form {paper_total:.3f})"
        ),
        checks=checks,
        settings={"budget": spend, "quantile": quantile},
        informative=informative,
        paper_total=paper_total,
        plan_value=float(plan_value),
        verdict=verdict,
    )


# ---------------------------------------------------------------------------- multi-round


def _ranges(remaining: int, table: Any) -> np.ndarray:
    """``R(y)``, ``y = 0..r``: the range of plug-in values with ``y`` coupons left."""
    plain = np.arange(remaining + 1, dtype=np.float64)
    if table is None:
        return plain
    u = np.asarray(table, dtype=np.float64)
    if u.ndim != 2 or u.shape[0] <= remaining:
        raise ValueError(f"table must be the (b+1, b+1) plug-in U table with b >= {remaining}")
    return np.minimum(plain, np.clip(u[: remaining + 1].max(axis=1), 0.0, None))


def population_error(
    e: Any, tau: Any, gamma: float, remaining: int, ranges: Any = None
) -> np.ndarray:
    r"""``B(y)``, ``y = 0..r``: policy-evaluation error of the population surrogate (Step 4).

    Parameters
    ----------
    e
        ``(..., >= r)`` ``|Sbar(l) - S^(l)|`` for ``l = 1..``.
    tau
        ``(..., >= r)`` ``TV(min(Cbar, k), min(C^, k))`` for ``k = 1..``.
    gamma
        Discount in ``(0, 1]``.
    remaining
        ``r``.
    ranges
        ``(r + 1,)`` ``R(y)`` (default ``y``).

    Returns
    -------
    numpy.ndarray
        ``(..., r + 1)``.
    """
    r = _check_budget(remaining, "remaining")
    e = np.asarray(e, dtype=np.float64)
    tau = np.asarray(tau, dtype=np.float64)
    lead = np.broadcast_shapes(e.shape[:-1], tau.shape[:-1])
    out = np.zeros((*lead, r + 1))
    if r == 0:
        return out
    if e.shape[-1] < r or tau.shape[-1] < r:
        raise ValueError(f"e and tau need at least {r} levels")
    R = np.arange(r + 1, dtype=np.float64) if ranges is None else np.asarray(ranges, dtype=float)
    zero = np.zeros((*e.shape[:-1], 1))
    e_pad = np.concatenate([zero, e[..., :r], zero], axis=-1)  # e_pad[l] = e(l), l <= r + 1
    e_cum = np.cumsum(e_pad, axis=-1)
    t_pad = np.concatenate(
        [np.zeros((*tau.shape[:-1], 1)), tau[..., :r], tau[..., r - 1 : r]], axis=-1
    )
    s_all, n_all = np.nonzero(np.tril(np.ones((r, r), dtype=bool)))
    s_all, n_all = s_all + 1, n_all + 1  # pairs 1 <= n <= s <= r, sorted by s
    a, c = s_all // n_all, s_all % n_all
    starts = np.searchsorted(s_all, np.arange(1, r + 1))
    rho = np.maximum.reduceat(n_all * e_cum[..., a] + c * e_pad[..., a + 1], starts, axis=-1)
    theta = np.minimum(
        1.0,
        np.maximum.reduceat((n_all - c) * t_pad[..., a] + c * t_pad[..., a + 1], starts, axis=-1),
    )
    # B(y) = max_{1<=s<=y} rho(s) + gamma R(y - s) theta(s) + gamma B(y - s)
    out = np.zeros((*np.broadcast_shapes(rho.shape[:-1], theta.shape[:-1]), r + 1))
    for y in range(1, r + 1):
        s = np.arange(1, y + 1)
        values = rho[..., :y] + gamma * R[y - s] * theta[..., :y] + gamma * out[..., y - s]
        out[..., y] = values.max(axis=-1)
    return out


@dataclass(frozen=True)
class MultiRoundTerms:
    """Per-sample multi-round bounds (module docstring), each a ``(sample,)`` array.

    ``total = frontier + transition + heterogeneity``; ``comparator_spend`` is
    the spend ``s`` attaining the comparator's maximum; ``paper`` the paper's
    form (NaN for ``gamma = 1``).
    """

    total: np.ndarray
    frontier: np.ndarray
    transition: np.ndarray
    heterogeneity: np.ndarray
    comparator_spend: np.ndarray
    paper: np.ndarray


def multi_round_terms(
    envelope: Any,
    frontier_tv: Any,
    allocation: Any,
    population_e: Any,
    population_tau: Any,
    gamma: float,
    remaining_budget: int,
    *,
    caps: Any = None,
    table: Any = None,
    heterogeneity: tuple[Any, Any] | None = None,
    paper_tvs: tuple[Any, Any, Any] | None = None,
) -> MultiRoundTerms:
    r"""The multi-round bound of the module docstring from given distances.

    Parameters
    ----------
    envelope
        ``(sample, person, L)`` (or ``(person, L)``) ``eps >= |S_i(l) - S^_i(l)|``.
    frontier_tv
        Same shape: ``TV(min(C_i, k), min(C^_i, k))`` for ``k = 1..L``
        (:func:`truncated_tv`).
    allocation
        ``(person,)`` the plan's round-1 allocation ``k^``.
    population_e, population_tau
        ``(sample, >= r)`` (or 1-D): ``|Sbar(l) - S^(l)|`` and
        ``TV(min(Cbar, k), min(C^, k))`` of the pooled laws, ``l, k = 1..r``.
    gamma
        Discount in ``(0, 1]``.
    remaining_budget
        ``r``.
    caps
        Per-person caps on the frontier.
    table
        Optional plug-in surrogate table ``U^`` (tightens the ranges).
    heterogeneity
        Optional ``(E delta, E t)`` per sample (or scalars): mean over the
        population of ``sum_{l<=L} |S_D(l) - Sbar(l)|`` and of
        ``TV(min(C_D, L), min(Cbar, L))``; ``None``: no heterogeneity part.
    paper_tvs
        Optional ``(sum_i TV(D_i, D^_i), TV(Dbar, D^), E TV(D, Dbar))`` per
        sample for the paper's form.
    """
    gamma = float(gamma)
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"gamma must be in (0, 1]; got {gamma}")
    r = _check_budget(remaining_budget, "remaining_budget")
    env = np.asarray(envelope, dtype=np.float64)
    if env.ndim == 2:
        env = env[None]
    tvs = np.asarray(frontier_tv, dtype=np.float64)
    if tvs.ndim == 2:
        tvs = tvs[None]
    if env.ndim != 3 or tvs.shape[1:] != env.shape[1:]:
        raise ValueError(
            f"envelope and frontier_tv must be (sample, person, L); got {env.shape} and {tvs.shape}"
        )
    n_samples = max(env.shape[0], tvs.shape[0])
    _, n, length = env.shape
    caps_arr = _check_caps(caps, n, length)
    k = _allocation(allocation, n, caps_arr)
    spend = int(k.sum())
    if spend > r:
        raise ValueError(f"the allocation spends {spend} coupons but only {r} remain")
    R = _ranges(r, table)
    pe = np.atleast_2d(np.asarray(population_e, dtype=np.float64))
    pt = np.atleast_2d(np.asarray(population_tau, dtype=np.float64))
    B = population_error(pe, pt, gamma, r, R)  # (sample or 1, r + 1)
    B = np.broadcast_to(B, (n_samples, r + 1))
    levels = np.arange(length)
    allowed = levels[None, :] < np.minimum(caps_arr, r)[:, None]
    inside = levels[None, :] < k[:, None]
    outside = allowed & ~inside
    plan_person = np.repeat(np.arange(n), k)
    plan_level = np.arange(spend) - np.repeat(np.cumsum(k) - k, k)
    env = np.broadcast_to(env, (n_samples, n, length))
    tvs = np.broadcast_to(tvs, (n_samples, n, length))
    plan_eps = env[:, plan_person, plan_level].sum(axis=1)
    given = np.flatnonzero(k)
    plan_tv = np.minimum(1.0, tvs[:, given, k[given] - 1].sum(axis=1))
    s_range = np.arange(r + 1)
    max_spend = min(r, int(np.minimum(caps_arr, r).sum()))
    top_e = np.empty((n_samples, r + 1))
    top_d = np.empty((n_samples, r + 1))
    flat_out = np.flatnonzero(outside.ravel())
    flat_all = np.flatnonzero(allowed.ravel())
    for part in _chunks(n_samples, n * length):
        e_out = env[part].reshape(-1, n * length)[:, flat_out]
        top_e[part] = _top_cumsum(e_out, r)
        inc = np.diff(tvs[part], axis=2, prepend=0.0).clip(0.0, None)
        top_d[part] = _top_cumsum(inc.reshape(-1, n * length)[:, flat_all], r)
    comp = top_e + gamma * R[r - s_range] * np.minimum(1.0, top_d)
    comp_all = comp + gamma * B[:, r - s_range]
    comp_all[:, max_spend + 1 :] = -np.inf
    best = np.argmax(comp_all, axis=1)
    rows = np.arange(n_samples)
    frontier = plan_eps + gamma * R[r - spend] * plan_tv + comp[rows, best]
    transition = gamma * B[:, r - spend] + gamma * B[rows, r - best]
    if heterogeneity is None or r < 2:
        hetero = np.zeros(n_samples)
    else:
        mean_delta = np.broadcast_to(np.asarray(heterogeneity[0], dtype=float), (n_samples,))
        mean_t = np.broadcast_to(np.asarray(heterogeneity[1], dtype=float), (n_samples,))
        hetero = gamma * r * mean_delta + gamma**2 * (r - 1) * _front_loaded(r * mean_t, gamma)
    if paper_tvs is None or gamma >= 1.0:
        paper = np.full(n_samples, np.nan)
    else:
        f_tv, p_tv, h_tv = (
            np.broadcast_to(np.asarray(x, dtype=float), (n_samples,)) for x in paper_tvs
        )
        c = 2 * gamma * r / (1 - gamma)
        paper = 2 * (1 + gamma) * r * f_tv + c * p_tv + c * r * h_tv
    return MultiRoundTerms(
        total=frontier + transition + hetero,
        frontier=frontier,
        transition=transition,
        heterogeneity=hetero,
        comparator_spend=best,
        paper=paper,
    )


def _front_loaded(m: np.ndarray, gamma: float) -> np.ndarray:
    """``G(m) = sum_{j < floor(m)} gamma^j + frac(m) gamma^floor(m)`` (heterogeneity part)."""
    m = np.asarray(m, dtype=np.float64)
    whole = np.floor(m)
    if gamma >= 1.0:
        return m.copy()
    return (1.0 - gamma**whole) / (1.0 - gamma) + (m - whole) * gamma**whole


def _pooled_laws(pooled: Any, size: int) -> np.ndarray:
    """``(sample, size + 1)`` laws of ``min(C, size)`` from ``(sample, J)`` or ``(J,)`` pmfs."""
    arr = np.atleast_2d(np.asarray(pooled, dtype=np.float64))
    if arr.ndim != 2:
        raise ValueError(f"pooled laws must be (J,) or (sample, J); got {np.shape(pooled)}")
    return np.stack([extend_pmf(check_pmf(row, "pooled_pmf"), size) for row in arr])


def _pooled_distances(
    true_laws: np.ndarray, hat_law: np.ndarray, r: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(e, tau)`` of pooled laws of ``min(C, r)``: ``(sample, r)`` each."""
    surv_true = _survival(true_laws)
    surv_hat = _survival(hat_law)
    return np.abs(surv_true - surv_hat), truncated_tv(true_laws, hat_law)


def tightened_multi_round_bound(
    true_frontier: Any,
    est_frontier: Any,
    allocation: Any,
    true_pooled: Any,
    est_pooled: Any,
    gamma: float,
    remaining_budget: int,
    *,
    caps: Any = None,
    table: Any = None,
    population_laws: Any = None,
    future_cap: int | None = None,
    weights: tuple[Any, Any] | None = None,
    pooled_weight: tuple[float, float] | None = None,
) -> MultiRoundTerms:
    """The multi-round bound with the truth known (for tests and simulation studies).

    Parameters
    ----------
    true_frontier, est_frontier
        ``(person, L)`` true and plug-in frontier curves.
    allocation
        The plan's round-1 allocation.
    true_pooled, est_pooled
        Pooled capacity pmfs (missing mass: an atom at ``len(pmf)``); the true
        one is the mean law of later recruits.
    gamma, remaining_budget, caps, table
        As in :func:`multi_round_terms`.
    population_laws
        Optional ``(type, J)`` pmfs with ``(type,)`` weights as a pair
        ``(laws, weights)``: later recruits' own laws, for the heterogeneity
        part (their weighted mean must be ``true_pooled``).
    future_cap
        Most coupons a later recruit can be given (default ``r``): the
        heterogeneity distances are taken on capacity truncated there.
    weights, pooled_weight
        Optional ``(true, estimated)`` recruit weights of the frontier
        (``(person,)`` each) and of a future pooled recruit's recruit
        (scalars): the bound of the weighted objective (module docstring;
        ``table`` is then the *unweighted* plug-in table). Not combined with
        ``population_laws``.
    """
    a, b = _curves_pair(true_frontier, est_frontier)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError("true_frontier and est_frontier must be (person, L)")
    r = _check_budget(remaining_budget, "remaining_budget")
    tvs = truncated_tv(pmf_from_survival(a), pmf_from_survival(b))
    size = max(r, 1)
    t_law = _pooled_laws(true_pooled, size)
    h_law = _pooled_laws(est_pooled, size)
    pe, pt = _pooled_distances(t_law, h_law, size)
    c = 1.0
    if weights is not None or pooled_weight is not None:
        if population_laws is not None:
            raise ValueError("weights are not combined with population_laws")
        n = a.shape[0]
        w_t, w_e = (
            (np.ones(n), np.ones(n))
            if weights is None
            else (np.broadcast_to(np.asarray(x, dtype=float), (n,)) for x in weights)
        )
        p_t, p_e = (1.0, 1.0) if pooled_weight is None else (float(x) for x in pooled_weight)
        c = max(float(w_t.max(initial=0.0)), float(w_e.max(initial=0.0)), p_t, p_e) or 1.0
        a, b = a * (w_t / c)[:, None], b * (w_e / c)[:, None]
        s_t = _survival(t_law)
        s_e = _survival(h_law)
        pe = np.abs(p_t / c * s_t - p_e / c * s_e)
        if table is not None:
            table = np.asarray(table, dtype=np.float64) * (p_e / c)
    env = np.abs(a - b)
    het = None
    if population_laws is not None:
        laws, weights = population_laws
        length = max(1, r if future_cap is None else _check_budget(future_cap, "future_cap"))
        type_laws = _pooled_laws(laws, length)
        bar = _pooled_laws(true_pooled, length)
        weights = np.asarray(weights, dtype=float)
        s_types = _survival(type_laws)
        s_bar = _survival(bar)
        delta = np.abs(s_types - s_bar).sum(axis=1)
        t = tv_distance(type_laws, bar)
        het = (float(weights @ delta), float(weights @ t))
    terms = multi_round_terms(
        env, tvs, allocation, pe, pt, gamma, r, caps=caps, table=table, heterogeneity=het
    )
    if c == 1.0:
        return terms
    return MultiRoundTerms(
        total=terms.total * c,
        frontier=terms.frontier * c,
        transition=terms.transition * c,
        heterogeneity=terms.heterogeneity * c,
        comparator_spend=terms.comparator_spend,
        paper=terms.paper * c,
    )


def multi_round_report(
    survival_samples: Any,
    allocation: Any,
    pooled_pmf: Any,
    gamma: float,
    remaining_budget: int,
    *,
    plugin: Any = None,
    pooled_plugin: Any = None,
    caps: Any = None,
    quantile: float = 0.9,
    plan_value: float | None = None,
    table: Any = "auto",
    ppc: Estimate | None = None,
    heterogeneity: bool = True,
    weights: Any = None,
    pooled_weight: Any = None,
) -> BoundReport:
    """Estimated multi-round bound (laws that matter), with the paper's form beside it.

    Each posterior sample ``d`` is taken as the truth: frontier envelope
    ``|S_d - S^|`` and truncated TVs, pooled distances between the sample's
    pooled law and the plug-in one, and (for the heterogeneity part) the
    sample's frontier laws taken as draws from the population, compared with
    the sample's pooled law. The total is the ``quantile`` of the per-sample
    totals, with that sample's parts.

    Parameters
    ----------
    survival_samples
        ``(sample, person, L)`` frontier curves.
    allocation
        The plan's round-1 allocation.
    pooled_pmf
        ``(sample, J)`` pooled capacity laws (one per sample, or ``(J,)``).
    gamma
        Discount in ``(0, 1]``.
    remaining_budget
        Coupons left before this round, ``r``.
    plugin, pooled_plugin
        The plan's plug-in curves and pooled law (default: posterior means).
    caps
        Per-person caps.
    quantile
        Posterior quantile.
    plan_value
        The plan's value (discounted recruits) for the verdict.
    table
        Plug-in surrogate table ``U^`` with budget ``>= r`` (tightens the
        ranges ``R``); ``"auto"`` builds it from ``pooled_plugin`` when
        ``r <= 300`` (under a second), ``None`` uses ``R(y) = y``.
    ppc
        Posterior predictive TV estimate: the frontier part at that distance is
        reported as a check.
    heterogeneity
        Include the heterogeneity part (comparator that knows each recruit's law).
    weights, pooled_weight
        Optional recruit weights ``(sample, person)`` (or ``(person,)``) and
        pooled weights ``(sample,)`` (or a scalar): the bound of the weighted
        objective (module docstring); the frontier plug-in is then the mean
        value curve and the pooled one ``mean(wbar) S^``.
    """
    samples = as_survival_samples(survival_samples, "survival_samples")
    n_samples, n, length = samples.shape
    gamma = float(gamma)
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"gamma must be in (0, 1]; got {gamma}")
    r = _check_budget(remaining_budget, "remaining_budget")
    hat = samples.mean(axis=0) if plugin is None else np.asarray(plugin, dtype=np.float64)
    caps_arr = _check_caps(caps, n, length)
    k = _allocation(allocation, n, caps_arr)
    pooled = np.atleast_2d(np.asarray(pooled_pmf, dtype=np.float64))
    if pooled.shape[0] not in (1, n_samples):
        raise ValueError(f"pooled_pmf has {pooled.shape[0]} samples, survival {n_samples}")
    if pooled_plugin is None:
        pooled_plugin = pooled.mean(axis=0)

    def laws_at(size: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample and plug-in laws of ``min(C, size)``."""
        each = np.broadcast_to(_pooled_laws(pooled, size), (n_samples, size + 1))
        return each, _pooled_laws(pooled_plugin, size)[0]

    # Rewards: recruits, or weighted recruits divided by c (each recruit worth at most 1).
    weighted = weights is not None or pooled_weight is not None
    w = np.ones((1, n)) if weights is None else np.atleast_2d(np.asarray(weights, dtype=np.float64))
    wbar = (
        np.ones(n_samples)
        if pooled_weight is None
        else np.broadcast_to(np.asarray(pooled_weight, dtype=np.float64), (n_samples,))
    )
    if (
        w.shape[1] != n
        or w.shape[0] not in (1, n_samples)
        or not np.all(np.isfinite(w))
        or np.any(w < 0)
    ):
        raise ValueError(
            f"weights must be finite, >= 0 and (person,) or (sample, person); got {w.shape}"
        )
    if not np.all(np.isfinite(wbar)) or np.any(wbar < 0):
        raise ValueError("pooled_weight must be finite and >= 0")
    c = max(float(w.max()), float(wbar.max())) if weighted else 1.0
    c = c if c > 0 else 1.0
    w, wbar_c, wbar_hat = w / c, wbar / c, float(wbar.mean()) / c
    rewards = samples * w[..., None] if weighted else samples
    reward_hat = rewards.mean(axis=0) if weighted else hat

    laws_r = laws_at(max(r, 1))
    pe, pt = _pooled_distances(*laws_r, max(r, 1))
    if weighted:
        surv_true = _survival(laws_r[0])
        surv_hat = _survival(laws_r[1])
        pe = np.abs(wbar_c[:, None] * surv_true - wbar_hat * surv_hat)
    if isinstance(table, str):
        if table != "auto":
            raise ValueError(f"table must be an array, None or 'auto'; got {table!r}")
        from planning.dp import surrogate_table

        table = surrogate_table(laws_at(max(r, 1))[1], r, gamma) if 1 <= r <= 300 else None
        if table is not None and weighted:
            table = table * wbar_hat
    elif table is not None and weighted:
        table = np.asarray(table, dtype=np.float64) * wbar_hat
    pmf_s = pmf_from_survival(samples)
    pmf_h = pmf_from_survival(hat)
    tvs = np.empty_like(samples)
    for part in _chunks(n_samples, n * length):
        tvs[part] = truncated_tv(pmf_s[part], pmf_h[None])
    env = np.abs(rewards - reward_hat[None])
    # heterogeneity and paper's distances per sample, on min(C, L)
    bar_l, _ = laws_at(length)
    bar_s = _survival(bar_l)
    if weighted:
        bar_s = bar_s * wbar_c[:, None]
    mean_delta = np.abs(rewards - bar_s[:, None, :]).sum(axis=2).mean(axis=1)
    mean_t = tv_distance(pmf_s, bar_l[:, None, :]).mean(axis=1)
    het = (mean_delta, mean_t) if heterogeneity else None
    full, full_hat = laws_at(max(r, length, pooled.shape[1]))
    paper_tvs = (tvs[:, :, -1].sum(axis=1), tv_distance(full, full_hat[None]), mean_t)
    terms = multi_round_terms(
        env,
        tvs,
        k,
        pe,
        pt,
        gamma,
        r,
        caps=caps_arr,
        table=table,
        heterogeneity=het,
        paper_tvs=paper_tvs,
    )
    if weighted and c != 1.0:
        terms = MultiRoundTerms(
            total=terms.total * c,
            frontier=terms.frontier * c,
            transition=terms.transition * c,
            heterogeneity=terms.heterogeneity * c,
            comparator_spend=terms.comparator_spend,
            paper=terms.paper * c,
        )
    idx = _quantile_index(terms.total, quantile)
    total = float(terms.total[idx])
    paper_total = (
        None if gamma >= 1.0 else float(np.quantile(terms.paper, quantile, method="higher"))
    )
    how = (
        f"{quantile:.0%} posterior quantile over {_count(n_samples, 'sample')}, each sample "
        "taken as the truth (parts: the sample at that quantile)"
    )
    parts = [
        BoundPart(
            "frontier",
            float(terms.frontier[idx]),
            "sum_P eps + gamma R min(1, sum_i TV(min(C_i,k_i))) for the plan and the best "
            "comparator (s largest eps and TV increments outside the plan)",
            how + "; TV of capacity truncated at what each person can be given",
        ),
        BoundPart(
            "transition",
            float(terms.transition[idx]),
            "gamma B(r - s^) + gamma B(r - s*), B the population-error recursion",
            how + "; pooled law of the sample against the plug-in pooled law, "
            "truncated at each possible coupon count",
        ),
        BoundPart(
            "heterogeneity",
            float(terms.heterogeneity[idx]),
            "gamma r E delta + gamma^2 (r-1) G(r E TV(min(C_D,L), min(Cbar,L)))",
            how + "; frontier members' laws as draws from the population, against "
            "the sample's pooled law"
            if heterogeneity
            else "not included",
        ),
    ]
    checks = []
    if ppc is not None:
        eps = float(ppc.value)
        ppc_terms = multi_round_terms(
            np.full((n, length), eps),
            np.full((n, length), eps),
            k,
            pe[idx],
            pt[idx],
            gamma,
            r,
            caps=caps_arr,
            table=table,
        )
        scale_ppc = c if weighted else 1.0
        checks.append(
            BoundPart(
                "frontier (PPC)",
                float(ppc_terms.frontier[0]) * scale_ppc,
                "frontier part with every |S - S^| and TV <= TV_ppc",
                ppc.method,
            )
        )
    same_form = float(terms.frontier[idx] + terms.transition[idx])
    if heterogeneity:
        checks.insert(
            0,
            BoundPart(
                "same-form bound",
                same_form,
                "frontier + transition: loss against the best plan of the planner's own form "
                "(even splits after this round), leaving out the heterogeneity part",
                how,
            ),
        )
    informative, verdict = _verdict(total, plan_value, parts, "discounted recruits")
    if (
        informative is False
        and heterogeneity
        and plan_value is not None
        and same_form <= plan_value
    ):
        verdict += (
            f" Against plans of the planner's own form (even splits after this round) the bound "
            f"is {same_form:.2f} and does inform; only a planner that knew each future "
            "recruit's own capacity law could gain more than the plan is worth."
        )
    paper_words = (
        "the paper's form has no finite value at gamma = 1"
        if paper_total is None
        else f"paper's form {paper_total:.3f}"
    )
    message = (
        f"Multi-round misspecification bound: discounted recruits lost to model error "
        f"<= {total:.3f} ({paper_words})"
    )
    if gamma >= 1.0:
        message += (
            "; this bound stays finite because every round spends a coupon and the "
            "budget ends the process"
        )
    return BoundReport(
        kind="multi-round",
        total=total,
        parts=parts,
        finite=True,
        message=message,
        checks=checks,
        settings={"remaining_budget": r, "gamma": gamma, "quantile": quantile},
        informative=informative,
        paper_total=paper_total,
        plan_value=None if plan_value is None else float(plan_value),
        verdict=verdict,
    )


# ---------------------------------------------------------------------------- paper's multi-round form and estimates


def frontier_tv_from_samples(
    survival_samples: Any, plugin: Any = None, quantile: float = 0.9
) -> Estimate:
    """``sum_i TV(D_i, D^_i)`` over the frontier, as a posterior quantile.

    Laws are those of ``min(C_i, L)`` from the survival curves; ``D^_i`` is the
    law of the plug-in curves (default: posterior mean).
    """
    samples = as_survival_samples(survival_samples, "survival_samples")
    hat = samples.mean(axis=0) if plugin is None else np.asarray(plugin, dtype=np.float64)
    tv = tv_distance(pmf_from_survival(samples), pmf_from_survival(hat)[None]).sum(axis=1)
    return Estimate(
        _quantile(tv, quantile),
        f"{quantile:.0%} posterior quantile over {_count(samples.shape[0], 'sample')} of "
        "sum_i TV(law of min(C_i, L) under the sample, under the plug-in curves)",
    )


def transition_tv_from_samples(
    population_pmf: Any, plugin: Any = None, quantile: float = 0.9
) -> Estimate:
    """``TV(P, P^)`` estimated from pooled capacity laws per posterior sample.

    ``population_pmf`` is ``(sample, J)``; the plug-in is the posterior-mean
    pooled law (the one the surrogate table used, unless given).
    """
    laws = np.asarray(population_pmf, dtype=np.float64)
    if laws.ndim == 1:
        laws = laws[None]
    if laws.ndim != 2:
        raise ValueError(f"population_pmf must be (sample, J); got {laws.shape}")
    full = np.concatenate([laws, np.clip(1 - laws.sum(axis=1, keepdims=True), 0, None)], axis=1)
    if plugin is None:
        hat = full.mean(axis=0)
    else:
        hat = np.asarray(plugin, dtype=np.float64)
        hat = np.concatenate([hat, [max(0.0, 1 - hat.sum())]])
    tv = tv_distance(full, hat[None])
    return Estimate(
        _quantile(tv, quantile),
        f"{quantile:.0%} posterior quantile over {_count(laws.shape[0], 'sample')} of the TV between "
        "the sample's pooled capacity law and the plug-in pooled law (law of one future "
        "recruit; ignores how laws vary between recruits)",
    )


def heterogeneity_tv(person_laws: Any, pooled: Any = None) -> Estimate:
    """``E_{D~P} TV(D, Dbar)`` estimated by the frontier's plug-in laws.

    ``person_laws`` is ``(person, J)`` (pmfs, e.g. from
    :func:`planning.curves.pmf_from_survival`); ``pooled`` defaults to their mean.
    """
    laws = np.asarray(person_laws, dtype=np.float64)
    if laws.ndim != 2 or laws.shape[0] == 0:
        raise ValueError(f"person_laws must be a non-empty (person, J) array; got {laws.shape}")
    bar = laws.mean(axis=0) if pooled is None else np.asarray(pooled, dtype=np.float64)
    value = float(tv_distance(laws, bar[None]).mean())
    source = "their average" if pooled is None else "the plug-in pooled law"
    return Estimate(
        value,
        f"mean over {_count(laws.shape[0], 'frontier member')} of the TV between their plug-in law "
        f"of min(C, L) and {source} (frontier taken as a sample of the population)",
    )


def multi_round_bound(
    frontier_tv: float | Estimate,
    transition_tv: float | Estimate,
    heterogeneity: float | Estimate,
    gamma: float,
    remaining_budget: int,
    checks: list[BoundPart] | None = None,
) -> BoundReport:
    r"""Multi-round misspecification bound with its three parts.

    Parameters
    ----------
    frontier_tv
        ``sum_i TV(D_i, D^_i)`` over the current frontier.
    transition_tv
        ``TV(P, P^)``.
    heterogeneity
        ``E_{D~P} TV(D, Dbar)``.
    gamma
        Discount in ``(0, 1]``; ``gamma = 1`` gives a report with no finite
        bound (``total=None``), stated in words.
    remaining_budget
        ``r``.

    Returns
    -------
    BoundReport
        Parts ``2(1+gamma) r sum_i TV``, ``c TV(P, P^)`` and
        ``c r E TV(D, Dbar)`` with ``c = 2 gamma r / (1 - gamma)``.
    """
    r = _check_budget(remaining_budget, "remaining_budget")
    gamma = float(gamma)
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"gamma must be in (0, 1]; got {gamma}")

    def split(x: float | Estimate, default: str) -> tuple[float, str]:
        if isinstance(x, Estimate):
            return float(x.value), x.method
        return float(x), default

    f_tv, f_how = split(frontier_tv, "given")
    p_tv, p_how = split(transition_tv, "given")
    h_tv, h_how = split(heterogeneity, "given")
    for name, value in (("frontier_tv", f_tv), ("transition_tv", p_tv), ("heterogeneity", h_tv)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite non-negative number; got {value}")
    frontier = 2 * (1 + gamma) * r * f_tv
    settings = {"remaining_budget": r, "gamma": gamma}
    if gamma >= 1.0:
        parts = [
            BoundPart("frontier", frontier, "2(1+gamma) r sum_i TV(D_i, D^_i)", f_how),
            BoundPart("transition", None, "c TV(P, P^), c = 2 gamma r/(1-gamma)", p_how),
            BoundPart("heterogeneity", None, "c r E TV(D, Dbar)", h_how),
        ]
        return BoundReport(
            kind="multi-round",
            total=None,
            parts=parts,
            finite=False,
            message=(
                "Multi-round misspecification bound: no finite bound for gamma = 1 "
                "(undiscounted errors can compound over rounds); use gamma < 1 for a bound"
            ),
            checks=list(checks or []),
            settings=settings,
        )
    c = 2 * gamma * r / (1 - gamma)
    transition = c * p_tv
    hetero = c * r * h_tv
    total = frontier + transition + hetero
    parts = [
        BoundPart("frontier", frontier, "2(1+gamma) r sum_i TV(D_i, D^_i)", f_how),
        BoundPart(
            "transition", transition, f"c TV(P, P^), c = 2 gamma r/(1-gamma) = {c:.3g}", p_how
        ),
        BoundPart("heterogeneity", hetero, "c r E_{D~P} TV(D, Dbar)", h_how),
    ]
    return BoundReport(
        kind="multi-round",
        total=total,
        parts=parts,
        finite=True,
        message=(
            f"Multi-round misspecification bound: discounted recruits lost to model error "
            f"<= {total:.3f}"
        ),
        checks=list(checks or []),
        settings=settings,
    )


def ppc_tv(
    redeemed: Any,
    coupons: Any,
    predicted_survival: Any,
    seed: int | np.random.Generator = 0,
    replicates: int = 200,
) -> Estimate:
    """Posterior predictive estimate of the per-person TV between true and fitted laws.

    For each coupon level ``k``, the observed distribution of redeemed
    coupons ``y = min(C, k)`` among rows given ``k`` coupons is compared with
    its posterior predictive distribution (the average over samples and rows
    of the law of ``min(C_i, k)``). The TVs are averaged with weights equal to
    the number of rows per level. Sampling noise alone makes this positive,
    so the mean of the same statistic on ``replicates`` datasets drawn from
    the posterior predictive is subtracted (floored at 0).

    Parameters
    ----------
    redeemed
        ``(row,)`` observed redeemed coupons ``y_i``.
    coupons
        ``(row,)`` coupons issued ``k_i >= 1`` (windows closed).
    predicted_survival
        ``(sample, row, L)`` survival curves of the same rows, ``L >= max k``.
    seed
        Seed or Generator for the replicate datasets.
    replicates
        Number of posterior predictive replicate datasets.
    """
    y = np.asarray(redeemed)
    k = np.asarray(coupons)
    curves = as_survival_samples(predicted_survival, "predicted_survival")
    if y.shape != k.shape or y.ndim != 1 or curves.shape[1] != y.size:
        raise ValueError(
            "redeemed and coupons must be (row,) and predicted_survival (sample, row, L) "
            f"for the same rows; got {y.shape}, {k.shape}, {curves.shape}"
        )
    if y.size == 0:
        raise ValueError("no rows to check")
    if np.any(k < 1) or np.any(y < 0) or np.any(y > k):
        raise ValueError("need coupons >= 1 and 0 <= redeemed <= coupons for every row")
    length = curves.shape[2]
    if k.max() > length:
        raise ValueError(f"predicted_survival has L = {length} < max coupons {int(k.max())}")
    rng = np.random.default_rng(seed)
    levels = np.unique(k)
    # Predictive law of min(C_i, k_i) per row, averaged over samples.
    law = pmf_from_survival(curves[:, :, : int(k.max())]).mean(axis=0)  # (row, kmax+1)
    cols = np.arange(law.shape[1])
    # lump mass at or above k_i onto k_i
    above = cols[None, :] >= k[:, None]
    lumped = np.where(above, 0.0, law)
    lumped[np.arange(y.size), k] = np.where(above, law, 0.0).sum(axis=1)

    def statistic(values: np.ndarray) -> float:
        total = 0.0
        for level in levels:
            rows = k == level
            observed = np.bincount(values[rows], minlength=law.shape[1]) / rows.sum()
            predicted = lumped[rows].mean(axis=0)
            total += rows.sum() * tv_distance(observed, predicted)
        return total / y.size

    observed_tv = statistic(y.astype(np.int64))
    cdf = np.cumsum(lumped, axis=1)
    noise = np.empty(replicates)
    for rep in range(replicates):
        u = rng.random(y.size)[:, None]
        draw = (u > cdf).sum(axis=1)
        noise[rep] = statistic(np.minimum(draw, k))
    value = float(max(0.0, observed_tv - float(noise.mean())))
    return Estimate(
        value,
        f"posterior predictive check on {y.size} rows: TV between observed and predicted "
        f"redeemed-coupon distributions per coupon level ({observed_tv:.3f}), minus its mean "
        f"under {replicates} predictive replicates ({noise.mean():.3f}, sampling noise)",
    )
