r"""Planning models for fast episodes: the laws fitted to a pilot study, precomputed once.

A policy in an evaluation plans every round of every episode, so building its
:class:`planning.PlanningInputs` must cost next to nothing. :class:`FittedLaws`
does the pandas- and posterior-heavy work once per fit:

* the count model's linear predictor is linear in its design row, and a
  design row is the sum of one row per covariate level (and a slope per
  numeric covariate). The rows of every level of every covariate are
  computed once (through the model's own ``design.matrix`` on a small probe
  table), so a frontier's design rows are sums of table lookups over its
  codes; ``eta`` and the survival curves then come from
  :func:`rdsmodel.count.predict.linear_predictor` and
  :func:`rdsmodel.count.predict.survival_array` (numpy, ``D`` posterior
  samples);
* the pooled law of future recruits is the model's ``population_pmf`` on
  ``0..budget + 1``, computed once;
* the offspring law is the covariate model's numpy law, read once.

Levels the pilot study never showed are treated as the model's reference
level by the capacity model and as missing by the offspring law (both are
recorded in :attr:`FittedLaws.notes`).

:class:`FrameCapacity` serves the same fitted capacity law to the rollout
engine that trains GFP and the fitted-Q baseline (:mod:`planning.rollout`),
which works on covariate tables; recruits there carry no site, so their law
is the mixture over the pilot's sites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from planning.errors import PlanningError
from planning.inputs import PlanningInputs, choose_truncation
from planning.simulation.coded import Coding, Cohort
from planning.simulation.rounds import RoundView

__all__ = ["FittedLaws", "FrameCapacity", "GroupMixture", "fitted_laws"]


@dataclass(frozen=True, eq=False)
class FittedLaws:
    """Fitted capacity and offspring laws on coded cohorts (module docstring).

    Attributes
    ----------
    coding : Coding
        The world's coding.
    family : rdsmodel.laws.capacity.Family
    draws : rdsmodel.count.predict.Draws
        ``D`` posterior samples of the count model.
    base : numpy.ndarray
        ``(q,)`` design row of the base person (every covariate at its reference).
    level_rows : list of (int, numpy.ndarray)
        Per categorical covariate of the model: its column in the coding and
        ``(K_f, q)`` design-row differences of its levels from the base.
    slopes : list of (int, numpy.ndarray)
        Per numeric covariate: its column and the ``(q,)`` row difference per unit.
    group_index : numpy.ndarray or None
        Model group of each world group (``-1 - j`` for the ``j``-th unseen one).
    n_unseen : int
        World groups the fit never saw.
    pooled_pmf : numpy.ndarray
        ``(D, budget + 2)`` pooled law of future recruits, tail last.
    offspring : object or None
        The fitted offspring law (``InheritanceOffspring``).
    known_levels : dict
        Per field the boolean mask of levels the offspring law knows.
    notes : list of str
    seed : int
        Seed of the effects of unseen groups.
    """

    coding: Coding
    family: Any
    draws: Any
    base: np.ndarray
    level_rows: list[tuple[int, np.ndarray]]
    slopes: list[tuple[int, np.ndarray]]
    group_index: np.ndarray | None
    n_unseen: int
    pooled_pmf: np.ndarray
    offspring: Any = None
    known_levels: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seed: int = 0

    @property
    def n_samples(self) -> int:
        """Posterior samples ``D``."""
        return int(self.draws.n)

    def design(self, cohort: Cohort) -> np.ndarray:
        """``(n, q)`` design rows of the cohort."""
        rows = np.broadcast_to(self.base, (len(cohort), self.base.size)).copy()
        for f, table in self.level_rows:
            rows += table[cohort.codes[:, f]]
        for g, slope in self.slopes:
            rows += cohort.numeric[:, g, None] * slope[None, :]
        return rows

    def eta(self, cohort: Cohort) -> np.ndarray:
        """``(D, n)`` log means."""
        from rdsmodel.count.predict import linear_predictor

        if self.group_index is None:
            group = np.zeros(len(cohort), dtype=np.int64)
        else:
            group = self.group_index[cohort.group]
        rng = np.random.default_rng(self.seed) if self.n_unseen else None
        return linear_predictor(
            self.draws, self.design(cohort), group, n_unseen=self.n_unseen, rng=rng
        )

    def survival(self, cohort: Cohort, length: int) -> np.ndarray:
        """``(D, n, L)`` survival curves."""
        from rdsmodel.count.predict import survival_array

        return survival_array(self.family, self.draws, self.eta(cohort), int(length))

    def pmf(self, cohort: Cohort, max_count: int) -> np.ndarray:
        """``(D, n, max_count + 1)`` capacity laws, tail last."""
        from rdsmodel.count.predict import pmf_array

        return pmf_array(self.family, self.draws, self.eta(cohort), int(max_count), tail=True)

    def frontier_frame(self, view: RoundView) -> pd.DataFrame:
        """The frontier's covariates for the offspring law (levels it does not know as missing)."""
        frame = view.frame
        for name, known in self.known_levels.items():
            if not known.all():
                codes = view.cohort.codes[:, self.coding.field_index(name)]
                frame[name] = frame[name].where(known[codes])
        return frame

    def inputs(self, view: RoundView, budget: int) -> PlanningInputs:
        """The frontier's posterior curves, the pooled law, the offspring law and covariates."""
        length = choose_truncation(budget, view.person_cap)
        return PlanningInputs.from_arrays(
            self.survival(view.cohort, length),
            caps=min(view.person_cap, length),
            pooled_pmf=self.pooled_pmf,
            offspring=self.offspring,
            frontier=self.frontier_frame(view) if self.offspring is not None else None,
            provenance=_provenance(view),
        )

    def frame_capacity(self, groups: np.ndarray | None = None) -> FrameCapacity:
        """This law for the rollout engine (tables in, pmfs out)."""
        return FrameCapacity(self, groups)


