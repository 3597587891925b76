"""Diagnostics of real count-model fits: LOO (compressed and not), PPC, PIT, family comparison."""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pytest
import xarray as xr

from rdsmodel.count import CountModel
from rdsmodel.diagnostics import (
    compare_families,
    diagnose,
    loo,
    pit_test,
    ppc_table,
    randomized_pit,
    recommend,
)

pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning"),
]


def test_good_fit_passes(good_fit):
    d = diagnose(good_fit.idata)
    assert list(d.sections) == ["convergence", "sampler", "loo", "ppc"]
    assert d.verdict == "ok", d.text()
    assert d["ppc"].verdict == "ok"
    assert d["loo"].summary["pareto_k"]["over_threshold"] == 0
    report = d.to_dict()
    json.dumps(report, allow_nan=False)
    assert report["ppc"]["pit"]["pvalue"] > 0.001
    assert report["loo"]["elpd_loo"] < 0


def test_wrong_family_is_flagged_by_the_ppc(bad_fit):
    d = diagnose(bad_fit.idata)
    assert d["ppc"].verdict == "warn"
    assert any("PIT" in m for m in d.messages)
    assert d.verdict in ("warn", "fail")


def test_one_short_chain_fails():
    from rdsmodel.count.simulate import simulate_study

    data = simulate_study(300, n_groups=3, seed=3).data()
    model = CountModel(data)
    model.fit(draws=30, tune=30, chains=1, seed=1, progressbar=False)
    report = model.diagnose()
    assert report.verdict == "fail"
    rhat = next(c for c in report["convergence"].checks if c.name == "rhat")
    assert "needs at least 2" in rhat.message


def test_compressed_loo_equals_per_person_loo(good_fit):
    idata = good_fit.idata
    per_person = loo(idata)
    reference = az.loo(idata, pointwise=True)
    assert per_person.elpd_loo == pytest.approx(reference.elpd_loo)
    # rebuild the same posterior with the log-likelihood stored per distinct outcome
    const = idata.constant_data
    outcome = const["person_outcome"].values
    first = np.array([np.flatnonzero(outcome == o)[0] for o in range(const.sizes["outcome"])])
    values = idata.log_likelihood["y"].values[..., first]
    compressed = idata.copy()
    compressed.log_likelihood = xr.Dataset(
        {"y": (("chain", "draw", "outcome"), values)},
        coords={
            "chain": idata.posterior["chain"].values,
            "draw": idata.posterior["draw"].values,
            "outcome": np.arange(len(first)),
        },
    )
    res = loo(compressed)
    assert res.elpd_loo == pytest.approx(reference.elpd_loo, rel=1e-12)
    assert res.se == pytest.approx(reference.se, rel=1e-9)
    assert res.p_loo == pytest.approx(reference.p_loo, rel=1e-9)
    np.testing.assert_allclose(res.pareto_k.values, reference.pareto_k.values)
    np.testing.assert_allclose(res.loo_i.values, reference.loo_i.values)


def test_ppc_table_counts(good_fit):
    table = ppc_table(good_fit.idata)
    closed = good_fit.idata.constant_data["window_closed"].values.astype(bool)
    assert table["observed"].sum() == closed.sum()
    assert table["predicted"].sum() == pytest.approx(closed.sum())
    assert set(table["coupons"]) == {3, 5}
    assert table.groupby("coupons")["redeemed"].max().to_dict() == {3: 3, 5: 5}
    assert (table["low"] <= table["high"]).all()


def test_randomized_pit(good_fit, bad_fit):
    u = randomized_pit(good_fit.idata, seed=1)
    assert u.shape == (good_fit.idata.observed_data["y"].size,)
    assert np.all((u >= 0) & (u <= 1))
    assert pit_test(u)["pvalue"] > 0.001
    assert pit_test(randomized_pit(bad_fit.idata, seed=1))["pvalue"] < 1e-6


def test_figures_are_written(good_fit, tmp_path):
    paths = diagnose(good_fit.idata).save_figures(tmp_path)
    assert sorted(p.name for p in paths) == ["ppc_pit.png", "ppc_rootogram.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_sections_are_skipped_without_their_groups(good_fit):
    bare = az.InferenceData(
        posterior=good_fit.idata.posterior, sample_stats=good_fit.idata.sample_stats
    )
    assert list(diagnose(bare).sections) == ["convergence", "sampler"]
    assert list(diagnose(good_fit.idata, loo=False, ppc=False).sections) == [
        "convergence",
        "sampler",
    ]


def test_compare_families_recommends_nb(overdispersed):
    result = compare_families(
        overdispersed, ("poisson", "nb"), draws=300, tune=300, chains=2, seed=2, progressbar=False
    )
    assert result.best == "nb"
    assert result.table.index[0] == "nb"
    assert "nb" in result.recommendation and "family='nb'" in result.recommendation
    json.dumps(result.to_dict(), allow_nan=False)
    with pytest.raises(ValueError, match="at least two different families"):
        compare_families(overdispersed, ("nb", "NB"))


def test_recommendation_prefers_the_simpler_family_on_a_tie():
    import pandas as pd

    table = pd.DataFrame(
        {"elpd_loo": [-100.0, -101.0], "elpd_diff": [0.0, 1.0], "dse": [0.0, 1.5]},
        index=["zinb", "nb"],
    )
    best, text = recommend(table)
    assert best == "nb" and "simpler" in text
    best, _ = recommend(table.assign(elpd_diff=[0.0, 9.0]))
    assert best == "zinb"
