"""Vectorised parsing of raw columns into canonical values, with masks of bad cells.

Every parser takes a :class:`pandas.Series` as the user gave it (any dtype) and
returns new arrays; the input is never modified. Bad cells are reported as a
boolean mask so the caller can name the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

__all__ = [
    "ParsedColumn",
    "as_id",
    "as_text",
    "parse_bool",
    "parse_count",
    "parse_numeric",
    "parse_times",
]

STRING = pd.StringDtype()
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
_WHOLE_FLOAT = r"^([+-]?\d+)\.0+$"


@dataclass(frozen=True)
class ParsedColumn:
    """Parsed values plus the cells that could not be parsed.

    Attributes
    ----------
    values : pandas.Series
        Parsed values (missing where the cell was empty or bad).
    bad : numpy.ndarray of bool
        Non-empty cells that failed to parse.
    text : pandas.Series
        The cells as stripped text (``<NA>`` when empty), for messages.
    """

    values: pd.Series
    bad: np.ndarray
    text: pd.Series


def as_text(series: pd.Series) -> pd.Series:
    """Normalise a column to stripped strings, ``<NA>`` for empty cells.

    Integer-valued floats (``1.0``, as pandas reads an integer column with gaps)
    become ``"1"`` so ids and levels compare as written.

    Parameters
    ----------
    series : pandas.Series
        Any dtype.

    Returns
    -------
    pandas.Series of string dtype
        Same index as ``series``.
    """
    if ptypes.is_bool_dtype(series.dtype):
        text = series.astype(STRING)
    elif ptypes.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(values)
        if np.all(values[finite] == np.round(values[finite])) and np.all(
            np.abs(values[finite]) < 2**53
        ):
            ints = pd.array(np.where(finite, values, 0).astype(np.int64), dtype="Int64")
            ints[~finite] = pd.NA
            text = pd.Series(ints, index=series.index).astype(STRING)
        else:
            text = series.astype(STRING)
    elif ptypes.is_datetime64_any_dtype(series.dtype):
        text = series.astype(STRING)
    else:
        # Through plain objects: robust to any string array flavour a caller may hand us.
        values = series.to_numpy(dtype=object, na_value=None)
        text = pd.Series(pd.array(values, dtype=STRING), index=series.index).str.strip()
    return text.mask(text == "", pd.NA)


def as_id(series: pd.Series) -> pd.Series:
    """Normalise an id, recruiter or code column: :func:`as_text`, then ``7.0`` -> ``7``.

    Spreadsheets and R write whole numbers of a column with gaps as ``7.0``;
    the respondent is still ``7``. Only a zero fraction is removed, so
    ``7.5`` and ``007`` stay as written.

    Parameters
    ----------
    series : pandas.Series

    Returns
    -------
    pandas.Series of string dtype

    Examples
    --------
    >>> as_id(pd.Series(["7.0", "007", "7.5", " a1 ", None])).tolist()
    ['7', '007', '7.5', 'a1', <NA>]
    """
    text = as_text(series)
    return text.str.replace(_WHOLE_FLOAT, r"\1", regex=True)


def parse_count(series: pd.Series) -> ParsedColumn:
    """Parse a column of non-negative whole numbers (coupons).

    Parameters
    ----------
    series : pandas.Series

    Returns
    -------
    ParsedColumn
        ``values`` has dtype ``Int64``; ``bad`` marks text, negatives and fractions.
    """
    text = as_text(series)
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    present = text.notna().to_numpy()
    ok = np.isfinite(numbers) & (numbers >= 0) & (numbers == np.round(numbers))
    bad = present & ~ok
    values = pd.array(np.where(ok, numbers, 0).astype(np.int64), dtype="Int64")
    values[~ok] = pd.NA
    return ParsedColumn(pd.Series(values, index=series.index), bad, text)


def parse_numeric(series: pd.Series) -> ParsedColumn:
    """Parse a numeric covariate to float64.

    Parameters
    ----------
    series : pandas.Series

    Returns
    -------
    ParsedColumn
        ``values`` is float64 with NaN for missing; ``bad`` marks non-numbers and infinities.
    """
    if ptypes.is_numeric_dtype(series.dtype) and not ptypes.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        text = series.astype(STRING)
        present = ~np.isnan(values)
    else:
        text = as_text(series)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        present = text.notna().to_numpy()
    bad = present & ~np.isfinite(values)
    values = np.where(bad, np.nan, values)
    return ParsedColumn(pd.Series(values, index=series.index, dtype="float64"), bad, text)


def parse_times(series: pd.Series, time_format: str = "ISO8601") -> ParsedColumn:
    """Parse interview times to naive datetimes.

    Time-zone aware values are converted to UTC and made naive.

    Parameters
    ----------
    series : pandas.Series
        Datetimes or text.
    time_format : str
        A :func:`pandas.to_datetime` format; ``"ISO8601"`` (default) accepts
        ``2024-03-01``, ``2024-03-01 14:30`` and ``2024-03-01T14:30:00``.

    Returns
    -------
    ParsedColumn
        ``values`` has a datetime64 dtype; ``bad`` marks unparseable cells.
    """
    if ptypes.is_datetime64_any_dtype(series.dtype):
        values = series
        text = series.astype(STRING)
        present = series.notna().to_numpy()
    else:
        text = as_text(series)
        present = text.notna().to_numpy()
        try:
            values = pd.to_datetime(text, format=time_format, errors="coerce")
        except (ValueError, TypeError):  # mixed offsets and other oddities: one value at a time
            values = pd.to_datetime(
                text.astype(object), format=time_format, errors="coerce", utc=True
            )
    if getattr(values.dtype, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    values = values.astype("datetime64[us]")
    bad = present & values.isna().to_numpy()
    return ParsedColumn(pd.Series(values, index=series.index), bad, text)


def parse_bool(series: pd.Series) -> ParsedColumn:
    """Parse true/false cells (``true``/``false``, ``yes``/``no``, ``1``/``0``).

    Parameters
    ----------
    series : pandas.Series

    Returns
    -------
    ParsedColumn
        ``values`` is a nullable ``boolean`` series; ``bad`` marks other text.
    """
    if ptypes.is_bool_dtype(series.dtype):
        values = series.astype("boolean")
        return ParsedColumn(values, np.zeros(len(series), dtype=bool), values.astype(STRING))
    text = as_text(series)
    lower = text.str.lower()
    is_true = lower.isin(_TRUE).to_numpy(dtype=bool, na_value=False)
    is_false = lower.isin(_FALSE).to_numpy(dtype=bool, na_value=False)
    bad = text.notna().to_numpy() & ~is_true & ~is_false
    values = pd.array(is_true, dtype="boolean")
    values[~is_true & ~is_false] = pd.NA
    return ParsedColumn(pd.Series(values, index=series.index), bad, text)
