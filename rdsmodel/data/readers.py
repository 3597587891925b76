"""Readers for the four field-data layouts: canonical, R ``RDS``-package style, coupon codes, RDSAT.

:func:`read_table` is the entry point: a path (or a data frame) and
:class:`~rdsmodel.data.options.ReadingOptions` (or the same options as
keywords). It returns a validated
:class:`~rdsmodel.data.recruitment.RecruitmentData` whose ``reading`` holds the
options actually used, or raises
:class:`~rdsmodel.data.validation.DataValidationError` listing every problem,
one line each naming the id and the file line. Option errors are
:class:`~rdsmodel.errors.DataError` naming the command-line flag.

Before any format-specific step every reader

* reads text files cell by cell with the physical line of each record
  (:mod:`rdsmodel.data.text`), guessing a ``;``, tab or ``|`` separator from
  the header line and refusing repeated column names;
* leaves out a first column of R or pandas row names (an unnamed column
  holding ``1..n``) and other unnamed columns, with a note;
* leaves out the ``exclude_columns``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rdsmodel.data.build import Built, build_table
from rdsmodel.data.columns import as_id
from rdsmodel.data.coupons import match_coupons
from rdsmodel.data.options import DEFAULT_SEED_MARKERS, FORMATS, ReadingOptions
from rdsmodel.data.recruitment import RecruitmentData
from rdsmodel.data.schema import CovariateSchema
from rdsmodel.data.text import decode, read_text_table, unnamed_columns
from rdsmodel.data.validation import Context, DataValidationError, Problem, RowLabels
from rdsmodel.errors import DataError

__all__ = [
    "DEFAULT_ISSUED_PATTERN",
    "FORMATS",
    "read_canonical",
    "read_coupons",
    "read_csv_text",
    "read_rds",
    "read_rdsat",
    "read_table",
]

PathOrFrame = str | os.PathLike | pd.DataFrame
DEFAULT_ISSUED_PATTERN = r"^(coupon|issued|cpn)[ _.-]?\d+$|^issued[ _.-].+$"
RDSAT_COLUMNS = ("id", "network.size", "own.coupon")


@dataclass
class _Source:
    """A table as read, before any format-specific step."""

    frame: pd.DataFrame
    labels: RowLabels
    notes: list[Problem] = field(default_factory=list)
    name: str = "the table"


def read_csv_text(path: str | os.PathLike, *, sep: str | None = None) -> pd.DataFrame:
    """Read a delimited text file with every cell as text (``<NA>`` for empty and NA-like cells).

    Parameters
    ----------
    path : path-like
    sep : str, optional
        Field separator (default: tab for ``.tsv``, else guessed from the header line).

    Returns
    -------
    pandas.DataFrame
        String columns, in file order.

    Raises
    ------
    MissingFileError, DataError
        See :func:`rdsmodel.data.text.read_text_table`.
    """
    return read_text_table(path, sep).frame


# -- the entry point ------------------------------------------------------------------------------
def read_table(
    path: PathOrFrame,
    options: ReadingOptions | str | None = None,
    *,
    schema: CovariateSchema | Mapping | None = None,
    **keywords: Any,
) -> RecruitmentData:
    """Read a field table in any supported layout.

    Parameters
    ----------
    path : path-like or pandas.DataFrame
        The table (a data frame is never modified).
    options : ReadingOptions or str, optional
        How to read it; a string is the format. Default: canonical, every
        option at its default.
    schema : CovariateSchema or dict, optional
        A fixed covariate schema (kinds and levels), e.g. from an earlier fit;
        values outside its levels are errors.
    **keywords
        Options of :class:`ReadingOptions` (``format="rds"``, ``group_col="site"``,
        ...), overriding ``options``.

    Returns
    -------
    RecruitmentData
        With ``reading`` = the options used, defaults filled in.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    DataError
        For a malformed file or option (naming the line or the flag).
    DataValidationError
        Listing every problem of the data.

    Examples
    --------
    >>> data = read_table("study.csv", group_col="site", coupon_window=21)  # doctest: +SKIP
    >>> again = read_table("study.csv", data.reading)                       # doctest: +SKIP
    """
    opts = _options(options, keywords)
    source = _load(path, opts)
    built, used = _READERS[opts.format](source, opts, schema)
    reading = _effective(opts, built, used)
    return RecruitmentData._from_built(built, reading=reading)


def _options(options: ReadingOptions | str | None, keywords: Mapping[str, Any]) -> ReadingOptions:
    if isinstance(options, str):
        keywords = {"format": options, **keywords}
        options = None
    if options is not None and not isinstance(options, ReadingOptions):
        raise DataError(
            f"options must be ReadingOptions or a format name, got {type(options).__name__}"
        )
    if "sep" in keywords:
        keywords = dict(keywords)
        keywords["delimiter"] = keywords.pop("sep")
    if options is None:
        probe = ReadingOptions.__dataclass_fields__
        unknown = sorted(set(keywords) - set(probe))
        if unknown:
            raise DataError(
                f"unknown reading option(s) {', '.join(unknown)}; the options are "
                f"{', '.join(sorted(probe))}"
            )
        return ReadingOptions(**keywords)
    return options.replace(**keywords) if keywords else options


def _effective(opts: ReadingOptions, built: Built, used: Mapping[str, Any]) -> ReadingOptions:
    schema = built.schema
    return opts.replace(
        time_col=built.used.get("time_col"),
        group_col=built.used.get("group_col"),
        covariates=tuple(schema.names),
        categorical=tuple(schema.categorical_names),
        numeric=tuple(schema.numeric_names),
        **used,
    )


# -- loading ------------------------------------------------------------------------------------------
def _load(source: PathOrFrame, opts: ReadingOptions) -> _Source:
    if isinstance(source, pd.DataFrame) and opts.format == "rdsat":
        raise DataError(
            "--format rdsat reads an RDSAT text file; a data frame is read with another format "
            "(e.g. coupons, with --redeemed-col own.coupon)"
        )
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
        columns = [str(c) for c in frame.columns]
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if repeated:
            raise DataError(
                f"the data frame repeats column name(s) {repeated}; give every column its own name"
            )
        frame.columns = columns
        loaded = _Source(frame, RowLabels(), name="the data frame")
    elif opts.format == "rdsat":
        loaded = _load_rdsat(Path(source), opts)
    else:
        table = read_text_table(source, opts.delimiter)
        loaded = _Source(table.frame, RowLabels("line", 2, lines=table.lines), name=str(source))
        if table.sniffed and table.delimiter != ",":
            loaded.notes.append(
                Problem(
                    "delimiter",
                    f"{source} read as {table.delimiter_name}-separated (guessed from the header line; "
                    "pass --delimiter to choose)",
                    severity="note",
                )
            )
    if loaded.frame.empty and not isinstance(source, pd.DataFrame):
        raise DataError(f"{loaded.name} has no respondents: it holds a header but no data rows")
    return _leave_out(loaded, opts)


def _named_in(opts: ReadingOptions) -> set[str]:
    named: set[str] = set()
    for name in (
        "id_col",
        "recruiter_col",
        "coupons_col",
        "time_col",
        "group_col",
        "network_size_col",
        "redeemed_col",
    ):
        if getattr(opts, name):
            named.add(getattr(opts, name))
    for name in ("covariates", "categorical", "numeric", "issued_cols"):
        named.update(getattr(opts, name) or ())
    return named


def _leave_out(loaded: _Source, opts: ReadingOptions) -> _Source:
    frame = loaded.frame
    row_names, unnamed = unnamed_columns(frame)
    named = _named_in(opts)
    drop: list[str] = []
    if row_names is not None and row_names not in named:
        values = frame[row_names]
        first, last = values.iloc[0], values.iloc[-1]
        label = (
            "the unnamed first column"
            if row_names.startswith("Unnamed") or not row_names
            else f"the first column {row_names!r}"
        )
        loaded.notes.append(
            Problem(
                "row_names",
                f"{label} holds row names ({first}..{last}, as R's write.csv or pandas' to_csv "
                "write them), not data: it is left out",
                severity="note",
            )
        )
        drop.append(row_names)
    for name in unnamed:
        if name in named:
            continue
        position = list(frame.columns).index(name) + 1
        loaded.notes.append(
            Problem(
                "unnamed_column",
                f"column {position} has no name in the header; it is left out (give it a name "
                "to use it)",
                severity="warning",
            )
        )
        drop.append(name)
    exclude = list(opts.exclude_columns)
    missing = [c for c in exclude if c not in frame.columns]
    if missing:
        raise DataValidationError(
            [
                _missing_column(
                    c, "listed in --exclude-columns", frame.columns, "Fix --exclude-columns"
                )
                for c in missing
            ]
        )
    clash = sorted(set(exclude) & named)
    if clash:
        raise DataError(
            f"column(s) {', '.join(map(repr, clash))} are both excluded (--exclude-columns) and named "
            "by another option; drop them from one of the two"
        )
    drop += exclude
    if drop:
        loaded.frame = frame.drop(columns=drop)
    return loaded


def _missing_column(name: str, role: str, available: Sequence, hint: str) -> Problem:
    shown = ", ".join(map(repr, map(str, available))) or "none"
    return Problem("missing_column", f"no column {name!r} ({role}); the table has: {shown}. {hint}")


def _require(frame: pd.DataFrame, needed: Sequence[tuple[str, str, str]]) -> None:
    problems = [
        _missing_column(name, role, frame.columns, f"Name it with {option}")
        for name, role, option in needed
        if name not in frame.columns
    ]
    if problems:
        raise DataValidationError(problems)


def _common(opts: ReadingOptions, schema: CovariateSchema | Mapping | None) -> dict[str, Any]:
    return dict(
        time_col=opts.time_col or "interview_time",
        group_col=opts.group_col,
        covariates=opts.covariates,
        categorical=opts.categorical,
        numeric=opts.numeric,
        schema=schema,
        coupon_window=opts.coupon_window,
        cutoff=opts.cutoff,
        drop_warned=opts.drop_warned,
        time_format=opts.time_format or "ISO8601",
        max_levels=opts.max_levels or 10,
    )


# -- canonical --------------------------------------------------------------------------------------
def _canonical(source: _Source, opts: ReadingOptions, schema) -> tuple[Built, dict[str, Any]]:
    used = {
        "id_col": opts.id_col or "id",
        "recruiter_col": opts.recruiter_col or "recruiter_id",
        "coupons_col": opts.coupons_col or "coupons_issued",
    }
    built = build_table(
        source.frame,
        **used,
        labels=source.labels,
        reader_problems=source.notes,
        **_common(opts, schema),
    )
    return built, used


# -- R RDS package --------------------------------------------------------------------------------------
def _rds(source: _Source, opts: ReadingOptions, schema) -> tuple[Built, dict[str, Any]]:
    frame, labels = source.frame, source.labels
    id_col = opts.id_col or "id"
    recruiter_col = opts.recruiter_col or "recruiter.id"
    markers = DEFAULT_SEED_MARKERS if opts.seed_markers is None else opts.seed_markers
    size_col = opts.network_size_col
    if size_col is None and "network.size" in frame.columns:
        size_col = "network.size"
    size_col = size_col or None
    needed = [
        (id_col, "respondent id", "--id-col"),
        (recruiter_col, "recruiter id", "--recruiter-col"),
    ]
    if size_col is not None:
        needed.append((size_col, "network size", "--network-size-col"))
    if opts.coupons_col is not None:
        needed.append((opts.coupons_col, "coupons issued", "--coupons-col"))
    _require(frame, needed)

    ids = as_id(frame[id_col])
    recruiters = as_id(frame[recruiter_col])
    is_marker = recruiters.isin(set(markers)).to_numpy(dtype=bool, na_value=False)
    clash = sorted(set(recruiters[is_marker].dropna()) & set(ids.dropna()))
    if clash:
        ctx = Context(ids.to_numpy(dtype=object, na_value=None), np.arange(len(frame)), labels, {})
        holders = np.flatnonzero(ids.isin(clash).to_numpy(dtype=bool, na_value=False))
        keep = ",".join(m for m in markers if m not in clash) or "seed"
        raise DataValidationError(
            [
                ctx.problem(
                    "seed_marker_is_an_id",
                    f"{ctx.who(i)} is also a seed marker used in column {recruiter_col!r}; it is unclear who "
                    f"recruited the rows naming {ids[i]!r}: pass --seed-markers without it (e.g. --seed-markers {keep})",
                    [i],
                )
                for i in holders
            ]
        )

    body = frame.copy(deep=False)
    body[recruiter_col] = recruiters.mask(is_marker, pd.NA)
    coupons_col = opts.coupons_col
    if opts.max_coupons is not None:
        coupons_col = "coupons_issued"
        if coupons_col in body.columns:
            raise DataError(
                "the table already has a 'coupons_issued' column: pass --coupons-col coupons_issued "
                "instead of --max-coupons"
            )
        body[coupons_col] = int(opts.max_coupons)
    common = _common(opts, schema)
    if size_col is not None and schema is None:
        covariates = opts.covariates
        if (covariates is None or size_col in covariates) and size_col not in (
            opts.categorical or ()
        ):
            common["numeric"] = tuple(dict.fromkeys([*(opts.numeric or ()), size_col]))
    built = build_table(
        body,
        id_col=id_col,
        recruiter_col=recruiter_col,
        coupons_col=coupons_col,
        labels=labels,
        reader_problems=source.notes,
        column_names={
            "coupons_issued": coupons_col
            if opts.max_coupons is None
            else f"--max-coupons {opts.max_coupons}"
        },
        **common,
    )
    used = {
        "id_col": id_col,
        "recruiter_col": recruiter_col,
        "seed_markers": tuple(markers),
        "network_size_col": size_col,
    }
    return built, used


# -- coupon codes --------------------------------------------------------------------------------------
def _coupons(source: _Source, opts: ReadingOptions, schema) -> tuple[Built, dict[str, Any]]:
    frame = source.frame
    id_col = opts.id_col or "id"
    redeemed_col = opts.redeemed_col or "coupon"
    _require(
        frame,
        [
            (id_col, "respondent id", "--id-col"),
            (redeemed_col, "redeemed coupon code", "--redeemed-col"),
        ],
    )
    explicit = opts.issued_cols is not None
    if explicit:
        issued = list(opts.issued_cols)
        _require(frame, [(c, "listed in --issued-cols", "--issued-cols") for c in issued])
    else:
        pattern = re.compile(opts.issued_pattern or DEFAULT_ISSUED_PATTERN, re.IGNORECASE)
        issued = [
            c for c in frame.columns if pattern.search(str(c)) and c not in (id_col, redeemed_col)
        ]
        if not issued:
            raise DataValidationError(
                [
                    Problem(
                        "missing_column",
                        "no issued-code columns found (looked for names like coupon1..couponN or issued_*); "
                        f"the table has: {', '.join(map(repr, map(str, frame.columns)))}. Name them with --issued-cols",
                    )
                ]
            )
    built = _from_codes(
        source,
        opts,
        schema,
        id_col=id_col,
        redeemed_col=redeemed_col,
        issued=issued,
        explicit=explicit,
    )
    return built, {"id_col": id_col, "redeemed_col": redeemed_col, "issued_cols": tuple(issued)}


def _from_codes(
    source: _Source,
    opts: ReadingOptions,
    schema,
    *,
    id_col: str,
    redeemed_col: str,
    issued: list[str],
    explicit: bool,
    numeric: Sequence[str] = (),
) -> Built:
    frame, labels = source.frame, source.labels
    ids = as_id(frame[id_col])
    ctx = Context(
        ids.to_numpy(dtype=object, na_value=None),
        np.arange(len(frame)),
        labels,
        {"id": id_col, "recruiter_id": redeemed_col, "coupons_issued": "issued codes"},
    )
    matched = match_coupons(
        ctx,
        ids,
        as_id(frame[redeemed_col]),
        {c: as_id(frame[c]) for c in issued},
        redeemed_col=redeemed_col,
        explicit=explicit,
        unmatched=opts.unmatched or "error",
        empty_issued=opts.empty_issued or "frontier",
    )
    if any(p.is_error and p.kind == "suspicious_coupon_column" for p in matched.problems):
        raise DataValidationError(matched.problems + source.notes)

    keep_cols = [c for c in frame.columns if c not in {redeemed_col, *issued}]
    clash = [c for c in ("recruiter_id", "coupons_issued") if c in keep_cols and c != id_col]
    if clash:
        raise DataError(
            f"column(s) {clash} clash with the columns derived from the coupon codes; "
            f"leave them out with --exclude-columns {','.join(clash)}"
        )
    body = frame[keep_cols].copy(deep=False)
    body["recruiter_id"] = matched.recruiters
    body["coupons_issued"] = matched.issued
    common = _common(opts, schema)
    if numeric and schema is None:
        extra = [
            c
            for c in numeric
            if (opts.covariates is None or c in opts.covariates)
            and c not in (opts.categorical or ())
        ]
        common["numeric"] = tuple(dict.fromkeys([*(opts.numeric or ()), *extra]))
    return build_table(
        body,
        id_col=id_col,
        recruiter_col="recruiter_id",
        coupons_col="coupons_issued",
        labels=labels,
        reader_problems=[*source.notes, *matched.problems],
        forced_drops=matched.drops,
        column_names={
            "recruiter_id": f"recruiter matched from {redeemed_col!r}",
            "coupons_issued": "issued codes",
        },
        **common,
    )


# -- RDSAT --------------------------------------------------------------------------------------------
def _split_rdsat(line: str, delimiter: str) -> list[str]:
    cells = line.split() if delimiter == " " else line.rstrip("\r\n").split(delimiter)
    return [c.strip() for c in cells]


def _load_rdsat(path: Path, opts: ReadingOptions) -> _Source:
    text = decode(path)
    lines = text.splitlines()
    first = lines[0].strip() if lines else ""
    if first.upper() != "RDS":
        shown = first[:40] + ("..." if len(first) > 40 else "")
        raise DataError(
            f"{path} is not an RDSAT file: line 1 should read 'RDS', it reads {shown!r} "
            "(pick another --format)"
        )
    if len(lines) < 2 or not lines[1].strip():
        raise DataError(
            f"{path}: line 2 of an RDSAT file gives the sample size, the number of coupons, the "
            "missing-value code and the field names; it is missing"
        )
    delimiter = opts.delimiter
    if delimiter is None:  # as R's read.rdsat: the separator that splits line 2 the most
        counts = {d: len(lines[1].split(d)) for d in ("\t", " ", ",")}
        delimiter = max(counts, key=lambda d: (counts[d], d == "\t"))
    head = _split_rdsat(lines[1], delimiter)
    if len(head) < 3:
        raise DataError(
            f"{path}: line 2 should give the sample size, the number of coupons and the missing-value "
            f"code (then the field names); it holds {len(head)} value(s): {lines[1].strip()!r}"
        )
    try:
        size, k = int(head[0]), int(head[1])
    except ValueError:
        raise DataError(
            f"{path}: line 2 should start with the sample size and the number of coupons as whole "
            f"numbers; it reads {head[0]!r}, {head[1]!r}"
        ) from None
    if k < 0 or size < 0:
        raise DataError(
            f"{path}: line 2 gives a negative sample size or number of coupons ({size}, {k})"
        )
    missing_code = head[2]
    names = [n for n in head[3:] if n]
    columns = [*RDSAT_COLUMNS, *(f"coupon.{j}" for j in range(1, k + 1)), *names]
    seen: dict[str, int] = {}
    for name in columns:
        seen[name] = seen.get(name, 0) + 1
    repeated = sorted(n for n, c in seen.items() if c > 1)
    if repeated:
        raise DataError(
            f"{path}: line 2 names field(s) {repeated} twice or with a name the RDSAT layout uses "
            f"itself ({', '.join(RDSAT_COLUMNS)}, coupon.1..coupon.{k}); rename them"
        )
    width = len(columns)
    rows: list[list[str]] = []
    numbers: list[int] = []
    for number, line in enumerate(lines[2:], start=3):
        if not line.strip():
            continue
        cells = _split_rdsat(line, delimiter)
        if len(cells) > width and any(cells[width:]):
            raise DataError(
                f"{path}: line {number} has {len(cells)} values but line 2 announces {width} "
                f"(id, network size, own coupon, {k} issued coupon(s) and {len(names)} field(s)); "
                "check the separator (pass --delimiter) and the field names on line 2"
            )
        cells = (cells + [""] * width)[:width]
        rows.append(cells)
        numbers.append(number)
    frame = (
        pd.DataFrame(rows, columns=columns, dtype="string")
        if rows
        else pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
    )
    for name in columns:
        column = frame[name].str.strip()
        frame[name] = column.mask(column.isin({"", missing_code}), pd.NA)
    # R's read.rdsat drops lines whose id, network size and own coupon are all missing
    blank = frame[list(RDSAT_COLUMNS)].isna().all(axis=1).to_numpy()
    frame = frame[~blank].reset_index(drop=True)
    line_numbers = np.asarray(numbers, dtype=np.int64)[~blank]
    loaded = _Source(frame, RowLabels("line", 3, lines=line_numbers), name=str(path))
    if size != len(frame):
        loaded.notes.append(
            Problem(
                "rdsat_sample_size",
                f"{path}: line 2 announces {size} respondents, the file holds {len(frame)}",
                severity="warning",
            )
        )
    return loaded


def _rdsat(source: _Source, opts: ReadingOptions, schema) -> tuple[Built, dict[str, Any]]:
    issued = [c for c in source.frame.columns if c.startswith("coupon.") and c[7:].isdigit()]
    built = _from_codes(
        source,
        opts,
        schema,
        id_col="id",
        redeemed_col="own.coupon",
        issued=issued,
        explicit=True,
        numeric=["network.size"],
    )
    return built, {}


_READERS = {"canonical": _canonical, "rds": _rds, "coupons": _coupons, "rdsat": _rdsat}


# -- per-format conveniences ----------------------------------------------------------------------------
def read_canonical(path_or_df: PathOrFrame, *, schema=None, **options: Any) -> RecruitmentData:
    """Read a table in the canonical layout (:func:`read_table` with ``format="canonical"``).

    Columns: ``id``, ``recruiter_id`` (empty for seeds), ``coupons_issued``
    (empty for frontier members awaiting coupons), optional
    ``interview_time`` and ``group``, and covariates.

    Parameters
    ----------
    path_or_df : path-like or pandas.DataFrame
        A CSV file or a data frame (never modified).
    schema : CovariateSchema or dict, optional
    **options
        Options of :class:`ReadingOptions` (``sep`` is accepted for ``delimiter``).

    Returns
    -------
    RecruitmentData

    Examples
    --------
    >>> data = read_canonical("study.csv", coupon_window=14)  # doctest: +SKIP
    """
    return read_table(path_or_df, "canonical", schema=schema, **options)


def read_rds(path: PathOrFrame, *, schema=None, **options: Any) -> RecruitmentData:
    """Read an R ``RDS``-package style table (``rds.data.frame`` layout).

    Seeds name a seed marker (``seed``, ``0`` or ``-1``; ``seed_markers``) or
    nothing as recruiter; every respondent got the same ``max_coupons`` (or
    the per-row ``coupons_col``); the network size column (``network.size``
    when present, or ``network_size_col``) is kept as a numeric covariate.
    An id equal to a seed marker used as a recruiter value is the error
    ``seed_marker_is_an_id``.

    Parameters
    ----------
    path : path-like or pandas.DataFrame
    schema : CovariateSchema or dict, optional
    **options
        Options of :class:`ReadingOptions`.

    Returns
    -------
    RecruitmentData

    Examples
    --------
    >>> data = read_rds("faux.csv", max_coupons=3, coupon_window=21)  # doctest: +SKIP
    """
    return read_table(path, "rds", schema=schema, **options)


def read_coupons(path: PathOrFrame, *, schema=None, **options: Any) -> RecruitmentData:
    """Read a coupon-code export and resolve recruiters by matching codes.

    Each row holds the code the respondent redeemed (``redeemed_col``, empty
    for seeds) and the codes issued to them (``issued_cols``, default the
    columns named like ``coupon1``, ``issued_2``). The recruiter is whoever
    was issued the redeemed code; coupons issued = the number of distinct
    non-empty issued codes. Detected issued columns whose values do not look
    like coupon codes, or not like the other coupon columns' codes, are
    errors suggesting ``--exclude-columns``.

    Parameters
    ----------
    path : path-like or pandas.DataFrame
    schema : CovariateSchema or dict, optional
    **options
        Options of :class:`ReadingOptions`.

    Returns
    -------
    RecruitmentData

    Examples
    --------
    >>> data = read_coupons("export.csv", exclude_columns=["coupon_count"],
    ...                     unmatched="seed")  # doctest: +SKIP
    """
    return read_table(path, "coupons", schema=schema, **options)


def read_rdsat(path: str | os.PathLike, *, schema=None, **options: Any) -> RecruitmentData:
    """Read an RDSAT text file (the ``.rdsat`` layout of RDSAT and R's ``read.rdsat``).

    Line 1 reads ``RDS``. Line 2 gives the sample size, the number of coupons
    ``K``, the missing-value code and the names of the extra fields. Every
    further line is one respondent: id, network size, the coupon they
    redeemed (the missing-value code for seeds), the ``K`` coupons issued to
    them, then the fields. Values are separated by tabs, spaces or commas
    (guessed from line 2, as R does). The recruiter is whoever was issued
    the redeemed coupon; coupons issued = the number of issued codes given;
    ``network.size`` is a numeric covariate.

    Parameters
    ----------
    path : path-like
    schema : CovariateSchema or dict, optional
    **options
        Options of :class:`ReadingOptions` that apply to the format (group,
        covariates, window, ``unmatched``, ``empty_issued``, ...).

    Returns
    -------
    RecruitmentData

    Examples
    --------
    >>> data = read_rdsat("nyjazz.rdsat", unmatched="seed")  # doctest: +SKIP
    """
    return read_table(path, "rdsat", schema=schema, **options)
