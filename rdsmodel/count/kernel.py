r"""Compiled log-posterior and gradient of the count model on compressed data (numba).

This is the fast path behind :meth:`rdsmodel.count.CountModel.fit`. It
evaluates exactly the log density of the PyMC model built by
:func:`rdsmodel.count.likelihood.build_pymc_model` (same priors, same
transforms and Jacobians, same normalising constants; a test checks value
and gradient against PyMC) but in one compiled function over the
``(patterns, K + 1)`` count matrices of :mod:`rdsmodel.count.compression`, so
that a gradient costs microseconds and the function is cached on disk
(``cache=True``): no per-model compilation.

Unconstrained parameter vector ``x`` (in this order), for ``G`` groups:

=====================  =====================================================
``a``                  mean of the groups' log means at the covariate centre
                       (:math:`a = b_0 + \bar u`; ``b0`` itself without groups)
``beta[0..q-1]``       coefficients
``v[0..G-2]``          contrast coordinates (if groups): the deviations
                       :math:`d = u - \bar u = B c` with ``B`` an orthonormal
                       sum-to-zero basis and :math:`c_j = \sigma_u^{w_j} v_j`
                       (``w_j = 1``: non-centred, ``0``: centred)
``e``                  (if groups) the mean group effect, non-centred:
                       :math:`\bar u = \sigma_u e / \sqrt{G}`, :math:`e \sim N(0, 1)`
``log sigma_u``        (if groups)
``log phi``            (negative-binomial families)
``logit psi``          (zero-inflated and hurdle families)
=====================  =====================================================

This is the model :math:`u_g \sim N(0, \sigma_u)` i.i.d., :math:`b_0 \sim` its
prior, written in other coordinates (the map
:math:`(b_0, u) \mapsto (a, c, e)` has Jacobian :math:`\sigma_u / \sqrt{G}`,
absorbed by sampling :math:`e` rather than :math:`\bar u`): since
:math:`u = d + \bar u \mathbf 1` with :math:`d \perp \bar u`,
:math:`d` is a sum-to-zero normal with scale :math:`\sigma_u` and
:math:`\bar u \sim N(0, \sigma_u^2 / G)`. The likelihood sees only
:math:`a + d_g` (well identified by the data), the prior of :math:`b_0` is
evaluated at :math:`b_0 = a - \sigma_u e / \sqrt{G}`. With few groups the
intercept and the group effects are thus no longer a ridge, and the mean
effect, which only the prior pins down, is sampled on a scale that does not
change with :math:`\sigma_u` (no funnel).

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

__all__ = ["loglik_open", "loglik_patterns", "logp_grad", "prior_logp", "zero_sum_basis"]

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
        return -math.log(math.pi) - math.log(a2) - math.log1p(z * z), -2.0 * z / (
            a2 * (1.0 + z * z)
        )
    if code == 3:  # HalfNormal(sigma)
        return 0.5 * math.log(2.0 / math.pi) - math.log(a1) - 0.5 * (v / a1) ** 2, -v / (a1 * a1)
    if code == 4:  # Exponential(lam)
        return math.log(a1) - a1 * v, -a1
    if code == 6:  # HalfCauchy(beta)
        return _LOG2 - math.log(math.pi) - math.log(a1) - math.log1p((v / a1) ** 2), -2.0 * v / (
            a1 * a1 + v * v
        )
    if code == 7:  # Gamma(alpha, beta)
        return a1 * math.log(a2) - math.lgamma(a1) + (a1 - 1.0) * math.log(v) - a2 * v, (
            a1 - 1.0
        ) / v - a2
    if code == 8:  # InverseGamma(alpha, beta)
        lp = a1 * math.log(a2) - math.lgamma(a1) - (a1 + 1.0) * math.log(v) - a2 / v
        return lp, -(a1 + 1.0) / v + a2 / (v * v)
    if code == 9:  # LogNormal(mu, sigma)
        w = (math.log(v) - a1) / a2
        return -math.log(v) - math.log(a2) - 0.5 * _LOG_2PI - 0.5 * w * w, -1.0 / v - w / (a2 * v)
    if code == 10:  # Beta(alpha, beta)
        lp = (
            math.lgamma(a1 + a2)
            - math.lgamma(a1)
            - math.lgamma(a2)
            + (a1 - 1.0) * math.log(v)
            + (a2 - 1.0) * math.log1p(-v)
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
def loglik_open(
    eta: np.ndarray,
    log_phi: float,
    logit_psi: float,
    open_pattern: np.ndarray,
    open_k: np.ndarray,
    open_count: np.ndarray,
    open_weight: np.ndarray,
    family: int,
    lfact: np.ndarray,
    d_eta: np.ndarray,
) -> tuple[float, float, float]:
    r"""Log-likelihood of the open coupon windows (redemption-delay model) and its gradient.

    Open type :math:`q` (pattern :math:`p`, :math:`k` coupons, binomial factors
    :math:`W_{qc}`, see :func:`rdsmodel.count.delay.open_weights`) contributes

    .. math::
        n_q \log L_q, \qquad L_q = \sum_{c<k} W_{qc} P(C = c) + W_{qk} P(C \ge k),
        \qquad \nabla \log L_q = \sum_c \frac{W_{qc} P_c}{L_q} \nabla \log P_c,

    with :math:`P_c` and :math:`\nabla \log P_c` the family's (zero-inflated,
    hurdle) pmf and survival and their gradients in :math:`(\eta, \log\phi,
    \operatorname{logit}\psi)`, as in :func:`loglik_patterns`; the sum runs
    in log space (shifted by its largest term).

    Parameters
    ----------
    eta : numpy.ndarray
        ``(P,)`` log means of the patterns.
    log_phi, logit_psi : float
    open_pattern, open_k : numpy.ndarray
        ``(Q,)`` pattern and coupons of each open type.
    open_count : numpy.ndarray
        ``(Q,)`` respondents of each open type.
    open_weight : numpy.ndarray
        ``(Q, K + 1)`` binomial factors.
    family : int
    lfact : numpy.ndarray
    d_eta : numpy.ndarray
        ``(P,)`` derivative with respect to each ``eta``: **added to** (not overwritten).

    Returns
    -------
    loglik, d_log_phi, d_logit_psi : float
    """
    n_open = open_pattern.shape[0]
    k1 = open_weight.shape[1]
    nb = family != 1
    phi = math.exp(log_phi)
    gam = np.zeros(k1)
    har = np.zeros(k1)
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
    tv = np.empty(k1)  # log W_c + log P_c
    te = np.empty(k1)
    tt = np.empty(k1)
    to = np.empty(k1)
    total = 0.0
    d_th = 0.0
    d_om = 0.0
    for q in range(n_open):
        p = open_pattern[q]
        k = open_k[q]
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
            for y in range(k + 1):
                lp[y] = gam[y] - lfact[y] + a + y * b
                dle[y] = y - (y + phi) * r
                dlt[y] = phi * har[y] + a + phi * r - y * one_m_r
        else:
            mu = math.exp(e)
            for y in range(k + 1):
                lp[y] = y * e - mu - lfact[y]
                dle[y] = y - mu
                dlt[y] = 0.0
        # base survival at 1 (hurdle) and at k
        cdf = 0.0
        acc_e = 0.0
        acc_t = 0.0
        ls1 = 0.0
        dse1 = 0.0
        dst1 = 0.0
        lsk = 0.0
        dsek = 0.0
        dstk = 0.0
        for j in range(1, k + 1):
            fj = math.exp(lp[j - 1])
            cdf += fj
            acc_e += fj * dle[j - 1]
            acc_t += fj * dlt[j - 1]
            surv = max(1.0 - cdf, 1e-300)
            if j == 1:
                ls1 = math.log(surv)
                dse1 = -acc_e / surv
                dst1 = -acc_t / surv
            if j == k:
                lsk = math.log(surv)
                dsek = -acc_e / surv
                dstk = -acc_t / surv
        top = -np.inf
        for c in range(k + 1):
            w = open_weight[q, c]
            if w <= 0.0:
                tv[c] = -np.inf
                continue
            if c < k:  # P(C = c)
                if family <= 1:
                    v, ge, gt, go = lp[c], dle[c], dlt[c], 0.0
                elif family == 2:
                    if c == 0:
                        v = _logaddexp(log_psi, log_1m + lp[0])
                        wz = math.exp(log_1m + lp[0] - v)
                        ge, gt = wz * dle[0], wz * dlt[0]
                        go = math.exp(log_psi - v) * (1.0 - psi) - wz * psi
                    else:
                        v, ge, gt, go = log_1m + lp[c], dle[c], dlt[c], -psi
                else:
                    if c == 0:
                        v, ge, gt, go = log_psi, 0.0, 0.0, 1.0 - psi
                    else:
                        v, ge, gt, go = log_1m + lp[c] - ls1, dle[c] - dse1, dlt[c] - dst1, -psi
            else:  # P(C >= k), k >= 1
                if family <= 1:
                    v, ge, gt, go = lsk, dsek, dstk, 0.0
                elif family == 2:
                    v, ge, gt, go = log_1m + lsk, dsek, dstk, -psi
                else:
                    v, ge, gt, go = log_1m + lsk - ls1, dsek - dse1, dstk - dst1, -psi
            tv[c] = math.log(w) + v
            te[c] = ge
            tt[c] = gt
            to[c] = go
            if tv[c] > top:
                top = tv[c]
        s = 0.0
        se = 0.0
        st = 0.0
        so = 0.0
        for c in range(k + 1):
            if tv[c] == -np.inf:
                continue
            z = math.exp(tv[c] - top)
            s += z
            se += z * te[c]
            st += z * tt[c]
            so += z * to[c]
        n_q = open_count[q]
        total += n_q * (top + math.log(s))
        d_eta[p] += n_q * se / s
        d_th += n_q * st / s
        d_om += n_q * so / s
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
    basis: np.ndarray,
    kappa: np.ndarray,
    center: np.ndarray,
    open_pattern: np.ndarray,
    open_k: np.ndarray,
    open_count: np.ndarray,
    open_weight: np.ndarray,
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
        Number of groups ``G`` (0 for no group effect).
    priors : numpy.ndarray
        ``(5, 4)`` rows ``[code, a1, a2, a3]`` for b0, beta, sigma_u, phi, psi.
    lfact : numpy.ndarray
        ``log y!`` for ``y = 0..K``.
    basis : numpy.ndarray
        ``(G, G - 1)`` orthonormal basis of the sum-to-zero vectors (any shape when ``G = 0``).
    kappa, center : numpy.ndarray
        ``(max(G - 1, 1),)`` the whitening constants of the contrasts:
        :math:`c_j = m_j + s_j v_j` with :math:`s_j = \sigma_u / \sqrt{1 + \kappa_j \sigma_u^2}`
        and :math:`m_j = h_j \sigma_u^2 / (1 + \kappa_j \sigma_u^2)` (``h = center``);
        ``kappa = center = 0`` is the non-centred form :math:`c_j = \sigma_u v_j`.
    open_pattern, open_k, open_count, open_weight : numpy.ndarray
        The open types of the redemption-delay model (see :func:`loglik_open`);
        ``(0,)`` arrays and a ``(0, K + 1)`` weight matrix when there are none.

    Returns
    -------
    logp : float
    grad : numpy.ndarray
    """
    n_pat, q = design.shape
    grad = np.zeros(x.shape[0])
    n_con = n_groups - 1 if n_groups > 0 else 0
    pos = 1 + q
    i_e = -1
    i_sig = -1
    if n_groups > 0:
        i_e = pos + n_con
        i_sig = i_e + 1
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
    # deviations d = B c of the groups from their mean, c_j = m_j(sigma) + s_j(sigma) v_j
    dev = np.zeros(max(n_groups, 1))
    c_s = np.ones(max(n_con, 1))  # s_j
    c_m = np.zeros(max(n_con, 1))  # m_j
    c_r = np.zeros(max(n_con, 1))  # kappa_j sigma^2
    sigma = 1.0
    log_sig = 0.0
    if n_groups > 0:
        log_sig = x[i_sig]
        sigma = math.exp(log_sig)
        for j in range(n_con):
            r = kappa[j] * sigma * sigma
            c_r[j] = r
            c_s[j] = sigma / math.sqrt(1.0 + r)
            c_m[j] = center[j] * sigma * sigma / (1.0 + r)
            c = c_m[j] + c_s[j] * x[1 + q + j]
            for g in range(n_groups):
                dev[g] += basis[g, j] * c
    eta = np.empty(n_pat)
    for p in range(n_pat):
        e = x[0]
        for j in range(q):
            e += design[p, j] * x[1 + j]
        if n_groups > 0:
            e += dev[group[p]]
        eta[p] = e
    d_eta = np.empty(n_pat)
    total, d_th, d_om = loglik_patterns(
        eta, log_phi, logit_psi, exact, censored, family, lfact, d_eta
    )
    if open_pattern.shape[0] > 0:
        t_o, th_o, om_o = loglik_open(
            eta,
            log_phi,
            logit_psi,
            open_pattern,
            open_k,
            open_count,
            open_weight,
            family,
            lfact,
            d_eta,
        )
        total += t_o
        d_th += th_o
        d_om += om_o
    d_grp = np.zeros(max(n_groups, 1))
    for p in range(n_pat):
        de = d_eta[p]
        grad[0] += de
        for j in range(q):
            grad[1 + j] += de * design[p, j]
        if n_groups > 0:
            d_grp[group[p]] += de
    # b0 = (mean group log mean) - sigma_u * e / sqrt(G): the prior of b0 is taken there
    row = priors[0]
    if n_groups > 0:
        shift = sigma * x[i_e] / math.sqrt(n_groups)
        lp, d = prior_logp(int(row[0]), row[1], row[2], row[3], x[0] - shift)
        total += lp
        grad[0] += d
        grad[i_e] = -d * sigma / math.sqrt(n_groups)
        d_log_sig = -d * shift
        # e ~ N(0, 1)
        total += -0.5 * x[i_e] * x[i_e] - 0.5 * _LOG_2PI
        grad[i_e] -= x[i_e]
    else:
        lp, d = prior_logp(int(row[0]), row[1], row[2], row[3], x[0])
        total += lp
        grad[0] += d
        d_log_sig = 0.0
    row = priors[1]
    for j in range(q):
        lp, d = prior_logp(int(row[0]), row[1], row[2], row[3], x[1 + j])
        total += lp
        grad[1 + j] += d
    if n_groups > 0:
        for j in range(n_con):
            v = x[1 + q + j]
            r1 = 1.0 + c_r[j]
            c = c_m[j] + c_s[j] * v
            t = c / sigma
            # c_j ~ N(0, sigma_u), plus log |dc/dv| = log s_j
            total += -0.5 * t * t - log_sig - 0.5 * _LOG_2PI + math.log(c_s[j])
            dc = -c / (sigma * sigma)  # d logp / d c_j, prior part
            for g in range(n_groups):
                dc += basis[g, j] * d_grp[g]
            grad[1 + q + j] = c_s[j] * dc
            dc_dls = 2.0 * c_m[j] / r1 + v * c_s[j] / r1  # d c_j / d log sigma
            d_log_sig += dc * dc_dls + t * t - 1.0 + 1.0 / r1
        lp, d = _prior_positive(priors[2], log_sig)
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


def zero_sum_basis(n_groups: int) -> np.ndarray:
    r"""Orthonormal basis ``(G, G - 1)`` of the vectors summing to zero (Helmert contrasts).

    Column ``j`` compares group ``j + 1`` with the mean of groups ``0..j``.
    """
    basis = np.zeros((max(n_groups, 1), max(n_groups - 1, 1)))
    for j in range(n_groups - 1):
        m = j + 1
        basis[:m, j] = -1.0 / math.sqrt(m * (m + 1))
        basis[m, j] = m / math.sqrt(m * (m + 1))
    return basis
