r"""Count families for referral capacity, in PyTensor (for the model) and numpy (for prediction).

Every family is written in terms of the log mean :math:`\eta = \log\mu` and
evaluated on a small *grid* of counts :math:`0, 1, \dots, K`, because coupon
bounds are small integers. Two grids are used everywhere:

* ``logpmf_grid[..., y] = log P(C = y)``, ``y = 0..K``;
* ``logsurv_grid[..., k] = log P(C >= k)``, ``k = 0..K`` (``k = 0`` gives 0).

The survival is computed as :math:`\log(1 - \sum_{j<k} P(C = j))` from the
base count law's log-pmf (numpy: a running sum of probabilities; PyTensor: a
running log-sum-exp and ``log1mexp``). Both have an absolute error of about
``1e-16`` in :math:`S(k)`, so :math:`\log S(k)` is accurate to about
``1e-16 / S(k)``: exact for practical purposes, coarse only for events the
model deems nearly impossible. The families are

``nb`` (default)
    Negative binomial with mean :math:`\mu` and dispersion :math:`\phi`,
    :math:`\operatorname{Var} C = \mu + \mu^2/\phi`:

    .. math::
        \log P(C=y) = \log\Gamma(y+\phi) - \log\Gamma(\phi) - \log y!
        + \phi \log\frac{\phi}{\phi+\mu} + y \log\frac{\mu}{\phi+\mu}.

``poisson``
    :math:`\log P(C=y) = y\eta - \mu - \log y!`.

``zinb`` (zero-inflated negative binomial, structural zeros with probability :math:`\psi`)
    :math:`P(0) = \psi + (1-\psi) f(0)`, :math:`P(y) = (1-\psi) f(y)` for
    :math:`y \ge 1`, hence :math:`S(k) = (1-\psi) S_f(k)` for :math:`k \ge 1`.

``hurdle`` (hurdle negative binomial, :math:`\psi = P(C = 0)`)
    :math:`P(0) = \psi`, :math:`P(y) = (1-\psi) f(y) / (1 - f(0))` for
    :math:`y \ge 1`, hence :math:`S(k) = (1-\psi) S_f(k) / S_f(1)`.

Here :math:`f` and :math:`S_f` are the negative binomial pmf and survival.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

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


@dataclass(frozen=True)
class Family:
    """A count family for referral capacity.

    Attributes
    ----------
    name : str
        Short name used in configs and on the command line.
    label : str
        Human-readable name.
    base : {"nb", "poisson"}
        The base count law.
    inflation : {None, "zero", "hurdle"}
        How the zero probability ``psi`` enters, if at all.
    code : int
        Integer code used by the compiled kernel.
    """

    name: str
    label: str
    base: str
    inflation: str | None
    code: int

    @property
    def has_phi(self) -> bool:
        """Whether the family has a dispersion parameter ``phi``."""
        return self.base == "nb"

    @property
    def has_psi(self) -> bool:
        """Whether the family has a zero probability ``psi``."""
        return self.inflation is not None

    @property
    def params(self) -> tuple[str, ...]:
        """Names of the family's own parameters (besides the mean)."""
        return (("phi",) if self.has_phi else ()) + (("psi",) if self.has_psi else ())


FAMILIES: dict[str, Family] = {
    "nb": Family("nb", "negative binomial", "nb", None, 0),
    "poisson": Family("poisson", "Poisson", "poisson", None, 1),
    "zinb": Family("zinb", "zero-inflated negative binomial", "nb", "zero", 2),
    "hurdle": Family("hurdle", "hurdle negative binomial", "nb", "hurdle", 3),
}
_ALIASES = {"negbin": "nb", "negative_binomial": "nb", "pois": "poisson", "hurdle_nb": "hurdle"}


def get_family(family: str | Family) -> Family:
    """Return the :class:`Family` named ``family``.

    Raises
    ------
    ValueError
        If the name is unknown.
    """
    if isinstance(family, Family):
        return family
    key = _ALIASES.get(str(family).lower(), str(family).lower())
    if key not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    return FAMILIES[key]


# --------------------------------------------------------------------------- numpy


