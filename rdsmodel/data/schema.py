"""Covariate schema: which covariates are categorical (with levels) and which numeric.

The schema travels with a fitted model (it is stored as JSON in the posterior's
configuration), so it is a small frozen value object with
:meth:`CovariateSchema.to_dict` and :meth:`CovariateSchema.from_dict`.

Inference rule (:func:`infer_schema`): a column is *numeric* when every
non-missing value parses as a number **and** it either has more than
``max_levels`` (default 10) distinct values or holds a non-integer value.
Otherwise it is *categorical*, with its distinct values as levels, sorted
numerically when they all look like numbers and alphabetically otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from rdsmodel.errors import DataError

__all__ = ["CovariateField", "CovariateSchema", "infer_schema"]

Kind = Literal["categorical", "numeric"]
_KINDS = ("categorical", "numeric")


@dataclass(frozen=True)
class CovariateField:
    """One covariate of the recruitment table.

    Parameters
    ----------
    name : str
        Column name in the canonical table.
    kind : {"categorical", "numeric"}
        Categorical fields are stored as strings, numeric ones as float64.
    levels : tuple of str, optional
        The allowed levels of a categorical field, in model order. ``None`` for
        numeric fields; for a categorical field ``None`` means "take the levels
        seen in the data".

    Examples
    --------
    >>> CovariateField("sex", "categorical", ("female", "male")).levels
    ('female', 'male')
    """

    name: str
    kind: Kind
    levels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise DataError(
                f"covariate {self.name!r}: kind must be 'categorical' or 'numeric', got {self.kind!r}"
            )
        if self.levels is not None:
            if self.kind == "numeric":
                raise DataError(f"covariate {self.name!r} is numeric and cannot have levels")
            levels = tuple(str(level) for level in self.levels)
            if len(set(levels)) != len(levels):
                raise DataError(f"covariate {self.name!r}: levels repeat: {list(levels)}")
            object.__setattr__(self, "levels", levels)

    @property
    def is_categorical(self) -> bool:
        """bool: whether the field is categorical."""
        return self.kind == "categorical"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict ``{"name", "kind", "levels"}``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "levels": None if self.levels is None else list(self.levels),
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> CovariateField:
        """Build a field from :meth:`to_dict` output."""
        levels = value.get("levels")
        return cls(str(value["name"]), value["kind"], None if levels is None else tuple(levels))


@dataclass(frozen=True)
class CovariateSchema:
    """The ordered covariate fields of a study.

    Parameters
    ----------
    fields : sequence of CovariateField
        In table order; names must be unique.

    Examples
    --------
    >>> schema = CovariateSchema([CovariateField("sex", "categorical", ("f", "m")),
    ...                           CovariateField("age", "numeric")])
    >>> schema.names, [f.name for f in schema.categorical], schema["age"].kind
    (['sex', 'age'], ['sex'], 'numeric')
    >>> CovariateSchema.from_dict(schema.to_dict()) == schema
    True
    """

    fields: tuple[CovariateField, ...]

    def __init__(self, fields: Iterable[CovariateField] = ()) -> None:
        fields = tuple(fields)
        for field in fields:
            if not isinstance(field, CovariateField):
                raise TypeError(
                    f"CovariateSchema takes CovariateField objects, got {type(field).__name__}"
                )
        names = [f.name for f in fields]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise DataError(f"covariate schema names repeat: {repeated}")
        object.__setattr__(self, "fields", fields)

    @property
    def names(self) -> list[str]:
        """list of str: all covariate names, in order."""
        return [f.name for f in self.fields]

    @property
    def categorical(self) -> tuple[CovariateField, ...]:
        """tuple of CovariateField: the categorical fields, in order."""
        return tuple(f for f in self.fields if f.kind == "categorical")

    @property
    def numeric(self) -> tuple[CovariateField, ...]:
        """tuple of CovariateField: the numeric fields, in order."""
        return tuple(f for f in self.fields if f.kind == "numeric")

    @property
    def categorical_names(self) -> list[str]:
        """list of str: names of the categorical fields."""
        return [f.name for f in self.categorical]

    @property
    def numeric_names(self) -> list[str]:
        """list of str: names of the numeric fields."""
        return [f.name for f in self.numeric]

    def __getitem__(self, name: str) -> CovariateField:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(
            f"no covariate {name!r} in the schema (covariates: {', '.join(self.names) or 'none'})"
        )

    def __contains__(self, name: object) -> bool:
        return any(f.name == name for f in self.fields)

    def __iter__(self) -> Iterator[CovariateField]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict ``{"fields": [...]}``."""
        return {"fields": [f.to_dict() for f in self.fields]}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> CovariateSchema:
        """Build a schema from :meth:`to_dict` output."""
        return cls(CovariateField.from_dict(f) for f in value.get("fields", []))


