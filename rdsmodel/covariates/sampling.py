"""Run the sampler and assemble the covariate model's ``InferenceData``.

After sampling, the posterior keeps only the named parameters
(:data:`rdsmodel.covariates.graph.POSTERIOR_VARS`), padding beyond a field's
levels is set to ``nan``, latent classes are aligned across chains and sorted
by weight, and three groups are added in numpy:

* ``log_likelihood``: ``pairs`` [pair] (row-wise, for LOO) or, with latent
  classes, ``trees`` [tree] (pairs are not conditionally independent there);
* ``observed_data``: the count tables ``transitions`` [field, parent_level,
  level] and ``parent_missing`` [field, level];
* with matrix fields (``transitions="matrix"``/``"auto"``), in the posterior:
  ``transition`` [matrix_field, parent_level, level] and
  ``transition_population`` [matrix_field, level], exact draws from their
  conjugate Dirichlet posteriors (:func:`rdsmodel.covariates.transitions.draw_transition_posterior`),
  one per chain and draw, from ``numpy.random.default_rng([seed, 11])``: a
  stream of its own, so the other groups are as without matrices;
* ``posterior_predictive``: the same tables replicated under posterior
  samples: multinomial rows given the observed recruiter levels (exact for the
  independent-field model) or, with latent classes, recruits simulated by the
  offspring law given their recruiters' covariates.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from .graph import POSTERIOR_VARS
from .offspring import InheritanceOffspring
from .params import (
    InheritanceParams,
    config_json,
    marginal_recruit,
    pair_log_likelihood,
    transition_matrix,
)

if TYPE_CHECKING:
    from .model import CovariateModel

__all__ = ["finish_idata", "run_sampler"]


def _nutpie_available() -> bool:
    try:
        import nutpie  # noqa: F401
    except ImportError:
        return False
    return True


def run_sampler(
    model,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int | None,
    progressbar: bool,
    sampler: str | None = None,
):
    """Sample ``model``.

    ``sampler``: ``"nutpie"`` (default when nutpie is importable: nutpie's NUTS
    on the C-compiled log-density, see :mod:`rdsmodel.covariates.nutpie_c`),
    ``"nutpie-numba"`` (``nutpie.compile_pymc_model``: 30 s or more of Numba
    compilation) or ``"pymc"`` (``pm.sample``).
    """
    if sampler not in (None, "nutpie", "nutpie-numba", "pymc"):
        raise ValueError(f"sampler must be 'nutpie', 'nutpie-numba' or 'pymc', got {sampler!r}")
    for name, value in (("draws", draws), ("tune", tune), ("chains", chains)):
        if int(value) != value or value < (0 if name == "tune" else 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    cores = max(1, min(chains, os.cpu_count() or 1))
    if sampler is None:
        sampler = "nutpie" if _nutpie_available() else "pymc"
    if sampler.startswith("nutpie"):
        import nutpie

        if sampler == "nutpie":
            from .nutpie_c import compile_c_pyfunc

            names = [v for v in (*POSTERIOR_VARS, "tree_loglik") if v in model.named_vars]
            compiled = compile_c_pyfunc(model, names)
        else:
            compiled = nutpie.compile_pymc_model(model)
        return nutpie.sample(
            compiled,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            seed=seed,
            progress_bar=progressbar,
            save_warmup=False,
        )
    import pymc as pm

    return pm.sample(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        random_seed=seed,
        progressbar=progressbar,
        compute_convergence_checks=False,
        model=model,
    )


def _mask_padding(posterior: xr.Dataset, fields: list, L: int) -> xr.Dataset:
    """Set entries beyond each field's levels to nan."""
    cat = [s for s in fields if s.is_categorical]
    mask = np.zeros((len(cat), L), dtype=bool)
    for k, s in enumerate(cat):
        mask[k, : s.n_levels] = True
    valid = xr.DataArray(
        mask,
        dims=("field", "level"),
        coords={"field": posterior["field"], "level": posterior["level"]},
    )
    for name in ("pi", "rho_level", "class_pi"):
        if name in posterior:
            posterior[name] = posterior[name].where(valid)
    return posterior


