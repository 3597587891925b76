"""The validated recruitment table every model and planner reads.

:class:`RecruitmentData` holds one row per respondent with the canonical
columns of ``docs/architecture.md``: the given ``id``, ``recruiter_id``,
``coupons_issued``, optional ``interview_time`` and ``group``, the covariates,
and the derived ``n_recruits`` (recruits present in the table), ``wave``
(0 for seeds), ``seed_id`` (root of the tree), ``window_closed``,
``censor_at`` (see :mod:`rdsmodel.data.censoring`) and ``is_frontier`` (no
coupons issued yet: the people the next plan allocates to).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rdsmodel.data.options import ReadingOptions
from rdsmodel.data.schema import CovariateSchema
from rdsmodel.data.validation import Problem, RowLabels
from rdsmodel.errors import DataError
from rdsmodel.persistence import atomic_path, column_digest, row_digests

__all__ = ["RecruitmentData"]

_STATE_COLUMNS = ("coupons_issued", "n_recruits", "window_closed")


class RecruitmentData:
    """A validated recruitment table with its covariate schema.

    Build it with :meth:`from_frame` or a reader (:func:`rdsmodel.data.read_table`);
    the constructor only wraps an already canonical table.

    Parameters
    ----------
    table : pandas.DataFrame
        Canonical table (see the module docstring).
    schema : CovariateSchema
        Kinds and levels of the covariate columns.
    group_column : str, optional
        ``"group"`` when the table has a group column.
    warnings : sequence of Problem
        Non-fatal problems found while loading.
    dropped : pandas.DataFrame, optional
        Rows dropped on request, with ``row`` and ``reason`` columns.
    cutoff : pandas.Timestamp, optional
        The data cut-off used for the coupon windows.
    coupon_window : pandas.Timedelta, optional
        The coupon validity used for the coupon windows.
    reading : ReadingOptions, optional
        How the table was read (the options used, defaults filled in).
    notes : sequence of Problem
        What the reader did on its own (a column of row names left out, a
        separator guessed).
    labels : RowLabels, optional
        How input rows are named (file lines or data-frame rows).
    column_names : mapping, optional
        Canonical column -> the user's column name, for messages.

    Attributes
    ----------
    table : pandas.DataFrame
        The canonical table (a copy-on-write copy: changing it leaves the data intact).
    schema : CovariateSchema
    covariates : list of str
        Covariate column names, in table order.
    group_column : str or None
    frontier : pandas.DataFrame
        Rows with no coupons issued yet.
    fit_rows : pandas.DataFrame
        Rows with coupons issued (their counts inform the capacity model).
    warnings : list of Problem
    notes : list of Problem
    dropped : pandas.DataFrame
    reading : ReadingOptions or None

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"id": ["a", "b", "c"], "recruiter_id": [None, "a", "a"],
    ...                    "coupons_issued": [3, None, None], "sex": ["f", "m", "f"]})
    >>> data = RecruitmentData.from_frame(df)
    >>> data.table[["id", "wave", "n_recruits", "censor_at", "is_frontier"]]
      id  wave  n_recruits  censor_at  is_frontier
    0  a     0           2          3        False
    1  b     1           0       <NA>         True
    2  c     1           0       <NA>         True
    """

    def __init__(
        self,
        table: pd.DataFrame,
        schema: CovariateSchema,
        *,
        group_column: str | None = None,
        warnings: Sequence[Problem] = (),
        dropped: pd.DataFrame | None = None,
        cutoff: pd.Timestamp | None = None,
        coupon_window: pd.Timedelta | None = None,
        reading: ReadingOptions | None = None,
        notes: Sequence[Problem] = (),
        labels: RowLabels | None = None,
        column_names: Mapping[str, str] | None = None,
    ) -> None:
        missing = [
            c
            for c in (
                "id",
                "recruiter_id",
                "coupons_issued",
                "n_recruits",
                "wave",
                "seed_id",
                "window_closed",
                "censor_at",
                "is_frontier",
                *schema.names,
            )
            if c not in table.columns
        ]
        if missing:
            raise DataError(
                f"not a canonical recruitment table: missing column(s) {missing}; "
                "build it with RecruitmentData.from_frame or rdsmodel.data.read_table"
            )
        self._table = table.copy()
        self._schema = schema
        self._group_column = group_column
        self._warnings = list(warnings)
        self._dropped = (
            dropped if dropped is not None else pd.DataFrame({"row": [], "reason": []})
        ).copy()
        self.cutoff = cutoff
        self.coupon_window = coupon_window
        self._reading = reading
        self._notes = list(notes)
        self._labels = labels or RowLabels()
        self._column_names = dict(column_names or {})

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
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
    ) -> RecruitmentData:
        """Validate a data frame in the canonical layout and derive the recruitment table.

        ``df`` is never modified. The same as :func:`rdsmodel.data.read_table`
        on a data frame, with the canonical layout's options.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per respondent.
        id_col : str
            Respondent id column (ids are compared as text; ``1.0`` reads as ``1``).
        recruiter_col : str
            Recruiter id column; empty for seeds.
        coupons_col : str
            Coupons issued (whole number >= 0); empty for frontier members awaiting coupons.
        time_col : str or None
            Interview time column, used if present (ISO 8601 text or datetimes).
        group_col : str or None
            Group column (site, city, arm); default: the column ``group`` if there is one.
        covariates : sequence of str, optional
            Covariate columns; default every other column (or the schema's fields).
        categorical, numeric : sequence of str, optional
            Force covariates to a kind instead of inferring it (see
            :func:`rdsmodel.data.schema.infer_schema`).
        schema : CovariateSchema or dict, optional
            A fixed schema (e.g. from a previous fit); values outside its levels are errors.
        coupon_window : timedelta, float or str, optional
            How long coupons stay valid (a number means days). With interview
            times, ``window_closed = interview_time + coupon_window <= cutoff``.
        cutoff : datetime or str, optional
            When the data were cut; default the last interview time.
        drop_warned : bool
            Drop the rows behind warnings (and their descendants) instead of
            keeping them; they are listed in :attr:`dropped`.
        time_format : str
            :func:`pandas.to_datetime` format of the time column (default ISO 8601).
        max_levels : int
            Integer columns with at most this many distinct values are categorical.

        Returns
        -------
        RecruitmentData

        Raises
        ------
        DataValidationError
            Listing every error (and warning), one line each naming the id and row.
        DataError
            For inconsistent options (a negative window, a cut-off that is not a date, ...).
        """
        from rdsmodel.data.readers import read_table

        if not isinstance(df, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
        if isinstance(cutoff, (dt.datetime, pd.Timestamp)):
            cutoff = pd.Timestamp(cutoff).isoformat()
        options = ReadingOptions(
            id_col=id_col,
            recruiter_col=recruiter_col,
            coupons_col=coupons_col,
            time_col=None if time_col == "interview_time" else time_col,
            group_col=group_col,
            covariates=None if covariates is None else tuple(covariates),
            categorical=None if categorical is None else tuple(categorical),
            numeric=None if numeric is None else tuple(numeric),
            coupon_window=coupon_window,
            cutoff=cutoff,
            drop_warned=drop_warned,
            time_format=None if time_format == "ISO8601" else time_format,
            max_levels=None if max_levels == 10 else max_levels,
        )
        return read_table(df, options, schema=schema)

    @classmethod
    def _from_built(cls, built, reading: ReadingOptions | None = None) -> RecruitmentData:
        return cls(
            built.table,
            built.schema,
            group_column=built.group_column,
            warnings=built.warnings,
            dropped=built.dropped,
            cutoff=built.cutoff,
            coupon_window=built.coupon_window,
            reading=reading,
            notes=built.notes,
            labels=built.labels,
            column_names=built.column_names,
        )

    # -- views -----------------------------------------------------------------------------------
    @property
    def table(self) -> pd.DataFrame:
        """pandas.DataFrame: the canonical table (changing it does not change the data)."""
        return self._table.copy(deep=False)

    @property
    def schema(self) -> CovariateSchema:
        """CovariateSchema: kinds and levels of the covariates."""
        return self._schema

    @property
    def covariates(self) -> list[str]:
        """list of str: covariate column names, in table order."""
        return self._schema.names

    @property
    def group_column(self) -> str | None:
        """str or None: ``"group"`` when the table has a group column."""
        return self._group_column

    @property
    def frontier(self) -> pd.DataFrame:
        """pandas.DataFrame: respondents with no coupons issued yet (awaiting allocation)."""
        return self._table[self._table["is_frontier"].to_numpy()]

    @property
    def fit_rows(self) -> pd.DataFrame:
        """pandas.DataFrame: respondents with coupons issued (their counts carry information)."""
        return self._table[~self._table["is_frontier"].to_numpy()]

    @property
    def warnings(self) -> list[Problem]:
        """list of Problem: non-fatal problems found while loading."""
        return list(self._warnings)

    @property
    def notes(self) -> list[Problem]:
        """list of Problem: what the reader did on its own (a column of row names left out, ...)."""
        return list(self._notes)

    @property
    def reading(self) -> ReadingOptions | None:
        """ReadingOptions or None: how the table was read, with the defaults that were used filled in.

        ``read_table(path, data.reading)`` reads the same file the same way;
        a posterior fitted on the data stores these options.
        """
        return self._reading

    @property
    def column_names(self) -> dict[str, str]:
        """dict: canonical column -> the user's column name (``{"recruiter_id": "recruiter.id", ...}``)."""
        return dict(self._column_names)

    @property
    def dropped(self) -> pd.DataFrame:
        """pandas.DataFrame: rows dropped on request, with ``row`` (0-based input position) and ``reason``."""
        return self._dropped.copy(deep=False)

    @property
    def ids(self) -> pd.Series:
        """pandas.Series: respondent ids (string dtype)."""
        return self._table["id"].copy(deep=False)

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        t = self._table
        return (
            f"RecruitmentData({len(t)} respondents, {int((t['wave'] == 0).sum())} seeds, "
            f"{int(t['is_frontier'].sum())} frontier, covariates={self.covariates})"
        )

    def edges(self) -> pd.DataFrame:
        """Recruitment edges.

        Returns
        -------
        pandas.DataFrame
            Columns ``recruiter_id`` and ``id`` (the recruit), one row per recruit, in table order.
        """
        t = self._table
        has = t["recruiter_id"].notna().to_numpy()
        return pd.DataFrame(
            {"recruiter_id": t["recruiter_id"][has].to_numpy(), "id": t["id"][has].to_numpy()}
        ).astype("string")

    def pairs(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Covariates of recruiter and recruit, one row per recruitment edge.

        Returns
        -------
        parents : pandas.DataFrame
            The recruiters' covariates.
        recruits : pandas.DataFrame
            The recruits' covariates, row ``e`` of both frames being edge ``e``
            (same ``RangeIndex``, named ``edge``).
        """
        t = self._table
        has = t["recruiter_id"].notna().to_numpy()
        position = pd.Index(t["id"].to_numpy(dtype=object)).get_indexer(
            t["recruiter_id"][has].to_numpy(dtype=object)
        )
        index = pd.RangeIndex(int(has.sum()), name="edge")
        parents = t[self.covariates].iloc[position].set_axis(index)
        recruits = t[self.covariates][has].set_axis(index)
        return parents, recruits

    # -- identity --------------------------------------------------------------------------------
    def _csv_text(self) -> str:
        buffer = io.StringIO()
        self._table.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()

    def fingerprint(self) -> str:
        """SHA-256 of the canonical table (as CSV) and its schema.

        Returns
        -------
        str
            64 hex characters; equal tables give equal fingerprints.
        """
        digest = hashlib.sha256(self._csv_text().encode())
        digest.update(json.dumps(self._schema.to_dict(), sort_keys=True).encode())
        return digest.hexdigest()

    @property
    def identity_columns(self) -> list[str]:
        """list of str: the canonical columns that must not change after a fit (recruiter, group, covariates)."""
        return ["recruiter_id", *(["group"] if self._group_column else []), *self.covariates]

    def identity_digests(
        self, columns: Sequence[str] | None = None, *, legacy: bool = False
    ) -> dict[str, str]:
        """Per-respondent digest of what must not change after a fit: recruiter, group, covariates.

        Parameters
        ----------
        columns : sequence of str, optional
            Canonical columns to hash (default :attr:`identity_columns`); they
            are hashed in name order, so the order of the covariates does not matter.
        legacy : bool
            Hash :attr:`identity_columns` in table order, as posteriors written
            before reading options were stored did.

        Returns
        -------
        dict
            ``{id: digest}`` from :func:`rdsmodel.persistence.row_digests`.
        """
        if legacy:
            return row_digests(self._table, self.identity_columns)
        columns = sorted(self.identity_columns if columns is None else columns)
        return row_digests(self._table, columns, names=True)

    def user_column(self, canonical: str) -> str:
        """The user's name of a canonical column (a covariate is its own name)."""
        if canonical == "group" and self._reading is not None and self._reading.group_col:
            return self._reading.group_col
        return self._column_names.get(canonical, canonical)

    def column_digests(self, ids: Sequence[str] | None = None) -> dict[str, dict[str, str]]:
        """One digest per identity column, by name: what a posterior stores to name a changed column.

        Parameters
        ----------
        ids : sequence of str, optional
            Respondents to hash (default all); ids missing from the table are skipped.

        Returns
        -------
        dict
            ``{canonical column: {"column": the user's name, "digest": hex}}``
            for the recruiter, the group and every covariate
            (:func:`rdsmodel.persistence.column_digest`).
        """
        table = self._table
        if ids is not None:
            table = table[table["id"].isin(list(ids)).to_numpy()]
        return {
            name: {"column": self.user_column(name), "digest": column_digest(table, name)}
            for name in self.identity_columns
        }

    def state_digests(self) -> dict[str, str]:
        """Per-respondent digest of what may change as the study goes on.

        Returns
        -------
        dict
            ``{id: digest}`` of coupons issued, recruits so far and window status.
        """
        return row_digests(self._table, list(_STATE_COLUMNS))

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write the canonical table as CSV, atomically (nothing is lost if writing fails).

        Parameters
        ----------
        path : path-like

        Returns
        -------
        pathlib.Path
            The written path. Reading it back with :func:`rdsmodel.data.read_canonical`
            (same options) gives the same table.
        """
        path = Path(path)
        with atomic_path(path) as tmp:
            tmp.write_text(self._csv_text(), encoding="utf-8")
        return path

    def dropped_report(self, limit: int = 200) -> str:
        """The dropped rows as a table (id, line, reason) with their count; empty text if none.

        Parameters
        ----------
        limit : int
            Rows shown at most (the rest are counted).

        Returns
        -------
        str

        Examples
        --------
        >>> print(data.dropped_report())  # doctest: +SKIP
        dropped 2 respondent(s):
          id  line  reason
          r4     5  redeemed code 'ZZZ' was issued to nobody
          r5     6  recruited (directly or not) by dropped respondent 'r4'
        """
        dropped = self._dropped
        if len(dropped) == 0:
            return ""
        id_col = self._column_names.get("id", "id")
        ids = (
            dropped[id_col].astype("string").fillna("")
            if id_col in dropped.columns
            else pd.Series([""] * len(dropped), dtype="string")
        )
        rows = dropped["row"].to_numpy(dtype=np.int64)
        places = [str(self._labels.number(r)) for r in rows]
        shown = pd.DataFrame(
            {
                "id": ids.to_numpy(dtype=object),
                self._labels.word: places,
                "reason": dropped["reason"].astype("string").fillna("").to_numpy(dtype=object),
            }
        )
        head = shown.head(limit)
        width_id = max(2, *(len(str(v)) for v in head["id"]))
        width_at = max(len(self._labels.word), *(len(v) for v in head[self._labels.word]))
        lines = [
            f"dropped {len(dropped)} respondent(s):",
            f"  {'id':<{width_id}}  {self._labels.word:>{width_at}}  reason",
        ]
        lines += [
            f"  {r.id!s:<{width_id}}  {getattr(r, self._labels.word)!s:>{width_at}}  {r.reason}"
            for r in head.itertuples(index=False)
        ]
        if len(shown) > limit:
            lines.append(f"  ... and {len(shown) - limit} more (see data.dropped)")
        return "\n".join(lines)

    def seeds(self) -> pd.Series:
        """pandas.Series: ids of the seeds (wave 0)."""
        return self._table["id"][self._table["wave"].to_numpy() == 0].reset_index(drop=True)

    def recruits_per_seed(self) -> pd.Series:
        """Size of each recruitment tree (the seed included), indexed by seed id.

        Returns
        -------
        pandas.Series of int64
        """
        seeds = self.seeds()
        counts = self._table.groupby("seed_id", sort=False).size()
        return counts.reindex(pd.Index(seeds.to_numpy(), name="seed_id"), fill_value=0).astype(
            np.int64
        )
