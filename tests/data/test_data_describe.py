"""Descriptive summary and its figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rdsmodel.data import RecruitmentData, describe
from rdsmodel.data.figures import tree_layout
from rdsmodel.data.tree import parent_positions


def test_describe_small_study(small_frame):
    summary = describe(RecruitmentData.from_frame(small_frame))
    assert (summary.n_respondents, summary.n_seeds, summary.max_wave, summary.n_frontier) == (
        7,
        2,
        2,
        2,
    )
    assert summary.mean_recruits == pytest.approx(5 / 5)
    assert summary.coupon_use_rate == pytest.approx(5 / 14)  # 5 recruits, 3+3+2+3+3 coupons
    waves = summary.tables["waves"]
    assert waves["respondents"].tolist() == [2, 3, 2] and waves["awaiting_coupons"].tolist() == [
        0,
        0,
        2,
    ]
    trees = summary.tables["recruits_per_seed"].set_index("seed_id")
    assert trees.loc["s1", "respondents"] == 5 and trees.loc["s2", "recruits"] == 1
    per = summary.tables["recruits_per_respondent"]
    assert per["respondents"].tolist() == [2, 1, 2] and per["respondents"].sum() == 5


def test_homophily_rates(small_frame):
    summary = describe(RecruitmentData.from_frame(small_frame))
    row = summary.tables["homophily"].set_index("field").loc["sex"]
    # edges: s1(f)->a(f), s1(f)->b(m), s2(m)->c(m), a(f)->d(f), a(f)->e(f): 4 of 5 match
    assert row["pairs"] == 5 and row["match_rate"] == pytest.approx(0.8)
    population = (4 / 7) ** 2 + (3 / 7) ** 2
    assert row["population_rate"] == pytest.approx(population)
    assert row["inheritance"] == pytest.approx((0.8 - population) / (1 - population))
    assert "age" not in summary.tables["homophily"]["field"].tolist()  # numeric fields are skipped


def test_text_and_save(study_frame, tmp_path):
    summary = describe(RecruitmentData.from_frame(study_frame, coupon_window=10))
    text = summary.text()
    for needle in (
        "respondents",
        "seeds",
        "coupon use rate",
        "Respondents per wave",
        "Homophily",
        "sex",
    ):
        assert needle in text
    written = summary.save(tmp_path / "out")
    names = {p.name for p in written}
    assert {
        "recruitment_tree.png",
        "recruits_per_respondent.png",
        "homophily.csv",
        "waves.csv",
        "summary.txt",
    } <= names
    for path in written:
        assert path.exists() and path.stat().st_size > 0
    assert pd.read_csv(tmp_path / "out" / "waves.csv")["respondents"].sum() == 400
    assert (tmp_path / "out" / "recruitment_tree.png").read_bytes()[:4] == b"\x89PNG"


def test_large_study_tree_is_limited(study_frame, tmp_path):
    written = describe(RecruitmentData.from_frame(study_frame)).save(tmp_path, max_tree_nodes=60)
    assert any(p.name == "recruitment_tree.png" for p in written)


def test_tree_layout_separates_subtrees():
    ids = pd.Series(["r", "a", "b", "a1", "a2", "b1"], dtype="string")
    rec = pd.Series([None, "r", "r", "a", "a", "b"], dtype="string")
    parent = parent_positions(ids, rec)
    x = tree_layout(parent, np.array([0, 1, 1, 2, 2, 2]))
    assert x[3] < x[4] < x[5]  # leaves in order, no overlap
    assert x[3] < x[1] < x[4] and x[1] < x[0] < x[2]  # parents centred over their recruits
