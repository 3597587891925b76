"""Named simulation scenarios and the one-call study simulator.

=============== ===============================================================
scenario        world
=============== ===============================================================
``homogeneous`` One negative binomial capacity law for everyone
                (``mu = 2``, ``phi = 1.5``); covariates that do not matter
                (``sex``, i.i.d.; ``network_size``, log-normal, i.i.d.);
                three sites as ``group`` with no effect.
``calibrated``  The 17 categorical ICPSR 22140 fields with their numbers of
                levels (named ``L1..LK``) and inheritance probabilities
                ``rho_f``; ``pi_f`` uniform by default, which reproduces the
                published match rates ``rho + (1 - rho)/K`` exactly
                (``level_weights="tilted"``: ``pi_f(c) ∝ 0.8^(c-1)``, mildly
                non-uniform). Capacity negative binomial with
                ``log mu = log 2 + beta_SEX + beta_BEHAV + u_site``, four sites
                with fixed effects ``u`` (spread about 0.3): the count model
                has signal to find.
``tunnel``      The tunnel-vision scenario of the calibration file in the
                setting where the budget binds (``binding_setting``, the
                default): the type is the ``LOCAL`` field (``L1 -> A``,
                ``L2 -> B``, ``L3, L4 -> C``), capacity
                ``Poisson(5 / 2 / 0.01)`` by type; a recruit's ``LOCAL``
                follows the type rule (``A -> C``, ``B -> B``, ``C -> C``,
                types mapped back to their first level) with probability
                0.85, else is uniform over the four levels; the other 16
                fields inherit with their ``rho``. Seeds are 45% A, 45% B,
                10% C; episodes have a budget of 100, at most 10 coupons a
                round and a first frontier of 10, half A and half B.
                ``setting="original"`` keeps the file's default rates
                (``4.0 / 0.8 / 0.02``, uniform seeds), in which B is
                subcritical and every lineage dies out before the budget
                binds. Fresh seeds are interviewed in studies whenever all
                chains have ended (batches of ``max(20, 4% of respondents)``).
``network``     :class:`~planning.simulation.network.NetworkWorld`: a DC-SBM
                population of ``max(3000, 4 * respondents)`` people with
                homophily on ``community`` and ``injects`` and Pareto
                degrees; coupons only reach not-yet-recruited neighbours.
``subgroup``    A priority subgroup (issue: plan for whom a study reaches):
                women (``SEX=F``) are 15% of the population and a recruit
                keeps the recruiter's ``SEX`` with probability 0.7 (else a
                population draw); ``DRUG`` (``yes``/``no``, half each,
                ``rho = 0.4``); capacity negative binomial (dispersion 1.5)
                with mean ``2 exp(-0.2 [F] + 0.3 [yes])``: women are a
                little harder to reach. Made for ``--priority SEX=F:3``.
=============== ===============================================================

``simulate_study(scenario, seed, respondents, **overrides)`` derives two
independent streams from ``seed`` (``numpy.random.SeedSequence.spawn``): one
builds the world (the network's graph), one runs the study; the same seed
gives the same table, byte for byte.

Examples
--------
>>> from planning.simulation import simulate_study
>>> table = simulate_study("calibrated", seed=1, respondents=200)
>>> len(table), table.columns[:5].tolist()
(200, ['id', 'recruiter_id', 'coupons_issued', 'interview_time', 'group'])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from planning.simulation.branching import BranchingWorld
from planning.simulation.calibration import load_calibration
from planning.simulation.capacity import (
    CapacityLaw,
    LogLinearMean,
    NegativeBinomialCapacity,
    PoissonCapacity,
    TypeRates,
)
from planning.simulation.network import DEFAULT_POPULATION, NetworkWorld
from planning.simulation.offspring import (
    CategoricalTransition,
    IndependentCovariates,
    LogNormalRegression,
    OffspringLaw,
)
from planning.simulation.study import (
    STUDY_OPTIONS,
    EpisodeDefaults,
    SimulatedStudy,
    World,
    as_generator,
)

__all__ = [
    "SCENARIOS",
    "Scenario",
    "calibrated_world",
    "homogeneous_world",
    "make_world",
    "network_world",
    "simulate_study",
    "simulate_study_detailed",
    "subgroup_world",
    "tunnel_world",
]

#: Capacity effects of the calibrated world (log scale; unlisted levels are 0).
CALIBRATED_EFFECTS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "SEX": MappingProxyType({"L2": 0.35, "L3": -0.25}),
        "BEHAV": MappingProxyType({"L2": -0.40, "L3": 0.30}),
    }
)
#: Site effects ``u_g`` of the calibrated world (one fixed draw, spread about 0.3).
CALIBRATED_SITES: Mapping[str, float] = MappingProxyType(
    {"S1": -0.30, "S2": 0.05, "S3": 0.35, "S4": -0.10}
)
#: Referral type of each ``LOCAL`` level in the tunnel world.
TUNNEL_TYPES: Mapping[str, str] = MappingProxyType({"L1": "A", "L2": "B", "L3": "C", "L4": "C"})


def _levels(k: int) -> list[str]:
    return [f"L{i}" for i in range(1, k + 1)]


def _level_weights(k: int, kind: str) -> np.ndarray:
    if kind == "uniform":
        return np.full(k, 1.0 / k)
    if kind == "tilted":
        w = 0.8 ** np.arange(k)
        return w / w.sum()
    raise ValueError(f"level_weights must be 'uniform' or 'tilted', got {kind!r}")


def _calibrated_fields(
    level_weights: str, skip: tuple[str, ...] = ()
) -> list[CategoricalTransition]:
    cal = load_calibration()
    return [
        CategoricalTransition.inheritance(
            f.name, _levels(f.levels), f.inherit_prob, _level_weights(f.levels, level_weights)
        )
        for f in cal.fields
        if f.name not in skip
    ]


def homogeneous_world(
    rng: np.random.Generator | int | None = None,
    respondents: int = 500,
    *,
    mean_capacity: float = 2.0,
    dispersion: float = 1.5,
    sites: int = 3,
    capacity: CapacityLaw | None = None,
) -> BranchingWorld:
    """Everyone alike: ``C ~ NB(mean_capacity, dispersion)``; covariates without effect.

    ``rng`` and ``respondents`` are unused (uniform builder signature).
    """
    if not 1 <= sites:
        raise ValueError(f"sites must be >= 1, got {sites}")
    law = capacity or NegativeBinomialCapacity(
        LogLinearMean(float(np.log(mean_capacity))), dispersion
    )
    offspring = OffspringLaw(
        [
            CategoricalTransition.inheritance("sex", ["F", "M"], rho=0.0),
            LogNormalRegression.stationary(
                "network_size", median=12.0, log_sd=0.8, slope=0.0, integer=True
            ),
        ]
    )
    return BranchingWorld(law, offspring, groups=[f"S{i}" for i in range(1, sites + 1)])


def subgroup_world(
    rng: np.random.Generator | int | None = None,
    respondents: int = 500,
    *,
    share: float = 0.15,
    rho: float = 0.7,
    mean_capacity: float = 2.0,
    dispersion: float = 1.5,
) -> BranchingWorld:
    """A priority subgroup: women are ``share`` of the population, inheriting ``SEX`` with ``rho``.

    ``DRUG`` inherits with ``rho = 0.4`` (half each); capacity is negative
    binomial with mean ``mean_capacity * exp(-0.2 [F] + 0.3 [yes])``.
    ``rng`` and ``respondents`` are unused (uniform builder signature).
    """
    if not 0.0 < share < 1.0:
        raise ValueError(f"share must be in (0, 1), got {share}")
    law = OffspringLaw(
        [
            CategoricalTransition.inheritance("SEX", ["F", "M"], rho, [share, 1.0 - share]),
            CategoricalTransition.inheritance("DRUG", ["yes", "no"], 0.4, [0.5, 0.5]),
        ]
    )
    capacity = NegativeBinomialCapacity(
        LogLinearMean(float(np.log(mean_capacity)), {"SEX": {"F": -0.2}, "DRUG": {"yes": 0.3}}),
        dispersion,
    )
    return BranchingWorld(capacity, law)


def calibrated_world(
    rng: np.random.Generator | int | None = None,
    respondents: int = 500,
    *,
    mean_capacity: float = 2.0,
    dispersion: float = 1.5,
    capacity_effects: Mapping[str, Mapping[str, float]] = CALIBRATED_EFFECTS,
    site_effects: Mapping[str, float] = CALIBRATED_SITES,
    level_weights: Literal["uniform", "tilted"] = "uniform",
    capacity: CapacityLaw | None = None,
) -> BranchingWorld:
    """ICPSR 22140 homophily with a covariate- and site-dependent NB capacity.

    ``rng`` and ``respondents`` are unused (uniform builder signature).
    """
    law = capacity or NegativeBinomialCapacity(
        LogLinearMean(
            intercept=float(np.log(mean_capacity)),
            categorical={k: dict(v) for k, v in capacity_effects.items()},
            group_effects=dict(site_effects),
        ),
        dispersion,
    )
    offspring = OffspringLaw(_calibrated_fields(level_weights))
    return BranchingWorld(law, offspring, groups=list(site_effects))


def _tunnel_seed_law(
    levels: list[str],
    type_of_level: Mapping[str, str],
    fractions: Mapping[str, float],
    type_field: str,
) -> CategoricalTransition:
    """Population law of ``LOCAL`` for seeds: each type's share split evenly over its levels."""
    counts = {
        t: sum(1 for lv in levels if type_of_level[lv] == t) for t in set(type_of_level.values())
    }
    pi = np.array(
        [fractions.get(type_of_level[lv], 0.0) / counts[type_of_level[lv]] for lv in levels]
    )
    if not pi.sum() > 0:
        raise ValueError("the seed type fractions give no weight to any LOCAL level")
    return CategoricalTransition.inheritance(type_field, levels, 0.0, pi / pi.sum())


