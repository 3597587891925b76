r"""Referral-capacity count laws in numpy: the one home of their pmf, survival, moments and draws.

Capacity ``C`` is the number of peers a person would bring if coupons were not
limiting. Every family is written in terms of the log mean
:math:`\eta = \log\mu` (plus a dispersion :math:`\phi` and a zero probability
:math:`\psi` where the family has them) and evaluated on a small *grid* of
counts :math:`0, 1, \dots, K`, because coupon bounds are small integers:

* ``logpmf_grid[..., y] = log P(C = y)``, ``y = 0..K``;
* ``logsurv_grid[..., k] = log P(C >= k)``, ``k = 0..K`` (``k = 0`` gives 0).

The survival is :math:`S(k) = 1 - \sum_{j<k} P(C = j)` of the base count law
(:func:`survival_from_pmf`), with an absolute error of about ``1e-16``, so
:math:`\log S(k)` is accurate to about ``1e-16 / S(k)``: exact for practical
purposes, coarse only for events the law deems nearly impossible.

Base laws (``Family.base``)
    ``nb``: negative binomial with mean :math:`\mu` and dispersion :math:`\phi`,
    :math:`\operatorname{Var} C = \mu + \mu^2/\phi` (PyMC's ``alpha`` is
    :math:`\phi`; scipy's ``nbinom(n=phi, p=phi/(phi+mu))``):

    .. math::
        \log f(y) = \log\Gamma(y+\phi) - \log\Gamma(\phi) - \log y!
        + \phi \log\frac{\phi}{\phi+\mu} + y \log\frac{\mu}{\phi+\mu};

    ``poisson``: :math:`\log f(y) = y\eta - \mu - \log y!`.

Zero inflation (``Family.inflation``), :math:`\psi` the probability of a zero
    ``"zero"`` (structural zeros): :math:`P(0) = \psi + (1-\psi) f(0)`,
    :math:`P(y) = (1-\psi) f(y)` for :math:`y \ge 1`, hence
    :math:`S(k) = (1-\psi) S_f(k)` for :math:`k \ge 1`;

    ``"hurdle"``: :math:`P(0) = \psi`, :math:`P(y) = (1-\psi) f(y) / (1 - f(0))`
    for :math:`y \ge 1`, hence :math:`S(k) = (1-\psi) S_f(k) / S_f(1)`.

(PyMC's zero-inflated ``psi`` is the probability of the *count* component,
``1 - psi`` here.) The four families the count model fits are in
:data:`FAMILIES`; :func:`family_of` names any base/inflation pair (the
simulator also uses zero-inflated and hurdle Poisson laws).

Nothing here imports PyMC, PyTensor or numba: the count model's predictions,
the simulator's ground truth and the planners' inputs all read these laws.

Examples
--------
>>> import numpy as np
>>> pmf_grid("nb", np.log(2.0), 3, phi=1.5, tail=True).round(4)
array([0.2806, 0.2405, 0.1718, 0.3072])
>>> survival_grid("poisson", np.log([1.0, 3.0]), 2).round(4)
array([[0.6321, 0.2642],
       [0.9502, 0.8009]])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = [
    "FAMILIES",
    "Family",
    "capacity_mean",
    "family_of",
    "get_family",
    "log1mexp",
    "log_grids",
    "logpmf_grid",
    "logsurv_grid",
    "pmf_grid",
    "random_capacity",
    "survival_from_pmf",
    "survival_grid",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


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
    code : int or None
        Integer code of the count model's compiled kernel; ``None`` for a
        family the count model does not fit (see :func:`family_of`).
    """

    name: str
    label: str
    base: Literal["nb", "poisson"]
    inflation: Literal["zero", "hurdle"] | None
    code: int | None = None

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


#: The families the count model fits, by name.
FAMILIES: dict[str, Family] = {
    "nb": Family("nb", "negative binomial", "nb", None, 0),
    "poisson": Family("poisson", "Poisson", "poisson", None, 1),
    "zinb": Family("zinb", "zero-inflated negative binomial", "nb", "zero", 2),
    "hurdle": Family("hurdle", "hurdle negative binomial", "nb", "hurdle", 3),
}
_ALIASES = {"negbin": "nb", "negative_binomial": "nb", "pois": "poisson", "hurdle_nb": "hurdle"}
_OTHERS = {
    ("poisson", "zero"): Family("zip", "zero-inflated Poisson", "poisson", "zero"),
    ("poisson", "hurdle"): Family("hurdle_poisson", "hurdle Poisson", "poisson", "hurdle"),
}


