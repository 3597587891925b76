"""The diagnostics report: checks grouped in sections, an overall verdict, text, JSON, figures.

A :class:`Diagnostics` object is a mapping of named :class:`Section` objects.
Each section holds :class:`Check` results (``ok``/``warn``/``fail`` with a
readable message), a JSON-able ``summary``, optional tables and lazily drawn
figures. The count model's sections are ``convergence``, ``sampler``,
``loo`` and ``ppc`` (see :func:`rdsmodel.diagnostics.diagnose`); a fitted
study adds ``capacity_check``
(:meth:`rdsmodel.diagnostics.capacity_check.CapacityCheck.section`), whose
headline :meth:`Diagnostics.summary` carries for plans.

Adding a section (e.g. the homophily model's)
---------------------------------------------
Build a :class:`Section` and add it; it joins the verdict, ``to_dict()``,
``text()`` and ``save_figures()`` with no other change::

    from rdsmodel.diagnostics import Check, Section

    section = Section(
        "homophily", "Recruit covariates",
        checks=[Check("rho_rhat", "ok", "max R-hat 1.002")],
        summary={"fields": {...}},                  # JSON-able
        figures={"homophily_rho": draw_rho},        # name -> callable returning a Figure
    )
    diagnostics.add_section(section)               # or Diagnostics([...sections])

A JSON-able mapping with ``"verdict"`` and ``"messages"`` works too:
``diagnostics.add_section("homophily", {"verdict": "warn", "messages": [...], ...})``.

``to_dict()`` then has a ``"homophily"`` key holding
``{"verdict", "checks", **summary}``, beside ``"convergence"``, ``"loo"``, ....
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rdsmodel.diagnostics.thresholds import Thresholds

__all__ = ["STATUSES", "Check", "Diagnostics", "Section", "jsonable", "worst"]

STATUSES = ("ok", "warn", "fail")


def worst(statuses: Iterable[str]) -> str:
    """The worst of some statuses (``ok`` when there are none)."""
    rank = 0
    for status in statuses:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {STATUSES}")
        rank = max(rank, STATUSES.index(status))
    return STATUSES[rank]


def jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, NaN and infinities into plain JSON values (NaN -> None)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, pd.DataFrame):
        return jsonable(value.to_dict(orient="records"))
    return value


@dataclass
class Check:
    """One diagnostic check.

    Attributes
    ----------
    name : str
        Short identifier (``"rhat"``, ``"ess_bulk"``, ...).
    status : {"ok", "warn", "fail"}
    message : str
        One readable sentence.
    value : float, optional
        The measured value.
    rule : str, optional
        The threshold rule, e.g. ``"warn > 1.01, fail > 1.05"``.
    """

    name: str
    status: str
    message: str
    value: Any = None
    rule: str | None = None

    def __post_init__(self) -> None:
        worst([self.status])  # validates

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the check."""
        return jsonable(
            {
                "name": self.name,
                "status": self.status,
                "message": self.message,
                "value": self.value,
                "rule": self.rule,
            }
        )


@dataclass
class Section:
    """A named group of checks with a summary, tables and figures.

    Attributes
    ----------
    name : str
        Key in :meth:`Diagnostics.to_dict` (``"convergence"``, ``"homophily"``).
    title : str
        Heading in :meth:`Diagnostics.text`.
    checks : list of Check
    summary : dict
        JSON-able facts merged into the section's dict.
    tables : dict
        ``{name: DataFrame}`` printed in the text report.
    figures : dict
        ``{name: callable returning a matplotlib Figure}``; drawn only when saved.
    """

    name: str
    title: str
    checks: list[Check] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Callable[[], Any]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """The worst status of the section's checks."""
        return worst(c.status for c in self.checks)

    @classmethod
    def from_dict(cls, name: str, content: Mapping[str, Any], title: str | None = None) -> Section:
        """A section from a JSON-able mapping ``{"verdict", "messages", **summary}``.

        Each message becomes a check with the mapping's verdict; without
        messages a single check carries the verdict. The other keys form the summary.
        """
        verdict = str(content.get("verdict", "ok"))
        messages = list(content.get("messages", []))
        checks = [Check(name, verdict, str(m)) for m in messages] or [
            Check(name, verdict, f"{name}: {verdict}")
        ]
        summary = {k: v for k, v in content.items() if k not in ("verdict", "messages")}
        return cls(name, title or name.replace("_", " ").capitalize(), checks, summary)

    def to_dict(self) -> dict[str, Any]:
        """``{"verdict", "checks", **summary}``, JSON-able."""
        return jsonable(
            {"verdict": self.verdict, "checks": [c.to_dict() for c in self.checks], **self.summary}
        )


