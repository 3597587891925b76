"""People as arrays: the coded covariates fast episodes carry round after round.

A :class:`Cohort` is a set of people (a frontier, its recruits) held as plain
arrays, one row per person:

* ``codes`` ``(n, F_cat)``: level codes ``0..K_f - 1`` of the categorical fields;
* ``numeric`` ``(n, F_num)``: values of the numeric fields;
* ``group`` ``(n,)``: site code (``-1`` without groups);
* ``node`` ``(n,)``: population node in network worlds (``-1`` otherwise).

A :class:`Coding` says what the columns mean (field names, levels, group
labels, the table's column order) and converts both ways: :meth:`Coding.frame`
builds the pandas table (categorical dtypes, as the worlds' laws read it) for
the few consumers that need one, and :meth:`Coding.encode` codes a table.

Examples
--------
>>> import numpy as np
>>> coding = Coding(columns=("sex", "size"), categorical=("sex",), levels=(("F", "M"),),
...                 numeric=("size",), groups=None)
>>> people = Cohort(np.array([[0], [1]]), np.array([[3.0], [7.0]]))
>>> coding.frame(people)["sex"].tolist()
['F', 'M']
>>> len(people.take(np.array([1, 1, 0])))
3
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["Coding", "Cohort"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def _int_column(values: np.ndarray | None, n: int) -> IntArray:
    if values is None:
        return np.full(n, -1, dtype=np.int64)
    return np.asarray(values, dtype=np.int64).reshape(n)


@dataclass(frozen=True, eq=False)
class Cohort:
    """People as arrays (see the module docstring).

    Parameters
    ----------
    codes : int array, shape (n, F_cat)
    numeric : float array, shape (n, F_num), optional
    group : int array, shape (n,), optional
        ``-1`` for no group.
    node : int array, shape (n,), optional
        ``-1`` outside network worlds.
    """

    codes: IntArray
    numeric: FloatArray = field(default=None)  # type: ignore[assignment]
    group: IntArray = field(default=None)  # type: ignore[assignment]
    node: IntArray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        codes = np.asarray(self.codes, dtype=np.int64)
        if codes.ndim != 2:
            raise ValueError(f"codes must be (people, fields), got shape {codes.shape}")
        n = codes.shape[0]
        numeric = (
            np.zeros((n, 0)) if self.numeric is None else np.asarray(self.numeric, dtype=np.float64)
        )
        if numeric.ndim != 2 or numeric.shape[0] != n:
            raise ValueError(f"numeric must be ({n}, fields), got shape {numeric.shape}")
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "numeric", numeric)
        object.__setattr__(self, "group", _int_column(self.group, n))
        object.__setattr__(self, "node", _int_column(self.node, n))

    def __len__(self) -> int:
        return self.codes.shape[0]

    @classmethod
    def empty(cls, n_categorical: int, n_numeric: int) -> Cohort:
        """No one, with the given numbers of fields."""
        return cls(np.zeros((0, n_categorical), dtype=np.int64), np.zeros((0, n_numeric)))

    def take(self, index: IntArray) -> Cohort:
        """The people at positions ``index`` (repeats allowed)."""
        return Cohort(self.codes[index], self.numeric[index], self.group[index], self.node[index])

    @staticmethod
    def concat(parts: Sequence[Cohort]) -> Cohort:
        """Row-bind cohorts with the same fields."""
        return Cohort(
            np.concatenate([p.codes for p in parts]),
            np.concatenate([p.numeric for p in parts]),
            np.concatenate([p.group for p in parts]),
            np.concatenate([p.node for p in parts]),
        )


@dataclass(frozen=True)
class Coding:
    """What a cohort's columns mean, and the conversions to and from tables.

    Attributes
    ----------
    columns : tuple of str
        Covariate columns in table order (categorical and numeric mixed).
    categorical : tuple of str
        Categorical fields, the order of :attr:`Cohort.codes`' columns.
    levels : tuple of tuple of str
        Levels of each categorical field.
    numeric : tuple of str
        Numeric fields, the order of :attr:`Cohort.numeric`' columns.
    groups : tuple of str or None
        Site labels (the group codes index them), or ``None``.
    group_column : str
        Name of the group column in tables.
    """

    columns: tuple[str, ...]
    categorical: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    numeric: tuple[str, ...]
    groups: tuple[str, ...] | None
    group_column: str = "group"

    def __post_init__(self) -> None:
        if len(self.levels) != len(self.categorical):
            raise ValueError("levels must give the levels of each categorical field")
        if sorted(self.columns) != sorted((*self.categorical, *self.numeric)):
            raise ValueError("columns must list the categorical and numeric fields, each once")
        dtypes = tuple(pd.CategoricalDtype(list(lv)) for lv in self.levels)
        object.__setattr__(self, "_dtypes", dtypes)

    @property
    def n_levels(self) -> tuple[int, ...]:
        """Levels per categorical field."""
        return tuple(len(lv) for lv in self.levels)

    def field_index(self, name: str) -> int:
        """Column of categorical field ``name`` in :attr:`Cohort.codes`."""
        try:
            return self.categorical.index(name)
        except ValueError:
            raise KeyError(
                f"no categorical field {name!r}; fields: {list(self.categorical)}"
            ) from None

    def frame(self, cohort: Cohort) -> pd.DataFrame:
        """The cohort as a table: group first (categorical), then the covariates in table order.

        Categorical columns have a ``CategoricalDtype`` with the field's
        levels; numeric columns are ``float64``.
        """
        columns: dict[str, object] = {}
        if self.groups is not None:
            columns[self.group_column] = pd.Categorical.from_codes(
                cohort.group, categories=list(self.groups)
            )
        cat = {name: k for k, name in enumerate(self.categorical)}
        num = {name: k for k, name in enumerate(self.numeric)}
        dtypes = self._dtypes  # type: ignore[attr-defined]
        for name in self.columns:
            if name in cat:
                k = cat[name]
                columns[name] = pd.Categorical.from_codes(cohort.codes[:, k], dtype=dtypes[k])
            else:
                columns[name] = cohort.numeric[:, num[name]]
        return pd.DataFrame(columns, index=pd.RangeIndex(len(cohort)))

    def encode(self, frame: pd.DataFrame, node: IntArray | None = None) -> Cohort:
        """Code a table of people (categorical columns by their levels).

        Raises
        ------
        ValueError
            Naming the column and the values that are not among its levels.
        """
        n = len(frame)
        codes = np.empty((n, len(self.categorical)), dtype=np.int64)
        for k, (name, levels) in enumerate(zip(self.categorical, self.levels, strict=True)):
            codes[:, k] = _codes(frame[name], levels, name)
        numeric = (
            np.column_stack([frame[name].to_numpy(dtype=np.float64) for name in self.numeric])
            if self.numeric
            else np.zeros((n, 0))
        )
        group = None
        if self.groups is not None:
            group = _codes(frame[self.group_column], self.groups, self.group_column)
        return Cohort(codes, numeric, group, node)


def _codes(values: pd.Series, levels: Sequence[str], name: str) -> IntArray:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) and list(dtype.categories) == list(levels):
        codes = values.cat.codes.to_numpy().astype(np.int64)
    else:
        codes = (
            pd.Index(list(levels)).get_indexer(values.astype(object).to_numpy()).astype(np.int64)
        )
    if codes.size and codes.min() < 0:
        bad = sorted({str(v) for v in values[codes < 0]})[:5]
        raise ValueError(f"column {name!r}: value(s) {bad} are not among its levels {list(levels)}")
    return codes
