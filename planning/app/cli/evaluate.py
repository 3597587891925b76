"""``rdsplan evaluate``: compare coupon policies in a simulated world, with error bars."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from planning.app.cli.common import OUTPUT_NOTE, SCENARIO_NAMES, CommandError, say
from planning.app.cli.plan import add_priority_options, priority_of


def _floats(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {text!r}"
        ) from None


def _ints(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers separated by commas, got {text!r}"
        ) from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``evaluate`` command."""
    parser = sub.add_parser(
        "evaluate",
        help="compare coupon policies in a simulated world (mean and standard error of recruits)",
        description=(
            "Play many recruitment episodes in a simulated world with every policy on the same "
            "random numbers, planning with models fitted to a simulated pilot study of the world "
            "(or with its true laws, --oracle-models), and report the mean and standard error of "
            "discounted and total recruits per policy, gamma and first-frontier size. Results are "
            "written as NetCDF (-o) with a figure beside them. Before comparing, check the budget "
            "binds: the oracle and the best policy should spend (nearly) the whole budget. With "
            "--priority every policy plans for the weighted recruits, and the results add the "
            "weighted recruits and the recruits of each named subgroup."
        ),
    )
    parser.add_argument(
        "--scenario", choices=SCENARIO_NAMES, default="tunnel", help="world (default: tunnel)"
    )
    parser.add_argument(
        "--budget",
        type=int,
        help="coupons per episode (default: the world's; tunnel 100, else 200)",
    )
    parser.add_argument(
        "--max-per-round",
        type=int,
        help="most coupons handed out in one round (default: the world's; tunnel 10; 0: no cap)",
    )
    parser.add_argument(
        "--max-per-person",
        type=int,
        help="most coupons one person may get (default: the round cap)",
    )
    parser.add_argument(
        "--gammas",
        type=_floats,
        default=[0.5, 0.7, 0.9, 1.0],
        help="discounts, comma-separated (default: 0.5,0.7,0.9,1.0)",
    )
    parser.add_argument(
        "--frontier",
        type=_ints,
        help="first-frontier sizes, comma-separated (default: the world's, 10)",
    )
    parser.add_argument(
        "--episodes",
        type=int,
        default=50,
        help="episodes per policy, gamma and frontier (default: 50)",
    )
    parser.add_argument(
        "--policies", help="comma-separated policies (default: all), e.g. gfp,dp,constant:3,oracle"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="random seed of everything (default: 1)"
    )
    parser.add_argument(
        "--executor",
        choices=("serial", "processes", "dask"),
        default="serial",
        help="where episodes run (default: serial)",
    )
    parser.add_argument(
        "--workers", type=int, help="worker processes (default: the number of cores)"
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="a running Dask scheduler (with --executor dask)"
    )
    parser.add_argument(
        "--oracle-models",
        action="store_true",
        help="plan with the world's true laws instead of models fitted to a pilot study",
    )
    parser.add_argument(
        "--pilot-respondents", type=int, default=300, help="size of the pilot study (default: 300)"
    )
    parser.add_argument(
        "--draws",
        type=int,
        default=200,
        help="posterior draws per chain of the pilot fits (default: 200)",
    )
    parser.add_argument(
        "--world-setting",
        choices=("binding", "original"),
        help="tunnel only: the calibration file's binding setting (default) or its original rates",
    )
    add_priority_options(
        parser,
        "every policy plans with the weights its planning models imply, and the results add "
        "weighted recruits and recruits per subgroup, scored in the true world",
    )
    parser.add_argument("--plot", type=Path, help="figure to write (default: beside -o, .png)")
    parser.add_argument("--no-plot", action="store_true", help="write no figure")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print only JSON: the results and the budget-binding check (with --priority each "
        "result adds weighted_mean, weighted_se, weighted_total_mean, weighted_total_se and "
        "subgroups)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help=f"NetCDF file to write; {OUTPUT_NOTE}"
    )
    parser.set_defaults(func=run)


