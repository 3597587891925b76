"""Readers for the three field-data layouts: canonical, R ``RDS``-package style, coupon codes.

All readers return a validated :class:`~rdsmodel.data.recruitment.RecruitmentData`
or raise :class:`~rdsmodel.data.validation.DataValidationError` listing every
problem, one line each naming the id and the file line. Column names are
arguments with sensible defaults; any remaining keyword options are those of
:meth:`RecruitmentData.from_frame` (``time_col``, ``group_col``,
``covariates``, ``categorical``, ``numeric``, ``schema``, ``coupon_window``,
``cutoff``, ``drop_warned``, ``time_format``, ``max_levels``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from rdsmodel.data.build import build_table
from rdsmodel.data.columns import as_text
from rdsmodel.data.coupons import match_coupons
from rdsmodel.data.recruitment import RecruitmentData
from rdsmodel.data.validation import Context, DataValidationError, Problem, RowLabels

__all__ = ["FORMATS", "read_canonical", "read_coupons", "read_csv_text", "read_rds", "read_table"]

FORMATS = ("canonical", "rds", "coupons")
PathOrFrame = str | os.PathLike | pd.DataFrame
_COMMON = {"time_col", "group_col", "covariates", "categorical", "numeric", "schema", "coupon_window",
           "cutoff", "drop_warned", "time_format", "max_levels"}
_FILE_LINES = RowLabels("line", 2)
DEFAULT_ISSUED_PATTERN = r"^(coupon|issued|cpn)[ _.-]?\d+$|^issued[ _.-].+$"


def read_csv_text(path: str | os.PathLike, *, sep: str | None = None) -> pd.DataFrame:
    """Read a CSV file with every cell as text (``<NA>`` for empty and NA-like cells).

    Parameters
    ----------
    path : path-like
        The file; ``.tsv``/``.tab`` files are read tab-separated.
    sep : str, optional
        Field separator, overriding the extension.

    Returns
    -------
    pandas.DataFrame
        String columns, in file order.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is empty, not UTF-8 text, or not parseable as CSV (with the line).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a CSV file")
    if sep is None:
        sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        frame = pd.read_csv(path, sep=sep, dtype="string", encoding="utf-8-sig", skipinitialspace=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty (no header line)") from None
    except pd.errors.ParserError as err:
        raise ValueError(f"{path} is not a well-formed CSV file: {str(err).strip()}") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text (byte {err.start}); save it as UTF-8 CSV") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _load(source: PathOrFrame, sep: str | None) -> tuple[pd.DataFrame, RowLabels]:
    if isinstance(source, pd.DataFrame):
        return source.reset_index(drop=True), RowLabels()
    return read_csv_text(source, sep=sep), _FILE_LINES


def _check_options(options: dict[str, Any], fmt: str) -> None:
    unknown = sorted(set(options) - _COMMON)
    if unknown:
        raise ValueError(
            f"option(s) {unknown} do not apply to the {fmt} format; "
            f"its options are the column names and {', '.join(sorted(_COMMON))}"
        )


def _require(frame: pd.DataFrame, needed: Sequence[tuple[str, str, str]]) -> None:
    shown = ", ".join(repr(str(c)) for c in frame.columns) or "none"
    problems = [
        Problem("missing_column", f"no column {name!r} ({role}); the table has: {shown}. Name it with {option}=...")
        for name, role, option in needed
        if name not in frame.columns
    ]
    if problems:
        raise DataValidationError(problems)


def read_canonical(path_or_df: PathOrFrame, *, sep: str | None = None, **options: Any) -> RecruitmentData:
    """Read a table in the canonical layout.

    Columns: ``id``, ``recruiter_id`` (empty for seeds), ``coupons_issued``
    (empty for frontier members awaiting coupons), optional
    ``interview_time`` and ``group``, and covariates.

    Parameters
    ----------
    path_or_df : path-like or pandas.DataFrame
        A CSV file or a data frame (never modified).
    sep : str, optional
        CSV field separator (default ``,``; tab for ``.tsv``).
    **options
        ``id_col``, ``recruiter_col``, ``coupons_col`` and every option of
        :meth:`RecruitmentData.from_frame`.

    Returns
    -------
    RecruitmentData

    Raises
    ------
    FileNotFoundError, ValueError, DataValidationError

    Examples
    --------
    >>> data = read_canonical("study.csv", coupon_window=14)  # doctest: +SKIP
    """
    frame, labels = _load(path_or_df, sep)
    columns = {k: options.pop(k) for k in ("id_col", "recruiter_col", "coupons_col") if k in options}
    _check_options(options, "canonical")
    return RecruitmentData._from_built(build_table(frame, labels=labels, **columns, **options))


def read_rds(
    path: PathOrFrame,
    *,
    id_col: str = "id",
    recruiter_col: str = "recruiter.id",
    seed_markers: Sequence[str] = ("seed", "0", "-1", ""),
    network_size_col: str | None = "network.size",
    max_coupons: int | None = None,
    coupons_col: str | None = None,
    sep: str | None = None,
    **options: Any,
) -> RecruitmentData:
    """Read an R ``RDS``-package style table (``rds.data.frame`` layout).

    Seeds have a seed marker (``seed``, ``0``, ``-1`` or empty) as recruiter;
    every respondent got the same ``max_coupons`` (or the per-row
    ``coupons_col``); ``network.size`` is kept as a numeric covariate.

    Parameters
    ----------
    path : path-like or pandas.DataFrame
        A CSV file or a data frame (never modified).
    id_col : str
        Respondent id column.
    recruiter_col : str
        Recruiter id column.
    seed_markers : sequence of str
        Recruiter values that mark a seed. An id equal to a marker that is
        also used as a recruiter value is an error (``seed_marker_is_an_id``).
    network_size_col : str or None
        Personal network size column, kept as a numeric covariate; ``None`` if
        the table has none.
    max_coupons : int, optional
        Coupons every respondent got (the ``max.coupons`` of ``rds.data.frame``).
    coupons_col : str, optional
        Per-respondent coupons column, instead of ``max_coupons``.
    sep : str, optional
        CSV field separator.
    **options
        Options of :meth:`RecruitmentData.from_frame`.

    Returns
    -------
    RecruitmentData

    Raises
    ------
    FileNotFoundError, ValueError, DataValidationError

    Examples
    --------
    >>> data = read_rds("faux.csv", max_coupons=3, coupon_window=21)  # doctest: +SKIP
    """
    _check_options(options, "rds")
    if (max_coupons is None) == (coupons_col is None):
        raise ValueError("read_rds needs exactly one of max_coupons=N (coupons each respondent got) "
                         "or coupons_col='column'")
    if max_coupons is not None and (isinstance(max_coupons, bool) or not isinstance(max_coupons, (int, np.integer))
                                    or max_coupons < 0):
        raise ValueError(f"max_coupons must be a whole number >= 0, got {max_coupons!r}")
    frame, labels = _load(path, sep)
    needed = [(id_col, "respondent id", "id_col"), (recruiter_col, "recruiter id", "recruiter_col")]
    if network_size_col is not None:
        needed.append((network_size_col, "network size; pass network_size_col=None if there is none",
                       "network_size_col"))
    if coupons_col is not None:
        needed.append((coupons_col, "coupons issued", "coupons_col"))
    _require(frame, needed)

    ids = as_text(frame[id_col])
    recruiters = as_text(frame[recruiter_col])
    markers = {str(m).strip() for m in seed_markers} - {""}
    is_marker = recruiters.isin(markers).to_numpy(dtype=bool, na_value=False)
    clash = sorted(set(recruiters[is_marker].dropna()) & set(ids.dropna()))
    if clash:
        ctx = Context(ids.to_numpy(dtype=object, na_value=None), np.arange(len(frame)), labels, {})
        holders = np.flatnonzero(ids.isin(clash).to_numpy(dtype=bool, na_value=False))
        raise DataValidationError([ctx.problem(
            "seed_marker_is_an_id",
            f"{ctx.who(i)} is also a seed marker used in column {recruiter_col!r}; it is unclear who "
            f"recruited the rows naming {ids[i]!r}: pass seed_markers=... without it",
            [i],
        ) for i in holders])

    body = frame.copy(deep=False)
    body[recruiter_col] = recruiters.mask(is_marker, pd.NA)
    if max_coupons is not None:
        coupons_col = "coupons_issued"
        if coupons_col in body.columns:
            raise ValueError("the table already has a 'coupons_issued' column: pass coupons_col='coupons_issued' "
                             "instead of max_coupons")
        body[coupons_col] = int(max_coupons)
    if network_size_col is not None and options.get("schema") is None:
        covariates = options.get("covariates")
        if covariates is None or network_size_col in covariates:
            options["numeric"] = [*(options.get("numeric") or []), network_size_col]
    built = build_table(body, id_col=id_col, recruiter_col=recruiter_col, coupons_col=coupons_col,
                        labels=labels, **options)
    return RecruitmentData._from_built(built)


def read_coupons(
    path: PathOrFrame,
    *,
    id_col: str = "id",
    redeemed_col: str = "coupon",
    issued_cols: Sequence[str] | None = None,
    issued_pattern: str = DEFAULT_ISSUED_PATTERN,
    exclude_columns: Sequence[str] = (),
    unmatched: Literal["error", "seed", "drop"] = "error",
    empty_issued: Literal["frontier", "zero"] = "frontier",
    sep: str | None = None,
    **options: Any,
) -> RecruitmentData:
    """Read a coupon-code export (RDSAT style) and resolve recruiters by matching codes.

    Each row holds the code the respondent redeemed (empty for seeds) and the
    codes issued to them in several columns. The recruiter of a respondent is
    whoever was issued the code they redeemed; coupons issued = the number of
    distinct non-empty issued codes.

    Parameters
    ----------
    path : path-like or pandas.DataFrame
        A CSV file or a data frame (never modified).
    id_col : str
        Respondent id column.
    redeemed_col : str
        Column with the redeemed code.
    issued_cols : sequence of str, optional
        Columns with issued codes. Default: columns matching ``issued_pattern``
        (``coupon1``, ``coupon_2``, ``issued_3``, ``issued_a`` ...), minus
        ``exclude_columns``.
    issued_pattern : str
        Case-insensitive regular expression for detecting issued columns.
    exclude_columns : sequence of str
        Columns that match the pattern but do not hold coupon codes; they are
        left out entirely (neither issued codes nor covariates).
    unmatched : {"error", "seed", "drop"}
        Respondents whose redeemed code was issued to nobody: an error each
        (default), treated as seeds (a warning each), or dropped with their
        descendants (a warning each, listed in ``data.dropped``).
    empty_issued : {"frontier", "zero"}
        A respondent with no issued code is awaiting coupons (default) or got none.
    sep : str, optional
        CSV field separator.
    **options
        Options of :meth:`RecruitmentData.from_frame`.

    Returns
    -------
    RecruitmentData

    Raises
    ------
    FileNotFoundError, ValueError, DataValidationError
        Auto-detected issued columns that do not look like codes are errors
        suggesting ``exclude_columns``; codes issued twice and codes redeemed
        twice are warnings listing the rows.

    Examples
    --------
    >>> data = read_coupons("export.csv", exclude_columns=["coupon_count"],
    ...                     unmatched="seed")  # doctest: +SKIP
    """
    for bad in ("recruiter_col", "coupons_col"):
        if bad in options:
            raise ValueError(f"{bad} does not apply to the coupons format: recruiters and coupon counts "
                             "come from the coupon codes (see redeemed_col and issued_cols)")
    _check_options(options, "coupons")
    if unmatched not in ("error", "seed", "drop"):
        raise ValueError(f"unmatched must be 'error', 'seed' or 'drop', got {unmatched!r}")
    if empty_issued not in ("frontier", "zero"):
        raise ValueError(f"empty_issued must be 'frontier' or 'zero', got {empty_issued!r}")
    frame, labels = _load(path, sep)
    _require(frame, [(id_col, "respondent id", "id_col"), (redeemed_col, "redeemed coupon code", "redeemed_col")])
    exclude = list(exclude_columns)
    _require(frame, [(c, "listed in exclude_columns", "exclude_columns") for c in exclude])
    explicit = issued_cols is not None
    if explicit:
        issued = list(issued_cols)
        _require(frame, [(c, "listed in issued_cols", "issued_cols") for c in issued])
    else:
        pattern = re.compile(issued_pattern, re.IGNORECASE)
        issued = [c for c in frame.columns
                  if pattern.search(str(c)) and c not in (id_col, redeemed_col) and c not in exclude]
        if not issued:
            raise DataValidationError([Problem(
                "missing_column",
                "no issued-code columns found (looked for names like coupon1..couponN or issued_*); "
                f"the table has: {', '.join(map(repr, map(str, frame.columns)))}. Name them with issued_cols=[...]",
            )])

    ids = as_text(frame[id_col])
    ctx = Context(ids.to_numpy(dtype=object, na_value=None), np.arange(len(frame)), labels,
                  {"id": id_col, "recruiter_id": redeemed_col, "coupons_issued": "issued codes"})
    matched = match_coupons(
        ctx, ids, as_text(frame[redeemed_col]), {c: as_text(frame[c]) for c in issued},
        redeemed_col=redeemed_col, explicit=explicit, unmatched=unmatched, empty_issued=empty_issued,
    )
    if any(p.is_error and p.kind == "suspicious_coupon_column" for p in matched.problems):
        raise DataValidationError(matched.problems)

    keep_cols = [c for c in frame.columns if c not in {redeemed_col, *issued, *exclude}]
    clash = [c for c in ("recruiter_id", "coupons_issued") if c in keep_cols and c != id_col]
    if clash:
        raise ValueError(f"column(s) {clash} clash with the columns derived from the coupon codes; "
                         "leave them out with exclude_columns=[...]")
    body = frame[keep_cols].copy(deep=False)
    body["recruiter_id"] = matched.recruiters
    body["coupons_issued"] = matched.issued
    built = build_table(
        body, id_col=id_col, recruiter_col="recruiter_id", coupons_col="coupons_issued", labels=labels,
        reader_problems=matched.problems, forced_drops=matched.drops,
        column_names={"recruiter_id": f"recruiter matched from {redeemed_col!r}",
                      "coupons_issued": "issued codes"},
        **options,
    )
    return RecruitmentData._from_built(built)


def read_table(
    path: PathOrFrame, format: Literal["canonical", "rds", "coupons"] = "canonical", **options: Any
) -> RecruitmentData:
    """Read a field table in any supported layout.

    Parameters
    ----------
    path : path-like or pandas.DataFrame
        The table.
    format : {"canonical", "rds", "coupons"}
        Dispatches to :func:`read_canonical`, :func:`read_rds` or :func:`read_coupons`.
    **options
        Options of that reader.

    Returns
    -------
    RecruitmentData

    Raises
    ------
    FileNotFoundError, ValueError, DataValidationError
    """
    readers = {"canonical": read_canonical, "rds": read_rds, "coupons": read_coupons}
    if format not in readers:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    return readers[format](path, **options)
