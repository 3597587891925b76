"""Interview times of a simulated study.

Times are kept as whole minutes after the study start, which makes every
comparison exact and the written table reproducible byte for byte.

* A batch of seeds is interviewed uniformly over ``seed_spread`` days after a
  base time (the study start, or, for a fresh batch of seeds when every chain
  has died out, one hour after the last interview).
* A recruit is interviewed a delay ``D`` after the recruiter, with
  ``D = 60 min + E`` and ``E ~ Exponential(mean_delay)`` conditioned on
  ``D < coupon_window`` (coupons expire): every recruit arrives strictly
  after the recruiter and strictly inside the recruiter's coupon window.
  The truncation makes the realised mean delay somewhat below
  ``mean_delay``.

Because ``D < coupon_window``, a recruiter whose window had closed by the
data cut-off has all their recruits in the table, and one with recruits still
to come has an open window: the table's censoring is honest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["InterviewClock"]

MINUTES_PER_DAY = 24 * 60
MIN_DELAY_MINUTES = 60


@dataclass(frozen=True)
class InterviewClock:
    """Calendar of a simulated study.

    Parameters
    ----------
    start_time : str or pandas.Timestamp
        When the first seed batch starts.
    mean_delay : float
        Mean (before truncation) of the recruiter-to-recruit delay, days.
    coupon_window : float
        Days a coupon stays valid; every delay is shorter.
    seed_spread : float
        Days over which a batch of seeds is interviewed.
    """

    start_time: str | pd.Timestamp = "2024-01-01"
    mean_delay: float = 7.0
    coupon_window: float = 14.0
    seed_spread: float = 7.0

    def __post_init__(self) -> None:
        if self.mean_delay <= 0:
            raise ValueError(f"mean_interview_delay must be > 0 days, got {self.mean_delay}")
        if self.coupon_window * MINUTES_PER_DAY <= MIN_DELAY_MINUTES + 1:
            raise ValueError(
                f"coupon_window must be longer than an hour, got {self.coupon_window} days"
            )
        if self.seed_spread < 0:
            raise ValueError(f"seed_spread must be >= 0 days, got {self.seed_spread}")
        try:
            pd.Timestamp(self.start_time)
        except (TypeError, ValueError) as err:
            raise ValueError(f"start_time {self.start_time!r} is not a date/time") from err

    @property
    def start(self) -> pd.Timestamp:
        """The start as a timestamp (floored to the minute)."""
        return pd.Timestamp(self.start_time).floor("min")

    @property
    def window_minutes(self) -> int:
        """Coupon window in whole minutes."""
        return int(np.floor(self.coupon_window * MINUTES_PER_DAY))

    def seed_times(
        self, n: int, rng: np.random.Generator, after: int | None = None
    ) -> NDArray[np.int64]:
        """Minutes of ``n`` seed interviews, uniform over ``seed_spread`` days.

        Parameters
        ----------
        after : int, optional
            Last interview so far; the batch then starts one hour later.
        """
        base = 0 if after is None else int(after) + MIN_DELAY_MINUTES
        spread = max(int(self.seed_spread * MINUTES_PER_DAY), 1)
        return base + rng.integers(0, spread, size=n, dtype=np.int64)

    def recruit_delays(self, n: int, rng: np.random.Generator) -> NDArray[np.int64]:
        """Minutes from recruiter to recruit, in ``[60, window - 1]``.

        ``60 + floor(E)`` with ``E`` exponential of mean ``mean_delay`` days
        truncated to ``[0, window - 60)``, drawn by inversion.
        """
        mean = self.mean_delay * MINUTES_PER_DAY
        span = self.window_minutes - MIN_DELAY_MINUTES
        mass = -np.expm1(-span / mean)
        e = -mean * np.log1p(-rng.random(n) * mass)
        return MIN_DELAY_MINUTES + np.minimum(np.floor(e).astype(np.int64), span - 1)

    def to_timestamps(self, minutes: NDArray[np.int64]) -> pd.Series:
        """Absolute ``datetime64[s]`` times of minute offsets."""
        start = np.datetime64(self.start.to_datetime64(), "s")
        return pd.Series(
            start + np.asarray(minutes, dtype=np.int64) * np.timedelta64(60, "s"),
            dtype="datetime64[s]",
        )