def _align_classes(posterior: xr.Dataset) -> xr.Dataset:
    """Relabel latent classes: align each chain to chain 0, then sort by mean weight."""
    from scipy.optimize import linear_sum_assignment

    pi = posterior["class_pi"].fillna(0.0)
    Z = posterior.sizes["class"]
    profile = np.concatenate(
        [
            pi.mean("draw")
            .transpose("chain", "class", ...)
            .values.reshape(posterior.sizes["chain"], Z, -1),
            posterior["class_weight"].mean("draw").transpose("chain", "class").values[..., None],
        ],
        axis=2,
    )
    perms = []
    for c in range(posterior.sizes["chain"]):
        cost = ((profile[0][:, None, :] - profile[c][None, :, :]) ** 2).sum(axis=2)
        _, cols = linear_sum_assignment(cost)
        perms.append(cols)  # chain c's class cols[k] is class k of chain 0
    chains = []
    for c, perm in enumerate(perms):
        part = posterior.isel(chain=[c])
        for name in ("class_weight", "class_pi"):
            part[name] = (
                part[name].isel({"class": perm}).assign_coords({"class": posterior["class"]})
            )
        chains.append(part)
    aligned = xr.concat(chains, dim="chain")
    order = np.argsort(-aligned["class_weight"].mean(("chain", "draw")).values, kind="stable")
    for name in ("class_weight", "class_pi"):
        aligned[name] = (
            aligned[name].isel({"class": order}).assign_coords({"class": posterior["class"]})
        )
    return aligned


def _observed(model: CovariateModel) -> xr.Dataset:
    L = model.counts.transitions.shape[1]
    coords = {
        "field": model.categorical_fields,
        "parent_level": np.arange(L),
        "level": np.arange(L),
    }
    return xr.Dataset(
        {
            "transitions": (("field", "parent_level", "level"), model.counts.transitions),
            "parent_missing": (("field", "level"), model.counts.parent_missing),
        },
        coords=coords,
    )


