"""The posterior adapter: a fitted study and its frontier become :class:`PlanningInputs`.

This is the one place where model objects (``rdsmodel``) meet the planners'
arrays. Everything a planner reads is computed here, once:

* survival curves of the frontier per posterior sample, truncated at
  ``L = min(cap, budget)`` (:func:`planning.inputs.choose_truncation`), where
  the cap defaults to the most coupons anyone in the study was given;
* the pooled capacity law of future recruits per sample, on ``0..budget``
  with the tail mass last (the population DP never gives one person more than
  the budget, so that support is exact for it), at most on
  ``0..MAX_POOLED_SUPPORT`` (:data:`planning.inputs.MAX_POOLED_SUPPORT`);
* the recruit-covariate law (when a covariate model was fitted) and the
  frontier's covariates;
* the posterior predictive distance between observed and predicted redeemed
  counts on closed coupon windows, which the error statements use;
* with priority subgroups (:class:`planning.priorities.Priority`): the
  expected recruit weight ``E[w(X') | x_i]`` of every frontier member per
  posterior sample, exact from the covariate model's offspring law; the
  pooled weight of a future recruit's recruit (the same expectation averaged
  over the fitted respondents the pooled capacity law averages over,
  capacity and recruit weight taken as independent in the pool); and the
  probability that a recruit of each frontier member falls in each reported
  subgroup. Count-model sample ``d`` is paired with covariate-model sample
  ``d mod D`` (:func:`planning.priorities.offspring_samples`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from planning.errors import PlanningError
from planning.inputs import (
    MAX_POOLED_SUPPORT,
    PlanningInputs,
    check_planning_size,
    choose_truncation,
)

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
    priority: Any = None,
    subgroups: Sequence[Any] = (),
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
    priority : planning.priorities.Priority, optional
        Recruit weights: the inputs then carry the expected weights, the
        pooled weight and the probabilities of the priority's subgroups.
    subgroups : sequence of Pattern or str
        Further subgroups to report expected recruits for (e.g. those of
        ``--coverage``).

    Returns
    -------
    PlanningInputs

    Raises
    ------
    planning.errors.PlanningError
        Empty frontier, a cap below 1, or priorities without a covariate
        model or naming covariates or levels it does not have.
    """
    frontier = data.frontier
    if frontier.empty:
        raise PlanningError(
            "the study has no frontier: every respondent has been given coupons already"
        )
    cap = default_cap(data) if max_per_person is None else int(max_per_person)
    length = choose_truncation(budget, cap)
    posterior = count.stored.posterior
    available = int(posterior.sizes["chain"] * posterior.sizes["draw"])
    used = available if samples is None else min(int(samples), available)
    check_planning_size(used, len(frontier), length)
    survival = count.survival(frontier, max_coupons=length, samples=used, seed=seed)
    pooled_pmf = None
    if pooled:
        support = max(min(int(budget), MAX_POOLED_SUPPORT), length)
        law = count.population_pmf(max_count=support + 1, samples=used, tail=True)
        pooled_pmf = law.values
    offspring = None if covariate is None else covariate.offspring()
    people = frontier.reset_index(drop=True)
    provenance = {
        "samples": used,
        "posterior_draws": available,
        "truncation": length,
        "max_per_person": cap,
        "seed": seed,
    }
    weights = pooled_weight = None
    groups: dict[str, Any] = {}
    patterns = _patterns(priority, subgroups)
    if priority is not None or patterns:
        if offspring is None:
            raise PlanningError(
                f"{getattr(priority, 'origin', '--coverage')} needs the recruit-covariate model, which "
                "this posterior does not have: refit with categorical covariates (rdsplan fit fits "
                "it when the study has them)"
            )
    if priority is not None:
        weights = priority.expected_weights(offspring, people, samples=used)
        pool = data.fit_rows if len(data.fit_rows) else data.table
        pooled_weight = priority.pooled_weight(offspring, pool.reset_index(drop=True), used)
        provenance["priority"] = str(priority)
    if patterns:
        from planning.priorities import subgroup_probabilities

        probs = subgroup_probabilities(
            patterns, offspring, people, used, origin=getattr(priority, "origin", "--coverage")
        )
        groups = {p.label: probs[..., j] for j, p in enumerate(patterns)}
    return PlanningInputs.from_arrays(
        survival,
        caps=min(cap, length),
        pooled_pmf=pooled_pmf,
        offspring=offspring,
        frontier=people,
        ppc=ppc_estimate(data, count, samples=min(used, 100), seed=seed),
        provenance=provenance,
        weights=weights,
        pooled_weight=pooled_weight,
        subgroups=groups,
    )


def _patterns(priority: Any, extra: Sequence[Any]) -> list[Any]:
    """The priority's subgroups, then the extra ones (text is parsed), without repeats."""
    from planning.priorities import Pattern

    out: list[Any] = list(priority.subgroups) if priority is not None else []
    for item in extra:
        pattern = Pattern.parse(item) if isinstance(item, str) else getattr(item, "subgroup", item)
        if pattern.label not in [p.label for p in out]:
            out.append(pattern)
    return out


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
    curves = count.survival(
        closed, max_coupons=int(coupons.max()), samples=samples, seed=seed
    ).values
    # ppc_tv uses the predictive law averaged over samples, which is linear in the curves: hand it
    # the mean curve (one "sample") instead of (sample, row, L) copies of its laws.
    mean = curves.mean(axis=0, keepdims=True)
    del curves
    return ppc_tv(closed["n_recruits"].to_numpy(dtype=np.int64), coupons, mean, seed=seed)
