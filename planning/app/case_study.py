"""Case studies: an evaluation in one world, written up as a self-contained HTML report.

A case study runs :func:`planning.app.evaluation.evaluate_policies` with its
settings and writes, next to its script, ``NAME.html`` (question, conclusions
built from the numbers, results tables policies x gamma with standard errors,
the figure, the budget-binding check, any extra sections, and how to rerun
it) and ``NAME.nc`` (every episode). Conclusions are computed, never typed:
a policy "beats" another when the difference of their means exceeds two
standard errors of that difference (episodes share random numbers, so the
paired standard error is used).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CaseStudy", "compare", "run_case_study"]


@dataclass(frozen=True)
class CaseStudy:
    """What a case study asks and how it is run.

    Attributes
    ----------
    name : str
        File stem of the report.
    title : str
    description : sequence of str
        Paragraphs stating the question.
    settings : planning.app.evaluation.EvaluationSettings
    quick : planning.app.evaluation.EvaluationSettings
        The short version (smoke test in CI).
    contrasts : sequence of (str, str)
        Pairs ``(policy, against)`` whose difference the conclusions report.
    """

    name: str
    title: str
    description: Sequence[str]
    settings: Any
    quick: Any
    contrasts: Sequence[tuple[str, str]] = field(default_factory=tuple)


def compare(ds: Any, policy: str, against: str, gamma: float, frontier: int) -> dict[str, float]:
    """Paired difference of discounted recruits (common random numbers) with its standard error."""
    sel = {"gamma": gamma, "frontier": frontier}
    a = ds["discounted"].sel(policy=policy, **sel).values
    b = ds["discounted"].sel(policy=against, **sel).values
    diff = a - b
    se = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else float("nan")
    return {
        "difference": float(diff.mean()),
        "se": se,
        "z": float(diff.mean() / se) if se and np.isfinite(se) and se > 0 else float("nan"),
    }


def _table(summary: list[dict[str, Any]], mean: str, se: str) -> pd.DataFrame:
    frame = pd.DataFrame(summary)
    frame["cell"] = [f"{m:.2f} ± {s:.2f}" for m, s in zip(frame[mean], frame[se], strict=True)]
    wide = frame.pivot_table(
        index="policy", columns=["frontier", "gamma"], values="cell", aggfunc="first"
    )
    order = frame.groupby("policy")[mean].mean().sort_values(ascending=False).index
    wide = wide.loc[order]
    wide.columns = [f"frontier {f}, gamma = {g:g}" for f, g in wide.columns]
    return wide


def conclusions(evaluation: Any, study: CaseStudy) -> list[str]:
    """Sentences built from the numbers: the best policy per setting and each contrast."""
    ds = evaluation.dataset
    out = []
    for row in evaluation.binding:
        g, f = row["gamma"], row["frontier"]
        cells = [
            r
            for r in evaluation.summary
            if r["gamma"] == g and r["frontier"] == f and r["policy"] != "oracle"
        ]
        best = max(cells, key=lambda r: r["mean"])
        oracle = [
            r
            for r in evaluation.summary
            if r["gamma"] == g and r["frontier"] == f and r["policy"] == "oracle"
        ]
        tail = f"; the hindsight oracle reaches {oracle[0]['mean']:.1f}" if oracle else ""
        binds = (
            "the budget binds"
            if row["binds"]
            else "the budget does NOT bind (read differences with care)"
        )
        out.append(
            f"gamma = {g:g}, frontier {f}: {best['policy']} is best with {best['mean']:.1f} ± "
            f"{best['se']:.1f} discounted recruits{tail}; {binds}."
        )
        for policy, against in study.contrasts:
            names = [str(p) for p in ds["policy"].values]
            if policy not in names or against not in names:
                continue
            c = compare(ds, policy, against, g, f)
            verdict = (
                "beats"
                if c["z"] > 2
                else "loses to"
                if c["z"] < -2
                else "does not differ by more than two standard errors from"
            )
            out.append(
                f"  {policy} {verdict} {against} at gamma = {g:g}: difference "
                f"{c['difference']:+.2f} ± {c['se']:.2f} (paired)."
            )
    return out


def _html(frame: pd.DataFrame) -> str:
    return frame.to_html(border=0, na_rep="")


def run_case_study(
    study: CaseStudy,
    folder: str | Path,
    *,
    quick: bool = False,
    extras: Sequence[dict[str, Any]] = (),
    executor: str = "serial",
    progress: Any = print,
) -> Path:
    """Run the evaluation of ``study`` and write ``NAME.html`` and ``NAME.nc`` into ``folder``.

    Parameters
    ----------
    study : CaseStudy
    folder : path-like
        Where the report goes (the case study's folder).
    quick : bool
        Run the short settings (a smoke test) and write ``NAME-quick.*``.
    extras : sequence of dict
        Extra sections: ``{"id", "title", "paragraphs", "pre", "html"}``.
    executor : str
        ``serial``, ``processes`` or ``dask``.

    Returns
    -------
    pathlib.Path
        The HTML report.
    """
    import jinja2
    from markupsafe import Markup

    from planning.app.evaluation import evaluate_policies, plot_results, save_results
    from rdsmodel.persistence import atomic_path, package_version

    settings = study.quick if quick else study.settings
    stem = study.name + ("-quick" if quick else "")
    folder = Path(folder)
    start = time.perf_counter()
    evaluation = evaluate_policies(settings, executor=executor, progress=progress)
    save_results(evaluation.dataset, folder / f"{stem}.nc")
    figure_path = plot_results(evaluation.dataset, folder / f"{stem}.png", title=study.title)
    figure = {
        "caption": "Discounted recruits per policy and discount, with two standard errors.",
        "png": base64.b64encode(figure_path.read_bytes()).decode("ascii"),
    }
    figure_path.unlink()  # embedded in the page
    binding = pd.DataFrame(evaluation.binding)
    context = {
        "title": study.title,
        "subtitle": (
            f"scenario {settings.scenario}, {settings.episodes} episodes per cell"
            + (" (quick version)" if quick else "")
        ),
        "description": list(study.description),
        "conclusions": conclusions(evaluation, study),
        "results_table": Markup(_html(_table(evaluation.summary, "mean", "se"))),
        "totals_table": Markup(_html(_table(evaluation.summary, "total_mean", "total_se"))),
        "figures": [figure],
        "binding_table": Markup(
            binding.to_html(index=False, border=0, float_format=lambda v: f"{v:.2f}")
        ),
        "extras": [
            {
                "id": e.get("id", "extra"),
                "title": e["title"],
                "paragraphs": e.get("paragraphs", []),
                "pre": e.get("pre", ""),
                "html": Markup(e.get("html", "")),
            }
            for e in extras
        ],
        "settings": json.dumps(dataclasses.asdict(settings), indent=2, default=str),
        "command": f"python case_studies/{study.name}.py" + (" --quick" if quick else ""),
        "notes": evaluation.notes,
        "version": package_version(),
        "written": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "seconds": f"{time.perf_counter() - start:.0f}",
    }
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("planning.app", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    html = env.get_template("case_study.html.j2").render(**context)
    path = folder / f"{stem}.html"
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    for line in context["conclusions"]:
        progress(line)
    return path
