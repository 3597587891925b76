"""Field specifications of the covariate model: what each modelled covariate is.

A :class:`FieldSpec` is the frozen, JSON-able description of one modelled
covariate. It carries everything the offspring model needs to be rebuilt from a
saved posterior without the data:

* categorical fields: the levels in model order (codes ``0..K-1``) and, when
  missing values are modelled as their own level, a trailing
  :data:`MISSING_LABEL` level;
* numeric fields: whether the field is modelled on the log scale (every
  observed value positive), the standardisation used for sampling, the
  population mean and standard deviation on the modelling scale (used to
  marginalise a missing recruiter value) and the percentiles ``0, 1, ..., 100``
  of the observed values, from which the quantile bins of
  :meth:`InheritanceOffspring.laplace` are cut.

Examples
--------
>>> spec = FieldSpec.categorical("SEX", ["F", "M", "T"])
>>> spec.n_levels, spec.to_dict()["kind"]
(3, 'categorical')
>>> FieldSpec.from_dict(spec.to_dict()) == spec
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["MISSING_LABEL", "FieldSpec", "category_codes", "fields_from_schema"]

#: Label of the extra level used when ``missing="level"``.
MISSING_LABEL = "(missing)"


@dataclass(frozen=True)
class FieldSpec:
    """One modelled covariate.

    Parameters
    ----------
    name : str
        Column name.
    kind : {"categorical", "numeric"}
    levels : tuple of str
        Categorical levels in code order (empty for numeric fields).
    missing_level : bool
        Whether the last level is :data:`MISSING_LABEL` (``missing="level"``).
    log : bool
        Numeric fields: modelled on the log scale.
    center, scale : float
        Numeric fields: standardisation on the modelling scale,
        ``z = (t(x) - center) / scale``.
    pop_mean, pop_sd : float
        Numeric fields: mean and standard deviation of all observed values on
        the modelling scale (the population law of a missing recruiter value).
    percentiles : tuple of float
        Numeric fields: the 101 percentiles ``0, 1, ..., 100`` of the observed
        values on the original scale.
    """

    name: str
    kind: Literal["categorical", "numeric"]
    levels: tuple[str, ...] = ()
    missing_level: bool = False
    log: bool = False
    center: float = 0.0
    scale: float = 1.0
    pop_mean: float = 0.0
    pop_sd: float = 1.0
    percentiles: tuple[float, ...] = field(default=())

    @classmethod
    def categorical(
        cls, name: str, levels: Sequence[str], *, missing_level: bool = False
    ) -> FieldSpec:
        """A categorical field; ``missing_level`` appends :data:`MISSING_LABEL`."""
        levels = tuple(str(v) for v in levels)
        if missing_level:
            levels = (*levels, MISSING_LABEL)
        if len(levels) < 1 or len(set(levels)) != len(levels):
            raise ValueError(
                f"field {name!r}: levels must be distinct and non-empty, got {list(levels)}"
            )
        return cls(name=name, kind="categorical", levels=levels, missing_level=missing_level)

    @classmethod
    def numeric(cls, name: str, values: Sequence[float] | np.ndarray) -> FieldSpec:
        """A numeric field described by its observed values (missing values ignored).

        The field is modelled on the log scale when every observed value is
        positive.
        """
        x = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
        x = x[np.isfinite(x)]
        if x.size < 2:
            raise ValueError(
                f"numeric field {name!r} needs at least two observed values, got {x.size}"
            )
        log = bool(np.all(x > 0))
        t = np.log(x) if log else x
        sd = float(np.std(t))
        if not sd > 0:
            raise ValueError(f"numeric field {name!r} is constant; drop it or make it categorical")
        return cls(
            name=name,
            kind="numeric",
            log=log,
            center=float(np.mean(t)),
            scale=sd,
            pop_mean=float(np.mean(t)),
            pop_sd=sd,
            percentiles=tuple(float(v) for v in np.percentile(x, np.arange(101))),
        )

    @property
    def is_categorical(self) -> bool:
        """bool: whether the field is categorical."""
        return self.kind == "categorical"

    @property
    def n_levels(self) -> int:
        """int: number of categorical levels (0 for numeric fields)."""
        return len(self.levels)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Map original values to the modelling scale (log or identity)."""
        x = np.asarray(x, dtype=float)
        if not self.log:
            return x
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)

    def untransform(self, t: np.ndarray) -> np.ndarray:
        """Map modelling-scale values back to the original scale."""
        t = np.asarray(t, dtype=float)
        return np.exp(t) if self.log else t

    def bin_edges(self, n_bins: int) -> np.ndarray:
        """Interior quantile-bin edges (original scale), distinct and increasing.

        The edges are the ``k / n_bins`` quantiles, ``k = 1..n_bins-1``, of the
        observed values (interpolated in the stored percentiles). Repeated
        edges (a field with few distinct values) are merged, so fewer bins
        may result.
        """
        if self.is_categorical:
            raise TypeError(f"field {self.name!r} is categorical and has no bins")
        if n_bins < 1:
            raise ValueError(f"n_bins must be at least 1, got {n_bins}")
        q = np.interp(
            100.0 * np.arange(1, n_bins) / n_bins, np.arange(101.0), np.asarray(self.percentiles)
        )
        return np.unique(q)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of all attributes."""
        out = {"name": self.name, "kind": self.kind}
        if self.is_categorical:
            out.update(levels=list(self.levels), missing_level=self.missing_level)
        else:
            out.update(
                log=self.log,
                center=self.center,
                scale=self.scale,
                pop_mean=self.pop_mean,
                pop_sd=self.pop_sd,
                percentiles=list(self.percentiles),
            )
        return out

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> FieldSpec:
        """Inverse of :meth:`to_dict`."""
        if value["kind"] == "categorical":
            return cls(
                name=str(value["name"]),
                kind="categorical",
                levels=tuple(value["levels"]),
                missing_level=bool(value.get("missing_level", False)),
            )
        return cls(
            name=str(value["name"]),
            kind="numeric",
            log=bool(value["log"]),
            center=float(value["center"]),
            scale=float(value["scale"]),
            pop_mean=float(value["pop_mean"]),
            pop_sd=float(value["pop_sd"]),
            percentiles=tuple(float(v) for v in value["percentiles"]),
        )


def category_codes(values: pd.Series, spec: FieldSpec) -> np.ndarray:
    """Integer codes of a categorical column; missing values get ``-1``.

    With ``spec.missing_level`` missing values get the code of
    :data:`MISSING_LABEL` instead.

    Raises
    ------
    ValueError
        Naming the field and the offending values if a non-missing value is not
        a level of the field.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    series = series.astype("string")
    levels = list(spec.levels)
    missing = series.isna().to_numpy()
    bad = ~series.isin(levels).to_numpy(dtype=bool, na_value=False) & ~missing
    if bad.any():
        shown = sorted({str(v) for v in series[bad]})[:5]
        raise ValueError(
            f"covariate {spec.name!r}: value(s) {shown} are not among its levels {levels}"
        )
    codes = pd.Categorical(series, categories=levels).codes.astype(np.int64)
    if spec.missing_level:
        codes[missing] = len(levels) - 1
    return codes


