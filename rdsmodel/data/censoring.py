r"""Time censoring of redeemed-coupon counts.

Respondent ``i`` with ``k_i`` coupons has an unobserved referral capacity
``C_i`` and ``y_i = min(C_i, k_i)`` recruits *once every coupon has had its
chance*. When the data are cut while coupons are still valid, the count seen
so far is only a lower bound. With interview time ``t_i``, coupon validity
window ``w`` and data cut-off ``T``:

.. math::

    \text{window\_closed}_i = [\, t_i + w \le T \,], \qquad
    \text{censor\_at}_i = \begin{cases} k_i & \text{closed} \\ y_i & \text{open} \end{cases}

A closed row contributes ``P(C = y)`` when ``y < k`` and ``P(C >= k)`` at the
limit; an open row contributes ``P(C >= y)``. Frontier rows (no coupons yet)
have no count and ``censor_at`` is missing. Without interview times or
without a window every window counts as closed (or the table's own
``window_closed`` column is used when it has one).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from rdsmodel.errors import DataError

__all__ = ["as_cutoff", "as_window", "censor_bounds", "windows_closed"]


def as_window(
    window: dt.timedelta | pd.Timedelta | float | int | str | None,
) -> pd.Timedelta | None:
    """Turn a coupon window (timedelta, days as a number, or ``"14D"`` text) into a Timedelta.

    Parameters
    ----------
    window : timedelta, number of days, str or None

    Returns
    -------
    pandas.Timedelta or None

    Raises
    ------
    DataError
        If the window is negative or not understood.
    """
    if window is None:
        return None
    try:
        if isinstance(window, bool):
            raise TypeError
        if isinstance(window, (int, float, np.integer, np.floating)):
            value = pd.Timedelta(days=float(window))
        else:
            value = pd.Timedelta(window)
    except (TypeError, ValueError):
        raise DataError(
            f"--coupon-window {window!r} is not a duration: give days as a number (or a timedelta)"
        ) from None
    if pd.isna(value) or value < pd.Timedelta(0):
        raise DataError(f"--coupon-window must be a duration >= 0 days, got {window!r}")
    return value


def as_cutoff(cutoff: dt.datetime | pd.Timestamp | str | None) -> pd.Timestamp | None:
    """Turn a data cut-off into a naive Timestamp (aware values are converted to UTC).

    Parameters
    ----------
    cutoff : datetime, Timestamp, ISO date text or None

    Returns
    -------
    pandas.Timestamp or None

    Raises
    ------
    DataError
        If the value is not a date.
    """
    if cutoff is None:
        return None
    try:
        value = pd.Timestamp(cutoff)
    except (TypeError, ValueError):
        raise DataError(
            f"--cutoff {cutoff!r} is not a date (use ISO 8601, e.g. 2024-06-30)"
        ) from None
    if pd.isna(value):
        raise DataError(f"--cutoff {cutoff!r} is not a date (use ISO 8601, e.g. 2024-06-30)")
    if value.tz is not None:
        value = value.tz_convert("UTC").tz_localize(None)
    return value


def windows_closed(times: pd.Series, window: pd.Timedelta, cutoff: pd.Timestamp) -> np.ndarray:
    """Whether each coupon window had expired at the cut-off: ``time + window <= cutoff``.

    Parameters
    ----------
    times : pandas.Series
        Interview times; a missing time counts as an open window (the safe
        choice: the redeemed count is always a valid lower bound).
    window : pandas.Timedelta
        Coupon validity.
    cutoff : pandas.Timestamp
        When the data were cut.

    Returns
    -------
    numpy.ndarray of bool
    """
    t = times.to_numpy(dtype="datetime64[us]")
    ends = t + window.as_unit("us").to_timedelta64()
    return ~np.isnat(t) & (ends <= cutoff.as_unit("us").to_datetime64())


def censor_bounds(coupons: pd.Series, n_recruits: np.ndarray, closed: np.ndarray) -> pd.Series:
    """The censoring bound: coupons issued if the window closed, else the recruits so far.

    Parameters
    ----------
    coupons : pandas.Series
        ``Int64`` coupons issued, ``<NA>`` for the frontier.
    n_recruits : numpy.ndarray of int
        Recruits of each respondent present in the table.
    closed : numpy.ndarray of bool
        Window closed at the cut-off.

    Returns
    -------
    pandas.Series of Int64
        ``<NA>`` where ``coupons`` is missing.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> k = pd.Series([3, 3, pd.NA], dtype="Int64")
    >>> censor_bounds(k, np.array([1, 2, 0]), np.array([True, False, True])).tolist()
    [3, 2, <NA>]
    """
    k = coupons.to_numpy(dtype=np.int64, na_value=-1)
    bound = np.where(closed, k, np.asarray(n_recruits, dtype=np.int64))
    out = pd.array(bound, dtype="Int64")
    out[coupons.isna().to_numpy()] = pd.NA
    return pd.Series(out, index=coupons.index)
