"""``rdsplan plan``: allocate the next round's coupons to the study's frontier."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from planning.app.cli.common import (
    OUTPUT_NOTE,
    CommandError,
    add_data_options,
    load_study,
    report_reading,
    say,
)
from planning.app.workflows import (
    PlanRequest,
    covariates_path,
    load_fit,
    plan_round,
    refuse_overwrite,
    write_plan,
)
from planning.planners import PLANNERS

METHODS = tuple(PLANNERS)


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    """The options shared by ``plan``, ``report`` and ``round``: what to plan and how."""
    parser.add_argument(
        "--budget",
        type=int,
        required=True,
        help="coupons left to hand out (this round for greedy and robust; this and "
        "later rounds for multi-round methods)",
    )
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="greedy",
        help="greedy (exact, this round), robust (cvxpy, risk-averse), dp (multi-round "
        "spend) or another registered planner (default: greedy)",
    )
    parser.add_argument(
        "--gamma",
        type=float,
        default=None,
        help="discount per round, in (0, 1], for multi-round methods (default: 0.9)",
    )
    parser.add_argument(
        "--risk",
        default=None,
        help="mean, cvar:ALPHA or worst, for robust (default cvar:0.1) and dp (default mean)",
    )
    parser.add_argument(
        "--max-per-person",
        type=int,
        default=None,
        help="coupons one person may get (default: the most issued to anyone in the study)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=200,
        help="posterior draws used for planning (default: 200, at most what the posterior holds)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--allow-unconverged",
        action="store_true",
        help="plan even when the posterior's diagnostics failed",
    )
    add_priority_options(
        parser,
        "levels as named in the data; needs the recruit-covariate model",
    )
    parser.add_argument(
        "--coverage",
        default=None,
        metavar="SUBGROUP:N,...",
        help="with --method robust: at least N expected recruits from each subgroup under "
        'the risk measure, e.g. "SEX=F:10" (conditions joined by &); refused when '
        "no plan can reach it",
    )


def add_priority_options(parser: argparse.ArgumentParser, effect: str) -> None:
    """``--priority``, ``--priority-file`` and ``--priority-rule`` (read by :func:`priority_of`).

    ``effect`` ends the help of ``--priority``: what the command does with it.
    """
    parser.add_argument(
        "--priority",
        default=None,
        metavar="FIELD=LEVEL:FACTOR,...",
        help='weigh recruits by their covariates, e.g. "SEX=F:3,DRUG=yes:2": a recruit\'s '
        "weight is the product of its levels' factors (1 for levels not named); " + effect,
    )
    parser.add_argument(
        "--priority-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="CSV table of covariate patterns and weights (one column per covariate, blank "
        "or * for any level, a|b for either, and a 'weight' column); a recruit gets "
        "the first matching row's weight (see --priority-rule), 1 if none matches",
    )
    parser.add_argument(
        "--priority-rule",
        choices=("first", "max"),
        default=None,
        help="overlapping rows of --priority-file: the first match (default) or the largest",
    )


def add_planning_arguments(parser: argparse.ArgumentParser) -> None:
    """The posterior, how to read its study and what to plan (``plan``, ``report``)."""
    parser.add_argument(
        "posterior",
        type=Path,
        metavar="POSTERIOR.nc",
        help="count-model posterior from 'rdsplan fit'",
    )
    add_data_options(parser, positional=False)
    add_plan_options(parser)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``plan`` command."""
    parser = sub.add_parser(
        "plan",
        help="allocate coupons to the frontier of a study from a fitted posterior",
        description=(
            "Allocate coupons to the frontier rows of the study (rows with no coupons issued yet) "
            "using a fitted posterior. The study is reread with the options it was fitted with; "
            "reading flags given again must agree. Prints the allocation, expected recruits with "
            "a 90% interval, the posterior regret, the misspecification bound with its parts and "
            "whether it informs, and the posterior's diagnostics."
        ),
    )
    add_planning_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the whole plan as JSON")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help=f"CSV file for the allocation; {OUTPUT_NOTE}",
    )
    parser.set_defaults(func=run)


def planner_settings(args: argparse.Namespace) -> dict:
    """``--gamma``, ``--risk`` and ``--coverage`` for the chosen planner, when it has that setting.

    The planner's dataclass fields say which it takes; typing one it does not
    take is refused.
    """
    fields = set(PLANNERS[args.method].__dataclass_fields__)
    settings = {}
    for name in ("gamma", "risk", "coverage"):
        value = getattr(args, name, None)
        if value is None:
            continue
        if name not in fields:
            raise CommandError(f"--{name} does not apply to --method {args.method}")
        settings[name] = value
    return settings


def priority_of(args: argparse.Namespace):
    """The :class:`planning.priorities.Priority` of ``--priority`` or ``--priority-file`` (or None).

    Syntax is checked here; fields and levels against the covariate model when planning.
    """
    from planning.priorities import Priority

    text, path = getattr(args, "priority", None), getattr(args, "priority_file", None)
    rule = getattr(args, "priority_rule", None)
    if text is not None and path is not None:
        raise CommandError("give --priority or --priority-file, not both")
    if rule is not None and path is None:
        raise CommandError("--priority-rule applies to --priority-file")
    if text is not None:
        return Priority.parse(text)
    if path is not None:
        return Priority.from_table(path, rule=rule or "first")
    return None


def plan_request(args: argparse.Namespace) -> PlanRequest:
    """The typed request from the parsed plan options."""
    from planning.priorities import Coverage

    settings = planner_settings(args)
    coverage = Coverage.parse(settings["coverage"]) if settings.get("coverage") else ()
    return PlanRequest(
        budget=args.budget,
        method=args.method,
        settings=settings,
        max_per_person=args.max_per_person,
        samples=args.samples,
        seed=args.seed,
        allow_unconverged=args.allow_unconverged,
        priority=priority_of(args),
        subgroups=tuple(c.subgroup for c in coverage),
    )


def load_for_planning(args: argparse.Namespace):
    """Load the posterior and reread its study (stored reading options; typed ones must agree)."""
    from rdsmodel.persistence import StudyChangedWarning

    fit = load_fit(args.posterior)
    data = load_study(args, stored=fit.count.reading)
    report_reading(data)
    with warnings.catch_warnings(record=True) as moved:
        warnings.simplefilter("always", StudyChangedWarning)
        fit.count.check_study(data)
    for warning in moved:
        say(f"rdsplan: warning: {warning.message}")
    return fit, data


def plan_from_args(args: argparse.Namespace):
    """What ``plan`` and ``report`` share: refuse a bad ``-o`` before any work, reread the
    study with the posterior's options and plan. Returns ``(fit, data, plan)``."""
    from rdsmodel.persistence import check_writable

    refuse_overwrite([args.output], [args.posterior, covariates_path(args.posterior), args.study])
    if args.output is not None:
        check_writable(args.output)  # before planning, not after
    request = plan_request(args)
    fit, data = load_for_planning(args)
    return fit, data, plan_round(fit, data, request, posterior=args.posterior, progress=say)


def run(args: argparse.Namespace) -> int:
    """Load, check, plan, print and write the plan."""
    _, _, plan = plan_from_args(args)
    if args.json:
        print(plan.to_json())
    else:
        print(plan.summary_text())
    if args.output is not None:
        write_plan(plan, args.output)
        say(f"wrote {args.output}")
    return 0
