r"""Count families for referral capacity in PyTensor, for the count model's graph.

The families and their numpy laws live in :mod:`rdsmodel.laws.capacity` (the
one home of the maths, documented there); this module re-exports them for the
count model and adds the PyTensor versions of the two grids

* ``logpmf_grid_pt(...)[:, y] = log P(C = y)``, ``y = 0..K``;
* ``logsurv_grid_pt(...)[:, k] = log P(C >= k)``, ``k = 0..K`` (``k = 0`` gives 0),

with the same parametrisation. The log-survival is a running log-sum-exp of
the base law's log-pmf followed by ``log1mexp``; like the numpy grid its
absolute error in :math:`S(k)` is about ``1e-16``. A test checks both against
each other and against scipy.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from rdsmodel.laws.capacity import (
    FAMILIES,
    Family,
    get_family,
    log1mexp,
    log_grids,
    logpmf_grid,
    logsurv_grid,
    random_capacity,
)

__all__ = [
    "FAMILIES",
    "Family",
    "get_family",
    "log1mexp",
    "log_grids",
    "logpmf_grid",
    "logpmf_grid_pt",
    "logsurv_grid",
    "logsurv_grid_pt",
    "random_capacity",
]


def _pt_base_logpmf_grid(family: Family, eta, kmax: int, phi):
    import pytensor.tensor as pt

    y = np.arange(kmax + 1, dtype=float)
    lfact = special.gammaln(y + 1.0)
    eta_c = eta[:, None]
    if family.base == "poisson":
        return y[None, :] * eta_c - pt.exp(eta_c) - lfact[None, :]
    logphi = pt.log(phi)
    log_sum = pt.logaddexp(logphi, eta_c)
    # log Gamma(y + phi) - log Gamma(phi) = sum_{j<y} log(phi + j): exact for integer y, no gammaln
    steps = pt.log(phi + np.arange(kmax, dtype=float))
    gam = pt.concatenate([pt.zeros((1,)), pt.cumsum(steps)])
    return gam[None, :] - lfact[None, :] + phi * (logphi - log_sum) + y[None, :] * (eta_c - log_sum)


def _pt_base_logsurv(lp, kmax: int):
    import pytensor.tensor as pt

    cols = [pt.zeros_like(lp[:, 0])]
    log_cdf = None
    for k in range(1, kmax + 1):
        log_cdf = lp[:, 0] if log_cdf is None else pt.logaddexp(log_cdf, lp[:, k - 1])
        cols.append(pt.log1mexp(pt.minimum(log_cdf, np.float64(-1e-16))))
    return pt.stack(cols, axis=1)


def logpmf_grid_pt(family: str | Family, eta, kmax: int, phi=None, psi=None):
    """PyTensor version of :func:`logpmf_grid` for a vector ``eta``; returns ``(len(eta), kmax + 1)``."""
    import pytensor.tensor as pt

    fam = get_family(family)
    lp = _pt_base_logpmf_grid(fam, eta, kmax, phi)
    if fam.inflation is None:
        return lp
    log_psi, log_1m = pt.log(psi), pt.log1p(-psi)
    if fam.inflation == "zero":
        first = pt.logaddexp(log_psi, log_1m + lp[:, 0])
        return pt.concatenate([first[:, None], log_1m + lp[:, 1:]], axis=1)
    log_pos = pt.log1mexp(pt.minimum(lp[:, 0], np.float64(-1e-300)))
    first = pt.zeros_like(lp[:, 0]) + log_psi
    return pt.concatenate([first[:, None], log_1m + lp[:, 1:] - log_pos[:, None]], axis=1)


def logsurv_grid_pt(family: str | Family, eta, kmax: int, phi=None, psi=None):
    """PyTensor version of :func:`logsurv_grid` for a vector ``eta``; returns ``(len(eta), kmax + 1)``."""
    import pytensor.tensor as pt

    fam = get_family(family)
    base = _pt_base_logsurv(_pt_base_logpmf_grid(fam, eta, kmax, phi), kmax)
    if fam.inflation is None or kmax == 0:
        return base
    log_1m = pt.log1p(-psi)
    rest = log_1m + base[:, 1:]
    if fam.inflation == "hurdle":
        rest = rest - base[:, 1:2]
    return pt.concatenate([base[:, :1], rest], axis=1)
