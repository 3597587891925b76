"""``rdsplan report``: the plan and its diagnostics as one self-contained HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from planning.app.cli.common import OUTPUT_NOTE, add_data_options, say
from planning.app.cli.plan import add_plan_options, load_for_planning, plan_request
from planning.app.workflows import covariates_path, plan_round, refuse_overwrite


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
    parser.add_argument(
        "posterior",
        type=Path,
        metavar="POSTERIOR.nc",
        help="count-model posterior from 'rdsplan fit'",
    )
    add_data_options(parser, positional=False)
    add_plan_options(parser)
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help=f"HTML file to write; {OUTPUT_NOTE}"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Plan, then render and write the report."""
    from planning.app.report import write_report
    from rdsmodel.persistence import check_writable

    refuse_overwrite([args.output], [args.posterior, covariates_path(args.posterior), args.study])
    check_writable(args.output)  # before planning, not after
    request = plan_request(args)
    fit, data = load_for_planning(args)
    plan = plan_round(fit, data, request, posterior=args.posterior, progress=say)
    write_report(args.output, fit, data, plan, study_name=args.study.name)
    print(plan.summary().text)
    say(f"wrote {args.output}")
    return 0
