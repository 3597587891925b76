"""Coupon policies: the constant-k and random baselines, and random coupon counts for generating studies.

A coupon policy looks at the current frontier (one row per respondent
awaiting coupons: ``id``, ``interview_time``, ``group`` if any, covariates)
and returns how many coupons each gets. This module is the one home of the
evaluation baselines:

* **constant-k** (:class:`ConstantCoupons`): ``k`` coupons each, in frontier
  order, until an optional round budget runs out; standard RDS is ``k = 3``;
* **random** (:class:`RandomAllocation`): the round budget handed out one
  coupon at a time to uniformly random frontier members with room left
  (at most ``cap`` each).

:class:`RandomCoupons` draws each person's number of coupons independently,
which gives count models variation in the censoring point ``k``. Planners
that need a posterior or several rounds of look-ahead live elsewhere in
:mod:`planning`; they can drive a world directly through ``Episode.step``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["ConstantCoupons", "CouponPolicy", "RandomAllocation", "RandomCoupons", "as_policy"]

IntArray = NDArray[np.int64]


@runtime_checkable
class CouponPolicy(Protocol):
    """Allocation rule: frontier table in, nonnegative int array (one per row) out."""

    def __call__(self, frontier: pd.DataFrame, rng: np.random.Generator) -> IntArray:
        """Coupons per frontier row."""
        ...


def _whole(value: int | None, name: str) -> None:
    if value is not None and (int(value) != value or value < 0):
        raise ValueError(f"{name} must be a nonnegative integer, got {value!r}")


@dataclass(frozen=True)
class ConstantCoupons:
    """Constant-k: ``coupons`` each, in frontier order, until ``budget`` runs out (standard RDS: 3).

    With a budget ``b`` and ``n`` people, the first ``b // k`` get ``k``, the
    next gets ``b mod k`` and the rest none; without one everyone gets ``k``.

    Parameters
    ----------
    coupons : int
        ``k >= 0``.
    budget : int, optional
        Coupons available this round.
    """

    coupons: int = 3
    budget: int | None = None

    def __post_init__(self) -> None:
        _whole(self.coupons, "coupons")
        _whole(self.budget, "budget")

    def __call__(self, frontier: pd.DataFrame, rng: np.random.Generator) -> IntArray:
        """Coupons per row (``rng`` is not used)."""
        n, k = len(frontier), int(self.coupons)
        if self.budget is None:
            return np.full(n, k, dtype=np.int64)
        spend = min(int(self.budget), k * n)
        return np.clip(spend - k * np.arange(n), 0, k).astype(np.int64)


@dataclass(frozen=True)
class RandomAllocation:
    """Random: ``budget`` coupons one at a time to uniformly random people with fewer than ``cap``.

    Equivalently, ``min(budget, cap * n)`` of the ``cap * n`` coupon slots
    drawn without replacement.

    Parameters
    ----------
    budget : int
        Coupons available this round.
    cap : int
        Most coupons one person can get.
    """

    budget: int
    cap: int = 3

    def __post_init__(self) -> None:
        _whole(self.budget, "budget")
        _whole(self.cap, "cap")

    def __call__(self, frontier: pd.DataFrame, rng: np.random.Generator) -> IntArray:
        """Coupons per row."""
        n = len(frontier)
        slots = np.repeat(np.arange(n), int(self.cap))
        chosen = rng.choice(slots, size=min(int(self.budget), slots.size), replace=False)
        return np.bincount(chosen, minlength=n).astype(np.int64)


@dataclass(frozen=True)
class RandomCoupons:
    """Each person gets a number drawn from ``choices`` with probabilities ``probs``.

    Useful to give count models variation in ``k`` (the censoring point).
    """

    choices: Sequence[int] = (2, 3, 4)
    probs: Sequence[float] | None = None

    def __call__(self, frontier: pd.DataFrame, rng: np.random.Generator) -> IntArray:
        """One draw per row."""
        choices = np.asarray(self.choices, dtype=np.int64)
        if choices.size == 0 or choices.min() < 0:
            raise ValueError("RandomCoupons needs nonnegative choices")
        p = None if self.probs is None else np.asarray(self.probs, dtype="float64")
        return rng.choice(choices, size=len(frontier), p=p)


def as_policy(policy: int | CouponPolicy) -> CouponPolicy:
    """An int means :class:`ConstantCoupons`; anything callable is used as is."""
    if isinstance(policy, (int, np.integer)) and not isinstance(policy, bool):
        return ConstantCoupons(int(policy))
    if callable(policy):
        return policy
    raise TypeError(
        f"coupon_policy must be an int or a callable policy, got {type(policy).__name__}"
    )
