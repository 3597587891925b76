"""Capacity check: where the fitted capacity law departs from the observed redeemed counts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rdsmodel.diagnostics.capacity_check import capacity_check, redeemed_laws


def study(seed: int, rows: int = 1500):
    rng = np.random.default_rng(seed)
    group = rng.choice(["A", "B", "C"], rows)
    sex = rng.choice(["f", "m"], rows)
    age = rng.normal(30, 8, rows)
    mu = np.where(group == "A", 0.8, np.where(group == "B", 1.6, 1.2))
    capacity = rng.negative_binomial(2, 2 / (2 + mu))
    coupons = rng.choice([3, 5], rows)
    return rng, group, sex, age, mu, np.minimum(capacity, coupons), coupons


def nb_pmf(mu, size=40):
    mu = np.asarray(mu, dtype=float)
    return stats.nbinom.pmf(np.arange(size), 2, (2 / (2 + mu))[..., None])


def test_a_missing_group_effect_is_found_with_its_direction():
    rng, group, sex, age, _, y, k = study(0)
    means = 1.2 * np.exp(rng.normal(0, 0.03, 40))  # pooled model: no group effect
    pmf = nb_pmf(means)[:, None, :] * np.ones((1, y.size, 1))
    check = capacity_check(y, k, {"group": group, "sex": sex, "age": age}, pmf=pmf, seed=1)
    table = check.table.set_index(["factor", "level"])
    assert set(check.misfits.index.map(lambda i: check.table.loc[i, "level"])) == {"A", "B"}
    assert "too many recruits" in table.loc[("group", "A"), "verdict"]
    assert "too few recruits" in table.loc[("group", "B"), "verdict"]
    assert not table.loc[("all", "all"), "flagged"]
    assert table.loc[("group", "A"), "tv"] > table.loc[("group", "A"), "tv_expected"]
    assert table.loc["age"].index[0].startswith("[")  # quartiles, in order
    assert len(table.loc["age"]) == 4
    text = check.text()
    assert "group = A" in text and "group = B" in text and "sex" not in text
    json.dumps(check.to_dict())


def test_the_right_model_passes_and_survival_input_agrees():
    _, group, sex, _, mu, y, k = study(1)
    pmf = nb_pmf(mu)
    check = capacity_check(y, k, pd.DataFrame({"group": group, "sex": sex}), pmf=pmf, seed=2)
    assert check.misfits.empty
    assert "reproduces" in check.text()
    survival = 1 - np.cumsum(pmf, axis=1)[:, :5]
    np.testing.assert_allclose(
        redeemed_laws(k, survival=survival), redeemed_laws(k, pmf=pmf), atol=1e-12
    )
    again = capacity_check(y, k, {"group": group}, survival=survival, seed=2)
    np.testing.assert_allclose(again.table["p_value"], check.table["p_value"].iloc[:4])


def test_extra_zeros_are_named():
    rng, group, _, _, mu, y, k = study(2)
    zero = (group == "C") & (rng.random(y.size) < 0.4)
    y = np.where(zero, 0, y)
    check = capacity_check(y, k, {"group": group}, pmf=nb_pmf(mu), seed=3)
    row = check.table.set_index(["factor", "level"]).loc[("group", "C")]
    assert row["flagged"] and "too few zeros" in row["verdict"]
    assert row["observed_zero"] > row["predicted_zero"]


def test_refusals_and_small_levels():
    y, k = np.array([0, 1, 2]), np.array([1, 1, 2])
    pmf = nb_pmf([1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="row 1"):
        capacity_check(np.array([0, 2, 2]), k, None, pmf=pmf)
    with pytest.raises(ValueError, match="exactly one"):
        capacity_check(y, k, None)
    with pytest.raises(ValueError, match="labels"):
        capacity_check(y, k, {"g": [1, 2]}, pmf=pmf)
    check = capacity_check(y, k, {"g": ["a", "a", None]}, pmf=pmf, min_rows=2, replicates=50)
    assert list(check.table["level"]) == ["all", "a"]  # "missing" has one row
    assert check.replicates >= 2 * 2 / 0.05  # raised so that a flag is possible


def test_round_trip_section_and_headline():
    rng, group, sex, age, _, y, k = study(0)
    pmf = nb_pmf(1.2 * np.exp(rng.normal(0, 0.03, 40)))[:, None, :] * np.ones((1, y.size, 1))
    check = capacity_check(y, k, {"group": group, "sex": sex, "age": age}, pmf=pmf, seed=1)
    again = type(check).from_dict(json.loads(json.dumps(check.to_dict())))
    pd.testing.assert_frame_equal(again.table, check.table)
    assert again.text() == check.text()
    head = check.summary(max_listed=1)
    assert head["verdict"] == "warn" and head["flagged"] == 2 and len(head["misfits"]) == 1
    assert "and 1 more" in head["text"]
    section = check.section(focus=["group"])
    assert section.name == "capacity_check" and section.verdict == "warn"
    assert "group = A: too many recruits" in section.checks[0].message
    (table,) = section.tables.values()
    assert set(table.index.get_level_values("factor")) == {"all", "group"}  # sex, age: not flagged
    assert len(section.to_dict()["cells"]) == len(check.table)  # every cell in the JSON


def test_many_factors_are_fast():
    import time

    rng = np.random.default_rng(5)
    rows = 800
    k = np.full(rows, 3)
    mu = rng.lognormal(0.4, 0.3, rows)
    y = np.minimum(rng.negative_binomial(2, 2 / (2 + mu)), k)
    labels = {f"f{j}": rng.choice(["a", "b", "c", "d"], rows) for j in range(18)}
    start = time.perf_counter()
    check = capacity_check(y, k, labels, pmf=nb_pmf(mu)[None], seed=0)
    assert time.perf_counter() - start < 10  # ~1 s on a shared machine
    assert len(check.table) == 73 and check.replicates >= 2 * 73 / 0.05
