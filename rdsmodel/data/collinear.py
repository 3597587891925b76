r"""Covariates that carry the same information: identical, perfectly collinear or constant.

Two columns holding the same values (an export with both ``network.size``
and ``Degree``) give a model two names for one effect: the posterior has a
ridge and the reported effects mean nothing. :func:`collinear_covariates`
reports, as warnings naming the columns and the ``--covariates`` list
without them,

* a constant covariate (one value for everyone);
* two covariates with the same values, or the same information: numeric
  columns with :math:`|r| = 1`, categorical columns whose levels pair one to
  one;
* a covariate that is an exact linear combination of earlier ones (in the
  design a model would use: numeric columns centred, categorical columns as
  indicators of all but their first level), found from the eigenvalues of the
  Gram matrix of unit-length design columns, on the respondents with every
  covariate present.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rdsmodel.data.schema import CovariateSchema
from rdsmodel.data.validation import Problem

__all__ = ["collinear_covariates"]

_TOLERANCE = 1e-9
_MAX_COLUMNS = 200


def _suggest(names: Sequence[str], without: str) -> str:
    rest = [n for n in names if n != without]
    return f"--covariates {','.join(rest)}" if rest else "no covariates"


def _warning(message: str) -> Problem:
    return Problem("collinear_covariates", message, severity="warning")


def _numeric_pair(x: np.ndarray, y: np.ndarray) -> str | None:
    both = np.isfinite(x) & np.isfinite(y)
    if both.sum() < 3:
        return None
    a, b = x[both], y[both]
    if np.array_equal(a, b):
        return "hold the same values"
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return None
    r = float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))
    if abs(r) > 1 - _TOLERANCE:
        return (
            f"are perfectly collinear (correlation {r:+.0f}: one is a linear function of the other)"
        )
    return None


def _as_numbers(values: pd.Series) -> np.ndarray | None:
    """The values as floats, or None when a present value is not a number."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    numbers = pd.to_numeric(values.astype("string"), errors="coerce")
    if (numbers.isna() & values.notna()).any():
        return None
    return numbers.to_numpy(dtype=float, na_value=np.nan)


def _categorical_pair(
    a_text: np.ndarray, a_present: np.ndarray, b_text: np.ndarray, b_present: np.ndarray
) -> str | None:
    both = a_present & b_present
    if both.sum() < 3:
        return None
    a, b = a_text[both], b_text[both]
    if len(pd.unique(a)) < 2:
        return None
    if (a == b).all():
        return "hold the same values"
    pairs = pd.DataFrame({"a": a, "b": b}).drop_duplicates()
    if pairs["a"].is_unique and pairs["b"].is_unique:
        shown = ", ".join(f"{p.a}={p.b}" for p in pairs.head(3).itertuples())
        return f"carry the same information (their levels pair one to one: {shown})"
    return None


def _design(
    table: pd.DataFrame, schema: CovariateSchema, complete: np.ndarray
) -> tuple[np.ndarray, list[int]]:
    """Unit-length design columns (intercept first) and the covariate index of each."""
    n = int(complete.sum())
    columns = [np.full(n, 1.0 / np.sqrt(n))]
    owner = [-1]
    for k, f in enumerate(schema):
        values = table[f.name][complete]
        if f.kind == "numeric":
            x = values.to_numpy(dtype=float)
            blocks = [x - x.mean()]
        else:
            text = values.astype(str).to_numpy()
            levels = pd.unique(text)
            blocks = [(text == level).astype(float) for level in levels[1:]]
        for col in blocks:
            norm = np.linalg.norm(col)
            columns.append(col / norm if norm > 0 else col)
            owner.append(k)
    return np.column_stack(columns), owner


def _rank(gram: np.ndarray) -> int:
    if gram.size == 0:
        return 0
    eig = np.linalg.eigvalsh(gram)
    return int((eig > _TOLERANCE * max(1.0, float(eig.max()))).sum())