def _provenance(view: RoundView) -> dict[str, Any]:
    out: dict[str, Any] = {"round": view.round}
    if view.capacity is not None:
        out["capacities"] = tuple(int(c) for c in view.capacity)
    return out


def _lenient_codes(values: pd.Series, levels: tuple[str, ...]) -> np.ndarray:
    """Codes of ``values`` among ``levels``; ``-1`` for missing or unknown values."""
    return pd.Index(list(levels)).get_indexer(values.astype("string").astype(object).to_numpy())


@dataclass(frozen=True, eq=False)
class FrameCapacity:
    """A :class:`FittedLaws` capacity law on covariate tables (for :mod:`planning.rollout`).

    ``pmf(frame, max_count, sample=None)``: the posterior-mean law
    (``sample=None``) or sample ``sample``'s. Unknown or missing levels count
    as the reference level; rows without a site get the mixture over the
    pilot's sites, weighted by ``groups`` (counts per world group).
    """

    laws: FittedLaws
    groups: np.ndarray | None = None

    def _cohort(self, frame: pd.DataFrame, group: np.ndarray | None) -> Cohort:
        coding = self.laws.coding
        codes = np.zeros((len(frame), len(coding.categorical)), dtype=np.int64)
        for f, name in enumerate(coding.categorical):
            if name in frame.columns:
                c = _lenient_codes(frame[name], coding.levels[f])
                codes[:, f] = np.where(c < 0, 0, c)
        numeric = np.zeros((len(frame), len(coding.numeric)))
        for g, name in enumerate(coding.numeric):
            if name in frame.columns:
                numeric[:, g] = (
                    pd.to_numeric(frame[name], errors="coerce").fillna(0.0).to_numpy(dtype=float)
                )
        return Cohort(codes, numeric, group)

    def pmf(self, frame: Any, max_count: int, sample: int | None = None) -> np.ndarray:
        """``(rows, max_count + 1)`` laws, tail last."""
        coding = self.laws.coding
        n = frame if isinstance(frame, int | np.integer) else len(frame)
        if isinstance(frame, int | np.integer):
            frame = pd.DataFrame(index=pd.RangeIndex(int(n)))
        pick = (
            (lambda p: p.mean(axis=0))
            if sample is None
            else (lambda p: p[int(sample) % p.shape[0]])
        )
        if coding.groups is None:
            return pick(self.laws.pmf(self._cohort(frame, None), max_count))
        if coding.group_column in frame.columns:
            group = _lenient_codes(frame[coding.group_column], coding.groups)
            return pick(self.laws.pmf(self._cohort(frame, np.maximum(group, 0)), max_count))
        weights = (
            np.ones(len(coding.groups))
            if self.groups is None
            else np.asarray(self.groups, dtype=float)
        )
        weights = weights / weights.sum()
        out = np.zeros((int(n), int(max_count) + 1))
        for g, w in enumerate(weights):
            if w > 0:
                out += w * pick(self.laws.pmf(self._cohort(frame, np.full(int(n), g)), max_count))
        return out


@dataclass(frozen=True, eq=False)
class GroupMixture:
    """A world capacity law for tables that may lack the site column: the mixture over sites.

    The rollout engine drops the site of recruits; the true law of a recruit
    of unknown site is the average over the sites (weights ``weights``).
    """

    law: Any
    groups: tuple[str, ...]
    column: str = "group"
    weights: tuple[float, ...] | None = None

    def pmf(self, frame: Any, max_count: int) -> np.ndarray:
        """``(rows, max_count + 1)`` laws, tail last."""
        if isinstance(frame, int | np.integer):
            frame = pd.DataFrame(index=pd.RangeIndex(int(frame)))
        if self.column in frame.columns:
            return self.law.pmf(frame, max_count)
        w = (
            np.ones(len(self.groups))
            if self.weights is None
            else np.asarray(self.weights, dtype=float)
        )
        w = w / w.sum()
        out = np.zeros((len(frame), int(max_count) + 1))
        for g, weight in zip(self.groups, w, strict=True):
            with_group = frame.assign(
                **{self.column: pd.Categorical([g] * len(frame), categories=list(self.groups))}
            )
            out += weight * self.law.pmf(with_group, max_count)
        return out


