"""``rdsplan fit`` and ``rdsplan diagnose``: fit both models, check a saved posterior."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from planning.app.cli.common import CommandError, add_data_options, load_study, say

FAMILIES = ("nb", "poisson", "zinb", "hurdle")


def covariates_path(posterior: Path) -> Path:
    """Where the covariate model is stored beside a count-model posterior file."""
    return posterior.with_name(posterior.stem + ".covariates" + posterior.suffix)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``fit`` and ``diagnose`` commands."""
    fit = sub.add_parser(
        "fit",
        help="fit the referral-capacity and recruit-covariate models",
        description=(
            "Fit the Bayesian censored-count model of referral capacity and, when the table has "
            "categorical covariates, the recruit-covariate (homophily) model. Writes POSTERIOR.nc "
            "(count model) and POSTERIOR.covariates.nc beside it; each reloads alone. Frontier "
            "rows (no coupons issued yet) carry no information and are not fitted."
        ),
    )
    add_data_options(fit)
    fit.add_argument("-o", "--output", type=Path, required=True, help="posterior NetCDF file to write")
    fit.add_argument("--family", choices=FAMILIES, default="nb", help="capacity family (default: nb)")
    fit.add_argument(
        "--capacity-covariates", type=lambda text: [c.strip() for c in text.split(",") if c.strip()],
        default=None, metavar="A,B",
        help="covariates of the capacity model only (default: every covariate); the covariate "
             "model still uses all of them",
    )
    fit.add_argument("--wave-effect", action="store_true", help="add a linear wave effect to the mean")
    fit.add_argument(
        "--open-windows", choices=("exclude", "lower-bound"), default="exclude",
        help="respondents whose coupon window is still open: leave out (default, unbiased) or use "
             "their redeemed count as a lower bound (biased upwards while recruits still arrive)",
    )
    fit.add_argument("--chains", type=int, default=4, help="MCMC chains (default: 4)")
    fit.add_argument("--draws", type=int, default=1000, help="draws per chain (default: 1000)")
    fit.add_argument("--tune", type=int, default=1000, help="tuning steps per chain (default: 1000)")
    fit.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    fit.add_argument("--target-accept", type=float, default=None,
                     help="NUTS target acceptance; raise (e.g. 0.95) when divergences are reported")
    fit.add_argument(
        "--sampler", choices=("auto", "nutpie", "pymc"), default="auto",
        help="NUTS implementation: nutpie when installed (auto), or PyMC's",
    )
    fit.add_argument("--no-covariate-model", action="store_true", help="fit the count model only")
    fit.add_argument("--no-progress", action="store_true", help="hide progress bars")
    fit.set_defaults(func=run_fit)

    diagnose = sub.add_parser(
        "diagnose",
        help="diagnostics of a saved posterior (R-hat, ESS, divergences, LOO, PPC, homophily)",
        description=(
            "Print the diagnostics table and verdict of a saved posterior. Exit status 0 for ok or "
            "warn, 1 for fail. The covariate model saved beside it is diagnosed too."
        ),
    )
    diagnose.add_argument("posterior", type=Path, metavar="POSTERIOR.nc", help="count-model posterior file")
    diagnose.add_argument("--json", action="store_true", help="print machine-readable JSON")
    diagnose.add_argument("-o", "--output", type=Path, default=None, help="folder for diagnostic figures")
    diagnose.set_defaults(func=run_diagnose)


def fit_models(data, args: argparse.Namespace, output: Path) -> tuple[object, object | None]:
    """Fit and save the count model and, when possible, the covariate model.

    Returns
    -------
    (count_model, covariate_model or None)
    """
    from rdsmodel.count import CountModel

    progress = not getattr(args, "no_progress", False)
    count = CountModel(data, family=args.family, covariates=getattr(args, "capacity_covariates", None),
                       wave_effect=getattr(args, "wave_effect", False),
                       open_windows=getattr(args, "open_windows", "exclude"))
    say(f"fitting the {args.family} capacity model on {count.n_observations} respondents "
        f"({count.n_cells} distinct cells) ...")
    count.fit(draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed,
              sampler=args.sampler, progressbar=progress,
              target_accept=getattr(args, "target_accept", None))
    count.save(output)
    say(f"wrote {output}")

    covariate = None
    if not getattr(args, "no_covariate_model", False) and data.schema.categorical:
        from rdsmodel.covariates import CovariateModel

        covariate = CovariateModel(data)
        say(f"fitting the recruit-covariate model on {covariate.pairs.n_pairs} recruitment pairs ...")
        # No per-pair log-likelihood: it would weigh pairs x draws in the file and the
        # homophily report does not use LOO.
        covariate.fit(draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed,
                      progressbar=progress, log_likelihood=False)
        covariate.save(covariates_path(output))
        say(f"wrote {covariates_path(output)}")
    return count, covariate


def run_fit(args: argparse.Namespace) -> int:
    """Fit, save and print a short diagnostics summary."""
    if args.chains < 1 or args.draws < 1 or args.tune < 0:
        raise CommandError("--chains and --draws must be positive and --tune non-negative")
    data = load_study(args)
    count, covariate = fit_models(data, args, args.output)
    report = diagnose_models(count, covariate)
    print(report.text())
    return 0


def diagnose_models(count, covariate=None):
    """Diagnostics of the count model, with the homophily section when available."""
    from rdsmodel.diagnostics import diagnose

    report = diagnose(count.idata, model=count)
    if covariate is not None:
        from rdsmodel.covariates import homophily_diagnostics

        report.add_section(homophily_diagnostics(covariate.idata, covariate.data,
                                                 thresholds=report.thresholds))
    return report


def diagnostics_json(report) -> dict:
    """The report as JSON, with the per-field homophily entries under the top-level key
    ``homophily`` and the rest of the covariate model's checks under ``covariates``."""
    payload = report.to_dict()
    if "homophily" in payload:
        section = payload.pop("homophily")
        payload["homophily"] = section.pop("fields")
        payload["covariates"] = section
    return payload


def load_models(posterior: Path):
    """Load the count model and, if saved beside it, the covariate model."""
    from rdsmodel.count import CountModel

    count = CountModel.load(posterior)
    covariate = None
    if covariates_path(posterior).exists():
        from rdsmodel.covariates import CovariateModel

        covariate = CovariateModel.load(covariates_path(posterior))
    return count, covariate


def run_diagnose(args: argparse.Namespace) -> int:
    """Print the diagnostics (text or JSON); exit 1 when the verdict is ``fail``."""
    count, covariate = load_models(args.posterior)
    report = diagnose_models(count, covariate)
    if args.output is not None:
        report.save_figures(args.output)
        say(f"wrote figures to {args.output}")
    if args.json:
        print(json.dumps(diagnostics_json(report), indent=2, default=float))
    else:
        print(report.text())
    return 1 if report.verdict == "fail" else 0
