"""Figures of a study: the recruitment tree laid out by wave, and recruits per respondent.

Figures are drawn with :class:`matplotlib.figure.Figure` directly (Agg
rendering, no pyplot state), so they work headless and in threads.

Tree layout (vectorised, one pass per wave): each tree gets a horizontal span
as wide as its number of leaves; a node's span is split among its recruits in
table order, and a node sits at the middle of its span, at height ``-wave``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from rdsmodel.data.tree import parent_positions, subtree_sizes

__all__ = ["recruitment_tree_figure", "recruits_figure", "tree_layout"]


def tree_layout(parent: np.ndarray, wave: np.ndarray, gap: float = 1.0) -> np.ndarray:
    """Horizontal positions of a recruitment forest drawn by wave.

    Parameters
    ----------
    parent : numpy.ndarray of int
        Recruiter position, negative for seeds; acyclic.
    wave : numpy.ndarray of int
        Wave per node (0 for seeds).
    gap : float
        Space between trees.

    Returns
    -------
    numpy.ndarray of float
        x position per node.
    """
    n = len(parent)
    if n == 0:
        return np.zeros(0)
    has_child = np.zeros(n, dtype=bool)
    has_child[parent[parent >= 0]] = True
    leaves = subtree_sizes(parent, wave, weight=(~has_child).astype(float))
    start = np.zeros(n)
    seeds = np.flatnonzero(parent < 0)
    widths = leaves[seeds] + gap
    start[seeds] = np.concatenate([[0.0], np.cumsum(widths)[:-1]])
    for w in range(1, int(wave.max()) + 1):
        rows = np.flatnonzero(wave == w)
        if not len(rows):
            continue
        order = rows[np.lexsort((rows, parent[rows]))]
        par = parent[order]
        before = pd.Series(leaves[order]).groupby(par).cumsum().to_numpy() - leaves[order]
        start[order] = start[par] + before
    return start + leaves / 2.0


def _pick_trees(seed_of: np.ndarray, wave: np.ndarray, max_nodes: int) -> tuple[np.ndarray, str]:
    """Choose which nodes to draw when the study is large; return a mask and a note."""
    n = len(seed_of)
    if n <= max_nodes:
        return np.ones(n, dtype=bool), ""
    sizes = pd.Series(seed_of).value_counts()
    keep_seeds, total = [], 0
    for seed, size in sizes.items():
        if total + size > max_nodes and keep_seeds:
            continue  # try the smaller trees
        keep_seeds.append(seed)
        total += size
    mask = np.isin(seed_of, keep_seeds)
    if mask.sum() > max_nodes:  # one tree larger than the limit: cut it by wave
        per_wave = np.bincount(wave[mask])
        last = max(0, int(np.searchsorted(np.cumsum(per_wave), max_nodes, side="right")) - 1)
        mask &= wave <= last
        note = f"the largest tree, waves 0-{last} ({int(mask.sum())} of {n} respondents)"
    else:
        note = (
            f"{len(keep_seeds)} of {len(sizes)} trees, largest first "
            f"({int(mask.sum())} of {n} respondents)"
        )
    return mask, note


def recruitment_tree_figure(table: pd.DataFrame, *, max_nodes: int = 2000) -> Figure:
    """Draw the recruitment forest by wave: seeds on top, frontier members hollow.

    Parameters
    ----------
    table : pandas.DataFrame
        Canonical recruitment table (``id``, ``recruiter_id``, ``wave``,
        ``seed_id``, ``is_frontier``).
    max_nodes : int
        Beyond this many respondents only the largest trees are drawn (and the
        title says so), to keep the figure readable.

    Returns
    -------
    matplotlib.figure.Figure
    """
    wave_all = table["wave"].to_numpy(dtype=np.int64)
    mask, note = _pick_trees(table["seed_id"].to_numpy(dtype=object), wave_all, max_nodes)
    shown = table[mask].reset_index(drop=True)
    parent = parent_positions(shown["id"], shown["recruiter_id"])
    wave = shown["wave"].to_numpy(dtype=np.int64)
    x = tree_layout(parent, wave)
    y = -wave.astype(float)
    n = len(shown)
    span = float(x.max() + 1) if n else 1.0
    max_wave = int(wave.max()) if n else 0
    fig = Figure(
        figsize=(
            float(np.clip(span * 0.12, 6, 40)),
            float(np.clip(0.6 * (max_wave + 1) + 1.5, 3, 20)),
        )
    )
    ax = fig.add_subplot()
    child = np.flatnonzero(parent >= 0)
    segments = (
        np.stack(
            [
                np.column_stack([x[parent[child]], y[parent[child]]]),
                np.column_stack([x[child], y[child]]),
            ],
            axis=1,
        )
        if len(child)
        else np.zeros((0, 2, 2))
    )
    ax.add_collection(LineCollection(segments, colors="0.6", linewidths=0.6, zorder=1))
    size = float(np.clip(3000.0 / max(n, 1), 4, 60))
    frontier = shown["is_frontier"].to_numpy(dtype=bool)
    seed = parent < 0
    inner = ~frontier & ~seed
    ax.scatter(
        x[inner], y[inner], s=size, c="tab:blue", zorder=2, label="interviewed, coupons issued"
    )
    ax.scatter(
        x[seed & ~frontier],
        y[seed & ~frontier],
        s=size * 1.6,
        c="black",
        marker="s",
        zorder=3,
        label="seed",
    )
    ax.scatter(
        x[frontier],
        y[frontier],
        s=size,
        facecolors="none",
        edgecolors="tab:orange",
        zorder=3,
        label="frontier (awaiting coupons)",
    )
    ax.set_xlim(-0.5, span + 0.5)
    ax.set_ylim(-max_wave - 0.6, 0.6)
    ax.set_yticks(-np.arange(max_wave + 1), [str(w) for w in range(max_wave + 1)])
    ax.set_ylabel("wave")
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    title = f"Recruitment trees: {len(table)} respondents, {int((table['wave'] == 0).sum())} seeds"
    ax.set_title(title + (f"\nshowing {note}" if note else ""), fontsize=10)
    ax.legend(
        loc="lower right",
        fontsize=8,
        frameon=False,
        markerscale=max(1.0, float(np.sqrt(30.0 / size))),
    )
    fig.tight_layout()
    return fig


def recruits_figure(table: pd.DataFrame) -> Figure:
    """Bar chart of recruits per respondent (respondents with coupons issued), by window status.

    Parameters
    ----------
    table : pandas.DataFrame
        Canonical recruitment table.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fit = table[~table["is_frontier"].to_numpy(dtype=bool)]
    counts = fit["n_recruits"].to_numpy(dtype=np.int64)
    closed = fit["window_closed"].to_numpy(dtype=bool)
    top = int(counts.max()) if len(counts) else 0
    bins = np.arange(top + 1)
    n_closed = np.bincount(counts[closed], minlength=top + 1)
    n_open = np.bincount(counts[~closed], minlength=top + 1)
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.bar(bins, n_closed, color="tab:blue", label="coupon window closed")
    if n_open.any():
        ax.bar(
            bins, n_open, bottom=n_closed, color="tab:orange", label="window still open (censored)"
        )
    ax.set_xticks(bins)
    ax.set_xlabel("recruits in the table")
    ax.set_ylabel("respondents")
    mean = float(counts.mean()) if len(counts) else float("nan")
    ax.set_title(
        f"Recruits per respondent ({len(counts)} with coupons issued, mean {mean:.2f})", fontsize=10
    )
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
