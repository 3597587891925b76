"""Simulated worlds: branching and network populations that run RDS studies.

The worlds generate canonical field tables (for case studies and tests) and
are the ground truth planners are scored in: they expose the true capacity
law of any frontier and a round-by-round ``step`` API.

=================== =========================================================
module              holds
=================== =========================================================
``calibration``     the shipped ICPSR 22140 figures, :func:`load_calibration`
``capacity``        referral-capacity laws of people (log-linear means, type
                    rates) over the count families of
                    :mod:`rdsmodel.laws.capacity`
``offspring``       recruit-covariate laws (inheritance mixtures and type rules
                    over :mod:`rdsmodel.laws.inheritance`, log-normal regression)
``timing``          interview times and coupon windows
``policies``        coupon policies: constant-k (standard RDS), random
``episode``         :class:`Episode`: a study in progress, ``step`` by round
                    (pandas; writes field tables)
``study``           the :class:`World` interface, the study runner and a
                    world's planning setting (:class:`EpisodeDefaults`)
``coded``           people as arrays: :class:`Cohort` and its :class:`Coding`
``keyed``           keyed randomness (common random numbers per person)
``arrays``          worlds compiled to arrays (:func:`as_arrays`)
``rounds``          fast episodes: :func:`run_episode`, :class:`EpisodeSettings`,
                    round policies (:class:`RoundPolicy`, :class:`CouponRule`)
``planned``         planners as round policies (:class:`PlannerPolicy`) and
                    planning with the true laws (:class:`TrueLaws`)
``branching``       :class:`BranchingWorld`
``graph``           degree-corrected stochastic block model graphs
``network``         :class:`NetworkWorld`
``scenarios``       :data:`SCENARIOS`, :func:`make_world`, :func:`simulate_study`
=================== =========================================================

Only numpy, scipy, pandas and the numpy laws of :mod:`rdsmodel.laws` are used
(never PyMC, nor the model packages :mod:`rdsmodel.count` and
:mod:`rdsmodel.covariates`).
"""

from planning.simulation.arrays import ArrayWorld, as_arrays
from planning.simulation.branching import BranchingWorld, SeedCovariateLaw
from planning.simulation.calibration import (
    BindingSetting,
    Calibration,
    FieldCalibration,
    TunnelVisionCalibration,
    load_calibration,
)
from planning.simulation.capacity import (
    CapacityLaw,
    HurdleCapacity,
    LogLinearMean,
    NegativeBinomialCapacity,
    NumericEffect,
    PoissonCapacity,
    TypeRates,
    ZeroInflatedCapacity,
)
from planning.simulation.coded import Coding, Cohort
from planning.simulation.episode import Episode, RoundOutcome
from planning.simulation.network import NetworkWorld
from planning.simulation.offspring import (
    CategoricalTransition,
    IndependentCovariates,
    LogNormalRegression,
    OffspringLaw,
)
from planning.simulation.planned import PlannerPolicy, TrueLaws
from planning.simulation.policies import (
    ConstantCoupons,
    CouponPolicy,
    RandomAllocation,
    RandomCoupons,
)
from planning.simulation.rounds import (
    CouponRule,
    EpisodeResult,
    EpisodeSettings,
    EpisodeTable,
    RoundPolicy,
    RoundView,
    episode_seeds,
    run_episode,
    run_episodes,
)
from planning.simulation.scenarios import (
    SCENARIOS,
    Scenario,
    make_world,
    simulate_study,
    simulate_study_detailed,
)
from planning.simulation.study import EpisodeDefaults, SimulatedStudy, World
from planning.simulation.timing import InterviewClock

__all__ = [
    "SCENARIOS",
    "ArrayWorld",
    "BindingSetting",
    "BranchingWorld",
    "Calibration",
    "CapacityLaw",
    "CategoricalTransition",
    "Coding",
    "Cohort",
    "ConstantCoupons",
    "CouponPolicy",
    "CouponRule",
    "Episode",
    "EpisodeDefaults",
    "EpisodeResult",
    "EpisodeSettings",
    "EpisodeTable",
    "FieldCalibration",
    "HurdleCapacity",
    "IndependentCovariates",
    "InterviewClock",
    "LogLinearMean",
    "LogNormalRegression",
    "NegativeBinomialCapacity",
    "NetworkWorld",
    "NumericEffect",
    "OffspringLaw",
    "PlannerPolicy",
    "PoissonCapacity",
    "RandomAllocation",
    "RandomCoupons",
    "RoundOutcome",
    "RoundPolicy",
    "RoundView",
    "Scenario",
    "SeedCovariateLaw",
    "SimulatedStudy",
    "TrueLaws",
    "TunnelVisionCalibration",
    "TypeRates",
    "World",
    "ZeroInflatedCapacity",
    "as_arrays",
    "episode_seeds",
    "load_calibration",
    "make_world",
    "run_episode",
    "run_episodes",
    "simulate_study",
    "simulate_study_detailed",
]