def collinear_covariates(table: pd.DataFrame, schema: CovariateSchema) -> list[Problem]:
    """Warnings for constant, identical and perfectly collinear covariates.

    Parameters
    ----------
    table : pandas.DataFrame
        The canonical table (numeric covariates float64, categorical as text).
    schema : CovariateSchema

    Returns
    -------
    list of Problem
        Kinds ``constant_covariate`` and ``collinear_covariates`` (warnings).

    Examples
    --------
    >>> from rdsmodel.data.schema import CovariateField
    >>> t = pd.DataFrame({"a": [1.0, 2.0, 3.0, 5.0], "b": [1.0, 2.0, 3.0, 5.0]})
    >>> s = CovariateSchema([CovariateField("a", "numeric"), CovariateField("b", "numeric")])
    >>> [p.message.split(":")[0] for p in collinear_covariates(t, s)]
    ["covariates 'a' and 'b' hold the same values for every respondent with both"]
    """
    names = schema.names
    if not names or len(table) < 3:
        return []
    problems: list[Problem] = []
    flagged: set[str] = set()
    for f in schema:
        values = table[f.name].dropna()
        if len(values) >= 3 and values.astype(str).nunique() == 1:
            problems.append(
                Problem(
                    "constant_covariate",
                    f"covariate {f.name!r} has one value ({values.iloc[0]!r}) for every respondent who has it: it "
                    f"cannot explain anything; leave it out with {_suggest(names, f.name)}",
                    severity="warning",
                )
            )
            flagged.add(f.name)
    fields = list(schema)
    # Each column is converted once (text, presence, numbers), not once per pair.
    text = {f.name: table[f.name].astype(str).to_numpy() for f in fields}
    present = {f.name: table[f.name].notna().to_numpy() for f in fields}
    numbers = {f.name: _as_numbers(table[f.name]) for f in fields}

    def as_numbers_pair(a: str, b: str) -> str | None:
        if numbers[a] is None or numbers[b] is None:
            return None
        return _numeric_pair(numbers[a], numbers[b])

    for i, a in enumerate(fields):
        for b in fields[i + 1 :]:
            if a.name in flagged or b.name in flagged:
                continue
            why = None
            if a.kind == b.kind == "categorical":
                why = _categorical_pair(
                    text[a.name], present[a.name], text[b.name], present[b.name]
                )
            if why is None:
                why = as_numbers_pair(a.name, b.name)
            if why is not None:
                problems.append(
                    _warning(
                        f"covariates {a.name!r} and {b.name!r} {why} for every respondent with both: a model "
                        f"cannot tell their effects apart; leave one out, e.g. {_suggest(names, b.name)}"
                    )
                )
                flagged.add(b.name)
    rest = [f for f in fields if f.name not in flagged]
    if len(rest) < 2:
        return problems
    sub = CovariateSchema(rest)
    complete = table[sub.names].notna().all(axis=1).to_numpy()
    if complete.sum() < 3:
        return problems
    design, owner = _design(table, sub, complete)
    if design.shape[1] > _MAX_COLUMNS or design.shape[0] <= design.shape[1]:
        return problems
    gram = design.T @ design
    if _rank(gram) == gram.shape[0]:
        return problems
    owner = np.asarray(owner)
    for j in range(1, design.shape[1]):
        if _rank(gram[: j + 1, : j + 1]) > _rank(gram[:j, :j]):
            continue
        coef, *_ = np.linalg.lstsq(design[:, :j], design[:, j], rcond=None)
        k = int(owner[j])
        involved = sorted({int(owner[i]) for i in np.flatnonzero(np.abs(coef) > 1e-6)} - {k, -1})
        others = " and ".join(repr(rest[i].name) for i in involved) or "the other covariates"
        problems.append(
            _warning(
                f"covariate {rest[k].name!r} is an exact linear combination of {others} (on the "
                f"{int(complete.sum())} respondents with every covariate): a model cannot tell their effects "
                f"apart; leave one out, e.g. {_suggest(names, rest[k].name)}"
            )
        )
        break
    return problems
