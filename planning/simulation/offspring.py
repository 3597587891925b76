"""Offspring covariate laws: who a recruiter brings in.

Fields are independent given the recruiter. A categorical field ``f`` with
levels ``1..K`` moves from the recruiter's level ``p`` to the recruit's level
``c`` by a two-part mixture

.. math::

    P(c \\mid p) = \\rho_f \\, 1[c = t_f(p)] + (1 - \\rho_f) \\, \\pi_f(c),

where ``t_f`` is the identity for **inheritance** (homophily, the model of
DESIGN.md and of the ICPSR 22140 figures) and a fixed type rule for the
tunnel-vision scenario. With ``t_f`` the identity and the recruiter drawn from
``pi_f`` (its stationary law), the match rate is

.. math::

    P(c = p) = \\rho_f + (1 - \\rho_f) \\sum_c \\pi_f(c)^2 .

A numeric field (network size, age) follows a log-normal regression on the
recruiter's value,

.. math::

    \\log x' = a + b \\log x + \\sigma \\varepsilon, \\quad \\varepsilon \\sim N(0, 1),

whose stationary law (``|b| < 1``) is log-normal with mean ``a / (1 - b)`` and
standard deviation ``sigma / sqrt(1 - b^2)`` on the log scale; seeds are
drawn from it.

The categorical law's maths (transition matrix, draws, exact Laplace
factors) is :mod:`rdsmodel.laws.inheritance`, shared with the covariate
model; this module holds the world-facing wrappers (levels, type rules,
pandas columns). Because a categorical field's law is a finite mixture,
Laplace summaries are exact:

.. math::

    E\\Big[e^{-\\sum_f H_{jf}(X'_f)} \\,\\Big|\\, x\\Big]
      = \\prod_f \\sum_c P_f(c \\mid x_f) \\, e^{-H_{jf}(c)} .

Categorical columns produced here have a pandas ``CategoricalDtype`` with the
field's levels (cheap to carry round after round); the study tables convert
them to strings.

Examples
--------
>>> import numpy as np, pandas as pd
>>> law = OffspringLaw([CategoricalTransition.inheritance("SEX", ["F", "M"], rho=0.3)])
>>> parents = pd.DataFrame({"SEX": ["F", "M"]})
>>> law.sample(parents, np.array([2, 1]), np.random.default_rng(0)).shape
(3, 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from rdsmodel.laws import inheritance

__all__ = [
    "CategoricalTransition",
    "IndependentCovariates",
    "LogNormalRegression",
    "OffspringLaw",
    "category_codes",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def category_codes(values: pd.Series | ArrayLike, levels: Sequence[str], name: str) -> IntArray:
    """Integer codes ``0..K-1`` of ``values`` among ``levels``.

    Raises
    ------
    ValueError
        Naming the field and the unknown values, if any value (or a missing
        value) is not a level.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) and list(dtype.categories) == list(levels):
        codes = series.cat.codes.to_numpy()
    else:
        codes = pd.Index(list(levels)).get_indexer(series.to_numpy(dtype=object))
    if codes.size and codes.min() < 0:
        bad = sorted({str(v) for v in series[codes < 0]})[:5]
        raise ValueError(f"field {name!r}: value(s) {bad} are not among its levels {list(levels)}")
    return codes.astype(np.int64)


