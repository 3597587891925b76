"""Survival curves of referral capacity: validation, labels and conversions.

Every planner reads referral capacity through survival curves
``S_i(l) = P(C_i >= l)``, ``l = 1..L``, stored with the coupon level last:
``(person, L)`` for one law per person or ``(sample, person, L)`` with one
posterior draw per sample. This module is the thin layer between the labelled
inputs (``xarray.DataArray`` named ``survival`` with dims
``("sample", "person", "ell")``) and the numerical core, which works on plain
float64 numpy arrays.

Conversions between a survival curve and the probability mass function of the
capacity *truncated at L* use

``P(C = j) = S(j) - S(j + 1)`` for ``j < L`` (with ``S(0) = 1``) and
``P(C >= L) = S(L)``,

so a curve of length ``L`` is a law on ``{0, ..., L}`` whose last atom holds
all the mass at or above ``L``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "SURVIVAL_DIMS",
    "as_survival_samples",
    "check_survival",
    "person_ids",
    "pmf_from_survival",
    "survival_from_pmf",
    "tv_distance",
]

#: Dimension names of the labelled survival array (DESIGN.md contract).
SURVIVAL_DIMS = ("sample", "person", "ell")

#: Slack allowed for round-off in ``[0, 1]`` bounds and monotonicity checks.
TOLERANCE = 1e-9


def _to_numpy(survival: Any) -> np.ndarray:
    """Return the values of an ndarray or DataArray, in canonical dim order."""
    dims = getattr(survival, "dims", None)
    if dims is not None and hasattr(survival, "transpose"):
        wanted = [d for d in SURVIVAL_DIMS if d in dims]
        if len(wanted) == len(dims):
            survival = survival.transpose(*wanted)
        values = survival.values if hasattr(survival, "values") else survival
        return np.asarray(values, dtype=np.float64)
    return np.asarray(survival, dtype=np.float64)


def check_survival(curves: np.ndarray, name: str = "survival") -> None:
    """Validate survival curves in place (raise, never modify).

    Parameters
    ----------
    curves
        Array whose last axis is the coupon level ``l = 1..L``.
    name
        Argument name used in error messages.

    Raises
    ------
    ValueError
        If a value is NaN, outside ``[0, 1]`` (beyond a ``1e-9`` round-off
        slack) or if a curve increases with ``l`` by more than ``1e-9``.
    """
    if curves.size == 0:
        return
    low, high = float(np.min(curves)), float(np.max(curves))
    if np.isnan(low) or np.isnan(high):
        raise ValueError(f"{name} contains NaN values")
    if low < -TOLERANCE or high > 1 + TOLERANCE:
        raise ValueError(
            f"{name} must hold probabilities P(C >= l) in [0, 1]; found values in "
            f"[{low:.6g}, {high:.6g}]"
        )
    if curves.shape[-1] > 1:
        worst, flat = _largest_rise(curves.reshape(-1, curves.shape[-1]))
        if worst > TOLERANCE:
            row, col = divmod(flat, curves.shape[-1] - 1)
            index = np.unravel_index(row, curves.shape[:-1])
            where = ", ".join(str(int(i)) for i in index)
            level = col + 1
            raise ValueError(
                f"{name} must be non-increasing in the coupon level: curve [{where}] "
                f"rises by {worst:.3g} from l={level} to l={level + 1}"
            )


def _largest_rise(rows: np.ndarray, block: int = 64) -> tuple[float, int]:
    """Largest ``S(l+1) - S(l)`` over rows and its flat index, in cache-sized blocks."""
    width = rows.shape[1] - 1
    buffer = np.empty((block, width))
    worst, where = -np.inf, 0
    for start in range(0, rows.shape[0], block):
        chunk = rows[start : start + block]
        out = buffer[: chunk.shape[0]]
        np.subtract(chunk[:, 1:], chunk[:, :-1], out=out)
        flat = int(np.argmax(out))
        value = float(out.ravel()[flat])
        if value > worst:
            worst, where = value, start * width + flat
    return worst, where


def as_survival_samples(survival: Any, name: str = "survival") -> np.ndarray:
    """Return validated survival curves as a float64 array ``(sample, person, L)``.

    Parameters
    ----------
    survival
        ``(person, L)`` (one law per person, treated as a single sample),
        ``(sample, person, L)`` numpy array, or an ``xarray.DataArray`` with
        dims ``("sample", "person", "ell")`` (or ``("person", "ell")``), in any
        order.
    name
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray
        Validated float64 array of shape ``(sample, person, L)`` clipped to
        ``[0, 1]``.
    """
    curves = _to_numpy(survival)
    if curves.ndim == 2:
        curves = curves[None]
    if curves.ndim != 3:
        raise ValueError(
            f"{name} must have shape (person, L) or (sample, person, L); got {curves.shape}"
        )
    if curves.shape[2] == 0:
        raise ValueError(f"{name} needs at least one coupon level (L >= 1); got {curves.shape}")
    check_survival(curves, name)
    return np.clip(curves, 0.0, 1.0)


def person_ids(survival: Any, ids: Sequence[Any] | None, n_people: int) -> list[str]:
    """Identifiers of the people: ``ids``, else the ``person`` coordinate, else ``0..n-1``."""
    if ids is None:
        coords = getattr(survival, "coords", None)
        if coords is not None and "person" in coords:
            ids = [str(v) for v in np.asarray(coords["person"].values)]
        else:
            ids = [str(i) for i in range(n_people)]
    ids = [str(v) for v in ids]
    if len(ids) != n_people:
        raise ValueError(f"ids has {len(ids)} entries but survival has {n_people} people")
    if len(set(ids)) != len(ids):
        raise ValueError("ids must be unique")
    return ids


def pmf_from_survival(curves: np.ndarray) -> np.ndarray:
    """Law of ``min(C, L)`` from survival curves.

    Parameters
    ----------
    curves
        Array ``(..., L)`` with ``curves[..., l-1] = P(C >= l)``.

    Returns
    -------
    numpy.ndarray
        ``(..., L + 1)``: ``P(C = j)`` for ``j < L`` and ``P(C >= L)`` last.
    """
    curves = np.asarray(curves, dtype=np.float64)
    ones = np.ones((*curves.shape[:-1], 1))
    zeros = np.zeros((*curves.shape[:-1], 1))
    upper = np.concatenate([ones, curves], axis=-1)
    lower = np.concatenate([curves, zeros], axis=-1)
    return np.clip(upper - lower, 0.0, None)


def survival_from_pmf(pmf: np.ndarray, length: int) -> np.ndarray:
    """Survival curve ``S(l) = P(C >= l)``, ``l = 1..length``, from a pmf.

    ``pmf[..., j] = P(C = j)`` for ``j < J``; the mass missing from the sum is
    placed on a single atom at ``C = J`` (so ``S(l) = 0`` for ``l > J``).
    """
    pmf = np.asarray(pmf, dtype=np.float64)
    width = pmf.shape[-1]
    cdf = np.cumsum(pmf, axis=-1)  # P(C <= j)
    surv = np.clip(1.0 - cdf, 0.0, 1.0)  # P(C >= j + 1), j = 0..J-1
    out = np.zeros((*pmf.shape[:-1], length))
    take = min(length, width)
    out[..., :take] = surv[..., :take]
    return out


def tv_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Total variation ``0.5 * sum_j |p_j - q_j|`` over the last axis (broadcasting)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    width = max(p.shape[-1], q.shape[-1])
    if p.shape[-1] < width:
        p = np.concatenate([p, np.zeros((*p.shape[:-1], width - p.shape[-1]))], axis=-1)
    if q.shape[-1] < width:
        q = np.concatenate([q, np.zeros((*q.shape[:-1], width - q.shape[-1]))], axis=-1)
    return 0.5 * np.sum(np.abs(p - q), axis=-1)