def tunnel_world(
    rng: np.random.Generator | int | None = None,
    respondents: int = 500,
    *,
    setting: Literal["binding", "original"] = "binding",
    rates: Mapping[str, float] | None = None,
    type_of_level: Mapping[str, str] = TUNNEL_TYPES,
    capacity: CapacityLaw | None = None,
) -> BranchingWorld:
    """The calibration file's tunnel-vision scenario (boom-bust referral types on ``LOCAL``).

    Parameters
    ----------
    rng, respondents
        Unused (uniform builder signature).
    setting : {"binding", "original"}
        ``"binding"`` (default): the file's ``binding_setting`` (rates A 5,
        B 2, C 0.01; seeds 45% A, 45% B, 10% C; episodes with a budget of
        100, at most 10 coupons a round and a first frontier of 10, half A
        and half B). ``"original"``: the file's default rates (A 4, B 0.8,
        C 0.02) and uniform seeds, where the budget does not bind.
    rates : mapping, optional
        Poisson rate per type, overriding the setting's.
    type_of_level : mapping
        Referral type of each ``LOCAL`` level.
    capacity : CapacityLaw, optional
        Replaces the type-rate capacity law altogether.
    """
    cal = load_calibration()
    tv = cal.tunnel_vision
    if setting not in ("binding", "original"):
        raise ValueError(f"setting must be 'binding' or 'original', got {setting!r}")
    binding = tv.binding if setting == "binding" else None
    if setting == "binding" and binding is None:  # pragma: no cover - the shipped file has it
        raise ValueError("the calibration file has no tunnel binding_setting")
    field = cal.field(tv.type_field)
    levels = _levels(field.levels)
    if sorted(type_of_level) != sorted(levels):
        raise ValueError(f"type_of_level must map each of {levels} to a type")
    base_rates = dict(
        binding.poisson_rate_by_type if binding is not None else tv.poisson_rate_by_type
    )
    if rates is not None:
        base_rates.update({str(k): float(v) for k, v in rates.items()})
    unknown = sorted(set(type_of_level.values()) - set(base_rates))
    if unknown:
        raise ValueError(f"unknown referral type(s) {unknown}; types: {sorted(base_rates)}")
    first_level = {}
    for level in levels:
        first_level.setdefault(type_of_level[level], level)
    follow = {}
    for level in levels:
        target_type = tv.offspring_type[type_of_level[level]]
        if target_type not in first_level:
            raise ValueError(f"referral type {target_type!r} has no LOCAL level in type_of_level")
        follow[level] = first_level[target_type]
    level_rates = {level: base_rates[type_of_level[level]] for level in levels}
    law = capacity or PoissonCapacity(TypeRates(tv.type_field, level_rates))
    local = CategoricalTransition.type_rule(tv.type_field, levels, follow, tv.p_follow_transition)
    others = _calibrated_fields("uniform", skip=(tv.type_field,))
    offspring = OffspringLaw([local, *others])
    if binding is None:
        return BranchingWorld(
            law, offspring, defaults=EpisodeDefaults(budget=100, initial_frontier=10)
        )
    seeds = IndependentCovariates(
        [
            _tunnel_seed_law(levels, type_of_level, binding.seed_type_fractions, tv.type_field),
            *others,
        ]
    )
    mix = {first_level[t]: 0.5 for t in ("A", "B") if t in first_level}
    defaults = EpisodeDefaults(
        budget=binding.budget,
        max_per_round=binding.max_coupons_per_round,
        initial_frontier=binding.initial_frontier,
        frontier_mix={tv.type_field: {k: v / sum(mix.values()) for k, v in mix.items()}},
    )
    return BranchingWorld(law, offspring, seed_covariate_law=seeds, defaults=defaults)


