"""Benchmark: read and validate a 100,000-respondent canonical table.

Run ``python tests/benchmarks/bench_load.py [N]``. It grows a seeded
branching study with numpy (vectorised, wave by wave), writes it as a
canonical CSV to a temporary folder, then times ``read_canonical`` (CSV
parsing, every validation check, schema inference and the derivation of
waves, seeds and censoring). Goal: under 10 s on 2 cores.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rdsmodel.data import read_canonical


def canonical_study(n: int, *, seeds: int = 50, coupons: int = 3, seed: int = 2024) -> pd.DataFrame:
    """A seeded canonical table of ``n`` respondents with covariates and interview times."""
    rng = np.random.default_rng(seed)
    parents = [np.full(seeds, -1)]
    days = [rng.uniform(0, 10, size=seeds)]
    frontier = np.arange(seeds)
    total = seeds
    while total < n:
        kids = rng.binomial(coupons, 0.4, size=len(frontier))
        if kids.sum() == 0:
            kids[rng.integers(len(frontier))] = 1
        children = np.repeat(frontier, kids)[: n - total]
        parents.append(children)
        days.append(np.concatenate(days)[children] + rng.exponential(4.0, size=len(children)) + 0.5)
        frontier = np.arange(total, total + len(children))
        total += len(children)
    parent = np.concatenate(parents)
    day = np.concatenate(days)
    ids = np.char.add("P", np.char.zfill(np.arange(n).astype(str), 7))
    issued = np.full(n, float(coupons))
    issued[frontier[: len(frontier) // 2]] = np.nan
    return pd.DataFrame(
        {
            "id": ids,
            "recruiter_id": np.where(parent >= 0, ids[np.maximum(parent, 0)], ""),
            "coupons_issued": pd.array(issued, dtype="Float64").astype("Int64"),
            "interview_time": (
                pd.Timestamp("2023-03-01") + pd.to_timedelta(np.round(day * 24), unit="h")
            ).strftime("%Y-%m-%dT%H:%M"),
            "group": rng.choice(["site_a", "site_b", "site_c"], size=n),
            "sex": rng.choice(["female", "male"], size=n),
            "age_band": rng.choice(["18-24", "25-34", "35-44", "45+"], size=n),
            "age": np.round(rng.normal(33, 9, size=n), 1),
            "network_size": rng.integers(1, 80, size=n),
        }
    )


def main(n: int = 100_000) -> float:
    """Generate, write, then time read + validate; print and return the seconds."""
    frame = canonical_study(n)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "study.csv"
        frame.to_csv(path, index=False)
        start = time.perf_counter()
        data = read_canonical(path, coupon_window=21)
        seconds = time.perf_counter() - start
    assert len(data.table) == n
    print(f"load+validate {n} respondents: {seconds:.2f} s (goal < 10 s)")
    print(
        f"  {int((data.table['wave'] == 0).sum())} seeds, max wave {int(data.table['wave'].max())}, "
        f"{len(data.frontier)} frontier, {int((~data.table['window_closed']).sum())} open windows, "
        f"schema {[(f.name, f.kind) for f in data.schema]}"
    )
    return seconds


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
