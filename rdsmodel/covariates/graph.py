"""The PyMC graph of the covariate model (imported lazily: PyMC is slow to import).

Random variables and deterministics (dimension names in brackets):

* ``rho`` [field]: inheritance probability, ``Beta`` (or, with
  ``rho_by_level``, the recruiter-level-weighted mean of ``rho_level``);
* ``rho_level`` [field, level]: ``logit rho_{f,p} = rho_mu_f + rho_sigma_f z_{f,p}``,
  ``z ~ N(0, 1)`` (non-centred partial pooling), only with ``rho_by_level``;
* ``pi`` [field, level]: non-inherited level law, one ``Dirichlet`` per field
  (stacked by number of levels; padding beyond a field's levels is removed
  after sampling); with latent classes the population law ``sum_z w_z pi_z``;
* ``class_weight`` [class], ``class_rho``, ``class_pi`` [class, field, level]:
  latent classes;
* ``intercept``, ``slope``, ``sigma`` [numeric]: numeric regressions on the
  modelling scale (sampled standardised, reported on the modelling scale);
* ``tree_loglik`` [tree]: per-tree log-likelihood of the latent-class model.

The data enter as ``pm.Potential`` terms built from sufficient statistics
(:mod:`rdsmodel.covariates.transitions`) or, with latent classes, from the
pruning recursion over trees (:mod:`rdsmodel.covariates.tree`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pymc as pm
import pytensor
import pytensor.sparse as ps
import pytensor.tensor as pt

from .fields import FieldSpec
from .transitions import CategoricalCounts, NumericMoments
from .tree import RecruitmentForest, upward_pass

__all__ = ["build_pymc_model", "categorical_count_loglik", "numeric_moment_loglik"]

#: Variables kept in the posterior group (raw, standardised and transformed ones are dropped).
POSTERIOR_VARS = (
    "rho",
    "pi",
    "rho_level",
    "rho_mu",
    "rho_sigma",
    "class_weight",
    "class_rho",
    "class_pi",
    "intercept",
    "slope",
    "sigma",
)


def categorical_count_loglik(rho_level, pi_one, pi_zero, counts: CategoricalCounts, xp: Any = pt):
    """Categorical log-likelihood from transition counts.

    .. math::

        \\sum_{f,c} D_{fc} \\log(\\rho_{fc} + (1-\\rho_{fc}) \\pi_{fc})
        + R_{fp} \\log(1-\\rho_{fp}) + C_{fc} \\log \\pi_{fc}
        + M_{fc} \\log\\big(\\pi_{fc}\\rho_{fc} + \\pi_{fc}(1 - \\textstyle\\sum_p \\pi_{fp}\\rho_{fp})\\big)

    Parameters
    ----------
    rho_level : tensor (F, L)
        Inheritance probability by recruiter level.
    pi_one, pi_zero : tensor (F, L)
        The level law padded with ones (finite logs) and with zeros (sums).
    counts : CategoricalCounts
    xp : module
        ``pytensor.tensor`` (default) or ``numpy``.
    """
    has_missing = bool(counts.parent_missing.any())
    D, R, C, M = _data(
        xp, counts.diagonal, counts.off_rows, counts.off_columns, counts.parent_missing
    )
    ll = (D * xp.log(rho_level + (1.0 - rho_level) * pi_one)).sum()
    ll = ll + (R * xp.log1p(-rho_level)).sum() + (C * xp.log(pi_one)).sum()
    if has_missing:
        stay = (pi_zero * rho_level).sum(axis=1)[:, None]
        ll = ll + (M * xp.log(pi_one * rho_level + pi_one * (1.0 - stay))).sum()
    return ll


def numeric_moment_loglik(a, b, s, moments: NumericMoments, xp: Any = pt):
    """Numeric log-likelihood from moments (standardised parameters ``a, b, s`` per field).

    .. math::

        -\\tfrac{n}{2}\\log 2\\pi - n \\log s - \\frac{1}{2s^2}\\sum (z' - a - b z)^2
        + [\\text{missing recruiter: } z' \\sim N(a, \\sqrt{s^2 + b^2})] + \\text{Jacobian}
    """
    has_missing = bool(np.any(moments.nm > 0))
    m = NumericMoments(*_data(xp, *(getattr(moments, k) for k in moments.__dataclass_fields__)))
    sse = m.syy - 2 * a * m.sy - 2 * b * m.sxy + m.n * a**2 + 2 * a * b * m.sx + b**2 * m.sxx
    ll = -0.5 * m.n * np.log(2 * np.pi) - m.n * xp.log(s) - 0.5 * sse / s**2
    if has_missing:
        v = s**2 + b**2
        ssm = m.symm - 2 * a * m.sym + m.nm * a**2
        ll = ll - 0.5 * m.nm * np.log(2 * np.pi) - 0.5 * m.nm * xp.log(v) - 0.5 * ssm / v
    return (ll + m.log_jacobian).sum()


def _data(xp: Any, *arrays: np.ndarray) -> tuple:
    """Data arrays as shared variables in PyTensor graphs (numpy arrays otherwise).

    Keeping counts out of the graph's constants stops PyTensor's rewrites from
    specialising on them: with all-zero constant terms a rewrite
    (``local_sumsqr2dot``, PyTensor 2.x) was seen to loop for minutes.
    """
    if xp is np:
        return tuple(np.asarray(a, dtype=float) for a in arrays)
    return tuple(pytensor.shared(np.asarray(a, dtype=float)) for a in arrays)


def _padded_dirichlet(
    name: str, specs: Sequence[FieldSpec], L: int, concentration: float, classes: int | None = None
):
    """Stack one Dirichlet per group of fields with equal level counts into (..., F, L) tensors."""
    F = len(specs)
    lead = () if classes is None else (classes,)
    pi_zero = pt.zeros((*lead, F, L))
    pi_one = pt.ones((*lead, F, L))
    for K in sorted({s.n_levels for s in specs}):
        idx = np.array([k for k, s in enumerate(specs) if s.n_levels == K])
        rv = pm.Dirichlet(f"_{name}_k{K}", a=np.full((*lead, len(idx), K), concentration))
        if classes is None:
            pi_zero = pt.set_subtensor(pi_zero[idx, :K], rv)
            pi_one = pt.set_subtensor(pi_one[idx, :K], rv)
        else:
            pi_zero = pt.set_subtensor(pi_zero[:, idx, :K], rv)
            pi_one = pt.set_subtensor(pi_one[:, idx, :K], rv)
    return pi_zero, pi_one


def _rho(priors: dict, rho_by_level: bool, level_weights: np.ndarray, L: int):
    if not rho_by_level:
        rho = pm.Beta("rho", alpha=priors["rho"]["alpha"], beta=priors["rho"]["beta"], dims="field")
        return pt.repeat(rho[:, None], L, axis=1)
    mu = pm.Normal(
        "rho_mu", mu=priors["rho_mu"]["mu"], sigma=priors["rho_mu"]["sigma"], dims="field"
    )
    sd = pm.HalfNormal("rho_sigma", sigma=priors["rho_sigma"]["sigma"], dims="field")
    z = pm.Normal("_rho_z", 0.0, 1.0, dims=("field", "level"))
    rho_level = pm.Deterministic(
        "rho_level", pm.math.sigmoid(mu[:, None] + sd[:, None] * z), dims=("field", "level")
    )
    pm.Deterministic("rho", (rho_level * level_weights).sum(axis=1), dims="field")
    return rho_level


def _numeric(specs: Sequence[FieldSpec], moments: NumericMoments, priors: dict) -> None:
    a = pm.Normal("_a", priors["intercept"]["mu"], priors["intercept"]["sigma"], dims="numeric")
    b = pm.Normal("_b", priors["slope"]["mu"], priors["slope"]["sigma"], dims="numeric")
    s = pm.HalfNormal("_s", priors["sigma"]["sigma"], dims="numeric")
    center = np.array([sp.center for sp in specs])
    scale = np.array([sp.scale for sp in specs])
    pm.Deterministic("slope", b, dims="numeric")
    pm.Deterministic("intercept", center * (1 - b) + scale * a, dims="numeric")
    pm.Deterministic("sigma", scale * s, dims="numeric")
    pm.Potential("loglik_numeric", numeric_moment_loglik(a, b, s, moments))


def build_pymc_model(
    specs: Sequence[FieldSpec],
    counts: CategoricalCounts,
    moments: NumericMoments,
    *,
    priors: dict,
    rho_by_level: bool,
    latent_classes: int,
    level_weights: np.ndarray,
    forest: RecruitmentForest | None = None,
    pair_parent_codes: np.ndarray | None = None,
) -> pm.Model:
    """Assemble the PyMC model.

    Parameters
    ----------
    specs : sequence of FieldSpec
        Modelled fields (categorical and numeric).
    counts, moments : sufficient statistics of the pairs.
    priors : dict
        Merged priors (:func:`rdsmodel.covariates.priors.merge_priors`).
    rho_by_level : bool
        Let ``rho`` vary by the recruiter's level (partially pooled).
    latent_classes : int
        Number of latent classes (0: none).
    level_weights : ndarray (F, L)
        Recruiter-level shares, for the field-level ``rho`` under ``rho_by_level``.
    forest : RecruitmentForest, optional
        Required with latent classes.
    """
    cat = [s for s in specs if s.is_categorical]
    num = [s for s in specs if not s.is_categorical]
    L = max([s.n_levels for s in cat], default=1)
    coords: dict[str, Any] = {
        "field": [s.name for s in cat],
        "level": list(range(L)),
        "numeric": [s.name for s in num],
    }
    if latent_classes:
        if forest is None:
            raise ValueError("the latent-class model needs the recruitment forest")
        coords["class"] = list(range(latent_classes))
        coords["tree"] = list(forest.ids[forest.roots])
    with pm.Model(coords=coords) as model:
        if cat:
            rho_level = _rho(priors, rho_by_level, level_weights, L)
            if not latent_classes:
                pi_zero, pi_one = _padded_dirichlet("pi", cat, L, priors["pi"]["concentration"])
                pm.Deterministic("pi", pi_zero, dims=("field", "level"))
                pm.Potential(
                    "loglik_categorical",
                    categorical_count_loglik(rho_level, pi_one, pi_zero, counts),
                )
            else:
                _latent(cat, forest, rho_level, priors, latent_classes, L)
        if num:
            _numeric(num, moments, priors)
    return model


def _latent(
    cat: Sequence[FieldSpec], forest: RecruitmentForest, rho_level, priors: dict, Z: int, L: int
) -> None:
    """Latent-class likelihood over trees (see :mod:`rdsmodel.covariates.tree`)."""
    F = len(cat)
    w = pm.Dirichlet(
        "class_weight", a=np.full(Z, priors["class_weight"]["concentration"]), dims="class"
    )
    crho = pm.Beta(
        "class_rho", alpha=priors["class_rho"]["alpha"], beta=priors["class_rho"]["beta"]
    )
    pz_zero, pz_one = _padded_dirichlet(
        "class_pi", cat, L, priors["class_pi"]["concentration"], classes=Z
    )
    pm.Deterministic("class_pi", pz_zero, dims=("class", "field", "level"))
    pibar = pm.Deterministic(
        "pi", (w[:, None, None] * pz_zero).sum(axis=0), dims=("field", "level")
    )

    # Emission table E[f, p, c, z'] = log P(x'_f = c | x_f = p, Z' = z'), p = L: recruiter missing.
    eye = pt.eye(L)
    inherit = rho_level[:, :, None] * eye[None, :, :]  # (F, p, c)
    pz_fcz = pt.transpose(pz_one, (1, 2, 0))  # (F, c, z)
    keep = (1.0 - rho_level)[:, :, None, None] * pz_fcz[:, None, :, :]  # (F, p, c, z)
    obs = pt.log(inherit[:, :, :, None] + keep)
    stay = (pibar * rho_level).sum(axis=1)  # (F,)
    miss = pt.log(
        (pibar * rho_level)[:, :, None] + (1.0 - stay)[:, None, None] * pz_fcz
    )  # (F, c, z)
    table = pt.concatenate([obs, miss[:, None, :, :]], axis=1)  # (F, L+1, L, Z)
    seed_tab = pt.log(pz_fcz).reshape((F * L, Z))

    # log e (wave order) = A @ [edge table; seed table], A sparse with one 1 per observed field.
    A = emission_matrix(forest, L)
    table_all = pt.concatenate([table.reshape((F * (L + 1) * L, Z)), seed_tab], axis=0)
    log_e = ps.structured_dot(ps.as_sparse_variable(A), table_all)
    log_T = pt.log(crho * pt.eye(Z) + (1.0 - crho) * w[None, :])
    per_tree = upward_pass(forest, log_e, log_T, pt.log(w))
    pm.Deterministic("tree_loglik", per_tree, dims="tree")
    pm.Potential("loglik_trees", per_tree.sum())


def emission_matrix(forest: RecruitmentForest, L: int):
    """Sparse design of the emissions, rows in wave order.

    Row ``i`` (respondent ``forest.wave_order()[i]``) has a one per observed
    field: for a recruit at column ``f (L+1) L + p L + c`` of the edge table
    (``p = L`` for a missing recruiter value), for a root at column
    ``F (L+1) L + f L + c`` of the seed table. Missing values have no entry.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (respondents, F (L+1) L + F L)
    """
    import scipy.sparse as sp

    order = forest.wave_order()
    codes = forest.codes[order]
    parent = forest.parent[order]
    n, F = codes.shape
    f = np.arange(F)[None, :]
    is_root = (parent < 0)[:, None]
    p = np.where(is_root, 0, forest.codes[np.maximum(parent, 0)])
    p = np.where(p < 0, L, p)
    edge_col = f * (L + 1) * L + p * L + codes
    root_col = F * (L + 1) * L + f * L + codes
    cols = np.where(is_root, root_col, edge_col)
    keep = codes >= 0
    rows = np.broadcast_to(np.arange(n)[:, None], codes.shape)
    return sp.csr_matrix(
        (np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(n, F * (L + 1) * L + F * L)
    )
