"""Helpers shared by the simulated-world tests (a plain module, imported by name)."""

from __future__ import annotations

import numpy as np
import pandas as pd

SCENARIO_NAMES = ("homogeneous", "calibrated", "tunnel", "network", "subgroup")


def parent_positions(table: pd.DataFrame) -> np.ndarray:
    """Row position of each row's recruiter (-1 for seeds)."""
    pos = pd.Series(np.arange(len(table)), index=table["id"].astype(str))
    rec = table["recruiter_id"]
    out = np.full(len(table), -1, dtype=np.int64)
    has = rec.notna().to_numpy()
    out[has] = pos.loc[rec[has].astype(str)].to_numpy()
    return out


def binomial_tolerance(p: np.ndarray, n: int, z: float = 4.5) -> np.ndarray:
    """``z`` standard errors of a proportion estimated from ``n`` draws (plus a hair)."""
    p = np.asarray(p, dtype=float)
    return z * np.sqrt(np.maximum(p * (1 - p), 1e-12) / n) + 1e-9
