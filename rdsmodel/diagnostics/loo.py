r"""PSIS-LOO for count-model posteriors, including compressed pointwise log-likelihoods.

A count-model fit stores its pointwise log-likelihood either per respondent
(``log_likelihood`` dims ``chain, draw, person``), in which case this is
:func:`arviz.loo`, or, for large studies, per distinct outcome (dims
``chain, draw, outcome``) with ``constant_data.person_outcome`` mapping each
respondent to its outcome. Respondents with the same outcome have identical
log-likelihood draws, hence identical Pareto-smoothed importance weights, so
running PSIS once per outcome and expanding to respondents gives *exactly*
the per-respondent result:

.. math::
    \widehat{\text{elpd}}_\text{loo} = \sum_i \log \frac{\sum_s w_{is} p(y_i \mid \theta_s)}{\sum_s w_{is}},

with the usual standard error :math:`\sqrt{n \operatorname{Var}_i(\text{elpd}_i)}`
and :math:`p_\text{loo} = \text{lppd} - \widehat{\text{elpd}}_\text{loo}`.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy.special import logsumexp

from rdsmodel.diagnostics.report import Check, Section
from rdsmodel.diagnostics.thresholds import Thresholds

__all__ = ["loo", "loo_section"]


def _reff(idata, n_samples: int) -> float:
    import arviz as az

    posterior = idata.posterior
    if posterior.sizes["chain"] == 1:
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ess_p = az.ess(posterior, method="mean")
    return float(np.hstack([ess_p[v].values.ravel() for v in ess_p.data_vars]).mean() / n_samples)


def loo(idata, var_name: str = "y"):
    """PSIS-LOO of a posterior with per-person or per-outcome log-likelihood.

    Parameters
    ----------
    idata : arviz.InferenceData
        With ``log_likelihood`` (and, when compressed, ``constant_data``).
    var_name : str
        Log-likelihood variable.

    Returns
    -------
    arviz.ELPDData
        As :func:`arviz.loo` with ``pointwise=True`` (``loo_i`` and ``pareto_k``
        per respondent), usable in :func:`arviz.compare`.
    """
    import arviz as az
    from arviz.stats.stats import ELPDData

    if "log_likelihood" not in idata.groups():
        raise ValueError("the posterior has no log_likelihood group: LOO is not available")
    ll = idata.log_likelihood[var_name]
    if "outcome" not in ll.dims:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return az.loo(idata, pointwise=True, var_name=var_name)
    stacked = ll.stack(__sample__=("chain", "draw")).transpose("outcome", "__sample__")
    values = np.asarray(stacked.values, dtype=float)
    n_samples = values.shape[1]
    reff = _reff(idata, n_samples)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log_w, k_out = az.psislw(-stacked, reff)
    log_w = np.asarray(log_w.values) + values
    elpd_out = logsumexp(log_w, axis=1)
    lppd_out = logsumexp(values, axis=1) - np.log(n_samples)
    person_outcome = np.asarray(idata.constant_data["person_outcome"].values)
    persons = idata.constant_data["person_outcome"]["person"].values
    loo_i = elpd_out[person_outcome]
    n = len(loo_i)
    elpd = float(loo_i.sum())
    se = float(np.sqrt(n * np.var(loo_i)))
    p_loo = float(lppd_out[person_outcome].sum() - elpd)
    good_k = min(1 - 1 / np.log10(n_samples), 0.7)
    pareto = np.asarray(k_out.values if hasattr(k_out, "values") else k_out)[person_outcome]
    return ELPDData(
        data=[
            elpd,
            se,
            p_loo,
            n_samples,
            n,
            bool(np.any(pareto > good_k)),
            xr.DataArray(loo_i, dims="person", coords={"person": persons}, name="loo_i"),
            xr.DataArray(pareto, dims="person", coords={"person": persons}, name="pareto_shape"),
            "log",
            good_k,
        ],
        index=[
            "elpd_loo",
            "se",
            "p_loo",
            "n_samples",
            "n_data_points",
            "warning",
            "loo_i",
            "pareto_k",
            "scale",
            "good_k",
        ],
    )


def loo_section(idata, thresholds: Thresholds | None = None) -> Section:
    """LOO summary and the Pareto-k check."""
    t = thresholds or Thresholds()
    res = loo(idata)
    k = np.asarray(res.pareto_k.values if hasattr(res.pareto_k, "values") else res.pareto_k)
    n_bad = int(np.sum(k > t.pareto_k_warn))
    n_very_bad = int(np.sum(k > 1.0))
    status = "warn" if n_bad else "ok"
    msg = f"Pareto k > {t.pareto_k_warn}: {n_bad} of {len(k)} observations (max {np.max(k):.2f})"
    if status != "ok":
        msg += "; LOO is unreliable for those respondents (influential observations or misfit)"
    summary = {
        "elpd_loo": float(res.elpd_loo),
        "se": float(res.se),
        "p_loo": float(res.p_loo),
        "n_data_points": int(res.n_data_points),
        "n_samples": int(res.n_samples),
        "pareto_k": {
            "max": float(np.max(k)),
            "over_threshold": n_bad,
            "over_1": n_very_bad,
            "threshold": t.pareto_k_warn,
        },
    }
    checks = [
        Check(
            "loo",
            "ok",
            f"elpd_loo {res.elpd_loo:.1f} (se {res.se:.1f}), p_loo {res.p_loo:.1f}",
            float(res.elpd_loo),
        ),
        Check("pareto_k", status, msg, float(np.max(k)), f"warn > {t.pareto_k_warn}"),
    ]
    return Section("loo", "Leave-one-out cross-validation (PSIS-LOO)", checks, summary)
