"""Benchmark of the recruit-covariate (homophily) model.

Run from the repository root::

    .venv/bin/python tests/benchmarks/bench_covariates.py          # full size
    .venv/bin/python tests/benchmarks/bench_covariates.py --quick  # 5,000 pairs, 300 draws

(a) Fit: the 17 ICPSR 22140 fields of the ``calibrated`` scenario on 20,000
    recruiter-recruit pairs, 2 chains x 1,000 draws (1,000 tuning steps) on 2
    cores. Wall time of the whole ``CovariateModel(...).fit(...)``: reading the
    pairs into transition counts, building and compiling the model, sampling
    (nutpie on the C backend), the pointwise log-likelihood (one value per pair
    and draw) and the posterior predictive tables; split into its parts.
    Target: under 60 s.
(b) Laplace summaries: ``InheritanceOffspring.laplace`` for 1,000 parents x 32
    features x 200 posterior samples (``sample=array of 200 draws``), best of
    three calls. Target: under 1 s.

Timings are wall-clock and noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 pairs and 300 draws")
    args = parser.parse_args()
    pairs, draws = (5_000, 300) if args.quick else (20_000, 1_000)

    from planning.simulation import load_calibration, simulate_study
    from rdsmodel.covariates import CovariateModel, homophily_summary
    from rdsmodel.covariates import sampling as sampling_module
    from rdsmodel.data import RecruitmentData

    fields = [f.name for f in load_calibration().fields]
    n_seeds = 12
    table = simulate_study("calibrated", seed=2026, respondents=pairs + n_seeds, n_seeds=n_seeds)
    data = RecruitmentData.from_frame(table, group_col="group", categorical=fields)
    n_pairs = len(data.pairs()[0])

    # Time the parts by wrapping the two stages of fit().
    parts: dict[str, float] = {}
    run, finish = sampling_module.run_sampler, sampling_module.finish_idata

    def timed(name, fn):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            out = fn(*a, **k)
            parts[name] = time.perf_counter() - t0
            return out

        return wrapper

    sampling_module.run_sampler = timed("compile + sample", run)
    sampling_module.finish_idata = timed("log-likelihood + PPC + cleanup", finish)
    t0 = time.perf_counter()
    model = CovariateModel(data, fields=fields)
    t_counts = time.perf_counter() - t0
    idata = model.fit(draws=draws, tune=draws, chains=2, seed=1)
    t_fit = time.perf_counter() - t0
    sampling_module.run_sampler, sampling_module.finish_idata = run, finish

    summary = homophily_summary(idata)
    print(
        f"(a) fit: {len(fields)} fields, {n_pairs:,} pairs, 2 chains x {draws} draws (+{draws} tune)"
    )
    print(f"    total {t_fit:6.1f} s   (target 60 s, ratio {t_fit / 60:.2f})")
    print(f"      counts and model setup       {t_counts:6.2f} s")
    for name, value in parts.items():
        print(f"      {name:<30} {value:6.2f} s")
    print(
        f"    max R-hat(rho) {summary['r_hat'].max():.3f}, min bulk ESS(rho) {summary['ess_bulk'].min():.0f}, "
        f"divergences {int(idata.sample_stats['diverging'].sum())}"
    )

    off = model.offspring()
    rng = np.random.default_rng(0)
    parents = data.table[fields].sample(1000, random_state=1, replace=True).reset_index(drop=True)
    H = rng.exponential(0.5, (32, len(fields), off.max_levels))
    draw_idx = rng.choice(off.n_samples, 200, replace=off.n_samples < 200)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = off.laplace(H, parents, sample=draw_idx)
        times.append(time.perf_counter() - t0)
    best = min(times)
    print(f"(b) laplace: {out.shape[1]} parents x {out.shape[2]} features x {out.shape[0]} samples")
    print(
        f"    best of 3 {best:6.3f} s   (target 1 s, ratio {best:.2f}); calls {', '.join(f'{t:.3f}' for t in times)}"
    )


if __name__ == "__main__":
    main()
