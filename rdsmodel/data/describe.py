r"""Descriptive summary of a recruitment study, in the spirit of the R ``RDS`` package.

:func:`describe` reports sample size, seeds, waves, recruits per respondent,
coupon use, recruits per seed (tree sizes), the frontier, and homophily per
categorical field. For field ``f`` the *match rate* is the share of
recruitment pairs whose recruiter and recruit share a level; the
*population rate* is what random mixing would give,
:math:`\sum_c \hat p_c^2` with :math:`\hat p_c` the sample share of level
:math:`c`; the naive *inheritance* estimate is

.. math:: \hat\rho_f = \frac{\text{match} - \text{population}}{1 - \text{population}},

the :math:`\rho_f` of the recruit-covariate model
:math:`P(c \mid p) = \rho_f 1[c = p] + (1 - \rho_f)\,\pi_f(c)` when
:math:`\pi_f` is the sample composition. It ignores the RDS sampling design,
so read it as a description, not an estimate for the population.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rdsmodel.data.recruitment import RecruitmentData
from rdsmodel.persistence import atomic_path, output_folder

__all__ = ["StudySummary", "describe", "homophily_table"]


def homophily_table(data: RecruitmentData) -> pd.DataFrame:
    """Match rate, population rate and naive inheritance per categorical field.

    Parameters
    ----------
    data : RecruitmentData

    Returns
    -------
    pandas.DataFrame
        Columns ``field``, ``levels``, ``pairs`` (edges with both values
        known), ``match_rate``, ``population_rate``, ``inheritance``.
    """
    parents, recruits = data.pairs()
    table = data.table
    rows = []
    for f in data.schema.categorical:
        p = parents[f.name].to_numpy(dtype=object, na_value=None)
        r = recruits[f.name].to_numpy(dtype=object, na_value=None)
        known = ~pd.isna(p) & ~pd.isna(r)
        pairs = int(known.sum())
        match = float(np.mean(p[known] == r[known])) if pairs else float("nan")
        shares = table[f.name].value_counts(normalize=True, dropna=True).to_numpy(dtype=float)
        population = float(np.sum(shares**2)) if len(shares) else float("nan")
        inheritance = (match - population) / (1 - population) if population < 1 else float("nan")
        rows.append(
            {
                "field": f.name,
                "levels": len(f.levels or ()),
                "pairs": pairs,
                "match_rate": match,
                "population_rate": population,
                "inheritance": inheritance,
            }
        )
    columns = ["field", "levels", "pairs", "match_rate", "population_rate", "inheritance"]
    return pd.DataFrame(rows, columns=columns)


@dataclass
class StudySummary:
    """What :func:`describe` found; print :meth:`text`, write with :meth:`save`.

    Attributes
    ----------
    n_respondents, n_seeds, max_wave, n_frontier, n_with_coupons : int
        Sample size, seeds, deepest wave, respondents awaiting coupons, respondents with coupons.
    mean_recruits : float
        Mean recruits per respondent with coupons issued.
    coupon_use_rate : float
        Recruits / coupons issued among respondents whose coupon window closed
        (NaN when there are none).
    tables : dict of str to pandas.DataFrame
        ``overview``, ``waves``, ``recruits_per_respondent``, ``coupon_use``,
        ``recruits_per_seed`` and ``homophily``.
    """

    n_respondents: int
    n_seeds: int
    max_wave: int
    n_frontier: int
    n_with_coupons: int
    mean_recruits: float
    coupon_use_rate: float
    tables: dict[str, pd.DataFrame]
    data: RecruitmentData = field(repr=False)

    def text(self) -> str:
        """Return the summary as plain text for a terminal.

        Returns
        -------
        str
        """
        trees = self.tables["recruits_per_seed"]["respondents"]
        lines = ["Study summary", ""]
        lines += [f"  {k:<34}{v}" for k, v in self.tables["overview"].itertuples(index=False)]
        if len(trees):
            lines.append(
                f"  {'tree size (respondents per seed)':<34}mean {trees.mean():.1f}, "
                f"median {trees.median():.0f}, max {trees.max()}"
            )
        sections = [
            ("Respondents per wave", self.tables["waves"]),
            (
                "Recruits per respondent (respondents with coupons issued)",
                self.tables["recruits_per_respondent"],
            ),
            ("Coupon use by coupons issued (closed windows)", self.tables["coupon_use"]),
        ]
        if len(self.tables["homophily"]):
            sections.append(
                (
                    "Homophily per categorical field (match rate among recruitment pairs vs "
                    "random mixing; inheritance = (match - population) / (1 - population))",
                    self.tables["homophily"],
                )
            )
        for title, frame in sections:
            shown = frame.head(40)
            lines += [
                "",
                title,
                _indent(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}")),
            ]
            if len(frame) > len(shown):
                lines.append(f"  ... {len(frame) - len(shown)} more rows (see the CSV)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def save(self, outdir: str | os.PathLike, *, max_tree_nodes: int = 2000) -> list[Path]:
        """Write every table as CSV, the text summary and the two figures.

        Files (atomically written): ``summary.txt``, ``<table>.csv`` for each
        of :attr:`tables`, ``recruitment_tree.png`` and ``recruits_per_respondent.png``.

        Parameters
        ----------
        outdir : path-like
            Folder, created if needed.
        max_tree_nodes : int
            Beyond this many respondents the tree figure shows the largest trees only.

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        out = output_folder(outdir)
        written = []
        path = out / "summary.txt"
        with atomic_path(path) as tmp:
            tmp.write_text(self.text() + "\n", encoding="utf-8")
        written.append(path)
        for name, frame in self.tables.items():
            path = out / f"{name}.csv"
            with atomic_path(path) as tmp:
                frame.to_csv(tmp, index=False)
            written.append(path)
        from rdsmodel.data.figures import recruitment_tree_figure, recruits_figure  # matplotlib

        table = self.data.table
        for name, fig in (
            ("recruitment_tree.png", recruitment_tree_figure(table, max_nodes=max_tree_nodes)),
            ("recruits_per_respondent.png", recruits_figure(table)),
        ):
            path = out / name
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format="png", dpi=120)
            written.append(path)
        return written


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def describe(data: RecruitmentData) -> StudySummary:
    """Summarise a study: sample, seeds, waves, recruits, coupon use, trees, homophily.

    Parameters
    ----------
    data : RecruitmentData
        A validated study.

    Returns
    -------
    StudySummary

    Examples
    --------
    >>> summary = describe(data)  # doctest: +SKIP
    >>> print(summary.text())  # doctest: +SKIP
    >>> summary.save("described/")  # doctest: +SKIP
    """
    t = data.table
    n = len(t)
    wave = t["wave"].to_numpy(dtype=np.int64)
    frontier = t["is_frontier"].to_numpy(dtype=bool)
    closed = t["window_closed"].to_numpy(dtype=bool)
    recruits = t["n_recruits"].to_numpy(dtype=np.int64)
    coupons = t["coupons_issued"].to_numpy(dtype=float, na_value=np.nan)
    fit = ~frontier
    informative = fit & closed
    issued_closed = float(np.nansum(coupons[informative]))
    use_rate = (
        float(recruits[informative].sum() / issued_closed) if issued_closed > 0 else float("nan")
    )
    mean_recruits = float(recruits[fit].mean()) if fit.any() else float("nan")
    n_seeds = int((wave == 0).sum())
    max_wave = int(wave.max()) if n else 0

    waves = pd.DataFrame({"wave": np.arange(max_wave + 1) if n else np.zeros(0, dtype=int)})
    waves["respondents"] = np.bincount(wave, minlength=max_wave + 1)[: len(waves)] if n else []
    waves["awaiting_coupons"] = (
        np.bincount(wave[frontier], minlength=max_wave + 1)[: len(waves)] if n else []
    )
    waves["cumulative"] = waves["respondents"].cumsum()

    top = int(recruits[fit].max()) if fit.any() else 0
    per = pd.DataFrame({"recruits": np.arange(top + 1)})
    per["respondents"] = np.bincount(recruits[fit], minlength=top + 1)
    per["window_closed"] = np.bincount(recruits[informative], minlength=top + 1)
    per["window_open"] = per["respondents"] - per["window_closed"]
    per["share"] = per["respondents"] / max(int(fit.sum()), 1)

    use = (
        pd.DataFrame(
            {
                "coupons_issued": coupons[informative].astype(np.int64),
                "recruits": recruits[informative],
            }
        )
        .groupby("coupons_issued")
        .agg(respondents=("recruits", "size"), recruits=("recruits", "sum"))
        .reset_index()
    )
    use["use_rate"] = use["recruits"] / (use["coupons_issued"] * use["respondents"]).where(
        use["coupons_issued"] > 0
    )

    seeds = t.loc[wave == 0, "id"].to_numpy(dtype=object)
    trees = t.groupby("seed_id", sort=False).agg(
        respondents=("id", "size"),
        max_wave=("wave", "max"),
        awaiting_coupons=("is_frontier", "sum"),
    )
    trees = trees.reindex(pd.Index(seeds, name="seed_id")).reset_index()
    trees["recruits"] = trees["respondents"] - 1

    overview = [
        ("respondents", n),
        ("seeds", n_seeds),
        ("waves", f"0-{max_wave}"),
        ("with coupons issued", int(fit.sum())),
        ("frontier (awaiting coupons)", int(frontier.sum())),
        ("coupon windows still open", int((fit & ~closed).sum())),
        ("recruits per respondent (mean)", _fmt(mean_recruits)),
        ("coupons issued (closed windows)", int(issued_closed)),
        ("coupon use rate (closed windows)", _fmt(use_rate)),
        ("covariates", ", ".join(data.covariates) or "none"),
    ]
    if data.group_column:
        overview.insert(2, ("groups", int(t["group"].nunique())))
    if len(data.dropped):
        overview.append(("rows dropped on request", len(data.dropped)))
    tables = {
        "overview": pd.DataFrame(overview, columns=["quantity", "value"]).astype(
            {"value": "string"}
        ),
        "waves": waves,
        "recruits_per_respondent": per,
        "coupon_use": use,
        "recruits_per_seed": trees[
            ["seed_id", "respondents", "recruits", "max_wave", "awaiting_coupons"]
        ],
        "homophily": homophily_table(data),
    }
    return StudySummary(
        n_respondents=n,
        n_seeds=n_seeds,
        max_wave=max_wave,
        n_frontier=int(frontier.sum()),
        n_with_coupons=int(fit.sum()),
        mean_recruits=mean_recruits,
        coupon_use_rate=use_rate,
        tables=tables,
        data=data,
    )


def _fmt(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.3f}"
