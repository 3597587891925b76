"""``rdsplan report``: the plan and its diagnostics as one self-contained HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from planning.app.cli.common import OUTPUT_NOTE, say
from planning.app.cli.plan import add_planning_arguments, plan_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``report`` command."""
    parser = sub.add_parser(
        "report",
        help="write the decision report (plan, error statement, diagnostics) as one HTML page",
        description=(
            "Plan the next round as 'rdsplan plan' does and write one self-contained HTML page: "
            "the study with its recruitment tree, the model fit (rank plots, R-hat/ESS, posterior "
            "predictive checks), homophily, the plan with expected recruits, posterior regret, "
            "price of robustness and error bounds beside the diagnostics, a verdict on whether to "
            "trust it, and the allocation as a downloadable CSV. Figures are embedded: the page "
            "needs no network access."
        ),
    )
    add_planning_arguments(parser)
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help=f"HTML file to write; {OUTPUT_NOTE}"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Plan, then render and write the report."""
    from planning.app.report import write_report

    fit, data, plan = plan_from_args(args)
    write_report(args.output, fit, data, plan, study_name=args.study.name)
    print(plan.summary().text)
    say(f"wrote {args.output}")
    return 0
