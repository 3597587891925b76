r"""The redemption-delay law, fitted from interview times, and what it gives open windows.

A coupon that will be redeemed is redeemed :math:`D` days after its
recruiter's interview, with

.. math::
    G(t) = P(D \le t), \qquad G(t) = \frac{F_\theta(\min(t, w))}{F_\theta(w)},

:math:`F_\theta` a gamma or lognormal distribution function and :math:`w` the
coupon window (no truncation, :math:`F_\theta(w) = 1`, when the study has no
window). Delays are assumed independent of each other and of the
recruiter's capacity.

**Fit.** Every recruit with a recruiter in the table and both interview times
gives an observed delay :math:`d_j` (in days, floored at one hour so that a
recruit interviewed with the recruiter stays in the support). A recruiter
whose window is closed at the cut-off has had all its redemptions: its delays
are draws from :math:`G`. A recruiter whose window is still open, interviewed
:math:`\tau` days before the cut-off, shows only the delays :math:`\le \tau`
(right truncation). The (conditional) likelihood is therefore

.. math::
    \ell(\theta) = \sum_j \log f_\theta(d_j) - \log F_\theta(\min(T_j, w)),
    \qquad T_j = \begin{cases} \tau_{r(j)} & \text{open window} \\ \infty & \text{closed,} \end{cases}

maximised once before sampling (scipy), for a gamma and for a lognormal
:math:`F_\theta`; the family with the larger maximum is kept (both have two
parameters). The gamma family contains the exponential delays of the
toolkit's simulator; the lognormal suits long right tails. Fitting once and
plugging :math:`\hat G` in ignores the uncertainty of :math:`\hat G`, which is
small next to that of the capacity (hundreds of delays against one count per
recruiter); :meth:`DelayLaw.summary` reports the number of delays used.

**Open windows.** An open window with :math:`k` coupons and :math:`y`
redemptions :math:`\tau` days after the interview has

.. math::
    P(y) = \sum_{c=0}^{k} P(C = c \,\text{or}\, C \ge k \text{ at } c = k)\,
           \binom{\min(c, k)}{y} G(\tau)^y (1 - G(\tau))^{\min(c, k) - y}.

:func:`open_weights` gives the binomial factors (constants once :math:`G` is
fixed). :math:`\tau` is binned to ``bin_days`` (default one day) and
:math:`G` taken at the bin's midpoint, so open rows compress into patterns
like closed ones; :math:`G` moves by at most :math:`g(\tau)/2` within a day
and the error of the midpoint over a bin is of second order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rdsmodel.errors import ModelError

__all__ = ["DELAY_FAMILIES", "DelayLaw", "fit_delay_law", "open_weights", "recruitment_delays"]

DELAY_FAMILIES = ("gamma", "lognormal")
_MIN_DELAY_DAYS = 1.0 / 24.0
_DAY = pd.Timedelta(days=1)


def _dist(family: str, params: np.ndarray):
    from scipy import stats  # imported when used: planning never needs it

    if family == "gamma":
        return stats.gamma(a=float(params[0]), scale=float(params[1]))
    if family == "lognormal":
        return stats.lognorm(s=float(params[1]), scale=float(np.exp(params[0])))
    raise ModelError(f"unknown delay family {family!r}; known: {', '.join(DELAY_FAMILIES)}")


@dataclass(frozen=True)
class DelayLaw:
    r"""A fitted redemption-delay law :math:`G(t)` (days).

    Attributes
    ----------
    family : {"gamma", "lognormal"}
    params : tuple of float
        gamma: ``(shape, scale)``; lognormal: ``(mu, sigma)`` of :math:`\log D`.
    window : float or None
        Coupon window in days (the law is truncated to it), ``None`` for none.
    n_delays : int
        Observed recruiter-to-recruit delays the fit used.
    n_truncated : int
        Of which from open windows (right truncated).
    loglik : float
        Maximised log-likelihood.
    """

    family: str
    params: tuple[float, ...]
    window: float | None
    n_delays: int
    n_truncated: int
    loglik: float

    def cdf(self, t: np.ndarray | float) -> np.ndarray:
        r""":math:`G(t) = F(\min(t, w)) / F(w)`: probability that a coupon to be redeemed is redeemed by ``t`` days."""
        dist = _dist(self.family, np.asarray(self.params))
        t = np.asarray(t, dtype=float)
        if self.window is None:
            return dist.cdf(np.maximum(t, 0.0))
        return np.clip(dist.cdf(np.clip(t, 0.0, self.window)) / dist.cdf(self.window), 0.0, 1.0)

    def mean(self) -> float:
        """Mean delay in days (of the truncated law when there is a window)."""
        dist = _dist(self.family, np.asarray(self.params))
        if self.window is None:
            return float(dist.mean())
        return float(dist.expect(lb=0.0, ub=self.window, conditional=True))

    def quantile(self, q: float) -> float:
        """Delay quantile in days."""
        dist = _dist(self.family, np.asarray(self.params))
        scale = 1.0 if self.window is None else dist.cdf(self.window)
        return float(dist.ppf(q * scale))

    def summary(self) -> str:
        """One sentence: the family, its parameters, median and mean, and the delays behind it."""
        if self.family == "gamma":
            par = f"shape {self.params[0]:.2f}, scale {self.params[1]:.2f} d"
        else:
            par = f"log-mean {self.params[0]:.2f}, log-sd {self.params[1]:.2f}"
        win = "" if self.window is None else f", truncated at the {self.window:g}-day window"
        return (
            f"redemption delay {self.family} ({par}{win}): median {self.quantile(0.5):.1f} d, "
            f"mean {self.mean():.1f} d, fitted on {self.n_delays} recruiter-to-recruit delays "
            f"({self.n_truncated} right-truncated at the cut-off)"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (stored in ``idata.posterior.attrs["rdsplan_delay_law"]``)."""
        return {
            "family": self.family,
            "params": [float(p) for p in self.params],
            "window": self.window,
            "n_delays": int(self.n_delays),
            "n_truncated": int(self.n_truncated),
            "loglik": float(self.loglik),
            "median_days": self.quantile(0.5),
            "mean_days": self.mean(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DelayLaw:
        """Inverse of :meth:`to_dict`."""
        return cls(
            str(d["family"]),
            tuple(float(p) for p in d["params"]),
            None if d.get("window") is None else float(d["window"]),
            int(d["n_delays"]),
            int(d["n_truncated"]),
            float(d["loglik"]),
        )


def _days(delta) -> np.ndarray:
    return np.asarray(pd.to_timedelta(delta) / _DAY, dtype=float)


def recruitment_delays(data) -> tuple[np.ndarray, np.ndarray]:
    """Observed recruiter-to-recruit delays and their truncation points, in days.

    Parameters
    ----------
    data : rdsmodel.data.RecruitmentData
        With ``interview_time`` and a cut-off.

    Returns
    -------
    delays : numpy.ndarray
        ``(m,)`` delays (floored at one hour).
    truncation : numpy.ndarray
        ``(m,)`` the recruiter's time to the cut-off when its window is open, ``inf`` when closed.
    """
    table = data.table
    if "interview_time" not in table.columns:
        return np.empty(0), np.empty(0)
    times = pd.to_datetime(table["interview_time"])
    pos = pd.Series(np.arange(len(table)), index=table["id"].astype(str).to_numpy())
    rec = table["recruiter_id"]
    has = rec.notna().to_numpy()
    rec_pos = pos.reindex(rec[has].astype(str).to_numpy()).to_numpy()
    child = np.flatnonzero(has)
    ok = ~np.isnan(rec_pos)
    child, parent = child[ok], rec_pos[ok].astype(np.int64)
    t_child = times.to_numpy()[child]
    t_parent = times.to_numpy()[parent]
    ok = ~(np.isnat(t_child) | np.isnat(t_parent))
    child, parent = child[ok], parent[ok]
    t_child, t_parent = t_child[ok], t_parent[ok]
    delays = np.maximum(_days(t_child - t_parent), _MIN_DELAY_DAYS)
    closed = table["window_closed"].to_numpy(dtype=bool)[parent]
    trunc = np.full(len(delays), np.inf)
    cutoff = getattr(data, "cutoff", None)
    if cutoff is not None and (~closed).any():
        cut = np.datetime64(pd.Timestamp(cutoff).to_datetime64(), "ns")
        trunc[~closed] = np.maximum(
            _days(cut - t_parent[~closed].astype("datetime64[ns]")), _MIN_DELAY_DAYS
        )
    return delays, trunc


def _negloglik(family: str, theta: np.ndarray, d: np.ndarray, upper: np.ndarray) -> float:
    from scipy import special, stats

    if family == "gamma":
        shape, scale = np.exp(theta)
        logf = stats.gamma.logpdf(d, a=shape, scale=scale)
        logF = stats.gamma.logcdf(upper, a=shape, scale=scale)
    else:
        mu, sigma = theta[0], np.exp(theta[1])
        logf = stats.lognorm.logpdf(d, s=sigma, scale=np.exp(mu))
        logF = special.log_ndtr((np.log(upper) - mu) / sigma)
    value = -(np.sum(logf) - np.sum(logF[np.isfinite(upper)]))
    return float(value) if np.isfinite(value) else 1e300


def fit_delay_law(
    delays: np.ndarray,
    truncation: np.ndarray,
    window: float | None = None,
    families: tuple[str, ...] = DELAY_FAMILIES,
) -> DelayLaw:
    r"""Maximum-likelihood delay law under right truncation (see the module docstring).

    Parameters
    ----------
    delays, truncation : numpy.ndarray
        From :func:`recruitment_delays` (days; ``inf``: not truncated).
    window : float, optional
        Coupon window in days: the law is truncated to it.
    families : tuple of str
        Candidate families; the one with the largest maximum is kept.

    Returns
    -------
    DelayLaw

    Raises
    ------
    rdsmodel.errors.ModelError
        With fewer than two delays.
    """
    from scipy import optimize

    d = np.asarray(delays, dtype=float)
    trunc = np.asarray(truncation, dtype=float)
    if len(d) < 2:
        raise ModelError(
            f"open coupon windows need the redemption delay law, but only {len(d)} recruiter-to-recruit "
            "delay(s) are observed: use --open-windows exclude"
        )
    if window is not None:
        d = np.minimum(d, window)
        trunc = np.minimum(trunc, window)
    best = None
    logd = np.log(d)
    for family in families:
        if family == "gamma":
            m, v = d.mean(), max(d.var(), 1e-6)
            start = np.log([max(m * m / v, 0.05), max(v / m, 1e-3)])
        else:
            start = np.array([logd.mean(), np.log(max(logd.std(), 0.05))])
        res = optimize.minimize(
            lambda th, f=family: _negloglik(f, th, d, trunc),
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000},
        )
        theta = res.x
        params = (
            tuple(np.exp(theta))
            if family == "gamma"
            else (float(theta[0]), float(np.exp(theta[1])))
        )
        if best is None or -res.fun > best.loglik:
            best = DelayLaw(
                family,
                tuple(float(p) for p in params),
                window,
                len(d),
                int(np.isfinite(np.asarray(truncation, dtype=float)).sum()),
                float(-res.fun),
            )
    return best


def open_weights(k: np.ndarray, y: np.ndarray, g: np.ndarray, kmax: int) -> np.ndarray:
    r"""Binomial factors of the open-window likelihood.

    .. math::
        W_{c} = \binom{\min(c, k)}{y} G^y (1 - G)^{\min(c, k) - y}, \quad c = 0..k,

    zero for :math:`c > k` (column :math:`k` multiplies :math:`P(C \ge k)`).

    Parameters
    ----------
    k, y, g : numpy.ndarray
        ``(Q,)`` coupons, redemptions so far and :math:`G(\tau)`.
    kmax : int
        Width of the grid (``kmax + 1`` columns), at least ``max(k)``.

    Returns
    -------
    numpy.ndarray
        ``(Q, kmax + 1)``.
    """
    from scipy import stats

    k = np.asarray(k, dtype=np.int64)
    y = np.asarray(y, dtype=np.int64)
    g = np.asarray(g, dtype=float)
    c = np.arange(kmax + 1)[None, :]
    m = np.minimum(c, k[:, None])
    w = stats.binom.pmf(y[:, None], m, g[:, None])
    return np.where(c <= k[:, None], w, 0.0)
