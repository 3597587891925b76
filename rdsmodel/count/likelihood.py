r"""The censored count likelihood: the PyMC model, and pointwise values in numpy.

The PyMC model (:func:`build_pymc_model`) is the reference definition of the
posterior. Its likelihood is one ``pm.Potential`` over the compressed counts
of :mod:`rdsmodel.count.compression`:

.. math::
    \ell(\theta) = \sum_{p,y} \text{exact}_{py} \log P(C = y \mid \eta_p)
                 + \sum_{p,k} \text{censored}_{pk} \log P(C \ge k \mid \eta_p),
    \qquad \eta_p = b_0 + x_p^\top \beta + \sigma_u z_{g(p)},

which is the same as summing ``pm.Censored(dist, lower=None, upper=censor_at)``
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
from rdsmodel.count.priors import make_prior

__all__ = ["build_pymc_model", "outcome_loglik", "parameter_names"]

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
    ncp: Sequence[float] | None = None,
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
    ncp : sequence of float, optional
        Per group non-centring weight :math:`w_g \in [0, 1]`: the sampled variable is
        :math:`v_g = u_g / \sigma_u^{w_g} \sim N(0, \sigma_u^{1 - w_g})` (1, the default:
        non-centred :math:`z_g`; 0: centred :math:`u_g`; in between: partially non-centred).

    Returns
    -------
    pymc.Model
        Free variables ``b0``, ``beta`` (term), ``sigma_u``, ``u_raw`` (group: the
        :math:`v_g` above), ``phi``, ``psi``; deterministics ``u`` and ``z`` (group);
        potential ``loglik``.
    """
    import pymc as pm
    import pytensor.tensor as pt

    fam = get_family(family)
    coords: dict[str, Any] = {"pattern": np.arange(cells.n_patterns)}
    if len(terms):
        coords["term"] = list(terms)
    if groups is not None:
        coords["group"] = list(groups)
    with pm.Model(coords=coords) as model:
        b0 = make_prior("b0", priors["b0"])
        eta = b0 + pt.zeros(cells.n_patterns)
        if len(terms):
            beta = make_prior("beta", priors["beta"], dims="term")
            eta = eta + pt.dot(pt.as_tensor(cells.design), beta)
        if groups is not None:
            w = np.ones(len(groups)) if ncp is None else np.clip(np.asarray(ncp, dtype=float), 0.0, 1.0)
            sigma_u = make_prior("sigma_u", priors["sigma_u"])
            raw = pm.Normal("u_raw", 0.0, sigma_u ** (1.0 - w), dims="group")
            u = pm.Deterministic("u", sigma_u**w * raw, dims="group")
            pm.Deterministic("z", u / sigma_u, dims="group")
            eta = eta + u[cells.group]
        phi = make_prior("phi", priors["phi"]) if fam.has_phi else None
        psi = make_prior("psi", priors["psi"]) if fam.has_psi else None
        lp = logpmf_grid_pt(fam, eta, cells.kmax, phi, psi)
        ls = logsurv_grid_pt(fam, eta, cells.kmax, phi, psi)
        pm.Potential("loglik", pt.sum(cells.exact * lp) + pt.sum(cells.censored[:, 1:] * ls[:, 1:]))
    return model


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
        ``(S, O)``: ``log P(C = y)`` for exact outcomes, ``log P(C >= k)`` for censored ones.
    """
    fam = get_family(family)
    n_draws, n_pat = eta.shape
    out = np.empty((n_draws, len(cells.outcome_weight)))
    step = max(1, _CHUNK_ELEMENTS // max(1, n_pat * (cells.kmax + 1)))
    pat, val, cen = cells.outcome_pattern, cells.outcome_value, cells.outcome_censored
    for lo in range(0, n_draws, step):
        sl = slice(lo, lo + step)
        ph = None if phi is None else phi[sl, None]
        ps = None if psi is None else psi[sl, None]
        lp, ls = log_grids(fam, eta[sl], cells.kmax, ph, ps)
        out[sl] = np.where(cen[None, :], ls[:, pat, val], lp[:, pat, val])
    return out
