"""Problems found in field data, the error that carries them, and the checks.

Every check is vectorised: it takes whole columns (numpy/pandas) and returns a
list of :class:`Problem`, one per offending respondent (or per cycle, per
coupon code), each naming the id and the row so the user can find it.

Errors (``severity="error"``) stop :meth:`RecruitmentData.from_frame` with a
:class:`DataValidationError`; warnings are kept in ``data.warnings`` and, with
``drop_warned=True``, the rows they concern are dropped and listed in
``data.dropped``.

Error kinds: ``missing_column``, ``missing_id``, ``duplicate_id``,
``self_recruitment``, ``unknown_recruiter``, ``cycle``,
``recruited_before_recruiter``, ``too_many_recruits``, ``bad_coupons``,
``bad_covariate``, ``bad_time``, ``bad_window_closed``, plus the reader errors
``unmatched_code``, ``ambiguous_code``, ``suspicious_coupon_column`` and
``seed_marker_is_an_id``. Warning kinds: ``implausible_date``, ``implausible_coupons``,
``frontier_with_recruits``, ``missing_time``, ``missing_group``,
``derived_column_differs``, ``dropped_descendant``, and the reader warnings
``duplicate_code``, ``code_redeemed_twice``, ``unmatched_code`` (with
``unmatched="seed"`` or ``"drop"``) and ``suspicious_coupon_column`` (for
columns the user named). ``docs/field-data.md`` explains each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from rdsmodel.data.tree import Forest
from rdsmodel.errors import DataError

__all__ = [
    "DataValidationError",
    "Problem",
    "RowLabels",
    "bad_cells",
    "check_cycles",
    "check_duplicate_ids",
    "check_implausible_dates",
    "check_missing_ids",
    "check_recruits_vs_coupons",
    "check_self_recruitment",
    "check_time_order",
    "check_unknown_recruiters",
]

Severity = Literal["error", "warning", "note"]
MAX_LINES = 200
EARLIEST = pd.Timestamp("1980-01-01")


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or odd) in the field data.

    Parameters
    ----------
    kind : str
        Machine-readable kind, e.g. ``"duplicate_id"`` (see the module docstring).
    message : str
        One line for people, naming the id(s) and row(s) concerned.
    rows : tuple of int
        0-based positions of the rows concerned in the input table (for a CSV
        file, position ``i`` is on line ``i + 2``: the header is line 1).
    ids : tuple of str
        Respondent ids concerned (when known).
    severity : {"error", "warning", "note"}
        Errors stop loading; warnings are kept in ``data.warnings``; notes
        (``data.notes``) say what the reader did on its own, e.g. leaving out
        a column of R row names.
    """

    kind: str
    message: str
    rows: tuple[int, ...] = ()
    ids: tuple[str, ...] = ()
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.severity} [{self.kind}]: {self.message}"

    @property
    def is_error(self) -> bool:
        """bool: whether this problem stops loading."""
        return self.severity == "error"


class DataValidationError(DataError):
    """The field data has errors; ``problems`` lists all of them (and the warnings).

    ``str(err)`` is one line per problem, errors first, then warnings, then
    notes (at most 200 lines; the rest are in ``problems``).

    Parameters
    ----------
    problems : iterable of Problem
        At least one should be an error.
    """

    def __init__(self, problems: Iterable[Problem]):
        problems = list(problems)
        order = {"error": 0, "warning": 1, "note": 2}
        self.problems: list[Problem] = sorted(problems, key=lambda p: order.get(p.severity, 1))
        super().__init__(self._text())

    @property
    def errors(self) -> list[Problem]:
        """list of Problem: the errors only."""
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        """list of Problem: the warnings only."""
        return [p for p in self.problems if p.severity == "warning"]

    def _text(self) -> str:
        lines = [str(p) for p in self.problems[:MAX_LINES]]
        if len(self.problems) > MAX_LINES:
            lines.append(
                f"... and {len(self.problems) - MAX_LINES} more problem(s) (see .problems)"
            )
        return "\n".join(lines) if lines else "invalid field data"

    def __str__(self) -> str:
        return self._text()


@dataclass(frozen=True)
class RowLabels:
    """How rows are named in messages: ``row 3`` for data frames, ``line 5`` for files.

    Parameters
    ----------
    word : str
        ``"row"`` or ``"line"``.
    base : int
        Added to the 0-based position when ``lines`` is not given: 0 for data
        frames, 2 for a CSV file without blank or multi-line records.
    lines : numpy.ndarray of int, optional
        The physical line (1-based) each record starts on, as counted by the
        reader: blank lines and line breaks inside quoted cells are counted.
    """

    word: str = "row"
    base: int = 0
    lines: np.ndarray | None = field(default=None, compare=False, repr=False)

    def number(self, row: int) -> int:
        """The number shown for 0-based position ``row`` (a physical line for files)."""
        if self.lines is not None:
            return int(self.lines[int(row)])
        return int(row) + self.base

    def one(self, row: int) -> str:
        """Name one row, e.g. ``"line 7"``."""
        return f"{self.word} {self.number(row)}"

    def many(self, rows: Sequence[int], limit: int = 10) -> str:
        """Name several rows, e.g. ``"lines 3, 7, 9"``."""
        shown = ", ".join(str(self.number(r)) for r in rows[:limit])
        more = f", ... ({len(rows)} in all)" if len(rows) > limit else ""
        return f"{self.word}{'s' if len(rows) != 1 else ''} {shown}{more}"