@dataclass(frozen=True, eq=False)
class CategoricalTransition:
    """Two-part mixture law of one categorical field.

    ``P(c | p) = rho 1[c = target[p]] + (1 - rho) pi(c)``.

    Parameters
    ----------
    name : str
        Column name.
    levels : tuple of str
        The levels, in order.
    rho : float
        Weight of the deterministic part, in ``[0, 1]``.
    pi : array, shape (K,)
        The fallback distribution; also the population law seeds are drawn
        from (for inheritance it is the stationary law).
    target : array of int, shape (K,)
        Level code the child takes under the deterministic part;
        ``arange(K)`` for inheritance.
    """

    name: str
    levels: tuple[str, ...]
    rho: float
    pi: FloatArray
    target: IntArray

    def __post_init__(self) -> None:
        k = len(self.levels)
        if k < 1 or len(set(self.levels)) != k:
            raise ValueError(f"field {self.name!r}: levels must be distinct and non-empty")
        if not 0.0 <= self.rho <= 1.0:
            raise ValueError(f"field {self.name!r}: rho must be in [0, 1], got {self.rho}")
        pi = np.asarray(self.pi, dtype="float64")
        if pi.shape != (k,) or np.any(pi < 0) or not np.isclose(pi.sum(), 1.0):
            raise ValueError(
                f"field {self.name!r}: pi must be {k} nonnegative weights summing to 1"
            )
        target = np.asarray(self.target, dtype=np.int64)
        if target.shape != (k,) or np.any((target < 0) | (target >= k)):
            raise ValueError(
                f"field {self.name!r}: target must map each of the {k} levels to a level"
            )
        object.__setattr__(self, "pi", pi)
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "_dtype", pd.CategoricalDtype(list(self.levels)))

    kind = "categorical"

    @classmethod
    def inheritance(
        cls, name: str, levels: Sequence[str], rho: float, pi: ArrayLike | None = None
    ) -> CategoricalTransition:
        """Homophily: ``P(c | p) = rho 1[c = p] + (1 - rho) pi(c)``; ``pi`` uniform by default."""
        k = len(levels)
        weights = np.full(k, 1.0 / k) if pi is None else np.asarray(pi, dtype="float64")
        return cls(name, tuple(levels), float(rho), weights, np.arange(k))

    @classmethod
    def type_rule(
        cls,
        name: str,
        levels: Sequence[str],
        follow: Mapping[str, str],
        p_follow: float,
        pi: ArrayLike | None = None,
    ) -> CategoricalTransition:
        """Type rule: the child takes level ``follow[p]`` with probability ``p_follow``, else ``pi``."""
        levels = tuple(levels)
        missing = [lv for lv in levels if lv not in follow]
        if missing:
            raise ValueError(f"field {name!r}: the type rule has no target for level(s) {missing}")
        unknown = sorted({v for v in follow.values() if v not in levels})
        if unknown:
            raise ValueError(
                f"field {name!r}: type-rule target(s) {unknown} are not levels {list(levels)}"
            )
        k = len(levels)
        weights = np.full(k, 1.0 / k) if pi is None else np.asarray(pi, dtype="float64")
        target = np.array([levels.index(follow[lv]) for lv in levels])
        return cls(name, levels, float(p_follow), weights, target)

    @property
    def dtype(self) -> pd.CategoricalDtype:
        """Pandas dtype of the column."""
        return self._dtype  # type: ignore[attr-defined]

    def transition_matrix(self) -> FloatArray:
        """``M[p, c] = P(c | p)``, shape ``(K, K)``; rows sum to one."""
        return inheritance.transition_matrix(self.rho, self.pi, self.target)

    def expected_match_rate(self) -> float:
        """``P(c = p)`` with the recruiter drawn from ``pi``: ``sum_p pi(p) M[p, p]``.

        For inheritance this is ``rho + (1 - rho) sum_c pi(c)^2``.
        """
        return float(self.pi @ np.diag(self.transition_matrix()))

    def sample_codes(self, parent_codes: IntArray, rng: np.random.Generator) -> IntArray:
        """Child level codes, one per entry of ``parent_codes``."""
        return inheritance.sample_inheritance(parent_codes, self.rho, self.pi, rng, self.target)

    def sample_children(self, parent_values: pd.Series, rng: np.random.Generator) -> pd.Categorical:
        """Children's values (categorical), one per parent value given."""
        codes = category_codes(parent_values, self.levels, self.name)
        return pd.Categorical.from_codes(self.sample_codes(codes, rng), dtype=self.dtype)

    def sample_population(self, n: int, rng: np.random.Generator) -> pd.Categorical:
        """``n`` draws from ``pi`` (the seeds' law)."""
        return pd.Categorical.from_codes(
            inheritance.draw_categorical(self.pi, rng, n), dtype=self.dtype
        )

    def laplace_factor(self, h: FloatArray, parent_codes: IntArray) -> FloatArray:
        """``sum_c P(c | p) exp(-h[j, c])`` for each parent and feature ``j``.

        Parameters
        ----------
        h : array, shape (J, K)
            Nonnegative feature weights of this field's levels.
        parent_codes : int array, shape (person,)

        Returns
        -------
        array, shape (person, J)
        """
        table = inheritance.laplace_table(
            self.rho, self.pi, np.exp(-np.asarray(h, dtype="float64")), self.target
        )
        return table[:, parent_codes].T


