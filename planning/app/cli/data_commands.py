"""``rdsplan validate`` and ``rdsplan describe``: check and summarise a field table."""

from __future__ import annotations

import argparse
from pathlib import Path

from planning.app.cli.common import OUTPUT_NOTE, add_data_options, load_study, report_reading, say
from planning.app.workflows import refuse_overwrite


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``validate`` and ``describe`` commands."""
    validate = sub.add_parser(
        "validate",
        help="check a field table and print its problems",
        description="Check a field table. Prints every problem; exit status 0 when valid, 1 on errors.",
    )
    add_data_options(validate)
    validate.set_defaults(func=run_validate)

    describe = sub.add_parser(
        "describe",
        help="summarise a field table (waves, recruits, coupon use, homophily) with figures",
        description=(
            "Print the descriptive summary of a study: sample size, seeds, waves, recruits per "
            "respondent, coupon use, recruits per seed and homophily per categorical field. "
            "With -o, also write the tables as CSV and the recruitment-tree figure."
        ),
    )
    add_data_options(describe)
    describe.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help=f"folder for tables and figures; {OUTPUT_NOTE}",
    )
    describe.set_defaults(func=run_describe)


def run_validate(args: argparse.Namespace) -> int:
    """Validate and print a one-line verdict (errors raise and exit 1)."""
    data = load_study(args)
    report_reading(data)
    n_frontier = len(data.frontier)
    print(
        f"{args.study}: valid, {len(data.table)} respondents, {len(data.covariates)} covariates, "
        f"{n_frontier} awaiting coupons, {len(data.warnings)} warning(s)"
    )
    for problem in data.warnings:
        print(f"warning: {problem.message}")
    return 0


def run_describe(args: argparse.Namespace) -> int:
    """Print the summary and optionally write tables and figures."""
    from rdsmodel.data import describe
    from rdsmodel.persistence import output_folder

    if args.output is not None:
        refuse_overwrite([args.output], [args.study])
        output_folder(args.output)
    data = load_study(args)
    report_reading(data)
    summary = describe(data)
    print(summary.text())
    if args.output is not None:
        written = summary.save(args.output)
        say(f"wrote {len(written) if written else 'tables and figures'} file(s) to {args.output}")
    return 0
