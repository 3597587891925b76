r"""Worlds on arrays: the true laws compiled for fast episodes.

:func:`as_arrays` turns a :class:`~planning.simulation.branching.BranchingWorld`
or a :class:`~planning.simulation.network.NetworkWorld` into an
:class:`ArrayWorld` whose every step works on a :class:`Cohort` (coded
covariates) with numpy, vectorised over people:

``start(n, rng, key)``
    the first frontier of an episode (seeds; fixed level shares of the
    world's ``defaults.frontier_mix``) and the episode's memory;
``capacity_pmf(cohort, max_count, memory)``
    the true capacity law of a cohort, ``(person, max_count + 1)``, tail last;
``realise(cohort, keys, ceiling, memory, round)``
    this round's capacities, ``min(C_i, ceiling)`` (recruits never exceed
    the coupons a person may get, so the truncation loses nothing);
``recruit(cohort, keys, realisation, allocation, memory, round)``
    the recruits of an allocation: who recruited them, their covariates and
    their keys.

Randomness after the first frontier is keyed (:mod:`planning.simulation.keyed`):
in a branching world person ``K``'s capacity is the inverse CDF of
``u(K, 0)``, and the ``j``-th recruit's categorical field ``f`` is drawn from
the row ``P_f(. | x_f)`` of the field's transition matrix with
``u(K_j, 1 + f)``, a numeric field by ``log x' = a + b log x + sigma
Phi^{-1}(u(K_j, 101 + g))``. In a network world the draws are keyed by
nodes and round: neighbour ``j`` of ``i`` is willing in round ``t`` when
``u(i, j, t) < accept_prob``, the willing neighbours are handed coupons in
the order of a second keyed uniform, and a person holding coupons from
several recruiters comes through the one with the smallest third keyed
uniform. So every policy meets the same potential recruits (common random
numbers at the level of people).

Laws the compiler does not know (a capacity law other than the family laws
with :class:`~planning.simulation.capacity.LogLinearMean` or
:class:`~planning.simulation.capacity.TypeRates` means) are evaluated on the
cohort's table (:meth:`Coding.frame`): slower, still correct.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse, stats
from scipy.special import ndtri

from planning.simulation.branching import BranchingWorld
from planning.simulation.capacity import LogLinearMean, TypeRates, _FamilyLaw
from planning.simulation.coded import Coding, Cohort
from planning.simulation.keyed import categorical_draws, child_keys, inverse_cdf, mix, uniforms
from planning.simulation.network import NetworkWorld, _neighbour_pairs
from planning.simulation.offspring import (
    CategoricalTransition,
    IndependentCovariates,
    LogNormalRegression,
)
from planning.simulation.study import EpisodeDefaults, World, balanced_groups
from rdsmodel.laws.capacity import pmf_grid

__all__ = [
    "ArrayWorld",
    "BranchingArrays",
    "Memory",
    "NetworkArrays",
    "Realisation",
    "Recruits",
    "as_arrays",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
UInt = NDArray[np.uint64]

_LOW = 2.0**-54


@dataclass
class Memory:
    """What an episode's world remembers: its key and, in network worlds, who was recruited."""

    key: np.uint64
    recruited: NDArray[np.bool_] | None = None


@dataclass(frozen=True)
class Realisation:
    """This round's capacities of a cohort (and, in network worlds, the willing neighbours)."""

    capacity: IntArray
    detail: Any = None


@dataclass(frozen=True)
class Recruits:
    """The recruits of one round, recruiter-major.

    Attributes
    ----------
    parent : int array
        Position of each recruit's recruiter in the old frontier.
    cohort : Cohort
        The recruits.
    keys : uint64 array
        The recruits' keys.
    """

    parent: IntArray
    cohort: Cohort
    keys: UInt


