"""Workflows: fit a study, load a fit, diagnose it, plan a round, write outputs.

Every consumer (the command line, the demo, case studies, and later reports
and the live-round command) goes through these functions; they take typed
arguments, never argparse namespaces. Progress goes through a ``progress``
callable (the command line prints it to standard error).

Heavy libraries (PyMC, ArviZ, matplotlib) are imported inside the functions
that need them, so that planning from a saved posterior starts quickly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planning.errors import PlanningError

__all__ = [
    "FitInterrupted",
    "FitSettings",
    "FittedStudy",
    "PlanRequest",
    "UnconvergedError",
    "capacity_check_of",
    "covariates_path",
    "fit_study",
    "load_fit",
    "plan_round",
    "refuse_overwrite",
    "write_plan",
]

Progress = Callable[[str], None]

#: Attribute of the count model's posterior holding the diagnostics summary (JSON).
_SUMMARY_ATTR = "rdsplan_diagnostics_summary"
#: Attribute holding the capacity check computed at fit time (JSON; the data are gone at load).
_CAPACITY_ATTR = "rdsplan_capacity_check"


def _quiet(_: str) -> None:
    """Default progress sink: say nothing."""


class UnconvergedError(PlanningError):
    """The posterior's diagnostics failed and planning on it was not allowed."""


def covariates_path(posterior: str | os.PathLike) -> Path:
    """Where the covariate model is stored beside a count-model posterior file."""
    posterior = Path(posterior)
    return posterior.with_name(posterior.stem + ".covariates" + posterior.suffix)


def refuse_overwrite(
    outputs: Sequence[str | os.PathLike | None],
    inputs: Sequence[str | os.PathLike | None],
    flag: str = "-o",
) -> None:
    """Refuse, before any work, an output path that is one of the inputs.

    Raises
    ------
    planning.errors.PlanningError
        Naming the path and the flag.
    """

    def same(a: Path, b: Path) -> bool:
        try:
            return a.resolve() == b.resolve() or (
                a.exists() and b.exists() and os.path.samefile(a, b)
            )
        except OSError:
            return False

    for out in filter(None, outputs):
        for source in filter(None, inputs):
            if same(Path(out), Path(source)):
                raise PlanningError(
                    f"{flag} {out} is an input of this command; writing there would destroy it. "
                    "Choose another output path"
                )


class FitInterrupted(KeyboardInterrupt):
    """The sampler returned early (Ctrl-C): the posterior is incomplete and is not saved."""


@dataclass(frozen=True)
class FitSettings:
    """How to fit a study (the options of ``rdsplan fit``).

    Attributes
    ----------
    family : str
        Capacity family: ``nb``, ``poisson``, ``zinb`` or ``hurdle``.
    capacity_covariates : sequence of str, optional
        Covariates of the capacity model (default every covariate).
    wave_effect : bool
        Add a linear wave effect to the log mean.
    open_windows : str
        ``exclude`` or ``lower-bound`` (see :class:`rdsmodel.count.CountModel`).
    draws, tune, chains, seed : int
        Sampler settings.
    sampler : str
        ``auto``, ``nutpie`` or ``pymc``.
    target_accept : float, optional
        NUTS target acceptance.
    covariate_model : bool
        Also fit the recruit-covariate model when the study has categorical covariates.
    progress_bars : bool
        Show the samplers' progress bars.
    covariate_transitions : str
        Recruit law of categorical covariates, ``CovariateModel(transitions=)``:
        ``mixture`` (default), ``matrix`` or ``auto``.
    """

    family: str = "nb"
    capacity_covariates: Sequence[str] | None = None
    wave_effect: bool = False
    open_windows: str = "auto"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 1
    sampler: str = "auto"
    target_accept: float | None = None
    covariate_model: bool = True
    progress_bars: bool = True
    covariate_transitions: str = "mixture"

    def __post_init__(self) -> None:
        if self.chains < 1 or self.draws < 1 or self.tune < 0:
            raise PlanningError(
                "--chains and --draws must be at least 1 and --tune at least 0; got "
                f"--chains {self.chains}, --draws {self.draws}, --tune {self.tune}"
            )


