"""Shared fixtures of the covariate-model tests: small seeded simulated studies."""

from __future__ import annotations

import numpy as np
import pytest

from rdsmodel.covariates import FieldSpec, InheritanceOffspring
from rdsmodel.covariates.simulate import simulate_table
from rdsmodel.data import RecruitmentData


def numeric_spec(name: str = "age", log_mean: float = 3.4, log_sd: float = 0.3) -> FieldSpec:
    """A log-scale numeric field spec with normal percentiles (for simulation)."""
    from scipy.stats import norm

    q = norm.ppf(np.clip(np.arange(101) / 100, 0.002, 0.998))
    return FieldSpec(
        name=name,
        kind="numeric",
        log=True,
        center=log_mean,
        scale=log_sd,
        pop_mean=log_mean,
        pop_sd=log_sd,
        percentiles=tuple(np.exp(log_mean + log_sd * q)),
    )


@pytest.fixture(scope="session")
def age_spec() -> FieldSpec:
    return numeric_spec()


@pytest.fixture(scope="session")
def mixed_law() -> InheritanceOffspring:
    """Two categorical fields (non-uniform pi) and one log-normal numeric field."""
    fields = [
        FieldSpec.categorical("SEX", ["F", "M", "T"]),
        FieldSpec.categorical("RACE", list("abcd")),
        numeric_spec(),
    ]
    return InheritanceOffspring.from_values(
        fields,
        rho={"SEX": 0.3, "RACE": 0.7},
        pi={"SEX": [0.5, 0.4, 0.1], "RACE": [0.1, 0.2, 0.3, 0.4]},
        numeric={"age": (1.7, 0.5, 0.2)},
    )


@pytest.fixture(scope="session")
def mixed_table(mixed_law):
    """1,500 respondents, 5% of covariate values missing."""
    return simulate_table(mixed_law, 1500, np.random.default_rng(11), n_seeds=8, missing_rate=0.05)


@pytest.fixture(scope="session")
def mixed_data(mixed_table) -> RecruitmentData:
    return RecruitmentData.from_frame(mixed_table, categorical=["SEX", "RACE"], numeric=["age"])
