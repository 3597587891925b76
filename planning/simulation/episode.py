"""One recruitment episode in a simulated world, round by round.

An :class:`Episode` is the state of a study in progress: every respondent so
far (recruiter, wave, interview time, coupons issued, realised capacity,
covariates) and the current *frontier*, the respondents interviewed but not
yet given coupons. Planners drive it with :meth:`Episode.step`:

>>> from planning.simulation import make_world
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> episode = make_world("homogeneous").start(n_seeds=5, rng=rng)
>>> outcome = episode.step(np.full(episode.frontier_size, 2), rng)
>>> int(outcome.recruits.sum()) == episode.frontier_size
True

Every frontier member is allocated exactly once: a member given zero coupons
recruits nobody, ever. The new frontier is the set of recruits of the round.
The true capacity law of the current frontier is :meth:`Episode.capacity_pmf`
(what a planner would like to know), and :attr:`RoundOutcome.capacity` the
realised capacities (what a hindsight oracle knows).

Respondent ids are ``"R"`` plus the zero-padded position in creation order
(``R00001`` ...). :meth:`Episode.stop` ends data collection the way a study
stops at its target size: it keeps the earliest interviews, drops the rest
and renumbers; the table of :meth:`Episode.table` is then the canonical field
table (``docs/architecture.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from planning.simulation.timing import MINUTES_PER_DAY, InterviewClock
from rdsmodel.laws.capacity import survival_from_pmf

if TYPE_CHECKING:
    from planning.simulation.study import World

__all__ = ["Episode", "Recruitment", "RoundOutcome", "respondent_ids"]

IntArray = NDArray[np.int64]
_EMPTY = np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class Recruitment:
    """What a world hands back for one round (internal contract world -> episode).

    Attributes
    ----------
    parent : int array, shape (recruits,)
        Frontier position of each recruit's recruiter, non-decreasing.
    covariates : DataFrame
        The recruits' group and covariate columns (internal dtypes).
    times : int array
        Interview minutes of the recruits.
    capacity : int array, shape (frontier,)
        Realised capacity of each frontier member.
    nodes : int array or None
        Population node of each recruit (network worlds).
    """

    parent: IntArray
    covariates: pd.DataFrame
    times: IntArray
    capacity: IntArray
    nodes: IntArray | None = None


@dataclass(frozen=True)
class RoundOutcome:
    """Result of :meth:`Episode.step`.

    Attributes
    ----------
    allocation : int array, shape (frontier,)
        Coupons given to each member of the old frontier.
    recruits : int array, shape (frontier,)
        Recruits each brought in (``<= allocation``).
    capacity : int array, shape (frontier,)
        Realised capacities (recruits would be ``min(capacity, allocation)``
        in a branching world; fewer in a network world if neighbours ran out
        or were claimed by another recruiter in the same round).
    new_frontier : DataFrame
        The recruits, as :attr:`Episode.frontier`.
    """

    allocation: IntArray
    recruits: IntArray
    capacity: IntArray
    new_frontier: pd.DataFrame

    @property
    def n_recruits(self) -> int:
        """Total recruits of the round."""
        return int(self.recruits.sum())


def respondent_ids(n: int) -> NDArray[np.object_]:
    """``R00001`` ... ``Rn`` (at least five digits, wider when needed)."""
    width = max(5, len(str(n)))
    return np.array([f"R{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


@lru_cache(maxsize=256)
def _labels(dtype: pd.CategoricalDtype) -> NDArray[np.object_]:
    """Level labels as an object array, with ``None`` last (code ``-1``)."""
    return np.append(np.asarray(dtype.categories.astype(str), dtype=object), None)


def _as_string_column(values: pd.Series) -> pd.Series | pd.api.extensions.ExtensionArray:
    """Categorical (or object) columns as pandas ``string``; numeric ones unchanged."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.array(_labels(dtype)[values.cat.codes.to_numpy()], dtype="string")
    if not pd.api.types.is_numeric_dtype(dtype):
        return values.astype("string").array
    return values.to_numpy()