def network_world(
    rng: np.random.Generator | int | None = None,
    respondents: int = 500,
    *,
    n_nodes: int | None = None,
    mean_degree: float = 8.0,
    degree_tail: float = 2.5,
    accept_prob: float = 0.3,
    fields: Mapping[str, Mapping[str, object]] = DEFAULT_POPULATION,
) -> NetworkWorld:
    """A DC-SBM population of ``n_nodes`` (default ``max(3000, 4 * respondents)``)."""
    size = max(3000, 4 * int(respondents)) if n_nodes is None else int(n_nodes)
    return NetworkWorld.generate(
        as_generator(rng),
        size,
        fields=fields,
        mean_degree=mean_degree,
        degree_tail=degree_tail,
        accept_prob=accept_prob,
    )


@dataclass(frozen=True)
class Scenario:
    """A named world with its default study settings.

    Attributes
    ----------
    name : str
    summary : str
        One line for help texts.
    build : callable
        ``build(rng, respondents, **options) -> World``.
    n_seeds : int
        Seeds per batch (at least).
    seeds_per_respondent : float
        For worlds whose chains die out fast: seeds per batch grow with the
        study size, ``max(n_seeds, ceil(seeds_per_respondent * respondents))``,
        so that a large study does not take years of seed batches.
    """

    name: str
    summary: str
    build: Callable[..., World]
    n_seeds: int
    seeds_per_respondent: float = 0.0

    def default_seeds(self, respondents: int) -> int:
        """Seeds per batch for a study of ``respondents``."""
        return max(self.n_seeds, int(np.ceil(self.seeds_per_respondent * respondents)))

    @property
    def options(self) -> tuple[str, ...]:
        """World options ``build`` accepts."""
        params = inspect.signature(self.build).parameters.values()
        return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


