"""From a raw data frame to the validated canonical recruitment table.

:func:`build_table` is the engine behind :meth:`RecruitmentData.from_frame`
and every reader. Its steps, all vectorised:

1. resolve the columns (clear errors naming the missing ones and listing what
   is there);
2. parse ids, recruiters, coupons, times and group (bad cells become errors);
3. find warnings (implausible dates, frontier rows with recruits, ...) and
   merge the reader's problems;
4. drop rows on request (``drop_warned``) or as the reader asks, with every
   descendant of a dropped row (their recruiter is gone), recording why;
5. check the structure of what is kept (duplicates, self-recruitment,
   unknown recruiters, cycles, time order, recruits vs coupons) and the
   covariates against the schema; raise :class:`DataValidationError` if any
   error;
6. derive ``n_recruits``, ``wave``, ``seed_id``, ``window_closed``,
   ``censor_at`` and ``is_frontier``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rdsmodel.data import columns as colparse
from rdsmodel.data.censoring import as_cutoff, as_window, censor_bounds, windows_closed
from rdsmodel.data.collinear import collinear_covariates
from rdsmodel.data.schema import CovariateField, CovariateSchema, infer_schema, sorted_levels
from rdsmodel.data.tree import descendants_of, forest, parent_positions
from rdsmodel.data.validation import (
    Context,
    DataValidationError,
    Problem,
    RowLabels,
    bad_cells,
    check_cycles,
    check_duplicate_ids,
    check_implausible_dates,
    check_missing_ids,
    check_recruits_vs_coupons,
    check_self_recruitment,
    check_time_order,
    check_unknown_recruiters,
)
from rdsmodel.errors import DataError

__all__ = ["CANONICAL", "DERIVED", "Built", "build_table"]

DERIVED = ("n_recruits", "wave", "seed_id", "window_closed", "censor_at", "is_frontier")
CANONICAL = ("id", "recruiter_id", "coupons_issued", "interview_time", "group", *DERIVED)
STRING = pd.StringDtype()
#: More coupons than this for one respondent is reported (``implausible_coupons``).
MAX_PLAUSIBLE_COUPONS = 100
#: More coupons than this for one respondent is an error (``too_many_coupons``): the models lay out
#: every count up to the largest one, so a typo such as 1e12 would ask for terabytes.
MAX_COUPONS = 1_000


@dataclass
class Built:
    """Everything :func:`build_table` produces."""

    table: pd.DataFrame
    schema: CovariateSchema
    group_column: str | None
    warnings: list[Problem]
    dropped: pd.DataFrame
    cutoff: pd.Timestamp | None
    coupon_window: pd.Timedelta | None
    column_names: dict[str, str] = field(default_factory=dict)
    notes: list[Problem] = field(default_factory=list)
    labels: RowLabels = field(default_factory=RowLabels)
    used: dict[str, Any] = field(default_factory=dict)


def _missing_column(name: str, role: str, available: Sequence, hint: str) -> Problem:
    shown = ", ".join(map(repr, map(str, available))) or "none"
    return Problem("missing_column", f"no column {name!r} ({role}); the table has: {shown}. {hint}")


def _resolve_columns(
    frame: pd.DataFrame,
    *,
    id_col: str,
    recruiter_col: str,
    coupons_col: str,
    time_col: str | None,
    group_col: str | None,
    covariates: Sequence[str] | None,
    schema: CovariateSchema | None,
    coupon_window: object,
) -> tuple[str | None, str | None, list[str]]:
    available = list(frame.columns)
    repeated = sorted({str(c) for c in available if available.count(c) > 1})
    problems = []
    if repeated:
        problems.append(
            Problem(
                "duplicate_column",
                f"column name(s) repeat in the table: {repeated}; give every column its own name",
            )
        )
    required = [
        (id_col, "respondent id", "--id-col"),
        (recruiter_col, "recruiter id", "--recruiter-col"),
        (coupons_col, "coupons issued", "--coupons-col"),
    ]
    for name, role, option in required:
        if name not in available:
            problems.append(_missing_column(name, role, available, f"Name it with {option}"))
    if time_col is not None and time_col not in available:
        if time_col != "interview_time":
            problems.append(
                _missing_column(time_col, "interview time", available, "Fix --time-col")
            )
        time_col = None
    if coupon_window is not None and time_col is None:
        problems.append(
            Problem(
                "missing_column",
                "--coupon-window needs interview times, but the table has no interview time column "
                f"(columns: {', '.join(map(str, available))}); name it with --time-col",
            )
        )
    if group_col is None:
        group_col = "group" if "group" in available else None
    elif group_col not in available:
        problems.append(_missing_column(group_col, "group", available, "Fix --group"))
    used = {id_col, recruiter_col, coupons_col, time_col, group_col} - {None}
    inferred = covariates is None and schema is None
    if covariates is None:
        covariates = (
            schema.names
            if schema is not None
            else [c for c in available if c not in used and c not in DERIVED]
        )
    covariates = list(covariates)
    if inferred and problems:
        # A column option names a missing column: the canonical column it left behind (e.g. 'id'
        # beside --id-col rid) would otherwise be reported as a covariate clash too.
        covariates = [c for c in covariates if c not in CANONICAL]
    for name in covariates:
        if name not in available:
            problems.append(
                _missing_column(name, "covariate", available, "Fix --covariates (or the schema)")
            )
        elif name in used:
            problems.append(
                Problem(
                    "missing_column",
                    f"column {name!r} cannot be both a covariate and the "
                    "id, recruiter, coupons, time or group column; fix --covariates",
                )
            )
        elif name in CANONICAL:
            problems.append(
                Problem(
                    "missing_column",
                    f"covariate column {name!r} has the name of a column the toolkit derives; rename it, or "
                    "leave it out with --exclude-columns or by listing the covariates with --covariates",
                )
            )
    if schema is not None:
        extra = [n for n in schema.names if n not in covariates]
        if extra:
            problems.append(
                Problem(
                    "missing_column",
                    f"schema field(s) {extra} are not among the covariates {covariates}",
                )
            )
    if problems:
        raise DataValidationError(problems)
    return time_col, group_col, covariates


def _drop_rows(
    frame: pd.DataFrame,
    parent: np.ndarray,
    reasons: dict[int, str],
    ctx: Context,
) -> tuple[np.ndarray, pd.DataFrame, list[Problem]]:
    """Drop rows with a reason, and all their descendants; return keep mask, record, notes."""
    n = len(frame)
    marked = np.zeros(n, dtype=bool)
    marked[list(reasons)] = True
    ancestor = descendants_of(parent, marked)
    drop = ancestor >= 0
    notes = []
    why = np.empty(n, dtype=object)
    for row, reason in reasons.items():
        why[row] = reason
    descendant = drop & ~marked
    if descendant.any():
        below = pd.Series(np.flatnonzero(descendant)).groupby(ancestor[descendant], sort=True)
        for top, members in below:
            members = members.to_list()
            for m in members:
                why[m] = f"recruited (directly or not) by dropped respondent {ctx.ids[top]!r}"
            shown = ", ".join(ctx.who(m) for m in members[:5]) + (
                ", ..." if len(members) > 5 else ""
            )
            notes.append(
                ctx.problem(
                    "dropped_descendant",
                    f"dropping {ctx.who(int(top))} also drops the {len(members)} respondent(s) it "
                    f"recruited directly or not: {shown}",
                    members,
                    "warning",
                )
            )
    positions = np.flatnonzero(drop)
    record = pd.concat(
        [
            pd.DataFrame({"row": positions, "reason": pd.array(why[positions], dtype=STRING)}),
            frame.iloc[positions].reset_index(drop=True),
        ],
        axis=1,
    )
    return ~drop, record, notes


def _covariate_values(
    text: pd.DataFrame,
    names: list[str],
    *,
    schema: CovariateSchema | None,
    categorical: Sequence[str] | None,
    numeric: Sequence[str] | None,
    max_levels: int,
    ctx: Context,
) -> tuple[CovariateSchema, dict[str, pd.Series], list[Problem]]:
    if schema is not None:
        if categorical or numeric:
            raise DataError("pass either a schema or --categorical/--numeric, not both")
        fields = []
        for f in schema:
            if f.kind == "categorical" and f.levels is None:
                f = CovariateField(
                    f.name, "categorical", sorted_levels(list(text[f.name].dropna().unique()))
                )
            fields.append(f)
        schema = CovariateSchema(fields)
    else:
        schema = infer_schema(
            text, names, categorical=categorical, numeric=numeric, max_levels=max_levels
        )
    values: dict[str, pd.Series] = {}
    problems: list[Problem] = []
    for f in schema:
        cells = text[f.name]
        if f.kind == "numeric":
            parsed = colparse.parse_numeric(cells)
            values[f.name] = parsed.values
            problems += bad_cells(
                ctx,
                "bad_covariate",
                parsed.bad,
                f.name,
                cells,
                f"a finite number (the field is numeric; if it is not, pass --categorical {f.name})",
            )
        else:
            outside = cells.notna().to_numpy() & ~cells.isin(f.levels).to_numpy(
                dtype=bool, na_value=False
            )
            values[f.name] = cells
            problems += bad_cells(
                ctx,
                "bad_covariate",
                outside,
                f.name,
                cells,
                f"one of the schema's levels ({', '.join(f.levels)})",
            )
    return schema, values, problems


def _differs(
    ctx: Context, frame: pd.DataFrame, keep: np.ndarray, table: pd.DataFrame
) -> list[Problem]:
    """Warn where a derived column the table already had disagrees with the derivation."""
    notes = []
    for name in DERIVED:
        if name not in frame.columns or name not in table.columns:
            continue
        if name in ("window_closed", "is_frontier"):
            given = colparse.parse_bool(frame[name]).values
        else:
            given = colparse.as_text(frame[name])
        given = given.to_numpy(dtype=object, na_value=None)[keep]
        derived = (
            colparse.as_text(table[name])
            if name not in ("window_closed", "is_frontier")
            else table[name]
        )
        derived = derived.to_numpy(dtype=object, na_value=None)
        present = ~pd.isna(given)
        differ = np.flatnonzero(present & (given != derived))
        if len(differ):
            shown = ", ".join(ctx.who(i) for i in differ[:3]) + (", ..." if len(differ) > 3 else "")
            notes.append(
                Problem(
                    "derived_column_differs",
                    f"the table's own {name!r} column differs from the value derived from the "
                    f"recruitment links for {len(differ)} row(s) (e.g. {shown}); the derived value is used",
                    severity="warning",
                )
            )
    return notes


def _too_many_coupons(ctx: Context, issued: np.ndarray, column: str) -> list[Problem]:
    """Errors for respondents given more than :data:`MAX_COUPONS` coupons (checked before any model
    lays out memory per count)."""
    return [
        ctx.problem(
            "too_many_coupons",
            f"{ctx.who(i)} was issued {issued[i]:.0f} coupons (column {column!r}); at most "
            f"{MAX_COUPONS:,} per respondent are supported (the models lay out every count up to the "
            "largest): check the column",
            [i],
        )
        for i in np.flatnonzero(np.nan_to_num(issued, nan=0.0) > MAX_COUPONS)
    ]


def _only_seeds(table: pd.DataFrame, names: Mapping[str, str]) -> list[Problem]:
    """Warn when no respondent names a recruiter: every one is a seed."""
    if len(table) == 0 or table["recruiter_id"].notna().any():
        return []
    return [
        Problem(
            "no_recruits",
            f"none of the {len(table)} respondent(s) names a recruiter (column {names['recruiter_id']!r}): every "
            "one is a seed, so the table holds no recruitment links. If that is wrong, check --recruiter-col "
            "(and --seed-markers for --format rds). The capacity model can still be fitted; the covariate model "
            "needs recruits (fit with --no-covariate-model)",
            severity="warning",
        )
    ]


def build_table(
    frame: pd.DataFrame,
    *,
    id_col: str = "id",
    recruiter_col: str = "recruiter_id",
    coupons_col: str = "coupons_issued",
    time_col: str | None = "interview_time",
    group_col: str | None = None,
    covariates: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    numeric: Sequence[str] | None = None,
    schema: CovariateSchema | Mapping | None = None,
    coupon_window: dt.timedelta | float | str | None = None,
    cutoff: dt.datetime | str | None = None,
    drop_warned: bool = False,
    time_format: str = "ISO8601",
    max_levels: int = 10,
    labels: RowLabels | None = None,
    reader_problems: Sequence[Problem] = (),
    forced_drops: Mapping[int, str] | None = None,
    column_names: Mapping[str, str] | None = None,
    now: pd.Timestamp | None = None,
) -> Built:
    """Validate ``frame`` and derive the canonical table (see the module docstring).

    Parameters are those of :meth:`RecruitmentData.from_frame`, plus, for
    readers: ``labels`` (how rows are named), ``reader_problems`` (problems
    the reader found, with 0-based row positions of ``frame``), ``forced_drops``
    (``{row: reason}`` rows to drop whatever ``drop_warned`` says),
    ``column_names`` (canonical name -> the user's column name, for messages)
    and ``now`` (for tests).

    Returns
    -------
    Built

    Raises
    ------
    DataValidationError
        If anything is an error.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    if isinstance(schema, Mapping):
        schema = CovariateSchema.from_dict(schema)
    window = as_window(coupon_window)
    given_cutoff = as_cutoff(cutoff)
    now = pd.Timestamp.now(tz="UTC").tz_localize(None) if now is None else now
    time_col, group_col, covariates = _resolve_columns(
        frame,
        id_col=id_col,
        recruiter_col=recruiter_col,
        coupons_col=coupons_col,
        time_col=time_col,
        group_col=group_col,
        covariates=covariates,
        schema=schema,
        coupon_window=window,
    )
    names = {
        "id": id_col,
        "recruiter_id": recruiter_col,
        "coupons_issued": coupons_col,
        "interview_time": time_col or "interview_time",
        "group": group_col or "group",
    }
    names.update(column_names or {})
    labels = labels or RowLabels()
    n = len(frame)
    notes = [p for p in reader_problems if p.severity == "note"]
    reader_problems = [p for p in reader_problems if p.severity != "note"]

    # 2. parse
    ids = colparse.as_id(frame[id_col]).reset_index(drop=True)
    recruiters = colparse.as_id(frame[recruiter_col]).reset_index(drop=True)
    coupons = colparse.parse_count(frame[coupons_col].reset_index(drop=True))
    times = (
        colparse.parse_times(frame[time_col].reset_index(drop=True), time_format)
        if time_col
        else None
    )
    group = colparse.as_text(frame[group_col]).reset_index(drop=True) if group_col else None
    given_closed = None
    if window is None and "window_closed" in frame.columns:
        given_closed = colparse.parse_bool(frame["window_closed"].reset_index(drop=True))

    ctx = Context(ids.to_numpy(dtype=object, na_value=None), np.arange(n), labels, names)
    parent = parent_positions(ids, recruiters)
    n_rec = np.bincount(parent[parent >= 0], minlength=n)

    # 3. warnings
    warnings: list[Problem] = []
    if times is not None:
        warnings += check_implausible_dates(ctx, times.values, given_cutoff, now)
        if window is not None:
            missing = times.values.isna().to_numpy() & ~times.bad
            warnings += [
                ctx.problem(
                    "missing_time",
                    f"{ctx.who(i)} has no interview time, so its coupon window counts as open",
                    [i],
                    "warning",
                )
                for i in np.flatnonzero(missing)
            ]
    if group is not None:
        warnings += [
            ctx.problem(
                "missing_group",
                f"{ctx.who(i)} has no group in column {group_col!r}",
                [i],
                "warning",
            )
            for i in np.flatnonzero(group.isna().to_numpy())
        ]
    frontier_rec = coupons.values.isna().to_numpy() & ~coupons.bad & (n_rec > 0)
    warnings += [
        ctx.problem(
            "frontier_with_recruits",
            f"{ctx.who(i)} has {int(n_rec[i])} recruit(s) in the table but no coupons issued "
            f"(column {names['coupons_issued']!r} is empty); it is treated as frontier",
            [i],
            "warning",
        )
        for i in np.flatnonzero(frontier_rec)
    ]
    issued = coupons.values.to_numpy(dtype=float, na_value=np.nan)
    warnings += [
        ctx.problem(
            "implausible_coupons",
            f"{ctx.who(i)} was issued {int(issued[i])} coupons (column {names['coupons_issued']!r}); "
            f"studies hand out a few each, so check the column (more than {MAX_PLAUSIBLE_COUPONS} "
            "is reported)",
            [i],
            "warning",
        )
        for i in np.flatnonzero(
            (np.nan_to_num(issued, nan=0.0) > MAX_PLAUSIBLE_COUPONS)
            & (np.nan_to_num(issued, nan=0.0) <= MAX_COUPONS)
        )
    ]
    warnings += [p for p in reader_problems if not p.is_error]
    reader_errors = [p for p in reader_problems if p.is_error]

    # 4. drops
    reasons: dict[int, str] = {}
    if drop_warned:
        for p in warnings:
            for r in p.rows:
                reasons.setdefault(int(r), p.message)
    for r, reason in (forced_drops or {}).items():
        reasons.setdefault(int(r), reason)
    keep = np.ones(n, dtype=bool)
    dropped = pd.DataFrame({"row": pd.Series(dtype="int64"), "reason": pd.Series(dtype=STRING)})
    if reasons:
        keep, dropped, drop_notes = _drop_rows(frame, parent, reasons, ctx)
        warnings += drop_notes

    # 5. errors on the kept rows
    pos = np.flatnonzero(keep)
    sub_ids = ids[keep].reset_index(drop=True)
    sub_rec = recruiters[keep].reset_index(drop=True)
    sub_coupons = coupons.values[keep].reset_index(drop=True)
    kctx = Context(ctx.ids[keep], pos, labels, names)
    errors: list[Problem] = []
    errors += check_missing_ids(kctx, sub_ids.isna().to_numpy())
    errors += bad_cells(
        kctx,
        "bad_coupons",
        coupons.bad[keep],
        names["coupons_issued"],
        coupons.text[keep].reset_index(drop=True),
        "a whole number >= 0 (or empty for the frontier)",
    )
    errors += _too_many_coupons(kctx, issued[keep], names["coupons_issued"])
    sub_times = None
    if times is not None:
        sub_times = times.values[keep].reset_index(drop=True)
        errors += bad_cells(
            kctx,
            "bad_time",
            times.bad[keep],
            names["interview_time"],
            times.text[keep].reset_index(drop=True),
            f"a date/time in format {time_format} (e.g. 2024-03-01 or 2024-03-01T14:30; "
            "for other layouts pass --time-format)",
        )
    sub_closed = None
    if given_closed is not None:
        sub_closed = given_closed.values[keep].reset_index(drop=True)
        empty = (
            sub_closed.isna().to_numpy() & sub_coupons.notna().to_numpy() & ~given_closed.bad[keep]
        )
        errors += bad_cells(
            kctx,
            "bad_window_closed",
            given_closed.bad[keep] | empty,
            "window_closed",
            given_closed.text[keep].reset_index(drop=True),
            "true or false",
        )
    dropped_rows = set(np.flatnonzero(~keep).tolist())
    errors += [p for p in reader_errors if not p.rows or not set(p.rows) <= dropped_rows]
    errors += check_duplicate_ids(kctx, sub_ids)
    errors += check_self_recruitment(kctx, sub_ids, sub_rec)
    sub_parent = parent_positions(sub_ids, sub_rec)
    errors += check_unknown_recruiters(kctx, sub_parent, sub_rec)
    own = sub_parent == np.arange(len(pos))
    sub_parent[own] = -3  # self-recruitment is reported above; not a cycle, not a recruit
    structure = forest(sub_parent)
    errors += check_cycles(kctx, structure)
    if sub_times is not None:
        errors += check_time_order(kctx, sub_times, sub_parent)
    n_recruits = np.bincount(sub_parent[sub_parent >= 0], minlength=len(pos)).astype(np.int64)
    errors += check_recruits_vs_coupons(kctx, n_recruits, sub_coupons)
    cov_text = pd.DataFrame(
        {
            c: colparse.as_text(frame[c]).reset_index(drop=True)[keep].reset_index(drop=True)
            for c in covariates
        }
    )
    schema, cov_values, cov_problems = _covariate_values(
        cov_text,
        covariates,
        schema=schema,
        categorical=categorical,
        numeric=numeric,
        max_levels=max_levels,
        ctx=kctx,
    )
    errors += cov_problems
    if errors:
        raise DataValidationError(errors + warnings + notes)

    # 6. derive
    is_frontier = sub_coupons.isna().to_numpy()
    cut = given_cutoff
    if sub_times is not None and cut is None and sub_times.notna().any():
        cut = pd.Timestamp(sub_times.max())
    if window is not None and sub_times is not None and cut is not None:
        closed = windows_closed(sub_times, window, cut)
    elif sub_closed is not None:
        closed = sub_closed.fillna(True).to_numpy(dtype=bool)
    else:
        closed = np.ones(len(pos), dtype=bool)
    table = pd.DataFrame({"id": sub_ids, "recruiter_id": sub_rec, "coupons_issued": sub_coupons})
    if sub_times is not None:
        table["interview_time"] = sub_times
    if group is not None:
        table["group"] = group[keep].reset_index(drop=True)
    for name in covariates:
        table[name] = cov_values[name]
    seed_pos = structure.root
    table["n_recruits"] = n_recruits
    table["wave"] = structure.depth.astype(np.int64)
    table["seed_id"] = pd.array(
        sub_ids.to_numpy(dtype=object, na_value=None)[seed_pos], dtype=STRING
    )
    table["window_closed"] = closed
    table["censor_at"] = censor_bounds(sub_coupons, n_recruits, closed)
    table["is_frontier"] = is_frontier
    warnings += _differs(kctx, frame.reset_index(drop=True), keep, table)
    warnings += _only_seeds(table, names)
    warnings += collinear_covariates(table, schema)
    if "line" not in dropped.columns and labels.word == "line":
        dropped.insert(
            1, "line", np.array([labels.number(r) for r in dropped["row"]], dtype=np.int64)
        )
    return Built(
        table=table,
        schema=schema,
        group_column="group" if group is not None else None,
        warnings=warnings,
        dropped=dropped,
        cutoff=cut,
        coupon_window=window,
        column_names=names,
        notes=notes,
        labels=labels,
        used={"time_col": time_col, "group_col": group_col},
    )
