r"""Truncated probability generating functions and polynomial arithmetic.

A person given ``k`` coupons brings ``min(C, k)`` recruits, whose probability
generating function is the *truncated PGF*

.. math:: H_k(z) = \sum_{j<k} P(C=j)\, z^j + P(C \ge k)\, z^k .

The number of recruits of a whole frontier, person ``i`` holding ``k_i``
coupons, has PGF :math:`\prod_i H_{k_i}(z)`: its coefficient of ``z^m`` is the
probability that the next frontier has ``m`` people.

Laws are given as ``pmf[j] = P(C = j)`` for ``j < J = len(pmf)``; mass missing
from the sum is ``P(C >= J)`` and is treated as a single atom at ``C = J``
(the law says nothing finer about it; pass a longer pmf to resolve the tail).
The survival curve of such a law is :func:`planning.curves.survival_from_pmf`,
the planners' one conversion between the two.

Polynomials are coefficient vectors, lowest degree first. Products use direct
convolution (:func:`numpy.convolve`, exact up to float rounding) or, for the
batched products of the dynamic program, real FFTs whose absolute error is
about ``1e-15`` for probability vectors (far inside the ``1e-9`` tolerance).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import fft as sfft

__all__ = [
    "check_pmf",
    "extend_pmf",
    "poly_mul",
    "poly_pow",
    "power_table",
    "truncated_pgf",
    "truncated_products",
]


def check_pmf(pmf: Any, name: str = "pmf") -> np.ndarray:
    """Validate a capacity law ``pmf[j] = P(C = j)`` (1-D, non-negative, sum <= 1).

    Returns a float64 copy with round-off negatives set to 0.
    """
    arr = np.asarray(pmf, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of P(C = j); got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(arr < -1e-12):
        bad = int(np.flatnonzero(arr < -1e-12)[0])
        raise ValueError(f"{name} must be non-negative; {name}[{bad}] = {arr[bad]:.3g}")
    total = float(arr.sum())
    if total > 1 + 1e-9:
        raise ValueError(f"{name} sums to {total:.6g} > 1")
    return np.clip(arr, 0.0, None)


def extend_pmf(pmf: np.ndarray, size: int) -> np.ndarray:
    """Law of ``min(C, size)`` as a vector of length ``size + 1``.

    Entries ``j < size`` are ``P(C = j)`` (zero beyond the given pmf except the
    atom of missing mass at ``J = len(pmf)``); the last entry is ``P(C >= size)``.
    """
    pmf = np.asarray(pmf, dtype=np.float64)
    full = np.zeros(max(size, pmf.size + 1) + 1)
    full[: pmf.size] = pmf
    full[pmf.size] += max(0.0, 1.0 - float(pmf.sum()))
    out = full[: size + 1].copy()
    out[size] = max(0.0, 1.0 - float(out[:size].sum()))
    return out


def truncated_pgf(pmf: np.ndarray, k: int) -> np.ndarray:
    """Coefficients of :math:`H_k(z)`, the PGF of ``min(C, k)`` (length ``k + 1``)."""
    if k < 0:
        raise ValueError(f"k must be non-negative; got {k}")
    return extend_pmf(pmf, k)


def poly_mul(a: np.ndarray, b: np.ndarray, degree: int | None = None) -> np.ndarray:
    """Product of two polynomials by direct convolution, optionally truncated.

    Parameters
    ----------
    a, b
        Coefficients, lowest degree first (last axis); leading axes broadcast
        only for 1-D inputs (use :func:`truncated_products` for batches).
    degree
        Keep coefficients of degree ``<= degree`` only.
    """
    if degree is not None:
        a = a[: degree + 1]
        b = b[: degree + 1]
    out = np.convolve(a, b)
    return out if degree is None else out[: degree + 1]


def poly_pow(a: np.ndarray, power: int, degree: int | None = None) -> np.ndarray:
    """``a(z) ** power`` by binary exponentiation with direct convolution."""
    if power < 0:
        raise ValueError("power must be non-negative")
    result = np.ones(1)
    base = np.asarray(a, dtype=np.float64)
    if degree is not None:
        base = base[: degree + 1]
    while power:
        if power & 1:
            result = poly_mul(result, base, degree)
        power >>= 1
        if power:
            base = poly_mul(base, base, degree)
    return result


def power_table(law: np.ndarray, max_power: int, width: int) -> np.ndarray:
    """Powers ``H(z)^k``, ``k = 0..max_power``, truncated to ``width`` coefficients.

    Parameters
    ----------
    law
        Coefficients of ``H``.
    max_power
        Largest power.
    width
        Coefficients kept (degrees ``0..width-1``); lower coefficients of a
        product only depend on lower coefficients of its factors, so the
        truncated powers are exact.

    Returns
    -------
    numpy.ndarray
        ``(max_power + 1, width)``.
    """
    table = np.zeros((max_power + 1, width))
    if width == 0:
        return table
    table[0, 0] = 1.0
    base = np.asarray(law, dtype=np.float64)[:width]
    for k in range(1, max_power + 1):
        table[k] = np.convolve(table[k - 1], base)[:width]
    return table


def truncated_products(left: np.ndarray, right: np.ndarray, width: int) -> np.ndarray:
    """Row-wise products of two batches of polynomials, first ``width`` coefficients.

    Uses a real FFT of size ``>= 2 width - 1`` (no wrap-around into the kept
    coefficients).

    Parameters
    ----------
    left, right
        ``(batch, >= width)`` coefficient arrays.
    width
        Number of coefficients to return.

    Returns
    -------
    numpy.ndarray
        ``(batch, width)``.
    """
    batch = left.shape[0]
    if width == 0:
        return np.zeros((batch, 0))
    if width <= 8:
        out = np.zeros((batch, width))
        for j in range(width):
            out[:, j:] += left[:, j : j + 1] * right[:, : width - j]
        return out
    size = sfft.next_fast_len(2 * width - 1, real=True)
    spec = sfft.rfft(left[:, :width], n=size, axis=1) * sfft.rfft(right[:, :width], n=size, axis=1)
    return sfft.irfft(spec, n=size, axis=1)[:, :width]
