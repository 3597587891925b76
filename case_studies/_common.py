"""What every evaluation case study shares: its command line and where reports go."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPORTS = Path(__file__).resolve().parent / "reports"


def main(study, extras=lambda quick: ()) -> None:
    """Parse ``--quick`` / ``--executor``, run the study and say where its report is."""
    from planning.app.case_study import run_case_study

    parser = argparse.ArgumentParser(description=study.title)
    parser.add_argument("--quick", action="store_true", help="the short version (a smoke test)")
    parser.add_argument("--executor", choices=("serial", "processes", "dask"), default="processes")
    parser.add_argument("-o", "--output", type=Path, default=REPORTS, help="folder for the report")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    path = run_case_study(
        study,
        args.output,
        quick=args.quick,
        extras=extras(args.quick),
        executor=args.executor,
        progress=lambda line: print(line, file=sys.stderr),
    )
    print(f"wrote {path}")
