"""``rdsplan plan``: allocate the next round's coupons to the study's frontier."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from planning.app.cli.common import CommandError, add_data_options, load_study, say

METHODS = ("greedy", "robust", "dp")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``plan`` command."""
    parser = sub.add_parser(
        "plan",
        help="allocate coupons to the frontier of a study from a fitted posterior",
        description=(
            "Allocate coupons to the frontier rows of the study (rows with no coupons issued yet) "
            "using a fitted posterior. Prints the allocation, expected recruits with a 90% "
            "interval, the misspecification bound with its parts and the posterior's diagnostics."
        ),
    )
    parser.add_argument("posterior", type=Path, metavar="POSTERIOR.nc", help="count-model posterior from 'rdsplan fit'")
    add_data_options(parser, positional=False)
    parser.add_argument("--budget", type=int, required=True, help="coupons left to hand out (this and later rounds)")
    parser.add_argument("--gamma", type=float, default=0.9, help="discount per round, in (0, 1] (default: 0.9)")
    parser.add_argument("--method", choices=METHODS, default="greedy",
                        help="greedy (exact, this round), robust (cvxpy, risk-averse), dp (multi-round spend)")
    parser.add_argument("--risk", default="mean", help="mean, cvar:ALPHA or worst (default: mean)")
    parser.add_argument("--max-per-person", type=int, default=None,
                        help="coupons one person may get (default: the most issued to anyone in the study)")
    parser.add_argument("--samples", type=int, default=200,
                        help="posterior draws used for planning (default: 200)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument("--allow-unconverged", action="store_true",
                        help="plan even when the posterior's diagnostics failed")
    parser.add_argument("--json", action="store_true", help="print the whole plan as JSON")
    parser.add_argument("-o", "--output", type=Path, default=None, help="CSV file for the allocation")
    parser.set_defaults(func=run)


def check_plan_arguments(budget: int, gamma: float) -> None:
    """Refuse a negative budget or a discount outside (0, 1]."""
    if budget < 0:
        raise CommandError(f"--budget must be non-negative, got {budget}")
    if not 0.0 < gamma <= 1.0:
        raise CommandError(f"--gamma must be in (0, 1], got {gamma}")


def plan_frontier(data, count, report, args: argparse.Namespace):
    """Compute the plan for ``data``'s frontier from a fitted count model.

    Parameters
    ----------
    data : rdsmodel.data.RecruitmentData
    count : rdsmodel.count.CountModel
        Fitted (or reloaded) count model.
    report : rdsmodel.diagnostics.Diagnostics
        The posterior's diagnostics; its summary is attached to the plan.
    args : argparse.Namespace
        budget, gamma, method, risk, max_per_person, samples, seed.

    Returns
    -------
    planning.Plan
    """
    from planning import make_plan

    frontier = data.frontier
    if frontier.empty:
        raise CommandError("the study has no frontier: every respondent has been given coupons already")
    cap = args.max_per_person
    if cap is None:
        issued = data.table["coupons_issued"].dropna()
        cap = int(issued.max()) if len(issued) else 3
    if cap < 1:
        raise CommandError("--max-per-person must be at least 1")
    survival = count.survival(frontier, max_coupons=cap, samples=args.samples, seed=args.seed)
    ppc = _ppc_estimate(data, count, args)
    population = None
    if args.method == "dp":
        population = count.population_pmf(max_count=max(cap, 10) + 1, samples=args.samples, seed=args.seed)
    return make_plan(
        survival,
        args.budget,
        method=args.method,
        risk=args.risk,
        gamma=args.gamma,
        population_pmf=population,
        diagnostics=report.summary(),
        seed=args.seed,
        ppc=ppc,
    )


def _ppc_estimate(data, count, args: argparse.Namespace):
    """Posterior predictive distance between observed and predicted redeemed counts.

    Uses the respondents whose coupon windows closed (their redeemed count is
    ``min(C, k)``); returns None when there are none.
    """
    from planning.bounds import ppc_tv

    table = data.table
    closed = table[table["window_closed"] & ~table["is_frontier"] & (table["coupons_issued"] > 0)]
    if closed.empty:
        return None
    coupons = closed["coupons_issued"].to_numpy(dtype=int)
    curves = count.survival(closed, max_coupons=int(coupons.max()), samples=min(args.samples, 100),
                            seed=args.seed)
    return ppc_tv(closed["n_recruits"].to_numpy(dtype=int), coupons, curves, seed=args.seed)


def run(args: argparse.Namespace) -> int:
    """Load, check, plan, print and write the plan."""
    from planning.app.cli.fit import diagnose_models, load_models
    from rdsmodel.persistence import StudyChangedWarning

    check_plan_arguments(args.budget, args.gamma)
    count, covariate = load_models(args.posterior)
    data = load_study(args)
    with warnings.catch_warnings(record=True) as moved:
        warnings.simplefilter("always", StudyChangedWarning)
        count.check_study(data)
    for warning in moved:
        say(f"rdsplan: warning: {warning.message}")
    report = diagnose_models(count, covariate)
    if report.verdict == "fail" and not args.allow_unconverged:
        raise CommandError(
            "the posterior's diagnostics failed (run 'rdsplan diagnose' to see why); refit with more "
            "draws, or pass --allow-unconverged to plan anyway"
        )
    plan = plan_frontier(data, count, report, args)
    if args.json:
        print(plan.to_json())
    else:
        print(plan.summary_text())
    if args.output is not None:
        plan.to_csv(args.output)
        say(f"wrote {args.output}")
    return 0
