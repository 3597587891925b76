"""Benchmark: what priority weights cost the planners (issue 13).

Run ``python tests/benchmarks/bench_priorities.py``. It prints, measured in
one run on seeded inputs:

* every planner's decision with and without recruit weights on the same
  inputs (negative-binomial curves of 200 people at up to 10 coupons each,
  100 posterior samples, the weights ``w_di = 1 + 2 P_d(G | x_i)`` of a
  priority ``G:3`` whose probabilities vary over the posterior), and the
  ratio weighted / unweighted (the robust planner also with a coverage
  constraint "at least 12 expected recruits from G" under CVaR 10%); each decision starts from fresh inputs, so the weighted one
  pays for the posterior-mean value curves ``E_d[S_d w_d]`` once;
* the weighted greedy for 10,000 people and 1,000 coupons (goal: under
  50 ms), from per-person weights and as the planner on posterior samples
  (its one-off mean of the value curves reported apart);
* the exact expected weights ``E[w(X') | x_i]`` of 10,000 people under 200
  posterior samples of a covariate law with the 17 ICPSR fields (per-field
  factors and a pattern table).

Timings are wall-clock minima over a few repeats (other processes share the
cores).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from planning import PlanningInputs, greedy_allocation, make_planner
from planning.greedy import greedy_order
from planning.priorities import Priority
from rdsmodel.covariates.fields import FieldSpec
from rdsmodel.covariates.offspring import InheritanceOffspring
from rdsmodel.covariates.params import InheritanceParams


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


PLANNERS = [
    ("greedy", {}, 60, 3),
    ("robust", {"risk": "cvar:0.1"}, 60, 1),
    ("robust", {"risk": "cvar:0.1", "coverage": "G=yes:12"}, 60, 1),
    ("dp", {"gamma": 0.9, "samples": 32}, 60, 1),
    ("gfp", {"gamma": 0.9}, 60, 3),
    ("thompson", {"gamma": 0.9}, 60, 3),
    ("greedy_fixed", {"fraction": 0.3}, 60, 3),
    ("fitted_q", {}, 60, 3),
    ("oracle", {}, 60, 3),
]


def planners_with_and_without_weights(rng: np.random.Generator) -> None:
    samples, people, length = 100, 200, 10
    curves = nb_survival(rng, samples, people, length)
    pooled = stats.nbinom.pmf(
        np.arange(80)[None], 1.5, 1.5 / (1.5 + rng.uniform(1.4, 2.2, (samples, 1)))
    )
    # a priority "G=yes:3": w_di = 1 + 2 P_d(X' in G | x_i), most recruiters rarely bring G
    share = rng.beta(0.6, 3.0, people)[None] * rng.lognormal(0.0, 0.15, (samples, people))
    weights = 1.0 + 2.0 * np.clip(share, 0.0, 1.0)
    plain = PlanningInputs.from_arrays(
        curves,
        pooled_pmf=pooled,
        subgroups={"G=yes": np.clip(share, 0, 1)},
        provenance={"capacities": tuple(int(c) for c in rng.poisson(1.5, people))},
    )
    weighted = replace(plain, weights=weights, pooled_weight=weights.mean(axis=1))
    print(
        f"Planner decisions: {people} people, up to {length} coupons each, {samples} posterior samples"
    )
    print(f"  {'planner':<18} {'budget':>6} {'unweighted':>11} {'weighted':>10} {'ratio':>7}")
    for name, settings, budget, repeats in PLANNERS:
        planner = make_planner(name, **settings)
        planner.decide(
            plain, budget, np.random.default_rng(0)
        )  # warm caches (DP tables, surrogates)
        t0, _ = timed(
            lambda p=planner, b=budget: p.decide(replace(plain), b, np.random.default_rng(0)),
            repeats,
        )
        t1, _ = timed(
            lambda p=planner, b=budget: p.decide(replace(weighted), b, np.random.default_rng(0)),
            repeats,
        )
        label = name + (" +coverage" if settings.get("coverage") else "")
        print(f"  {label:<18} {budget:>6} {t0:10.4f}s {t1:9.4f}s {t1 / t0:6.2f}x")


def greedy_at_scale(rng: np.random.Generator) -> None:
    people, coupons, length = 10_000, 1_000, 10
    curves = nb_survival(rng, 1, people, length)[0]
    w = rng.gamma(1.0, 1.5, people)
    print(f"Weighted greedy: {people:,} people x {coupons:,} coupons (goal: under 50 ms)")
    t_plain, _ = timed(lambda: greedy_allocation(curves, coupons), 5)
    t_w, _ = timed(lambda: greedy_allocation(curves, coupons, weights=w), 5)
    print(f"  greedy_allocation, unweighted     : {1e3 * t_plain:7.1f} ms")
    print(f"  greedy_allocation, weights w_i    : {1e3 * t_w:7.1f} ms  ({t_w / t_plain:.2f}x)")
    caps = np.full(people, length)
    values = curves * w[:, None]
    t_core, _ = timed(lambda: greedy_order(values, coupons, caps), 5)
    print(f"  greedy core on value curves       : {1e3 * t_core:7.1f} ms")
    samples = 200
    posterior = nb_survival(rng, samples, people, length)
    weights = rng.gamma(1.0, 1.5, (samples, people))
    inputs = PlanningInputs.from_arrays(posterior, weights=weights)
    planner = make_planner("greedy")
    t_mean, _ = timed(lambda: replace(inputs).mean_values, 3)
    ready = replace(inputs)
    _ = ready.mean_values
    t_plan, _ = timed(lambda: greedy_order(ready.mean_values, coupons, ready.caps), 5)
    t_full, _ = timed(lambda: planner.decide(replace(inputs), coupons, np.random.default_rng(0)), 3)
    print(
        f"  planner, {samples} samples: E_d[S_d w_d] once {1e3 * t_mean:7.1f} ms, greedy on it "
        f"{1e3 * t_plan:5.1f} ms, whole decision (with per-sample values) {1e3 * t_full:7.1f} ms"
    )


def icpsr_law(samples: int, rng: np.random.Generator) -> InheritanceOffspring:
    levels = [3, 5, 4, 3, 6, 3, 3, 3, 4, 3, 4, 2, 3, 4, 3, 4, 4]
    fields = [
        FieldSpec.categorical(f"F{k}", [f"L{j}" for j in range(1, n + 1)])
        for k, n in enumerate(levels)
    ]
    width = max(levels)
    rho = rng.uniform(0.2, 0.9, (samples, len(fields), width))
    pi = np.zeros((samples, 1, len(fields), width))
    for k, n in enumerate(levels):
        pi[:, 0, k, :n] = rng.dirichlet(np.ones(n), samples)
    params = InheritanceParams(
        rho=rho,
        pi=pi,
        class_weight=np.ones((samples, 1)),
        class_rho=np.zeros(samples),
        intercept=np.zeros((samples, 0)),
        slope=np.zeros((samples, 0)),
        sigma=np.zeros((samples, 0)),
    )
    return InheritanceOffspring(fields, params)


def expected_weights_at_scale(rng: np.random.Generator) -> None:
    samples, people = 200, 10_000
    law = icpsr_law(samples, rng)
    frontier = pd.DataFrame({f.name: rng.choice(list(f.levels), people) for f in law.fields})
    factors = Priority.parse("F0=L1:3,F1=L2:2,F1=L3:0.5")
    table = Priority.from_table("F0,F1,F3,weight\nL1,L2,,5\nL1,,L1|L2,3\n,L2|L4,,2\n")
    print(f"Exact E[w(X') | x]: {people:,} people x {samples} posterior samples, 17 fields")
    t_f, _ = timed(lambda: factors.expected_weights(law, frontier, samples), 2)
    t_t, _ = timed(lambda: table.expected_weights(law, frontier, samples), 2)
    cells = int(np.count_nonzero(table.cell_weights(table.validate(law))[1] != 1.0))
    print(f"  per-field factors (1 Laplace summary)        : {t_f:6.2f} s")
    print(f"  pattern table ({cells} cells off the default)     : {t_t:6.2f} s")


def main() -> None:
    rng = np.random.default_rng(2026)
    planners_with_and_without_weights(rng)
    greedy_at_scale(rng)
    expected_weights_at_scale(rng)


if __name__ == "__main__":
    main()