class Diagnostics:
    """Diagnostics of a posterior: sections of checks and an overall verdict.

    Parameters
    ----------
    sections : iterable of Section or mapping
        The sections, in display order.
    thresholds : Thresholds, optional
        The limits the checks used (reported in :meth:`to_dict`).

    Examples
    --------
    >>> d = Diagnostics([Section("demo", "Demo", [Check("x", "warn", "x is high")])])
    >>> d.verdict, d.messages
    ('warn', ['demo: x is high'])
    """

    def __init__(
        self,
        sections: Iterable[Section] | Mapping[str, Section] = (),
        *,
        thresholds: Thresholds | None = None,
    ) -> None:
        if isinstance(sections, Mapping):
            sections = sections.values()
        self.sections: dict[str, Section] = {}
        for section in sections:
            self.add_section(section)
        self.thresholds = thresholds or Thresholds()

    def add_section(
        self,
        section: Section | str,
        content: Section | Mapping[str, Any] | None = None,
        *,
        replace: bool = False,
    ) -> None:
        """Add a section (``replace=True`` to overwrite one of the same name).

        Accepts a :class:`Section`, or a name and either a :class:`Section` or a
        JSON-able mapping with ``"verdict"`` and ``"messages"`` (see
        :meth:`Section.from_dict`).
        """
        if isinstance(section, str):
            if content is None:
                raise ValueError(f"add_section({section!r}, ...) needs the section's content")
            section = (
                content if isinstance(content, Section) else Section.from_dict(section, content)
            )
        elif content is not None:
            raise ValueError("give either a Section or a name and its content")
        if section.name in self.sections and not replace:
            raise ValueError(f"a diagnostics section named {section.name!r} exists already")
        if section.name in ("verdict", "messages", "thresholds"):
            raise ValueError(f"{section.name!r} is reserved in the diagnostics dict")
        self.sections[section.name] = section

    def __getitem__(self, name: str) -> Section:
        return self.sections[name]

    def __contains__(self, name: object) -> bool:
        return name in self.sections

    @property
    def checks(self) -> list[Check]:
        """Every check, section by section."""
        return [c for s in self.sections.values() for c in s.checks]

    @property
    def verdict(self) -> str:
        """Overall verdict: the worst check (``ok``, ``warn`` or ``fail``)."""
        return worst(c.status for c in self.checks)

    @property
    def ok(self) -> bool:
        """Whether the verdict is not ``fail`` (``ok`` or ``warn``)."""
        return self.verdict != "fail"

    @property
    def messages(self) -> list[str]:
        """Messages of the checks that did not pass, prefixed by their section."""
        return [
            f"{s.name}: {c.message}"
            for s in self.sections.values()
            for c in s.checks
            if c.status != "ok"
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able report: ``verdict``, ``messages``, ``thresholds`` and one key per section."""
        out: dict[str, Any] = {
            "verdict": self.verdict,
            "messages": self.messages,
            "thresholds": self.thresholds.to_dict(),
        }
        for name, section in self.sections.items():
            out[name] = section.to_dict()
        return jsonable(out)

    def summary(self) -> dict[str, Any]:
        """A compact JSON-able summary (verdict, messages and the headline numbers) for plans."""
        out: dict[str, Any] = {"verdict": self.verdict, "messages": self.messages}
        conv = self.sections.get("convergence")
        if conv is not None:
            for check in conv.checks:
                key = {
                    "rhat": "max_rhat",
                    "ess_bulk": "min_ess_bulk",
                    "ess_tail": "min_ess_tail",
                }.get(check.name)
                if key:
                    out[key] = check.value
        sampler = self.sections.get("sampler")
        if sampler is not None and "divergences" in sampler.summary:
            out["divergences"] = sampler.summary["divergences"]
        loo = self.sections.get("loo")
        if loo is not None and "elpd_loo" in loo.summary:
            out["elpd_loo"] = loo.summary["elpd_loo"]
            out["pareto_k_max"] = loo.summary["pareto_k"]["max"]
        ppc = self.sections.get("ppc")
        if ppc is not None and "pit" in ppc.summary:
            out["pit_pvalue"] = ppc.summary["pit"]["pvalue"]
        capacity = self.sections.get("capacity_check")
        if capacity is not None:
            # What a plan prints after its error statement (rdsmodel.diagnostics.capacity_check).
            keys = ("checked", "flagged", "smallest_p", "alpha", "replicates", "misfits", "text")
            out["capacity_check"] = {
                "verdict": capacity.verdict,
                **{k: capacity.summary[k] for k in keys if k in capacity.summary},
            }
            if "text" not in capacity.summary:  # not computed: the check's message says why
                out["capacity_check"]["text"] = "Capacity check: " + capacity.checks[0].message
        for name, section in self.sections.items():
            out.setdefault("sections", {})[name] = section.verdict
        return jsonable(out)

    def text(self, *, tables: bool = True) -> str:
        """Readable multi-line report."""
        lines = [f"Diagnostics verdict: {self.verdict.upper()}"]
        for section in self.sections.values():
            lines.append("")
            lines.append(f"{section.title} [{section.verdict}]")
            for check in section.checks:
                mark = {"ok": "  ok  ", "warn": " WARN ", "fail": " FAIL "}[check.status]
                lines.append(f"  {mark} {check.message}")
            if tables:
                for name, table in section.tables.items():
                    lines.append(f"  {name}:")
                    with pd.option_context(
                        "display.width",
                        120,
                        "display.max_rows",
                        60,
                        "display.float_format",
                        "{:.4g}".format,
                    ):
                        lines += ["    " + row for row in table.to_string().splitlines()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"Diagnostics(verdict={self.verdict!r}, sections={list(self.sections)})"

    def save_figures(
        self, outdir: str | os.PathLike, *, fmt: str = "png", dpi: int = 120
    ) -> list[Path]:
        """Draw every section's figures into ``outdir`` (created if needed); return the paths."""
        from rdsmodel.persistence import atomic_path

        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        paths = []
        for section in self.sections.values():
            for name, draw in section.figures.items():
                fig = draw()
                path = outdir / f"{name}.{fmt}"
                with atomic_path(path) as tmp:
                    fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
                paths.append(path)
        return paths