def _concat_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Row-bind frames with identical columns, fast for many small categorical chunks."""
    if len(frames) == 1:
        return frames[0]
    if not frames:
        return pd.DataFrame()
    columns = {}
    for name in frames[0].columns:
        dtype = frames[0][name].dtype
        parts = [f[name] for f in frames]
        if isinstance(dtype, pd.CategoricalDtype) and all(p.dtype == dtype for p in parts):
            codes = np.concatenate([p.cat.codes.to_numpy() for p in parts])
            columns[name] = pd.Categorical.from_codes(codes, dtype=dtype)
        else:
            columns[name] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(columns, index=pd.RangeIndex(sum(len(f) for f in frames)))


class Episode:
    """State of a simulated study; advance it with :meth:`step`.

    Build one with ``world.start(n_seeds, rng, ...)``.
    """

    def __init__(self, world: World, clock: InterviewClock) -> None:
        self.world = world
        self.clock = clock
        self.round = 0
        self.n_seeds = 0
        self.cutoff_minutes: int | None = None
        self._chunks: list[pd.DataFrame] = []
        self._recruiter = _EMPTY
        self._time = _EMPTY
        self._coupons = _EMPTY
        self._capacity = _EMPTY
        self._wave = _EMPTY
        self._node = _EMPTY
        self._frontier_start = 0
        self._frontier_cache: pd.DataFrame | None = None

    # ----------------------------------------------------------------- sizes
    @property
    def n_respondents(self) -> int:
        """Respondents interviewed so far."""
        return len(self._time)

    @property
    def frontier_size(self) -> int:
        """Respondents awaiting coupons."""
        return self.n_respondents - self._frontier_start

    @property
    def frontier_positions(self) -> IntArray:
        """Row positions of the frontier."""
        return np.arange(self._frontier_start, self.n_respondents)

    @property
    def last_time(self) -> int | None:
        """Minute of the latest interview, or ``None`` before any."""
        return int(self._time.max()) if self.n_respondents else None

    # ------------------------------------------------------------ frontier
    def _covariates(self) -> pd.DataFrame:
        if len(self._chunks) != 1:
            self._chunks = [_concat_frames(self._chunks)]
        return self._chunks[0]

    @property
    def frontier_covariates(self) -> pd.DataFrame:
        """Frontier group and covariate columns in the world's internal dtypes (categorical)."""
        tail = self._chunks[-1] if self._chunks else pd.DataFrame()
        if len(tail) < self.frontier_size:
            tail = self._covariates()
        return tail.iloc[len(tail) - self.frontier_size :].reset_index(drop=True)

    @property
    def frontier_times(self) -> IntArray:
        """Interview minutes of the frontier."""
        return self._time[self._frontier_start :]

    @property
    def frontier_nodes(self) -> IntArray:
        """Population nodes of the frontier (``-1`` in branching worlds)."""
        return self._node[self._frontier_start :]

    @property
    def nodes(self) -> IntArray:
        """Population node of every respondent (``-1`` in branching worlds)."""
        return self._node

    @property
    def frontier(self) -> pd.DataFrame:
        """The respondents awaiting coupons: ``id``, ``interview_time``, group, covariates (strings)."""
        if self._frontier_cache is None:
            cov = self.frontier_covariates
            columns = {
                "id": pd.array(
                    respondent_ids(self.n_respondents)[self._frontier_start :], dtype="string"
                ),
                "interview_time": self.clock.to_timestamps(self.frontier_times).to_numpy(),
            }
            columns.update({c: _as_string_column(cov[c]) for c in cov.columns})
            self._frontier_cache = pd.DataFrame(columns, index=pd.RangeIndex(len(cov)))
        return self._frontier_cache

    def capacity_pmf(self, max_count: int) -> NDArray[np.float64]:
        """True capacity law of the frontier, ``(person, max_count + 1)`` with the tail last.

        In a network world this is the law given who has been recruited so
        far (it changes as the population is depleted).
        """
        return self.world.capacity_pmf_of(self, max_count)

    def capacity_survival(self, max_count: int) -> NDArray[np.float64]:
        """True ``S(l) = P(C >= l)``, ``l = 1..max_count``, shape ``(person, max_count)``."""
        return survival_from_pmf(self.capacity_pmf(max_count))

    # -------------------------------------------------------------- growth
    def _append(
        self,
        covariates: pd.DataFrame,
        recruiter: IntArray,
        times: IntArray,
        wave: IntArray,
        nodes: IntArray | None,
    ) -> None:
        n = len(times)
        self._chunks.append(covariates.reset_index(drop=True))
        self._recruiter = np.concatenate([self._recruiter, recruiter])
        self._time = np.concatenate([self._time, times.astype(np.int64)])
        self._coupons = np.concatenate([self._coupons, np.full(n, -1, dtype=np.int64)])
        self._capacity = np.concatenate([self._capacity, np.full(n, -1, dtype=np.int64)])
        self._wave = np.concatenate([self._wave, wave])
        node = np.full(n, -1, dtype=np.int64) if nodes is None else nodes.astype(np.int64)
        self._node = np.concatenate([self._node, node])
        self._frontier_cache = None

    def add_seeds(self, n: int, rng: np.random.Generator) -> int:
        """Interview ``n`` new seeds (they join the frontier); returns how many were found.

        The first batch starts at the study start; later batches start an
        hour after the last interview. A network world may find fewer than
        ``n`` people left to seed.
        """
        if n < 0:
            raise ValueError(f"n_seeds must be >= 0, got {n}")
        covariates, nodes = self.world.draw_seeds(self, n, rng)
        found = len(covariates)
        times = self.clock.seed_times(found, rng, after=self.last_time)
        self._append(
            covariates,
            np.full(found, -1, dtype=np.int64),
            times,
            np.zeros(found, dtype=np.int64),
            nodes,
        )
        self.n_seeds += found
        return found

    def step(self, allocation: ArrayLike, rng: np.random.Generator) -> RoundOutcome:
        """Hand out coupons to the whole frontier and interview the recruits.

        Parameters
        ----------
        allocation : int array, shape (frontier,)
            Coupons per frontier member, in :attr:`frontier` order.
        rng : numpy.random.Generator

        Returns
        -------
        RoundOutcome
            The recruits form the new frontier.
        """
        alloc = np.asarray(allocation)
        size = self.frontier_size
        if alloc.shape != (size,):
            raise ValueError(f"allocation has shape {alloc.shape}, the frontier has {size} people")
        if size and not np.issubdtype(alloc.dtype, np.integer):
            if not np.all(np.isfinite(alloc)) or np.any(alloc != np.round(alloc)):
                raise ValueError("allocation must hold whole numbers of coupons")
        alloc = alloc.astype(np.int64)
        if size and alloc.min() < 0:
            raise ValueError(
                f"allocation must be >= 0; frontier position {int(np.argmin(alloc))} has {alloc.min()}"
            )
        start = self._frontier_start
        result = self.world.recruit(self, alloc, rng)
        self._coupons[start:] = alloc
        self._capacity[start:] = result.capacity
        recruits = np.bincount(result.parent, minlength=size).astype(np.int64)
        if np.any(recruits > alloc):  # pragma: no cover - a world bug
            raise RuntimeError("the world returned more recruits than coupons")
        recruiter = start + result.parent
        self._frontier_start = self.n_respondents
        self._append(
            result.covariates, recruiter, result.times, self._wave[recruiter] + 1, result.nodes
        )
        self.round += 1
        return RoundOutcome(
            allocation=alloc,
            recruits=recruits,
            capacity=result.capacity.astype(np.int64),
            new_frontier=self.frontier,
        )

    # ---------------------------------------------------------------- stop
    def stop(self, max_respondents: int | None = None, cutoff_minutes: int | None = None) -> int:
        """End data collection: keep the earliest interviews, drop the rest, renumber.

        Keeps the first ``max_respondents`` respondents in interview-time
        order (ties by creation order) among those interviewed by
        ``cutoff_minutes``. The kept set contains every kept respondent's
        recruiter, since recruits are interviewed strictly later. Coupons a
        kept recruiter handed out whose recruits were dropped were still
        outstanding at the cut-off, so that recruiter's window is open
        there: the table's censoring stays honest. If the episode is stepped
        again afterwards, those outstanding coupons are treated as expired.

        Returns
        -------
        int
            The data cut-off in minutes: ``cutoff_minutes`` if given, else
            the last kept interview.
        """
        n = self.n_respondents
        keep = np.ones(n, dtype=bool)
        if cutoff_minutes is not None:
            keep &= self._time <= cutoff_minutes
        if max_respondents is not None and keep.sum() > max_respondents:
            order = np.lexsort((np.arange(n), self._time))
            order = order[keep[order]]
            keep = np.zeros(n, dtype=bool)
            keep[order[:max_respondents]] = True
        if not keep.all():
            new_pos = np.cumsum(keep) - 1
            rec = self._recruiter[keep]
            if np.any(rec >= 0) and not keep[rec[rec >= 0]].all():  # pragma: no cover - invariant
                raise RuntimeError("truncation dropped a recruiter of a kept respondent")
            frame = self._covariates().loc[keep].reset_index(drop=True)
            self._frontier_start = int(keep[: self._frontier_start].sum())
            self._recruiter = np.where(rec >= 0, new_pos[np.maximum(rec, 0)], -1)
            self._time = self._time[keep]
            self._coupons = self._coupons[keep]
            self._capacity = self._capacity[keep]
            self._wave = self._wave[keep]
            self._node = self._node[keep]
            self._chunks = [frame]
            self._frontier_cache = None
        if cutoff_minutes is None:
            cutoff_minutes = self.last_time if self.n_respondents else 0
        self.cutoff_minutes = int(cutoff_minutes)
        return self.cutoff_minutes

    # --------------------------------------------------------------- tables
    def table(self) -> pd.DataFrame:
        """The canonical field table of everyone interviewed so far.

        Columns ``id``, ``recruiter_id`` (``<NA>`` for seeds),
        ``coupons_issued`` (``Int64``, ``<NA>`` for the frontier),
        ``interview_time`` (``datetime64[s]``), ``window_closed`` (the coupon
        window had expired at the cut-off, as a field system records it),
        ``group`` (string, if the world has groups), then the covariates
        (string for categorical, ``float64`` for numeric). ``attrs`` carry
        ``cutoff`` (ISO time) and ``coupon_window_days``.
        """
        n = self.n_respondents
        ids = respondent_ids(n)
        rec = self._recruiter
        recruiter_id = np.where(rec >= 0, ids[np.maximum(rec, 0)], None).astype(object)
        coupons = pd.array(self._coupons, dtype="Int64")
        coupons[self._coupons < 0] = pd.NA
        columns = {
            "id": pd.array(ids, dtype="string"),
            "recruiter_id": pd.array(recruiter_id, dtype="string"),
            "coupons_issued": coupons,
            "interview_time": self.clock.to_timestamps(self._time).to_numpy(),
            "window_closed": self._window_closed(),
        }
        cov = self._covariates()
        columns.update({c: _as_string_column(cov[c]) for c in cov.columns})
        out = pd.DataFrame(columns, index=pd.RangeIndex(n))
        cutoff = self._cutoff()
        out.attrs["cutoff"] = self.clock.to_timestamps(np.array([cutoff]))[0].isoformat()
        out.attrs["coupon_window_days"] = float(self.clock.coupon_window)
        return out

    def _cutoff(self) -> float:
        return self.cutoff_minutes if self.cutoff_minutes is not None else (self.last_time or 0)

    def _window_closed(self) -> np.ndarray:
        """Whether each coupon window had expired at the cut-off."""
        window = self.clock.coupon_window * MINUTES_PER_DAY
        return self._time + window <= self._cutoff()

    def truth(self) -> pd.DataFrame:
        """What the world knows and the table hides, one row per respondent.

        Columns ``id``, ``wave``, ``capacity`` (realised, ``Int64``,
        ``<NA>`` for the frontier), ``n_recruits`` (recruits in the table),
        ``window_closed`` (at the cut-off) and, in network worlds, ``node``.
        """
        n = self.n_respondents
        cap = pd.array(self._capacity, dtype="Int64")
        cap[self._capacity < 0] = pd.NA
        rec = self._recruiter
        n_recruits = np.bincount(rec[rec >= 0], minlength=n).astype(np.int64)
        out = pd.DataFrame(
            {
                "id": pd.array(respondent_ids(n), dtype="string"),
                "wave": self._wave.copy(),
                "capacity": cap,
                "n_recruits": n_recruits,
                "window_closed": self._window_closed(),
            }
        )
        if np.any(self._node >= 0):
            out["node"] = self._node.copy()
        return out
