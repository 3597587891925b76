r"""Misspecification bounds and their estimates (Pan et al., Section 7).

Single round
------------
Greedy on estimated curves ``S^`` versus the true ``S``, budget ``s``:

.. math:: f(k^*) - f(\hat k) \le \sum_i \sum_{l=1}^{s} |S_i(l) - \hat S_i(l)|.

Proof: ``f(k*) - f(k^) = [f(k*) - f^(k*)] + [f^(k*) - f^(k^)] + [f^(k^) - f(k^)]``;
the middle term is ``<= 0`` because ``k^`` maximises ``f^`` and the outer terms
only involve coupons ``l <= s``. The bound is tight: two people, one coupon,
``S = (0, 1)``, ``S^ = (1/2, 1/2)``: the greedy's tie goes to person 0 and loses
exactly ``1 = |0 - 1/2| + |1 - 1/2|``.

Multi-round (gamma < 1)
-----------------------
With remaining budget ``r`` and ``c = 2 gamma r / (1 - gamma)``:

.. math:: \text{loss} \le 2(1+\gamma)\, r \sum_i TV(D_i, \hat D_i)
          + c\, TV(P, \hat P) + c\, r\, E_{D\sim P} TV(D, \bar D),

the frontier error, the population-transition error and the heterogeneity
error. For ``gamma = 1`` no finite bound exists; the report says so in words.

Estimates
---------
The truth is unknown, so every distance is estimated and says how:

* **posterior spread**: the distance between each posterior sample and the
  plug-in law the plan used, summarised by a posterior quantile (default
  90%);
* **posterior predictive check** (:func:`ppc_tv`): total variation between
  the observed distribution of redeemed coupons and its posterior predictive
  distribution, per coupon level, minus the value expected from sampling
  noise alone.

The population terms use pooled laws: ``TV(P, P^)`` is estimated by the TV
between the pooled capacity law of a posterior sample and the plug-in pooled
law (the law of a single future recruit), and ``E TV(D, Dbar)`` by the mean TV
between the frontier members' plug-in laws and the pooled law.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from planning.curves import as_survival_samples, pmf_from_survival, tv_distance
from planning.greedy import _check_budget

__all__ = [
    "BoundPart",
    "BoundReport",
    "Estimate",
    "frontier_tv_from_samples",
    "heterogeneity_tv",
    "multi_round_bound",
    "ppc_tv",
    "single_round_bound",
    "single_round_report",
    "transition_tv_from_samples",
]


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
    """A misspecification bound, its parts and how each was estimated.

    Attributes
    ----------
    kind
        ``"single-round"`` or ``"multi-round"``.
    total
        Sum of the parts; ``None`` when no finite bound exists (gamma = 1).
    parts
        The additive parts.
    finite
        Whether a finite bound exists.
    message
        One line in words (e.g. "no finite bound ...").
    checks
        Alternative estimates reported beside the bound (posterior predictive
        checks), not added to ``total``.
    settings
        Budget, gamma, quantile.
    """

    kind: str
    total: float | None
    parts: list[BoundPart]
    finite: bool
    message: str
    checks: list[BoundPart] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (no infinities: missing values are ``None``)."""
        return {
            "kind": self.kind,
            "total": None if self.total is None else float(self.total),
            "finite": self.finite,
            "message": self.message,
            "parts": [p.to_dict() for p in self.parts],
            "checks": [p.to_dict() for p in self.checks],
            "settings": dict(self.settings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BoundReport:
        return cls(
            kind=data["kind"],
            total=data["total"],
            parts=[BoundPart(**p) for p in data["parts"]],
            finite=data["finite"],
            message=data["message"],
            checks=[BoundPart(**p) for p in data.get("checks", [])],
            settings=dict(data.get("settings", {})),
        )

    def text(self) -> str:
        """Human-readable lines: the total, then each part with its estimate."""
        lines = [self.message]
        for part in self.parts:
            value = "not finite" if part.value is None else f"{part.value:.3f}"
            lines.append(f"  {part.name:<15} {value:>12}   {part.formula}")
            lines.append(f"  {'':<15} {'':>12}   estimated by: {part.method}")
        for part in self.checks:
            value = "n/a" if part.value is None else f"{part.value:.3f}"
            lines.append(f"  check: {part.name}: {value} ({part.formula}); {part.method}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def _curves_pair(true: Any, estimate: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(true, dtype=np.float64)
    b = np.asarray(estimate, dtype=np.float64)
    if a.shape[-2:] != b.shape[-2:] or a.ndim < 2 or b.ndim < 2:
        raise ValueError(
            f"S_true and S_hat must both be (person, L) (or with a leading sample axis); "
            f"got {a.shape} and {b.shape}"
        )
    return a, b


def single_round_bound(S_true: Any, S_hat: Any, budget: int, weights: Any = None) -> Any:
    r"""Single-round loss bound :math:`\sum_i w_i \sum_{l \le s} |S_i(l) - \hat S_i(l)|`.

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


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _quantile(values: np.ndarray, q: float) -> float:
    if not 0.0 < q <= 1.0:
        raise ValueError(f"quantile must be in (0, 1]; got {q}")
    return float(np.quantile(values, q))


def single_round_report(
    survival_samples: Any,
    budget: int,
    plugin: Any = None,
    quantile: float = 0.9,
    weights: Any = None,
    ppc: Estimate | None = None,
) -> BoundReport:
    """Estimated single-round bound from the posterior spread of the curves.

    The plan uses the plug-in curves ``S^`` (default: posterior mean). Each
    posterior sample is taken as a possible truth and the bound is the
    ``quantile`` of :func:`single_round_bound` over samples. If a PPC estimate
    of the per-person TV is given, ``n * min(s, L) * TV`` (since
    ``|S(l) - S^(l)| <= TV``) is reported as a check.
    """
    samples = as_survival_samples(survival_samples, "survival_samples")
    budget = _check_budget(budget)
    hat = samples.mean(axis=0) if plugin is None else np.asarray(plugin, dtype=np.float64)
    per_sample = np.atleast_1d(single_round_bound(samples, hat, budget, weights))
    value = _quantile(per_sample, quantile)
    n_samples, n_people, length = samples.shape
    method = (
        f"{quantile:.0%} posterior quantile over {_count(n_samples, 'sample')} of the bound with each "
        "sample's curves as the truth and the plan's plug-in (posterior-mean) curves as S^"
    )
    if n_samples == 1:
        method = "a single sample: the posterior spread is unknown, so the bound is 0 by construction"
    part = BoundPart(
        "curve error", value, "sum_i sum_{l<=s} |S_i(l) - S^_i(l)|", method
    )
    checks = []
    if ppc is not None:
        width = min(budget, length)
        checks.append(
            BoundPart(
                "curve error (PPC)",
                float(n_people * width * ppc.value),
                "n * min(s, L) * TV_ppc",
                ppc.method,
            )
        )
    return BoundReport(
        kind="single-round",
        total=value,
        parts=[part],
        finite=True,
        message=(
            f"Single-round misspecification bound: expected recruits lost to model error "
            f"<= {value:.3f}"
        ),
        checks=checks,
        settings={"budget": budget, "quantile": quantile},
    )


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
        BoundPart("transition", transition, f"c TV(P, P^), c = 2 gamma r/(1-gamma) = {c:.3g}", p_how),
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
