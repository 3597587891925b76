"""``rdsplan demo``: the whole path on the built-in default study.

simulate (or load) the study → validate → describe → fit both models →
diagnose → plan the next round → print the plan beside its diagnostics and
bound. Everything is written under one output folder.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from planning.app.cli.common import OUTPUT_NOTE, CommandError, say
from planning.planners import PLANNERS

#: The built-in default study: the ICPSR-calibrated branching world.
DEFAULT_STUDY = {"scenario": "calibrated", "seed": 2026, "respondents": 1500}
#: Capacity predictors of the default study's protocol (the other 15 fields only
#: enter the recruit-covariate model): 51 dummies on a few hundred closed coupon
#: windows would not be identified.
DEFAULT_CAPACITY_COVARIATES = ["SEX", "BEHAV"]
#: Files and folders the demo writes into its output folder besides the simulated study.csv.
_WRITES = (
    "described",
    "posterior.nc",
    "posterior.covariates.nc",
    "diagnostics",
    "plan.csv",
    "report.html",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``demo`` command."""
    parser = sub.add_parser(
        "demo",
        help="run the whole path on the built-in default study",
        description=(
            "Simulate the built-in default study (ICPSR-calibrated homophily, "
            f"{DEFAULT_STUDY['respondents']} respondents, seed {DEFAULT_STUDY['seed']}) or load "
            "--data, validate and describe it, fit the capacity and covariate models, diagnose "
            "them, and plan the next round of coupons."
        ),
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("rdsplan-demo"),
        help=f"folder for everything the demo writes (default: rdsplan-demo); {OUTPUT_NOTE}",
    )
    parser.add_argument(
        "--data", type=Path, default=None, help="use this canonical field table instead"
    )
    parser.add_argument("--budget", type=int, default=60, help="coupons left (default: 60)")
    parser.add_argument(
        "--gamma", type=float, default=0.9, help="discount per round (default: 0.9)"
    )
    parser.add_argument(
        "--method", choices=tuple(PLANNERS), default="dp", help="planner (default: dp)"
    )
    parser.add_argument("--chains", type=int, default=4, help="MCMC chains (default: 4)")
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain (default: 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for fitting and planning")
    parser.set_defaults(func=run)


def _step(number: int, text: str) -> float:
    say(f"\n[{number}/7] {text}")
    return time.perf_counter()


def run(args: argparse.Namespace) -> int:
    """Run every step, printing progress to standard error and results to standard output."""
    from planning.app.report import write_report
    from planning.app.workflows import (
        FitSettings,
        PlanRequest,
        fit_study,
        plan_round,
        refuse_overwrite,
        write_plan,
    )
    from planning.simulation import simulate_study
    from rdsmodel.data import describe, read_table
    from rdsmodel.persistence import atomic_path, output_folder

    settings = {"gamma": args.gamma} if args.method == "dp" else {}
    # The demo always shows a plan; a failed verdict is printed beside it.
    request = PlanRequest(
        budget=args.budget,
        method=args.method,
        settings=settings,
        seed=args.seed,
        allow_unconverged=True,
    )
    fit_settings = FitSettings(
        capacity_covariates=DEFAULT_CAPACITY_COVARIATES if args.data is None else None,
        draws=args.draws,
        tune=args.draws,
        chains=args.chains,
        seed=args.seed,
        target_accept=0.95,
    )
    start = time.perf_counter()
    out: Path = args.output
    # what the demo writes into -o must not be the --data it reads
    refuse_overwrite([out / name for name in _WRITES], [args.data])
    output_folder(out)

    _step(1, "study")
    if args.data is None:
        study_path = out / "study.csv"
        table = simulate_study(**DEFAULT_STUDY)
        with atomic_path(study_path) as tmp:
            table.to_csv(tmp, index=False)
        say(f"simulated the default study ({DEFAULT_STUDY}) -> {study_path}")
    else:
        study_path = args.data
        if not study_path.exists():
            raise CommandError(f"no such file: {study_path}")

    _step(2, "validate")
    data = read_table(study_path, format="canonical")  # a column named group is the group
    say(
        f"valid: {len(data.table)} respondents, {len(data.frontier)} awaiting coupons, "
        f"{len(data.warnings)} warning(s)"
    )

    _step(3, "describe")
    summary = describe(data)
    summary.save(out / "described")
    print(summary.text())

    _step(4, "fit the capacity and covariate models")
    fit = fit_study(data, fit_settings, progress=say)
    for path in fit.save(out / "posterior.nc"):
        say(f"wrote {path}")

    _step(5, "diagnose")
    report = fit.diagnostics()
    report.save_figures(out / "diagnostics")
    print(report.text())

    _step(6, f"plan the next round ({args.method}, budget {args.budget}, gamma {args.gamma})")
    plan = plan_round(fit, data, request)
    write_plan(plan, out / "plan.csv")
    print(plan.summary_text())

    _step(7, "write the decision report")
    report = write_report(out / "report.html", fit, data, plan, study_name=study_path.name)
    say(
        f"\ndone in {time.perf_counter() - start:.0f} s; everything is in {out}/; "
        f"open {report} in a browser for the decision report"
    )
    return 0
