"""The diagnostics report on hand-made posteriors: verdict rules, JSON, text, sections."""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pytest

from rdsmodel.diagnostics import (
    Check,
    Diagnostics,
    Section,
    Thresholds,
    diagnose,
    jsonable,
    worst,
)


def _idata(chains=4, draws=1000, shift=0.0, divergences=0, energy=None, seed=0):
    rng = np.random.default_rng(seed)
    b0 = rng.normal(0.0, 1.0, (chains, draws)) + shift * np.arange(chains)[:, None]
    beta = rng.normal(0.0, 1.0, (chains, draws, 2))
    diverging = np.zeros((chains, draws), dtype=bool)
    diverging.reshape(-1)[:divergences] = True
    if energy is None:
        energy = rng.normal(0.0, 1.0, (chains, draws))
    return az.from_dict(
        posterior={"b0": b0, "beta": beta},
        sample_stats={"diverging": diverging, "energy": energy},
        coords={"term": ["a", "b"]},
        dims={"beta": ["term"]},
    )


def test_worst_and_statuses():
    assert worst([]) == "ok"
    assert worst(["ok", "warn", "ok"]) == "warn"
    assert worst(["warn", "fail"]) == "fail"
    with pytest.raises(ValueError, match="unknown status"):
        Check("x", "bad", "nope")


def test_good_posterior_is_ok():
    d = diagnose(_idata())
    assert d.verdict == "ok"
    assert list(d.sections) == ["convergence", "sampler"]
    assert d.messages == []
    assert d.ok


def test_disagreeing_chains_fail():
    d = diagnose(_idata(shift=2.0))
    assert d.verdict == "fail"
    rhat = next(c for c in d["convergence"].checks if c.name == "rhat")
    assert rhat.status == "fail" and "b0" in rhat.message
    assert any("R-hat" in m for m in d.messages)


def test_few_draws_fail_on_ess():
    d = diagnose(_idata(chains=1, draws=40))
    ess = next(c for c in d["convergence"].checks if c.name == "ess_bulk")
    assert ess.status == "fail"
    assert d.verdict == "fail"


@pytest.mark.parametrize(("n_div", "status"), [(0, "ok"), (3, "warn"), (200, "fail")])
def test_divergence_rules(n_div, status):
    d = diagnose(_idata(divergences=n_div))
    check = next(c for c in d["sampler"].checks if c.name == "divergences")
    assert check.status == status
    assert d["sampler"].summary["divergences"] == n_div


def test_low_bfmi_warns():
    rng = np.random.default_rng(1)
    sticky = np.cumsum(rng.normal(0, 0.05, (4, 1000)), axis=1)  # energy barely moves between draws
    d = diagnose(_idata(energy=sticky))
    bfmi = next(c for c in d["sampler"].checks if c.name == "bfmi")
    assert bfmi.status == "warn"


def test_thresholds_are_overridable_and_checked():
    loose = diagnose(_idata(chains=1, draws=40), thresholds={"ess_warn": 10, "ess_fail": 5})
    assert next(c for c in loose["convergence"].checks if c.name == "ess_bulk").status == "ok"
    with pytest.raises(ValueError, match="unknown threshold"):
        Thresholds.with_overrides({"rhat": 1.1})
    assert Thresholds().to_dict()["rhat_warn"] == 1.01


def test_to_dict_is_plain_json():
    d = diagnose(_idata(shift=2.0, divergences=3))
    report = d.to_dict()
    text = json.dumps(report, allow_nan=False)
    assert report["verdict"] == "fail"
    assert set(report) >= {"verdict", "messages", "thresholds", "convergence", "sampler"}
    assert report["convergence"]["parameters"]["beta[a]"]["ess_bulk"] > 0
    assert "r_hat" in report["convergence"]["parameters"]["b0"]
    assert json.loads(text)["sampler"]["divergences"] == 3
    assert jsonable({"x": np.float64("nan"), "y": np.int64(3)}) == {"x": None, "y": 3}


def test_text_report():
    text = diagnose(_idata(shift=2.0)).text()
    assert text.startswith("Diagnostics verdict: FAIL")
    assert "Convergence [fail]" in text and "FAIL" in text
    assert "b0" in text


def test_extra_sections_join_verdict_dict_and_figures(tmp_path):
    from matplotlib.figure import Figure

    def draw():
        fig = Figure()
        fig.subplots().plot([0, 1], [1, 0])
        return fig

    d = diagnose(_idata())
    d.add_section(
        Section(
            "homophily",
            "Recruit covariates",
            [Check("rho_rhat", "warn", "rho R-hat 1.02")],
            summary={"fields": {"sex": {"rho": 0.4}}},
            figures={"homophily_rho": draw},
        )
    )
    assert d.verdict == "warn"
    assert d.to_dict()["homophily"] == {
        "verdict": "warn",
        "checks": [
            {
                "name": "rho_rhat",
                "status": "warn",
                "message": "rho R-hat 1.02",
                "value": None,
                "rule": None,
            }
        ],
        "fields": {"sex": {"rho": 0.4}},
    }
    assert "homophily: rho R-hat 1.02" in d.messages
    paths = d.save_figures(tmp_path / "figs")
    assert [p.name for p in paths] == ["homophily_rho.png"] and paths[0].stat().st_size > 0
    with pytest.raises(ValueError, match="exists already"):
        d.add_section(Section("homophily", "again"))
    with pytest.raises(ValueError, match="reserved"):
        d.add_section(Section("verdict", "no"))
    assert Diagnostics({"a": Section("a", "A")}).verdict == "ok"


def test_no_posterior_is_refused():
    with pytest.raises(ValueError, match="no posterior group"):
        diagnose(az.from_dict(observed_data={"y": np.arange(3)}))


def test_sections_from_mappings_and_the_compact_summary():
    d = diagnose(_idata(divergences=3))
    d.add_section(
        "homophily",
        {
            "verdict": "warn",
            "messages": ["rho[sex] R-hat 1.02"],
            "homophily": [{"field": "sex", "mean": 0.4}],
        },
    )
    assert d["homophily"].checks[0].status == "warn"
    assert d.to_dict()["homophily"]["homophily"] == [{"field": "sex", "mean": 0.4}]
    quiet = Section.from_dict("other", {"verdict": "ok"})
    assert quiet.verdict == "ok" and quiet.checks[0].message == "other: ok"
    s = d.summary()
    json.dumps(s, allow_nan=False)
    assert s["verdict"] == "warn" and s["divergences"] == 3
    assert s["sections"] == {"convergence": "ok", "sampler": "warn", "homophily": "warn"}
    assert s["max_rhat"] < 1.01 and s["min_ess_bulk"] > 400
    with pytest.raises(ValueError, match="needs the section's content"):
        d.add_section("empty")
