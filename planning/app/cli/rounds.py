"""``rdsplan round``: each time a round's recruits have arrived, refit, plan and report."""

from __future__ import annotations

import argparse
from pathlib import Path

from planning.app.cli.common import add_data_options, load_study, report_reading, say
from planning.app.cli.fit import FAMILIES
from planning.app.cli.plan import METHODS, add_priority_options
from planning.app.workflows import FitSettings, PlanRequest, refuse_overwrite


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``round`` command."""
    parser = sub.add_parser(
        "round",
        help="one round of a live study: validate, refit both models, plan, write the report",
        description=(
            "Run after each round's recruits have arrived. Validates the updated table, refits the "
            "capacity and covariate models (with --previous, with the previous round's reading "
            "options and model settings, and says whether the new data moved the estimates), plans "
            "the round with the coupons left, and writes posterior.nc, plan.csv, report.html and "
            "round.json into the output folder. A failed fit is not planned on unless "
            "--allow-unconverged is given (its posterior is still written). With --priority "
            "the round is planned for the weighted recruits and the report and round.json show "
            "the expected recruits of each subgroup."
        ),
    )
    add_data_options(parser)
    parser.add_argument(
        "--budget-left", type=int, required=True, help="coupons left for this and later rounds"
    )
    parser.add_argument("--method", choices=METHODS, default="dp", help="planner (default: dp)")
    parser.add_argument(
        "--gamma",
        type=float,
        default=None,
        help="discount per round for multi-round methods (default: 0.9)",
    )
    parser.add_argument("--risk", default=None, help="mean, cvar:ALPHA or worst (robust and dp)")
    parser.add_argument(
        "--max-per-person",
        type=int,
        default=None,
        help="coupons one person may get (default: the most issued to anyone so far)",
    )
    parser.add_argument(
        "--previous",
        type=Path,
        default=None,
        metavar="DIR",
        help="the previous round's output folder",
    )
    parser.add_argument(
        "--family",
        choices=FAMILIES,
        default="nb",
        help="capacity family of the first round (later rounds keep the previous one)",
    )
    parser.add_argument("--chains", type=int, default=4, help="MCMC chains (default: 4)")
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain (default: 1000)")
    parser.add_argument(
        "--tune", type=int, default=1000, help="tuning steps per chain (default: 1000)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    add_priority_options(
        parser, "the report and round.json then show expected recruits by subgroup"
    )
    parser.add_argument(
        "--allow-unconverged", action="store_true", help="plan even when the fit failed"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder for this round's files (created)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read, refit, compare, plan and write the round."""
    from planning.app.cli.plan import planner_settings, priority_of
    from planning.app.live import POSTERIOR, changes_text, previous_fit, run_round

    priority = priority_of(args)  # its syntax before any work; fields and levels below

    refuse_overwrite([args.output / POSTERIOR], [args.study])
    if args.previous is not None:
        refuse_overwrite([args.output], [args.previous], flag="-o (the previous round's folder)")
    previous = None if args.previous is None else previous_fit(args.previous)
    data = load_study(args, stored=None if previous is None else previous.count.reading)
    report_reading(data)
    request = PlanRequest(
        budget=args.budget_left,
        method=args.method,
        settings=planner_settings(args),
        max_per_person=args.max_per_person,
        seed=args.seed,
        allow_unconverged=args.allow_unconverged,
        priority=priority,
    )
    settings = FitSettings(
        family=args.family,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
        progress_bars=not args.no_progress,
    )
    result = run_round(
        data,
        settings,
        request,
        args.output,
        previous=previous,
        study_name=args.study.name,
        progress=say,
    )
    print(result.plan.summary_text())
    print("\n" + changes_text(result.changes))
    say(f"wrote {', '.join(str(p) for p in result.files.values())}")
    return 0
