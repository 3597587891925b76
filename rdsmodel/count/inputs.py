"""Input checks and choices made before sampling: covariates, usable rows, group parametrisation."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from rdsmodel.count.compression import Cells
from rdsmodel.count.design import _examples

__all__ = ["choose_covariates", "heuristic_ncp", "usable_rows"]


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
        raise ValueError(
            f"unknown covariate column(s) {', '.join(map(repr, unknown))}; "
            f"covariates of this study: {', '.join(known) or 'none'}"
        )
    return list(dict.fromkeys(covariates))


def usable_rows(data, covariates: Sequence[str], group_column: str | None, wave_effect: bool,
                *, open_windows: str = "exclude") -> pd.DataFrame:
    """Fitted rows whose window carries information (``censor_at >= 1``), complete in the model's columns.

    With ``open_windows="exclude"`` only closed coupon windows are used; with
    ``"lower-bound"`` open windows enter censored at their redeemed count.

    Raises
    ------
    ValueError
        No usable rows, or every respondent given zero coupons.
    """
    rows = data.fit_rows
    if len(rows) == 0:
        raise ValueError("no usable rows: no respondent has been given coupons yet")
    coupons = rows["coupons_issued"].astype("Float64").fillna(0).to_numpy(dtype=float)
    if np.all(coupons == 0):
        raise ValueError(
            f"every respondent was given zero coupons ({len(rows)} rows): their recruits carry no information"
        )
    if open_windows == "exclude":
        rows = rows[rows["window_closed"].to_numpy(dtype=bool)]
        if len(rows) == 0:
            raise ValueError(
                "no usable rows: every respondent with coupons still has an open coupon window "
                "(use open_windows='lower-bound' / --open-windows lower-bound to use them as lower bounds)"
            )
    bound = rows["censor_at"].astype("Float64").fillna(0).to_numpy(dtype=float)
    rows = rows[bound >= 1]
    if len(rows) == 0:
        raise ValueError("no usable rows: every respondent with coupons has an open window and no recruits yet")
    needed = [*covariates, *([group_column] if group_column else []), *(["wave"] if wave_effect else [])]
    missing = rows[needed].isna().any(axis=1).to_numpy()
    if missing.any():
        warnings.warn(
            f"{int(missing.sum())} respondent(s) with missing covariates or group left out of the "
            f"count model (e.g. {_examples(rows['id'][missing].tolist())})",
            UserWarning,
            stacklevel=3,
        )
        rows = rows[~missing]
        if len(rows) == 0:
            raise ValueError("no usable rows: every respondent with coupons has a missing covariate")
    return rows.reset_index(drop=True)


def heuristic_ncp(cells: Cells, n_groups: int, options: Mapping[str, Any]) -> list[float]:
    r"""Non-centring weights :math:`w_g` from the counts alone (before any sampling).

    :math:`w_g = 1 / (1 + I_g \sigma_{lo}^2 / s)` with :math:`I_g = n_g / (1/\bar y_g + 1)`
    the information about a group's log mean (negative binomial with
    :math:`\phi = 1`, deliberately over-dispersed so small groups err towards
    non-centring), :math:`\sigma_{lo}^2` a lower 5% chi-square bound of the
    moment estimate of the between-group variance of log mean counts, and
    :math:`s` = ``options["ncp_scale"]``. :func:`rdsmodel.count.sampling.pilot_ncp`
    refines these when the compiled kernel is available.
    """
    how = options["group_parametrization"]
    if how not in ("auto", "centered", "noncentered"):
        raise ValueError(f"group_parametrization must be 'auto', 'centered' or 'noncentered', got {how!r}")
    if how != "auto":
        return [0.0 if how == "centered" else 1.0] * n_groups
    k = np.arange(cells.kmax + 1)
    redeemed = np.bincount(cells.group, weights=cells.exact @ k + cells.censored @ k, minlength=n_groups)
    people = np.bincount(cells.group, weights=cells.exact.sum(1) + cells.censored.sum(1), minlength=n_groups)
    rate = (redeemed + 0.5) / (people + 1.0)
    info = people / (1.0 / rate + 1.0)
    if n_groups >= 3:
        between = np.var(np.log(rate), ddof=1) - np.mean(1.0 / np.maximum(info, 1e-9))
        between *= (n_groups - 1) / stats.chi2.ppf(0.95, n_groups - 1)
    else:
        between = 0.0
    sigma2 = max(float(between), 0.05**2)
    return [float(v) for v in 1.0 / (1.0 + info * sigma2 / float(options["ncp_scale"]))]
