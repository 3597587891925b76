"""``rdsplan fit`` and ``rdsplan diagnose``: fit both models, check a saved posterior."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from planning.app.cli.common import (
    OUTPUT_NOTE,
    add_data_options,
    interrupts_are_final,
    load_study,
    report_reading,
    say,
)
from planning.app.workflows import (
    FitSettings,
    covariates_path,
    fit_study,
    load_fit,
    refuse_overwrite,
)

FAMILIES = ("nb", "poisson", "zinb", "hurdle")


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
    fit.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help=f"posterior NetCDF file to write (checked before fitting); {OUTPUT_NOTE}",
    )
    fit.add_argument(
        "--family", choices=FAMILIES, default="nb", help="capacity family (default: nb)"
    )
    fit.add_argument(
        "--capacity-covariates",
        type=lambda text: [c.strip() for c in text.split(",") if c.strip()],
        default=None,
        metavar="A,B",
        help="covariates of the capacity model only (default: every covariate); the covariate "
        "model still uses all of them",
    )
    fit.add_argument(
        "--wave-effect", action="store_true", help="add a linear wave effect to the mean"
    )
    fit.add_argument(
        "--open-windows",
        choices=("auto", "delay", "exclude", "lower-bound"),
        default="auto",
        help="respondents whose coupon window is still open: auto (default: delay with interview times, "
        "else exclude), delay (model the redemption delay), exclude, or lower-bound (biased upwards)",
    )
    fit.add_argument("--chains", type=int, default=4, help="MCMC chains (default: 4)")
    fit.add_argument("--draws", type=int, default=1000, help="draws per chain (default: 1000)")
    fit.add_argument(
        "--tune", type=int, default=1000, help="tuning steps per chain (default: 1000)"
    )
    fit.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    fit.add_argument(
        "--target-accept",
        type=float,
        default=None,
        help="NUTS target acceptance; raise (e.g. 0.95) when divergences are reported",
    )
    fit.add_argument(
        "--sampler",
        choices=("auto", "nutpie", "pymc"),
        default="auto",
        help="NUTS implementation: nutpie when installed (auto), or PyMC's",
    )
    fit.add_argument("--no-covariate-model", action="store_true", help="fit the count model only")
    fit.add_argument(
        "--transitions",
        choices=("mixture", "matrix", "auto"),
        default="mixture",
        help="recruit law of categorical covariates: the inheritance mixture (default), a full "
        "transition matrix per field (conjugate Dirichlet rows), or auto (the matrix for fields "
        "with at most 5 levels and at least 10 observed recruits per level)",
    )
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
    diagnose.add_argument(
        "posterior", type=Path, metavar="POSTERIOR.nc", help="count-model posterior file"
    )
    diagnose.add_argument("--json", action="store_true", help="print machine-readable JSON")
    diagnose.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help=f"folder for diagnostic figures; {OUTPUT_NOTE}",
    )
    diagnose.set_defaults(func=run_diagnose)


def fit_settings(args: argparse.Namespace, **overrides) -> FitSettings:
    """The typed settings of ``rdsplan fit`` from its parsed options."""
    values = dict(
        family=args.family,
        capacity_covariates=args.capacity_covariates,
        wave_effect=args.wave_effect,
        open_windows=args.open_windows,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
        sampler=args.sampler,
        target_accept=args.target_accept,
        covariate_model=not args.no_covariate_model,
        progress_bars=not args.no_progress,
        covariate_transitions=getattr(args, "transitions", "mixture"),
    )
    values.update(overrides)
    return FitSettings(**values)


def run_fit(args: argparse.Namespace) -> int:
    """Fit, save and print a short diagnostics summary; exit 1 when the verdict is ``fail``."""
    from rdsmodel.persistence import check_writable

    refuse_overwrite([args.output, covariates_path(args.output)], [args.study])
    settings = fit_settings(args)
    check_writable(args.output)
    data = load_study(args)
    report_reading(data)
    with interrupts_are_final():
        fit = fit_study(data, settings, progress=say)
    for path in fit.save(args.output):
        say(f"wrote {path}")
    report = fit.diagnostics()
    print(report.text())
    if report.verdict == "fail":
        say("rdsplan: the fit failed its diagnostics; the posterior was written for inspection")
        return 1
    return 0


def diagnostics_json(report) -> dict:
    """The report as JSON, with the per-field homophily entries under the top-level key
    ``homophily`` and the rest of the covariate model's checks under ``covariates``."""
    payload = report.to_dict()
    if "homophily" in payload:
        section = payload.pop("homophily")
        payload["homophily"] = section.pop("fields")
        payload["covariates"] = section
    return payload


def run_diagnose(args: argparse.Namespace) -> int:
    """Print the diagnostics (text or JSON); exit 1 when the verdict is ``fail``."""
    from rdsmodel.persistence import output_folder

    if args.output is not None:
        refuse_overwrite([args.output], [args.posterior, covariates_path(args.posterior)])
    fit = load_fit(args.posterior)
    if args.output is not None:
        output_folder(args.output)
    report = fit.diagnostics()
    if args.output is not None:
        report.save_figures(args.output)
        say(f"wrote figures to {args.output}")
    if args.json:
        print(json.dumps(diagnostics_json(report), indent=2, default=float))
    else:
        print(report.text())
    return 1 if report.verdict == "fail" else 0
