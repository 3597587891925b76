"""Missing covariate values never stop the recruit-covariate model (issue 9, part 2).

A hand-written table with gaps on both sides of recruitment edges (recruiter
missing, recruit missing, both) in categorical and numeric fields, fitted in
every variant (``missing="marginalise"`` / ``"level"``, latent classes,
``rho_by_level``): the fit runs, the missing report counts by hand, and the
offspring law samples and summarises recruiters with gaps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rdsmodel.covariates import CovariateModel
from rdsmodel.data import RecruitmentData

pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning"),
]

NA = None
# id, recruiter, coupons, sex, race, age
ROWS = [
    ("a", NA, 3, "F", "x", 30.0),
    ("b", NA, 3, NA, "y", NA),
    ("c", "a", 3, "F", NA, 25.0),  # race missing (recruit)
    ("d", "a", 3, NA, "x", 41.0),  # sex missing (recruit)
    ("e", "b", 3, "M", "y", NA),  # sex: recruiter b missing; age: both missing
    ("f", "b", 3, NA, NA, 33.0),  # sex: both missing; age: recruiter missing
    ("g", "c", 2, "M", "x", 28.0),  # race: recruiter c missing
    ("h", "c", 2, "F", "y", 35.0),  # race: recruiter c missing
    ("i", "d", 2, "F", NA, NA),  # sex: recruiter d missing
    ("j", "d", 2, "M", "x", 22.0),  # sex: recruiter d missing
    ("k", "e", 2, NA, "y", 50.0),
    ("l", "f", NA, "F", "x", 31.0),  # frontier; sex, race: recruiter f missing
    ("m", "g", NA, "M", NA, 27.0),
]


@pytest.fixture(scope="module")
def gappy() -> RecruitmentData:
    frame = pd.DataFrame(
        ROWS, columns=["id", "recruiter_id", "coupons_issued", "sex", "race", "age"]
    )
    return RecruitmentData.from_frame(frame, categorical=["sex", "race"], numeric=["age"])


def test_missing_report_counts_by_hand(gappy):
    report = CovariateModel(gappy).missing_report.set_index("field")
    # 11 edges (every non-seed row)
    assert (report["pairs"] == 11).all()
    # sex: recruit missing c..m: d, f, k -> 3; recruiter missing: edges from b, d, f (e, f, i, j, l) -> 5,
    # of which both missing: f (recruiter b) -> 1
    assert report.loc["sex", ["recruit_missing", "recruiter_missing", "both_missing"]].tolist() == [
        3,
        5,
        1,
    ]
    # race: recruit missing c, f, i, m -> 4; recruiter missing: edges from c, f, i (g, h, l) -> 3; both: none
    assert report.loc[
        "race", ["recruit_missing", "recruiter_missing", "both_missing"]
    ].tolist() == [4, 3, 0]
    # age: recruit missing e, i -> 2 (and b, a seed, is never a recruit); recruiter missing: edges from b, e, i
    # (e, f, k) -> 3; both: e -> 1
    assert report.loc["age", ["recruit_missing", "recruiter_missing", "both_missing"]].tolist() == [
        2,
        3,
        1,
    ]


@pytest.mark.parametrize(
    ("missing", "classes", "by_level"),
    [("marginalise", 0, False), ("level", 0, True), ("marginalise", 2, False)],
)
def test_every_variant_fits_and_plans_with_gaps(gappy, missing, classes, by_level):
    model = CovariateModel(gappy, missing=missing, latent_classes=classes, rho_by_level=by_level)
    idata = model.fit(draws=60, tune=60, chains=1, seed=1, progressbar=False, ppc_draws=10)
    post = idata.posterior
    assert np.all(np.isfinite(post["rho"].values))
    sex = next(f for f in model.fields if f.name == "sex")
    assert sex.missing_level == (missing == "level")
    law = model.offspring()
    parents = gappy.table[["sex", "race", "age"]]
    kids = law.sample(parents, np.full(len(parents), 3), np.random.default_rng(0), 0)
    assert len(kids) == 3 * len(parents)
    assert kids["parent"].tolist() == list(np.repeat(np.arange(len(parents)), 3))
    known = {"F", "M"} | ({"(missing)"} if missing == "level" else set())
    assert set(kids["sex"].dropna()) <= known
    H = np.full((4, 3, law.max_levels), 0.2)
    lap = law.laplace(H, parents, sample="all")
    assert lap.shape == (60, len(parents), 4)
    assert np.all((lap > 0) & (lap <= 1))
