"""How a field table is read: :class:`ReadingOptions`, their command-line flags, and agreement.

A study is a file plus the options that say what its columns mean. Those
options travel with the data (:attr:`RecruitmentData.reading`) and with every
posterior fitted on it, so a later command rereads the study exactly as the
fit did (:func:`resolve_reading`) and a real difference is refused with a
message naming the command-line flag.

Every option has a flag of the ``rdsplan`` command line (:data:`FLAGS`); the
Python keyword is the flag without dashes, with ``_`` for ``-`` (``group_col``
is ``--group``). ``None`` means "the format's default": the options a reader
returns (``data.reading``) have the defaults filled in with what was actually
used (the id, recruiter and coupon columns, the detected issued-code columns,
the group column, the covariates and their kinds), so rereading a grown table
with them gives the same columns, with the same kinds.

Options that describe the file or the moment rather than the meaning of the
columns (:data:`OVERRIDABLE`: ``cutoff``, ``delimiter``, ``time_format``,
``max_levels``) may be given anew when a study is reread; the others must agree.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from rdsmodel.data.censoring import as_cutoff, as_window
from rdsmodel.errors import DataError, StudyMismatchError

__all__ = [
    "DEFAULT_SEED_MARKERS",
    "FLAGS",
    "FORMATS",
    "OVERRIDABLE",
    "ReadingOptions",
    "flag",
    "flag_text",
    "resolve_reading",
]

FORMATS = ("canonical", "rds", "coupons", "rdsat")
DEFAULT_SEED_MARKERS = ("seed", "0", "-1")
UNMATCHED = ("error", "seed", "drop")
EMPTY_ISSUED = ("frontier", "zero")

#: Option name -> command-line flag.
FLAGS: dict[str, str] = {
    "format": "--format",
    "id_col": "--id-col",
    "recruiter_col": "--recruiter-col",
    "coupons_col": "--coupons-col",
    "time_col": "--time-col",
    "time_format": "--time-format",
    "group_col": "--group",
    "covariates": "--covariates",
    "categorical": "--categorical",
    "numeric": "--numeric",
    "max_levels": "--max-levels",
    "coupon_window": "--coupon-window",
    "cutoff": "--cutoff",
    "drop_warned": "--drop-warned",
    "exclude_columns": "--exclude-columns",
    "delimiter": "--delimiter",
    "max_coupons": "--max-coupons",
    "seed_markers": "--seed-markers",
    "network_size_col": "--network-size-col",
    "redeemed_col": "--redeemed-col",
    "issued_cols": "--issued-cols",
    "issued_pattern": "--issued-pattern",
    "unmatched": "--unmatched",
    "empty_issued": "--empty-issued",
}

#: Options that may differ when a study is reread (they describe the file or the cut, not the columns).
OVERRIDABLE = frozenset({"cutoff", "delimiter", "time_format", "max_levels"})

#: Options whose value is a set of names: order does not matter when comparing.
_SETS = frozenset(
    {"covariates", "categorical", "numeric", "exclude_columns", "issued_cols", "seed_markers"}
)
_TUPLES = _SETS
_STRINGS = frozenset(
    {
        "id_col",
        "recruiter_col",
        "coupons_col",
        "time_col",
        "time_format",
        "group_col",
        "network_size_col",
        "redeemed_col",
        "issued_pattern",
        "delimiter",
    }
)

#: Formats each format-specific option applies to (the others apply to every format).
_APPLIES: dict[str, tuple[str, ...]] = {
    "id_col": ("canonical", "rds", "coupons"),
    "recruiter_col": ("canonical", "rds"),
    "coupons_col": ("canonical", "rds"),
    "max_coupons": ("rds",),
    "seed_markers": ("rds",),
    "network_size_col": ("rds",),
    "redeemed_col": ("coupons",),
    "issued_cols": ("coupons",),
    "issued_pattern": ("coupons",),
    "unmatched": ("coupons", "rdsat"),
    "empty_issued": ("coupons", "rdsat"),
}


def flag(name: str) -> str:
    """The command-line flag of option ``name`` (``"group_col"`` -> ``"--group"``)."""
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def flag_text(name: str, value: Any) -> str:
    """Render an option as the user would type it: ``--group site``, ``--drop-warned``.

    ``None`` (and ``False`` for switches) renders as ``without --group``.
    """
    if value is None or value is False or (name == "exclude_columns" and value == ()):
        return f"without {flag(name)}"
    if value is True:
        return flag(name)
    return f"{flag(name)} {_value_text(name, value)}"


def _value_text(name: str, value: Any) -> str:
    if isinstance(value, tuple):
        shown = ",".join(value)
        return shown if shown else "''"
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    if name == "delimiter":
        return {"\t": "tab", " ": "space"}.get(value, value)
    text = str(value)
    return f"'{text}'" if (not text or " " in text) else text


def _names(name: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, Iterable):
        raise DataError(f"{flag(name)} takes column names, got {value!r}")
    out = []
    for item in value:
        if not isinstance(item, str):
            raise DataError(f"{flag(name)} takes column names, got {item!r}")
        item = item.strip()
        if item and item not in out:
            out.append(item)
    return tuple(out)


def _whole(name: str, value: Any, minimum: int) -> int | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value != int(value)
        or value < minimum
    ):
        raise DataError(f"{flag(name)} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ReadingOptions:
    """How to read a field table: its format and what its columns mean, in the user's column names.

    Every field is an option of :func:`rdsmodel.data.read_table` and a flag of
    the command line (:data:`FLAGS`). ``None`` means the format's default.

    Parameters
    ----------
    format : {"canonical", "rds", "coupons", "rdsat"}
        Table layout (``--format``).
    id_col : str, optional
        Respondent id column (``--id-col``; default ``id``).
    recruiter_col : str, optional
        Recruiter id column (``--recruiter-col``; canonical ``recruiter_id``, rds ``recruiter.id``).
    coupons_col : str, optional
        Coupons issued column (``--coupons-col``; canonical ``coupons_issued``).
    time_col : str, optional
        Interview time column (``--time-col``; ``interview_time`` when present).
    time_format : str, optional
        :func:`pandas.to_datetime` format of the times (``--time-format``; ISO 8601).
    group_col : str, optional
        Group column: site, city, arm (``--group``; a column named ``group`` when present).
    covariates : tuple of str, optional
        Covariate columns (``--covariates``; every other column).
    categorical, numeric : tuple of str, optional
        Covariates forced to a kind (``--categorical``, ``--numeric``; inferred).
    max_levels : int, optional
        Integer columns with at most this many values are categorical (``--max-levels``; 10).
    coupon_window : float, optional
        Coupon validity in days (``--coupon-window``; a duration or ``"14D"`` text is converted).
    cutoff : str, optional
        When the data were cut, ISO 8601 (``--cutoff``; the last interview).
    drop_warned : bool
        Drop the rows behind warnings, with their descendants (``--drop-warned``).
    exclude_columns : tuple of str
        Columns left out entirely (``--exclude-columns``): neither covariates nor coupon codes.
    delimiter : str, optional
        Field separator of a text file (``--delimiter``; sniffed from the header line).
    max_coupons : int, optional
        rds: coupons every respondent got (``--max-coupons``).
    seed_markers : tuple of str, optional
        rds: recruiter values that mark a seed (``--seed-markers``; ``seed,0,-1``; an empty
        recruiter always marks a seed).
    network_size_col : str, optional
        rds: personal network size, kept as a numeric covariate (``--network-size-col``;
        ``network.size`` when present).
    redeemed_col : str, optional
        coupons: the redeemed code (``--redeemed-col``; ``coupon``).
    issued_cols : tuple of str, optional
        coupons: the issued-code columns (``--issued-cols``; detected by name).
    issued_pattern : str, optional
        coupons: regular expression detecting issued-code columns (``--issued-pattern``).
    unmatched : {"error", "seed", "drop"}, optional
        coupons, rdsat: a redeemed code issued to nobody (``--unmatched``; error).
    empty_issued : {"frontier", "zero"}, optional
        coupons, rdsat: a respondent with no issued code awaits coupons or got none
        (``--empty-issued``; frontier).

    Raises
    ------
    DataError
        For an unknown format, a value of the wrong kind, or an option that does
        not apply to the format; the message names the flag.

    Examples
    --------
    >>> options = ReadingOptions(format="rds", max_coupons=3, group_col="site")
    >>> options.command_line()
    '--format rds --group site --max-coupons 3'
    >>> ReadingOptions.from_dict(options.to_dict()) == options
    True
    """

    format: str = "canonical"
    id_col: str | None = None
    recruiter_col: str | None = None
    coupons_col: str | None = None
    time_col: str | None = None
    time_format: str | None = None
    group_col: str | None = None
    covariates: tuple[str, ...] | None = None
    categorical: tuple[str, ...] | None = None
    numeric: tuple[str, ...] | None = None
    max_levels: int | None = None
    coupon_window: float | None = None
    cutoff: str | None = None
    drop_warned: bool = False
    exclude_columns: tuple[str, ...] = field(default=())
    delimiter: str | None = None
    max_coupons: int | None = None
    seed_markers: tuple[str, ...] | None = None
    network_size_col: str | None = None
    redeemed_col: str | None = None
    issued_cols: tuple[str, ...] | None = None
    issued_pattern: str | None = None
    unmatched: str | None = None
    empty_issued: str | None = None

    def __post_init__(self) -> None:
        for name, value in _normalised(self).items():
            object.__setattr__(self, name, value)
        fmt = self.format
        wrong = [
            name
            for name, formats in _APPLIES.items()
            if getattr(self, name) is not None and fmt not in formats
        ]
        if wrong:
            shown = ", ".join(flag(n) for n in wrong)
            where = " or ".join(f"--format {f}" for f in _APPLIES[wrong[0]])
            raise DataError(
                f"{shown} {'does' if len(wrong) == 1 else 'do'} not apply to --format {fmt} "
                f"({flag(wrong[0])} is for {where})"
            )
        if fmt == "rds" and (self.max_coupons is None) == (self.coupons_col is None):
            raise DataError(
                "--format rds needs exactly one of --max-coupons N (the coupons every respondent "
                "got) or --coupons-col COLUMN (coupons issued per respondent)"
            )
        both = sorted(set(self.categorical or ()) & set(self.numeric or ()))
        if both:
            raise DataError(
                f"covariate(s) {', '.join(both)} given both --categorical and --numeric"
            )

    # -- conversions -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of every option (tuples as lists)."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in fields(self)
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> ReadingOptions:
        """Rebuild options from :meth:`to_dict` output.

        Raises
        ------
        DataError
            If ``value`` holds options this version does not know.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise DataError(
                f"unknown reading option(s) {', '.join(unknown)} (written by a newer rdsplan?)"
            )
        return cls(**dict(value))

    def replace(self, **changes: Any) -> ReadingOptions:
        """A copy with some options changed (checked like the constructor).

        Raises
        ------
        DataError
            For an option that does not exist (named as a flag).
        """
        known = {f.name for f in fields(self)}
        unknown = [k for k in changes if k not in known]
        if unknown:
            raise DataError(
                f"unknown reading option(s) {', '.join(sorted(unknown))}; the options are "
                f"{', '.join(sorted(known))}"
            )
        return dataclasses.replace(self, **changes)

    def given(self) -> dict[str, Any]:
        """The options that differ from the defaults, as keyword arguments."""
        default = ReadingOptions.__dataclass_fields__
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            base = default[f.name].default
            if value != base:
                out[f.name] = value
        return out

    def command_line(self) -> str:
        """The flags that reproduce these options (defaults left out), e.g. ``--group site``."""
        parts = []
        for name, value in self.given().items():
            if (
                name == "format"
                or value is None
                or (name in ("categorical", "numeric") and value == ())
            ):
                continue
            parts.append(flag_text(name, value))
        head = [] if self.format == "canonical" else [f"--format {self.format}"]
        return " ".join(head + sorted(parts, key=lambda p: p.split()[0]))

    def differences(self, other: ReadingOptions, *, all_options: bool = False) -> list[str]:
        """Names of the options on which ``self`` and ``other`` disagree.

        Parameters
        ----------
        other : ReadingOptions
        all_options : bool
            Also compare the :data:`OVERRIDABLE` options.

        Returns
        -------
        list of str
            Option names in field order; sets of names compare regardless of order.
        """
        out = []
        shared = set(self.covariates or ()) & set(other.covariates or ())
        for f in fields(self):
            if not all_options and f.name in OVERRIDABLE:
                continue
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if (
                f.name in ("categorical", "numeric")
                and self.covariates is not None
                and other.covariates is not None
            ):
                # kinds are compared on the covariates both have; other covariates are a --covariates matter
                mine, theirs = set(mine or ()) & shared, set(theirs or ()) & shared
            if not _same(f.name, mine, theirs):
                out.append(f.name)
        return out


