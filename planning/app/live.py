"""One round of a live study: refit on the updated table, say what moved, plan, report.

This is what a field team runs each time a round's recruits have arrived
(``rdsplan round``). With the previous round's folder it

* rereads the updated table with the previous posterior's reading options
  (options typed again must agree, as for ``rdsplan plan``);
* refits both models with the previous round's model settings (family,
  capacity covariates, wave effect, open windows), so rounds stay comparable;
* compares every scalar parameter of the new posterior with the previous one
  (:func:`compare_fits`): the shift of the posterior mean in previous
  posterior standard deviations and the change of the standard deviation, so
  the team sees whether the new data moved the estimates;
* plans the round with the coupons left and writes the posterior files, the
  allocation CSV, the HTML report and ``round.json`` into the round's folder.

A failed fit is never planned on unless ``allow_unconverged`` is set; the
posterior files are still written for inspection.

With a priority (``request.priority``, ``rdsplan round --priority``) the
round is planned exactly as ``rdsplan plan --priority`` plans it (the same
:func:`planning.app.workflows.plan_round`); its fields and levels are checked
against the study before the fit (:func:`check_priority`), and
``round.json`` gains ``priority``, ``weighted_recruits`` and ``subgroups``
(expected recruits this round per subgroup, mean and 90% interval), as in the
plan's JSON.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planning.app.workflows import (
    FitSettings,
    FittedStudy,
    PlanRequest,
    Progress,
    UnconvergedError,
    fit_study,
    load_fit,
    plan_round,
    write_plan,
)
from planning.errors import PlanningError

__all__ = ["RoundResult", "check_priority", "compare_fits", "previous_fit", "run_round"]

#: A parameter "moved" when its posterior mean shifted by more than this many previous sds.
MOVED_SDS = 1.0
#: File names inside a round's folder.
POSTERIOR, PLAN, REPORT, SUMMARY = "posterior.nc", "plan.csv", "report.html", "round.json"


@dataclass(frozen=True)
class RoundResult:
    """What one round produced.

    Attributes
    ----------
    fit : FittedStudy
    plan : planning.Plan or None
        None when the fit failed and planning on it was not allowed.
    changes : pandas.DataFrame or None
        :func:`compare_fits` against the previous round (None in the first round).
    files : dict of str to Path
        What was written.
    """

    fit: FittedStudy
    plan: Any
    changes: pd.DataFrame | None
    files: dict[str, Path]


def previous_fit(folder: str | os.PathLike) -> FittedStudy:
    """Load the fit of a previous round's folder (``FOLDER/posterior.nc``)."""
    path = Path(folder) / POSTERIOR
    if not path.exists():
        raise PlanningError(
            f"--previous {folder}: no {POSTERIOR} there; give the folder a previous 'rdsplan round' wrote"
        )
    return load_fit(path)


def settings_like(previous: FittedStudy, base: FitSettings) -> FitSettings:
    """``base`` with the previous round's model settings (so rounds stay comparable)."""
    init = previous.count.init_kwargs
    values = {**base.__dict__}
    values.update(
        family=init["family"],
        capacity_covariates=list(init["covariates"]),
        wave_effect=bool(init["wave_effect"]),
        open_windows=init["open_windows"],
        covariate_model=previous.covariate is not None and base.covariate_model,
    )
    return FitSettings(**values)


def _scalars(idata: Any) -> dict[str, np.ndarray]:
    """Every scalar parameter of a posterior (vector ones split by their coordinate), as draws."""
    out: dict[str, np.ndarray] = {}
    post = idata.posterior
    for name, var in post.data_vars.items():
        extra = [d for d in var.dims if d not in ("chain", "draw")]
        if not extra:
            out[name] = var.values.ravel()
        elif len(extra) == 1 and var.sizes[extra[0]] <= 50:
            for label in var[extra[0]].values:
                values = var.sel({extra[0]: label}).values.ravel()
                if np.all(np.isfinite(values)):
                    out[f"{name}[{label}]"] = values
    return out


def compare_fits(previous: FittedStudy, current: FittedStudy) -> pd.DataFrame:
    """How far each parameter's posterior moved since the previous round.

    For each scalar parameter in both posteriors (count model, and the
    homophily ``rho`` of the covariate model when both have one):
    ``shift = (mean_now - mean_before) / sd_before`` and ``sd_ratio =
    sd_now / sd_before``. ``moved`` is ``|shift| > 1``: the new data moved the
    estimate by more than its previous uncertainty.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``parameter``, ``mean_before``, ``sd_before``,
        ``mean_now``, ``sd_now``, ``shift``, ``sd_ratio``, ``moved``; sorted by
        ``|shift|``, largest first.
    """
    rows = []
    pairs = [("capacity", previous.count.idata, current.count.idata)]
    if previous.covariate is not None and current.covariate is not None:
        pairs.append(("covariates", previous.covariate.idata, current.covariate.idata))
    for model, before_idata, now_idata in pairs:
        before, now = _scalars(before_idata), _scalars(now_idata)
        for name in sorted(set(before) & set(now)):
            if model == "covariates" and not name.startswith("rho"):
                continue
            b, n = before[name], now[name]
            sd = float(b.std())
            shift = (float(n.mean()) - float(b.mean())) / sd if sd > 0 else 0.0
            rows.append(
                (
                    model,
                    name,
                    float(b.mean()),
                    sd,
                    float(n.mean()),
                    float(n.std()),
                    shift,
                    float(n.std()) / sd if sd > 0 else np.nan,
                )
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "model",
            "parameter",
            "mean_before",
            "sd_before",
            "mean_now",
            "sd_now",
            "shift",
            "sd_ratio",
        ],
    )
    frame["moved"] = frame["shift"].abs() > MOVED_SDS
    return frame.reindex(frame["shift"].abs().sort_values(ascending=False).index).reset_index(
        drop=True
    )