class ArrayWorld(ABC):
    """A world compiled to arrays (see the module docstring)."""

    coding: Coding
    defaults: EpisodeDefaults
    world: World

    @abstractmethod
    def start(self, n: int, rng: np.random.Generator, key: np.uint64) -> tuple[Cohort, Memory]:
        """The first frontier of ``n`` people and the episode's memory."""

    @abstractmethod
    def capacity_pmf(
        self, cohort: Cohort, max_count: int, memory: Memory | None = None
    ) -> FloatArray:
        """True capacity law, ``(person, max_count + 1)`` with the tail mass last."""

    @abstractmethod
    def realise(
        self, cohort: Cohort, keys: UInt, ceiling: int, memory: Memory, round: int
    ) -> Realisation:
        """This round's capacities (truncated at ``ceiling``)."""

    @abstractmethod
    def recruit(
        self,
        cohort: Cohort,
        keys: UInt,
        realisation: Realisation,
        allocation: IntArray,
        memory: Memory,
        round: int,
    ) -> Recruits:
        """The recruits ``allocation`` brings."""

    def population_pmf(self, people: Cohort, max_count: int) -> FloatArray:
        """The capacity law pooled over ``people`` (equal weights), tail last: a population law ``D``."""
        return self.capacity_pmf(people, max_count).mean(axis=0)


def _mix_frontier(cohort: Cohort, coding: Coding, mix_: dict[str, dict[str, float]]) -> Cohort:
    """Set the fields of ``mix_`` to fixed shares (largest remainder, ties to the first level)."""
    if not mix_:
        return cohort
    codes = cohort.codes.copy()
    n = len(cohort)
    for name, shares in mix_.items():
        f = coding.field_index(name)
        levels = coding.levels[f]
        unknown = sorted(set(shares) - set(levels))
        if unknown:
            raise ValueError(
                f"frontier_mix[{name!r}] names level(s) {unknown} the field does not have"
            )
        share = np.array([float(shares.get(lv, 0.0)) for lv in levels])
        exact = share * n
        counts = np.floor(exact).astype(np.int64)
        left = n - int(counts.sum())
        order = np.lexsort((np.arange(len(levels)), -(exact - counts)))
        counts[order[:left]] += 1
        codes[:, f] = np.repeat(np.arange(len(levels)), counts)
    return Cohort(codes, cohort.numeric, cohort.group, cohort.node)


# --------------------------------------------------------------------------- branching worlds
class _Capacity:
    """A capacity law evaluated on codes: ``eta`` from per-level tables, then the family's grid."""

    def __init__(self, law: Any, coding: Coding) -> None:
        self.law = law
        self.coding = coding
        self.compiled = False
        if isinstance(law, _FamilyLaw):
            family, mean_function, phi, psi = law._spec()
            terms = _compile_mean(mean_function, coding)
            if terms is not None:
                self.family, self.phi, self.psi = family, phi, psi
                self.intercept, self.tables, self.slopes, self.group_table = terms
                self.compiled = True

    def eta(self, cohort: Cohort) -> FloatArray:
        out = np.full(len(cohort), self.intercept)
        for f, table in self.tables:
            out = out + table[cohort.codes[:, f]]
        for g, coef, transform, center in self.slopes:
            x = cohort.numeric[:, g]
            if transform == "log":
                if np.any(x <= 0):
                    raise ValueError("a log-scale capacity effect needs positive values")
                x = np.log(x)
            out = out + coef * (x - center)
        if self.group_table is not None:
            out = out + self.group_table[cohort.group]
        return out

    def pmf(self, cohort: Cohort, max_count: int) -> FloatArray:
        if not self.compiled:
            return np.asarray(self.law.pmf(self.coding.frame(cohort), max_count), dtype=np.float64)
        with np.errstate(divide="ignore"):
            return pmf_grid(self.family, self.eta(cohort), max_count, self.phi, self.psi, tail=True)


