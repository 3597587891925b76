r"""The design of the log-linear mean: dummies, standardisation, group index.

.. math::
    \log \mu_i = b_0 + \tilde x_i^\top \beta + u_{g(i)} \; (+\ \beta_w \tilde w_i),

where :math:`\tilde x_i` holds, for each categorical covariate, one dummy per
non-reference level and, for each numeric covariate, its standardised value
:math:`(x - \bar x) / s_x`. Every column is then *centred* at its mean over the
fitted respondents, so :math:`b_0` is the log mean capacity of an average
respondent (which decorrelates it from :math:`\beta` and makes its prior easy
to state); the coefficients keep their usual meaning (a dummy's coefficient is
the log rate ratio against the reference level). The reference level of a
categorical covariate is its most frequent level among the fitted respondents
(first in schema order on ties). Levels that the schema knows but no fitted
respondent has keep a coefficient informed by its prior only. With
``wave_effect`` the standardised wave enters as the term ``wave``.

Missing covariate values never stop a fit or a prediction:

* a **categorical** covariate with gaps among the fitted respondents gets a
  level of its own, :data:`MISSING_LEVEL` (``"(missing)"``), with its own
  coefficient (never the reference);
* a **numeric** covariate with gaps among the fitted respondents is imputed
  at its mean (its standardised value is 0) and gets a missing-value
  indicator term ``"name[missing]"``, so the people without a value may differ;
* in a table to predict for (frontier members), a gap in a covariate that had
  none among the fitted respondents is set at the fitted respondents' average
  for that covariate: its centred design columns are 0 (for a categorical
  covariate the dummies take their mean, i.e. the levels' shares). The
  survival curve is then that of a person average on that covariate (on the
  log-mean scale).

:meth:`DesignSpec.missing_counts` reports how many values of each covariate
are missing in a table; the model reports them for the fit and every
prediction.

All constants (levels, references, means, scales, centres, group labels) are
stored with the fit (:meth:`DesignSpec.to_config`) so that new tables can be
encoded after reloading a posterior, without the original data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rdsmodel.errors import ModelError

__all__ = ["MISSING_LEVEL", "DesignSpec"]

#: Level given to missing values of a categorical covariate that has gaps among the fitted respondents.
MISSING_LEVEL = "(missing)"


def _examples(ids: Sequence[Any], k: int = 3) -> str:
    ids = [str(i) for i in ids]
    return ", ".join(ids[:k]) + (", ..." if len(ids) > k else "")


@dataclass
class DesignSpec:
    """Everything needed to turn a table of people into design rows.

    Attributes
    ----------
    covariates : list of str
        Covariate columns used, in order.
    kinds : dict
        ``{covariate: "categorical" | "numeric"}``.
    levels : dict
        ``{categorical covariate: [levels]}`` (all levels the schema allows).
    reference : dict
        ``{categorical covariate: reference level}``.
    numeric : dict
        ``{numeric covariate: [mean, sd]}`` used for standardisation.
    wave : list of float or None
        ``[mean, sd]`` of the wave when the wave effect is on.
    terms : list of str
        Names of the design columns (``"sex[m]"``, ``"age"``, ``"wave"``).
    centers : list of float
        Column means over the fitted respondents (subtracted from every row).
    groups : list of str or None
        Group labels seen in the fit (``None`` when the model has no group effect).
    indicators : list of str
        Numeric covariates with a missing-value indicator term ``"name[missing]"``.
    missing_fit : dict
        ``{covariate: number of missing values among the fitted respondents}`` (nonzero only).
    """

    covariates: list[str]
    kinds: dict[str, str]
    levels: dict[str, list[str]] = field(default_factory=dict)
    reference: dict[str, str] = field(default_factory=dict)
    numeric: dict[str, list[float]] = field(default_factory=dict)
    wave: list[float] | None = None
    terms: list[str] = field(default_factory=list)
    centers: list[float] = field(default_factory=list)
    groups: list[str] | None = None
    indicators: list[str] = field(default_factory=list)
    missing_fit: dict[str, int] = field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def fit(
        cls,
        table: pd.DataFrame,
        *,
        covariates: Sequence[str],
        kinds: Mapping[str, str],
        levels: Mapping[str, Sequence[str]],
        group_column: str | None,
        wave_effect: bool,
    ) -> DesignSpec:
        """Learn the design constants from the fitted respondents' rows.

        Raises
        ------
        ValueError
            If a covariate is constant among the fitted respondents.
        """
        spec = cls(covariates=list(covariates), kinds=dict(kinds))
        n = len(table)
        for name in spec.covariates:
            col = table[name]
            gaps = int(col.isna().sum())
            if gaps:
                spec.missing_fit[name] = gaps
            if kinds[name] == "categorical":
                known = [str(v) for v in levels[name] if str(v) != MISSING_LEVEL]
                counts = col.dropna().astype(str).value_counts()
                seen = [lv for lv in known if counts.get(lv, 0) > 0]
                if not seen or len(seen) + bool(gaps) < 2:
                    raise ModelError(
                        f"covariate {name!r} is constant among the {n} fitted respondents "
                        f"(only level {seen[0] if seen else '?'!r}); leave it out (--capacity-covariates)"
                    )
                ref = max(seen, key=lambda lv: (counts[lv], -known.index(lv)))
                if gaps:
                    known = [*known, MISSING_LEVEL]
                spec.levels[name] = known
                spec.reference[name] = ref
                spec.terms += [f"{name}[{lv}]" for lv in known if lv != ref]
            else:
                values = col.to_numpy(dtype=float, na_value=np.nan)
                observed = values[np.isfinite(values)]
                sd = float(observed.std()) if observed.size else 0.0
                if not sd > 0:
                    raise ModelError(
                        f"covariate {name!r} is constant among the {n} fitted respondents "
                        f"(always {observed[0] if observed.size else float('nan'):g}); leave it out "
                        "(--capacity-covariates)"
                    )
                spec.numeric[name] = [float(observed.mean()), sd]
                spec.terms.append(name)
                if gaps:
                    spec.indicators.append(name)
                    spec.terms.append(f"{name}[missing]")
        if wave_effect:
            wave = table["wave"].to_numpy(dtype=float)
            sd = float(wave.std())
            if not sd > 0:
                raise ModelError(
                    f"wave is constant ({wave[0]:g}) among the {n} fitted respondents; "
                    "a wave effect cannot be estimated (leave out --wave-effect)"
                )
            spec.wave = [float(wave.mean()), sd]
            spec.terms.append("wave")
        if group_column is not None:
            labels = (
                table[group_column].astype(str).where(table[group_column].notna(), MISSING_LEVEL)
            )
            spec.groups = sorted(labels.unique().tolist())
            gaps = int(table[group_column].isna().sum())
            if gaps:
                spec.missing_fit[group_column] = gaps
        raw = spec._raw_matrix(table, check=False)
        spec.centers = raw.mean(axis=0).tolist() if raw.shape[1] else []
        return spec

    # ------------------------------------------------------------------ encoding
    def matrix(self, table: pd.DataFrame, *, id_column: str | None = "id") -> np.ndarray:
        """Centred design matrix ``(len(table), len(terms))`` for any table of people.

        Missing values are handled as the module docstring says (they never raise).

        Raises
        ------
        ValueError
            If a covariate column is absent or a categorical value was never seen by the model.
        """
        raw = self._raw_matrix(table, check=True, id_column=id_column)
        if not raw.shape[1]:
            return raw
        out = raw - np.asarray(self.centers, dtype=float)[None, :]
        # gaps the fit never saw: the fitted respondents' average on that covariate
        for name, cols in self._columns().items():
            if name in self.missing_fit or name not in table.columns:
                continue
            gaps = table[name].isna().to_numpy()
            if gaps.any():
                out[np.ix_(gaps, cols)] = 0.0
        return out

    def _columns(self) -> dict[str, list[int]]:
        """Design columns of each covariate (in :attr:`terms` order)."""
        out: dict[str, list[int]] = {}
        j = 0
        for name in self.covariates:
            k = (
                len(self.levels[name]) - 1
                if self.kinds[name] == "categorical"
                else 1 + (name in self.indicators)
            )
            out[name] = list(range(j, j + k))
            j += k
        return out

    def missing_counts(self, table: pd.DataFrame) -> dict[str, int]:
        """Missing values per covariate of the model in ``table`` (only covariates with gaps)."""
        out = {}
        for name in self.covariates:
            if name in table.columns:
                k = int(table[name].isna().sum())
                if k:
                    out[name] = k
        return out

    def _raw_matrix(
        self, table: pd.DataFrame, *, check: bool, id_column: str | None = "id"
    ) -> np.ndarray:
        n = len(table)
        ids = (
            table[id_column] if id_column and id_column in table.columns else pd.Series(table.index)
        )
        needed = [*self.covariates, *(["wave"] if self.wave is not None else [])]
        absent = [c for c in needed if c not in table.columns]
        if absent:
            raise ModelError(
                f"the table lacks covariate column(s) {', '.join(absent)} the model uses"
            )
        cols = []
        for name in self.covariates:
            col = table[name]
            missing = col.isna().to_numpy()
            if self.kinds[name] == "categorical":
                values = col.astype(str).to_numpy().astype(object)
                values[missing] = MISSING_LEVEL
                known = self.levels[name]
                unseen = ~np.isin(values, known) & ~missing
                if check and unseen.any():
                    bad = sorted(set(values[unseen].tolist()))
                    real = [lv for lv in known if lv != MISSING_LEVEL]
                    raise ModelError(
                        f"covariate {name!r} has level(s) {', '.join(map(repr, bad))} the model never saw "
                        f"(known: {', '.join(real)}), e.g. for {_examples(ids[unseen].tolist())}"
                    )
                for lv in known:
                    if lv != self.reference[name]:
                        cols.append((values == lv).astype(float))
            else:
                mean, sd = self.numeric[name]
                x = col.to_numpy(dtype=float, na_value=np.nan)
                cols.append(np.where(missing, 0.0, (x - mean) / sd))
                if name in self.indicators:
                    cols.append(missing.astype(float))
        if self.wave is not None:
            col = table["wave"]
            if check and col.isna().any():
                raise ModelError("the wave column has missing values")
            cols.append((col.to_numpy(dtype=float) - self.wave[0]) / self.wave[1])
        return np.column_stack(cols) if cols else np.zeros((n, 0))

    def group_index(
        self, table: pd.DataFrame, group_column: str = "group"
    ) -> tuple[np.ndarray, list[str]]:
        """Index of each person's group in :attr:`groups`.

        Returns
        -------
        index : numpy.ndarray of int
            Index into :attr:`groups`; ``-1 - j`` for the ``j``-th unseen label.
        unseen : list of str
            Labels the fit never saw, in order of ``j``. A missing group is the
            fitted group :data:`MISSING_LEVEL` when the fit had people without a
            group, otherwise its own unseen label per person (``"<NA>#row"``).
        """
        if self.groups is None:
            return np.zeros(len(table), dtype=np.int64), []
        if group_column not in table.columns:
            raise ModelError(f"the table lacks the group column {group_column!r} the model uses")
        col = table[group_column]
        labels = col.astype(str).to_numpy(dtype=object)
        missing = col.isna().to_numpy()
        if missing.any():
            if MISSING_LEVEL in self.groups:  # the fit had people without a group: the same group
                labels[missing] = MISSING_LEVEL
            else:
                labels[missing] = np.char.add("<NA>#", np.flatnonzero(missing).astype(str)).astype(
                    object
                )
        index = pd.Index(self.groups).get_indexer(labels).astype(np.int64)
        unseen = index < 0
        new = pd.unique(labels[unseen]).tolist()
        if new:
            index[unseen] = -1 - pd.Index(new).get_indexer(labels[unseen])
        return index, [str(g) for g in new]

    # ------------------------------------------------------------------ persistence
    def to_config(self) -> dict[str, Any]:
        """JSON-able dict of the design constants."""
        return {
            "covariates": list(self.covariates),
            "kinds": dict(self.kinds),
            "levels": {k: list(v) for k, v in self.levels.items()},
            "reference": dict(self.reference),
            "numeric": {k: list(v) for k, v in self.numeric.items()},
            "wave": None if self.wave is None else list(self.wave),
            "terms": list(self.terms),
            "centers": list(self.centers),
            "groups": None if self.groups is None else list(self.groups),
            "indicators": list(self.indicators),
            "missing_fit": dict(self.missing_fit),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DesignSpec:
        """Inverse of :meth:`to_config`."""
        optional = {"indicators": [], "missing_fit": {}}
        return cls(**{k: config.get(k, optional.get(k)) for k in cls.__dataclass_fields__})