def changes_text(changes: pd.DataFrame | None) -> str:
    """One paragraph on whether the new data moved the estimates."""
    if changes is None:
        return "First round: nothing to compare with."
    moved = changes[changes["moved"]]
    if moved.empty:
        largest = changes.iloc[0] if len(changes) else None
        tail = (
            ""
            if largest is None
            else (f" (largest shift: {largest['parameter']}, {largest['shift']:+.2f} previous sds)")
        )
        return (
            f"The new data did not move any estimate by more than {MOVED_SDS:g} previous sd{tail}."
        )
    names = ", ".join(f"{r.parameter} ({r.shift:+.1f} sd)" for r in moved.head(6).itertuples())
    return (
        f"The new data moved {len(moved)} of {len(changes)} estimates by more than "
        f"{MOVED_SDS:g} previous sd: {names}."
    )


def check_priority(priority: Any, data: Any) -> None:
    """Refuse a priority naming a covariate or level the study does not have, before any fit.

    The levels are the schema's, else those in the table. The covariate model
    checks again when planning (it knows the levels it was fitted on).

    Raises
    ------
    planning.errors.PlanningError
        Naming the flag and the unknown covariate or level.
    """
    if priority is None:
        return
    from planning.priorities import LawLayout

    fields = list(data.schema.categorical)
    levels = tuple(
        tuple(f.levels)
        if f.levels is not None
        else tuple(sorted(data.table[f.name].dropna().astype(str).unique()))
        for f in fields
    )
    layout = LawLayout(
        tuple(f.name for f in fields),
        levels,
        max([len(lv) for lv in levels], default=1),
        tuple(data.schema.numeric_names),
        "the study",
    )
    priority.validate(layout)


def run_round(
    data: Any,
    settings: FitSettings,
    request: PlanRequest,
    output: str | os.PathLike,
    *,
    previous: FittedStudy | None = None,
    study_name: str | None = None,
    progress: Progress = lambda _: None,
) -> RoundResult:
    """Refit, compare, plan and write one round into the folder ``output``.

    Parameters
    ----------
    data : rdsmodel.data.RecruitmentData
        The updated study (already read, with the previous round's options if any).
    settings : FitSettings
        Sampler settings (model settings are taken from ``previous`` when given).
    request : PlanRequest
        ``budget`` is the number of coupons left.
    output : path-like
        The round's folder (created).
    previous : FittedStudy, optional
        The previous round's fit.

    Returns
    -------
    RoundResult

    Raises
    ------
    UnconvergedError
        After writing the posterior, when the fit failed and planning on it was not allowed.
    """
    from planning.app.report import write_report

    check_priority(request.priority, data)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    if previous is not None:
        settings = settings_like(previous, settings)
    fit = fit_study(data, settings, progress=progress)
    files = {f"posterior{i}": p for i, p in enumerate(fit.save(out / POSTERIOR))}
    changes = None if previous is None else compare_fits(previous, fit)
    progress(changes_text(changes))
    summary = {
        "respondents": len(data.table),
        "frontier": len(data.frontier),
        "budget_left": request.budget,
        "diagnostics": fit.diagnostics_summary().get("verdict"),
        "estimates_moved": changes_text(changes),
        "changes": None if changes is None else changes.to_dict("records"),
    }
    try:
        plan = plan_round(fit, data, request)
    except UnconvergedError:
        _write_json(out / SUMMARY, {**summary, "plan": None})
        raise
    files["plan"] = write_plan(plan, out / PLAN)
    files["report"] = write_report(
        out / REPORT, fit, data, plan, study_name=study_name, title="Coupon plan for this round"
    )
    summary.update(
        spend=plan.spend,
        expected_recruits=plan.expected_recruits,
        verdict=plan.summary().verdict,
        budget_left_after=request.budget - plan.spend,
    )
    if request.priority is not None:  # as in the plan's JSON
        summary.update(
            priority=plan.priority,
            weighted_recruits=plan.weighted_recruits,
            subgroups=plan.subgroups,
        )
    files["summary"] = _write_json(out / SUMMARY, summary)
    return RoundResult(fit, plan, changes, files)


def _write_json(path: Path, payload: dict[str, Any]) -> Path:
    from rdsmodel.persistence import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, default=float) + "\n", encoding="utf-8")
    return path
