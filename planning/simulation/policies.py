"""Coupon policies used to generate simulated studies.

A coupon policy looks at the current frontier (one row per respondent
awaiting coupons: ``id``, ``interview_time``, ``group`` if any, covariates)
and returns how many coupons each gets. Standard RDS gives everyone three.
Planners that need a budget, a posterior or several rounds of look-ahead
live elsewhere in :mod:`planning`; they can drive a world directly through
``Episode.step``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["ConstantCoupons", "CouponPolicy", "RandomCoupons", "as_policy"]


@runtime_checkable
class CouponPolicy(Protocol):
    """Allocation rule: frontier table in, nonnegative int array (one per row) out."""

    def __call__(self, frontier: pd.DataFrame, rng: np.random.Generator) -> NDArray[np.int64]:
        """Coupons per frontier row."""
        ...


@dataclass(frozen=True)
class ConstantCoupons:
    """Everyone gets ``coupons`` coupons (standard RDS: 3)."""

    coupons: int = 3

    def __post_init__(self) -> None:
        if int(self.coupons) != self.coupons or self.coupons < 0:
            raise ValueError(f"coupons must be a nonnegative integer, got {self.coupons!r}")

    def __call__(self, frontier: pd.DataFrame, rng: np.random.Generator) -> NDArray[np.int64]:
        """``coupons`` for every row."""
        return np.full(len(frontier), int(self.coupons), dtype=np.int64)


@dataclass(frozen=True)
class RandomCoupons:
    """Each person gets a number drawn from ``choices`` with probabilities ``probs``.

    Useful to give count models variation in ``k`` (the censoring point).
    """

    choices: Sequence[int] = (2, 3, 4)
    probs: Sequence[float] | None = None

    def __call__(self, frontier: pd.DataFrame, rng: np.random.Generator) -> NDArray[np.int64]:
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
    raise TypeError(f"coupon_policy must be an int or a callable policy, got {type(policy).__name__}")