def _table(evaluation) -> str:
    """The terminal table: discounted and total recruits (with a priority, weighted and per subgroup)."""
    labels = (
        list((evaluation.summary[0].get("subgroups") or {}).keys()) if evaluation.summary else []
    )
    weighted = bool(evaluation.summary) and "weighted_mean" in evaluation.summary[0]
    head = f"{'policy':<22}{'gamma':>6}{'frontier':>9}{'discounted':>17}{'total':>15}"
    if weighted:
        head += f"{'weighted disc.':>17}" + "".join(
            f"{(label + ' total'):>{max(15, len(label) + 8)}}" for label in labels
        )
    lines = [head]
    for row in evaluation.summary:
        line = (
            f"{row['policy']:<22}{row['gamma']:>6.2f}{row['frontier']:>9d}"
            f"{row['mean']:>10.2f} ± {row['se']:<4.2f}{row['total_mean']:>8.1f} ± {row['total_se']:<4.1f}"
        )
        if weighted:
            line += f"{row['weighted_mean']:>10.2f} ± {row['weighted_se']:<4.2f}"
            for label in labels:
                entry = row["subgroups"][label]
                cell = f"{entry['total_mean']:.1f} ± {entry['total_se']:.1f}"
                line += f"{cell:>{max(15, len(label) + 8)}}"
        lines.append(line)
    return "\n".join(lines)


def _binding(evaluation) -> str:
    lines = [
        "budget binding (the hindsight bound (oracle) and the best policy spend at least 95% "
        "of the budget):"
    ]
    for b in evaluation.binding:
        oracle = (
            "no oracle"
            if b["oracle_spent"] is None
            else f"oracle spends {100 * b['oracle_spent']:.0f}%"
        )
        verdict = (
            "binds" if b["binds"] else "DOES NOT BIND: differences between planners may mean little"
        )
        lines.append(
            f"  gamma {b['gamma']:.2f}, frontier {b['frontier']}: {oracle}, best policy "
            f"{b['best_policy']} spends {100 * b['best_spent']:.0f}%: {verdict}"
        )
        if b.get("under_oracle") is False:  # a bound exceeded is a bug, never a result
            lines.append(
                f"    WARNING: a policy beat the hindsight bound by {b['max_excess_over_oracle']:.3g} "
                "recruits in an episode; please report this"
            )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Evaluate, write the NetCDF (and figure), print the table or the JSON."""
    from planning.app.evaluation import (
        EvaluationSettings,
        evaluate_policies,
        plot_results,
        save_results,
    )

    priority = priority_of(args)  # syntax here; fields and levels against the world
    if args.world_setting and args.scenario != "tunnel":
        raise CommandError("--world-setting applies to --scenario tunnel only")
    if args.scheduler and args.executor != "dask":
        raise CommandError("--scheduler needs --executor dask")
    settings = EvaluationSettings(
        scenario=args.scenario,
        budget=args.budget,
        max_per_round=args.max_per_round,
        max_per_person=args.max_per_person,
        gammas=args.gammas,
        frontiers=args.frontier,
        episodes=args.episodes,
        policies=args.policies.split(",") if args.policies else None,
        seed=args.seed,
        oracle_models=args.oracle_models,
        pilot_respondents=args.pilot_respondents,
        draws=args.draws,
        tune=args.draws,
        world_options={"setting": args.world_setting} if args.world_setting else {},
        priority=priority,
    )
    plot = None if args.no_plot else (args.plot or args.output.with_suffix(".png"))
    if plot is not None and plot.resolve() == args.output.resolve():
        raise CommandError("--plot and -o name the same file")
    evaluation = evaluate_policies(
        settings,
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=say,
    )
    save_results(evaluation.dataset, args.output)
    if plot is not None:
        plot_results(
            evaluation.dataset,
            plot,
            title=f"{args.scenario}: budget {evaluation.dataset.attrs['budget']}",
        )
    for note in evaluation.notes:
        say(f"note: {note}")
    if args.json:
        json.dump(evaluation.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        say(_binding(evaluation))
        print(_table(evaluation))
        say(f"wrote {args.output}" + (f" and {plot}" if plot is not None else ""))
    return 0