def _probe_rows(design: Any, coding: Coding, notes: list[str]):
    """Design rows of the base person, of every level of every categorical covariate, per numeric unit."""
    if design.wave is not None:
        raise PlanningError(
            "evaluation cannot plan with a wave effect (recruits' waves change every round); "
            "fit the pilot without it"
        )
    unknown = [c for c in design.covariates if c not in coding.columns]
    if unknown:
        raise PlanningError(f"the count model uses covariate(s) {unknown} the world does not have")
    base = {}
    for name in design.covariates:
        base[name] = design.reference[name] if design.kinds[name] == "categorical" else 0.0
    probes = [dict(base)]
    where: list[tuple[str, Any]] = [("base", None)]
    for name in design.covariates:
        if design.kinds[name] == "categorical":
            for level in design.levels[name]:
                probes.append({**base, name: level})
                where.append((name, level))
        else:
            probes.append({**base, name: 1.0})
            where.append((name, None))
    table = pd.DataFrame(probes)
    rows = np.asarray(design.matrix(table, id_column=None), dtype=float)
    base_row = rows[0]
    level_rows, slopes = [], []
    for name in design.covariates:
        if design.kinds[name] == "categorical":
            f = coding.field_index(name)
            table_f = np.zeros((len(coding.levels[f]), base_row.size))
            known = design.levels[name]
            for k, level in enumerate(coding.levels[f]):
                if level in known:
                    table_f[k] = rows[where.index((name, level))] - base_row
            missing = [lv for lv in coding.levels[f] if lv not in known]
            if missing:
                notes.append(
                    f"capacity model: level(s) {missing} of {name} never seen in the pilot; "
                    "planned as the reference level"
                )
            level_rows.append((f, table_f))
        else:
            slopes.append((coding.numeric.index(name), rows[where.index((name, None))] - base_row))
    return base_row, level_rows, slopes


def fitted_laws(
    fit: Any, coding: Coding, *, budget: int, samples: int = 32, seed: int = 0
) -> FittedLaws:
    """Precompute a fitted study's laws for fast episodes.

    Parameters
    ----------
    fit : planning.app.workflows.FittedStudy
        The pilot's count model (and covariate model, if any).
    coding : Coding
        The world's coding (field names and levels as in the pilot's table).
    budget : int
        The episodes' budget (the pooled law's support is ``0..budget + 1``).
    samples : int
        Posterior samples used (evenly spaced; at most what the fit holds).
    seed : int
        Seed of the effects of sites the fit never saw.
    """
    from rdsmodel.count.predict import Draws

    count = fit.count
    posterior = count.idata.posterior
    used = min(int(samples), int(posterior.sizes["chain"] * posterior.sizes["draw"]))
    draws = Draws.from_dataset(posterior, n_terms=len(count.design.terms), samples=used)
    notes: list[str] = []
    base, level_rows, slopes = _probe_rows(count.design, coding, notes)
    group_index, n_unseen = None, 0
    if count.design.groups is not None:
        if coding.groups is None:
            raise PlanningError("the count model has site effects but the world has no sites")
        known = list(count.design.groups)
        unseen = [g for g in coding.groups if g not in known]
        group_index = np.array(
            [known.index(g) if g in known else -1 - unseen.index(g) for g in coding.groups],
            dtype=np.int64,
        )
        n_unseen = len(unseen)
        if unseen:
            notes.append(
                f"capacity model: site(s) {unseen} not in the pilot; their effects are drawn"
            )
    pooled = np.asarray(
        count.population_pmf(max_count=int(budget) + 1, samples=used, tail=True).values
    )
    offspring, known_levels = None, {}
    if fit.covariate is not None:
        offspring = fit.covariate.offspring()
        for spec in offspring.fields:
            if spec.is_categorical and spec.name in coding.categorical:
                levels = coding.levels[coding.field_index(spec.name)]
                mask = np.array([lv in spec.levels for lv in levels])
                known_levels[spec.name] = mask
                if not mask.all():
                    notes.append(
                        f"offspring model: level(s) {[lv for lv, k in zip(levels, mask, strict=True) if not k]} "
                        f"of {spec.name} never seen in the pilot; planned as missing"
                    )
    return FittedLaws(
        coding=coding,
        family=count.family,
        draws=draws,
        base=base,
        level_rows=level_rows,
        slopes=slopes,
        group_index=group_index,
        n_unseen=n_unseen,
        pooled_pmf=pooled,
        offspring=offspring,
        known_levels=known_levels,
        notes=notes,
        seed=int(seed),
    )
