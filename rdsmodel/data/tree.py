"""Array algorithms on recruitment forests: parents, roots, depths, cycles, subtrees.

Everything works on an integer ``parent`` array (position of each row's
recruiter, negative for seeds and unresolved links) by *pointer jumping*:
after ``k`` rounds of ``ptr = ptr[ptr]`` every row points ``2**k`` steps up
its chain, so ``ceil(log2 n) + 1`` vectorised rounds reach every root, with no
per-row Python recursion and no recursion limit. Rows that never reach a root
are on, or hang below, a recruitment cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Forest", "descendants_of", "forest", "parent_positions", "subtree_sizes"]

SEED = -1
UNKNOWN = -2


def parent_positions(ids: pd.Series, recruiters: pd.Series) -> np.ndarray:
    """Position of each row's recruiter in ``ids``.

    Parameters
    ----------
    ids : pandas.Series
        Respondent ids (string dtype, ``<NA>`` for missing). With repeated ids
        the first occurrence is used (repeats are reported elsewhere).
    recruiters : pandas.Series
        Recruiter ids, ``<NA>`` for seeds.

    Returns
    -------
    numpy.ndarray of int64
        Recruiter position, ``-1`` for seeds, ``-2`` for recruiters not in ``ids``.
    """
    id_values = ids.to_numpy(dtype=object, na_value=None)
    usable = ids.notna().to_numpy() & ~ids.duplicated().to_numpy()
    index = pd.Index(id_values[usable], dtype=object)
    first_pos = np.flatnonzero(usable)
    rec_values = recruiters.to_numpy(dtype=object, na_value=None)
    found = index.get_indexer(rec_values)
    parent = np.where(found >= 0, first_pos[np.maximum(found, 0)], UNKNOWN).astype(np.int64)
    parent[recruiters.isna().to_numpy()] = SEED
    return parent


@dataclass(frozen=True)
class Forest:
    """Roots, depths and cycles of a parent array.

    Attributes
    ----------
    root : numpy.ndarray of int64
        Position of each row's seed (itself for seeds); meaningless where not ``rooted``.
    depth : numpy.ndarray of int64
        Wave: edges from the seed (0 for seeds); meaningless where not ``rooted``.
    rooted : numpy.ndarray of bool
        Whether following recruiters ends at a row with no (or an unknown) recruiter.
    cycles : list of list of int
        Each recruitment cycle as positions in recruitment order.
    """

    root: np.ndarray
    depth: np.ndarray
    rooted: np.ndarray
    cycles: list[list[int]]


def _jump_rounds(n: int) -> int:
    return int(np.ceil(np.log2(max(n, 2)))) + 1


def forest(parent: np.ndarray) -> Forest:
    """Find each row's seed and wave, and every cycle, by pointer jumping.

    Parameters
    ----------
    parent : numpy.ndarray of int
        Recruiter position per row, negative for roots (seeds, unknown recruiters).

    Returns
    -------
    Forest
    """
    parent = np.asarray(parent, dtype=np.int64)
    n = len(parent)
    own = np.arange(n, dtype=np.int64)
    has_parent = parent >= 0
    ptr = np.where(has_parent, parent, own)
    dist = has_parent.astype(np.int64)
    for _ in range(_jump_rounds(n)):
        dist = dist + dist[ptr]
        ptr = ptr[ptr]
        # Cycle members double their distance each round; cap it to stay in range.
        np.minimum(dist, 4 * n + 4, out=dist)
    rooted = ~has_parent[ptr] if n else np.zeros(0, dtype=bool)
    cycles: list[list[int]] = []
    if n and not rooted.all():
        # After >= n steps an unrooted row has landed on its cycle; walk each cycle once.
        seen = np.zeros(n, dtype=bool)
        for start in np.unique(ptr[~rooted]):
            if seen[start]:
                continue
            cycle = [int(start)]
            seen[start] = True
            node = int(parent[start])
            while node != start:
                cycle.append(node)
                seen[node] = True
                node = int(parent[node])
            cycles.append(cycle[::-1])
    return Forest(root=ptr, depth=dist, rooted=rooted, cycles=cycles)


def descendants_of(parent: np.ndarray, marked: np.ndarray) -> np.ndarray:
    """For every row, a marked ancestor-or-self (position), or -1 if none.

    Parameters
    ----------
    parent : numpy.ndarray of int
        Recruiter position per row, negative for roots.
    marked : numpy.ndarray of bool
        Rows of interest (e.g. rows to drop).

    Returns
    -------
    numpy.ndarray of int64
        A marked row on the path from the row up to its root (the row itself
        when marked), ``-1`` when the path holds no marked row.
    """
    parent = np.asarray(parent, dtype=np.int64)
    n = len(parent)
    own = np.arange(n, dtype=np.int64)
    label = np.where(marked, own, -1)
    ptr = np.where(parent >= 0, parent, own)
    for _ in range(_jump_rounds(n)):
        label = np.where(label >= 0, label, label[ptr])
        ptr = ptr[ptr]
    return label


def subtree_sizes(
    parent: np.ndarray, depth: np.ndarray, weight: np.ndarray | None = None
) -> np.ndarray:
    """Sum ``weight`` over each row's subtree (itself included), wave by wave.

    Parameters
    ----------
    parent : numpy.ndarray of int
        Recruiter position, negative for seeds. Must be acyclic.
    depth : numpy.ndarray of int
        Wave of each row.
    weight : numpy.ndarray, optional
        Per-row weight; default 1 (subtree sizes).

    Returns
    -------
    numpy.ndarray
    """
    total = np.ones(len(parent)) if weight is None else np.asarray(weight, dtype=float).copy()
    if len(parent) == 0:
        return total
    for wave in range(int(depth.max()), 0, -1):
        rows = np.flatnonzero((depth == wave) & (parent >= 0))
        np.add.at(total, parent[rows], total[rows])
    return total
