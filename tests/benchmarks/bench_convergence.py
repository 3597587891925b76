"""Benchmark: does the count model converge by default on ordinary studies?

Run from the repository root::

    .venv/bin/python tests/benchmarks/bench_convergence.py                 # 6 seeds, 5 sites
    .venv/bin/python tests/benchmarks/bench_convergence.py --seeds 10 --sites 3 --family zinb

Each study comes from the tests' independent generator (``tests/count/study_gen.py``,
numpy only): 1,500 respondents with coupons, negative-binomial capacity, two
binary covariates, unbalanced sites with effects of sd 0.3, coupons 2 to 5.
Each is fitted with the defaults (``CountModel(data).fit()``: 4 chains x 1,000
draws after 1,000 tuning steps, on the cores available), and the table shows
per seed the site sizes, divergent transitions, the smallest bulk and tail
ESS and the largest R-hat over every posterior parameter, whether the
automatic remedy refitted, the wall time of ``fit()`` (sampling, the remedy
if any, and the pointwise groups) and the verdict of the convergence and
sampler diagnostics. Goal: every verdict OK, each fit under 20 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "count"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6, help="number of studies (default 6)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--sites", type=int, default=5, help="number of sites (default 5)")
    parser.add_argument(
        "--n", type=int, default=1500, help="respondents with coupons (default 1500)"
    )
    parser.add_argument("--family", default="nb", choices=["nb", "poisson", "zinb", "hurdle"])
    args = parser.parse_args(argv)

    import numpy as np
    from study_gen import make_study

    from rdsmodel.count import CountModel
    from rdsmodel.diagnostics import diagnose

    # compile the kernel (cached on disk) before timing
    warm = CountModel(make_study(0, n=200, n_sites=3).data())
    warm.fit(draws=20, tune=20, chains=1, progressbar=False)

    width = max(26, 4 * args.sites)
    header = (
        f"{'seed':>4}  {'site sizes':<{width}} {'div':>4} {'bulk ESS':>8} {'tail ESS':>8} "
        f"{'max R-hat':>9} {'remedy':>6} {'wall s':>6}  verdict"
    )
    print(
        f"count model, family {args.family}, {args.sites} sites, {args.n} respondents, "
        f"defaults (4 chains x 1000 draws, tune 1000, target_accept 0.9), {os.cpu_count()} cores"
    )
    print(header)
    print("-" * len(header))
    verdicts, times = [], []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        study = make_study(seed, n=args.n, n_sites=args.sites, family=args.family)
        data = study.data()
        sizes = sorted(data.fit_rows["group"].value_counts().tolist(), reverse=True)
        model = CountModel(data, family=args.family)
        start = time.perf_counter()
        idata = model.fit(progressbar=False)
        wall = time.perf_counter() - start
        report = diagnose(idata, loo=False, ppc=False)
        checks = {c.name: c for s in report.sections.values() for c in s.checks}
        verdicts.append(report.verdict)
        times.append(wall)
        sizes_text = ",".join(map(str, sizes))
        print(
            f"{seed:>4}  {sizes_text:<{width}} {checks['divergences'].value:>4} "
            f"{checks['ess_bulk'].value:>8.0f} {checks['ess_tail'].value:>8.0f} "
            f"{checks['rhat'].value:>9.4f} {'yes' if model.remedy else 'no':>6} {wall:>6.1f}  "
            f"{report.verdict.upper()}",
            flush=True,
        )
        for note in model.fit_notes:
            print(f"      note: {note}")
    ok = sum(v == "ok" for v in verdicts)
    print(
        f"\n{ok} of {len(verdicts)} verdicts OK; wall time median {np.median(times):.1f} s, "
        f"max {max(times):.1f} s"
    )
    return 0 if ok == len(verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
