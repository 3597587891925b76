r"""The pointwise groups of a fit, computed in numpy after sampling.

``log_likelihood``, ``posterior_predictive``, ``observed_data`` and
``constant_data`` of :meth:`rdsmodel.count.CountModel.fit`. The
log-likelihood is evaluated once per distinct outcome and draw
(:func:`rdsmodel.count.likelihood.outcome_loglik`) and expanded to
respondents while respondents x draws stays below ``limit``; above it, it is
stored per outcome with ``constant_data.outcome_weight`` and
``person_outcome`` (exact LOO through :func:`rdsmodel.diagnostics.loo`). The
posterior predictive (used by the checks of :mod:`rdsmodel.diagnostics.ppc`)
is drawn on at most ``ppc_draws`` evenly thinned draws, fewer (but at least
100) above ``limit``.

Open coupon windows under ``open_windows="delay"`` are in both: their
pointwise log-likelihood is the open-window likelihood (so LOO covers them),
and their replicated counts are the redemptions by the cut-off,
:math:`\mathrm{Bin}(\min(C, k), G(\tau))` (:func:`thin_open`), the law the
likelihood uses; ``constant_data.redeem_prob`` holds :math:`G(\tau)` (1 on
closed rows).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from rdsmodel.count.compression import Cells
from rdsmodel.count.families import Family
from rdsmodel.count.likelihood import outcome_loglik
from rdsmodel.count.predict import Draws, linear_predictor, redeemed_draws

__all__ = ["observed_bound", "pointwise_groups", "thin_open"]


def observed_bound(cells: Cells, rows: pd.DataFrame) -> np.ndarray:
    """Coupons that bound each respondent's eventual count: ``censor_at``, or ``coupons_issued`` on open rows."""
    bound = rows["censor_at"].astype("Float64").fillna(0).to_numpy(dtype=np.int64)
    if cells.row_open is None or not cells.row_open.any():
        return bound
    return np.where(cells.row_open, rows["coupons_issued"].to_numpy(dtype=np.int64), bound)


def thin_open(y_rep: np.ndarray, cells: Cells, rng: np.random.Generator) -> np.ndarray:
    r"""Redemptions by the cut-off: on open rows (``"delay"``) each eventual one is in with probability :math:`G(\tau)`.

    ``y_rep`` ``(S, n)`` holds :math:`\min(C, k)` draws; open rows become
    :math:`\mathrm{Bin}(\min(C, k), G(\tau))`, the law their likelihood uses.
    """
    if cells.row_open is None or not cells.row_open.any():
        return y_rep
    out = y_rep.copy()
    cols = np.flatnonzero(cells.row_open)
    out[:, cols] = rng.binomial(y_rep[:, cols], cells.row_g[cols][None, :])
    return out


def pointwise_groups(
    posterior: xr.Dataset,
    family: Family,
    cells: Cells,
    rows: pd.DataFrame,
    terms: Sequence[str],
    *,
    limit: int,
    rng: np.random.Generator,
    ppc_draws: int = 1000,
) -> dict[str, xr.Dataset]:
    """Build the pointwise groups of a fit.

    Parameters
    ----------
    posterior : xarray.Dataset
        The posterior (dims ``chain``, ``draw``).
    family : Family
    cells : Cells
        The compressed observations (``rows`` in the same order).
    rows : pandas.DataFrame
        The fitted respondents.
    terms : sequence of str
        Design terms.
    limit : int
        Largest respondents x draws stored per respondent.
    rng : numpy.random.Generator
        For the posterior predictive draws.
    ppc_draws : int
        At most this many posterior predictive draws (evenly spaced over each chain).

    Returns
    -------
    dict
        ``{"log_likelihood", "posterior_predictive", "observed_data", "constant_data"}``.
    """
    ids = rows["id"].astype(str).to_numpy()
    n = len(ids)
    draws = Draws.from_dataset(posterior, n_terms=len(terms))
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    chain, draw = posterior["chain"].values, posterior["draw"].values
    eta_pat = linear_predictor(draws, cells.design, cells.group)
    ll = outcome_loglik(family, eta_pat, draws.phi, draws.psi, cells)
    if n * draws.n <= limit:
        ll_ds = xr.Dataset(
            {"y": (("chain", "draw", "person"), ll[:, cells.outcome].reshape(n_chain, n_draw, n))},
            coords={"chain": chain, "draw": draw, "person": ids},
        )
        ll_ds.attrs["rdsplan_pointwise"] = "person"
    else:
        values = ll.reshape(n_chain, n_draw, -1)
        ll_ds = xr.Dataset(
            {"y": (("chain", "draw", "outcome"), values)},
            coords={"chain": chain, "draw": draw, "outcome": np.arange(values.shape[-1])},
        )
        ll_ds.attrs["rdsplan_pointwise"] = "outcome"
    bound = observed_bound(cells, rows)
    per_chain = min(
        n_draw, -(-ppc_draws // n_chain), max(limit // max(1, n * n_chain), -(-100 // n_chain))
    )
    sel = np.unique(np.linspace(0, n_draw - 1, per_chain).round().astype(np.int64))
    flat = (np.arange(n_chain)[:, None] * n_draw + sel[None, :]).reshape(-1)
    y_rep = thin_open(
        redeemed_draws(
            family, draws.take(flat), eta_pat[flat], bound, rng=rng, pattern=cells.pattern
        ),
        cells,
        rng,
    )
    pp = xr.Dataset(
        {"y": (("chain", "draw", "person"), y_rep.astype(np.int32).reshape(n_chain, len(sel), n))},
        coords={"chain": chain, "draw": draw[sel], "person": ids},
    )
    y_obs = np.minimum(rows["n_recruits"].to_numpy(dtype=np.int64), bound)
    is_open = np.zeros(n, dtype=bool) if cells.row_open is None else cells.row_open
    const = xr.Dataset(
        {
            "censor_at": ("person", bound),
            "coupons_issued": ("person", rows["coupons_issued"].to_numpy(dtype=np.int64)),
            "censored": ("person", ((y_obs >= bound) & ~is_open).astype(np.int8)),
            "window_closed": ("person", rows["window_closed"].to_numpy(dtype=np.int8)),
            "redeem_prob": ("person", np.ones(n) if cells.row_g is None else cells.row_g),
            "pattern": ("person", cells.pattern),
            "person_outcome": ("person", cells.outcome),
            "outcome_weight": ("outcome", cells.outcome_weight),
            "outcome_pattern": ("outcome", cells.outcome_pattern),
            "outcome_value": ("outcome", cells.outcome_value),
            "outcome_censored": ("outcome", cells.outcome_censored.astype(np.int8)),
            "pattern_design": (("pattern", "term"), cells.design),
            "pattern_group": ("pattern", cells.group),
            "pattern_exact": (("pattern", "count"), cells.exact),
            "pattern_censored": (("pattern", "count"), cells.censored),
        },
        coords={"person": ids, "term": list(terms), "count": np.arange(cells.kmax + 1)},
    )
    return {
        "log_likelihood": ll_ds,
        "posterior_predictive": pp,
        "observed_data": xr.Dataset({"y": ("person", y_obs)}, coords={"person": ids}),
        "constant_data": const,
    }