def _compile_mean(mean_function: Any, coding: Coding):
    """``(intercept, [(field, table)], [(numeric, coef, transform, center)], group table)`` or None."""
    if isinstance(mean_function, TypeRates):
        if mean_function.field not in coding.categorical:
            return None
        f = coding.field_index(mean_function.field)
        rates = np.array(
            [mean_function.rates.get(lv, np.nan) for lv in coding.levels[f]], dtype=float
        )
        missing = [lv for lv, r in zip(coding.levels[f], rates, strict=True) if np.isnan(r)]
        if missing:
            raise ValueError(f"no rate for level(s) {missing} of {mean_function.field!r}")
        with np.errstate(divide="ignore"):
            return 0.0, [(f, np.log(rates))], [], None
    if not isinstance(mean_function, LogLinearMean):
        return None
    tables = []
    for name, effects in mean_function.categorical.items():
        if name not in coding.categorical:
            return None
        f = coding.field_index(name)
        tables.append((f, np.array([float(effects.get(lv, 0.0)) for lv in coding.levels[f]])))
    slopes = []
    for name, term in mean_function.numeric.items():
        if name not in coding.numeric:
            return None
        slopes.append(
            (coding.numeric.index(name), float(term.coef), term.transform, float(term.center))
        )
    group_table = None
    if mean_function.group_effects is not None:
        if coding.groups is None:
            return None
        missing = [g for g in coding.groups if g not in mean_function.group_effects]
        if missing:
            raise ValueError(f"no group effect for group(s) {missing}")
        group_table = np.array([float(mean_function.group_effects[g]) for g in coding.groups])
    return float(mean_function.intercept), tables, slopes, group_table


def _clip(u: FloatArray) -> FloatArray:
    return np.clip(u, _LOW, 1.0 - _LOW)


class BranchingArrays(ArrayWorld):
    """A :class:`BranchingWorld` on arrays (module docstring)."""

    def __init__(self, world: BranchingWorld) -> None:
        self.world = world
        self.defaults = world.defaults
        fields = world.offspring.fields
        cats = [f for f in fields if isinstance(f, CategoricalTransition)]
        nums = [f for f in fields if isinstance(f, LogNormalRegression)]
        if len(cats) + len(nums) != len(fields):
            raise TypeError("the offspring law has fields of unknown kinds")
        self.coding = Coding(
            columns=tuple(world.covariate_names),
            categorical=tuple(f.name for f in cats),
            levels=tuple(tuple(f.levels) for f in cats),
            numeric=tuple(f.name for f in nums),
            groups=world.groups,
            group_column=world.group_column,
        )
        self._cats = cats
        self._nums = nums
        self._matrices = [f.transition_matrix() for f in cats]
        self._capacity = _Capacity(world.capacity, self.coding)

    def __repr__(self) -> str:
        return f"BranchingArrays({self.world!r})"

    # ------------------------------------------------------------------ seeds
    def _seeds(self, n: int, rng: np.random.Generator) -> Cohort:
        law = self.world.seed_covariate_law
        if isinstance(law, IndependentCovariates):
            by_name = {f.name: f for f in law.fields}
            if set(by_name) >= set(self.coding.columns):
                codes = np.empty((n, len(self._cats)), dtype=np.int64)
                numeric = np.empty((n, len(self._nums)))
                for name in self.coding.columns:  # table order: the seed stream of the pandas path
                    draw = by_name[name].sample_population(n, rng)
                    if name in self.coding.categorical:
                        f = self.coding.field_index(name)
                        levels = tuple(by_name[name].levels)
                        if levels != self.coding.levels[f]:
                            draw = pd.Categorical(
                                np.asarray(draw), categories=list(self.coding.levels[f])
                            )
                        codes[:, f] = np.asarray(draw.codes, dtype=np.int64)
                    else:
                        numeric[:, self.coding.numeric.index(name)] = np.asarray(
                            draw, dtype=np.float64
                        )
                return Cohort(codes, numeric)
        frame = law.sample(n, rng).reset_index(drop=True)
        return replace(self.coding, groups=None).encode(frame)

    def start(self, n: int, rng: np.random.Generator, key: np.uint64) -> tuple[Cohort, Memory]:
        """``n`` seeds from the seed law (sites in turn), with the world's frontier mix."""
        cohort = self._seeds(int(n), rng)
        group = None
        if self.coding.groups is not None:
            group = balanced_groups(self.coding.groups, 0, int(n))
        cohort = Cohort(cohort.codes, cohort.numeric, group)
        return _mix_frontier(cohort, self.coding, dict(self.defaults.frontier_mix)), Memory(
            np.uint64(key)
        )

    # -------------------------------------------------------------- the laws
    def capacity_pmf(
        self, cohort: Cohort, max_count: int, memory: Memory | None = None
    ) -> FloatArray:
        """True capacity pmf of the cohort, tail last."""
        if max_count < 0:
            raise ValueError(f"max_count must be >= 0, got {max_count}")
        if len(cohort) == 0:
            return np.zeros((0, max_count + 1))
        return self._capacity.pmf(cohort, int(max_count))

    def realise(
        self, cohort: Cohort, keys: UInt, ceiling: int, memory: Memory, round: int
    ) -> Realisation:
        """``min(C_i, ceiling)`` by inversion of ``u(K_i, 0)``."""
        if len(cohort) == 0:
            return Realisation(np.zeros(0, dtype=np.int64))
        pmf = self.capacity_pmf(cohort, int(ceiling))
        return Realisation(inverse_cdf(pmf, uniforms(keys, 0)))

    def recruit(
        self,
        cohort: Cohort,
        keys: UInt,
        realisation: Realisation,
        allocation: IntArray,
        memory: Memory,
        round: int,
    ) -> Recruits:
        """``min(C_i, k_i)`` recruits each; covariates from the offspring law by keyed inversion."""
        counts = np.minimum(realisation.capacity, allocation)
        parent = np.repeat(np.arange(len(cohort), dtype=np.int64), counts)
        ckeys = child_keys(keys, counts)
        codes = np.empty((parent.size, len(self._cats)), dtype=np.int64)
        for f, matrix in enumerate(self._matrices):
            codes[:, f] = categorical_draws(matrix, cohort.codes[parent, f], uniforms(ckeys, 1 + f))
        numeric = np.empty((parent.size, len(self._nums)))
        for g, law in enumerate(self._nums):
            x = cohort.numeric[parent, g]
            if np.any(~np.isfinite(x) | (x <= 0)):
                raise ValueError(f"field {law.name!r}: recruiter values must be positive numbers")
            z = ndtri(_clip(uniforms(ckeys, 101 + g)))
            numeric[:, g] = law._finish(law.intercept + law.slope * np.log(x) + law.sigma * z)
        children = Cohort(codes, numeric, cohort.group[parent])
        return Recruits(parent, children, ckeys)


