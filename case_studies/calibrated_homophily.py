"""Case study: the ICPSR-22140-calibrated homophily world.

Run from the repository root: ``python case_studies/calibrated_homophily.py [--quick]``.
"""

from __future__ import annotations

from _common import main

from planning.app.case_study import CaseStudy
from planning.app.evaluation import EvaluationSettings

STUDY = CaseStudy(
    name="calibrated_homophily",
    title="Homophily as published: which planner should a field team use?",
    description=[
        "Recruits inherit 17 covariates from their recruiters with the rates published for the "
        "ICPSR 22140 study (calibration file), and referral capacity depends on two of them and "
        "on the site. Budget 200 coupons, first frontier of 10.",
        "Policies plan with models fitted to a simulated pilot study and are scored in the true "
        "world over the same episodes; the hindsight oracle knows each episode's realised "
        "capacities (an upper bound, not a policy).",
    ],
    settings=EvaluationSettings("calibrated", episodes=30, frontiers=(10,)),
    quick=EvaluationSettings(
        "calibrated",
        episodes=3,
        gammas=(0.9,),
        frontiers=(10,),
        policies=["dp", "greedy", "constant:3", "oracle"],
        oracle_models=True,
    ),
    contrasts=[("gfp", "dp"), ("dp", "constant:3"), ("dp", "greedy_fixed:0.2")],
)

if __name__ == "__main__":
    main(STUDY)
