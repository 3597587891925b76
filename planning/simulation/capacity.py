"""Referral-capacity laws of the simulated worlds: how many peers each person would bring.

A person's referral capacity ``C`` is the number of peers who would come if
coupons were not limiting; with ``k`` coupons the study observes
``min(C, k)`` recruits. A capacity law maps a table of people (covariates and,
optionally, a ``group`` column) to independent count distributions, one per
row, and offers two things:

``sample(frame, rng)``
    one draw of ``C`` per row (``int64`` array);
``pmf(frame, max_count)``
    the exact law as an array of shape ``(person, max_count + 1)``: column
    ``j < max_count`` holds ``P(C = j)`` and the **last column holds the tail
    mass** ``P(C >= max_count)``, so every row sums to one. The survival
    curve the planners use, ``S(l) = P(C >= l)`` for ``l = 1..L``, is
    :func:`rdsmodel.laws.capacity.survival_from_pmf` of ``pmf(frame, L)``.

This module holds what is particular to a world: the mean of each person,
log-linear in the covariates (:class:`LogLinearMean`) or given per type
(:class:`TypeRates`), and the law classes that pair a mean function with a
count family. The count families themselves (Poisson and negative binomial,
with zero-inflated and hurdle variants for the bimodal counts real RDS
studies show) are :mod:`rdsmodel.laws.capacity`, the same numpy laws the
count model predicts with; their pmfs, means and draws are computed there.
Parametrisations follow PyMC so that model-recovery tests can reuse these laws:

* ``NegativeBinomial(mu, phi)``: mean ``mu``, variance ``mu + mu^2 / phi``
  (PyMC's ``alpha`` is ``phi``);
* zero-inflated: ``P(C = 0) = pi0 + (1 - pi0) f(0)``,
  ``P(C = j) = (1 - pi0) f(j)`` for ``j >= 1``;
* hurdle: ``P(C = 0) = pi0``, ``P(C = j) = (1 - pi0) f(j) / (1 - f(0))``.

``pi0`` is the law module's ``psi``; PyMC's zero-inflated ``psi`` is the
probability of the count component, ``1 - pi0``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> law = NegativeBinomialCapacity(LogLinearMean(np.log(2.0)), dispersion=1.5)
>>> people = pd.DataFrame(index=range(3))
>>> law.pmf(people, 3).shape
(3, 4)
>>> law.sample(people, np.random.default_rng(0)).shape
(3,)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rdsmodel.laws.capacity import Family, capacity_mean, family_of, pmf_grid, random_capacity

__all__ = [
    "CapacityLaw",
    "HurdleCapacity",
    "LogLinearMean",
    "MeanFunction",
    "NegativeBinomialCapacity",
    "NumericEffect",
    "PoissonCapacity",
    "TypeRates",
    "ZeroInflatedCapacity",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@runtime_checkable
class CapacityLaw(Protocol):
    """A per-person referral-capacity law.

    Rows of ``frame`` are people; the law reads the covariate (and group)
    columns it needs and ignores the others.
    """

    def sample(self, frame: pd.DataFrame, rng: np.random.Generator) -> IntArray:
        """Draw one capacity per row."""
        ...

    def pmf(self, frame: pd.DataFrame, max_count: int) -> FloatArray:
        """``(person, max_count + 1)``: ``P(C = j)`` for ``j < max_count``, then ``P(C >= max_count)``."""
        ...


class MeanFunction(Protocol):
    """Maps people to the mean ``mu >= 0`` of their count component."""

    def log_mean(self, frame: pd.DataFrame) -> FloatArray:
        """``log mu`` per row (the laws are evaluated on the log scale)."""
        ...

    def mean(self, frame: pd.DataFrame) -> FloatArray:
        """``mu`` per row."""
        ...


def _column(frame: pd.DataFrame, name: str, who: str) -> pd.Series:
    if name not in frame.columns:
        raise ValueError(
            f"{who} needs the column {name!r}, which the table does not have "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    return frame[name]


def _lookup(col: pd.Series, table: Mapping[str, float]) -> FloatArray:
    """``table[value]`` per row, ``nan`` where the value is missing or not in ``table``.

    Works on the level codes (categorical columns) or on ``pandas.factorize``
    (anything else), so the cost per row is a numpy take.
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        uniques = col.cat.categories
    else:
        codes, uniques = pd.factorize(col)
    values = np.array([table.get(str(u), np.nan) for u in uniques] + [np.nan], dtype="float64")
    return values[np.where(codes < 0, len(uniques), codes)]