@dataclass(frozen=True)
class LogNormalRegression:
    """Log-normal regression of a positive numeric field on the recruiter's value.

    ``log x' = intercept + slope * log x + sigma * eps``. Seeds come from the
    stationary law (``|slope| < 1``): log-normal with log-mean
    ``intercept / (1 - slope)`` and log-sd ``sigma / sqrt(1 - slope^2)``.

    Parameters
    ----------
    name : str
        Column name.
    intercept, slope, sigma : float
        Regression coefficients on the log scale; ``sigma >= 0``.
    integer : bool
        Round draws to whole numbers of at least 1 (a reported network size).
    """

    name: str
    intercept: float
    slope: float
    sigma: float
    integer: bool = False

    kind = "numeric"

    def __post_init__(self) -> None:
        if not abs(self.slope) < 1:
            raise ValueError(f"field {self.name!r}: |slope| must be < 1 for a stationary law")
        if self.sigma < 0:
            raise ValueError(f"field {self.name!r}: sigma must be >= 0")

    @classmethod
    def stationary(
        cls, name: str, median: float, log_sd: float, slope: float = 0.0, integer: bool = False
    ) -> LogNormalRegression:
        """Build the regression whose stationary law has the given median and log-sd."""
        mean_log = float(np.log(median))
        return cls(
            name,
            intercept=mean_log * (1.0 - slope),
            slope=slope,
            sigma=log_sd * float(np.sqrt(1.0 - slope**2)),
            integer=integer,
        )

    @property
    def dtype(self) -> np.dtype:
        """Column dtype (``float64``)."""
        return np.dtype("float64")

    def _finish(self, log_x: FloatArray) -> FloatArray:
        x = np.exp(log_x)
        if self.integer:
            x = np.maximum(np.rint(x), 1.0)
        return x

    def sample_children(self, parent_values: pd.Series, rng: np.random.Generator) -> FloatArray:
        """Children's values, one per parent value given."""
        x = pd.Series(parent_values).to_numpy(dtype="float64", na_value=np.nan)
        if np.any(~np.isfinite(x) | (x <= 0)):
            raise ValueError(f"field {self.name!r}: recruiter values must be positive numbers")
        return self._finish(
            self.intercept + self.slope * np.log(x) + self.sigma * rng.standard_normal(len(x))
        )

    def sample_population(self, n: int, rng: np.random.Generator) -> FloatArray:
        """``n`` draws from the stationary law."""
        mean = self.intercept / (1.0 - self.slope)
        sd = self.sigma / np.sqrt(1.0 - self.slope**2)
        return self._finish(mean + sd * rng.standard_normal(n))


FieldLaw = CategoricalTransition | LogNormalRegression


