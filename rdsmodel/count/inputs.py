"""Input checks and choices made before sampling: covariates, usable rows, group parametrisation."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from rdsmodel.count.compression import Cells
from rdsmodel.errors import ModelError

__all__ = [
    "GROUP_PARAMETRIZATIONS",
    "GroupCentring",
    "choose_covariates",
    "group_centring",
    "usable_rows",
]


def choose_covariates(data, covariates: Sequence[str] | str | None) -> list[str]:
    """The covariate columns to use: all of the study's by default, else the named ones.

    Raises
    ------
    ValueError
        For a name that is not a covariate of the study.
    """
    known = list(data.covariates)
    if covariates is None:
        return known
    if isinstance(covariates, str):
        covariates = [c.strip() for c in covariates.split(",") if c.strip()]
    unknown = [c for c in covariates if c not in known]
    if unknown:
        raise ModelError(
            f"unknown covariate column(s) {', '.join(map(repr, unknown))} in --capacity-covariates; "
            f"covariates of this study: {', '.join(known) or 'none'}"
        )
    return list(dict.fromkeys(covariates))


def usable_rows(
    data,
    covariates: Sequence[str],
    group_column: str | None,
    wave_effect: bool,
    *,
    open_windows: str = "exclude",
) -> pd.DataFrame:
    """Fitted rows whose window carries information (``censor_at >= 1``).

    Rows with missing covariate values or group are kept: the design models
    them (:mod:`rdsmodel.count.design`).

    With ``open_windows="exclude"`` only closed coupon windows are used; with
    ``"lower-bound"`` open windows enter censored at their redeemed count; with
    ``"delay"`` every open window with coupons and an interview time is kept,
    with or without recruits so far (it enters through the redemption delay,
    :mod:`rdsmodel.count.delay`).

    Raises
    ------
    ValueError
        No usable rows, or every respondent given zero coupons.
    """
    rows = data.fit_rows
    if len(rows) == 0:
        raise ModelError("no usable rows: no respondent has been given coupons yet")
    coupons = rows["coupons_issued"].astype("Float64").fillna(0).to_numpy(dtype=float)
    if np.all(coupons == 0):
        raise ModelError(
            f"every respondent was given zero coupons ({len(rows)} rows): their recruits carry no information"
        )
    if open_windows == "delay":
        closed = rows["window_closed"].to_numpy(dtype=bool)
        coupons_ok = rows["coupons_issued"].astype("Float64").fillna(0).to_numpy(dtype=float) >= 1
        timed = (
            rows["interview_time"].notna().to_numpy()
            if "interview_time" in rows.columns
            else np.zeros(len(rows), dtype=bool)
        )
        rows = rows[closed | (coupons_ok & timed)]
        bound = rows["censor_at"].astype("Float64").fillna(0).to_numpy(dtype=float)
        rows = rows[(bound >= 1) | ~rows["window_closed"].to_numpy(dtype=bool)]
        if len(rows) == 0:
            raise ModelError(
                "no usable rows: no respondent with coupons has a closed window or an interview time"
            )
        return rows.reset_index(drop=True)
    if open_windows == "exclude":
        rows = rows[rows["window_closed"].to_numpy(dtype=bool)]
        if len(rows) == 0:
            raise ModelError(
                "no usable rows: every respondent with coupons still has an open coupon window "
                "(use --open-windows lower-bound to use them as lower bounds)"
            )
    bound = rows["censor_at"].astype("Float64").fillna(0).to_numpy(dtype=float)
    rows = rows[bound >= 1]
    if len(rows) == 0:
        raise ModelError(
            "no usable rows: every respondent with coupons has an open window and no recruits yet"
        )
    # Missing covariate values and groups are modelled (rdsmodel.count.design), not dropped.
    return rows.reset_index(drop=True)


@dataclass(frozen=True)
class GroupCentring:
    r"""How the group effects are sampled: a sum-to-zero basis and a whitening per contrast.

    The deviations :math:`d = u - \bar u` of the group effects from their
    mean are written :math:`d = B c` in an orthonormal basis ``B`` of the
    sum-to-zero vectors; each coordinate :math:`c_j \sim N(0, \sigma_u)` is
    sampled as :math:`v_j = (c_j - m_j) / s_j` with
    :math:`s_j = \sigma_u / \sqrt{1 + \kappa_j \sigma_u^2}`,
    :math:`m_j = h_j \sigma_u^2 / (1 + \kappa_j \sigma_u^2)` (see
    :mod:`rdsmodel.count.kernel`). Chosen by :func:`group_centring`.

    Attributes
    ----------
    basis : numpy.ndarray
        ``(G, G - 1)``.
    kappa : numpy.ndarray
        ``(G - 1,)`` approximate data precision of each contrast (0: non-centred).
    center : numpy.ndarray
        ``(G - 1,)`` :math:`h_j = \kappa_j \hat c_j`, the data's pull on each contrast.
    sigma_ref : float
        Approximate posterior median of :math:`\sigma_u` (``nan`` when not estimated).
    how : str
        ``"auto"`` (data-chosen) or ``"noncentered"``.
    """

    basis: np.ndarray
    kappa: np.ndarray
    center: np.ndarray
    sigma_ref: float
    how: str

    def to_config(self) -> dict[str, Any]:
        """JSON-able description (stored with a fit)."""
        return {
            "how": self.how,
            "basis": [[float(v) for v in row] for row in self.basis],
            "kappa": [float(k) for k in self.kappa],
            "center": [float(h) for h in self.center],
            "sigma_ref": None if not np.isfinite(self.sigma_ref) else float(self.sigma_ref),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GroupCentring:
        """Inverse of :meth:`to_config`."""
        return cls(
            basis=np.asarray(config["basis"], dtype=float),
            kappa=np.asarray(config["kappa"], dtype=float),
            center=np.asarray(config["center"], dtype=float),
            sigma_ref=float("nan")
            if config.get("sigma_ref") is None
            else float(config["sigma_ref"]),
            how=str(config.get("how", "auto")),
        )

    def noncentered(self) -> GroupCentring:
        r"""The same basis, every contrast non-centred (:math:`c_j = \sigma_u v_j`)."""
        zero = np.zeros_like(self.kappa)
        return dataclasses.replace(self, kappa=zero, center=zero, how="noncentered")


GROUP_PARAMETRIZATIONS = ("auto", "noncentered")

_DEFAULT_TABLE = {  # the default priors, for the weight choice when a prior is not a kernel one
    "b0": (0.0, 0.0, 1.5, 0.0),
    "beta": (0.0, 0.0, 1.0, 0.0),
    "sigma_u": (3.0, 0.5, 0.0, 0.0),
    "phi": (9.0, 0.5, 1.5, 0.0),
    "psi": (10.0, 1.0, 1.0, 0.0),
}


def group_centring(
    cells: Cells,
    family,
    n_groups: int,
    prior_table: Mapping[str, np.ndarray] | None,
    *,
    how: str = "auto",
) -> GroupCentring:
    r"""Choose, from the data, how the group effects are sampled.

    In a normal hierarchical model where the data carry precision
    :math:`\kappa` about a coordinate :math:`c \sim N(0, \sigma)` with
    estimate :math:`\hat c`, the conditional posterior is
    :math:`c \mid \sigma \sim N(m(\sigma), s(\sigma)^2)`,
    :math:`s^2 = \sigma^2 / (1 + \kappa\sigma^2)`,
    :math:`m = \kappa \hat c\, s^2`. Sampling :math:`v = (c - m(\sigma)) / s(\sigma)`
    instead of :math:`c` makes :math:`v \approx N(0, 1)` whatever :math:`\sigma`:
    no funnel where :math:`\sigma` is small, no ridge where the data pin
    :math:`c` down. It is the non-centred form for :math:`\kappa = 0` and
    tends to the centred one as :math:`\kappa\sigma^2` grows, so every group
    gets the centring its data call for, at every value of :math:`\sigma`
    (a fixed partial non-centring weight is right for one :math:`\sigma` only,
    and with few groups :math:`\sigma` is poorly known). The transformation
    is exact whatever the constants; they only shape the geometry.

    With groups of unequal size the data precision about the deviations is a
    matrix; in its eigenvectors on the sum-to-zero vectors the problem splits
    into independent coordinates, which is why those are the basis:

    1. maximise the log-likelihood over the intercept, the coefficients, one
       deviation per group (ridge ``N(0, 1)``) and the family parameters
       (L-BFGS on the compiled likelihood, milliseconds);
    2. at that point, the observed information of the patterns' log means
       gives the information matrix of (intercept, coefficients, groups); its
       Schur complement on the groups (so covariates confounded with groups
       are accounted for), on the sum-to-zero vectors, is
       :math:`Q\,\mathrm{diag}(\kappa)\,Q^\top`; the basis is ``H Q`` (``H``
       the Helmert contrasts) and :math:`h_j = \kappa_j \hat c_j`;
    3. for the record, the approximate posterior median of :math:`\sigma_u`
       on a grid, from :math:`\hat c_j \sim N(0, \sigma^2 + 1/\kappa_j)`.

    ``how="noncentered"`` keeps the basis and samples every contrast non-centred.
    """
    from scipy import optimize

    from rdsmodel.count import kernel

    if how not in GROUP_PARAMETRIZATIONS:
        raise ModelError(
            f"group_parametrization must be one of {', '.join(GROUP_PARAMETRIZATIONS)}, got {how!r}"
        )
    helmert = kernel.zero_sum_basis(n_groups)
    if n_groups < 2:
        return GroupCentring(helmert, np.zeros(1), np.zeros(1), float("nan"), how)
    table = {k: np.asarray(v, dtype=float) for k, v in _DEFAULT_TABLE.items()}
    if prior_table is not None:
        table.update({k: np.asarray(v, dtype=float) for k, v in prior_table.items()})
    design = cells.design
    n_pat, q = design.shape
    code = family.code
    lfact = special.gammaln(np.arange(cells.kmax + 1) + 1.0)
    has_phi, has_psi = code != 1, code >= 2
    k = np.arange(cells.kmax + 1)
    people = cells.exact.sum() + cells.censored.sum()
    start_a = float(
        np.log(max((cells.exact @ k + cells.censored @ k).sum() / max(people, 1.0), 0.1))
    )
    n_par = 1 + q + n_groups + int(has_phi) + int(has_psi)
    group = cells.group

    def unpack(theta):
        a, beta = theta[0], theta[1 : 1 + q]
        dev = theta[1 + q : 1 + q + n_groups]
        pos = 1 + q + n_groups
        log_phi = theta[pos] if has_phi else 0.0
        logit_psi = theta[pos + int(has_phi)] if has_psi else 0.0
        return a, beta, dev, log_phi, logit_psi

    def objective(theta):
        a, beta, dev, log_phi, logit_psi = unpack(theta)
        eta = a + design @ beta + dev[group]
        d_eta = np.empty(n_pat)
        ll, d_th, d_om = kernel.loglik_patterns(
            eta, log_phi, logit_psi, cells.exact, cells.censored, code, lfact, d_eta
        )
        grad = np.zeros(n_par)
        grad[0] = d_eta.sum()
        grad[1 : 1 + q] = design.T @ d_eta
        grad[1 + q : 1 + q + n_groups] = np.bincount(group, weights=d_eta, minlength=n_groups) - dev
        ll -= 0.5 * float(dev @ dev) + 0.5 * float(beta @ beta)
        grad[1 : 1 + q] -= beta
        pos = 1 + q + n_groups
        if has_phi:
            lp, d = kernel._prior_positive(table["phi"], log_phi)
            ll += lp
            grad[pos] = d_th + d
        if has_psi:
            lp, d = kernel._prior_unit(table["psi"], logit_psi)
            ll += lp
            grad[pos + int(has_phi)] = d_om + d
        if not np.isfinite(ll):
            return 1e300, np.zeros(n_par)
        return -ll, -grad

    theta0 = np.zeros(n_par)
    theta0[0] = start_a
    res = optimize.minimize(
        objective, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 500}
    )
    a, beta, dev, log_phi, logit_psi = unpack(res.x)
    eta = a + design @ beta + dev[group]
    # observed information of each pattern's log mean (the likelihood is separable in eta)
    h = 1e-5
    plus, minus = np.empty(n_pat), np.empty(n_pat)
    kernel.loglik_patterns(
        eta + h, log_phi, logit_psi, cells.exact, cells.censored, code, lfact, plus
    )
    kernel.loglik_patterns(
        eta - h, log_phi, logit_psi, cells.exact, cells.censored, code, lfact, minus
    )
    weight = np.clip(-(plus - minus) / (2 * h), 0.0, None)
    onehot = np.zeros((n_pat, n_groups))
    onehot[np.arange(n_pat), group] = 1.0
    fixed = np.column_stack([np.ones(n_pat), design])
    j_ff = fixed.T @ (weight[:, None] * fixed)
    j_ff[np.arange(1, q + 1), np.arange(1, q + 1)] += 1.0  # the coefficients' N(0, 1) prior
    j_ff[0, 0] += 1.0 / 1.5**2
    j_fg = fixed.T @ (weight[:, None] * onehot)
    j_gg = np.diag(weight @ onehot)
    schur = j_gg - j_fg.T @ np.linalg.solve(j_ff, j_fg)
    m = helmert.T @ schur @ helmert
    kappa, vectors = np.linalg.eigh(0.5 * (m + m.T))
    kappa = np.clip(kappa, 0.0, None)
    basis = helmert @ vectors
    # approximate posterior of sigma_u on a grid: c_hat ~ N(0, sigma^2 + 1/kappa)
    c_ridge = basis.T @ dev
    usable = kappa > 1e-9
    log_sigma = np.linspace(np.log(1e-3), np.log(10.0), 400)
    sig2 = np.exp(2 * log_sigma)[:, None]
    kap = kappa[usable][None, :]
    c2 = (c_ridge[usable] ** 2)[None, :]
    # c_mle = c_ridge (kappa + 1) / kappa; c_mle^2 / (sigma^2 + 1/kappa) written stably
    quad = c2 * (kap + 1.0) ** 2 / (kap * (kap * sig2 + 1.0))
    loglik = -0.5 * (np.log(sig2 + 1.0 / kap) + quad).sum(axis=1)
    row = table["sigma_u"]
    prior = np.array([kernel._prior_positive(row, float(x))[0] for x in log_sigma])
    post = loglik + prior
    post = np.exp(post - np.nanmax(post))
    post = np.where(np.isfinite(post), post, 0.0)
    cdf = np.cumsum(post) / post.sum()
    sigma_ref = float(np.exp(np.interp(0.5, cdf, log_sigma)))
    # kappa c_mle = (kappa + 1) c_ridge, finite when kappa is 0
    center = (kappa + 1.0) * c_ridge
    if not (
        np.all(np.isfinite(basis)) and np.all(np.isfinite(kappa)) and np.all(np.isfinite(center))
    ):
        # the approximation failed (degenerate data): Helmert contrasts, non-centred
        zero = np.zeros(n_groups - 1)
        return GroupCentring(helmert, zero, zero, float("nan"), "noncentered")
    out = GroupCentring(basis, kappa, center, sigma_ref, "auto")
    return out if how == "auto" else out.noncentered()
