"""Case study: prioritising a hard-to-reach subgroup, and what it costs in total recruits.

Field teams often want more of a subgroup, not only more recruits. Here women
(``SEX=F``) are 15% of the population and a recruit inherits the recruiter's
``SEX`` with probability 0.7 (else a population draw), so a woman brings a
woman with probability 0.745 and a man with probability 0.045; women are also
a little harder to reach (capacity mean ``2 exp(-0.2)``; people who use drugs
recruit more). The team declares ``--priority SEX=F:3``: a woman recruited
counts three times. Both plans, the weighted and the unweighted, are scored
against the truth: how many more women does prioritising bring, and how many
recruits does it cost?

Run from the repository root: ``python case_studies/priority_subgroups.py [--quick]``.
The report is ``case_studies/reports/priority_subgroups.html``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from planning import PlanningInputs, make_planner
from planning.curves import survival_from_pmf
from planning.greedy import allocation_values
from planning.priorities import Pattern, Priority, subgroup_probabilities
from planning.simulation.branching import BranchingWorld
from planning.simulation.scenarios import subgroup_world
from rdsmodel.persistence import atomic_path, package_version

REPORTS = Path(__file__).resolve().parent / "reports"
PRIORITY = "SEX=F:3"
WOMEN = Pattern.parse("SEX=F")
#: One round: coupons and the most one person may get.
BUDGET, CAP = 40, 5


def world() -> BranchingWorld:
    """The study's world: the ``subgroup`` scenario (women 15%, inheritance 0.7 on ``SEX``)."""
    return subgroup_world()


