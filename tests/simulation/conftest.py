"""Fixtures for the simulated-world tests."""

from __future__ import annotations

import pytest
from worlds_helpers import SCENARIO_NAMES

from planning.simulation import simulate_study_detailed


@pytest.fixture(scope="session")
def studies():
    """One 600-respondent study per scenario, shared by the structural tests."""
    return {
        name: simulate_study_detailed(name, seed=11, respondents=600) for name in SCENARIO_NAMES
    }