SCENARIOS: Mapping[str, Scenario] = MappingProxyType(
    {
        "homogeneous": Scenario(
            "homogeneous",
            "one NB capacity law for all, covariates without effect, 3 sites",
            homogeneous_world,
            n_seeds=9,
        ),
        "calibrated": Scenario(
            "calibrated",
            "ICPSR 22140 homophily on 17 fields, NB capacity on SEX, BEHAV, site",
            calibrated_world,
            n_seeds=12,
        ),
        "tunnel": Scenario(
            "tunnel",
            "tunnel vision: boom-bust referral types on LOCAL, budget 100, 10 a round "
            "(calibration file's binding setting)",
            tunnel_world,
            n_seeds=20,
            seeds_per_respondent=0.04,
        ),
        "network": Scenario(
            "network",
            "DC-SBM population graph with homophily and heavy-tailed degrees",
            network_world,
            n_seeds=10,
        ),
        "subgroup": Scenario(
            "subgroup",
            "a priority subgroup: women 15% of the population, inheritance 0.7 on SEX",
            subgroup_world,
            n_seeds=10,
        ),
    }
)


def _scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(
            f"unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}"
        ) from None


def make_world(
    scenario: str,
    rng: np.random.Generator | int | None = None,
    respondents: int = 500,
    **options: Any,
) -> World:
    """Build the world of a scenario.

    Parameters
    ----------
    scenario : str
        A key of :data:`SCENARIOS`.
    rng : numpy.random.Generator or int, optional
        Only the network world is random (its graph).
    respondents : int
        Planned study size (sizes the network population).
    **options
        The scenario builder's keyword options.
    """
    spec = _scenario(scenario)
    bad = sorted(set(options) - set(spec.options))
    if bad:
        raise TypeError(
            f"unknown option(s) {bad} for scenario {scenario!r}; "
            f"world options: {', '.join(spec.options)}"
        )
    return spec.build(as_generator(rng), respondents, **options)