# ------------------------------------------------------------------------------- one round
def truth(w: BranchingWorld, frontier: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """True survival curves ``(person, CAP)`` and ``P(X' = F | x_i)`` of the frontier."""
    pmf = w.capacity.pmf(frontier, CAP)
    curves = survival_from_pmf(pmf, CAP)
    women = subgroup_probabilities([WOMEN], w.offspring, frontier)[0, :, 0]
    return curves, women


def score(curves: np.ndarray, women: np.ndarray, allocation: np.ndarray) -> tuple[float, float]:
    """Expected recruits and expected women recruited of an allocation, under the truth."""
    per_person = allocation_values(curves, np.asarray(allocation))
    return float(per_person.sum()), float((per_person * women).sum())


def one_round(quick: bool, seed: int, progress) -> tuple[pd.DataFrame, list[str], dict]:
    """Plan the next round of a simulated study with and without the priority; score both."""
    from rdsmodel.data import RecruitmentData

    w = world()
    respondents = 300 if quick else 600
    study = w.simulate(10, max_respondents=respondents, rng=seed)
    data = RecruitmentData.from_frame(study.table, categorical=["SEX", "DRUG"])
    frontier = data.frontier.reset_index(drop=True)
    curves, women = truth(w, frontier)
    priority = Priority.parse(PRIORITY)
    greedy = make_planner("greedy")
    rows = []
    weights = priority.expected_weights(w.offspring, frontier)
    for label, inputs in (
        ("true laws, unweighted", PlanningInputs.from_arrays(curves, caps=CAP)),
        (
            f"true laws, {PRIORITY}",
            PlanningInputs.from_arrays(curves, caps=CAP, weights=weights),
        ),
    ):
        allocation = greedy.decide(inputs, BUDGET, None).allocation
        rows.append((label, allocation, None))
    facts = {
        "respondents": len(data.table),
        "frontier": len(frontier),
        "frontier_women": int((frontier["SEX"] == "F").sum()),
        "share_women": float((data.table["SEX"] == "F").mean()),
    }
    if not quick:
        from planning.app.workflows import FitSettings, PlanRequest, fit_study, plan_round

        progress(f"fitting both models to the study of {len(data.table)} respondents ...")
        fit = fit_study(
            data, FitSettings(draws=400, tune=400, chains=2, seed=3, progress_bars=False)
        )
        facts["diagnostics"] = fit.diagnostics_summary().get("verdict")
        position = {str(i): k for k, i in enumerate(frontier["id"])}
        for label, chosen in (
            ("fitted models, unweighted", None),
            (f"fitted models, {PRIORITY}", priority),
        ):
            plan = plan_round(
                fit,
                data,
                PlanRequest(
                    budget=BUDGET,
                    max_per_person=CAP,
                    samples=200,
                    seed=seed,
                    allow_unconverged=True,
                    priority=chosen,
                ),
            )
            allocation = np.zeros(len(frontier), dtype=np.int64)
            allocation[[position[str(i)] for i in plan.ids]] = plan.allocation
            rows.append((label, allocation, plan))
    table = []
    for label, allocation, plan in rows:
        total, got = score(curves, women, allocation)
        claimed = plan.subgroups.get("SEX=F", {}).get("mean") if plan is not None else None
        table.append(
            {
                "plan": label,
                "coupons": int(np.sum(allocation)),
                "coupons to women": int(np.sum(allocation[frontier["SEX"].to_numpy() == "F"])),
                "expected recruits (truth)": total,
                "expected women recruited (truth)": got,
                "weighted recruits (truth)": total + 2.0 * got,
                "women the plan expected": claimed,
            }
        )
    frame = pd.DataFrame(table).set_index("plan")
    words = []
    for kind in ("true laws", "fitted models"):
        plain, weighted = f"{kind}, unweighted", f"{kind}, {PRIORITY}"
        if plain not in frame.index:
            continue
        a, b = frame.loc[plain], frame.loc[weighted]
        gain = b["expected women recruited (truth)"] - a["expected women recruited (truth)"]
        cost = a["expected recruits (truth)"] - b["expected recruits (truth)"]
        facts[f"{kind}_gain"], facts[f"{kind}_cost"] = float(gain), float(cost)
        words.append(
            f"Planning with the {kind}: the priority raises the women recruited next round from "
            f"{a['expected women recruited (truth)']:.2f} to {b['expected women recruited (truth)']:.2f} "
            f"({gain:+.2f}) at a cost of {cost:.2f} of {a['expected recruits (truth)']:.2f} "
            f"expected recruits ({100 * cost / a['expected recruits (truth)']:.0f}%), both "
            "measured under the true laws."
        )
    if not quick:
        same = [
            np.array_equal(rows[i][1], rows[i + 2][1]) for i in range(2)
        ]  # true-law plans against the fitted plans
        fitted_plan = rows[3][2]
        words.append(
            f"The models fitted in PyMC (diagnostics: {facts['diagnostics']}) "
            + (
                "chose exactly the allocations the true laws choose, with and without the "
                "priority (the frontier has four covariate cells, and the fit ranks them as the "
                "truth does)"
                if all(same)
                else "chose allocations other than the true laws' "
                f"(unweighted: {'same' if same[0] else 'different'}; weighted: "
                f"{'same' if same[1] else 'different'})"
            )
            + f"; the weighted plan expected {fitted_plan.subgroups['SEX=F']['mean']:.2f} women "
            f"(90% interval {fitted_plan.subgroups['SEX=F']['interval_90'][0]:.2f} to "
            f"{fitted_plan.subgroups['SEX=F']['interval_90'][1]:.2f}) where the truth gives "
            f"{frame.loc[f'fitted models, {PRIORITY}', 'expected women recruited (truth)']:.2f}."
        )
    return frame, words, facts


# ------------------------------------------------------------------------------- several rounds
def _cell(values: np.ndarray, sign: bool = False) -> str:
    """``mean ± standard error`` over episodes (of paired differences, for a difference)."""
    se = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else float("nan")
    return f"{values.mean():{'+' if sign else ''}.1f} ± {se:.1f}"


def several_rounds(quick: bool, seed: int, progress, executor: str = "serial"):
    """The evaluation harness in this world, planning for the priority and without it.

    The unweighted run names the subgroup in a table whose weights are all 1:
    every policy plans exactly as without a priority, and the episodes still
    count the women. Both runs use the same seed, so episode ``e`` is the same
    world in both (common random numbers) and differences are paired.
    """
    from planning.app.evaluation import EvaluationSettings, evaluate_policies

    common = dict(
        scenario="homogeneous",  # only its seeds per batch: the world is ours
        budget=60,
        max_per_round=15,
        gammas=(0.7, 1.0),
        frontiers=(10,),
        episodes=4 if quick else 60,
        policies=["greedy", "dp", "constant:3"],
        oracle_models=quick,
        pilot_respondents=300,
        draws=150,
        tune=150,
        seed=seed,
    )
    runs = {}
    for name, priority in (
        ("weighted", Priority.parse(PRIORITY)),
        ("unweighted", Priority.from_table(pd.DataFrame({"SEX": ["F"], "weight": [1.0]}))),
    ):
        progress(f"evaluating with the {name} objective ...")
        settings = EvaluationSettings(**common, priority=priority)
        runs[name] = evaluate_policies(
            settings, world=world(), executor=executor, progress=progress
        )
    rows, words = [], []
    for policy in common["policies"]:
        for gamma in common["gammas"]:
            sel = {"policy": policy, "gamma": gamma, "frontier": 10}
            cells = {}
            for name, result in runs.items():
                ds = result.dataset.sel(sel)
                women = ds["subgroup_total"].sel(subgroup="SEX=F").values.astype(float)
                women_disc = ds["subgroup_discounted"].sel(subgroup="SEX=F").values
                # the declared objective (a woman counts 3) of either plan, from its own episodes
                weighted = ds["discounted"].values + 2.0 * women_disc
                cells[name] = (ds["total"].values.astype(float), women, weighted)
            (t1, f1, w1), (t0, f0, w0) = cells["weighted"], cells["unweighted"]
            rows.append(
                {
                    "policy": policy,
                    "gamma": gamma,
                    "women, unweighted plan": _cell(f0),
                    "women, weighted plan": _cell(f1),
                    "women gained (paired)": _cell(f1 - f0, sign=True),
                    "recruits, unweighted plan": _cell(t0),
                    "recruits, weighted plan": _cell(t1),
                    "recruits lost (paired)": _cell(t0 - t1, sign=True),
                    "weighted disc., unweighted plan": _cell(w0),
                    "weighted disc., weighted plan": _cell(w1),
                }
            )
            if policy != "constant:3" and gamma == common["gammas"][-1]:
                words.append(
                    f"Over whole episodes ({common['budget']} coupons, at most "
                    f"{common['max_per_round']} a round), {policy} planning for the priority "
                    f"recruits {_cell(f1 - f0, sign=True)} women and "
                    f"{_cell(t1 - t0, sign=True)} recruits in total against "
                    f"{policy} planning without it ({f0.mean():.1f} women of {t0.mean():.1f}; "
                    "paired over the same episodes)."
                )
    notes = sorted({n for r in runs.values() for n in r.notes})
    return pd.DataFrame(rows).set_index(["policy", "gamma"]), words, notes, runs, common


# ------------------------------------------------------------------------------- report
def render(args, sections: dict, seconds: float) -> Path:
    """The case study's self-contained HTML page."""
    esc = html.escape
    question = " ".join(__doc__.split("\n\n")[1].split())
    conclusions = "".join(f"<li>{esc(c)}</li>" for c in sections["conclusions"])
    notes = "".join(f"<li>{esc(n)}</li>" for n in sections["notes"]) or "<li>none</li>"
    settings = esc(sections["settings"])
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Priority subgroups: what prioritising gains and costs</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:auto;padding:1rem 2rem;color:#1d2430}}
table{{border-collapse:collapse;margin:.5rem 0 1rem}}th,td{{border-bottom:1px solid #e6e9ee;padding:.25rem .6rem;text-align:right}}
td:first-child,th:first-child{{text-align:left}}pre{{background:#f5f6f8;padding:.6rem;overflow:auto}}</style></head><body>
<h1>Priority subgroups: what prioritising gains and costs</h1>
<p>{"quick version: planning with the true laws, few episodes" if args.quick else "full run"}</p>
<section id="question"><h2>Question</h2><p>{esc(question)}</p></section>
<section id="conclusions"><h2>Conclusions</h2><ul>{conclusions}</ul></section>
<section id="results"><h2>Next round: {BUDGET} coupons, at most {CAP} per person</h2>
<p>The study's frontier planned by the exact greedy, with and without <code>{PRIORITY}</code>,
from the true laws and from the models fitted in PyMC; every plan scored under the true laws:
expected recruits <code>sum_i E[min(C_i, k_i)]</code> and expected women
<code>sum_i P(X' = F | x_i) E[min(C_i, k_i)]</code>.</p>
{sections["round_table"]}
<h2>Whole episodes (the evaluation harness with <code>priority</code>)</h2>
<p>Mean ± standard error over episodes of the women recruited, the recruits in total and the
weighted discounted recruits (a woman counts 3), for each policy planning for the priority and
planning without it (common random numbers: the differences are paired).</p>
{sections["episodes_table"]}</section>
<section id="notes"><h2>Notes</h2><ul>{notes}</ul></section>
<section id="settings"><h2>How it was run</h2><pre>{settings}</pre>
<p>Rerun: <code>python case_studies/priority_subgroups.py{" --quick" if args.quick else ""}</code>.
The same evaluation on a named scenario from the command line:
<code>rdsplan evaluate --scenario tunnel --priority LOCAL=L2:3 -o results.nc</code>.</p></section>
<footer><p>Written by rdsplan {package_version()} on {dt.datetime.now():%Y-%m-%d %H:%M}; {seconds:.0f} s.</p></footer>
</body></html>"""
    path = args.output / (
        "priority_subgroups-quick.html" if args.quick else "priority_subgroups.html"
    )
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="true laws only, few episodes (a smoke test)"
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--executor", choices=("serial", "processes", "dask"), default="processes")
    parser.add_argument("-o", "--output", type=Path, default=REPORTS)
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()

    def progress(line: str) -> None:
        print(line, file=sys.stderr)

    round_frame, round_words, facts = one_round(args.quick, args.seed, progress)
    episodes, episode_words, notes, runs, common = several_rounds(
        args.quick, args.seed, progress, args.executor
    )
    conclusions = [
        f"The simulated study has {facts['respondents']} respondents "
        f"({100 * facts['share_women']:.1f}% women); its frontier has {facts['frontier']} people, "
        f"{facts['frontier_women']} of them women.",
        *round_words,
        *episode_words,
    ]
    sections = {
        "conclusions": conclusions,
        "notes": notes,
        "round_table": round_frame.to_html(border=0, float_format=lambda v: f"{v:.2f}", na_rep=""),
        "episodes_table": episodes.to_html(border=0),
        "settings": "\n".join(
            [
                f"seed {args.seed}; one round: budget {BUDGET}, at most {CAP} per person, "
                f"priority {PRIORITY}",
                "episodes: "
                + ", ".join(f"{k}={v}" for k, v in common.items())
                + f"; pilot fits {'none (true laws)' if common['oracle_models'] else 'PyMC'}",
                "evaluation settings: " + runs["weighted"].dataset.attrs["settings"],
            ]
        ),
    }
    path = render(args, sections, time.perf_counter() - began)
    print(round_frame.to_string(float_format=lambda v: f"{v:.2f}"))
    print(episodes.to_string())
    print("\n".join(conclusions))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
