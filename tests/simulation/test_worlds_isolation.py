"""Worlds stand alone: no PyMC and no model package import, same bytes in a fresh process, valid tables."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys

import pandas as pd
import pytest

from planning.simulation import simulate_study_detailed

SCRIPT = """
import hashlib, io, sys
from planning.simulation import simulate_study
heavy = sorted(m for m in sys.modules
               if m.split(".")[0] in ("pymc", "pytensor", "numba", "nutpie", "arviz")
               or m.startswith(("rdsmodel.count", "rdsmodel.covariates")))
assert not heavy, heavy
assert "rdsmodel.laws.capacity" in sys.modules and "rdsmodel.laws.inheritance" in sys.modules
for name in ("calibrated", "network"):
    buffer = io.StringIO()
    simulate_study(name, seed=77, respondents=400).to_csv(buffer, index=False)
    print(hashlib.sha256(buffer.getvalue().encode()).hexdigest())
"""


def _digest(name: str) -> str:
    buffer = io.StringIO()
    simulate_study_detailed(name, seed=77, respondents=400).table.to_csv(buffer, index=False)
    return hashlib.sha256(buffer.getvalue().encode()).hexdigest()


def test_fresh_process_gives_the_same_bytes_without_heavy_imports():
    env = dict(os.environ, PYTHONHASHSEED="12345")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [_digest("calibrated"), _digest("network")]


@pytest.mark.parametrize("name", ["calibrated", "network"])
def test_tables_pass_the_field_data_validation(name):
    data_layer = pytest.importorskip("rdsmodel.data")
    study = simulate_study_detailed(name, seed=5, respondents=800)
    buffer = io.StringIO()
    study.table.to_csv(buffer, index=False)
    buffer.seek(0)
    data = data_layer.RecruitmentData.from_frame(
        pd.read_csv(buffer),
        group_col="group" if "group" in study.table.columns else None,
        coupon_window=study.coupon_window,
        cutoff=str(study.cutoff),
    )
    derived = data.table
    assert len(derived) == 800
    assert (derived["window_closed"].to_numpy() == study.truth["window_closed"].to_numpy()).all()
    assert (derived["n_recruits"].to_numpy() == study.truth["n_recruits"].to_numpy()).all()
    assert len(data.frontier) == study.table["coupons_issued"].isna().sum()