def _split(scenario: str, respondents: int, overrides: dict[str, Any]) -> tuple[dict, dict]:
    if int(respondents) != respondents or respondents < 1:
        raise ValueError(f"respondents must be a positive integer, got {respondents!r}")
    spec = _scenario(scenario)
    study = {k: v for k, v in overrides.items() if k in STUDY_OPTIONS}
    world = {k: v for k, v in overrides.items() if k in spec.options}
    bad = sorted(set(overrides) - set(study) - set(world))
    if bad:
        raise TypeError(
            f"unknown option(s) {bad} for scenario {scenario!r}; world options: "
            f"{', '.join(spec.options)}; study options: {', '.join(STUDY_OPTIONS)}"
        )
    study.setdefault("n_seeds", spec.default_seeds(int(respondents)))
    return world, study


def simulate_study_detailed(
    scenario: str, seed: int, respondents: int = 500, **overrides: Any
) -> SimulatedStudy:
    """As :func:`simulate_study`, returning the table with the truth and the episode."""
    world_options, study_options = _split(scenario, respondents, overrides)
    world_seq, study_seq = np.random.SeedSequence(seed).spawn(2)
    world = make_world(scenario, np.random.default_rng(world_seq), respondents, **world_options)
    n_seeds = study_options.pop("n_seeds")
    study = world.simulate(
        n_seeds,
        max_respondents=int(respondents),
        rng=np.random.default_rng(study_seq),
        **study_options,
    )
    study.table.attrs["scenario"] = scenario
    study.table.attrs["seed"] = int(seed)
    return study


def simulate_study(
    scenario: str, seed: int, respondents: int = 500, **overrides: Any
) -> pd.DataFrame:
    """Simulate a study in a named scenario and return its canonical field table.

    Parameters
    ----------
    scenario : {"homogeneous", "calibrated", "tunnel", "network", "subgroup"}
    seed : int
        Same seed, same table (byte for byte through ``to_csv(index=False)``).
    respondents : int
        Target sample size (``max_respondents``).
    **overrides
        Study options (``n_seeds``, ``coupon_policy``, ``start_time``,
        ``mean_interview_delay``, ``coupon_window``, ``seed_spread``,
        ``cutoff``, ``reseed``; see :meth:`World.run_study`) and the
        scenario's world options (see the builders, e.g. ``dispersion``,
        ``level_weights``, ``capacity``, ``n_nodes``, ``accept_prob``).

    Returns
    -------
    DataFrame
        The canonical table; ``attrs`` hold ``cutoff``,
        ``coupon_window_days``, ``scenario`` and ``seed``.
    """
    return simulate_study_detailed(scenario, seed, respondents, **overrides).table