def _unknown(col: pd.Series, values: FloatArray) -> list[str]:
    return sorted({str(v) for v in col[np.isnan(values)]})[:5]


@dataclass(frozen=True)
class NumericEffect:
    """Slope of a numeric covariate in a log-linear mean.

    The term added to the log-mean is ``coef * (t(x) - center)`` with ``t``
    the identity or the natural log.
    """

    coef: float
    transform: Literal["identity", "log"] = "identity"
    center: float = 0.0


@dataclass(frozen=True)
class LogLinearMean:
    """Log-linear mean on covariates with an optional group effect.

    .. math::

        \\log \\mu_i = b_0 + \\sum_f \\beta_f[x_{if}]
                     + \\sum_g \\gamma_g (t_g(x_{ig}) - c_g) + u_{g(i)}

    Parameters
    ----------
    intercept : float
        ``b0``.
    categorical : Mapping[str, Mapping[str, float]]
        For each categorical field, the effect of each level; levels not
        listed are reference levels (effect 0).
    numeric : Mapping[str, NumericEffect]
        Slopes of numeric fields.
    group_effects : Mapping[str, float] or None
        ``u_g`` per group (e.g. site random effects drawn once); a group not
        listed raises an error, because the true world must know its groups.
    group_column : str
        Column holding the group.
    """

    intercept: float = 0.0
    categorical: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    numeric: Mapping[str, NumericEffect] = field(default_factory=dict)
    group_effects: Mapping[str, float] | None = None
    group_column: str = "group"

    def log_mean(self, frame: pd.DataFrame) -> FloatArray:
        """``log mu`` per row."""
        eta = np.full(len(frame), float(self.intercept))
        for name, effects in self.categorical.items():
            values = _lookup(_column(frame, name, "the capacity law"), effects)
            eta += np.nan_to_num(values, nan=0.0)
        for name, term in self.numeric.items():
            x = _column(frame, name, "the capacity law").to_numpy(dtype="float64")
            if term.transform == "log":
                if np.any(x <= 0):
                    raise ValueError(
                        f"column {name!r} must be positive for a log-scale capacity effect"
                    )
                x = np.log(x)
            eta += term.coef * (x - term.center)
        if self.group_effects is not None:
            col = _column(frame, self.group_column, "the capacity law")
            u = _lookup(col, self.group_effects)
            if np.isnan(u).any():
                raise ValueError(
                    f"no group effect for group(s) {_unknown(col, u)} in column "
                    f"{self.group_column!r}; known groups: {sorted(self.group_effects)}"
                )
            eta += u
        return eta

    def mean(self, frame: pd.DataFrame) -> FloatArray:
        """``mu = exp(log mu)`` per row."""
        return np.exp(self.log_mean(frame))


@dataclass(frozen=True)
class TypeRates:
    """Mean given by a person's type, read from one categorical field.

    Parameters
    ----------
    field : str
        Column holding the level.
    rates : Mapping[str, float]
        Mean of each level; every level met must be listed.
    """

    field: str
    rates: Mapping[str, float]

    def mean(self, frame: pd.DataFrame) -> FloatArray:
        """Rate of each row's level."""
        col = _column(frame, self.field, "the type-rate capacity law")
        mu = _lookup(col, self.rates)
        if np.isnan(mu).any():
            raise ValueError(
                f"no rate for level(s) {_unknown(col, mu)} of {self.field!r}; "
                f"known: {sorted(self.rates)}"
            )
        return mu

    def log_mean(self, frame: pd.DataFrame) -> FloatArray:
        """``log`` of the rate of each row's level (``-inf`` for a zero rate)."""
        with np.errstate(divide="ignore"):
            return np.log(self.mean(frame))


