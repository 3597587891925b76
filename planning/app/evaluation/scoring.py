r"""Scoring episodes against a priority: weighted recruits and recruits per subgroup, on codes.

Episodes record the coded covariates of every recruit
(:attr:`planning.simulation.rounds.EpisodeResult.codes`, one row per
recruit, with the round it came in). A :class:`CodedPriority` turns a
:class:`planning.priorities.Priority` into lookup tables over the world's
level codes once, so an episode's weighted recruits per round,

.. math:: W_t = \sum_{r \in \text{round } t} w(x'_r),

and its recruits per subgroup per round are table lookups and a
``numpy.bincount``: no Python loop over people. The weight of a recruit is
the one the planners were asked to maximise, evaluated on its **true**
covariates (scoring is always in the true world):

* per-field factors: ``w(x') = prod_f a_f(x'_f)``, one factor table per named field;
* a pattern table: the weight of each *cell* of the named fields (one level
  each, :meth:`planning.priorities.Priority.cell_weights`, so the overlap rule
  is applied exactly as in planning), looked up by the cell's mixed-radix index.

The subgroups scored are the priority's own (:attr:`Priority.subgroups`:
each level given a factor other than 1, or each table row), labelled as in
plans (``SEX=F``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planning.priorities import LawLayout, Priority

__all__ = ["CodedPriority", "coding_layout"]


def coding_layout(coding: Any, source: str = "the world") -> LawLayout:
    """The categorical fields of a world's :class:`~planning.simulation.coded.Coding` as a layout.

    Priorities are checked against it before any model is fitted (errors name ``source``).
    """
    levels = tuple(tuple(str(v) for v in lv) for lv in coding.levels)
    width = max([len(lv) for lv in levels], default=1)
    return LawLayout(
        tuple(str(n) for n in coding.categorical),
        levels,
        width,
        tuple(str(n) for n in coding.numeric),
        source,
    )


@dataclass(frozen=True, eq=False)
class CodedPriority:
    """A priority as lookup tables over a world's level codes (module docstring).

    Build with :meth:`of`. Attributes are plain arrays (picklable: sent to
    executor workers with the episodes).

    Attributes
    ----------
    labels : tuple of str
        Subgroup labels, in :attr:`Priority.subgroups` order.
    factors : tuple of (int, numpy.ndarray)
        Per-field factors: coding column and the factor of each level.
    cell_fields : tuple of int
        Table priorities: coding columns of the named fields.
    cell_strides : numpy.ndarray
        Mixed-radix strides of those fields (the last varies fastest).
    cell_weights : numpy.ndarray or None
        Weight of each cell (``None`` for per-field factors).
    members : tuple of tuple of (int, numpy.ndarray)
        Per subgroup, its conditions: coding column and a boolean mask over levels.
    """

    labels: tuple[str, ...]
    factors: tuple[tuple[int, NDArray[np.float64]], ...] = ()
    cell_fields: tuple[int, ...] = ()
    cell_strides: NDArray[np.int64] | None = None
    cell_weights: NDArray[np.float64] | None = None
    members: tuple[tuple[tuple[int, NDArray[np.bool_]], ...], ...] = ()

    @classmethod
    def of(cls, priority: Priority, coding: Any, source: str = "the world") -> CodedPriority:
        """Compile ``priority`` against ``coding`` (validated: unknown fields or levels are refused).

        Raises
        ------
        planning.errors.PlanningError
            Naming the unknown covariate or level and ``source``.
        """
        layout = priority.validate(coding_layout(coding, source))
        members = []
        for pattern in priority.subgroups:
            conditions = []
            for name, levels in pattern.conditions:
                f = layout.index(name, priority.origin)
                mask = np.zeros(len(layout.levels[f] or ()), dtype=bool)
                mask[[layout.level(name, v, priority.origin) for v in levels]] = True
                conditions.append((f, mask))
            members.append(tuple(conditions))
        labels = tuple(p.label for p in priority.subgroups)
        if priority.kind == "factors":
            factors = []
            for name, pairs in priority.factors:
                f = layout.index(name, priority.origin)
                table = np.ones(len(layout.levels[f] or ()))
                for level, value in pairs:
                    table[layout.level(name, level, priority.origin)] = value
                factors.append((f, table))
            return cls(labels, factors=tuple(factors), members=tuple(members))
        _, weights, positions = priority.cell_weights(layout)
        sizes = np.array([len(layout.levels[f] or ()) for f in positions], dtype=np.int64)
        strides = np.ones(len(positions), dtype=np.int64)
        for j in range(len(positions) - 2, -1, -1):
            strides[j] = strides[j + 1] * sizes[j + 1]
        return cls(
            labels,
            cell_fields=tuple(positions),
            cell_strides=strides,
            cell_weights=np.asarray(weights, dtype=np.float64),
            members=tuple(members),
        )

    def weights(self, codes: NDArray[np.int64]) -> NDArray[np.float64]:
        """``w(x')`` of recruits with coded covariates ``codes`` ``(recruit, field)``."""
        codes = np.asarray(codes, dtype=np.int64)
        if self.cell_weights is None:
            out = np.ones(len(codes))
            for f, table in self.factors:
                out *= table[codes[:, f]]
            return out
        if not self.cell_fields:
            return np.full(len(codes), float(self.cell_weights[0]))
        index = codes[:, list(self.cell_fields)] @ self.cell_strides
        return self.cell_weights[index]

    def max_weight(self) -> float:
        """The largest weight any recruit can have (bounds weighted recruits by recruits)."""
        if self.cell_weights is None:
            return float(np.prod([table.max() for _, table in self.factors] or [1.0]))
        return float(self.cell_weights.max())

    def membership(self, codes: NDArray[np.int64]) -> NDArray[np.bool_]:
        """``(recruit, subgroup)``: whether each recruit is in each subgroup."""
        codes = np.asarray(codes, dtype=np.int64)
        out = np.ones((len(codes), len(self.members)), dtype=bool)
        for j, conditions in enumerate(self.members):
            for f, mask in conditions:
                out[:, j] &= mask[codes[:, f]]
        return out

    def per_round(
        self, codes: NDArray[np.int64], rounds: NDArray[np.int64], n_rounds: int
    ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Weighted recruits ``(n_rounds,)`` and recruits per subgroup ``(n_rounds, subgroup)``.

        Parameters
        ----------
        codes : int array, shape (recruit, field)
            The recruits' coded covariates.
        rounds : int array, shape (recruit,)
            The round each recruit came in.
        n_rounds : int
        """
        rounds = np.asarray(rounds, dtype=np.int64)
        weighted = np.bincount(rounds, weights=self.weights(codes), minlength=n_rounds)
        size = len(self.members)
        if not size:
            return weighted, np.zeros((n_rounds, 0), dtype=np.int64)
        # one bincount over the (round, subgroup) pairs of every membership
        r, j = np.nonzero(self.membership(codes))
        groups = np.bincount(rounds[r] * size + j, minlength=n_rounds * size)
        return weighted, groups.reshape(n_rounds, size).astype(np.int64)
