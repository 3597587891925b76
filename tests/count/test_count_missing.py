"""Missing covariate values never stop a count-model fit or a prediction (issue 9, part 2).

Categorical gaps among the fitted respondents are a level of their own
("(missing)"); numeric gaps are imputed at the mean with a missing-value
indicator term; a missing group is a group of its own; gaps in a table to
predict for, in a covariate that had none among the fitted respondents, take
the fitted respondents' average on that covariate. The counts are reported.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from study_gen import make_study

from rdsmodel.count import CountModel
from rdsmodel.count.design import MISSING_LEVEL, DesignSpec
from rdsmodel.data import RecruitmentData

pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning"),
]

NA = np.nan

# id, recruiter, coupons, recruits (implied by the tree), sex, age, site
ROWS = [
    ("a", None, 3, "F", 30.0, "s1"),
    ("b", None, 2, "M", NA, "s2"),
    ("c", "a", 3, None, 25.0, "s1"),
    ("d", "a", 2, "F", 41.0, "s1"),
    ("e", "b", 3, "M", 38.0, None),
    ("f", "b", 2, None, NA, "s2"),
    ("g", "c", 3, "F", 28.0, "s1"),
    ("h", "c", 2, "M", 35.0, "s2"),
    ("i", "d", 3, "F", 52.0, "s2"),
    ("j", "e", 2, "M", 22.0, "s1"),
    ("k", "g", None, None, 50.0, "s1"),  # frontier, categorical gap
    ("l", "h", None, "F", NA, "s2"),  # frontier, numeric gap
    ("m", "i", None, "M", 31.0, None),  # frontier, no site
]


def _table():
    return pd.DataFrame(
        ROWS, columns=["id", "recruiter_id", "coupons_issued", "sex", "age", "site"]
    )


def test_design_by_hand():
    """Every design value of a hand-written table with gaps, computed by hand."""
    table = _table().iloc[:10]
    spec = DesignSpec.fit(
        table,
        covariates=["sex", "age"],
        kinds={"sex": "categorical", "age": "numeric"},
        levels={"sex": ["F", "M"]},
        group_column="site",
        wave_effect=False,
    )
    assert spec.terms == ["sex[M]", f"sex[{MISSING_LEVEL}]", "age", "age[missing]"]
    assert spec.reference["sex"] == "F"  # 4 F, 4 M, 2 missing: first in schema order on ties
    assert spec.missing_fit == {"sex": 2, "age": 2, "site": 1}
    assert spec.groups == [MISSING_LEVEL, "s1", "s2"]
    ages = np.array([30, 25, 41, 38, 28, 35, 52, 22], dtype=float)
    mean, sd = ages.mean(), ages.std()
    assert spec.numeric["age"] == pytest.approx([mean, sd])
    raw = np.array(
        [
            # sex[M], sex[missing], age (standardised, gap -> 0), age[missing]
            [0, 0, (30 - mean) / sd, 0],
            [1, 0, 0, 1],
            [0, 1, (25 - mean) / sd, 0],
            [0, 0, (41 - mean) / sd, 0],
            [1, 0, (38 - mean) / sd, 0],
            [0, 1, 0, 1],
            [0, 0, (28 - mean) / sd, 0],
            [1, 0, (35 - mean) / sd, 0],
            [0, 0, (52 - mean) / sd, 0],
            [1, 0, (22 - mean) / sd, 0],
        ]
    )
    np.testing.assert_allclose(spec.matrix(table), raw - raw.mean(axis=0), atol=1e-12)
    gidx, unseen = spec.group_index(table, "site")
    assert gidx.tolist() == [1, 2, 1, 1, 0, 2, 1, 2, 2, 1] and unseen == []
    assert spec.missing_counts(_table()) == {"sex": 3, "age": 3}
    # round trip of the stored constants, and a config written before these fields existed
    again = DesignSpec.from_config(json.loads(json.dumps(spec.to_config())))
    np.testing.assert_array_equal(again.matrix(table), spec.matrix(table))
    old = {k: v for k, v in spec.to_config().items() if k not in ("indicators", "missing_fit")}
    assert DesignSpec.from_config(old).indicators == []


def test_gaps_the_fit_never_saw_take_the_average():
    """A complete fit, a frontier with gaps: the centred design columns of the gap are 0."""
    full = (
        _table()
        .iloc[:10]
        .assign(
            sex=lambda d: d["sex"].fillna("F"),
            age=lambda d: d["age"].fillna(33.0),
            site=lambda d: d["site"].fillna("s1"),
        )
    )
    spec = DesignSpec.fit(
        full,
        covariates=["sex", "age"],
        kinds={"sex": "categorical", "age": "numeric"},
        levels={"sex": ["F", "M"]},
        group_column="site",
        wave_effect=False,
    )
    assert spec.terms == ["sex[M]", "age"] and spec.missing_fit == {}
    people = pd.DataFrame(
        {
            "id": ["p", "q", "r"],
            "sex": ["M", None, "F"],
            "age": [NA, 40.0, 20.0],
            "site": ["s1", "s2", None],
        }
    )
    x = spec.matrix(people)
    assert x[0, 1] == 0.0 and x[1, 0] == 0.0  # the gaps
    assert x[0, 0] == pytest.approx(1 - spec.centers[0]) and x[1, 1] != 0.0
    gidx, unseen = spec.group_index(people, "site")
    assert gidx[2] < 0 and len(unseen) == 1  # no group: an unseen group of its own
    with pytest.raises(ValueError, match="level\\(s\\) 'X' the model never saw"):
        spec.matrix(people.assign(sex=["X", None, "F"]))


@pytest.fixture(scope="module")
def gappy():
    """A 600-respondent study with gaps in a categorical and a numeric covariate and in the site,
    in the fitted rows and on the frontier; fitted once (small)."""
    study = make_study(31, n=600, n_sites=3)
    frame = study.frame.copy()
    rng = np.random.default_rng(5)
    frame["age"] = rng.normal(35, 9, len(frame)).round()
    for col, share in (("x1", 0.05), ("age", 0.08), ("site", 0.01)):
        frame.loc[rng.random(len(frame)) < share, col] = None
    data = RecruitmentData.from_frame(
        frame, group_col="site", categorical=["x1", "x2"], numeric=["age"]
    )
    model = CountModel(data)
    model.fit(draws=300, tune=300, chains=2, progressbar=False)
    return data, model


def test_fit_keeps_and_reports_missing_values(gappy):
    data, model = gappy
    rows = data.fit_rows
    assert model.n_observations == len(rows)  # nobody left out
    want = {
        "x1": int(rows["x1"].isna().sum()),
        "age": int(rows["age"].isna().sum()),
        "group": int(rows["group"].isna().sum()),
    }
    assert all(want.values())
    assert model.missing_values == want
    note = model.missing_note
    assert note.startswith(f"{sum(want.values())} missing value(s) among the fitted respondents")
    assert "x1: " in note and "level '(missing)'" in note and "missing-value indicator" in note
    assert model.fit_notes[0] == note
    assert json.loads(model.idata.posterior.attrs["rdsplan_missing"]) == want
    terms = list(model.idata.posterior["beta"].coords["term"].values)
    assert "x1[(missing)]" in terms and "age[missing]" in terms
    assert MISSING_LEVEL in model.idata.posterior["u"].coords["group"].values


def test_predictions_for_people_with_gaps(gappy):
    data, model = gappy
    frontier = data.frontier
    assert frontier[["x1", "age"]].isna().any().all()
    curves = model.survival(frontier, max_coupons=4, samples=40)
    assert curves.shape == (40, len(frontier), 4)
    assert np.all(np.isfinite(curves.values)) and np.all(np.diff(curves.values, axis=-1) <= 1e-12)
    counts = json.loads(curves.attrs["missing_values"])
    assert counts == {
        k: int(v) for k, v in frontier[["x1", "age", "group"]].isna().sum().items() if v
    }
    assert "in the table predicted for" in curves.attrs["missing_note"]
    pmf = model.capacity_pmf(frontier, max_count=6, samples=10, tail=True)
    np.testing.assert_allclose(pmf.values.sum(-1), 1.0, atol=1e-12)
    # the posterior predictive of every fitted respondent (gaps included) and of the frontier
    rep = model.posterior_predictive(samples=50, rng=2)
    assert rep.shape == (50, model.n_observations)
    assert json.loads(rep.attrs["missing_values"]) == model.missing_values
    assert model.posterior_predictive(frontier, coupons=3, samples=5, rng=1).values.max() <= 3
    # a person whose value is missing gets the "(missing)" level's curve, not someone else's
    one = frontier.head(1).assign(x1=None, x2="0", age=35.0, group="site0")
    other = one.assign(x1="0")
    assert not np.allclose(
        model.survival(one, 2, samples=40).values, model.survival(other, 2, samples=40).values
    )
    # the model's diagnostics and the pointwise groups cover everyone
    assert model.idata.log_likelihood["y"].sizes["person"] == model.n_observations
    assert model.diagnose(loo=False).verdict in (
        "ok",
        "warn",
        "fail",
    )  # computes, whatever the verdict


def test_complete_fit_predicts_for_a_gappy_frontier():
    """A fit without any gap still predicts for frontier members with gaps (average on the covariate)."""
    study = make_study(32, n=300, n_sites=3)
    data = study.data()
    model = CountModel(data, group=False)
    model.fit(draws=200, tune=200, chains=2, progressbar=False)
    assert model.missing_values == {} and model.missing_note is None
    people = data.frontier.head(3).assign(x1=[None, "1", "0"], x2=["0", None, "1"])
    curves = model.survival(people, 3, samples=20)
    assert np.all(np.isfinite(curves.values))
    assert json.loads(curves.attrs["missing_values"]) == {"x1": 1, "x2": 1}
    assert "average" in curves.attrs["missing_note"]