def log1mexp(x: np.ndarray) -> np.ndarray:
    r"""Stable :math:`\log(1 - e^{x})` for :math:`x \le 0` (``-inf`` at 0)."""
    x = np.minimum(np.asarray(x, dtype=float), 0.0)
    with np.errstate(divide="ignore"):
        return np.where(x > -np.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


def _base_logpmf_grid(family: Family, eta: np.ndarray, kmax: int, phi) -> np.ndarray:
    y = np.arange(kmax + 1, dtype=float)
    eta = np.asarray(eta, dtype=float)[..., None]
    lfact = special.gammaln(y + 1.0)
    if family.base == "poisson":
        return y * eta - np.exp(eta) - lfact
    phi = np.asarray(phi, dtype=float)[..., None]
    logphi = np.log(phi)
    log_sum = np.logaddexp(logphi, eta)  # log(phi + mu)
    return (
        special.gammaln(y + phi) - special.gammaln(phi) - lfact + phi * (logphi - log_sum) + y * (eta - log_sum)
    )


def _base_logsurv_from_pmf(lp: np.ndarray) -> np.ndarray:
    # S(k) = 1 - F(k-1), accumulated in linear space: as accurate as log1mexp of a running
    # log-sum-exp (absolute error ~1e-16 either way) and several times faster
    cdf = np.cumsum(np.exp(lp[..., :-1]), axis=-1)  # F(k-1), k = 1..K
    out = np.zeros(lp.shape)
    with np.errstate(divide="ignore"):
        out[..., 1:] = np.log(np.clip(1.0 - cdf, 0.0, None))
    return out


def log_grids(family: str | Family, eta, kmax: int, phi=None, psi=None) -> tuple[np.ndarray, np.ndarray]:
    """Both :func:`logpmf_grid` and :func:`logsurv_grid` from one evaluation of the base law."""
    fam = get_family(family)
    base = _base_logpmf_grid(fam, eta, kmax, phi)
    return _inflate_pmf(fam, base, psi), _inflate_surv(fam, _base_logsurv_from_pmf(base), psi)


def _inflate_pmf(fam: Family, lp: np.ndarray, psi) -> np.ndarray:
    if fam.inflation is None:
        return lp
    psi = np.asarray(psi, dtype=float)[..., None]
    log_psi, log_1m = np.log(psi), np.log1p(-psi)
    if fam.inflation == "zero":
        out = log_1m + lp
        out[..., 0] = np.logaddexp(log_psi[..., 0], out[..., 0])
        return out
    log_pos = log1mexp(lp[..., :1])  # log(1 - f(0))
    out = log_1m + lp - log_pos
    out[..., 0] = np.broadcast_to(log_psi[..., 0], out.shape[:-1])
    return out


def _inflate_surv(fam: Family, base: np.ndarray, psi) -> np.ndarray:
    if fam.inflation is None:
        return base
    psi = np.asarray(psi, dtype=float)[..., None]
    log_1m = np.log1p(-psi)
    if fam.inflation == "zero":
        out = log_1m + base
    else:
        out = log_1m + base - base[..., 1:2] if base.shape[-1] > 1 else base.copy()
    out[..., 0] = 0.0
    return out


def logpmf_grid(family: str | Family, eta, kmax: int, phi=None, psi=None) -> np.ndarray:
    """Log-pmf of capacity on the grid ``0..kmax``.

    Parameters
    ----------
    family : str or Family
    eta : array_like
        Log means, any shape ``B``.
    kmax : int
        Largest count on the grid.
    phi, psi : array_like, optional
        Dispersion and zero probability, broadcastable against ``eta``.

    Returns
    -------
    numpy.ndarray
        Shape ``B + (kmax + 1,)``.
    """
    fam = get_family(family)
    return _inflate_pmf(fam, _base_logpmf_grid(fam, eta, kmax, phi), psi)


def logsurv_grid(family: str | Family, eta, kmax: int, phi=None, psi=None) -> np.ndarray:
    r"""Log-survival :math:`\log P(C \ge k)` on the grid ``k = 0..kmax`` (first entry 0).

    Parameters are as in :func:`logpmf_grid`.
    """
    fam = get_family(family)
    return _inflate_surv(fam, _base_logsurv_from_pmf(_base_logpmf_grid(fam, eta, kmax, phi)), psi)


def random_capacity(
    family: str | Family, eta, phi=None, psi=None, *, rng: np.random.Generator
) -> np.ndarray:
    """Draw capacities ``C`` from the family (numpy), shape of ``eta`` broadcast with the parameters.

    Parameters
    ----------
    family : str or Family
    eta : array_like
        Log means.
    phi, psi : array_like, optional
        Family parameters.
    rng : numpy.random.Generator
        Source of randomness.
    """
    fam = get_family(family)
    eta = np.asarray(eta, dtype=float)
    mu = np.exp(eta)
    if fam.base == "poisson":
        draws = rng.poisson(mu)
    else:
        phi = np.broadcast_to(np.asarray(phi, dtype=float), mu.shape)
        draws = rng.poisson(rng.gamma(phi, mu / phi))
    if fam.inflation is None:
        return draws.astype(np.int64)
    psi = np.broadcast_to(np.asarray(psi, dtype=float), mu.shape)
    if fam.inflation == "zero":
        return np.where(rng.random(mu.shape) < psi, 0, draws).astype(np.int64)
    # hurdle: zero with probability psi, else a zero-truncated NB draw (rejection on the few zeros)
    positive = draws.copy()
    todo = positive == 0
    for _ in range(1000):
        if not todo.any():
            break
        redraw = rng.poisson(rng.gamma(phi[todo], mu[todo] / phi[todo]))
        positive[todo] = redraw
        todo = positive == 0
    if todo.any():  # means so small that rejection stalls: the truncated law is then ~ 1
        positive[todo] = 1
    return np.where(rng.random(mu.shape) < psi, 0, positive).astype(np.int64)


# --------------------------------------------------------------------------- pytensor


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
