"""Options and helpers shared by several ``rdsplan`` commands.

The reading flags (:func:`add_data_options`) all default to ``None`` so that
"not typed" can be told from "typed": :func:`given_reading_options` returns only
the typed ones, and :func:`load_study` rereads a study with a posterior's stored
reading options, checking the typed ones against them
(:func:`rdsmodel.data.resolve_reading`).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "OUTPUT_NOTE",
    "READING_FLAGS",
    "CommandError",
    "add_data_options",
    "given_reading_options",
    "interrupts_are_final",
    "load_study",
    "reading_options",
    "report_reading",
    "say",
]

#: Destinations of the reading flags; each is a field of ``rdsmodel.data.ReadingOptions``.
READING_FLAGS = (
    "format",
    "id_col",
    "recruiter_col",
    "coupons_col",
    "time_col",
    "time_format",
    "group_col",
    "covariates",
    "categorical",
    "numeric",
    "max_levels",
    "coupon_window",
    "cutoff",
    "drop_warned",
    "exclude_columns",
    "delimiter",
    "max_coupons",
    "seed_markers",
    "network_size_col",
    "redeemed_col",
    "issued_cols",
    "issued_pattern",
    "unmatched",
    "empty_issued",
)


#: What every ``-o`` does with folders that do not exist (said in each command's help).
OUTPUT_NOTE = "missing folders on the way are created"


class CommandError(Exception):
    """A user error the command line reports as one line, without a traceback."""


@contextlib.contextmanager
def interrupts_are_final(repeat: float = 0.2) -> Iterator[None]:
    """Make Ctrl-C (SIGINT) stop the block for good, whatever the libraries inside do with it.

    Samplers catch ``KeyboardInterrupt`` and return the draws made so far
    (nutpie, PyMC); the count model then sees a poor run and samples again
    (its automatic remedy), so one Ctrl-C used to end in a complete-looking
    fit that was saved. Inside this block the first SIGINT is remembered and
    raised again every ``repeat`` seconds until the block is left, so every
    sampler run stops at once; leaving the block after an interrupt raises
    :class:`planning.app.workflows.FitInterrupted` (exit status 130), so
    nothing is written. Outside the main thread this does nothing.
    """
    from planning.app.workflows import FitInterrupted

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hit = threading.Event()
    stop = threading.Event()
    own = {__file__, contextlib.__file__}

    def handler(signum, frame) -> None:
        hit.set()
        # Leaving the block (here or in contextlib) must not be cut short by a repeated signal.
        if not stop.is_set() and (frame is None or frame.f_code.co_filename not in own):
            raise KeyboardInterrupt

    def resend() -> None:
        while not stop.wait(repeat):
            if hit.is_set() and hasattr(
                signal, "pthread_kill"
            ):  # POSIX; elsewhere the flag alone stops
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    previous = signal.signal(signal.SIGINT, handler)
    watcher = threading.Thread(target=resend, name="rdsplan-interrupt", daemon=True)
    watcher.start()
    try:
        yield
    except KeyboardInterrupt:
        hit.set()
    finally:
        stop.set()
        watcher.join()
        signal.signal(signal.SIGINT, previous)
    if hit.is_set():
        raise FitInterrupted("Ctrl-C during the fit; nothing was written")


#: The simulation scenarios' names, for ``--scenario`` (kept equal to
#: :data:`planning.simulation.SCENARIOS` by a test; spelled out so that ``--help``
#: does not import the simulator).
SCENARIO_NAMES = ("homogeneous", "calibrated", "tunnel", "network", "subgroup")


def say(*parts: Any) -> None:
    """Print progress to standard error, so standard output stays machine-readable."""
    print(*parts, file=sys.stderr, flush=True)


def _csv_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _markers(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]


def add_data_options(parser: argparse.ArgumentParser, *, positional: bool = True) -> None:
    """Add the options that say how to read a field table.

    Every option defaults to ``None`` (``--drop-warned`` too), so
    :func:`given_reading_options` can tell what the user typed; the defaults
    themselves live in :class:`rdsmodel.data.ReadingOptions`.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-command parser.
    positional : bool
        Whether the table is the positional ``STUDY`` argument (else ``--data``).
    """
    if positional:
        parser.add_argument("study", metavar="STUDY.csv", type=Path, help="the field table")
    else:
        parser.add_argument(
            "--data",
            dest="study",
            metavar="STUDY.csv",
            type=Path,
            required=True,
            help="the field table",
        )
    group = parser.add_argument_group(
        "reading the field table",
        "With a posterior, the options the fit used are the default: type none of these, or only ones "
        "that agree (the cut-off, separator and time format may change).",
    )
    group.add_argument(
        "--format",
        choices=("canonical", "rds", "coupons", "rdsat"),
        default=None,
        help="table layout: canonical CSV, R RDS-package style, coupon-code export, or RDSAT text file "
        "(default: canonical)",
    )
    group.add_argument("--id-col", default=None, help="respondent id column (default: id)")
    group.add_argument(
        "--recruiter-col",
        default=None,
        help="recruiter id column (canonical: recruiter_id, rds: recruiter.id)",
    )
    group.add_argument(
        "--coupons-col",
        default=None,
        help="coupons issued column (canonical: coupons_issued; rds: instead of --max-coupons)",
    )
    group.add_argument(
        "--time-col",
        default=None,
        help="interview time column (default: interview_time if present)",
    )
    group.add_argument(
        "--time-format",
        default=None,
        metavar="FORMAT",
        help="format of the interview times, e.g. %%d/%%m/%%Y (default: ISO 8601)",
    )
    group.add_argument(
        "--group",
        dest="group_col",
        default=None,
        help="group column: site, city, arm (default: a column named group)",
    )
    group.add_argument(
        "--covariates",
        type=_csv_list,
        default=None,
        metavar="A,B",
        help="comma-separated covariate columns (default: every other column)",
    )
    group.add_argument(
        "--categorical",
        type=_csv_list,
        default=None,
        metavar="A,B",
        help="covariates to treat as categorical (default: inferred)",
    )
    group.add_argument(
        "--numeric",
        type=_csv_list,
        default=None,
        metavar="A,B",
        help="covariates to treat as numeric (default: inferred)",
    )
    group.add_argument(
        "--max-levels",
        type=int,
        default=None,
        metavar="N",
        help="whole-number columns with at most N values are categorical (default: 10)",
    )
    group.add_argument(
        "--coupon-window",
        type=float,
        default=None,
        metavar="DAYS",
        help="coupon validity in days; with interview times, open windows are told apart from closed ones",
    )
    group.add_argument("--cutoff", default=None, help="data cut-off date (default: last interview)")
    group.add_argument(
        "--drop-warned",
        action="store_const",
        const=True,
        default=None,
        help="drop the rows behind warnings (reported, with their descendants), instead of keeping them",
    )
    group.add_argument(
        "--exclude-columns",
        type=_csv_list,
        default=None,
        metavar="A,B",
        help="columns to leave out entirely (not covariates, not coupon codes)",
    )
    group.add_argument(
        "--delimiter",
        default=None,
        help="field separator: a character, or tab, comma, semicolon, space (default: guessed)",
    )
    group.add_argument(
        "--max-coupons", type=int, default=None, help="coupons each respondent got (rds format)"
    )
    group.add_argument(
        "--seed-markers",
        "--seed-marker",
        dest="seed_markers",
        type=_markers,
        default=None,
        metavar="A,B",
        help="recruiter values that mark a seed (rds format; default: seed,0,-1; an empty recruiter is "
        "always a seed). Leave out a marker that is also a real id, e.g. --seed-markers seed,-1",
    )
    group.add_argument(
        "--network-size-col",
        default=None,
        help="personal network size column, a numeric covariate (rds; default: network.size)",
    )
    group.add_argument(
        "--redeemed-col",
        default=None,
        help="redeemed coupon code column (coupons; default: coupon)",
    )
    group.add_argument(
        "--issued-cols",
        type=_csv_list,
        default=None,
        metavar="A,B",
        help="comma-separated issued-code columns (coupons format; default: detected by name)",
    )
    group.add_argument(
        "--issued-pattern",
        default=None,
        metavar="REGEX",
        help="regular expression naming the issued-code columns (coupons format)",
    )
    group.add_argument(
        "--unmatched",
        choices=("error", "seed", "drop"),
        default=None,
        help="respondents whose redeemed code matches nobody: error (default), treat as seeds, or drop "
        "(coupons and rdsat formats)",
    )
    group.add_argument(
        "--empty-issued",
        choices=("frontier", "zero"),
        default=None,
        help="a respondent with no issued code awaits coupons (default) or got none (coupons and rdsat formats)",
    )


def given_reading_options(args: argparse.Namespace) -> dict[str, Any]:
    """The reading options the user typed (and only those), as ``ReadingOptions`` keywords.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by a parser that got :func:`add_data_options`.

    Returns
    -------
    dict
        Option name -> value, for every reading flag that was typed.
    """
    given = {}
    for name in READING_FLAGS:
        value = getattr(args, name, None)
        if value is not None:
            given[name] = tuple(value) if isinstance(value, list) else value
    return given


def reading_options(args: argparse.Namespace, stored=None):
    """The reading options to use: the typed ones, or ``stored`` checked against the typed ones.

    Parameters
    ----------
    args : argparse.Namespace
    stored : rdsmodel.data.ReadingOptions, optional
        A posterior's reading options (``model.reading``); ``None`` for a
        fresh read or a posterior written before reading options were stored.

    Returns
    -------
    rdsmodel.data.ReadingOptions

    Raises
    ------
    rdsmodel.errors.DataError
        For a malformed option (naming the flag).
    rdsmodel.errors.StudyMismatchError
        When a typed option disagrees with ``stored`` (naming the flag).
    """
    from rdsmodel.data import ReadingOptions, resolve_reading

    given = given_reading_options(args)
    if stored is None:
        return ReadingOptions(**given)
    return resolve_reading(stored, given)


def load_study(args: argparse.Namespace, stored=None):
    """Read and validate the field table named by ``args``.

    Parameters
    ----------
    args : argparse.Namespace
        With ``study`` and the reading flags.
    stored : rdsmodel.data.ReadingOptions, optional
        A posterior's reading options: the study is reread with them, and
        typed flags must agree (see :func:`reading_options`).

    Returns
    -------
    rdsmodel.data.RecruitmentData
        Its ``reading`` holds the options used.

    Raises
    ------
    rdsmodel.errors.RdsplanError
        ``MissingFileError``, ``DataError``, ``DataValidationError`` (one line
        per problem) or ``StudyMismatchError``.
    """
    from rdsmodel.data import read_table

    return read_table(args.study, reading_options(args, stored))


def report_reading(data) -> None:
    """Print on standard error what the reader did on its own (notes) and the dropped rows, as a table.

    Parameters
    ----------
    data : rdsmodel.data.RecruitmentData
    """
    for note in data.notes:
        say(f"rdsplan: note: {note.message}")
    dropped = data.dropped_report()
    if dropped:
        say(dropped)
