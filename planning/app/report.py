"""The decision report: one self-contained HTML page per plan.

The page is rendered with Jinja2 from ``templates/report.html.j2`` and from
the same objects the terminal prints: the plan's :class:`planning.summary.PlanSummary`
and error statement, the posterior's :class:`rdsmodel.diagnostics.Diagnostics`
sections, and the study's :func:`rdsmodel.data.describe` summary. Figures are
drawn with matplotlib and embedded as base64 PNG, the allocation table can be
downloaded from the page as CSV (a ``data:`` link), and nothing is fetched
from the network: the file can be mailed and opened anywhere.

The plan and the diagnostics sit side by side, so nobody reads one without
the other.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["render_report", "write_report"]

#: Allocation rows shown on the page (all rows are in the downloadable CSV).
MAX_ROWS = 60
#: Count-model parameters shown in the rank plot, when present.
RANK_VARIABLES = ("b0", "sigma_u", "phi", "psi", "beta")


@dataclass(frozen=True)
class _Figure:
    caption: str
    png: str


def _png(fig: Any, caption: str) -> _Figure:
    """Embed a matplotlib figure as base64 PNG and free it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return _Figure(caption, base64.b64encode(buffer.getvalue()).decode("ascii"))


def _html_table(frame: Any, digits: int = 3) -> str:
    """A DataFrame as an HTML table; a meaningful index (parameter names) is kept."""
    import pandas as pd

    index = not isinstance(frame.index, pd.RangeIndex)
    return frame.to_html(index=index, border=0, na_rep="", float_format=lambda v: f"{v:.{digits}g}")


def _rank_plot(idata: Any) -> _Figure | None:
    """ArviZ rank plots of the main count-model parameters (uniform ranks: chains agree)."""
    import arviz as az

    names = [name for name in RANK_VARIABLES if name in idata.posterior]
    if not names or idata.posterior.sizes.get("chain", 1) < 2:
        return None
    axes = az.plot_rank(idata, var_names=names, show=False)
    fig = axes.ravel()[0].figure if hasattr(axes, "ravel") else axes.figure
    return _png(
        fig,
        "Rank plots of the capacity model's parameters: each chain's ranks should "
        "be spread evenly (uniform bars); a chain piled at one end did not mix.",
    )


def _section_figures(report: Any, names: tuple[str, ...]) -> list[_Figure]:
    figures = []
    for section in report.sections.values():
        for name, draw in section.figures.items():
            if section.name in names:
                figures.append(_png(draw(), f"{section.title}: {name.replace('_', ' ')}"))
    return figures


def render_report(
    fit: Any, data: Any, plan: Any, *, title: str | None = None, study_name: str | None = None
) -> str:
    """Render the decision report as an HTML string.

    Parameters
    ----------
    fit : planning.app.workflows.FittedStudy
        The posterior the plan came from (its diagnostics are recomputed here,
        with figures).
    data : rdsmodel.data.RecruitmentData
        The study.
    plan : planning.Plan
    title, study_name : str, optional
        Page title and the study's name in the subtitle.

    Returns
    -------
    str
        A complete HTML document.
    """
    import jinja2
    from markupsafe import Markup

    from rdsmodel.data import describe
    from rdsmodel.data.figures import recruitment_tree_figure, recruits_figure
    from rdsmodel.persistence import package_version

    report = fit.diagnostics()
    summary = plan.summary()
    statement = plan.statement
    frame = plan.to_frame()
    shown = frame[frame["coupons"] > 0] if len(frame) > MAX_ROWS else frame
    csv = frame.to_csv(index=False).encode("utf-8")
    bound = plan.bound
    bound_rows = None
    if bound is not None:
        import pandas as pd

        bound_rows = pd.DataFrame(
            [(p.name, p.value, p.formula, p.method) for p in [*bound.parts, *bound.checks]],
            columns=["part", "value", "formula", "how it was estimated"],
        )
    homophily = report.sections.get("homophily")
    study = describe(data)
    context = {
        "title": title or "Coupon plan for the next round",
        "subtitle": (
            f"{study_name + ': ' if study_name else ''}{len(data.table)} respondents, "
            f"{len(plan.ids)} on the frontier, budget {plan.budget}"
        ),
        "summary": summary,
        "summary_table": Markup(_html_table(summary.table)),
        "plan": plan,
        "settings": ", ".join(f"{k}={v}" for k, v in plan.settings.items()),
        "allocation_table": Markup(_html_table(shown.head(MAX_ROWS))),
        "hidden_rows": len(frame) - len(shown.head(MAX_ROWS)),
        "max_rows": MAX_ROWS,
        "csv_base64": base64.b64encode(csv).decode("ascii"),
        "csv_name": "allocation.csv",
        "regret_text": statement.regret.text() if statement is not None else "not computed",
        "robustness": (
            f"{plan.details['price_of_robustness']:.3f} expected recruits given up against the "
            "mean-optimal plan, in exchange for a better worst case over posterior samples."
            if "price_of_robustness" in plan.details
            else ""
        ),
        "bound_informs": "none" if bound is None else str(bound.informative).lower(),
        "bound_headline": "not computed" if bound is None else bound.text().splitlines()[0],
        "bound_message": "" if bound is None else bound.message,
        "bound_table": Markup("" if bound_rows is None else _html_table(bound_rows)),
        "extra_plan_text": "",
        "diagnostics": {
            "verdict": report.verdict,
            "messages": report.messages,
            "sections": [
                {
                    "title": s.title,
                    "verdict": s.verdict,
                    "tables": [(n, Markup(_html_table(t))) for n, t in s.tables.items()],
                }
                for s in report.sections.values()
                if s.name != "homophily"
            ],
        },
        "study_text": study.text(),
        "study_figures": [
            _png(recruitment_tree_figure(data.table), "Recruitment trees (seeds at the top)"),
            _png(recruits_figure(data.table), "Recruits per respondent"),
        ],
        "fit_figures": [f for f in [_rank_plot(fit.count.idata)] if f is not None]
        + _section_figures(report, ("ppc",)),
        "homophily_table": (
            Markup("".join(_html_table(t) for t in homophily.tables.values())) if homophily else ""
        ),
        "homophily_figures": _section_figures(report, ("homophily",)) if homophily else [],
        "version": package_version(),
        "written": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    }
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("planning.app", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html.j2").render(**context)


def write_report(path: str | os.PathLike, fit: Any, data: Any, plan: Any, **options: Any) -> Path:
    """Render the report and write it atomically to ``path`` (see :func:`render_report`)."""
    from rdsmodel.persistence import atomic_path

    html = render_report(fit, data, plan, **options)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return path
