r"""Compiled log-posterior and gradient of the count model on compressed data (numba).

This is the fast path behind :meth:`rdsmodel.count.CountModel.fit`. It
evaluates exactly the log density of the PyMC model built by
:func:`rdsmodel.count.likelihood.build_pymc_model` (same priors, same
transforms and Jacobians, same normalising constants; a test checks value
and gradient against PyMC) but in one compiled function over the
``(patterns, K + 1)`` count matrices of :mod:`rdsmodel.count.compression`, so
that a gradient costs microseconds and the function is cached on disk
(``cache=True``): no per-model compilation.

Unconstrained parameter vector ``x`` (in this order):

=====================  =====================================================
``b0``                 intercept (centred design)
``beta[0..q-1]``       coefficients
``v[0..G-1]``          group effects (if groups), :math:`v_g = u_g / \sigma_u^{w_g}`
                       (``w_g = 1``: non-centred :math:`z_g`; ``0``: centred :math:`u_g`)
``log sigma_u``        (if groups)
``log phi``            (negative-binomial families)
``logit psi``          (zero-inflated and hurdle families)
=====================  =====================================================

Per pattern with :math:`\eta`, :math:`\theta = \log\phi`,
:math:`L = \log(\phi + \mu)`, :math:`r = \mu / (\phi + \mu)`, the negative
binomial pieces are

.. math::
    \log f(y) &= \sum_{j<y} \log(\phi + j) - \log y! + \phi(\theta - L) + y(\eta - L), \\
    \partial_\eta \log f(y) &= y - (y + \phi) r, \\
    \partial_\theta \log f(y) &= \phi \sum_{j<y} \tfrac{1}{\phi + j} + \phi(\theta - L) + \phi r - y (1 - r),

and the survival :math:`\log S(k) = \log(1 - \sum_{j<k} f(j))` (accumulated in
linear space: as accurate as ``log1mexp`` of a log-sum-exp, and cheaper) has gradient
:math:`-\sum_{j<k} f(j)\, \nabla \log f(j) / S(k)`. The zero-inflated and
hurdle forms follow from :mod:`rdsmodel.count.families` by the chain rule.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["loglik_patterns", "logp_grad", "prior_logp"]

_LOG_2PI = math.log(2.0 * math.pi)
_LOG2 = math.log(2.0)


@numba.njit(cache=True, inline="always", error_model="numpy")
def _log1mexp(x: float) -> float:
    if x > -_LOG2:
        return math.log(-math.expm1(x))
    return math.log1p(-math.exp(x))


@numba.njit(cache=True, inline="always", error_model="numpy")
def _logaddexp(a: float, b: float) -> float:
    hi = max(a, b)
    if hi == -np.inf:
        return hi
    return hi + math.log1p(math.exp(-abs(a - b)))


@numba.njit(cache=True, inline="always", error_model="numpy")
def _log_sigmoid(x: float) -> float:
    if x > 0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


@numba.njit(cache=True, error_model="numpy")
def prior_logp(code: int, a1: float, a2: float, a3: float, v: float) -> tuple[float, float]:
    """Log density and its derivative of a prior at ``v`` (codes of ``priors.KERNEL_PRIORS``)."""
    if code == 0:  # Normal(mu, sigma)
        z = (v - a1) / a2
        return -0.5 * z * z - math.log(a2) - 0.5 * _LOG_2PI, -z / a2
    if code == 1 or code == 5:  # StudentT(nu, mu, sigma) / HalfStudentT(nu, sigma)
        if code == 1:
            nu, mu, s = a1, a2, a3
            const = 0.0
        else:
            nu, mu, s = a1, 0.0, a2
            const = _LOG2
        z = (v - mu) / s
        lp = (
            const
            + math.lgamma(0.5 * (nu + 1.0))
            - math.lgamma(0.5 * nu)
            - 0.5 * math.log(nu * math.pi)
            - math.log(s)
            - 0.5 * (nu + 1.0) * math.log1p(z * z / nu)
        )
        return lp, -(nu + 1.0) * z / (s * (nu + z * z))
    if code == 2:  # Cauchy(alpha, beta)
        z = (v - a1) / a2
        return -math.log(math.pi) - math.log(a2) - math.log1p(z * z), -2.0 * z / (a2 * (1.0 + z * z))
    if code == 3:  # HalfNormal(sigma)
        return 0.5 * math.log(2.0 / math.pi) - math.log(a1) - 0.5 * (v / a1) ** 2, -v / (a1 * a1)
    if code == 4:  # Exponential(lam)
        return math.log(a1) - a1 * v, -a1
    if code == 6:  # HalfCauchy(beta)
        return _LOG2 - math.log(math.pi) - math.log(a1) - math.log1p((v / a1) ** 2), -2.0 * v / (a1 * a1 + v * v)
    if code == 7:  # Gamma(alpha, beta)
        return a1 * math.log(a2) - math.lgamma(a1) + (a1 - 1.0) * math.log(v) - a2 * v, (a1 - 1.0) / v - a2
    if code == 8:  # InverseGamma(alpha, beta)
        lp = a1 * math.log(a2) - math.lgamma(a1) - (a1 + 1.0) * math.log(v) - a2 / v
        return lp, -(a1 + 1.0) / v + a2 / (v * v)
    if code == 9:  # LogNormal(mu, sigma)
        w = (math.log(v) - a1) / a2
        return -math.log(v) - math.log(a2) - 0.5 * _LOG_2PI - 0.5 * w * w, -1.0 / v - w / (a2 * v)
    if code == 10:  # Beta(alpha, beta)
        lp = (
            math.lgamma(a1 + a2) - math.lgamma(a1) - math.lgamma(a2)
            + (a1 - 1.0) * math.log(v) + (a2 - 1.0) * math.log1p(-v)
        )
        return lp, (a1 - 1.0) / v - (a2 - 1.0) / (1.0 - v)
    return np.nan, np.nan


@numba.njit(cache=True, error_model="numpy")
def _prior_positive(row: np.ndarray, x: float) -> tuple[float, float]:
    """Prior of a positive parameter sampled as ``x = log v``, with the log-Jacobian ``x``."""
    v = math.exp(x)
    lp, d = prior_logp(int(row[0]), row[1], row[2], row[3], v)
    return lp + x, d * v + 1.0


@numba.njit(cache=True, error_model="numpy")
def _prior_unit(row: np.ndarray, x: float) -> tuple[float, float]:
    """Beta prior of ``v = sigmoid(x)`` with the log-Jacobian ``log v + log(1 - v)`` (log space)."""
    a, b = row[1], row[2]
    log_v, log_1m = _log_sigmoid(x), _log_sigmoid(-x)
    v = math.exp(log_v)
    const = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    return const + a * log_v + b * log_1m, a * (1.0 - v) - b * v


@numba.njit(cache=True, nogil=True, error_model="numpy")
def loglik_patterns(
    eta: np.ndarray,
    log_phi: float,
    logit_psi: float,
    exact: np.ndarray,
    censored: np.ndarray,
    family: int,
    lfact: np.ndarray,
    d_eta: np.ndarray,
) -> tuple[float, float, float]:
    """Censored log-likelihood of compressed data and its gradient.

    Parameters
    ----------
    eta : numpy.ndarray
        ``(P,)`` log means of the patterns.
    log_phi, logit_psi : float
        Family parameters on the unconstrained scale (ignored when unused).
    exact, censored : numpy.ndarray
        ``(P, K + 1)`` count matrices (see :mod:`rdsmodel.count.compression`).
    family : int
        ``Family.code``: 0 nb, 1 poisson, 2 zinb, 3 hurdle.
    lfact : numpy.ndarray
        ``log y!`` for ``y = 0..K``.
    d_eta : numpy.ndarray
        ``(P,)`` output: derivative with respect to each ``eta``.

    Returns
    -------
    loglik, d_log_phi, d_logit_psi : float
    """
    n_pat, k1 = exact.shape
    nb = family != 1
    phi = math.exp(log_phi)
    gam = np.zeros(k1)  # sum_{j<y} log(phi + j)
    har = np.zeros(k1)  # sum_{j<y} 1 / (phi + j)
    if nb:
        for y in range(1, k1):
            gam[y] = gam[y - 1] + math.log(phi + y - 1)
            har[y] = har[y - 1] + 1.0 / (phi + y - 1)
    log_psi = _log_sigmoid(logit_psi)
    log_1m = _log_sigmoid(-logit_psi)
    psi = math.exp(log_psi)
    lp = np.empty(k1)
    dle = np.empty(k1)
    dlt = np.empty(k1)
    log_s = np.zeros(k1)
    dse = np.zeros(k1)
    dst = np.zeros(k1)
    total = 0.0
    d_th = 0.0
    d_om = 0.0
    for p in range(n_pat):
        e = eta[p]
        if nb:
            if e > log_phi:
                big = e + math.log1p(math.exp(log_phi - e))
            else:
                big = log_phi + math.log1p(math.exp(e - log_phi))
            a = phi * (log_phi - big)
            b = e - big
            r = math.exp(b)
            one_m_r = math.exp(log_phi - big)
            for y in range(k1):
                lp[y] = gam[y] - lfact[y] + a + y * b
                dle[y] = y - (y + phi) * r
                dlt[y] = phi * har[y] + a + phi * r - y * one_m_r
        else:
            mu = math.exp(e)
            for y in range(k1):
                lp[y] = y * e - mu - lfact[y]
                dle[y] = y - mu
                dlt[y] = 0.0
        # base survival S(k) = 1 - F(k-1), k = 1..need, with running sums of f(j) * grad log f(j).
        # 1 - F loses relative precision only when S(k) is below ~1e-8 (absolute error ~1e-16),
        # exactly as log1mexp(logsumexp(...)) would.
        need = 1 if family == 3 else 0
        for k in range(k1 - 1, need, -1):
            if censored[p, k] != 0.0:
                need = k
                break
        cdf = 0.0
        acc_e = 0.0
        acc_t = 0.0
        for k in range(1, need + 1):
            fj = math.exp(lp[k - 1])
            cdf += fj
            acc_e += fj * dle[k - 1]
            acc_t += fj * dlt[k - 1]
            surv = max(1.0 - cdf, 1e-300)
            log_s[k] = math.log(surv)
            dse[k] = -acc_e / surv
            dst[k] = -acc_t / surv
        de = 0.0
        if family <= 1:
            for y in range(k1):
                c = exact[p, y]
                if c != 0.0:
                    total += c * lp[y]
                    de += c * dle[y]
                    d_th += c * dlt[y]
            for k in range(1, k1):
                c = censored[p, k]
                if c != 0.0:
                    total += c * log_s[k]
                    de += c * dse[k]
                    d_th += c * dst[k]
        elif family == 2:  # zero-inflated
            c = exact[p, 0]
            if c != 0.0:
                l0 = _logaddexp(log_psi, log_1m + lp[0])
                w = math.exp(log_1m + lp[0] - l0)
                total += c * l0
                de += c * w * dle[0]
                d_th += c * w * dlt[0]
                d_om += c * (math.exp(log_psi - l0) * (1.0 - psi) - w * psi)
            for y in range(1, k1):
                c = exact[p, y]
                if c != 0.0:
                    total += c * (log_1m + lp[y])
                    de += c * dle[y]
                    d_th += c * dlt[y]
                    d_om -= c * psi
            for k in range(1, k1):
                c = censored[p, k]
                if c != 0.0:
                    total += c * (log_1m + log_s[k])
                    de += c * dse[k]
                    d_th += c * dst[k]
                    d_om -= c * psi
        else:  # hurdle
            c = exact[p, 0]
            if c != 0.0:
                total += c * log_psi
                d_om += c * (1.0 - psi)
            for y in range(1, k1):
                c = exact[p, y]
                if c != 0.0:
                    total += c * (log_1m + lp[y] - log_s[1])
                    de += c * (dle[y] - dse[1])
                    d_th += c * (dlt[y] - dst[1])
                    d_om -= c * psi
            for k in range(1, k1):
                c = censored[p, k]
                if c != 0.0:
                    total += c * (log_1m + log_s[k] - log_s[1])
                    de += c * (dse[k] - dse[1])
                    d_th += c * (dst[k] - dst[1])
                    d_om -= c * psi
        d_eta[p] = de
    return total, d_th, d_om


@numba.njit(cache=True, nogil=True, error_model="numpy")
def logp_grad(
    x: np.ndarray,
    design: np.ndarray,
    group: np.ndarray,
    exact: np.ndarray,
    censored: np.ndarray,
    family: int,
    n_groups: int,
    priors: np.ndarray,
    lfact: np.ndarray,
    ncp: np.ndarray,
) -> tuple[float, np.ndarray]:
    r"""Log posterior density (unconstrained, with Jacobians) and its gradient.

    Parameters
    ----------
    x : numpy.ndarray
        Unconstrained parameters, layout in the module docstring.
    design : numpy.ndarray
        ``(P, q)`` centred design rows of the patterns.
    group : numpy.ndarray
        ``(P,)`` group index of each pattern.
    exact, censored : numpy.ndarray
        ``(P, K + 1)`` count matrices.
    family : int
        ``Family.code``.
    n_groups : int
        Number of groups (0 for no group effect).
    priors : numpy.ndarray
        ``(5, 4)`` rows ``[code, a1, a2, a3]`` for b0, beta, sigma_u, phi, psi.
    lfact : numpy.ndarray
        ``log y!`` for ``y = 0..K``.
    ncp : numpy.ndarray
        ``(max(G, 1),)`` non-centring weights :math:`w_g \in [0, 1]`: group ``g`` is
        sampled as :math:`v_g = u_g / \sigma_u^{w_g}` with
        :math:`v_g \sim N(0, \sigma_u^{1 - w_g})` (1: non-centred, 0: centred).

    Returns
    -------
    logp : float
    grad : numpy.ndarray
    """
    n_pat, q = design.shape
    grad = np.zeros(x.shape[0])
    pos = 1 + q
    i_sig = -1
    if n_groups > 0:
        i_sig = pos + n_groups
        pos = i_sig + 1
    i_phi = -1
    log_phi = 0.0
    if family != 1:
        i_phi = pos
        log_phi = x[pos]
        pos += 1
    i_psi = -1
    logit_psi = 0.0
    if family >= 2:
        i_psi = pos
        logit_psi = x[pos]
    scale = np.ones(max(n_groups, 1))  # sigma_u ** w_g
    if n_groups > 0:
        for g in range(n_groups):
            scale[g] = math.exp(ncp[g] * x[i_sig])
    eta = np.empty(n_pat)
    for p in range(n_pat):
        e = x[0]
        for j in range(q):
            e += design[p, j] * x[1 + j]
        if n_groups > 0:
            g = group[p]
            e += scale[g] * x[1 + q + g]
        eta[p] = e
    d_eta = np.empty(n_pat)
    total, d_th, d_om = loglik_patterns(eta, log_phi, logit_psi, exact, censored, family, lfact, d_eta)
    d_grp = np.zeros(max(n_groups, 1))
    for p in range(n_pat):
        de = d_eta[p]
        grad[0] += de
        for j in range(q):
            grad[1 + j] += de * design[p, j]
        if n_groups > 0:
            d_grp[group[p]] += de
    # priors
    row = priors[0]
    lp, d = prior_logp(int(row[0]), row[1], row[2], row[3], x[0])
    total += lp
    grad[0] += d
    row = priors[1]
    for j in range(q):
        lp, d = prior_logp(int(row[0]), row[1], row[2], row[3], x[1 + j])
        total += lp
        grad[1 + j] += d
    if n_groups > 0:
        d_log_sig = 0.0
        log_sig = x[i_sig]
        for g in range(n_groups):
            v = x[1 + q + g]
            w = ncp[g]
            tau = math.exp((1.0 - w) * log_sig)  # v ~ N(0, sigma_u ** (1 - w))
            r = v / tau
            total += -0.5 * r * r - (1.0 - w) * log_sig - 0.5 * _LOG_2PI
            grad[1 + q + g] = scale[g] * d_grp[g] - r / tau
            d_log_sig += w * scale[g] * v * d_grp[g] + (1.0 - w) * (r * r - 1.0)
        lp, d = _prior_positive(priors[2], x[i_sig])
        total += lp
        grad[i_sig] = d_log_sig + d
    if i_phi >= 0:
        lp, d = _prior_positive(priors[3], log_phi)
        total += lp
        grad[i_phi] = d_th + d
    if i_psi >= 0:
        lp, d = _prior_unit(priors[4], logit_psi)
        total += lp
        grad[i_psi] = d_om + d
    return total, grad
