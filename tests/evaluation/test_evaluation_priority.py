"""``rdsplan evaluate --priority``: planning for a subgroup, scored on the recruits' true covariates.

The tunnel world makes the priority visible: ``LOCAL=L2`` is referral type B
(Poisson(2), whose recruits are B again with probability 0.85 + 0.15/4),
``L1`` is type A (Poisson(5), whose recruits are mostly type C, who recruit
nobody). The unweighted greedy gives the round's coupons to A; with ``L2``
worth 3 a B recruiter's coupon is worth ``S_B(l) (1 + 2 * 0.8875)`` and the
weighted greedy turns to B, so it recruits more of ``L2``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from planning import make_planner
from planning.app.cli import main
from planning.app.evaluation import EvaluationSettings, evaluate_policies, load_results
from planning.app.evaluation.pilot import episode_seed, prepare
from planning.app.evaluation.scoring import CodedPriority
from planning.app.evaluation.weighted import WeightedLaws
from planning.app.evaluation.workflow import play_chunk
from planning.errors import PlanningError
from planning.priorities import Pattern, Priority
from planning.simulation.planned import PlannerPolicy
from planning.simulation.rounds import EpisodeSettings, run_episode

SMALL = dict(
    scenario="tunnel",
    oracle_models=True,
    episodes=8,
    pilot_respondents=60,
    budget=30,
    max_per_round=6,
    gammas=(0.7, 1.0),
)
PLAIN_KEYS = {"policy", "gamma", "frontier", "mean", "se", "total_mean", "total_se"}
WEIGHTED_KEYS = {
    "weighted_mean",
    "weighted_se",
    "weighted_total_mean",
    "weighted_total_se",
    "subgroups",
}


def _episode(setup, frontier: int = 10) -> EpisodeSettings:
    ep = setup.episode
    return EpisodeSettings(ep.budget, ep.max_per_round, ep.max_per_person, ep.max_rounds, frontier)


def test_the_weighted_greedy_recruits_more_of_the_subgroup_on_common_random_numbers():
    settings = EvaluationSettings(**SMALL, priority="LOCAL=L2:3")
    setup = prepare(settings)
    assert isinstance(setup.model, WeightedLaws)
    greedy = make_planner("greedy")
    weighted = PlannerPolicy(greedy, setup.model, "weighted").for_settings(setup.episode)
    plain = PlannerPolicy(greedy, setup.model.model, "plain").for_settings(setup.episode)
    ep = _episode(setup)
    runs = {
        name: play_chunk(policy, setup.arrays, ep, settings.seed, 10, 0, 12, setup.scoring)
        for name, policy in (("weighted", weighted), ("plain", plain))
    }
    # (recruits, spend, weighted recruits, recruits per subgroup), episode by episode on the same worlds
    subgroup = {name: run[3][..., 0].sum(axis=1) for name, run in runs.items()}
    total = {name: run[0].sum(axis=1) for name, run in runs.items()}
    assert subgroup["weighted"].mean() > subgroup["plain"].mean() + 5
    assert (subgroup["weighted"] >= subgroup["plain"]).mean() >= 0.9
    # what the weighted greedy maximises is higher too: recruits + 2 x L2 recruits
    value = {name: runs[name][2].sum(axis=1) for name in runs}
    assert value["weighted"].mean() > value["plain"].mean()
    np.testing.assert_allclose(value["plain"], total["plain"] + 2 * subgroup["plain"])


@pytest.mark.parametrize(
    "priority",
    [
        Priority.parse("LOCAL=L2:3,RACE=L1|L3:0.5"),
        Priority.from_table("LOCAL,RACE,weight\nL2,L1,4\nL2,,2\n,L3|L4,0\n"),
        Priority.from_table("LOCAL,RACE,weight\nL2,L1,4\nL2,,2\n,L3|L4,0\n", rule="max"),
    ],
)
def test_subgroup_counts_and_weights_match_an_independent_recount(priority):
    """Coded scoring (lookups and bincounts) against pandas matching of the decoded recruits."""
    settings = EvaluationSettings(**SMALL)
    setup = prepare(settings)
    coding = setup.arrays.coding
    scoring = CodedPriority.of(priority, coding, "the tunnel world")
    policy = PlannerPolicy(make_planner("greedy"), setup.model).for_settings(setup.episode)
    seen = 0
    for e in range(6):
        result = run_episode(
            setup.arrays, policy, _episode(setup), episode_seed(1, 10, e), record_codes=True
        )
        assert len(result.codes) == result.total
        np.testing.assert_array_equal(
            np.bincount(result.code_round, minlength=result.rounds), result.recruits
        )
        weighted, groups = scoring.per_round(result.codes, result.code_round, result.rounds)
        frame = pd.DataFrame(
            {
                name: np.asarray(coding.levels[f])[result.codes[:, f]]
                for f, name in enumerate(coding.categorical)
            }
        )
        rounds = pd.Series(result.code_round)
        recount_w = pd.Series(priority.weight_of(frame)).groupby(rounds).sum()
        np.testing.assert_allclose(weighted, recount_w.reindex(range(result.rounds), fill_value=0))
        for j, pattern in enumerate(priority.subgroups):
            recount = pd.Series(pattern.matches(frame).astype(int)).groupby(rounds).sum()
            np.testing.assert_array_equal(
                groups[:, j], recount.reindex(range(result.rounds), fill_value=0)
            )
        seen += int(groups.sum())
    assert seen > 0  # the subgroups were met at all


def test_recording_codes_changes_no_draw():
    setup = prepare(EvaluationSettings(**SMALL))
    policy = PlannerPolicy(make_planner("greedy"), setup.model).for_settings(setup.episode)
    for e in range(3):
        a = run_episode(setup.arrays, policy, _episode(setup), episode_seed(1, 10, e))
        b = run_episode(
            setup.arrays, policy, _episode(setup), episode_seed(1, 10, e), record_codes=True
        )
        np.testing.assert_array_equal(a.recruits, b.recruits)
        np.testing.assert_array_equal(a.spend, b.spend)
        assert a.codes is None and b.codes is not None


def test_the_dataset_and_summary_with_a_priority():
    result = evaluate_policies(
        EvaluationSettings(**SMALL, policies=["greedy", "constant:3"], priority="LOCAL=L2:3")
    )
    ds = result.dataset
    assert list(ds["subgroup"].values) == ["LOCAL=L2"]
    total, women = ds["total"], ds["subgroup_total"].sel(subgroup="LOCAL=L2")
    # w = 1 + 2 [LOCAL = L2]: an identity between the three counts, episode by episode
    np.testing.assert_allclose(ds["weighted_total"], total + 2 * women)
    np.testing.assert_allclose(
        ds["weighted_discounted"],
        ds["discounted"] + 2 * ds["subgroup_discounted"].squeeze("subgroup"),
    )
    assert (women <= total).all()
    assert json.loads(ds.attrs["priority"])["factors"] == {"LOCAL": {"L2": 3.0}}
    for row in result.summary:
        assert set(row) == PLAIN_KEYS | WEIGHTED_KEYS
        entry = row["subgroups"]["LOCAL=L2"]
        assert set(entry) == {"mean", "se", "total_mean", "total_se"}
        sel = {"policy": row["policy"], "gamma": row["gamma"], "frontier": row["frontier"]}
        assert entry["total_mean"] == pytest.approx(float(women.sel(sel).mean()))
        assert row["weighted_mean"] == pytest.approx(
            float(ds["weighted_discounted"].sel(sel).mean())
        )


def test_with_a_priority_the_oracle_bounds_weighted_and_subgroup_recruits_and_the_figure_shows_them(
    tmp_path,
):
    import matplotlib.image

    from planning.app.evaluation import plot_results

    result = evaluate_policies(
        EvaluationSettings(**SMALL, policies=["greedy", "oracle"], priority="LOCAL=L2:3")
    )
    ds = result.dataset
    for name in ("discounted", "weighted_discounted", "subgroup_discounted"):
        assert bool((ds[name].sel(policy="greedy") <= ds[name].sel(policy="oracle") + 1e-9).all())
    # the bound on weighted recruits: the bound's recruits times the largest weight (3)
    np.testing.assert_allclose(
        ds["weighted_discounted"].sel(policy="oracle"), 3 * ds["discounted"].sel(policy="oracle")
    )
    tall = matplotlib.image.imread(plot_results(ds, tmp_path / "weighted.png"))
    plain = evaluate_policies(EvaluationSettings(**SMALL, policies=["greedy", "oracle"]))
    short = matplotlib.image.imread(plot_results(plain.dataset, tmp_path / "plain.png"))
    assert tall.shape[0] > 1.5 * short.shape[0]  # a second row: weighted discounted recruits


def test_all_weights_one_gives_exactly_the_results_of_no_priority():
    policies = ["greedy", "dp", "thompson", "constant:3"]
    plain = evaluate_policies(EvaluationSettings(**SMALL, policies=policies))
    ones = evaluate_policies(EvaluationSettings(**SMALL, policies=policies, priority="LOCAL=L2:1"))
    for name in ("recruits", "spend", "discounted", "total", "spent"):
        np.testing.assert_array_equal(plain.dataset[name].values, ones.dataset[name].values)
    np.testing.assert_array_equal(ones.dataset["weighted_discounted"], plain.dataset["discounted"])
    for a, b in zip(plain.summary, ones.summary, strict=True):
        assert {k: b[k] for k in PLAIN_KEYS} == a
        assert b["weighted_mean"] == a["mean"] and b["subgroups"] == {}


def test_without_a_priority_the_dataset_is_as_before():
    ds = evaluate_policies(EvaluationSettings(**SMALL, policies=["greedy"])).dataset
    assert set(ds.data_vars) == {"recruits", "spend", "discounted", "total", "spent"}
    assert set(ds.dims) == {"policy", "gamma", "frontier", "episode", "round"}
    assert "priority" not in ds.attrs and "priority" not in json.loads(ds.attrs["settings"])


def test_a_priority_is_checked_against_the_world_before_the_pilot():
    with pytest.raises(
        PlanningError, match=r"--priority: unknown covariate 'SEX_AT_BIRTH'.*tunnel world has LOCAL"
    ):
        prepare(EvaluationSettings(**SMALL, priority="SEX_AT_BIRTH=F:3"))
    with pytest.raises(
        PlanningError, match=r"LOCAL has no level 'L9'; its levels are L1, L2, L3, L4"
    ):
        prepare(EvaluationSettings(**{**SMALL, "oracle_models": False}, priority="LOCAL=L9:3"))


def test_cli_json_table_and_netcdf_with_a_priority(tmp_path, capsys):
    out = tmp_path / "e.nc"
    base = [
        "evaluate",
        "--scenario",
        "tunnel",
        "--oracle-models",
        "--episodes",
        "4",
        "--pilot-respondents",
        "60",
        "--budget",
        "30",
        "--max-per-round",
        "6",
        "--policies",
        "greedy,constant:3",
        "--gammas",
        "0.9",
        "--priority",
        "LOCAL=L2:3,RACE=L1:2",
        "--no-plot",
    ]
    assert main([*base, "--json", "-o", str(out)]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert all(set(r) == PLAIN_KEYS | WEIGHTED_KEYS for r in rows)
    assert all(set(r["subgroups"]) == {"LOCAL=L2", "RACE=L1"} for r in rows)
    ds = load_results(out)
    assert list(ds["subgroup"].values) == ["LOCAL=L2", "RACE=L1"]
    assert ds["subgroup_total"].dtype.kind == "i"
    assert main([*base, "-o", str(tmp_path / "f.nc")]) == 0
    table = capsys.readouterr().out.splitlines()
    assert (
        "weighted disc." in table[0]
        and "LOCAL=L2 total" in table[0]
        and "RACE=L1 total" in table[0]
    )
    assert len(table) == 3


def test_priority_file_reaches_the_evaluation(tmp_path, capsys):
    table = tmp_path / "weights.csv"
    table.write_text("LOCAL,weight\nL2,3\n", encoding="utf-8")
    args = [
        "evaluate",
        "--oracle-models",
        "--episodes",
        "2",
        "--pilot-respondents",
        "60",
        "--budget",
        "20",
        "--policies",
        "greedy",
        "--gammas",
        "0.9",
        "--priority-file",
        str(table),
        "--json",
        "--no-plot",
        "-o",
        str(tmp_path / "e.nc"),
    ]
    assert main(args) == 0
    (row,) = json.loads(capsys.readouterr().out)["results"]
    assert set(row["subgroups"]) == {Pattern.parse("LOCAL=L2").label}


def test_restricting_a_priority_to_the_levels_a_fitted_law_knows():
    from planning.priorities import LawLayout

    layout = LawLayout(("SEX", "DRUG"), (("F", "M"), ("yes",)), 2)
    factors, dropped = Priority.parse("SEX=F:3,DRUG=no:2,DRUG=yes:0.5").restricted(layout)
    assert str(factors) == "SEX=F:3,DRUG=yes:0.5" and dropped == ["DRUG=no"]
    only, dropped = Priority.parse("DRUG=no:2").restricted(layout)
    assert only.factors == () and only.trivial and dropped == ["DRUG=no"]
    table = Priority.from_table("SEX,DRUG,weight\nF,no,4\nF,no|yes,2\n,,1.5\n")
    kept, dropped = table.restricted(layout)
    assert [(r.pattern.label, r.weight) for r in kept.rows] == [
        ("SEX=F&DRUG=yes", 2.0),
        ("everyone", 1.5),
    ]
    assert dropped == ["DRUG=no"]
    with pytest.raises(PlanningError, match="unknown covariate 'AGE'"):
        Priority.parse("AGE=old:2").restricted(layout)


def test_trivial_priorities():
    assert Priority.parse("SEX=F:1").trivial and not Priority.parse("SEX=F:1,SEX=M:2").trivial
    assert Priority.from_table("SEX,weight\nF,1\n").trivial
    assert not Priority.from_table("SEX,weight\nF,1\n", default=2).trivial


def _women_world():
    """Women 15% of the population, inheritance 0.7 (the ``subgroup`` scenario)."""
    from planning.simulation.scenarios import subgroup_world

    return subgroup_world()


@pytest.mark.slow
def test_with_fitted_pilot_models_the_priority_gains_women_at_a_cost_in_recruits():
    """Planning from PyMC fits of a pilot: paired over the same 30 episodes, more women, fewer recruits."""
    common = dict(
        scenario="homogeneous",
        budget=60,
        max_per_round=15,
        gammas=(1.0,),
        frontiers=(10,),
        episodes=30,
        policies=["greedy"],
        pilot_respondents=300,
        draws=150,
        tune=150,
        seed=11,
    )
    counted = Priority.from_table(pd.DataFrame({"SEX": ["F"], "weight": [1.0]}))
    runs = {
        name: evaluate_policies(
            EvaluationSettings(**common, priority=priority), world=_women_world()
        ).dataset.squeeze()
        for name, priority in (("weighted", "SEX=F:3"), ("plain", counted))
    }
    women = {k: ds["subgroup_total"].values.astype(float) for k, ds in runs.items()}
    total = {k: ds["total"].values.astype(float) for k, ds in runs.items()}
    gain, cost = women["weighted"] - women["plain"], total["plain"] - total["weighted"]
    se = lambda x: x.std(ddof=1) / np.sqrt(x.size)  # noqa: E731
    print(
        f"women +{gain.mean():.2f} ± {se(gain):.2f}, recruits -{cost.mean():.2f} ± {se(cost):.2f}"
    )
    assert gain.mean() > 3 * se(gain) and gain.mean() > 2.0  # measured +5.8 ± 0.8 (60 episodes)
    assert cost.mean() > 0 and cost.mean() < 0.3 * total["plain"].mean()  # measured 4.9 of 41.0
    ds = runs["weighted"]
    np.testing.assert_allclose(ds["weighted_total"], ds["total"] + 2 * ds["subgroup_total"])
