"""Benchmark: the planning core against the goals of issue 5.

Run ``python tests/benchmarks/bench_planning.py``. It prints, measured in one
run on seeded inputs:

* the surrogate DP table time at b = 20, 30, 200, 500, and the speed ratio
  against the direct published recursion (``tests/planning/reference_dp.py``)
  at b = 20 and 30 (goals: b = 200 under 5 s, b = 500 under 2 minutes);
* the online decision for a frontier of 100 with 200 coupons left, with one
  plug-in sample and with 200 posterior samples and their own tables (goal:
  under 1 s);
* the greedy for 10,000 people and 1,000 coupons (goal: under 50 ms);
* the robust CVaR(0.1) plan for 200 samples x 200 people x budget 400
  (goal: under 10 s).

Timings are wall-clock minima over a few repeats (other processes share the
cores).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "planning"))

from reference_dp import reference_table

from planning import (
    greedy_allocation,
    online_decision,
    robust_allocation,
    surrogate_table,
)


def timed(fn: Callable[[], object], repeats: int = 3) -> tuple[float, object]:
    """Best wall time over ``repeats`` runs and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def nb_survival(rng: np.random.Generator, samples: int, people: int, length: int) -> np.ndarray:
    mu = rng.lognormal(0.3, 0.6, people)[None] * rng.lognormal(0.0, 0.3, (samples, people))
    p = 2.0 / (2.0 + mu)
    return stats.nbinom.sf(np.arange(length)[None, None, :], 2.0, p[..., None])


def main() -> None:
    rng = np.random.default_rng(2026)
    pmf = stats.nbinom.pmf(np.arange(60), 1.5, 1.5 / (1.5 + 1.8))
    gamma = 0.9

    print("Population surrogate DP table U[r, n] (negative binomial law, gamma 0.9)")
    for budget in (20, 30, 200, 500):
        repeats = 3 if budget <= 200 else 1
        fast, table = timed(lambda b=budget: surrogate_table(pmf, b, gamma), repeats)
        line = f"  b = {budget:>3}: fast {fast:8.3f} s"
        if budget <= 30:
            slow, ref = timed(lambda b=budget: reference_table(pmf, b, gamma), 1)
            err = float(np.max(np.abs(ref - table)))
            line += f" | reference recursion {slow:7.2f} s | ratio {slow / fast:8.0f}x | max diff {err:.1e}"
        print(line)

    print("Online decision: frontier of 100, 200 coupons left")
    frontier = nb_survival(rng, 200, 100, 30)
    table = surrogate_table(pmf, 200, gamma)
    t_one, decision = timed(lambda: online_decision(frontier.mean(axis=0), 200, table, gamma))
    print(f"  1 plug-in sample, 1 table          : {t_one:6.3f} s (spend {decision.spend})")
    laws = stats.nbinom.pmf(np.arange(60)[None], 1.5, 1.5 / (1.5 + rng.uniform(1.2, 2.4, (200, 1))))
    t_tables, tables = timed(
        lambda: np.stack([surrogate_table(law, 200, gamma) for law in laws]), 1
    )
    t_many, decision = timed(lambda: online_decision(frontier, 200, tables, gamma, risk="cvar:0.1"))
    print(
        f"  200 samples, 200 tables, CVaR(0.1)  : {t_many:6.3f} s (spend {decision.spend}; "
        f"building the 200 tables took {t_tables:.1f} s)"
    )

    print("Greedy: 10,000 people x 1,000 coupons (L = 1,000)")
    curves = np.ascontiguousarray(np.sort(rng.random((10_000, 1_000)), axis=1)[:, ::-1])
    t_greedy, alloc = timed(lambda: greedy_allocation(curves, 1_000), 5)
    print(f"  {t_greedy * 1e3:6.1f} ms (coupons handed out: {int(alloc.sum())})")

    print("Robust CVaR(0.1): 200 samples x 200 people x budget 400 (L = 20)")
    samples = nb_survival(rng, 200, 200, 20)
    t_robust, result = timed(lambda: robust_allocation(samples, 400, "cvar:0.1"), 1)
    print(
        f"  {t_robust:6.2f} s (status {result.status}, {result.info.get('method')}, gap "
        f"{result.gap:.1e}, price of robustness {result.price_of_robustness:.3f})"
    )


if __name__ == "__main__":
    main()