@dataclass(frozen=True)
class Context:
    """What the checks need to name rows: ids and original row numbers.

    Attributes
    ----------
    ids : numpy.ndarray of object
        Respondent id per row (``None`` when missing).
    rows : numpy.ndarray of int
        Original 0-based row position per row.
    labels : RowLabels
        How to name rows.
    columns : dict
        Canonical column name -> the user's column name, for messages.
    """

    ids: np.ndarray
    rows: np.ndarray
    labels: RowLabels
    columns: dict[str, str]

    def who(self, i: int) -> str:
        """Name row ``i`` (a position in the current table) by id and row."""
        rid = self.ids[i]
        place = self.labels.one(self.rows[i])
        return f"id {rid!r} ({place})" if rid is not None else place

    def col(self, canonical: str) -> str:
        """The user's name of a canonical column, quoted."""
        return repr(self.columns.get(canonical, canonical))

    def problem(
        self, kind: str, message: str, positions: Sequence[int], severity: Severity = "error"
    ) -> Problem:
        """Build a problem about rows at ``positions`` of the current table."""
        positions = [int(p) for p in positions]
        return Problem(
            kind=kind,
            message=message,
            rows=tuple(int(self.rows[p]) for p in positions),
            ids=tuple(str(self.ids[p]) for p in positions if self.ids[p] is not None),
            severity=severity,
        )


def check_missing_ids(ctx: Context, missing: np.ndarray) -> list[Problem]:
    """Rows without an id.

    Parameters
    ----------
    ctx : Context
    missing : numpy.ndarray of bool
        Rows whose id cell is empty.

    Returns
    -------
    list of Problem
    """
    return [
        ctx.problem(
            "missing_id", f"{ctx.labels.one(ctx.rows[i])} has no id in column {ctx.col('id')}", [i]
        )
        for i in np.flatnonzero(missing)
    ]


def check_duplicate_ids(ctx: Context, ids: pd.Series) -> list[Problem]:
    """Ids that appear on more than one row.

    Parameters
    ----------
    ctx : Context
    ids : pandas.Series
        Respondent ids (``<NA>`` for missing, which are not compared).

    Returns
    -------
    list of Problem
    """
    repeated = (ids.duplicated(keep=False) & ids.notna()).to_numpy()
    if not repeated.any():
        return []
    positions = np.flatnonzero(repeated)
    groups = pd.Series(positions).groupby(ids.to_numpy(dtype=object)[positions], sort=False)
    problems = []
    for rid, members in groups:
        members = members.to_list()
        problems.append(
            ctx.problem(
                "duplicate_id",
                f"id {rid!r} appears on {ctx.labels.many([ctx.rows[i] for i in members])}",
                members,
            )
        )
    return problems


def check_self_recruitment(ctx: Context, ids: pd.Series, recruiters: pd.Series) -> list[Problem]:
    """Respondents named as their own recruiter.

    Parameters
    ----------
    ctx : Context
    ids, recruiters : pandas.Series
        String ids and recruiter ids.

    Returns
    -------
    list of Problem
    """
    same = (ids == recruiters).to_numpy(dtype=bool, na_value=False)
    return [
        ctx.problem("self_recruitment", f"{ctx.who(i)} names itself as its recruiter", [i])
        for i in np.flatnonzero(same)
    ]


def check_unknown_recruiters(
    ctx: Context, parent: np.ndarray, recruiters: pd.Series
) -> list[Problem]:
    """Recruiter ids that are not respondents of the table.

    Parameters
    ----------
    ctx : Context
    parent : numpy.ndarray of int
        From :func:`rdsmodel.data.tree.parent_positions` (``-2`` = unknown).
    recruiters : pandas.Series
        Recruiter ids.

    Returns
    -------
    list of Problem
    """
    rec = recruiters.to_numpy(dtype=object, na_value=None)
    return [
        ctx.problem(
            "unknown_recruiter",
            f"{ctx.who(i)}: recruiter {rec[i]!r} (column {ctx.col('recruiter_id')}) is not a respondent of the table",
            [i],
        )
        for i in np.flatnonzero(parent == -2)
    ]


def check_cycles(ctx: Context, structure: Forest) -> list[Problem]:
    """Recruitment cycles (no seed at the root).

    Parameters
    ----------
    ctx : Context
    structure : Forest
        From :func:`rdsmodel.data.tree.forest`.

    Returns
    -------
    list of Problem
        One per cycle; respondents hanging below a cycle are counted in its message.
    """
    if not structure.cycles:
        return []
    cycle_of = np.full(len(structure.root), -1, dtype=np.int64)
    for k, cycle in enumerate(structure.cycles):
        cycle_of[cycle] = k
    hanging = np.bincount(
        cycle_of[structure.root[~structure.rooted]], minlength=len(structure.cycles)
    )
    problems = []
    for k, cycle in enumerate(structure.cycles):
        below = int(hanging[k]) - len(cycle)
        chain = " -> ".join(ctx.who(i) for i in cycle[:8])
        chain += " -> ..." if len(cycle) > 8 else f" -> {ctx.ids[cycle[0]]!r}"
        extra = f"; {below} more respondent(s) hang below it" if below > 0 else ""
        problems.append(
            ctx.problem("cycle", f"recruitment cycle with no seed: {chain}{extra}", cycle)
        )
    return problems


