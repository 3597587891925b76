"""Case study: tunnel vision, where a myopic plan starves the lineage that sustains the study.

Run from the repository root: ``python case_studies/tunnel_vision.py [--quick]``.
"""

from __future__ import annotations

from _common import main

from planning.app.case_study import CaseStudy
from planning.app.evaluation import EvaluationSettings

QUICK_POLICIES = ["gfp", "dp", "greedy", "constant:3", "oracle"]

STUDY = CaseStudy(
    name="tunnel_vision",
    title="Tunnel vision: does planning for later rounds keep the study alive?",
    description=[
        "The world of the GFP authors' own tunnel experiment (the calibration file's binding "
        "setting): three types of people, A recruiting 5 on average, B 2 and C almost nobody; "
        "recruits of A are mostly C, so a plan that gives coupons to whoever recruits most this "
        "round (A) fills the next frontier with C and the study dies out, while B sustains "
        "itself. Budget 100 coupons, at most 10 a round, first frontier of 10 (half A, half B).",
        "Every policy plans with models fitted in PyMC to a simulated pilot study of the world "
        "and is scored in the true world, over the same episodes (common random numbers).",
    ],
    settings=EvaluationSettings("tunnel", episodes=40),
    quick=EvaluationSettings(
        "tunnel",
        episodes=4,
        gammas=(0.9,),
        policies=QUICK_POLICIES,
        oracle_models=True,
        gfp_episodes=32,
        gfp_iterations=4,
    ),
    contrasts=[("gfp", "dp"), ("dp", "greedy"), ("dp", "constant:3"), ("gfp", "greedy")],
)

if __name__ == "__main__":
    main(STUDY)
