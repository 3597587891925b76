r"""The censored count likelihood: the PyMC model, and pointwise values in numpy.

The PyMC model (:func:`build_pymc_model`) is the reference definition of the
posterior. Its likelihood is one ``pm.Potential`` over the compressed counts
of :mod:`rdsmodel.count.compression`:

.. math::
    \ell(\theta) = \sum_{p,y} \text{exact}_{py} \log P(C = y \mid \eta_p)
                 + \sum_{p,k} \text{censored}_{pk} \log P(C \ge k \mid \eta_p),
    \qquad \eta_p = b_0 + x_p^\top \beta + \sigma_u z_{g(p)},

plus, for open coupon windows under ``open_windows="delay"``, the open types
of :mod:`rdsmodel.count.compression`,

.. math::
    \sum_q n_q \log\Big(\sum_{c<k_q} W_{qc} P(C = c \mid \eta_{p_q})
                        + W_{qk_q} P(C \ge k_q \mid \eta_{p_q})\Big)

(:func:`open_loglik_pt`). The closed part is the same as summing ``pm.Censored(dist, lower=None, upper=censor_at)``
over respondents (a test checks this against scipy), but costs one small
``(patterns, K + 1)`` grid instead of one incomplete-beta function per
respondent. The compiled kernel (:mod:`rdsmodel.count.kernel`) evaluates the
same density.

:func:`outcome_loglik` gives the pointwise log-likelihood of every distinct
outcome under every posterior draw (for LOO), computed in numpy after sampling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rdsmodel.count.compression import Cells
from rdsmodel.count.families import (
    Family,
    get_family,
    log_grids,
    logpmf_grid_pt,
    logsurv_grid_pt,
)
from rdsmodel.count.priors import make_prior, make_prior_dist

__all__ = ["build_pymc_model", "open_loglik", "open_loglik_pt", "outcome_loglik", "parameter_names"]

_CHUNK_ELEMENTS = 4_000_000


def parameter_names(family: Family, n_terms: int, grouped: bool) -> tuple[str, ...]:
    """Prior-carrying parameters of a model, in kernel order."""
    names = ["b0"]
    if n_terms:
        names.append("beta")
    if grouped:
        names.append("sigma_u")
    return (*names, *family.params)


def build_pymc_model(
    cells: Cells,
    *,
    family: str | Family,
    priors: Mapping[str, Mapping[str, Any]],
    terms: Sequence[str],
    groups: Sequence[str] | None,
    centring=None,
):
    r"""Build the PyMC model of the compressed data.

    Parameters
    ----------
    cells : Cells
        Compressed observations.
    family : str or Family
    priors : mapping
        Resolved priors (see :func:`rdsmodel.count.priors.resolve_priors`).
    terms : sequence of str
        Names of the design columns (coordinate ``term``).
    groups : sequence of str or None
        Group labels (coordinate ``group``); ``None`` for no group effect.
    centring : GroupCentring, optional
        How the group effects are sampled (:func:`rdsmodel.count.inputs.group_centring`);
        default: Helmert contrasts, non-centred.

    Returns
    -------
    pymc.Model
        The model :math:`b_0 \sim` prior, :math:`u_g \sim N(0, \sigma_u)` i.i.d.,
        written as in :mod:`rdsmodel.count.kernel` (same coordinates, same density).
        Free variables ``b0`` (no groups) or ``b0_groups`` (the mean group log
        mean :math:`b_0 + \bar u`), ``beta`` (term), ``sigma_u``, ``u_raw``
        (contrast: the whitened contrast coordinates :math:`v_j`), ``u_mean_z``
        (:math:`e`, with :math:`\bar u = \sigma_u e / \sqrt G`), ``phi``, ``psi``;
        deterministics ``b0``, ``u`` and ``z`` (group); potential ``loglik``.
    """
    import pymc as pm
    import pytensor.tensor as pt

    from rdsmodel.count.kernel import zero_sum_basis

    fam = get_family(family)
    coords: dict[str, Any] = {"pattern": np.arange(cells.n_patterns)}
    if len(terms):
        coords["term"] = list(terms)
    n_groups = 0 if groups is None else len(groups)
    if groups is not None:
        coords["group"] = list(groups)
        if n_groups > 1:
            coords["contrast"] = [f"c{j}" for j in range(n_groups - 1)]
    with pm.Model(coords=coords) as model:
        if groups is None:
            b0 = make_prior("b0", priors["b0"])
            mean = b0
        else:
            sigma_u = make_prior("sigma_u", priors["sigma_u"])
            e = pm.Normal("u_mean_z", 0.0, 1.0)
            shift = sigma_u * e / np.sqrt(n_groups)
            spec = dict(priors["b0"])

            def shifted(shift, size):
                return make_prior_dist(spec, size=size) + shift

            mean = pm.CustomDist("b0_groups", shift, dist=shifted)
            pm.Deterministic("b0", mean - shift)
        eta = mean + pt.zeros(cells.n_patterns)
        if len(terms):
            beta = make_prior("beta", priors["beta"], dims="term")
            eta = eta + pt.dot(pt.as_tensor(cells.design), beta)
        if groups is not None:
            if n_groups > 1:
                if centring is None:
                    basis = zero_sum_basis(n_groups)
                    kappa = center = np.zeros(n_groups - 1)
                else:
                    basis = np.asarray(centring.basis, dtype=float)
                    kappa = np.asarray(centring.kappa, dtype=float)
                    center = np.asarray(centring.center, dtype=float)
                r = kappa * sigma_u**2
                scale = sigma_u / pt.sqrt(1.0 + r)
                loc = center * sigma_u**2 / (1.0 + r)

                def whitened(sigma, loc, scale, size):
                    return (pm.Normal.dist(0.0, sigma, size=size) - loc) / scale

                v = pm.CustomDist("u_raw", sigma_u, loc, scale, dist=whitened, dims="contrast")
                dev = pt.dot(pt.as_tensor(basis), loc + scale * v)
            else:
                dev = pt.zeros(1)
            u = pm.Deterministic("u", dev + shift, dims="group")
            pm.Deterministic("z", u / sigma_u, dims="group")
            eta = eta + dev[cells.group]
        phi = make_prior("phi", priors["phi"]) if fam.has_phi else None
        psi = make_prior("psi", priors["psi"]) if fam.has_psi else None
        lp = logpmf_grid_pt(fam, eta, cells.kmax, phi, psi)
        ls = logsurv_grid_pt(fam, eta, cells.kmax, phi, psi)
        loglik = pt.sum(cells.exact * lp) + pt.sum(cells.censored[:, 1:] * ls[:, 1:])
        if cells.n_open:
            loglik = loglik + open_loglik_pt(cells, lp, ls)
        pm.Potential("loglik", loglik)
    return model


def _open_masks(cells: Cells) -> tuple[np.ndarray, np.ndarray]:
    """Split the open weights into the pmf part ``(Q, K + 1)`` (columns ``c < k``) and the survival factor ``(Q,)``."""
    cols = np.arange(cells.kmax + 1)[None, :]
    k = cells.open_k[:, None]
    pmf_w = np.where(cols < k, cells.open_weight, 0.0)
    surv_w = cells.open_weight[np.arange(cells.n_open), cells.open_k]
    return pmf_w, surv_w


def open_loglik_pt(cells: Cells, lp, ls):
    r"""PyTensor log-likelihood of the open types given the ``(P, K + 1)`` log pmf and log survival grids.

    :math:`\sum_q n_q \log(\sum_{c<k_q} W_{qc} e^{\text{lp}_{p_q c}} + W_{qk_q} e^{\text{ls}_{p_q k_q}})`,
    summed in linear space (each term is a probability times a factor in [0, 1]).
    """
    import pytensor.tensor as pt

    pmf_w, surv_w = _open_masks(cells)
    pat = cells.open_pattern
    like = pt.sum(pmf_w * pt.exp(lp[pat]), axis=1) + surv_w * pt.exp(ls[pat, cells.open_k])
    return pt.sum(cells.open_count * pt.log(like))


def open_loglik(lp: np.ndarray, ls: np.ndarray, cells: Cells) -> np.ndarray:
    """Numpy log-likelihood of each open type under each draw.

    Parameters
    ----------
    lp, ls : numpy.ndarray
        ``(S, P, K + 1)`` log pmf and log survival grids.
    cells : Cells

    Returns
    -------
    numpy.ndarray
        ``(S, Q)``.
    """
    pmf_w, surv_w = _open_masks(cells)
    pat = cells.open_pattern
    terms = np.concatenate(
        [
            np.log(np.where(pmf_w > 0, pmf_w, 1.0))[None]
            + np.where(pmf_w > 0, lp[:, pat], -np.inf),
            (
                np.log(np.where(surv_w > 0, surv_w, 1.0))
                + np.where(surv_w > 0, ls[:, pat, cells.open_k], -np.inf)
            )[..., None],
        ],
        axis=-1,
    )
    from scipy.special import logsumexp

    return logsumexp(terms, axis=-1)


def outcome_loglik(
    family: str | Family,
    eta: np.ndarray,
    phi: np.ndarray | None,
    psi: np.ndarray | None,
    cells: Cells,
) -> np.ndarray:
    """Log-likelihood of each distinct outcome under each draw.

    Parameters
    ----------
    family : str or Family
    eta : numpy.ndarray
        ``(S, P)`` log means of the patterns under ``S`` draws.
    phi, psi : numpy.ndarray or None
        ``(S,)`` family parameters.
    cells : Cells

    Returns
    -------
    numpy.ndarray
        ``(S, O)``: ``log P(C = y)`` for exact outcomes, ``log P(C >= k)`` for censored ones,
        the open-window likelihood (:func:`open_loglik`) for open types.
    """
    fam = get_family(family)
    n_draws, n_pat = eta.shape
    out = np.empty((n_draws, len(cells.outcome_weight)))
    step = max(1, _CHUNK_ELEMENTS // max(1, n_pat * (cells.kmax + 1)))
    pat, val, cen = cells.outcome_pattern, cells.outcome_value, cells.outcome_censored
    is_open = (
        np.zeros(len(pat), dtype=bool) if cells.outcome_open is None else cells.outcome_open >= 0
    )
    for lo in range(0, n_draws, step):
        sl = slice(lo, lo + step)
        ph = None if phi is None else phi[sl, None]
        ps = None if psi is None else psi[sl, None]
        lp, ls = log_grids(fam, eta[sl], cells.kmax, ph, ps)
        out[sl] = np.where(cen[None, :], ls[:, pat, val], lp[:, pat, val])
        if is_open.any():
            out[sl, is_open] = open_loglik(lp, ls, cells)[:, cells.outcome_open[is_open]]
    return out
