"""The posterior adapter: a fitted study and its frontier become :class:`PlanningInputs`.

This is the one place where model objects (``rdsmodel``) meet the planners'
arrays. Everything a planner reads is computed here, once:

* survival curves of the frontier per posterior sample, truncated at
  ``L = min(cap, budget)`` (:func:`planning.inputs.choose_truncation`), where
  the cap defaults to the most coupons anyone in the study was given;
* the pooled capacity law of future recruits per sample, on ``0..budget``
  with the tail mass last (the population DP never gives one person more than
  the budget, so that support is exact for it);
* the recruit-covariate law (when a covariate model was fitted) and the
  frontier's covariates;
* the posterior predictive distance between observed and predicted redeemed
  counts on closed coupon windows, which the error statements use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from planning.errors import PlanningError
from planning.inputs import PlanningInputs, choose_truncation

__all__ = ["default_cap", "planning_inputs", "ppc_estimate"]


def default_cap(data: Any) -> int:
    """Most coupons given to one respondent in the study (3 if none were given yet)."""
    issued = data.table["coupons_issued"].dropna()
    return int(issued.max()) if len(issued) else 3


def planning_inputs(
    data: Any,
    count: Any,
    covariate: Any = None,
    *,
    budget: int,
    max_per_person: int | None = None,
    samples: int | None = 200,
    seed: int = 1,
    pooled: bool = True,
) -> PlanningInputs:
    """Build the planners' inputs for ``data``'s frontier from fitted models.

    Parameters
    ----------
    data : rdsmodel.data.RecruitmentData
        The study; its frontier (rows with no coupons issued yet) is planned for.
    count : rdsmodel.count.CountModel
        Fitted or reloaded count model.
    covariate : rdsmodel.covariates.CovariateModel, optional
        Fitted recruit-covariate model (covariate-aware planners need it).
    budget : int
        Coupons left (bounds the truncation and the pooled law's support).
    max_per_person : int, optional
        Coupons one person may get (default :func:`default_cap`).
    samples : int, optional
        Posterior draws to use (evenly spaced; default 200, at most what the
        posterior holds; ``None`` for all).
    seed : int
        Seed for the effects of groups the fit never saw.
    pooled : bool
        Compute the pooled law of future recruits (multi-round planners).

    Returns
    -------
    PlanningInputs

    Raises
    ------
    planning.errors.PlanningError
        Empty frontier, or a cap below 1.
    """
    frontier = data.frontier
    if frontier.empty:
        raise PlanningError(
            "the study has no frontier: every respondent has been given coupons already"
        )
    cap = default_cap(data) if max_per_person is None else int(max_per_person)
    length = choose_truncation(budget, cap)
    posterior = count.idata.posterior
    available = int(posterior.sizes["chain"] * posterior.sizes["draw"])
    used = available if samples is None else min(int(samples), available)
    survival = count.survival(frontier, max_coupons=length, samples=used, seed=seed)
    pooled_pmf = None
    if pooled:
        law = count.population_pmf(max_count=max(budget, length) + 1, samples=used, tail=True)
        pooled_pmf = law.values
    offspring = None if covariate is None else covariate.offspring()
    return PlanningInputs.from_arrays(
        survival,
        caps=min(cap, length),
        pooled_pmf=pooled_pmf,
        offspring=offspring,
        frontier=frontier.reset_index(drop=True),
        ppc=ppc_estimate(data, count, samples=min(used, 100), seed=seed),
        provenance={
            "samples": used,
            "posterior_draws": available,
            "truncation": length,
            "max_per_person": cap,
            "seed": seed,
        },
    )


def ppc_estimate(data: Any, count: Any, *, samples: int, seed: int):
    """Posterior predictive distance between observed and predicted redeemed counts.

    Uses the respondents whose coupon windows closed (their redeemed count is
    ``min(C, k)``); returns None when there are none.
    """
    from planning.bounds import ppc_tv

    table = data.table
    closed = table[table["window_closed"] & ~table["is_frontier"] & (table["coupons_issued"] > 0)]
    if closed.empty:
        return None
    coupons = closed["coupons_issued"].to_numpy(dtype=np.int64)
    curves = count.survival(closed, max_coupons=int(coupons.max()), samples=samples, seed=seed)
    return ppc_tv(closed["n_recruits"].to_numpy(dtype=np.int64), coupons, curves, seed=seed)