@dataclass
class FittedStudy:
    """A fitted (or reloaded) count model and, when there is one, the covariate model."""

    count: Any
    covariate: Any = None
    _report: Any = field(default=None, repr=False)
    _capacity: dict[str, Any] | None = field(default=None, repr=False)

    def diagnostics(self):
        """Diagnostics of both models (computed once): :class:`rdsmodel.diagnostics.Diagnostics`.

        Sections: the count model's (convergence, sampler, LOO, PPC), the
        capacity check (``capacity_check``: fitted law against the observed
        redeemed coupons per group and covariate level; computed when the
        study is at hand, i.e. after :func:`fit_study`, and read back from the
        posterior file after :func:`load_fit`) and the covariate model's.
        """
        if self._report is None:
            from rdsmodel.diagnostics import diagnose

            report = diagnose(self.count.idata, model=self.count)
            section = self._capacity_section()
            if section is not None:
                report.add_section(section)
            if self.covariate is not None:
                from rdsmodel.covariates import homophily_diagnostics

                report.add_section(
                    homophily_diagnostics(
                        self.covariate.idata, self.covariate.data, thresholds=report.thresholds
                    )
                )
            self._report = report
        return self._report

    def _capacity_section(self):
        """The capacity-check section: computed from the study, or as stored at fit time."""
        from rdsmodel.diagnostics import Check, Section
        from rdsmodel.diagnostics.capacity_check import CapacityCheck

        if self._capacity is None:
            data = getattr(self.count, "data", None)
            if data is not None:
                try:
                    result = capacity_check_of(data, self.count)
                except (ValueError, PlanningError) as err:
                    self._capacity = {"error": str(err)}
                else:
                    self._capacity = (
                        {"none": "no respondent has a closed coupon window"}
                        if result is None
                        else {**result[0].to_dict(), "focus": result[1]}
                    )
            else:
                stored = self.count.stored.posterior.attrs.get(_CAPACITY_ATTR)
                self._capacity = json.loads(stored) if stored else None
        stored = self._capacity
        title = "Capacity check: fitted capacity law against observed redeemed coupons"
        if stored is None:
            return None
        if "error" in stored:
            return Section(
                "capacity_check",
                title,
                [Check("capacity_check", "warn", f"could not compute: {stored['error']}")],
            )
        if "none" in stored:
            return Section(
                "capacity_check",
                title,
                [Check("capacity_check", "ok", f"nothing to check: {stored['none']}")],
            )
        return CapacityCheck.from_dict(stored).section(focus=stored.get("focus"))

    def diagnostics_summary(self) -> dict[str, Any]:
        """The diagnostics summary a plan shows: stored in the posterior file at fit time, so
        planning from a saved posterior neither recomputes it nor imports ArviZ's statistics.

        Its ``capacity_check`` entry (:meth:`CapacityCheck.summary
        <rdsmodel.diagnostics.capacity_check.CapacityCheck.summary>`) is what
        the plan prints after its error statement.
        """
        stored = self.count.stored.posterior.attrs.get(_SUMMARY_ATTR)
        if stored and self._report is None:
            return json.loads(stored)
        return self.diagnostics().summary()

    def save(self, output: str | os.PathLike) -> list[Path]:
        """Write the count model to ``output`` and the covariate model beside it.

        The diagnostics summary and the capacity check (every cell) are
        computed (once) and stored with the count model.
        """
        summary = self.diagnostics().summary()
        attrs = self.count.stored.posterior.attrs
        attrs[_SUMMARY_ATTR] = json.dumps(summary, default=float)
        if self._capacity is not None:
            attrs[_CAPACITY_ATTR] = json.dumps(self._capacity, default=float)
        written = [Path(self.count.save(output))]
        if self.covariate is not None:
            written.append(Path(self.covariate.save(covariates_path(output))))
        return written


