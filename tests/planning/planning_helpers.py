"""Shared generators and brute-force references for the planning tests."""

from __future__ import annotations

import heapq
import itertools

import numpy as np
from scipy import stats


def random_curves(
    rng: np.random.Generator, shape: tuple[int, ...], ties: bool = False
) -> np.ndarray:
    """Random non-increasing curves in [0, 1]; ``ties`` rounds them to a coarse grid."""
    values = np.sort(rng.random(shape), axis=-1)[..., ::-1]
    if ties:
        values = np.round(values * 4) / 4
    return np.ascontiguousarray(values)


def nb_curves(rng: np.random.Generator, samples: int, people: int, length: int) -> np.ndarray:
    """Negative-binomial survival curves with person and sample variation."""
    mu = rng.lognormal(0.3, 0.6, people)[None] * rng.lognormal(0.0, 0.3, (samples, people))
    p = 2.0 / (2.0 + mu)
    levels = np.arange(1, length + 1)
    return stats.nbinom.sf(levels[None, None, :] - 1, 2.0, p[..., None])


def allocations(n: int, budget: int, caps: np.ndarray):
    """Every allocation with 0 <= k_i <= caps_i and sum <= budget."""
    for k in itertools.product(*[range(int(c) + 1) for c in caps]):
        if sum(k) <= budget:
            yield np.array(k)


def value(curves: np.ndarray, k: np.ndarray, weights=None) -> np.ndarray:
    """sum_i w_i sum_{l<=k_i} S_i(l) for curves (..., person, L)."""
    cum = np.concatenate([np.zeros((*curves.shape[:-1], 1)), np.cumsum(curves, axis=-1)], axis=-1)
    per = np.take_along_axis(cum, np.broadcast_to(k, cum.shape[:-1])[..., None], axis=-1)[..., 0]
    if weights is not None:
        per = per * weights
    return per.sum(axis=-1)


def heap_greedy(curves: np.ndarray, budget: int, caps=None, weights=None) -> np.ndarray:
    """Textbook heap greedy with the documented tie-breaking (value desc, person, level)."""
    n, length = curves.shape
    caps = np.full(n, length) if caps is None else np.minimum(caps, length)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    k = np.zeros(n, dtype=int)
    heap = [(-curves[i, 0] * w[i], i, 1) for i in range(n) if caps[i] > 0]
    heapq.heapify(heap)
    for _ in range(budget):
        if not heap:
            break
        _, i, level = heapq.heappop(heap)
        k[i] += 1
        if level < caps[i]:
            heapq.heappush(heap, (-curves[i, level] * w[i], i, level + 1))
    return k
