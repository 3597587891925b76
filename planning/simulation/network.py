"""Network worlds: recruitment along the edges of a finite population graph.

The population is a degree-corrected stochastic block model
(:mod:`planning.simulation.graph`): people have categorical covariates, blocks are
the combinations of the homophilous fields, the affinity between two blocks
is the product of a homophily factor per shared level, and Pareto degree
propensities give heavy-tailed degrees. Each person's reported
``network_size`` is their degree.

Recruitment, one round:

* each not-yet-recruited neighbour ``j`` of frontier member ``i`` is willing
  to come through ``i`` with probability ``accept_prob``, independently (and
  afresh each round); the capacity of ``i`` is the number of willing
  neighbours, ``C_i | a_i ~ Binomial(a_i, accept_prob)`` with ``a_i`` the
  not-yet-recruited neighbours;
* ``i`` hands its ``k_i`` coupons to ``min(C_i, k_i)`` of them, chosen at
  random;
* a person who receives coupons from several recruiters in the same round
  comes with the first coupon (earliest interview), the other coupons go
  unused.

So a coupon can only reach a not-yet-recruited neighbour, nobody is recruited
twice, capacities shrink as the neighbourhood is depleted and depend on the
degree: every branching model fitted to these data is misspecified, which is
the point of this world. The true capacity law of a frontier, given who has
been recruited, is the binomial above (:meth:`NetworkWorld.capacity_pmf_of`),
up to the same-round conflicts.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse, stats

from planning.simulation.episode import Episode, Recruitment
from planning.simulation.graph import degree_corrected_sbm, homophily_affinity, pareto_propensities
from planning.simulation.study import World

__all__ = ["DEFAULT_POPULATION", "NetworkWorld"]

IntArray = NDArray[np.int64]

#: Default covariates of the population: level probabilities, and the
#: homophily factor of each field (affinity multiplier when two people share
#: the level; 1 = none).
DEFAULT_POPULATION: Mapping[str, Mapping[str, object]] = {
    "community": {"levels": {"C1": 0.45, "C2": 0.35, "C3": 0.20}, "homophily": 8.0},
    "injects": {"levels": {"no": 0.6, "yes": 0.4}, "homophily": 2.5},
    "sex": {"levels": {"F": 0.4, "M": 0.6}, "homophily": 1.0},
}


def _neighbour_pairs(adj: sparse.csr_array, nodes: IntArray) -> tuple[IntArray, IntArray]:
    """All ``(owner, neighbour)`` pairs of ``nodes``: owner is the position in ``nodes``."""
    starts = adj.indptr[nodes].astype(np.int64)
    lens = adj.indptr[nodes + 1].astype(np.int64) - starts
    owner = np.repeat(np.arange(len(nodes), dtype=np.int64), lens)
    first = np.repeat(np.cumsum(lens) - lens, lens)
    flat = np.repeat(starts, lens) + (np.arange(lens.sum(), dtype=np.int64) - first)
    return owner, adj.indices[flat].astype(np.int64)


class NetworkWorld(World):
    """RDS on a finite population graph.

    Use :meth:`generate` to draw the default DC-SBM population.

    Parameters
    ----------
    adjacency : scipy.sparse array, shape (n, n)
        Symmetric 0/1 adjacency without self-loops.
    population : DataFrame
        One row per node: categorical covariates (``CategoricalDtype``) and
        numeric ones (``float64``).
    accept_prob : float
        Probability that a not-yet-recruited neighbour is willing to come.
    """

    def __init__(
        self,
        adjacency: sparse.sparray | sparse.spmatrix,
        population: pd.DataFrame,
        accept_prob: float = 0.3,
    ) -> None:
        adj = sparse.csr_array(adjacency)
        n = adj.shape[0]
        if adj.shape != (n, n) or len(population) != n:
            raise ValueError(
                f"adjacency {adj.shape} and population ({len(population)} rows) disagree"
            )
        if not 0.0 < accept_prob <= 1.0:
            raise ValueError(f"accept_prob must be in (0, 1], got {accept_prob}")
        adj.sort_indices()
        self.adjacency = adj
        self.population = population.reset_index(drop=True)
        self.accept_prob = float(accept_prob)
        self.degree = np.diff(adj.indptr).astype(np.int64)

    def __repr__(self) -> str:
        return (
            f"NetworkWorld(nodes={self.n_nodes}, edges={self.adjacency.nnz // 2}, "
            f"accept_prob={self.accept_prob})"
        )

    @classmethod
    def generate(
        cls,
        rng: np.random.Generator,
        n_nodes: int = 3000,
        *,
        fields: Mapping[str, Mapping[str, object]] = DEFAULT_POPULATION,
        mean_degree: float = 8.0,
        degree_tail: float = 2.5,
        accept_prob: float = 0.3,
        network_size_column: str = "network_size",
    ) -> NetworkWorld:
        """Draw a population and its DC-SBM graph.

        Parameters
        ----------
        rng : numpy.random.Generator
        n_nodes : int
            Population size.
        fields : mapping
            ``{field: {"levels": {level: prob}, "homophily": factor}}``;
            covariates are independent across fields and people. Blocks are
            the level combinations of the fields with ``factor != 1``.
        mean_degree : float
            Expected mean degree.
        degree_tail : float
            Pareto tail index of the degree propensities (``> 1``; 2.5 by
            default: heavy tail, finite variance).
        accept_prob : float
            Probability a not-yet-recruited neighbour is willing to come.
        network_size_column : str
            Name of the numeric covariate holding each person's degree.
        """
        if int(n_nodes) != n_nodes or n_nodes < 2:
            raise ValueError(f"n_nodes must be an integer >= 2, got {n_nodes!r}")
        columns: dict[str, pd.Categorical] = {}
        codes, factors, sizes = [], [], []
        for name, spec in fields.items():
            levels = dict(spec["levels"])  # type: ignore[arg-type]
            probs = np.array(list(levels.values()), dtype="float64")
            if np.any(probs < 0) or not np.isclose(probs.sum(), 1.0):
                raise ValueError(f"field {name!r}: level probabilities must sum to 1")
            cum = np.cumsum(probs)
            cum[-1] = 1.0
            code = np.searchsorted(cum, rng.random(int(n_nodes)), side="right")
            columns[name] = pd.Categorical.from_codes(code, categories=list(levels))
            factor = float(spec.get("homophily", 1.0))  # type: ignore[arg-type]
            if factor != 1.0:
                codes.append(code)
                factors.append(factor)
                sizes.append(len(levels))
        if codes:
            stacked = np.stack(codes, axis=1)
            block = np.ravel_multi_index(tuple(stacked.T), tuple(sizes))
            block_levels = np.stack(
                np.unravel_index(np.arange(int(np.prod(sizes))), tuple(sizes)), axis=1
            )
            affinity = homophily_affinity(block_levels, factors)
        else:
            block = np.zeros(int(n_nodes), dtype=np.int64)
            affinity = np.ones((1, 1))
        theta = pareto_propensities(int(n_nodes), degree_tail, rng)
        adj = degree_corrected_sbm(block, affinity, theta, mean_degree, rng)
        population = pd.DataFrame(columns)
        population[network_size_column] = np.diff(adj.indptr).astype("float64")
        return cls(adj, population, accept_prob=accept_prob)

    # ------------------------------------------------------------ properties
    @property
    def n_nodes(self) -> int:
        """Population size."""
        return self.adjacency.shape[0]

    @property
    def groups(self) -> None:
        """Network worlds have no group column."""
        return None

    @property
    def covariate_names(self) -> list[str]:
        """Covariate columns, in order."""
        return list(self.population.columns)

    def are_neighbours(self, u: IntArray, v: IntArray) -> NDArray[np.bool_]:
        """Whether each pair ``(u[k], v[k])`` is an edge."""
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        return np.asarray(self.adjacency[u, v]).ravel() > 0

    def _recruited(self, episode: Episode) -> NDArray[np.bool_]:
        mask = np.zeros(self.n_nodes, dtype=bool)
        mask[episode.nodes[episode.nodes >= 0]] = True
        return mask

    def available_neighbours(self, episode: Episode) -> IntArray:
        """``a_i``: not-yet-recruited neighbours of each frontier member."""
        recruited = self._recruited(episode)
        owner, nbr = _neighbour_pairs(self.adjacency, episode.frontier_nodes)
        return np.bincount(owner[~recruited[nbr]], minlength=episode.frontier_size).astype(np.int64)

    # ------------------------------------------------------------- dynamics
    def draw_seeds(
        self, episode: Episode, n: int, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, IntArray]:
        """Up to ``n`` seeds, uniformly among not-yet-recruited people with at least one edge."""
        candidates = np.flatnonzero(~self._recruited(episode) & (self.degree > 0))
        take = min(int(n), len(candidates))
        nodes = (
            np.sort(rng.choice(candidates, size=take, replace=False)) if take else candidates[:0]
        )
        nodes = nodes.astype(np.int64)
        return self.population.iloc[nodes].reset_index(drop=True), nodes

    def recruit(
        self, episode: Episode, allocation: NDArray[np.int64], rng: np.random.Generator
    ) -> Recruitment:
        """Willing neighbours, coupons to ``min(C_i, k_i)`` of them, first coupon wins."""
        size = episode.frontier_size
        recruited = self._recruited(episode)
        owner, nbr = _neighbour_pairs(self.adjacency, episode.frontier_nodes)
        willing = ~recruited[nbr] & (rng.random(len(nbr)) < self.accept_prob)
        owner, nbr = owner[willing], nbr[willing]
        capacity = np.bincount(owner, minlength=size).astype(np.int64)
        # Random order within each owner, then the first k_i willing neighbours get coupons.
        order = np.lexsort((rng.random(len(owner)), owner))
        owner, nbr = owner[order], nbr[order]
        group_start = np.searchsorted(owner, owner, side="left")
        chosen = (np.arange(len(owner)) - group_start) < allocation[owner]
        owner, nbr = owner[chosen], nbr[chosen]
        times = episode.frontier_times[owner] + episode.clock.recruit_delays(len(owner), rng)
        # A person holding several coupons comes with the earliest one.
        order = np.lexsort((owner, times, nbr))
        first = np.ones(len(order), dtype=bool)
        first[1:] = nbr[order][1:] != nbr[order][:-1]
        keep = order[first]
        keep = keep[np.lexsort((times[keep], owner[keep]))]
        owner, nbr, times = owner[keep], nbr[keep], times[keep]
        covariates = self.population.iloc[nbr].reset_index(drop=True)
        return Recruitment(
            parent=owner, covariates=covariates, times=times, capacity=capacity, nodes=nbr
        )

    def capacity_pmf_of(self, episode: Episode, max_count: int) -> NDArray[np.float64]:
        """``Binomial(a_i, accept_prob)`` pmf of the frontier, tail in the last column."""
        if max_count < 0:
            raise ValueError(f"max_count must be >= 0, got {max_count}")
        a = self.available_neighbours(episode)[:, None]
        out = np.empty((len(a), max_count + 1))
        if max_count:
            out[:, :max_count] = stats.binom.pmf(np.arange(max_count)[None, :], a, self.accept_prob)
            out[:, max_count] = stats.binom.sf(max_count - 1, a[:, 0], self.accept_prob)
        else:
            out[:, 0] = 1.0
        return out
