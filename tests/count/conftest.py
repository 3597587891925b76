"""Shared simulated studies and fits for the count-model tests (fitted once per session)."""

from __future__ import annotations

import pytest
from count_helpers import QUICK

from rdsmodel.count import CountModel
from rdsmodel.count.simulate import simulate_study


@pytest.fixture(scope="session")
def nb_study():
    """1,500 respondents with coupons, two categorical covariates, a numeric one, 8 groups."""
    return simulate_study(
        1500,
        family="nb",
        b0=0.2,
        categorical={"sex": [0.0, 0.5], "site": [0.0, -0.4, 0.3]},
        numeric={"age": 0.25},
        n_groups=8,
        sigma_u=0.3,
        phi=1.5,
        coupons=(2, 3, 5),
        seed=11,
    )


@pytest.fixture(scope="session")
def nb_data(nb_study):
    return nb_study.data()


@pytest.fixture(scope="session")
def nb_model(nb_data):
    """A fitted negative-binomial model (nutpie on the compiled kernel)."""
    model = CountModel(nb_data, family="nb")
    model.fit(**QUICK)
    return model