def _predictive_multinomial(
    params: InheritanceParams, model: CovariateModel, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Replicated tables given the observed recruiter levels (independent-field model)."""
    rows = model.counts.transitions.sum(axis=2).astype(np.int64)  # (F, L)
    P = params.apply_matrices(transition_matrix(params.rho, params.pi[:, 0]))  # (S, F, L, L)
    P = np.clip(P, 0.0, None)
    P /= np.where(P.sum(axis=3, keepdims=True) > 0, P.sum(axis=3, keepdims=True), 1.0)
    P[P.sum(axis=3) == 0] = np.eye(P.shape[3])[0]
    trans = rng.multinomial(np.broadcast_to(rows, P.shape[:3]), P)
    m = marginal_recruit(params.rho, params.pi[:, 0], params.population())
    m = np.clip(params.apply_matrix_marginals(m), 0.0, None)
    m /= m.sum(axis=2, keepdims=True)
    totals = model.counts.parent_missing.sum(axis=1).astype(np.int64)  # (F,)
    pmiss = rng.multinomial(np.broadcast_to(totals, m.shape[:2]), m)
    return trans.astype(float), pmiss.astype(float)


def _predictive_simulated(
    params: InheritanceParams, model: CovariateModel, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Replicated tables by simulating every recruit from its recruiter (any model)."""
    table = model.data.table
    forest = model.forest
    edges = forest.edges
    parents_pos, n_children = np.unique(forest.parent[edges], return_counts=True)
    parents = table.iloc[parents_pos].reset_index(drop=True)
    off = InheritanceOffspring(model.fields, params, numeric_bins=model.numeric_bins)
    cat_pos = [k for k, s in enumerate(model.fields) if s.is_categorical]
    parent_codes = forest.codes[parents_pos]
    L = model.counts.transitions.shape[1]
    S, F = params.n_samples, len(cat_pos)
    trans = np.zeros((S, F, L, L))
    pmiss = np.zeros((S, F, L))
    for s in range(S):
        kids = off.sample(parents, n_children, rng, sample=s)
        codes = off.encode(kids)[:, cat_pos]
        pc = parent_codes[kids["parent"].to_numpy()]
        for k in range(F):
            both = (pc[:, k] >= 0) & (codes[:, k] >= 0)
            trans[s, k] = np.bincount(pc[both, k] * L + codes[both, k], minlength=L * L).reshape(
                L, L
            )
            only = (pc[:, k] < 0) & (codes[:, k] >= 0)
            pmiss[s, k] = np.bincount(codes[only, k], minlength=L)
    return trans, pmiss


def _add_matrices(model: CovariateModel, posterior: xr.Dataset, seed: int | None) -> xr.Dataset:
    """Add the conjugate draws of the matrix fields' ``T`` and population law to the posterior."""
    from .transitions import draw_transition_posterior

    names = model.categorical_fields
    idx = [names.index(n) for n in model.matrix_fields]
    specs = [s for s in model.fields if s.is_categorical]
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    rng = np.random.default_rng(None if seed is None else [int(seed), 11])
    T, q = draw_transition_posterior(
        model.counts.transitions[idx],
        [specs[k].n_levels for k in idx],
        model.transition_prior,
        rng,
        n_chain * n_draw,
    )
    L = T.shape[-1]
    coords = {
        "chain": posterior["chain"].values,
        "draw": posterior["draw"].values,
        "matrix_field": list(model.matrix_fields),
        "parent_level": np.arange(L),
        "level": posterior["level"].values if "level" in posterior.coords else np.arange(L),
    }
    extra = xr.Dataset(
        {
            "transition": (
                ("chain", "draw", "matrix_field", "parent_level", "level"),
                T.reshape(n_chain, n_draw, *T.shape[1:]),
            ),
            "transition_population": (
                ("chain", "draw", "matrix_field", "level"),
                q.reshape(n_chain, n_draw, *q.shape[1:]),
            ),
        },
        coords=coords,
    )
    return posterior.assign(extra.data_vars)


def finish_idata(
    model: CovariateModel,
    idata: Any,
    *,
    seed: int | None,
    log_likelihood: bool,
    ppc_draws: int | None,
):
    """Clean the posterior and add ``log_likelihood``, ``observed_data`` and ``posterior_predictive``."""
    post = idata.posterior
    keep = [v for v in POSTERIOR_VARS if v in post]
    tree_ll = post["tree_loglik"] if "tree_loglik" in post else None
    cleaned = post[keep]
    cleaned = cleaned.drop_vars(
        [c for c in cleaned.coords if c not in cleaned.dims and c not in ("chain", "draw")]
    )
    L = model.counts.transitions.shape[1]
    if model.categorical_fields:
        cleaned = _mask_padding(cleaned, model.fields, L)
    if model.latent_classes and model.categorical_fields:
        cleaned = _align_classes(cleaned)
    if model.matrix_fields:
        cleaned = _add_matrices(model, cleaned, seed)
    config = model.config
    cleaned.attrs = dict(post.attrs)
    cleaned.attrs["rdsplan_config"] = config_json(config)
    groups: dict[str, Any] = {"posterior": cleaned}
    if "sample_stats" in idata.groups():
        groups["sample_stats"] = idata.sample_stats

    params = InheritanceParams.from_posterior(cleaned, model.fields)
    if log_likelihood:
        shape = (cleaned.sizes["chain"], cleaned.sizes["draw"])
        if tree_ll is not None:
            groups["log_likelihood"] = xr.Dataset(
                {"trees": tree_ll.transpose("chain", "draw", "tree")}
            )
        else:
            ll = pair_log_likelihood(params, model.pairs, model.fields).reshape(*shape, -1)
            groups["log_likelihood"] = xr.Dataset(
                {"pairs": (("chain", "draw", "pair"), ll)},
                coords={
                    "chain": cleaned["chain"],
                    "draw": cleaned["draw"],
                    "pair": np.arange(ll.shape[2]),
                },
            )

    if model.categorical_fields:
        observed = _observed(model)
        groups["observed_data"] = observed
        rng = np.random.default_rng(None if seed is None else [int(seed), 7])
        n_chain, n_draw = cleaned.sizes["chain"], cleaned.sizes["draw"]
        limit = (
            ppc_draws
            if ppc_draws is not None
            else (200 if model.latent_classes else n_chain * n_draw)
        )
        per_chain = max(1, min(n_draw, -(-limit // n_chain)))
        draw_idx = np.unique(np.linspace(0, n_draw - 1, per_chain).round().astype(int))
        flat = (np.arange(n_chain)[:, None] * n_draw + draw_idx[None, :]).ravel()
        sub = params.take(flat)
        if model.latent_classes:
            trans, pmiss = _predictive_simulated(sub, model, rng)
        else:
            trans, pmiss = _predictive_multinomial(sub, model, rng)
        dims = {"chain": cleaned["chain"].values, "draw": cleaned["draw"].values[draw_idx]}
        shape = (n_chain, len(draw_idx))
        groups["posterior_predictive"] = xr.Dataset(
            {
                "transitions": (
                    ("chain", "draw", "field", "parent_level", "level"),
                    trans.reshape(*shape, *trans.shape[1:]),
                ),
                "parent_missing": (
                    ("chain", "draw", "field", "level"),
                    pmiss.reshape(*shape, *pmiss.shape[1:]),
                ),
            },
            coords={**dims, **{k: v.values for k, v in observed.coords.items()}},
        )

    import arviz as az

    out = az.InferenceData(**groups)
    return out


def config_of(idata: Any) -> dict[str, Any]:
    """The configuration stored in a covariate posterior's attributes."""
    return json.loads(idata.posterior.attrs["rdsplan_config"])
