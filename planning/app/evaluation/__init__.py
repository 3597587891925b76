"""The evaluation harness: which policy should a field team use, measured in simulated worlds.

========================= ==========================================================
module                    holds
========================= ==========================================================
``settings``              :class:`EvaluationSettings` (the options of ``rdsplan evaluate``)
``policies``              policy names and how each planner is built (:func:`parse_policies`)
``models``                the pilot's fitted laws on coded frontiers (:class:`FittedLaws`)
``weighted``              planning with a priority's recruit weights (:class:`WeightedLaws`)
``scoring``               episodes scored by who was recruited (:class:`CodedPriority`)
``pilot``                 world, pilot study, fits and training, with their seeds
``executors``             serial, process and Dask executors (:func:`open_executor`)
``workflow``              :func:`evaluate_policies`
``results``               the Dataset, summary, budget-binding check, NetCDF, figure
========================= ==========================================================

Examples
--------
>>> from planning.app.evaluation import EvaluationSettings, evaluate_policies
>>> settings = EvaluationSettings("tunnel", policies=["greedy", "constant:3"], gammas=[0.9],
...                               episodes=5, oracle_models=True)
>>> result = evaluate_policies(settings)               # doctest: +SKIP
>>> result.summary[0]["policy"]                         # doctest: +SKIP
'greedy'
"""

from planning.app.evaluation.executors import SerialExecutor, open_executor
from planning.app.evaluation.policies import ALL_POLICIES, PolicySpec, parse_policies
from planning.app.evaluation.results import (
    BINDING_SHARE,
    budget_binding,
    load_results,
    plot_results,
    save_results,
    summarise,
)
from planning.app.evaluation.settings import EXECUTORS, EvaluationSettings
from planning.app.evaluation.workflow import Evaluation, evaluate_policies

__all__ = [
    "ALL_POLICIES",
    "BINDING_SHARE",
    "EXECUTORS",
    "Evaluation",
    "EvaluationSettings",
    "PolicySpec",
    "SerialExecutor",
    "budget_binding",
    "evaluate_policies",
    "load_results",
    "open_executor",
    "parse_policies",
    "plot_results",
    "save_results",
    "summarise",
]