def _normalised(options: ReadingOptions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fmt = options.format
    if fmt not in FORMATS:
        raise DataError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    for name in _TUPLES:
        out[name] = _names(name, getattr(options, name))
    if out["exclude_columns"] is None:
        out["exclude_columns"] = ()
    if out["seed_markers"] is not None:
        out["seed_markers"] = tuple(m for m in out["seed_markers"] if m)
    for name in _STRINGS:
        value = getattr(options, name)
        if value is not None and not isinstance(value, str):
            raise DataError(f"{flag(name)} takes a column name or text, got {value!r}")
        if value is not None and name != "delimiter":
            value = value.strip()
            if name.endswith("_col") and not value and name != "network_size_col":
                raise DataError(f"{flag(name)} needs a column name, got an empty name")
        out[name] = value
    delimiter = out["delimiter"]
    if delimiter is not None:
        delimiter = {"tab": "\t", "\\t": "\t", "space": " ", "comma": ",", "semicolon": ";"}.get(
            delimiter, delimiter
        )
        if len(delimiter) != 1 or delimiter in '"\r\n':
            raise DataError(
                f"--delimiter must be one character (or tab, space, comma, semicolon), got {delimiter!r}"
            )
        out["delimiter"] = delimiter
    out["max_levels"] = _whole("max_levels", options.max_levels, 1)
    out["max_coupons"] = _whole("max_coupons", options.max_coupons, 0)
    window = options.coupon_window
    if window is not None:
        out["coupon_window"] = as_window(window).total_seconds() / 86400.0
        if not math.isfinite(out["coupon_window"]):
            raise DataError(f"--coupon-window must be a finite number of days, got {window!r}")
    cutoff = options.cutoff
    if cutoff is not None:
        stamp = as_cutoff(cutoff)
        out["cutoff"] = (
            stamp.isoformat() if stamp != stamp.normalize() else stamp.strftime("%Y-%m-%d")
        )
    if not isinstance(options.drop_warned, (bool, type(None))):
        raise DataError(f"--drop-warned is a switch (true or false), got {options.drop_warned!r}")
    out["drop_warned"] = bool(options.drop_warned)
    if options.unmatched is not None and options.unmatched not in UNMATCHED:
        raise DataError(
            f"--unmatched must be one of {', '.join(UNMATCHED)}, got {options.unmatched!r}"
        )
    if options.empty_issued is not None and options.empty_issued not in EMPTY_ISSUED:
        raise DataError(
            f"--empty-issued must be one of {', '.join(EMPTY_ISSUED)}, got {options.empty_issued!r}"
        )
    return out


def _same(name: str, a: Any, b: Any) -> bool:
    if name in _SETS and a is not None and b is not None:
        return set(a) == set(b)
    return a == b


def _normalise_given(given: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise the typed options the way :class:`ReadingOptions` does, without the format checks."""
    known = {f.name for f in fields(ReadingOptions)}
    unknown = sorted(set(given) - known)
    if unknown:
        raise DataError(
            f"unknown reading option(s) {', '.join(unknown)}; the options are {', '.join(sorted(known))}"
        )
    probe = ReadingOptions.__new__(ReadingOptions)
    for f in fields(ReadingOptions):
        object.__setattr__(probe, f.name, given.get(f.name, f.default))
    normal = _normalised(probe)
    normal["format"] = probe.format
    return {name: normal[name] for name in given}


def resolve_reading(stored: ReadingOptions, given: Mapping[str, Any]) -> ReadingOptions:
    """The options to reread a study with: the stored ones, with what the user typed checked against them.

    Parameters
    ----------
    stored : ReadingOptions
        The options the study was read with when the posterior was fitted
        (a model's ``.reading``).
    given : mapping
        Only the options the user typed (option name -> value), e.g. from
        :func:`planning.app.cli.common.given_reading_options`.

    Returns
    -------
    ReadingOptions
        ``stored``, with the :data:`OVERRIDABLE` options (cut-off, delimiter,
        time format) replaced by the given ones.

    Raises
    ------
    StudyMismatchError
        When a given option differs from the stored one; the message names
        the flag, both values, and what to do.
    DataError
        For an option that does not exist or a malformed value.

    Examples
    --------
    >>> stored = ReadingOptions(group_col="site", covariates=("sex", "drug"))
    >>> resolve_reading(stored, {"covariates": "drug,sex"}) == stored
    True
    >>> resolve_reading(stored, {"group_col": "city"})  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    StudyMismatchError: the posterior was fitted with --group site, but --group city was given: ...
    """
    normal = _normalise_given(given)
    changes: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in normal.items():
        mine = getattr(stored, name)
        if name in OVERRIDABLE:
            changes[name] = value
        elif not _same(name, mine, value):
            problems.append(given_differs(name, mine, value))
    if problems:
        raise StudyMismatchError("; ".join(problems))
    return stored.replace(**changes) if changes else stored


def given_differs(name: str, stored: Any, given: Any) -> str:
    """Message for a typed option that disagrees with the posterior's (see :func:`resolve_reading`)."""
    fitted = (
        "fitted with " + flag_text(name, stored)
        if not _absent(name, stored)
        else f"fitted without {flag(name)}"
    )
    typed = flag_text(name, given) if not _absent(name, given) else f"no {flag(name)}"
    text = f"the posterior was {fitted}, but {typed} was given: "
    if _absent(name, stored):
        text += f"omit {flag(name)} (the posterior's reading options are used by default)"
    else:
        text += (
            f"pass {flag_text(name, stored)} or omit the reading flags (the posterior's are used by "
            "default)"
        )
    if name in ("covariates", "categorical", "numeric"):
        text += f"; to model {'other covariates' if name == 'covariates' else 'covariates of another kind'}, refit"
    else:
        text += "; to read the study differently, refit"
    return text


def read_differs(name: str, stored: Any, actual: Any) -> str:
    """Message for a table read with an option that disagrees with the posterior's."""
    fitted = flag_text(name, stored) if not _absent(name, stored) else f"without {flag(name)}"
    fitted = fitted if fitted.startswith("without") else "with " + fitted
    read = flag_text(name, actual) if not _absent(name, actual) else f"without {flag(name)}"
    read = read if read.startswith("without") else "with " + read
    if _absent(name, stored):
        fix = f"omit {flag(name)}"
    else:
        fix = f"pass {flag_text(name, stored)}"
    return f"the posterior was fitted {fitted}; this table was read {read}: {fix} or omit the reading flags"


def _absent(name: str, value: Any) -> bool:
    return value is None or value is False or (name == "exclude_columns" and value == ())
