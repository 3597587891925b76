"""Benchmark: the evaluation harness (issue 11).

Run ``python tests/benchmarks/bench_evaluation.py`` (a few minutes on 2 cores).
It prints, measured in one run:

* fast episodes: episodes per second of constant-3 and of the greedy planning
  with the true laws in the tunnel world (budget 100, 10 a round);
* the four-gamma, all-policy evaluation of one scenario (default ``tunnel``)
  at 50 episodes and one first-frontier size, including the pilot study's
  PyMC fits and the training of GFP and the fitted-Q baseline, on the process
  executor (2 workers) and on a 2-worker Dask ``LocalCluster``: wall time per
  stage, the ratio Dask / processes (goal: at most 1) and whether the two
  gave identical results (they must);
* the goal: the whole evaluation under 10 minutes on 2 cores.

Options: ``--scenario``, ``--episodes``, ``--workers``, ``--oracle-models``,
``--serial`` (also time the serial executor), ``--repeat N`` (run the
executors in turn ``N`` times and keep each one's fastest: on shared cores
single timings are noisy).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import xarray as xr

from planning import make_planner
from planning.app.evaluation import ALL_POLICIES, EvaluationSettings, evaluate_policies
from planning.simulation import (
    CouponRule,
    EpisodeSettings,
    PlannerPolicy,
    TrueLaws,
    as_arrays,
    make_world,
)
from planning.simulation.rounds import episode_seeds, run_episodes

GOAL_SECONDS = 600.0


def episode_rate(episodes: int = 400) -> None:
    """Episodes per second with the true laws in the tunnel world."""
    arrays = as_arrays(make_world("tunnel"))
    settings = EpisodeSettings.for_world(arrays)
    people, _ = arrays.start(300, np.random.default_rng(0), np.uint64(0))
    model = TrueLaws.of(arrays, people, settings.budget)
    for name, policy in [
        ("constant:3", CouponRule.constant(3)),
        ("greedy (true laws)", PlannerPolicy(make_planner("greedy"), model)),
        (
            "dp (true laws, gamma 0.9)",
            PlannerPolicy(make_planner("dp", gamma=0.9, tables="pooled"), model),
        ),
    ]:
        count = episodes if not name.startswith("dp") else episodes // 4
        start = time.perf_counter()
        table = run_episodes(arrays, policy, settings, episode_seeds(1, count))
        seconds = time.perf_counter() - start
        print(
            f"  {name:<28} {count / seconds:8.0f} episodes/s  ({count} episodes, "
            f"mean {table.spend.astype(bool).sum(axis=1).mean():.1f} rounds)"
        )


def strip(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    out.attrs.pop("timings", None)
    return out


def run(settings: EvaluationSettings, executor: str, workers: int):
    start = time.perf_counter()
    result = evaluate_policies(settings, executor=executor, workers=workers)
    wall = time.perf_counter() - start
    t = result.timings
    stages = ", ".join(f"{k} {v:.0f}s" for k, v in t.items() if k != "total")
    print(f"  {executor:<10} {wall:7.1f} s   ({stages})")
    return wall, result


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="tunnel")
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--oracle-models", action="store_true")
    parser.add_argument("--serial", action="store_true", help="also time the serial executor")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per executor, in turn (fastest kept)"
    )
    args = parser.parse_args()

    print("fast episodes (tunnel, true laws, budget 100, 10 a round):")
    episode_rate()

    settings = EvaluationSettings(
        args.scenario, episodes=args.episodes, oracle_models=args.oracle_models
    )
    n_policies = len(ALL_POLICIES)
    print(
        f"\nevaluation: {args.scenario}, {n_policies} policies, gammas {list(settings.gammas)}, "
        f"{args.episodes} episodes, one frontier size, "
        f"{'true laws' if args.oracle_models else 'pilot fit + training'}, {args.workers} workers:"
    )
    walls: dict[str, float] = {}
    results = {}
    for _ in range(args.repeat):
        for executor in (["serial"] if args.serial else []) + ["processes", "dask"]:
            wall, results[executor] = run(settings, executor, args.workers)
            walls[executor] = min(wall, walls.get(executor, float("inf")))
    same = all(
        strip(r.dataset).identical(strip(results["processes"].dataset)) for r in results.values()
    )
    print(f"\n  dask / processes: {walls['dask'] / walls['processes']:.2f}  (goal <= 1)")
    if "serial" in walls:
        print(f"  processes / serial: {walls['processes'] / walls['serial']:.2f}")
    print(f"  identical results on every executor: {same}")
    best = min(walls.values())
    print(
        f"  fastest: {best:.0f} s of the {GOAL_SECONDS:.0f} s goal ({'met' if best < GOAL_SECONDS else 'NOT met'})"
    )
    print("\nbudget binding (processes run):")
    for b in results["processes"].binding:
        oracle = "-" if b["oracle_spent"] is None else f"{100 * b['oracle_spent']:.0f}%"
        print(
            f"  gamma {b['gamma']:.1f}: oracle spends {oracle}, best {b['best_policy']} "
            f"spends {100 * b['best_spent']:.0f}%: {'binds' if b['binds'] else 'does not bind'}"
        )


if __name__ == "__main__":
    main()
