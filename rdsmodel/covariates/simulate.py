"""Simulate recruitment tables from a known offspring law (tests, benchmarks, examples).

Seeds draw their covariates from the population law (``class_weight`` then
the class-specific ``pi``; numeric fields from the population normal on the
modelling scale); every respondent then recruits ``Poisson(mean_recruits)``
peers (at least one per seed until the target size is reached) whose
covariates come from :meth:`InheritanceOffspring.sample`, carrying the true
latent class along the edges.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rdsmodel.laws.inheritance import draw_categorical as _draw_rows

from .fields import MISSING_LABEL
from .offspring import InheritanceOffspring

__all__ = ["simulate_table"]


def simulate_table(
    law: InheritanceOffspring,
    n_respondents: int,
    rng: np.random.Generator | int | None,
    *,
    n_seeds: int = 10,
    mean_recruits: float = 1.6,
    missing_rate: float = 0.0,
) -> pd.DataFrame:
    """A canonical field table (``id``, ``recruiter_id``, ``coupons_issued``, covariates).

    Parameters
    ----------
    law : InheritanceOffspring
        The true law (single sample: the posterior-mean parameters are used).
    n_respondents : int
        Table size (recruitment stops once reached).
    rng : numpy.random.Generator or int
    n_seeds : int
    mean_recruits : float
        Poisson mean of recruits per respondent (>= 1 keeps chains going).
    missing_rate : float
        Share of covariate values blanked at random after simulation.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    P = law.params.mean()
    Z = P.n_classes
    z = _draw_rows(np.broadcast_to(P.class_weight[0], (n_seeds, Z)), rng)
    cols: dict[str, object] = {}
    for j, k in enumerate(law._cat):
        spec = law.fields[k]
        probs = P.pi[0, z, j, : spec.n_levels]
        cols[spec.name] = np.array(spec.levels, dtype=object)[_draw_rows(probs, rng)]
    for k in law._num:
        spec = law.fields[k]
        cols[spec.name] = spec.untransform(
            spec.pop_mean + spec.pop_sd * rng.standard_normal(n_seeds)
        )
    frame = pd.DataFrame(cols)[law.field_names]
    frame.insert(0, "recruiter_id", None)
    frame.insert(0, "id", [f"s{i}" for i in range(n_seeds)])
    frames, classes = [frame], [z]
    frontier, fz, total = frame, z, n_seeds
    while total < n_respondents and len(frontier):
        n = rng.poisson(mean_recruits, len(frontier))
        if total == n_seeds:
            n = np.maximum(n, 1)
        n = np.minimum(
            n, np.maximum(0, n_respondents - total - np.concatenate([[0], np.cumsum(n)[:-1]]))
        )
        onehot = np.eye(Z)[fz] if Z > 1 else None
        kids = law.sample(frontier, n, rng, class_probs=onehot, return_classes=True)
        ids = [f"r{total + i}" for i in range(len(kids))]
        kz = (
            kids.pop("class").to_numpy() if "class" in kids else np.zeros(len(kids), dtype=np.int64)
        )
        kids.insert(0, "recruiter_id", frontier["id"].to_numpy()[kids.pop("parent").to_numpy()])
        kids.insert(0, "id", ids)
        frames.append(kids)
        classes.append(kz)
        frontier, fz, total = kids, kz, total + len(kids)
    table = pd.concat(frames, ignore_index=True)
    recruits = table["recruiter_id"].value_counts()
    table.insert(
        2, "coupons_issued", np.maximum(3, table["id"].map(recruits).fillna(0).astype(int))
    )
    for name in law.field_names:
        col = table[name].astype(object)
        col[col == MISSING_LABEL] = None
        if missing_rate > 0:
            col[rng.random(len(col)) < missing_rate] = None
        table[name] = col
    table.attrs["true_class"] = np.concatenate(classes)
    return table
