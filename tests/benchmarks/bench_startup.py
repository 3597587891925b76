"""Benchmark: start-up of ``rdsplan plan`` on a saved posterior and of ``rdsplan --help``.

Run ``python tests/benchmarks/bench_startup.py [FOLDER]``. FOLDER holds a
demo run (``study.csv``, ``posterior.nc``); without it a short demo is run
first into a temporary folder (not timed). Each command is run several times
as a fresh process, beside ``python -c "import numpy, pandas, xarray"``
measured in the same run, and the medians and ratios are printed.
Goals (issue 8): ``plan`` under 3 s and ``--help`` under 1 s on 2 cores.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 5


def wall(command: list[str]) -> float:
    """Wall time of one fresh process (fails loudly if the command fails)."""
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    rdsplan = [sys.executable, "-m", "planning.app.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tmp) / "demo"
        if not (folder / "posterior.nc").exists():
            print(f"running a short demo into {folder} (not timed) ...", flush=True)
            subprocess.run(
                [*rdsplan, "demo", "-o", str(folder), "--chains", "2", "--draws", "300"],
                check=True,
                capture_output=True,
            )
        commands = {
            "import numpy, pandas, xarray": [sys.executable, "-c", "import numpy, pandas, xarray"],
            "rdsplan --help": [*rdsplan, "--help"],
            "rdsplan plan (greedy)": [
                *rdsplan,
                "plan",
                str(folder / "posterior.nc"),
                "--data",
                str(folder / "study.csv"),
                "--budget",
                "60",
                "--allow-unconverged",
            ],
            "rdsplan plan (dp)": [
                *rdsplan,
                "plan",
                str(folder / "posterior.nc"),
                "--data",
                str(folder / "study.csv"),
                "--budget",
                "60",
                "--method",
                "dp",
                "--allow-unconverged",
            ],
        }
        times = {name: [] for name in commands}
        for _ in range(REPEATS):  # interleaved, so machine noise hits every command alike
            for name, command in commands.items():
                times[name].append(wall(command))
    base = statistics.median(times["import numpy, pandas, xarray"])
    print(f"{'command':32s} {'median s':>9s} {'min s':>7s} {'x imports':>10s}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:32s} {median:9.2f} {min(values):7.2f} {median / base:10.1f}")


if __name__ == "__main__":
    main()
