"""Fixtures for the field-data tests: small hand-made studies and a seeded generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def simulate_canonical(n: int, *, seeds: int = 10, coupons: int = 3, seed: int = 0) -> pd.DataFrame:
    """A seeded canonical table of ``n`` respondents grown wave by wave (numpy only).

    Everyone but the last wave got ``coupons`` coupons and recruited
    ``Binomial(coupons, 0.4)`` peers; half of the last wave awaits coupons.
    """
    rng = np.random.default_rng(seed)
    parent = [np.full(seeds, -1)]
    total = seeds
    frontier = np.arange(seeds)
    while total < n:
        kids = rng.binomial(coupons, 0.45, size=len(frontier))
        if kids.sum() == 0:
            kids[rng.integers(len(frontier))] = 1
        children = np.repeat(frontier, kids)[: n - total]
        parent.append(children)
        frontier = np.arange(total, total + len(children))
        total += len(children)
    parent = np.concatenate(parent)
    ids = np.char.add("R", np.char.zfill(np.arange(1, n + 1).astype(str), 6))
    recruiter = np.where(parent >= 0, ids[np.maximum(parent, 0)], "")
    n_kids = np.bincount(parent[parent >= 0], minlength=n)
    issued = np.full(n, float(coupons))
    last = frontier
    issued[last[: len(last) // 2]] = np.nan
    days = np.zeros(n)
    for i in range(seeds, n):  # parents precede children
        days[i] = days[parent[i]] + rng.exponential(4.0) + 0.5
    times = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.round(days * 24), unit="h")
    sex = rng.choice(["female", "male"], size=n)
    same = rng.random(n) < 0.6
    sex = np.where((parent >= 0) & same, sex[np.maximum(parent, 0)], sex)  # some homophily
    return pd.DataFrame(
        {
            "id": ids,
            "recruiter_id": recruiter,
            "coupons_issued": pd.array(issued, dtype="Float64").astype("Int64"),
            "interview_time": times.strftime("%Y-%m-%dT%H:%M"),
            "sex": sex,
            "city": rng.choice(["north", "south", "east", "west", "centre"], size=n),
            "age": np.round(rng.normal(32, 8, size=n), 1),
            "network_size": rng.integers(1, 60, size=n),
            "_n_kids": n_kids,
        }
    )


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """Seven respondents: two seeds, three waves, two awaiting coupons."""
    return pd.DataFrame(
        {
            "id": ["s1", "s2", "a", "b", "c", "d", "e"],
            "recruiter_id": [None, "", "s1", "s1", "s2", "a", "a"],
            "coupons_issued": [3, 3, 2, 3, 3, None, None],
            "interview_time": [
                "2024-01-01",
                "2024-01-02",
                "2024-01-05",
                "2024-01-06",
                "2024-01-20",
                "2024-01-25",
                "2024-01-28",
            ],
            "sex": ["f", "m", "f", "m", "m", "f", "f"],
            "age": [23.5, 31.0, 27.2, 40.1, 36.0, 22.9, 29.4],
        }
    )


@pytest.fixture
def study_frame() -> pd.DataFrame:
    """A seeded 400-respondent canonical table."""
    return simulate_canonical(400, seed=3).drop(columns="_n_kids")