class OffspringLaw:
    """Recruit covariates given the recruiter's: independent fields.

    Parameters
    ----------
    fields : iterable of CategoricalTransition or LogNormalRegression
        One law per covariate column; order is the column order.

    Notes
    -----
    Matches the ``OffspringModel`` protocol of ``docs/architecture.md``
    (``sample(parents, n_children, rng, sample=None)`` and
    ``laplace(H, parents, sample=None)``); ``sample`` (the posterior draw)
    is accepted and ignored, since the true law is a single point.
    """

    def __init__(self, fields: Iterable[FieldLaw]) -> None:
        self.fields: tuple[FieldLaw, ...] = tuple(fields)
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate field names in the offspring law: {names}")

    def __repr__(self) -> str:
        return f"OffspringLaw({', '.join(f.name for f in self.fields)})"

    @property
    def names(self) -> list[str]:
        """Covariate column names, in order."""
        return [f.name for f in self.fields]

    @property
    def categorical(self) -> list[CategoricalTransition]:
        """The categorical field laws, in order (the ``field`` axis of :meth:`laplace`)."""
        return [f for f in self.fields if isinstance(f, CategoricalTransition)]

    def field(self, name: str) -> FieldLaw:
        """The law of field ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"no field {name!r}; fields: {self.names}")

    def sample(
        self,
        parents: pd.DataFrame,
        n_children: ArrayLike,
        rng: np.random.Generator,
        sample: int | None = None,
    ) -> pd.DataFrame:
        """Draw recruit covariates.

        Parameters
        ----------
        parents : DataFrame
            One row per recruiter with (at least) every field's column.
        n_children : int array, shape (len(parents),)
            Recruits of each recruiter.
        rng : numpy.random.Generator
        sample : int, optional
            Ignored (protocol compatibility).

        Returns
        -------
        DataFrame
            ``n_children.sum()`` rows, recruiter-major (all of the first
            recruiter's recruits, then the second's ...), a fresh
            ``RangeIndex`` and one column per field.
        """
        counts = np.asarray(n_children)
        if counts.shape != (len(parents),):
            raise ValueError(f"n_children has shape {counts.shape}, expected ({len(parents)},)")
        if counts.size and (counts.min() < 0 or not np.issubdtype(counts.dtype, np.integer)):
            raise ValueError("n_children must be nonnegative integers")
        index = np.repeat(np.arange(len(parents)), counts)
        out = {}
        for law in self.fields:
            if law.name not in parents.columns:
                raise ValueError(f"the recruiters' table has no column {law.name!r}")
            out[law.name] = law.sample_children(parents[law.name].iloc[index], rng)
        return pd.DataFrame(out, index=pd.RangeIndex(len(index)))

    def sample_population(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` independent people from the population law (for seeds)."""
        return pd.DataFrame(
            {law.name: law.sample_population(n, rng) for law in self.fields}, index=pd.RangeIndex(n)
        )

    def population(self) -> IndependentCovariates:
        """The population law as a seed-covariate law."""
        return IndependentCovariates(self.fields)

    def transition_matrix(self, name: str) -> FloatArray:
        """``P(c | p)`` of categorical field ``name``, shape ``(K, K)``."""
        law = self.field(name)
        if not isinstance(law, CategoricalTransition):
            raise ValueError(f"field {name!r} is numeric")
        return law.transition_matrix()

    def laplace(self, H: ArrayLike, parents: pd.DataFrame, sample: int | None = None) -> FloatArray:
        """Exact ``E[exp(-sum_f H[j, f, X'_f]) | parent]`` over the categorical fields.

        Parameters
        ----------
        H : array, shape (J, F, K_max)
            Nonnegative feature weights; ``F`` runs over :attr:`categorical`
            in order and the level axis over each field's levels (padding
            beyond ``K_f`` is ignored). Numeric fields carry no weight.
        parents : DataFrame
            One row per recruiter.
        sample : int, optional
            Ignored (protocol compatibility).

        Returns
        -------
        array, shape (person, J)
        """
        H = np.asarray(H, dtype="float64")
        cats = self.categorical
        if H.ndim != 3 or H.shape[1] != len(cats):
            raise ValueError(f"H must have shape (J, {len(cats)}, K_max), got {H.shape}")
        out = np.ones((len(parents), H.shape[0]))
        for f, law in enumerate(cats):
            k = len(law.levels)
            if H.shape[2] < k:
                raise ValueError(f"H has {H.shape[2]} levels, field {law.name!r} needs {k}")
            codes = category_codes(parents[law.name], law.levels, law.name)
            out *= law.laplace_factor(H[:, f, :k], codes)
        return out


class IndependentCovariates:
    """Seed covariate law: independent draws from each field's population law.

    Parameters
    ----------
    fields : iterable of CategoricalTransition or LogNormalRegression
        Each contributes ``sample_population``.
    """

    def __init__(self, fields: Iterable[FieldLaw]) -> None:
        self.fields = tuple(fields)

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` people, one column per field."""
        return pd.DataFrame(
            {law.name: law.sample_population(n, rng) for law in self.fields}, index=pd.RangeIndex(n)
        )
