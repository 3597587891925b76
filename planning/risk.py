r"""Pluggable risk measures over posterior samples.

A plan's value differs across posterior samples ``d = 1..D``: ``f_d``. A risk
measure turns the vector ``(f_1, ..., f_D)`` (equal sample weights) into one
number to maximise. Each measure works two ways:

* numerically, ``risk.evaluate(values, axis=0)`` on numpy arrays;
* inside a cvxpy program, ``risk.expression(f)`` returns a concave
  expression of a cvxpy vector ``f`` that can be maximised.

Measures
--------
``mean()``
    :math:`\frac1D \sum_d f_d` -- the posterior expected value.
``cvar(alpha)``
    Lower-tail conditional value at risk at level ``alpha`` in ``(0, 1]``:
    the average of the worst ``alpha`` fraction of samples. By Rockafellar and
    Uryasev,

    .. math:: \mathrm{CVaR}_\alpha(f) = \max_t \Big\{ t - \frac{1}{\alpha D}
              \sum_d (t - f_d)_+ \Big\},

    which is what the cvxpy expression uses (``t`` is an auxiliary variable).
    ``cvar(1)`` is the mean; as ``alpha -> 0`` it tends to the worst case.
``worst()``
    :math:`\min_d f_d`.

Strings ``"mean"``, ``"cvar:0.1"`` and ``"worst"`` are parsed by
:func:`parse_risk`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from planning.errors import PlanningError

__all__ = ["CVaR", "Mean", "RiskMeasure", "Worst", "cvar", "mean", "parse_risk", "worst"]


@runtime_checkable
class RiskMeasure(Protocol):
    """What a planner needs from a risk measure."""

    name: str

    def evaluate(self, values: np.ndarray, axis: int = 0) -> Any:
        """Aggregate ``values`` over the sample ``axis`` (numpy)."""
        ...

    def expression(self, values: Any) -> Any:
        """Concave cvxpy expression of a cvxpy vector of per-sample values."""
        ...


@dataclass(frozen=True)
class Mean:
    """Posterior mean of the per-sample values."""

    name: str = "mean"

    def evaluate(self, values: np.ndarray, axis: int = 0) -> Any:
        return np.mean(np.asarray(values, dtype=np.float64), axis=axis)

    def expression(self, values: Any) -> Any:
        import cvxpy as cp

        return cp.sum(values) / values.shape[0]

    def __str__(self) -> str:
        return "mean"


@dataclass(frozen=True)
class CVaR:
    """Lower-tail CVaR at level ``alpha``: mean of the worst ``alpha`` fraction."""

    alpha: float
    name: str = "cvar"

    def __post_init__(self) -> None:
        if not (0.0 < float(self.alpha) <= 1.0):
            raise PlanningError(f"CVaR level alpha must be in (0, 1]; got {self.alpha}")

    def evaluate(self, values: np.ndarray, axis: int = 0) -> Any:
        values = np.moveaxis(np.asarray(values, dtype=np.float64), axis, 0)
        count = values.shape[0]
        if count == 0:
            raise PlanningError("CVaR of an empty set of samples")
        ordered = np.sort(values, axis=0)
        # weight 1/(alpha D) on the worst floor(alpha D) samples, the remainder
        # of the mass alpha on the next one (exact discrete CVaR).
        mass = self.alpha * count
        full = int(np.floor(mass + 1e-12))
        weights = np.zeros(count)
        weights[:full] = 1.0
        if full < count:
            weights[full] = max(mass - full, 0.0)
        weights /= mass
        return np.tensordot(weights, ordered, axes=(0, 0))

    def expression(self, values: Any) -> Any:
        import cvxpy as cp

        t = cp.Variable()
        count = values.shape[0]
        return t - cp.sum(cp.pos(t - values)) / (self.alpha * count)

    def __str__(self) -> str:
        return f"cvar:{self.alpha:g}"


@dataclass(frozen=True)
class Worst:
    """Worst case over samples."""

    name: str = "worst"

    def evaluate(self, values: np.ndarray, axis: int = 0) -> Any:
        return np.min(np.asarray(values, dtype=np.float64), axis=axis)

    def expression(self, values: Any) -> Any:
        import cvxpy as cp

        return cp.min(values)

    def __str__(self) -> str:
        return "worst"


def mean() -> Mean:
    """Risk-neutral measure: the posterior mean."""
    return Mean()


def cvar(alpha: float) -> CVaR:
    """Lower-tail CVaR at level ``alpha`` in ``(0, 1]`` (e.g. 0.1: worst 10%)."""
    return CVaR(float(alpha))


def worst() -> Worst:
    """Worst case over posterior samples."""
    return Worst()


def parse_risk(spec: str | RiskMeasure | None) -> RiskMeasure:
    """Parse ``"mean"``, ``"cvar:<alpha>"`` or ``"worst"`` (objects pass through).

    Examples
    --------
    >>> str(parse_risk("cvar:0.1"))
    'cvar:0.1'
    """
    if spec is None:
        return Mean()
    if not isinstance(spec, str):
        if isinstance(spec, RiskMeasure):
            return spec
        raise PlanningError(f"risk must be a string or a risk measure; got {spec!r}")
    text = spec.strip().lower()
    if text == "mean":
        return Mean()
    if text in {"worst", "min", "worst-case"}:
        return Worst()
    if text.startswith("cvar"):
        _, _, level = text.partition(":")
        try:
            alpha = float(level)
        except ValueError:
            raise PlanningError(
                f"cannot read the CVaR level in {spec!r}; write e.g. 'cvar:0.1'"
            ) from None
        return cvar(alpha)
    raise PlanningError(f"unknown risk measure {spec!r}; use 'mean', 'cvar:<alpha>' or 'worst'")