def fields_from_schema(
    schema: Any,
    table: pd.DataFrame,
    fields: Sequence[str] | None = None,
    *,
    missing: Literal["marginalise", "level"] = "marginalise",
) -> list[FieldSpec]:
    """Build the :class:`FieldSpec` list of the modelled fields.

    Parameters
    ----------
    schema : rdsmodel.data.CovariateSchema
        Iterable of fields with ``name``, ``kind`` and ``levels`` (``None`` for a
        categorical field means the levels seen in the table, sorted).
    table : pandas.DataFrame
        The recruitment table (its covariate columns).
    fields : sequence of str, optional
        Which covariates to model (default: all, in schema order).
    missing : {"marginalise", "level"}
        With ``"level"`` a categorical field with any missing value gets an
        extra :data:`MISSING_LABEL` level.

    Raises
    ------
    ValueError
        If a requested field is not in the schema or not in the table.
    """
    if missing not in ("marginalise", "level"):
        raise ValueError(f"missing must be 'marginalise' or 'level', got {missing!r}")
    by_name = {f.name: f for f in schema}
    names = list(by_name) if fields is None else list(fields)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(
            f"fields {unknown} are not covariates of the study (covariates: {list(by_name)})"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"fields repeat: {names}")
    if not names:
        raise ValueError("the covariate model needs at least one covariate field")
    specs = []
    for name in names:
        if name not in table.columns:
            raise ValueError(f"covariate {name!r} is in the schema but not in the table")
        f = by_name[name]
        column = table[name]
        if f.kind == "categorical":
            levels = f.levels
            if levels is None:
                levels = tuple(sorted(column.dropna().astype(str).unique()))
            has_missing = bool(column.isna().any())
            specs.append(
                FieldSpec.categorical(
                    name, levels, missing_level=missing == "level" and has_missing
                )
            )
        else:
            specs.append(FieldSpec.numeric(name, column.to_numpy()))
    return specs