def check_time_order(ctx: Context, times: pd.Series, parent: np.ndarray) -> list[Problem]:
    """Recruits interviewed strictly before their recruiter.

    Parameters
    ----------
    ctx : Context
    times : pandas.Series
        Interview times (datetime, ``NaT`` when missing).
    parent : numpy.ndarray of int
        Recruiter positions (negative for none).

    Returns
    -------
    list of Problem
    """
    t = times.to_numpy(dtype="datetime64[us]")
    has = parent >= 0
    safe = np.where(has, parent, 0)
    parent_t = t[safe]
    early = has & ~np.isnat(t) & ~np.isnat(parent_t) & (t < parent_t)
    return [
        ctx.problem(
            "recruited_before_recruiter",
            f"{ctx.who(i)} was interviewed at {_stamp(t[i])}, before its recruiter "
            f"{ctx.who(int(parent[i]))} at {_stamp(parent_t[i])}",
            [i, int(parent[i])],
        )
        for i in np.flatnonzero(early)
    ]


def check_recruits_vs_coupons(
    ctx: Context, n_recruits: np.ndarray, coupons: pd.Series
) -> list[Problem]:
    """Respondents with more recruits in the table than coupons issued.

    Parameters
    ----------
    ctx : Context
    n_recruits : numpy.ndarray of int
    coupons : pandas.Series
        ``Int64`` coupons issued; rows with ``<NA>`` (frontier) are not checked.

    Returns
    -------
    list of Problem
    """
    k = coupons.to_numpy(dtype=float, na_value=np.nan)
    over = ~np.isnan(k) & (n_recruits > k)
    return [
        ctx.problem(
            "too_many_recruits",
            f"{ctx.who(i)} has {int(n_recruits[i])} recruits in the table but was issued "
            f"{int(k[i])} coupon(s) (column {ctx.col('coupons_issued')})",
            [i],
        )
        for i in np.flatnonzero(over)
    ]


def bad_cells(
    ctx: Context,
    kind: str,
    bad: np.ndarray,
    column: str,
    text: pd.Series,
    expected: str,
    severity: Severity = "error",
) -> list[Problem]:
    """One problem per cell that failed to parse.

    Parameters
    ----------
    ctx : Context
    kind : str
        Problem kind, e.g. ``"bad_coupons"``.
    bad : numpy.ndarray of bool
        Offending rows.
    column : str
        The user's column name.
    text : pandas.Series
        Cell text, for the message.
    expected : str
        What a good value looks like, e.g. ``"a whole number >= 0"``.
    severity : {"error", "warning"}

    Returns
    -------
    list of Problem
    """
    values = text.to_numpy(dtype=object, na_value=None)
    return [
        ctx.problem(
            kind,
            f"{ctx.who(i)}: column {column!r} holds {values[i]!r}, expected {expected}",
            [i],
            severity,
        )
        for i in np.flatnonzero(bad)
    ]


def check_implausible_dates(
    ctx: Context, times: pd.Series, cutoff: pd.Timestamp | None, now: pd.Timestamp
) -> list[Problem]:
    """Interview times before 1980, after the data cut-off or in the future (warnings).

    Parameters
    ----------
    ctx : Context
    times : pandas.Series
        Interview times.
    cutoff : pandas.Timestamp, optional
        The cut-off the user gave (``None`` when defaulted to the last interview).
    now : pandas.Timestamp
        The current time.

    Returns
    -------
    list of Problem
    """
    t = times.to_numpy(dtype="datetime64[us]")
    ok = ~np.isnat(t)
    problems = []
    reasons = [
        (ok & (t < _us(EARLIEST)), "before 1980"),
        (ok & (t > _us(now)), "in the future"),
    ]
    if cutoff is not None:
        reasons.append(
            (
                ok & (t > _us(cutoff)) & (t <= _us(now)),
                f"after the data cut-off {_stamp(_us(cutoff))}",
            )
        )
    for mask, why in reasons:
        problems.extend(
            ctx.problem(
                "implausible_date",
                f"{ctx.who(i)}: interview time {_stamp(t[i])} is {why}",
                [i],
                "warning",
            )
            for i in np.flatnonzero(mask)
        )
    return problems


def _us(stamp: pd.Timestamp) -> np.datetime64:
    return stamp.as_unit("us").to_datetime64()


def _stamp(value: np.datetime64) -> str:
    stamp = pd.Timestamp(value)
    return (
        stamp.strftime("%Y-%m-%d")
        if stamp == stamp.normalize()
        else stamp.strftime("%Y-%m-%d %H:%M")
    )
