"""Open coupon windows through the redemption delay: unbiased, and tighter than leaving them out.

An independent generator (numpy only) grows studies in continuous time:
seeds interviewed over the first days, each respondent given ``k`` coupons,
capacity ``C ~ NB(mu, phi)`` (numpy's gamma-Poisson), ``min(C, k)`` recruits
each interviewed after an exponential or lognormal delay truncated to the
coupon window; the study is cut at a time in the middle of a round, so
recent recruiters have open windows with part of their recruits in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rdsmodel.count import CountModel
from rdsmodel.count.delay import fit_delay_law, recruitment_delays
from rdsmodel.data import RecruitmentData

START = pd.Timestamp("2024-01-01")
FAST = {"draws": 400, "tune": 400, "chains": 2, "seed": 1, "progressbar": False}


def make_open_study(
    seed: int,
    *,
    mu: float = 1.8,
    phi: float = 2.0,
    coupons: int = 3,
    n_seeds: int = 25,
    cut_days: float = 24.0,
    window: float = 14.0,
    delay: str = "exponential",
):
    """A study cut at ``cut_days``; returns (frame, truth b0 = log mu, window, cut-off)."""
    rng = np.random.default_rng(seed)
    ids, rec, times = [], [], []
    queue = [(f"s{i}", None, float(rng.uniform(0, 4))) for i in range(n_seeds)]
    k = 0
    while queue:
        rid, parent, t = queue.pop()
        if t > cut_days:
            continue
        ids.append(rid)
        rec.append(parent)
        times.append(t)
        c = rng.negative_binomial(phi, phi / (phi + mu))
        m = min(c, coupons)
        if delay == "exponential":
            mass = -np.expm1(-window / 4.0)
            d = -4.0 * np.log1p(-rng.random(m) * mass)
        else:
            d = rng.lognormal(np.log(3.0), 0.6, 4 * m + 4)
            d = d[d < window][:m]
        for dj in d:
            k += 1
            queue.append((f"r{k}", rid, t + float(dj)))
    frame = pd.DataFrame(
        {
            "id": ids,
            "recruiter_id": rec,
            "coupons_issued": coupons,
            "interview_time": START + pd.to_timedelta(np.asarray(times), unit="D"),
        }
    )
    cutoff = START + pd.Timedelta(days=cut_days)
    return frame, float(np.log(mu)), window, cutoff


def _data(frame, window, cutoff):
    return RecruitmentData.from_frame(frame, coupon_window=window, cutoff=cutoff)


def test_delay_law_recovers_truncated_exponential():
    frame, _, window, cutoff = make_open_study(5, n_seeds=60)
    data = _data(frame, window, cutoff)
    d, trunc = recruitment_delays(data)
    assert np.isfinite(trunc).sum() > 20  # delays of open recruiters, right truncated
    law = fit_delay_law(d, trunc, window)
    grid = np.array([1.0, 3.0, 7.0, 10.0])
    truth = -np.expm1(-grid / 4.0) / -np.expm1(-window / 4.0)
    np.testing.assert_allclose(law.cdf(grid), truth, atol=0.05)
    assert law.cdf(window) == pytest.approx(1.0)


def test_auto_resolves_and_delay_fits_one_small_study(tmp_path):
    """Fast: one small study; "auto" is "delay" with times, open rows are in, the fit is near the truth."""
    frame, b0, window, cutoff = make_open_study(2)
    data = _data(frame, window, cutoff)
    assert (~data.fit_rows["window_closed"]).sum() > 50
    model = CountModel(data, family="nb")
    assert model.open_windows == "delay" and model.n_open > 50 and model.delay_law is not None
    idata = model.fit(**FAST)
    assert (
        abs(float(idata.posterior["b0"].mean()) - b0)
        < 3 * float(idata.posterior["b0"].std()) + 0.05
    )
    assert np.isfinite(idata.log_likelihood["y"].values).all()
    assert idata.log_likelihood["y"].sizes["person"] == model.n_observations
    g = idata.constant_data["redeem_prob"].values
    assert ((g < 1) == ~idata.constant_data["window_closed"].values.astype(bool)).all()
    assert "redemption delay" in " ".join(model.fit_notes)
    exclude = CountModel(data, family="nb", open_windows="exclude")
    assert exclude.n_observations < model.n_observations
    path = model.save(tmp_path / "fit.nc")
    again = CountModel.load(path)
    assert again.open_windows == "delay" and again.delay_law == model.delay_law
    no_times = RecruitmentData.from_frame(frame.drop(columns="interview_time"))
    assert CountModel(no_times, family="nb").open_windows == "exclude"


@pytest.mark.slow
@pytest.mark.parametrize("source", ["generator", "simulator"])
def test_delay_is_unbiased_and_tighter_than_exclude(source, capsys):
    """Several studies cut mid-round: bias and posterior sd of the log mean capacity per treatment."""
    results = {ow: [] for ow in ("exclude", "lower-bound", "delay")}
    for seed in range(8):
        if source == "generator":
            frame, truth, window, cutoff = make_open_study(
                100 + seed, delay="lognormal" if seed % 2 else "exponential"
            )
            data = _data(frame, window, cutoff)
        else:
            from planning.simulation.scenarios import simulate_study_detailed

            st = simulate_study_detailed("homogeneous", 100 + seed, respondents=400)
            data = RecruitmentData.from_frame(
                st.table, coupon_window=st.coupon_window, cutoff=st.cutoff
            )
            truth = float(np.log(st.truth["capacity"].mean()))
        for ow in results:
            model = CountModel(data, family="nb", open_windows=ow)
            post = model.fit(**FAST).posterior
            log_mean = (
                np.log(np.exp(post["b0"]).mean()) if source == "simulator" else post["b0"].mean()
            )
            results[ow].append((float(log_mean) - truth, float(post["b0"].std())))
    with capsys.disabled():
        print(f"\n{source}: 8 studies cut mid-round, log mean capacity, posterior mean - truth")
        for ow, rows in results.items():
            err = np.array(rows)
            print(
                f"  {ow:12s} bias {err[:, 0].mean():+.3f} (MC se {err[:, 0].std(ddof=1) / np.sqrt(len(err)):.3f})"
                f"  rmse {np.sqrt((err[:, 0] ** 2).mean()):.3f}  mean posterior sd {err[:, 1].mean():.3f}"
            )
    delay, exclude = np.array(results["delay"]), np.array(results["exclude"])
    se = delay[:, 0].std(ddof=1) / np.sqrt(len(delay))
    assert abs(delay[:, 0].mean()) < 3 * se + 0.03
    assert delay[:, 1].mean() < exclude[:, 1].mean()
