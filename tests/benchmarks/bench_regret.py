"""Benchmark: posterior regret and error statements (issue 10).

Run ``python tests/benchmarks/bench_regret.py`` (add ``--demo`` to also fit the
demo study and print its error statements; a few minutes). It prints, measured
in one run on seeded inputs:

* the exact single-round posterior regret for 200 samples x 500 people x
  budget 200 (goal: under 1 s), at L = 12 and L = 200 coupon levels, and the
  ratio against running the greedy once per sample;
* the spend-decision regret from a ``(sample, spend)`` score table;
* the tightened single-round bound (every sample as the truth) beside the
  paper's form and the plan's value, and the multi-round bound beside the
  paper's form, with their computation times;
* with ``--demo``: the demo study's greedy plan (120 coupons) and DP plan
  (60 coupons left, gamma 0.9), each with its posterior regret, the tightened
  and the paper's bounds and the plan's value side by side, and the capacity
  check of the fitted law against the observed redeemed coupons.

Timings are wall-clock minima over a few repeats (other processes share the
cores).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
from scipy import stats

from planning import greedy_allocation
from planning.bounds import multi_round_report, single_round_report
from planning.greedy import allocation_values
from planning.regret import single_round_regret, spend_regret


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


def per_sample_loop(curves: np.ndarray, allocation: np.ndarray) -> np.ndarray:
    """The obvious way: one greedy per posterior sample."""
    spend = int(allocation.sum())
    values = allocation_values(curves, allocation).sum(axis=1)
    best = np.array([allocation_values(c, greedy_allocation(c, spend)).sum() for c in curves])
    return best - values


def synthetic() -> None:
    rng = np.random.default_rng(2026)
    print("Posterior regret, single round: 200 samples x 500 people, budget 200")
    for length in (12, 200):
        curves = nb_survival(rng, 200, 500, length)
        plan = greedy_allocation(curves.mean(axis=0), 200)
        checked, _ = timed(lambda c=curves, k=plan: single_round_regret(c, k))
        fast, regret = timed(lambda c=curves, k=plan: single_round_regret(c, k, check=False))
        slow, loop = timed(lambda c=curves, k=plan: per_sample_loop(c, k), 1)
        agree = abs(float(np.clip(loop, 0, None).mean()) - regret.mean)
        print(f"  L = {length:>3}: vectorised {fast:6.3f} s ({checked:6.3f} s validating the "
              f"curves) | greedy per sample {slow:6.3f} s | ratio {slow / fast:5.1f}x | mean "
              f"regret {regret.mean:.3f} (loop differs by {agree:.1e}), q90 {regret.q90:.3f}, "
              f"P(optimal) {regret.p_optimal:.2f}")
    scores = rng.normal(50, 1, (200, 201)).cumsum(axis=1) / 100
    t_spend, spent = timed(lambda: spend_regret(scores, 120))
    print(f"  spend decision, 200 samples x 201 spends: {t_spend * 1e3:6.2f} ms "
          f"(mean regret {spent.mean:.3f})")

    print("Error statement bounds on the same frontier (L = 12), every sample as the truth")
    curves = nb_survival(rng, 200, 500, 12)
    for budget in (50, 120, 200):
        plan = greedy_allocation(curves.mean(axis=0), budget)
        t_single, report = timed(lambda k=plan, b=budget: single_round_report(curves, b,
                                                                           allocation=k), 1)
        print(f"  single round, budget {budget:>3}: plan {report.plan_value:7.2f} recruits | "
              f"tightened {report.total:7.2f} | paper {report.paper_total:8.2f} | ratio "
              f"{report.paper_total / max(report.total, 1e-12):6.1f}x | informs: "
              f"{report.informative} | {t_single:5.2f} s")
    means = rng.uniform(1.0, 2.0, 200)
    pooled = stats.nbinom.pmf(np.arange(201)[None], 2.0, (2.0 / (2.0 + means))[:, None])
    for gamma in (0.5, 0.9, 1.0):
        plan = greedy_allocation(curves.mean(axis=0), 40)
        t_multi, report = timed(lambda g=gamma, k=plan: multi_round_report(
            curves, k, pooled, g, 200, plan_value=100.0), 1)
        paper = "none (gamma = 1)" if report.paper_total is None else f"{report.paper_total:10.1f}"
        parts = ", ".join(f"{p.name} {p.value:.1f}" for p in report.parts)
        print(f"  multi-round, r = 200, gamma {gamma}: tightened {report.total:9.1f} ({parts}) | "
              f"paper {paper} | {t_multi:5.2f} s")


def demo() -> None:
    import tempfile
    from pathlib import Path

    from planning.app.cli.demo import DEFAULT_CAPACITY_COVARIATES, DEFAULT_STUDY
    from planning.app.posterior import planning_inputs
    from planning.app.workflows import FitSettings, fit_study
    from planning.error_statement import error_statement_for
    from planning.planners import make_planner
    from planning.simulation import simulate_study
    from rdsmodel.data import read_table
    from rdsmodel.diagnostics.capacity_check import capacity_check

    print(f"\nDemo study {DEFAULT_STUDY}, capacity covariates {DEFAULT_CAPACITY_COVARIATES}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "study.csv"
        simulate_study(**DEFAULT_STUDY).to_csv(path, index=False)
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        data = read_table(path, format="canonical", group_col="group" if "group" in header else None)
    settings = FitSettings(capacity_covariates=DEFAULT_CAPACITY_COVARIATES, draws=500, tune=500,
                           chains=2, seed=1, target_accept=0.95, covariate_model=False,
                           progress_bars=False)
    start = time.perf_counter()
    fit = fit_study(data, settings)
    print(f"  fitted the capacity model in {time.perf_counter() - start:.0f} s "
          f"({len(data.frontier)} frontier members)")
    for name, budget, options in (("greedy", 120, {}), ("dp", 60, {"gamma": 0.9})):
        inputs = planning_inputs(data, fit.count, None, budget=budget, samples=200, seed=1)
        decision = make_planner(name, **options).decide(inputs, budget, np.random.default_rng(1))
        t_statement, statement = timed(lambda i=inputs, d=decision, b=budget:
                                       error_statement_for(i, d, b), 1)
        bound = statement.bound
        paper = "none" if bound.paper_total is None else f"{bound.paper_total:.2f}"
        print(f"  {name} plan, budget {budget}: value {statement.plan_value:.2f} | regret mean "
              f"{statement.regret.mean:.3f}, q90 {statement.regret.q90:.3f}, P(optimal) "
              f"{statement.regret.p_optimal:.2f} | bound tightened {bound.total:.2f} vs paper "
              f"{paper} | informs: {bound.informative} | {t_statement:.2f} s")
        print("    " + statement.text().replace("\n", "\n    "))
    table = data.table
    closed = table[table["window_closed"] & ~table["is_frontier"] & (table["coupons_issued"] > 0)]
    coupons = closed["coupons_issued"].to_numpy(dtype=np.int64)
    curves = fit.count.survival(closed, max_coupons=int(coupons.max()), samples=100, seed=1)
    labels = {c: closed[c] for c in ("group", *DEFAULT_CAPACITY_COVARIATES) if c in closed}
    check = capacity_check(closed["n_recruits"].to_numpy(dtype=np.int64), coupons, labels,
                           survival=np.asarray(getattr(curves, "values", curves)), seed=1)
    print("  " + check.text().replace("\n", "\n  "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="also fit the demo study (minutes)")
    args = parser.parse_args()
    synthetic()
    if args.demo:
        demo()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
