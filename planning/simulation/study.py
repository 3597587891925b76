"""The world interface and the study runner shared by branching and network worlds.

A world knows how to find seeds, how a frontier with a coupon allocation
recruits, and the true capacity law of a frontier. :meth:`World.run_study`
turns that into a field study:

1. interview ``n_seeds`` seeds (uniformly over the first week);
2. round after round, give every frontier member coupons by the coupon
   policy (default: 3 each) and interview their recruits, each strictly
   after the recruiter and inside the coupon window;
3. when every chain has died out, interview a fresh batch of ``n_seeds``
   seeds (``reseed=True``, as field teams do), or stop;
4. once ``max_respondents`` have been interviewed (or the frontier has
   passed the ``cutoff``), stop the study at its target: keep the earliest
   ``max_respondents`` interviews. The data **cut-off is the last kept
   interview** unless a ``cutoff`` is given. Recruiters of the last round
   whose recruits came later have open windows at the cut-off; the last
   recruits are the frontier, interviewed but not yet given coupons
   (``coupons_issued`` is ``<NA>``).

Growth is round based (wave by wave, vectorised per round), so simulating
10,000 respondents takes about a second.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planning.simulation.episode import Episode, Recruitment
from planning.simulation.policies import CouponPolicy, as_policy
from planning.simulation.timing import InterviewClock

__all__ = ["EpisodeDefaults", "SimulatedStudy", "World", "as_generator"]

STUDY_OPTIONS = (
    "n_seeds",
    "coupon_policy",
    "start_time",
    "mean_interview_delay",
    "coupon_window",
    "seed_spread",
    "cutoff",
    "reseed",
)


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A ``Generator`` as is; an int (or ``None``) seeds a new one."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be a numpy.random.Generator or an int seed, got {type(rng).__name__}"
    )


@dataclass(frozen=True)
class EpisodeDefaults:
    """The planning setting a world is evaluated in, unless the user says otherwise.

    Attributes
    ----------
    budget : int
        Coupons of an episode (Pan et al. use 200).
    max_per_round : int or None
        Most coupons handed out in one round (``None``: no cap).
    initial_frontier : int
        People on the first frontier.
    frontier_mix : Mapping[str, Mapping[str, float]]
        Fixed level shares of fields on the first frontier (e.g. half type A
        and half type B in the tunnel world); the counts are the shares times
        the frontier size, rounded by largest remainder (ties to the first
        level). Fields not named are drawn from the seed law.
    """

    budget: int = 200
    max_per_round: int | None = None
    initial_frontier: int = 10
    frontier_mix: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if int(self.budget) != self.budget or self.budget < 0:
            raise ValueError(f"budget must be a whole number >= 0, got {self.budget!r}")
        if self.max_per_round is not None and (
            int(self.max_per_round) != self.max_per_round or self.max_per_round < 1
        ):
            raise ValueError(
                f"max_per_round must be a whole number >= 1, got {self.max_per_round!r}"
            )
        if int(self.initial_frontier) != self.initial_frontier or self.initial_frontier < 1:
            raise ValueError(
                f"initial_frontier must be a whole number >= 1, got {self.initial_frontier!r}"
            )
        for name, shares in self.frontier_mix.items():
            total = sum(float(v) for v in shares.values())
            if any(float(v) < 0 for v in shares.values()) or not abs(total - 1.0) < 1e-9:
                raise ValueError(f"frontier_mix[{name!r}] must be nonnegative shares summing to 1")


@dataclass(frozen=True)
class SimulatedStudy:
    """A simulated study with what the world knows.

    Attributes
    ----------
    table : DataFrame
        The canonical field table.
    truth : DataFrame
        Realised capacities, waves, windows (see :meth:`Episode.truth`).
    cutoff : pandas.Timestamp
        The data cut-off.
    coupon_window : float
        Coupon validity in days (pass it to the censoring derivation).
    episode : Episode
        The stopped episode; its frontier is the table's frontier and it can
        be stepped further by a planner.
    """

    table: pd.DataFrame
    truth: pd.DataFrame
    cutoff: pd.Timestamp
    coupon_window: float
    episode: Episode


class World(ABC):
    """A simulated population that can run RDS studies.

    Subclasses implement :meth:`draw_seeds`, :meth:`recruit` and
    :meth:`capacity_pmf_of`; :meth:`start` and :meth:`run_study` are shared.
    """

    group_column: str = "group"
    #: The setting episodes in this world are evaluated in (budget, cap, first frontier).
    defaults: EpisodeDefaults = EpisodeDefaults()

    @property
    @abstractmethod
    def groups(self) -> tuple[str, ...] | None:
        """Group labels (sites), or ``None`` when the table has no group column."""

    @property
    @abstractmethod
    def covariate_names(self) -> list[str]:
        """Covariate columns of the tables, in order."""

    @abstractmethod
    def draw_seeds(
        self, episode: Episode, n: int, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, NDArray[np.int64] | None]:
        """Up to ``n`` seeds: their group and covariate columns, and nodes (network worlds)."""

    @abstractmethod
    def recruit(
        self, episode: Episode, allocation: NDArray[np.int64], rng: np.random.Generator
    ) -> Recruitment:
        """One round: the episode's frontier with ``allocation`` coupons recruits."""

    @abstractmethod
    def capacity_pmf_of(self, episode: Episode, max_count: int) -> NDArray[np.float64]:
        """True capacity pmf of the episode's frontier, tail in the last column."""

    # ---------------------------------------------------------------------
    def start(
        self,
        n_seeds: int,
        rng: np.random.Generator | int,
        *,
        start_time: str | pd.Timestamp = "2024-01-01",
        mean_interview_delay: float = 7.0,
        coupon_window: float = 14.0,
        seed_spread: float = 7.0,
    ) -> Episode:
        """Open an episode: interview ``n_seeds`` seeds, who form the first frontier.

        Parameters
        ----------
        n_seeds : int
            Seeds of the first batch.
        rng : numpy.random.Generator or int
        start_time : str or Timestamp
            Calendar start.
        mean_interview_delay : float
            Mean recruiter-to-recruit delay in days, before truncation to the window.
        coupon_window : float
            Days a coupon stays valid.
        seed_spread : float
            Days over which a seed batch is interviewed.
        """
        if int(n_seeds) != n_seeds or n_seeds < 1:
            raise ValueError(f"n_seeds must be a positive integer, got {n_seeds!r}")
        clock = InterviewClock(
            start_time=start_time,
            mean_delay=mean_interview_delay,
            coupon_window=coupon_window,
            seed_spread=seed_spread,
        )
        episode = Episode(self, clock)
        episode.add_seeds(int(n_seeds), as_generator(rng))
        return episode

    def simulate(
        self,
        n_seeds: int,
        *,
        max_respondents: int,
        rng: np.random.Generator | int,
        coupon_policy: int | CouponPolicy = 3,
        start_time: str | pd.Timestamp = "2024-01-01",
        mean_interview_delay: float = 7.0,
        coupon_window: float = 14.0,
        seed_spread: float = 7.0,
        cutoff: str | pd.Timestamp | None = None,
        reseed: bool = True,
    ) -> SimulatedStudy:
        """Run a study and return the table together with the truth behind it.

        Parameters are those of :meth:`run_study`.
        """
        if int(max_respondents) != max_respondents or max_respondents < 1:
            raise ValueError(f"max_respondents must be a positive integer, got {max_respondents!r}")
        rng = as_generator(rng)
        policy = as_policy(coupon_policy)
        episode = self.start(
            n_seeds,
            rng,
            start_time=start_time,
            mean_interview_delay=mean_interview_delay,
            coupon_window=coupon_window,
            seed_spread=seed_spread,
        )
        clock = episode.clock
        cut = None
        if cutoff is not None:
            cut = int((pd.Timestamp(cutoff) - clock.start) / pd.Timedelta(minutes=1))
        while episode.n_respondents < max_respondents:
            if episode.frontier_size == 0:
                if not reseed or (cut is not None and (episode.last_time or 0) >= cut):
                    break
                if episode.add_seeds(int(n_seeds), rng) == 0:
                    break
                continue
            if cut is not None and episode.frontier_times.min() > cut:
                break
            allocation = np.asarray(policy(episode.frontier, rng))
            episode.step(allocation, rng)
        stop = episode.stop(int(max_respondents), cut)
        table = episode.table()
        return SimulatedStudy(
            table=table,
            truth=episode.truth(),
            cutoff=clock.start + pd.Timedelta(minutes=stop),
            coupon_window=float(coupon_window),
            episode=episode,
        )

    def run_study(
        self,
        n_seeds: int,
        *,
        max_respondents: int,
        rng: np.random.Generator | int,
        coupon_policy: int | CouponPolicy = 3,
        start_time: str | pd.Timestamp = "2024-01-01",
        mean_interview_delay: float = 7.0,
        coupon_window: float = 14.0,
        seed_spread: float = 7.0,
        cutoff: str | pd.Timestamp | None = None,
        reseed: bool = True,
    ) -> pd.DataFrame:
        """Simulate an RDS study and return its canonical field table.

        Parameters
        ----------
        n_seeds : int
            Seeds per batch.
        max_respondents : int
            Target sample size; the study stops when it is reached.
        rng : numpy.random.Generator or int
            All randomness comes from here.
        coupon_policy : int or CouponPolicy
            Coupons per frontier member each round (default: 3 each).
        start_time : str or Timestamp
            Calendar start.
        mean_interview_delay : float
            Mean recruiter-to-recruit delay in days (before truncation to the window).
        coupon_window : float
            Days a coupon stays valid.
        seed_spread : float
            Days over which a batch of seeds is interviewed.
        cutoff : str or Timestamp, optional
            Calendar cut-off; the study also stops there. Default: the last
            interview.
        reseed : bool
            Interview a new batch of seeds when every chain has died out.

        Returns
        -------
        DataFrame
            Columns ``id``, ``recruiter_id``, ``coupons_issued``,
            ``interview_time``, ``group`` (if the world has groups), then the
            covariates; ``attrs["cutoff"]`` and ``attrs["coupon_window_days"]``
            say how to derive censoring. Fewer than ``max_respondents`` rows
            only if the population ran out (network) or ``reseed=False``.
        """
        return self.simulate(
            n_seeds,
            max_respondents=max_respondents,
            rng=rng,
            coupon_policy=coupon_policy,
            start_time=start_time,
            mean_interview_delay=mean_interview_delay,
            coupon_window=coupon_window,
            seed_spread=seed_spread,
            cutoff=cutoff,
            reseed=reseed,
        ).table


def balanced_groups(groups: Sequence[str], first: int, n: int) -> NDArray[np.int64]:
    """Group codes of seeds ``first .. first + n - 1``, cycling through the groups."""
    return (first + np.arange(n, dtype=np.int64)) % len(groups)
