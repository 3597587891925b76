"""Options and helpers shared by several ``rdsplan`` commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["CommandError", "add_data_options", "load_study", "say"]


class CommandError(Exception):
    """A user error the command line reports as one line, without a traceback."""


def say(*parts: Any) -> None:
    """Print progress to standard error, so standard output stays machine-readable."""
    print(*parts, file=sys.stderr, flush=True)


def _csv_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_data_options(parser: argparse.ArgumentParser, *, positional: bool = True) -> None:
    """Add the options that say how to read a field table.

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
            "--data", dest="study", metavar="STUDY.csv", type=Path, required=True,
            help="the field table",
        )
    group = parser.add_argument_group("reading the field table")
    group.add_argument(
        "--format", choices=("canonical", "rds", "coupons"), default="canonical",
        help="table layout: canonical CSV, R RDS-package style, or coupon-code export (default: canonical)",
    )
    group.add_argument("--id-col", default=None, help="respondent id column (default: per format)")
    group.add_argument(
        "--recruiter-col", default=None,
        help="recruiter id column (canonical: recruiter_id, rds: recruiter.id)",
    )
    group.add_argument("--coupons-col", default=None, help="coupons issued column (canonical)")
    group.add_argument("--time-col", default=None, help="interview time column (optional)")
    group.add_argument("--group", dest="group_col", default=None, help="group column (site, city, arm)")
    group.add_argument(
        "--covariates", type=_csv_list, default=None,
        help="comma-separated covariate columns (default: every other column)",
    )
    group.add_argument(
        "--coupon-window", type=float, default=None, metavar="DAYS",
        help="coupon validity in days; with interview times, open windows are censored at the redeemed count",
    )
    group.add_argument("--cutoff", default=None, help="data cut-off date (default: last interview)")
    group.add_argument("--max-coupons", type=int, default=None, help="coupons each respondent got (rds format)")
    group.add_argument("--redeemed-col", default=None, help="redeemed coupon code column (coupons format)")
    group.add_argument(
        "--issued-cols", type=_csv_list, default=None,
        help="comma-separated issued-code columns (coupons format; default: detected)",
    )
    group.add_argument(
        "--exclude-columns", type=_csv_list, default=(),
        help="columns that look like coupon columns but are not (coupons format)",
    )
    group.add_argument(
        "--unmatched", choices=("error", "seed", "drop"), default="error",
        help="respondents whose redeemed code matches nobody: report as error, treat as seeds, or drop",
    )
    group.add_argument(
        "--drop-warned", action="store_true",
        help="drop the rows behind warnings (reported), instead of keeping them",
    )


def _reader_options(args: argparse.Namespace) -> dict[str, Any]:
    """Translate parsed options into keyword arguments of ``rdsmodel.data.read_table``."""
    names = {
        "id_col": args.id_col,
        "recruiter_col": args.recruiter_col,
        "coupons_col": args.coupons_col,
        "time_col": args.time_col,
        "group_col": args.group_col,
        "covariates": args.covariates,
        "coupon_window": args.coupon_window,
        "cutoff": args.cutoff,
    }
    if args.format == "rds":
        names["max_coupons"] = args.max_coupons
    elif args.max_coupons is not None:
        raise CommandError("--max-coupons only applies to --format rds")
    if args.format == "coupons":
        names.update(
            redeemed_col=args.redeemed_col,
            issued_cols=args.issued_cols,
            exclude_columns=tuple(args.exclude_columns),
            unmatched=args.unmatched,
        )
    elif args.redeemed_col or args.issued_cols or args.exclude_columns or args.unmatched != "error":
        raise CommandError("--redeemed-col, --issued-cols, --exclude-columns and --unmatched apply to --format coupons")
    options = {key: value for key, value in names.items() if value is not None}
    if args.drop_warned:
        options["drop_warned"] = True
    return options


def load_study(args: argparse.Namespace):
    """Read and validate the field table named by ``args``.

    Returns
    -------
    rdsmodel.data.RecruitmentData

    Raises
    ------
    rdsmodel.data.DataValidationError
        With one line per problem (the caller prints them).
    """
    from rdsmodel.data import read_table

    if not args.study.exists():
        raise CommandError(f"no such file: {args.study}")
    return read_table(args.study, format=args.format, **_reader_options(args))