def capacity_check_of(
    data: Any,
    count: Any,
    *,
    samples: int = 100,
    replicates: int = 500,
    seed: int = 1,
    min_rows: int = 10,
) -> tuple[Any, list[str]] | None:
    """Check the fitted capacity law against the study's closed coupon windows.

    Runs :func:`rdsmodel.diagnostics.capacity_check.capacity_check` on the
    respondents whose coupon window closed (redeemed count ``min(C, k)``),
    with the count model's predicted law for each of them, per group, per
    level of the model's capacity covariates and per level of the study's
    other covariates (where an effect the model leaves out would show).

    Parameters
    ----------
    data : rdsmodel.data.RecruitmentData
    count : rdsmodel.count.CountModel
        Fitted on ``data``.
    samples : int
        Posterior samples for the predicted laws.
    replicates : int
        Posterior predictive datasets for the p-values.
    seed : int
    min_rows : int
        Levels with fewer respondents are not checked.

    Returns
    -------
    (CapacityCheck, list of str) or None
        The check and the factors the model uses (group and capacity
        covariates; the text report shows these and the flagged levels), or
        None when no coupon window has closed.
    """
    import numpy as np

    from rdsmodel.diagnostics.capacity_check import capacity_check

    table = data.table
    closed = table[table["window_closed"] & ~table["is_frontier"] & (table["coupons_issued"] > 0)]
    if closed.empty:
        return None
    coupons = closed["coupons_issued"].to_numpy(dtype=np.int64)
    redeemed = np.minimum(closed["n_recruits"].to_numpy(dtype=np.int64), coupons)
    curves = count.survival(closed, max_coupons=int(coupons.max()), samples=samples, seed=seed)
    group = getattr(data, "group_column", None)
    model = [c for c in [group, *getattr(count, "covariates", [])] if c and c in closed]
    names = getattr(getattr(data, "schema", None), "names", [])
    others = [name for name in names if name in closed and name not in model]
    labels = {name: closed[name] for name in (*model, *others)}
    check = capacity_check(
        redeemed,
        coupons,
        labels,
        survival=np.asarray(curves),
        replicates=replicates,
        seed=seed,
        min_rows=min_rows,
    )
    return check, model


def fit_study(data: Any, settings: FitSettings, *, progress: Progress = _quiet) -> FittedStudy:
    """Fit the count model and, when possible, the covariate model (not saved).

    Parameters
    ----------
    data : rdsmodel.data.RecruitmentData
    settings : FitSettings
    progress : callable
        Receives one line of text per step.

    Returns
    -------
    FittedStudy
    """
    from rdsmodel.count import CountModel

    count = CountModel(
        data,
        family=settings.family,
        covariates=None
        if settings.capacity_covariates is None
        else list(settings.capacity_covariates),
        wave_effect=settings.wave_effect,
        open_windows=settings.open_windows,
    )
    progress(
        f"fitting the {settings.family} capacity model on {count.n_observations} respondents "
        f"({count.n_cells} distinct cells) ..."
    )
    count.fit(
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        seed=settings.seed,
        sampler=settings.sampler,
        progressbar=settings.progress_bars,
        target_accept=settings.target_accept,
    )
    _check_complete(count.idata, settings, "capacity")
    for note in count.fit_notes:  # the automatic remedy, one chain, missing values
        progress(note)
    covariate = None
    if settings.covariate_model and data.schema.categorical:
        from rdsmodel.covariates import CovariateModel

        covariate = CovariateModel(data, transitions=settings.covariate_transitions)
        if covariate.pairs.n_pairs == 0:
            progress("no recruitment pairs (a study of seeds only): the covariate model is skipped")
            covariate = None
        else:
            progress(
                f"fitting the recruit-covariate model on {covariate.pairs.n_pairs} recruitment pairs ..."
            )
            # No per-pair log-likelihood: it would weigh pairs x draws in the file and the
            # homophily report does not use LOO.
            covariate.fit(
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                seed=settings.seed,
                progressbar=settings.progress_bars,
                log_likelihood=False,
            )
            _check_complete(covariate.idata, settings, "recruit-covariate")
    return FittedStudy(count, covariate)


def _check_complete(idata: Any, settings: FitSettings, which: str) -> None:
    """Refuse a posterior with missing or NaN draws (a sampler stopped by Ctrl-C returns one)."""
    import numpy as np

    posterior = idata.posterior
    complete = (
        posterior.sizes.get("draw", 0) == settings.draws
        and posterior.sizes.get("chain", 0) == settings.chains
    )

    # Padding (NaN for levels a field does not have) is the same in every draw;
    # draws a stopped sampler never made are NaN where the first draw is not.
    def same_gaps(values: np.ndarray) -> bool:
        gaps = ~np.isfinite(values)
        return bool((gaps == gaps[:1, :1]).all())

    finite = all(same_gaps(posterior[name].values) for name in posterior.data_vars)
    if not (complete and finite):
        raise FitInterrupted(f"the {which} model's sampler stopped early; nothing was written")


def load_fit(posterior: str | os.PathLike) -> FittedStudy:
    """Load a saved count model and, if saved beside it, the covariate model."""
    from rdsmodel.count import CountModel

    posterior = Path(posterior)
    count = CountModel.load(posterior)
    covariate = None
    if covariates_path(posterior).exists():
        from rdsmodel.covariates import CovariateModel

        covariate = CovariateModel.load(covariates_path(posterior))
    return FittedStudy(count, covariate)


