"""Compare count families by PSIS-LOO and recommend one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rdsmodel.diagnostics.loo import loo

__all__ = ["FamilyComparison", "compare_families", "recommend"]

#: Simpler families first: on a LOO tie the simplest is recommended.
SIMPLICITY = ("poisson", "nb", "zinb", "hurdle")


@dataclass
class FamilyComparison:
    """Result of :func:`compare_families`.

    Attributes
    ----------
    table : pandas.DataFrame
        :func:`arviz.compare` output (rank, elpd_loo, p_loo, elpd_diff, weight, se, dse, warning).
    recommendation : str
        One readable paragraph.
    best : str
        The recommended family.
    models : dict
        ``{family: fitted CountModel}``.
    """

    table: pd.DataFrame
    recommendation: str
    best: str
    models: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        from rdsmodel.diagnostics.report import jsonable

        return jsonable(
            {
                "best": self.best,
                "recommendation": self.recommendation,
                "table": self.table.reset_index(names="family").to_dict(orient="records"),
            }
        )


def recommend(
    table: pd.DataFrame, pareto_bad: Mapping[str, int] | None = None, z: float = 2.0
) -> tuple[str, str]:
    """Pick a family from an :func:`arviz.compare` table.

    The best-ranked family wins unless a simpler one is within ``z`` standard
    errors of the ELPD difference (``elpd_diff <= z * dse``): then the simplest
    such family is preferred.

    Returns
    -------
    best : str
    text : str
    """
    top = table.index[0]
    tied = [
        f for f in table.index if table.loc[f, "elpd_diff"] <= z * max(table.loc[f, "dse"], 1e-12)
    ]
    order = {f: (SIMPLICITY.index(f) if f in SIMPLICITY else len(SIMPLICITY)) for f in tied}
    best = min(tied, key=lambda f: order[f])
    if best == top:
        others = [f for f in table.index if f != top]
        text = f"{top} has the best expected log predictive density (elpd_loo {table.loc[top, 'elpd_loo']:.1f})"
        if others:
            nxt = others[0]
            text += (
                f", ahead of {nxt} by {table.loc[nxt, 'elpd_diff']:.1f} "
                f"(se {table.loc[nxt, 'dse']:.1f})"
            )
        text += f": use family={top!r}."
    else:
        text = (
            f"{top} ranks first but {best} is within {z:g} standard errors "
            f"(elpd_diff {table.loc[best, 'elpd_diff']:.1f}, se {table.loc[best, 'dse']:.1f}): "
            f"prefer the simpler family={best!r}."
        )
    bad = {f: n for f, n in (pareto_bad or {}).items() if n}
    if bad:
        text += (
            " LOO is unreliable for "
            + ", ".join(f"{f} ({n} Pareto k > 0.7)" for f, n in bad.items())
            + "."
        )
    return best, text


def compare_families(
    data,
    families: Sequence[str] = ("nb", "poisson", "zinb", "hurdle"),
    *,
    model_kwargs: Mapping[str, Any] | None = None,
    **fit_kwargs: Any,
) -> FamilyComparison:
    """Fit the count model with each family and compare them by PSIS-LOO.

    Parameters
    ----------
    data : rdsmodel.data.RecruitmentData
    families : sequence of str
        Families to fit (at least two).
    model_kwargs : mapping, optional
        Passed to :class:`rdsmodel.count.CountModel` (covariates, group, priors, ...).
    **fit_kwargs
        Passed to :meth:`rdsmodel.count.CountModel.fit` (draws, chains, seed, ...).

    Returns
    -------
    FamilyComparison
    """
    import warnings

    import arviz as az

    from rdsmodel.count import CountModel, get_family

    names = [get_family(f).name for f in families]
    if len(set(names)) < 2:
        raise ValueError("compare_families needs at least two different families")
    models, elpd, bad = {}, {}, {}
    for name in dict.fromkeys(names):
        model = CountModel(data, family=name, **dict(model_kwargs or {}))
        model.fit(**fit_kwargs)
        models[name] = model
        elpd[name] = loo(model.idata)
        bad[name] = int(np.sum(np.asarray(elpd[name].pareto_k) > 0.7))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = az.compare(elpd, ic="loo")
    best, text = recommend(table, bad)
    return FamilyComparison(table=table, recommendation=text, best=best, models=models)
