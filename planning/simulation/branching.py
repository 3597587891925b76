"""Branching worlds: independent capacities and an offspring covariate law.

Each frontier member ``i`` with ``k_i`` coupons has a fresh capacity
``C_i ~ capacity(x_i, g_i)`` and brings ``y_i = min(C_i, k_i)`` recruits,
whose covariates are drawn from the offspring law given ``x_i``; recruits
belong to their recruiter's group (site). The population is unlimited, so
this is exactly the multi-type branching process the planners' models
assume, and the true curves ``S_i(l) = P(C_i >= l)`` are known.

Examples
--------
>>> import numpy as np
>>> from planning.simulation import (BranchingWorld, CategoricalTransition, LogLinearMean,
...                              NegativeBinomialCapacity, OffspringLaw)
>>> world = BranchingWorld(
...     NegativeBinomialCapacity(LogLinearMean(np.log(2.0)), dispersion=1.5),
...     OffspringLaw([CategoricalTransition.inheritance("sex", ["F", "M"], rho=0.2)]),
...     groups=["S1", "S2"])
>>> table = world.run_study(5, max_respondents=50, rng=np.random.default_rng(3))
>>> list(table.columns)
['id', 'recruiter_id', 'coupons_issued', 'interview_time', 'group', 'sex']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planning.simulation.capacity import CapacityLaw
from planning.simulation.episode import Episode, Recruitment
from planning.simulation.offspring import OffspringLaw, category_codes
from planning.simulation.study import EpisodeDefaults, World, balanced_groups

__all__ = ["BranchingWorld", "SeedCovariateLaw"]


class SeedCovariateLaw(Protocol):
    """Covariates of new seeds: ``sample(n, rng) -> DataFrame`` (one column per covariate)."""

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` seeds."""
        ...


class BranchingWorld(World):
    """A multi-type branching world.

    Parameters
    ----------
    capacity : CapacityLaw
        True referral-capacity law; reads covariates and the group column.
    offspring : OffspringLaw
        True recruit-covariate law.
    seed_covariate_law : SeedCovariateLaw, optional
        Seeds' covariates; default ``offspring.population()`` (each field's
        population law ``pi_f``).
    groups : sequence of str, optional
        Sites. Seeds are assigned to them in turn (balanced across seed
        batches) and recruits stay in their recruiter's site. ``None``: no
        group column.
    group_column : str
        Name of the group column.
    defaults : EpisodeDefaults, optional
        The planning setting of the world (budget, per-round cap, first frontier).

    Attributes
    ----------
    capacity, offspring, seed_covariate_law
        The true laws, for evaluation: e.g.
        ``world.capacity.pmf(episode.frontier, L)``.
    """

    def __init__(
        self,
        capacity: CapacityLaw,
        offspring: OffspringLaw,
        seed_covariate_law: SeedCovariateLaw | None = None,
        groups: Sequence[str] | None = None,
        group_column: str = "group",
        defaults: EpisodeDefaults | None = None,
    ) -> None:
        self.capacity = capacity
        if defaults is not None:
            self.defaults = defaults
        self.offspring = offspring
        self.seed_covariate_law = (
            offspring.population() if seed_covariate_law is None else seed_covariate_law
        )
        if groups is not None:
            groups = tuple(str(g) for g in groups)
            if not groups or len(set(groups)) != len(groups):
                raise ValueError(f"groups must be distinct and non-empty, got {groups}")
        self._groups = groups
        self.group_column = group_column
        if group_column in offspring.names:
            raise ValueError(f"the group column {group_column!r} clashes with a covariate")

    def __repr__(self) -> str:
        return (
            f"BranchingWorld(capacity={type(self.capacity).__name__}, offspring={self.offspring!r}, "
            f"groups={self._groups})"
        )

    @property
    def groups(self) -> tuple[str, ...] | None:
        """Site labels, or ``None``."""
        return self._groups

    @property
    def covariate_names(self) -> list[str]:
        """Covariate columns, in order."""
        return self.offspring.names

    def draw_seeds(
        self, episode: Episode, n: int, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, NDArray[np.int64] | None]:
        """``n`` seeds from the seed law, assigned to the groups in turn."""
        cov = self.seed_covariate_law.sample(n, rng).reset_index(drop=True)
        missing = [c for c in self.covariate_names if c not in cov.columns]
        if missing:
            raise ValueError(f"the seed covariate law does not give {missing}")
        cov = cov[self.covariate_names]
        if self._groups is not None:
            codes = balanced_groups(self._groups, episode.n_seeds, n)
            group = pd.Categorical.from_codes(codes, categories=list(self._groups))
            cov.insert(0, self.group_column, group)
        return cov, None

    def recruit(
        self, episode: Episode, allocation: NDArray[np.int64], rng: np.random.Generator
    ) -> Recruitment:
        """``C_i`` from the capacity law, ``min(C_i, k_i)`` recruits from the offspring law."""
        frontier = episode.frontier_covariates
        capacity = self.capacity.sample(frontier, rng).astype(np.int64)
        recruits = np.minimum(capacity, allocation)
        children = self.offspring.sample(frontier, recruits, rng)
        parent = np.repeat(np.arange(len(frontier), dtype=np.int64), recruits)
        if self._groups is not None:
            codes = category_codes(frontier[self.group_column], self._groups, self.group_column)
            children.insert(
                0,
                self.group_column,
                pd.Categorical.from_codes(codes[parent], categories=list(self._groups)),
            )
        times = episode.frontier_times[parent] + episode.clock.recruit_delays(len(parent), rng)
        return Recruitment(parent=parent, covariates=children, times=times, capacity=capacity)

    def capacity_pmf_of(self, episode: Episode, max_count: int) -> NDArray[np.float64]:
        """``capacity.pmf`` of the frontier."""
        return self.capacity.pmf(episode.frontier_covariates, max_count)
