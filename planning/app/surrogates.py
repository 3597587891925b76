"""GFP surrogates of a fitted posterior: fitted once on rollouts of the fitted models, then reused.

``rdsplan plan --method gfp`` needs the value surrogate
``V(r, F) = sum_j w_j(r) (1 - exp(-sum_{x in F} h_j(x)))`` of the fitted
models (DESIGN.md, Generative Frontier Planning). It is fitted by fitted value
iteration (:func:`planning.gfp_fit.fit_surrogate`) on rollouts in which

* recruits' covariates follow the fitted recruit-covariate model (its
  posterior-mean offspring law), and
* each person's capacity follows the fitted count model's posterior
  predictive law given their covariates (:class:`FittedCapacity`; recruits
  carry no site, so a site effect is drawn from its population distribution),

and saved beside the posterior as ``POSTERIOR.gfp.json`` with the posterior's
identity (:func:`posterior_identity`), the discount and the budget it covers.
A later plan on the same posterior, with the same discount and a budget the
saved surrogate covers, reuses it instead of refitting.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from planning.errors import PlanningError

__all__ = ["FittedCapacity", "gfp_surrogate", "posterior_identity", "surrogate_path"]

#: Posterior draws averaged into the predictive capacity law of the rollouts.
PREDICTIVE_DRAWS = 40
#: Site label of rollout recruits: one the fit never saw, so its effect is drawn per draw.
NEW_SITE = "<rollout site>"


@dataclass
class FittedCapacity:
    """The fitted count model's posterior predictive capacity law of any table of people.

    Implements :class:`planning.rollout.CapacityModel`: ``pmf(frame, max_count)``
    is ``(person, max_count + 1)`` with the tail mass last, averaged over
    :data:`PREDICTIVE_DRAWS` evenly spaced posterior draws.
    """

    count: Any

    def pmf(self, frame: Any, max_count: int, sample: int | None = None) -> np.ndarray:
        import pandas as pd

        columns = list(self.count.covariates)
        # The law depends only on the capacity covariates: compute it once per distinct pattern.
        patterns = frame[columns].drop_duplicates() if columns else frame.iloc[:1][[]]
        table = patterns.reset_index(drop=True)
        if self.count.group_column is not None:
            table[self.count.group_column] = NEW_SITE  # recruits' sites: u from its population
        table["id"] = np.arange(len(table)).astype(str)
        law = self.count.capacity_pmf(
            table, max_count=int(max_count), samples=PREDICTIVE_DRAWS, tail=True, seed=0
        ).values.mean(axis=0)
        if not columns:
            return np.repeat(law, len(frame), axis=0)
        keys = pd.MultiIndex.from_frame(patterns.astype(str))
        rows = keys.get_indexer(pd.MultiIndex.from_frame(frame[columns].astype(str)))
        return law[rows]


def posterior_identity(fit: Any) -> str:
    """A digest of the fitted posteriors' draws and configuration (what a surrogate depends on)."""
    digest = hashlib.blake2b(digest_size=12)
    # the posterior groups as read (model.stored): no ArviZ on the planning path
    for stored in (fit.count.stored, None if fit.covariate is None else fit.covariate.stored):
        if stored is None:
            continue
        for name in sorted(stored.posterior.data_vars):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(stored.posterior[name].values).tobytes())
    return digest.hexdigest()


def surrogate_path(posterior: str | os.PathLike) -> Path:
    """Where the GFP surrogate of a posterior file is kept."""
    posterior = Path(posterior)
    return posterior.with_name(posterior.stem + ".gfp.json")


def _covers(surrogate: Any, identity: str, gamma: float, budget: int) -> bool:
    return (
        surrogate.identity == identity
        and surrogate.gamma is not None
        and abs(float(surrogate.gamma) - gamma) < 1e-12
        and surrogate.scale >= budget
    )


def gfp_surrogate(
    fit: Any,
    inputs: Any,
    budget: int,
    gamma: float,
    *,
    posterior: str | os.PathLike | None = None,
    max_per_round: int | None = None,
    seed: int = 0,
    progress: Callable[[str], None] = lambda _: None,
):
    """The GFP surrogate of ``fit``: reused from beside ``posterior`` when it covers the
    request, else fitted on rollouts of the fitted models (and saved there).

    Parameters
    ----------
    fit : planning.app.workflows.FittedStudy
        Needs a covariate model (GFP values covariate types).
    inputs : planning.PlanningInputs
        The frontier the rollouts start from.
    budget : int
        Coupons left; the surrogate is fitted up to the next power of two.
    gamma : float
        Discount.
    posterior : path-like, optional
        The posterior file; without it nothing is saved or reused.

    Returns
    -------
    planning.gfp.GFPSurrogate
    """
    from planning.gfp import GFPSurrogate
    from planning.gfp_fit import fit_surrogate_from_inputs

    if fit.covariate is None or inputs.offspring is None:
        raise PlanningError(
            "--method gfp needs the recruit-covariate model (fit without --no-covariate-model, "
            "on a study with categorical covariates); use --method dp otherwise"
        )
    identity = posterior_identity(fit)
    path = None if posterior is None else surrogate_path(posterior)
    if path is not None and path.exists():
        try:
            saved = GFPSurrogate.from_json(path.read_text(encoding="utf-8"))
        except PlanningError:
            saved = None  # unreadable or of an older format: refit
        if saved is not None and _covers(saved, identity, gamma, budget):
            progress(f"reusing the GFP surrogate {path}")
            return saved
    scale = 1 << max(1, int(np.ceil(np.log2(max(budget, 2)))))
    progress(
        f"fitting the GFP surrogate on rollouts of the fitted models (budget up to {scale}) ..."
    )
    surrogate = fit_surrogate_from_inputs(
        inputs,
        scale,
        capacity=FittedCapacity(fit.count),
        gamma=gamma,
        max_per_round=max_per_round,
        identity=identity,
        seed=seed,
    )
    if path is not None:
        from rdsmodel.persistence import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text(surrogate.to_json(), encoding="utf-8")
        progress(f"wrote {path}")
    return surrogate