def get_family(family: str | Family) -> Family:
    """Return the count-model :class:`Family` named ``family`` (a :class:`Family` passes through).

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


def family_of(base: str, inflation: str | None = None) -> Family:
    """The family with base law ``base`` (``"nb"`` or ``"poisson"``) and zero ``inflation``.

    Returns the count model's own family where there is one, else a family
    the count model does not fit (zero-inflated or hurdle Poisson).
    """
    for fam in FAMILIES.values():
        if (fam.base, fam.inflation) == (base, inflation):
            return fam
    if (base, inflation) not in _OTHERS:
        raise ValueError(f"no count family with base {base!r} and inflation {inflation!r}")
    return _OTHERS[(base, inflation)]


# --------------------------------------------------------------------------- grids


def log1mexp(x: ArrayLike) -> FloatArray:
    r"""Stable :math:`\log(1 - e^{x})` for :math:`x \le 0` (``-inf`` at 0)."""
    x = np.minimum(np.asarray(x, dtype=float), 0.0)
    with np.errstate(divide="ignore"):
        return np.where(x > -np.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def survival_from_pmf(pmf: ArrayLike) -> FloatArray:
    r"""Survival :math:`S(l) = P(C \ge l) = 1 - \sum_{j<l} P(C = j)`, ``l = 1..K``, from a pmf grid.

    Parameters
    ----------
    pmf : array_like, shape (..., K + 1)
        ``pmf[..., j] = P(C = j)`` for ``j < K``; the last column (the point
        mass at ``K`` or the tail ``P(C >= K)``) is not needed.

    Returns
    -------
    numpy.ndarray, shape (..., K)
        Non-increasing in ``l``, clipped to ``[0, 1]``.
    """
    pmf = np.asarray(pmf, dtype=float)
    return np.clip(1.0 - np.cumsum(pmf[..., :-1], axis=-1), 0.0, 1.0)


def _times(y: FloatArray, x: FloatArray) -> FloatArray:
    """``y * x`` with ``0 * (-inf) = 0`` (a zero count under a zero mean)."""
    with np.errstate(invalid="ignore"):
        return np.where(y == 0.0, 0.0, y * x)


def _base_logpmf_grid(fam: Family, eta: ArrayLike, kmax: int, phi: ArrayLike | None) -> FloatArray:
    y = np.arange(kmax + 1, dtype=float)
    eta = np.asarray(eta, dtype=float)[..., None]
    lfact = special.gammaln(y + 1.0)
    if fam.base == "poisson":
        return _times(y, eta) - np.exp(eta) - lfact
    phi = np.asarray(phi, dtype=float)[..., None]
    logphi = np.log(phi)
    log_sum = np.logaddexp(logphi, eta)  # log(phi + mu)
    return (
        special.gammaln(y + phi)
        - special.gammaln(phi)
        - lfact
        + phi * (logphi - log_sum)
        + _times(y, eta - log_sum)
    )


def _base_logsurv(lp: FloatArray) -> FloatArray:
    out = np.zeros(lp.shape)
    with np.errstate(divide="ignore"):
        out[..., 1:] = np.log(survival_from_pmf(np.exp(lp)))
    return out


def _inflate_pmf(fam: Family, lp: FloatArray, psi: ArrayLike | None) -> FloatArray:
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


def _inflate_surv(fam: Family, base: FloatArray, psi: ArrayLike | None) -> FloatArray:
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


def log_grids(
    family: str | Family,
    eta: ArrayLike,
    kmax: int,
    phi: ArrayLike | None = None,
    psi: ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray]:
    """:func:`logpmf_grid` and :func:`logsurv_grid` from one evaluation of the base law.

    Parameters
    ----------
    family : str or Family
    eta : array_like
        Log means of the count component, any shape ``B``.
    kmax : int
        Largest count on the grid, ``K >= 0``.
    phi, psi : array_like, optional
        Dispersion and zero probability, broadcastable against ``eta``.

    Returns
    -------
    logpmf, logsurv : numpy.ndarray
        Each of shape ``B + (kmax + 1,)``.
    """
    fam = get_family(family)
    base = _base_logpmf_grid(fam, eta, kmax, phi)
    return _inflate_pmf(fam, base, psi), _inflate_surv(fam, _base_logsurv(base), psi)


def logpmf_grid(
    family: str | Family,
    eta: ArrayLike,
    kmax: int,
    phi: ArrayLike | None = None,
    psi: ArrayLike | None = None,
) -> FloatArray:
    """Log-pmf ``log P(C = y)`` on the grid ``y = 0..kmax``, shape ``eta.shape + (kmax + 1,)``.

    Parameters are as in :func:`log_grids`.
    """
    fam = get_family(family)
    return _inflate_pmf(fam, _base_logpmf_grid(fam, eta, kmax, phi), psi)


def logsurv_grid(
    family: str | Family,
    eta: ArrayLike,
    kmax: int,
    phi: ArrayLike | None = None,
    psi: ArrayLike | None = None,
) -> FloatArray:
    r"""Log-survival :math:`\log P(C \ge k)` on the grid ``k = 0..kmax`` (first entry 0).

    Parameters are as in :func:`log_grids`.
    """
    fam = get_family(family)
    return _inflate_surv(fam, _base_logsurv(_base_logpmf_grid(fam, eta, kmax, phi)), psi)


def pmf_grid(
    family: str | Family,
    eta: ArrayLike,
    kmax: int,
    phi: ArrayLike | None = None,
    psi: ArrayLike | None = None,
    *,
    tail: bool = False,
) -> FloatArray:
    """``P(C = c)`` for ``c = 0..kmax``, shape ``eta.shape + (kmax + 1,)``.

    With ``tail=True`` the last column is the tail mass ``P(C >= kmax)``
    instead of ``P(C = kmax)``, so every row sums to one (the law of
    ``min(C, kmax)``). Other parameters are as in :func:`log_grids`.
    """
    if not tail:
        return np.exp(logpmf_grid(family, eta, kmax, phi, psi))
    lp, ls = log_grids(family, eta, kmax, phi, psi)
    out = np.exp(lp)
    out[..., -1] = np.exp(ls[..., -1])
    return out


def survival_grid(
    family: str | Family,
    eta: ArrayLike,
    kmax: int,
    phi: ArrayLike | None = None,
    psi: ArrayLike | None = None,
) -> FloatArray:
    """Survival curves ``S(l) = P(C >= l)`` for ``l = 1..kmax``, shape ``eta.shape + (kmax,)``.

    Non-increasing in ``l``, in ``[0, 1]``. Parameters are as in :func:`log_grids`.
    """
    return np.clip(np.exp(logsurv_grid(family, eta, kmax, phi, psi)[..., 1:]), 0.0, 1.0)


# --------------------------------------------------------------------------- moments and draws


def capacity_mean(
    family: str | Family, eta: ArrayLike, phi: ArrayLike | None = None, psi: ArrayLike | None = None
) -> FloatArray:
    r"""Expected capacity :math:`E[C]`.

    :math:`\mu` for the base laws, :math:`(1-\psi)\mu` with structural zeros and
    :math:`(1-\psi)\mu / (1 - f(0))` for a hurdle, with :math:`f(0)` the base
    law's zero probability (:math:`e^{-\mu}` or :math:`(\phi/(\phi+\mu))^\phi`).
    """
    fam = get_family(family)
    mu = np.exp(np.asarray(eta, dtype=float))
    if fam.inflation is None:
        return mu
    keep = 1.0 - np.asarray(psi, dtype=float)
    if fam.inflation == "zero":
        return keep * mu
    if fam.base == "poisson":
        log_f0 = -mu
    else:
        phi = np.asarray(phi, dtype=float)
        log_f0 = phi * (np.log(phi) - np.logaddexp(np.log(phi), np.log(mu)))
    return keep * mu / -np.expm1(log_f0)


def _shape(
    fam: Family, mu: FloatArray, phi: ArrayLike | None, psi: ArrayLike | None
) -> tuple[int, ...]:
    shapes = [mu.shape]
    if fam.has_phi:
        shapes.append(np.shape(phi))
    if fam.has_psi:
        shapes.append(np.shape(psi))
    return np.broadcast_shapes(*shapes)


def _base_draws(
    fam: Family, mu: FloatArray, phi: FloatArray | None, rng: np.random.Generator
) -> IntArray:
    if fam.base == "poisson":
        return rng.poisson(mu)
    return rng.negative_binomial(phi, phi / (phi + mu))


def _positive_draws(
    fam: Family, mu: FloatArray, phi: FloatArray | None, rng: np.random.Generator
) -> IntArray:
    """Draws of the base law given ``C >= 1``, by inversion: one uniform each, no rejection loop."""
    from scipy import stats  # only the hurdle families need scipy.stats (slow to import)

    dist = stats.poisson(mu) if fam.base == "poisson" else stats.nbinom(phi, phi / (phi + mu))
    f0 = dist.cdf(0)
    u = f0 + (1.0 - f0) * rng.random(mu.shape)
    u = np.minimum(u, np.nextafter(1.0, 0.0))  # never exactly 1 (ppf would be infinite)
    return np.maximum(dist.ppf(u), 1).astype(np.int64)


def random_capacity(
    family: str | Family,
    eta: ArrayLike,
    phi: ArrayLike | None = None,
    psi: ArrayLike | None = None,
    *,
    rng: np.random.Generator,
) -> IntArray:
    r"""Draw capacities ``C``, one per entry of ``eta`` broadcast with the parameters.

    The random stream is part of the contract (same generator state, same
    draws): the base law is ``rng.poisson(mu)`` or
    ``rng.negative_binomial(phi, phi / (phi + mu))``; structural zeros then
    take one uniform each (``u < psi``); a hurdle first draws the positive part
    by inversion of the base CDF on :math:`[f(0), 1)` (one uniform each), then
    the zero (one uniform each).

    Parameters
    ----------
    family : str or Family
    eta : array_like
        Log means of the count component.
    phi, psi : array_like, optional
        Family parameters.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray of int64
    """
    fam = get_family(family)
    mu = np.exp(np.asarray(eta, dtype=float))
    shape = _shape(fam, mu, phi, psi)
    mu = np.broadcast_to(mu, shape)
    phi = np.broadcast_to(np.asarray(phi, dtype=float), shape) if fam.has_phi else None
    if fam.inflation == "hurdle":
        count = _positive_draws(fam, mu, phi, rng)
    else:
        count = _base_draws(fam, mu, phi, rng)
    if fam.inflation is None:
        return np.asarray(count, dtype=np.int64).reshape(shape)
    zero = rng.random(shape) < np.asarray(psi, dtype=float)
    return np.where(zero, 0, count).astype(np.int64)
