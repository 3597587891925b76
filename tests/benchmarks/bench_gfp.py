"""Benchmark: one GFP decision against one population-DP decision (issue 11).

Run ``python tests/benchmarks/bench_gfp.py``. On seeded inputs it prints,
measured in one run (wall-clock minima over a few repeats; other processes
share the cores):

* one GFP decision for a frontier of 200 with 300 coupons left: every spend
  ``s = 0..300`` allocated by the batched lazy greedy and scored by the
  surrogate (goal: under 0.25 s on 2 cores), plug-in model, with the
  offspring law's exact Laplace summaries computed inside the decision;
* the same with the robust spend (CVaR 0.1 over 32 posterior samples);
* one ``dp`` decision on the same inputs (its default settings: the pooled
  table at b = 300 built inside the decision, 32 scored samples), and the
  online part alone with the table prebuilt;
* the ratio of GFP's decision time to the DP's;
* the training of GFP's surrogate as ``rdsplan evaluate`` runs it for one
  gamma at budget 200 (the homogeneous world, models fitted to its pilot
  study, ``planning.app.evaluation.pilot.train``), with the evaluation's
  default coupons per person and with up to the whole budget per person:
  seconds, value iterations, why it stopped, final loss and Bellman
  residual, states. ``--no-training`` skips it; ``--scenario`` and
  ``--gamma`` choose another.

Wall and CPU time of this process are both printed, with the load average:
on shared cores the wall time can be well above the CPU time.

Inputs: 100 posterior samples of negative-binomial survival curves (person
and sample variation), at most 10 coupons a person; the covariate model's
inheritance law with two categorical fields and one binned numeric field;
a 32-type surrogate whose budget weights are fitted to the population DP
table of the pooled law and whose covariate weights ``H`` are drawn in
``[0, 0.3]`` (a fitted surrogate's magnitude).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from planning import PlanningInputs, surrogate_table
from planning.gfp import GFPPlanner, GFPSurrogate
from planning.gfp_fit import surrogate_from_population_dp
from planning.online import online_decision
from planning.planners import DPPlanner
from rdsmodel.covariates.fields import FieldSpec
from rdsmodel.covariates.offspring import InheritanceOffspring


def timed(fn: Callable[[], object], repeats: int = 5) -> tuple[float, float, object]:
    """Best wall time and best CPU time (this process) over ``repeats`` runs, and the last result."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu, result