def sorted_levels(values: Sequence[str]) -> tuple[str, ...]:
    """Sort level labels: numerically when all parse as numbers, else alphabetically.

    Parameters
    ----------
    values : sequence of str
        Distinct level labels.

    Returns
    -------
    tuple of str
    """
    values = list(values)
    numbers = pd.to_numeric(pd.Series(values, dtype="string"), errors="coerce")
    if len(values) and numbers.notna().all():
        order = np.argsort(numbers.to_numpy(dtype=float), kind="stable")
        return tuple(values[i] for i in order)
    return tuple(sorted(values))


def infer_field(name: str, values: pd.Series, *, max_levels: int = 10) -> CovariateField:
    """Infer the kind (and levels) of one covariate from its values.

    Parameters
    ----------
    name : str
        Field name.
    values : pandas.Series
        Values as strings (``pd.NA`` for missing), as produced by the readers.
    max_levels : int
        A column of integers with at most this many distinct values is categorical.

    Returns
    -------
    CovariateField
    """
    present = values.dropna()
    distinct = pd.unique(present.to_numpy(dtype=object))
    numbers = pd.to_numeric(pd.Series(distinct, dtype="string"), errors="coerce")
    if len(distinct) and numbers.notna().all():
        as_float = numbers.to_numpy(dtype=float)
        finite = np.isfinite(as_float)
        if not finite.all():
            # numbers with an infinity: a numeric field with bad cells (reported as bad_covariate)
            return CovariateField(name, "numeric")
        if len(distinct) > max_levels or not np.all(as_float == np.round(as_float)):
            return CovariateField(name, "numeric")
    return CovariateField(name, "categorical", sorted_levels([str(v) for v in distinct]))


def infer_schema(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    categorical: Sequence[str] | None = None,
    numeric: Sequence[str] | None = None,
    max_levels: int = 10,
) -> CovariateSchema:
    """Infer a covariate schema for ``columns`` of ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Covariate values as strings (``pd.NA`` for missing).
    columns : sequence of str
        The covariate columns, in order.
    categorical, numeric : sequence of str, optional
        Force these columns to a kind (levels of forced categorical columns are
        still taken from the data).
    max_levels : int
        See :func:`infer_field`.

    Returns
    -------
    CovariateSchema

    Raises
    ------
    DataError
        If a forced column is not a covariate or is forced both ways.
    """
    categorical = list(categorical or [])
    numeric = list(numeric or [])
    both = sorted(set(categorical) & set(numeric))
    if both:
        raise DataError(f"covariate(s) {', '.join(both)} given both --categorical and --numeric")
    unknown = sorted((set(categorical) | set(numeric)) - set(columns))
    if unknown:
        raise DataError(
            f"covariate(s) {', '.join(map(repr, unknown))} named in --categorical/--numeric are not covariates "
            f"of the table (covariates: {', '.join(columns) or 'none'})"
        )
    fields = []
    for name in columns:
        if name in numeric:
            fields.append(CovariateField(name, "numeric"))
        elif name in categorical:
            present = frame[name].dropna().unique()
            fields.append(
                CovariateField(name, "categorical", sorted_levels([str(v) for v in present]))
            )
        else:
            fields.append(infer_field(name, frame[name], max_levels=max_levels))
    return CovariateSchema(fields)