@dataclass(frozen=True)
class PlanRequest:
    """What to plan (the options of ``rdsplan plan``).

    Attributes
    ----------
    budget : int
        Coupons left (this round for single-round planners; this and later
        rounds for multi-round planners).
    method : str
        A name in :data:`planning.PLANNERS`.
    settings : mapping
        The planner's settings (e.g. ``{"gamma": 0.9}`` for ``dp``).
    max_per_person : int, optional
        Coupons one person may get (default: the most given to anyone in the study).
    samples : int
        Posterior draws used (at most what the posterior holds).
    seed : int
        Seed of the decision.
    allow_unconverged : bool
        Plan even when the posterior's diagnostics failed.
    priority : planning.priorities.Priority, optional
        Recruit weights of priority subgroups (``--priority``, ``--priority-file``).
    subgroups : sequence
        Further subgroups to report expected recruits for (``--coverage``'s).
    """

    budget: int
    method: str = "greedy"
    settings: Mapping[str, Any] = field(default_factory=dict)
    max_per_person: int | None = None
    samples: int = 200
    seed: int = 1
    allow_unconverged: bool = False
    priority: Any = None
    subgroups: Sequence[Any] = ()

    def __post_init__(self) -> None:
        if isinstance(self.budget, bool) or int(self.budget) != self.budget or self.budget < 0:
            raise PlanningError(f"--budget must be a whole number >= 0, got {self.budget}")
        if self.max_per_person is not None and self.max_per_person < 1:
            raise PlanningError(f"--max-per-person must be at least 1, got {self.max_per_person}")
        if self.samples < 1:
            raise PlanningError(f"--samples must be at least 1, got {self.samples}")


def plan_round(
    fit: FittedStudy,
    data: Any,
    request: PlanRequest,
    *,
    posterior: str | os.PathLike | None = None,
    progress: Progress = _quiet,
):
    """Plan the next round for ``data``'s frontier from a fitted study.

    Planners with a fitted value surrogate (a ``surrogate`` setting, e.g. GFP)
    get the one fitted on rollouts of ``fit``'s models, reused from beside
    ``posterior`` when one covers the request (:mod:`planning.app.surrogates`).

    Returns
    -------
    planning.Plan
        With the posterior's diagnostics summary attached.

    Raises
    ------
    UnconvergedError
        When the diagnostics failed and ``request.allow_unconverged`` is false.
    """
    from planning.app.posterior import planning_inputs
    from planning.plan import make_plan
    from planning.planners import PLANNERS, make_planner

    settings = dict(request.settings)
    make_planner(request.method, **settings)  # refuse bad settings before any work
    summary = fit.diagnostics_summary()
    if summary.get("verdict") == "fail" and not request.allow_unconverged:
        raise UnconvergedError(
            "the posterior's diagnostics failed (run 'rdsplan diagnose' to see why); refit with more "
            "draws, or pass --allow-unconverged to plan anyway"
        )
    inputs = planning_inputs(
        data,
        fit.count,
        fit.covariate,
        budget=request.budget,
        max_per_person=request.max_per_person,
        samples=request.samples,
        seed=request.seed,
        priority=request.priority,
        subgroups=request.subgroups,
    )
    if (
        "surrogate" in PLANNERS[request.method].__dataclass_fields__
        and settings.get("surrogate") is None
    ):
        from planning.app.surrogates import gfp_surrogate

        settings["surrogate"] = gfp_surrogate(
            fit,
            inputs,
            request.budget,
            float(settings.get("gamma", 0.9)),
            posterior=posterior,
            max_per_round=settings.get("max_per_round"),
            seed=request.seed,
            progress=progress,
        )
    planner = make_planner(request.method, **settings)
    plan = make_plan(inputs, planner, request.budget, seed=request.seed, diagnostics=summary)
    usable = int(inputs.caps.sum())
    if plan.value_estimate is None and request.budget > usable:  # a single-round plan
        progress(
            f"note: --budget {request.budget} is more than this frontier can use in one round "
            f"({inputs.n_people} people, {usable} coupons at most); the plan hands out {plan.spend}"
        )
    return plan


def write_plan(plan: Any, path: str | os.PathLike) -> Path:
    """Write the plan's allocation table to CSV atomically (the old file survives a failure)."""
    from rdsmodel.persistence import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        plan.to_csv(tmp)
    return path