class _FamilyLaw:
    """A per-person law of one :mod:`rdsmodel.laws.capacity` family, its mean read from the frame.

    Subclasses name the family and its parameters (:meth:`_spec`); the maths
    (pmf, mean, draws) is the law module's.
    """

    def _spec(self) -> tuple[Family, MeanFunction, float | None, float | None]:  # pragma: no cover
        raise NotImplementedError

    def _eta(self, frame: pd.DataFrame) -> tuple[Family, FloatArray, float | None, float | None]:
        family, mean_function, phi, psi = self._spec()
        return family, mean_function.log_mean(frame), phi, psi

    def mean(self, frame: pd.DataFrame) -> FloatArray:
        """Expected capacity ``E[C]`` per row."""
        return capacity_mean(*self._eta(frame))

    def sample(self, frame: pd.DataFrame, rng: np.random.Generator) -> IntArray:
        """One capacity per row."""
        family, eta, phi, psi = self._eta(frame)
        return random_capacity(family, eta, phi, psi, rng=rng)

    def pmf(self, frame: pd.DataFrame, max_count: int) -> FloatArray:
        """``(person, max_count + 1)``; the last column is the tail ``P(C >= max_count)``."""
        if max_count < 0:
            raise ValueError(f"max_count must be >= 0, got {max_count}")
        family, eta, phi, psi = self._eta(frame)
        return pmf_grid(family, eta, max_count, phi, psi, tail=True)


@dataclass(frozen=True)
class PoissonCapacity(_FamilyLaw):
    """``C ~ Poisson(mu)``.

    Parameters
    ----------
    mean_function : MeanFunction
        Gives ``mu`` per person (:class:`LogLinearMean`, :class:`TypeRates`).
    """

    mean_function: MeanFunction

    def _spec(self) -> tuple[Family, MeanFunction, float | None, float | None]:
        return family_of("poisson"), self.mean_function, None, None


@dataclass(frozen=True)
class NegativeBinomialCapacity(_FamilyLaw):
    """``C ~ NegativeBinomial(mu, phi)``: variance ``mu + mu^2 / phi``.

    As a gamma-Poisson mixture, ``C | lambda ~ Poisson(lambda)`` with
    ``lambda ~ Gamma(shape=phi, rate=phi / mu)``; ``phi -> inf`` is Poisson.

    Parameters
    ----------
    mean_function : MeanFunction
        Gives ``mu`` per person.
    dispersion : float
        ``phi > 0`` (PyMC's ``alpha``).
    """

    mean_function: MeanFunction
    dispersion: float = 1.0

    def __post_init__(self) -> None:
        if not self.dispersion > 0:
            raise ValueError(f"dispersion must be > 0, got {self.dispersion}")

    def _spec(self) -> tuple[Family, MeanFunction, float | None, float | None]:
        return family_of("nb"), self.mean_function, float(self.dispersion), None


@dataclass(frozen=True)
class _InflatedCapacity(_FamilyLaw):
    """A base count law with a zero probability ``pi0`` (the law module's ``psi``)."""

    base: PoissonCapacity | NegativeBinomialCapacity
    zero_prob: float

    #: ``"zero"`` (structural zeros) or ``"hurdle"``.
    inflation: ClassVar[str]

    def __post_init__(self) -> None:
        if not 0.0 <= self.zero_prob < 1.0:
            raise ValueError(f"zero_prob must be in [0, 1), got {self.zero_prob}")

    def _spec(self) -> tuple[Family, MeanFunction, float | None, float | None]:
        family, mean_function, phi, _ = self.base._spec()
        return family_of(family.base, self.inflation), mean_function, phi, float(self.zero_prob)


@dataclass(frozen=True)
class ZeroInflatedCapacity(_InflatedCapacity):
    """Zero-inflated count law: a structural zero with probability ``pi0``.

    .. math::

        P(C = 0) = \\pi_0 + (1 - \\pi_0) f(0), \\qquad
        P(C = j) = (1 - \\pi_0) f(j), \\; j \\ge 1,

    with ``f`` the base law (PyMC's ``psi = 1 - pi0``).

    Parameters
    ----------
    base : PoissonCapacity or NegativeBinomialCapacity
        The count component.
    zero_prob : float
        ``pi0`` in ``[0, 1)``.
    """

    inflation: ClassVar[str] = "zero"


@dataclass(frozen=True)
class HurdleCapacity(_InflatedCapacity):
    """Hurdle count law: zero with probability ``pi0``, else the base law truncated at zero.

    .. math::

        P(C = 0) = \\pi_0, \\qquad
        P(C = j) = (1 - \\pi_0) \\frac{f(j)}{1 - f(0)}, \\; j \\ge 1.

    Parameters
    ----------
    base : PoissonCapacity or NegativeBinomialCapacity
        The count law whose positive part is used.
    zero_prob : float
        ``pi0`` in ``[0, 1)``.
    """

    inflation: ClassVar[str] = "hurdle"
