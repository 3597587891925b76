"""``rdsplan simulate``: write a simulated study as a canonical field table."""

from __future__ import annotations

import argparse
from pathlib import Path

from planning.app.cli.common import OUTPUT_NOTE, SCENARIO_NAMES, CommandError, say

#: Largest study ``simulate`` writes: a million rows is a few dozen MB of CSV; a typo of
#: a billion would hold the whole simulation in memory.
MAX_RESPONDENTS = 1_000_000


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``simulate`` command."""
    parser = sub.add_parser(
        "simulate",
        help="simulate an RDS study and write it as a canonical field table",
        description=(
            "Simulate a respondent-driven sampling study in a branching or network world and "
            "write it as a canonical CSV. The same seed always gives the same file, byte for byte."
        ),
    )
    parser.add_argument(
        "--scenario",
        choices=SCENARIO_NAMES,
        default="calibrated",
        help="world to simulate (default: calibrated)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--respondents",
        type=int,
        default=500,
        help=f"study size, 2 to {MAX_RESPONDENTS:,} (default: 500)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help=f"CSV file to write; {OUTPUT_NOTE}"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Simulate the study and write it atomically."""
    from planning.simulation import simulate_study
    from rdsmodel.persistence import atomic_path, check_writable

    if not 2 <= args.respondents <= MAX_RESPONDENTS:
        raise CommandError(
            f"--respondents must be from 2 to {MAX_RESPONDENTS:,}, got {args.respondents}"
        )
    check_writable(args.output)
    table = simulate_study(args.scenario, seed=args.seed, respondents=args.respondents)
    with atomic_path(args.output) as tmp:
        table.to_csv(tmp, index=False)
    say(f"wrote {len(table)} respondents ({args.scenario}, seed {args.seed}) to {args.output}")
    return 0