# --------------------------------------------------------------------------- network worlds
class NetworkArrays(ArrayWorld):
    """A :class:`NetworkWorld` on arrays (module docstring)."""

    def __init__(self, world: NetworkWorld) -> None:
        self.world = world
        self.defaults = world.defaults
        if world.defaults.frontier_mix:
            raise ValueError(
                "a network world's people are its nodes: frontier_mix cannot set their fields"
            )
        pop = world.population
        cats = [c for c in pop.columns if isinstance(pop[c].dtype, pd.CategoricalDtype)]
        nums = [c for c in pop.columns if c not in cats]
        self.coding = Coding(
            columns=tuple(pop.columns),
            categorical=tuple(cats),
            levels=tuple(tuple(str(v) for v in pop[c].cat.categories) for c in cats),
            numeric=tuple(nums),
            groups=None,
        )
        self.population = self.coding.encode(pop, node=np.arange(len(pop), dtype=np.int64))
        self.adjacency: sparse.csr_array = world.adjacency
        self.degree = world.degree
        self.accept_prob = world.accept_prob

    def __repr__(self) -> str:
        return f"NetworkArrays({self.world!r})"

    def start(self, n: int, rng: np.random.Generator, key: np.uint64) -> tuple[Cohort, Memory]:
        """Up to ``n`` seeds, uniformly among people with at least one edge."""
        recruited = np.zeros(self.world.n_nodes, dtype=bool)
        candidates = np.flatnonzero(self.degree > 0)
        take = min(int(n), len(candidates))
        nodes = np.sort(rng.choice(candidates, size=take, replace=False)).astype(np.int64)
        recruited[nodes] = True
        return self.population.take(nodes), Memory(np.uint64(key), recruited)

    def _available(self, cohort: Cohort, memory: Memory | None) -> IntArray:
        owner, nbr = _neighbour_pairs(self.adjacency, cohort.node)
        free = np.ones(len(nbr), dtype=bool) if memory is None else ~memory.recruited[nbr]
        return np.bincount(owner[free], minlength=len(cohort)).astype(np.int64)

    def capacity_pmf(
        self, cohort: Cohort, max_count: int, memory: Memory | None = None
    ) -> FloatArray:
        """``Binomial(a_i, accept_prob)``, ``a_i`` the not-yet-recruited neighbours (given ``memory``)."""
        if max_count < 0:
            raise ValueError(f"max_count must be >= 0, got {max_count}")
        a = self._available(cohort, memory)[:, None]
        out = np.empty((len(a), max_count + 1))
        if max_count:
            out[:, :max_count] = stats.binom.pmf(np.arange(max_count)[None, :], a, self.accept_prob)
            out[:, max_count] = stats.binom.sf(max_count - 1, a[:, 0], self.accept_prob)
        else:
            out[:, 0] = 1.0
        return out

    def _edge_uniforms(
        self, memory: Memory, owner_nodes: IntArray, nbr: IntArray, round: int, draw: int
    ) -> FloatArray:
        key = mix(
            mix(np.asarray(memory.key, dtype=np.uint64) ^ owner_nodes.astype(np.uint64))
            ^ (nbr.astype(np.uint64) << np.uint64(20))
            ^ np.uint64(round)
        )
        return uniforms(key, draw)

    def realise(
        self, cohort: Cohort, keys: UInt, ceiling: int, memory: Memory, round: int
    ) -> Realisation:
        """Willing not-yet-recruited neighbours (keyed by the two nodes and the round)."""
        owner, nbr = _neighbour_pairs(self.adjacency, cohort.node)
        free = ~memory.recruited[nbr]
        owner, nbr = owner[free], nbr[free]
        willing = self._edge_uniforms(memory, cohort.node[owner], nbr, round, 0) < self.accept_prob
        owner, nbr = owner[willing], nbr[willing]
        capacity = np.bincount(owner, minlength=len(cohort)).astype(np.int64)
        return Realisation(np.minimum(capacity, int(ceiling)), (owner, nbr, capacity))

    def recruit(
        self,
        cohort: Cohort,
        keys: UInt,
        realisation: Realisation,
        allocation: IntArray,
        memory: Memory,
        round: int,
    ) -> Recruits:
        """Coupons to the first ``k_i`` willing neighbours (keyed order); one recruiter per person."""
        owner, nbr, _ = realisation.detail
        owner_nodes = cohort.node[owner]
        order = np.lexsort((self._edge_uniforms(memory, owner_nodes, nbr, round, 1), owner))
        owner, nbr = owner[order], nbr[order]
        start = np.searchsorted(owner, owner, side="left")
        chosen = (np.arange(len(owner)) - start) < allocation[owner]
        owner, nbr = owner[chosen], nbr[chosen]
        claim = self._edge_uniforms(memory, cohort.node[owner], nbr, round, 2)
        order = np.lexsort((claim, nbr))
        first = np.ones(len(order), dtype=bool)
        first[1:] = nbr[order][1:] != nbr[order][:-1]
        keep = order[first]
        keep = keep[np.lexsort((nbr[keep], owner[keep]))]
        owner, nbr = owner[keep], nbr[keep]
        memory.recruited[nbr] = True
        counts = np.bincount(owner, minlength=len(cohort))
        return Recruits(owner, self.population.take(nbr), child_keys(keys, counts))


def as_arrays(world: World | ArrayWorld) -> ArrayWorld:
    """The array form of a world (an :class:`ArrayWorld` is returned as is).

    Raises
    ------
    TypeError
        For a world kind with no array form.
    """
    if isinstance(world, ArrayWorld):
        return world
    if isinstance(world, BranchingWorld):
        return BranchingArrays(world)
    if isinstance(world, NetworkWorld):
        return NetworkArrays(world)
    raise TypeError(f"no array form for {type(world).__name__}")