def training(scenario: str, gamma: float, budget: int = 200) -> None:
    """Time one gamma's GFP training as the evaluation runs it (pilot fit not counted).

    Twice: with the evaluation's default coupons per person (what the pilot
    gave anyone, without a round cap) and with up to the whole budget per
    person (``--max-per-person 200``, the deep tables).
    """
    from planning.app.evaluation.pilot import prepare, train
    from planning.app.evaluation.settings import EvaluationSettings

    settings = EvaluationSettings(
        scenario=scenario, budget=budget, gammas=(gamma,), frontiers=(10,)
    )
    started = time.perf_counter()
    setup = prepare(settings)
    fitted = time.perf_counter() - started
    capacity, offspring = setup.training
    parts = {
        "initial": setup.initial_frame,
        "budget": setup.episode.budget,
        "capacity": capacity,
        "offspring": offspring,
        "max_per_round": setup.episode.max_per_round,
        "pooled": np.atleast_2d(setup.model.pooled_pmf).mean(axis=0),
        "settings": settings,
        "identity": f"bench-{scenario}",
    }
    print(
        f"\nGFP training, {scenario} world, budget {budget}, gamma {gamma}, models fitted to the "
        f"pilot (pilot fit {fitted:.1f} s, not counted); "
        f"os.getloadavg() = {', '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    print(f"{'':52s} {'wall s':>8s} {'cpu s':>8s}")
    for length in dict.fromkeys((setup.episode.person_cap, budget)):
        start, start_cpu = time.perf_counter(), time.process_time()
        surrogate, _ = train("gfp", gamma, 0, {**parts, "length": length})
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        info = surrogate.info
        label = f"GFP training, one gamma, at most {length} coupons a person"
        print(
            f"{label:52s} {wall:8.1f} {cpu:8.1f}  "
            f"{info['iterations']} iterations (at most {settings.gfp_iterations}, "
            f"stopped: {info['stopped']}), final loss {info['loss'][-1]:.4f}, "
            f"Bellman residual {info['bellman'][-1]:.4f}, {info['states'][-1]} states"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-training", action="store_true", help="skip the training line")
    parser.add_argument("--scenario", default="homogeneous", help="world of the training line")
    parser.add_argument("--gamma", type=float, default=0.9, help="gamma of the training line")
    args = parser.parse_args()
    decisions()
    if not args.no_training:
        training(args.scenario, args.gamma)


def decisions() -> None:
    rng = np.random.default_rng(2026)
    people, samples, length, budget, gamma = 200, 100, 10, 300, 0.9
    netsize = rng.lognormal(2.5, 0.8, 500)
    fields = [
        FieldSpec.categorical("sex", ["F", "M"]),
        FieldSpec.categorical("race", ["a", "b", "c", "d", "e"]),
        FieldSpec.numeric("netsize", netsize),
    ]
    offspring = InheritanceOffspring.from_values(
        fields,
        rho={"sex": 0.3, "race": 0.6},
        pi={"sex": [0.6, 0.4], "race": [0.4, 0.3, 0.15, 0.1, 0.05]},
        numeric={"netsize": (0.0, 0.5, 0.8)},
    )
    frontier = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], people),
            "race": rng.choice(["a", "b", "c", "d", "e"], people),
            "netsize": rng.lognormal(2.5, 0.8, people),
        }
    )
    mu = rng.lognormal(0.3, 0.6, people)[None] * rng.lognormal(0.0, 0.3, (samples, people))
    curves = stats.nbinom.sf(np.arange(length)[None, None, :], 2.0, (2.0 / (2.0 + mu))[..., None])
    pooled = stats.nbinom.pmf(np.arange(80), 1.5, 1.5 / (1.5 + 1.8))
    inputs = PlanningInputs.from_arrays(
        curves, caps=length, pooled_pmf=pooled, offspring=offspring, frontier=frontier
    )

    base = surrogate_from_population_dp(
        pooled,
        budget,
        gamma,
        n_types=32,
        fields=tuple(offspring.field_names),
        levels=tuple(offspring.n_levels),
    )
    surrogate = GFPSurrogate(
        H=rng.uniform(0.0, 0.3, base.H.shape),
        h0=base.h0,
        weight_coef=base.weight_coef,
        scale=base.scale,
        fields=base.fields,
        levels=base.levels,
        gamma=gamma,
    )

    gfp = GFPPlanner(surrogate, gamma=gamma)
    robust = GFPPlanner(surrogate, gamma=gamma, samples=32, risk="cvar:0.1")
    dp = DPPlanner(gamma=gamma)
    gfp_time, gfp_cpu, gfp_decision = timed(
        lambda: gfp.decide(inputs, budget, np.random.default_rng(1))
    )
    robust_time, robust_cpu, robust_decision = timed(
        lambda: robust.decide(inputs, budget, np.random.default_rng(1))
    )
    dp_time, dp_cpu, dp_decision = timed(
        lambda: dp.decide(inputs, budget, np.random.default_rng(1)), repeats=3
    )
    table = surrogate_table(pooled, budget, gamma)
    online_time, online_cpu, _ = timed(
        lambda: online_decision(
            inputs.survival[:32],
            budget,
            table,
            gamma,
            caps=inputs.caps,
            order_curves=inputs.mean_survival,
        )
    )

    print(
        f"frontier {people}, {budget} coupons left, {samples} posterior samples, L = {length}, J = 32; "
        f"os.getloadavg() = {', '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    print(f"{'':52s} {'wall ms':>8s} {'cpu ms':>8s}")
    rows = [
        (
            f"GFP decision (plug-in, {budget + 1} spends; goal < 250 ms)",
            gfp_time,
            gfp_cpu,
            f"spend {gfp_decision.spend}, Q = {gfp_decision.value:.2f}",
        ),
        (
            "GFP decision (robust spend: CVaR 0.1 of 32 samples)",
            robust_time,
            robust_cpu,
            f"spend {robust_decision.spend}",
        ),
        (
            "DP decision (dp planner defaults, table built)",
            dp_time,
            dp_cpu,
            f"spend {dp_decision.spend}",
        ),
        ("DP online decision alone (table prebuilt)", online_time, online_cpu, ""),
    ]
    for label, wall, cpu, note in rows:
        print(f"{label:52s} {wall * 1e3:8.1f} {cpu * 1e3:8.1f}  {note}")
    print(f"{'ratio GFP / DP decision time':52s} {gfp_time / dp_time:8.3f} {gfp_cpu / dp_cpu:8.3f}")
    print(
        f"{'ratio GFP / DP online decision alone':52s} {gfp_time / online_time:8.3f} {gfp_cpu / online_cpu:8.3f}"
    )


if __name__ == "__main__":
    main()
