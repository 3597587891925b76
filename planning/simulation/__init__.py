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
``study``           the :class:`World` interface and the study runner
``branching``       :class:`BranchingWorld`
``graph``           degree-corrected stochastic block model graphs
``network``         :class:`NetworkWorld`
``scenarios``       :data:`SCENARIOS`, :func:`make_world`, :func:`simulate_study`
=================== =========================================================

Only numpy, scipy, pandas and the numpy laws of :mod:`rdsmodel.laws` are used
(never PyMC, nor the model packages :mod:`rdsmodel.count` and
:mod:`rdsmodel.covariates`).
"""

from planning.simulation.branching import BranchingWorld, SeedCovariateLaw
from planning.simulation.calibration import (
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
from planning.simulation.episode import Episode, RoundOutcome
from planning.simulation.network import NetworkWorld
from planning.simulation.offspring import (
    CategoricalTransition,
    IndependentCovariates,
    LogNormalRegression,
    OffspringLaw,
)
from planning.simulation.policies import (
    ConstantCoupons,
    CouponPolicy,
    RandomAllocation,
    RandomCoupons,
)
from planning.simulation.scenarios import (
    SCENARIOS,
    Scenario,
    make_world,
    simulate_study,
    simulate_study_detailed,
)
from planning.simulation.study import SimulatedStudy, World
from planning.simulation.timing import InterviewClock

__all__ = [
    "SCENARIOS",
    "BranchingWorld",
    "Calibration",
    "CapacityLaw",
    "CategoricalTransition",
    "ConstantCoupons",
    "CouponPolicy",
    "Episode",
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
    "PoissonCapacity",
    "RandomAllocation",
    "RandomCoupons",
    "RoundOutcome",
    "Scenario",
    "SeedCovariateLaw",
    "SimulatedStudy",
    "TunnelVisionCalibration",
    "TypeRates",
    "World",
    "ZeroInflatedCapacity",
    "load_calibration",
    "make_world",
    "simulate_study",
    "simulate_study_detailed",
]
