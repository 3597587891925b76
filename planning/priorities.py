r"""Priority subgroups: what a recruit is worth, and the exact expected worth of a recruiter's recruit.

Field teams rarely want "as many recruits as possible" alone; they want more
of a subgroup that is hard to reach. A :class:`Priority` gives every recruit
a weight ``w(x') >= 0`` from its categorical covariates ``x'`` (1 for everyone
by default). Giving person ``i`` a ``l``-th coupon is then worth

.. math:: S_i(l)\, \bar w_i, \qquad \bar w_i = E[w(X') \mid x_i],

and the planners maximise the weighted recruits ``sum_i w_i sum_{l<=k_i} S_i(l)``
(DESIGN.md, "Planners"). This module computes ``w_i`` **exactly** from the
recruit-covariate law, per posterior sample, with nothing but its Laplace
summary ``offspring.laplace(H, parents, sample) = E[exp(-sum_f H[j, f, X'_f]) | parent]``
(no Monte Carlo, no import of the models).

Two ways to declare priorities
------------------------------
*Per-field factors* (``--priority "SEX=F:3,DRUG=yes:2"``): the weight is a
product over fields, ``w(x') = prod_f a_f(x'_f)``, with ``a_f(c)`` the factor
given to level ``c`` of field ``f`` and 1 for levels not named. Because the
fields enter additively in the exponent, this is one Laplace call with

.. math:: H_{f c} = -\log \frac{a_f(c)}{m_f}, \qquad m_f = \max_c a_f(c),
          \qquad E[w(X') \mid x] = \Big(\prod_f m_f\Big)\, E\big[e^{-\sum_f H_{f X'_f}} \mid x\big],

the scaling by ``m_f`` keeping ``H >= 0`` as the Laplace summary requires;
a factor 0 is ``H = +inf`` (``e^{-H} = 0``), so it is handled exactly.

*A pattern table* (``--priority-file FILE``, :meth:`Priority.from_table`):
rows of ``field = level`` conditions (a blank or ``*`` cell: any level;
``a|b``: either level) mapped to a weight. Overlapping rows are resolved by
the ``rule``:

* ``"first"`` (default): a recruit gets the weight of the **first** row it
  matches, read top to bottom (so put specific rows above general ones); a
  recruit that matches no row has weight ``default`` (1);
* ``"max"``: the largest weight among the rows it matches (``default`` if none).

The table's weight is a function of the recruit's levels of the fields the
table names, so it is constant on each *cell* of those fields (one level of
each). With ``P_c(x)`` the probability that a recruit of ``x`` falls in cell
``c`` (a Laplace summary with ``H = 0`` on the cell's levels and ``+inf``
elsewhere),

.. math:: E[w(X') \mid x] = w_0 + \sum_c \big(w(c) - w_0\big)\, P_c(x),

exact for any overlap rule (``w_0`` the default weight; cells at the default
drop out). Tables may name at most :data:`MAX_CELLS` cells.

Subgroups
---------
A :class:`Pattern` (``SEX=F``, ``SEX=F&DRUG=yes``, ``RACE=black|hispanic``)
is a subgroup of recruits. :func:`subgroup_probabilities` gives
``P(X' in G | x_i)`` per sample exactly (``H = +inf`` outside the allowed
levels), so the expected recruits of a plan in ``G`` are
``sum_i P(X' in G | x_i) sum_{l<=k_i} S_i(l)``. A priority's subgroups
(:attr:`Priority.subgroups`) are the levels it names (per-field factors) or
its rows (tables); plans report expected recruits in each. A :class:`Coverage`
(``--coverage "SEX=F:10"``) asks for at least ``N`` expected recruits in a
subgroup; the robust planner makes it a constraint of its MIP.

Posterior samples
-----------------
The covariate model's posterior is separate from the count model's; planning
sample ``d`` is paired with the offspring law's sample ``d mod D_offspring``,
as GFP's Laplace summaries are (:func:`offspring_samples`). A law without
posterior samples (a simulated world's true law) gives the same weights for
every sample.

Which laws
----------
Anything with ``laplace(H, parents, sample)`` whose field axis can be read
(:func:`law_layout`): the covariate model's
``rdsmodel.covariates.InheritanceOffspring`` (``field_names``,
``level_labels``; every field on the ``H`` axis) and the simulator's
``planning.simulation.offspring.OffspringLaw`` (``categorical``: only its
categorical fields on the ``H`` axis). Priorities name levels of categorical
covariates; numeric covariates are refused with a message saying so.

Examples
--------
>>> p = Priority.parse("SEX=F:3,DRUG=yes:2")
>>> str(p)
'SEX=F:3,DRUG=yes:2'
>>> [g.label for g in p.subgroups]
['SEX=F', 'DRUG=yes']
>>> import pandas as pd
>>> p.weight_of(pd.DataFrame({"SEX": ["F", "M"], "DRUG": ["yes", "no"]})).tolist()
[6.0, 1.0]
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from planning.errors import PlanningError

__all__ = [
    "MAX_CELLS",
    "Coverage",
    "LawLayout",
    "Pattern",
    "Priority",
    "law_layout",
    "offspring_samples",
    "subgroup_probabilities",
]

#: Most cells (combinations of levels of the fields a table names) a pattern table may span.
MAX_CELLS = 4096
#: Words accepted as "any level" in a table cell.
ANY = frozenset({"", "*", "any"})
#: Rules resolving overlapping rows of a pattern table.
RULES = ("first", "max")


# --------------------------------------------------------------------------- the law's field axis
@dataclass(frozen=True)
class LawLayout:
    """The field axis of an offspring law's ``H``, with the levels a priority may name.

    Attributes
    ----------
    names : tuple of str
        Field names in the order of ``H``'s field axis.
    levels : tuple
        Per field its level labels, or ``None`` for a numeric field (binned
        inside the law; its bins are not named by priorities).
    width : int
        Size of ``H``'s level axis.
    other : tuple of str
        Covariates of the law that are not on the ``H`` axis (numeric fields
        of a simulated world's law).
    source : str
        What the fields belong to, as error messages name it ("the covariate
        model", "the tunnel world").
    """

    names: tuple[str, ...]
    levels: tuple[tuple[str, ...] | None, ...]
    width: int
    other: tuple[str, ...] = ()
    source: str = "the covariate model"

    def index(self, name: str, origin: str) -> int:
        """Position of field ``name`` on the ``H`` axis, or a clear error."""
        if name in self.names:
            position = self.names.index(name)
            if self.levels[position] is None:
                raise PlanningError(
                    f"{origin}: {name} is a numeric covariate; priorities and subgroups name levels "
                    "of categorical covariates (make a categorical copy of it, e.g. age groups)"
                )
            return position
        if name in self.other:
            raise PlanningError(
                f"{origin}: {name} is a numeric covariate; priorities and subgroups name levels of "
                "categorical covariates"
            )
        known = [n for n, lv in zip(self.names, self.levels, strict=True) if lv is not None]
        raise PlanningError(
            f"{origin}: unknown covariate {name!r}; {self.source} has "
            + (", ".join(known) if known else "no categorical covariates")
        )

    def level(self, name: str, level: str, origin: str) -> int:
        """Code of ``level`` in field ``name``, or a clear error naming both."""
        levels = self.levels[self.index(name, origin)]
        assert levels is not None
        if level not in levels:
            raise PlanningError(
                f"{origin}: covariate {name} has no level {level!r}; its levels are "
                + ", ".join(levels)
            )
        return levels.index(level)


def law_layout(offspring: Any) -> LawLayout:
    """Read the field axis of an offspring law's ``H`` (see the module docstring).

    Raises
    ------
    planning.errors.PlanningError
        When there is no law (no covariate model) or its levels cannot be read.
    """
    if offspring is None:
        raise PlanningError(
            "priorities and subgroups need the recruit-covariate model: fit the study with "
            "categorical covariates (rdsplan fit fits it when the study has them)"
        )
    if hasattr(offspring, "level_labels") and hasattr(offspring, "field_names"):
        names = tuple(str(n) for n in offspring.field_names)
        specs = list(getattr(offspring, "fields", []))
        labels = list(offspring.level_labels)
        levels = []
        for k in range(len(names)):
            categorical = specs[k].is_categorical if k < len(specs) else True
            levels.append(tuple(str(v) for v in labels[k]) if categorical else None)
        width = int(getattr(offspring, "max_levels", max(len(v) for v in labels)))
        return LawLayout(names, tuple(levels), width)
    if hasattr(offspring, "categorical"):
        cats = list(offspring.categorical)
        names = tuple(str(f.name) for f in cats)
        everyone = [str(n) for n in getattr(offspring, "names", names)]
        width = max([len(f.levels) for f in cats], default=1)
        return LawLayout(
            names,
            tuple(tuple(str(v) for v in f.levels) for f in cats),
            width,
            tuple(n for n in everyone if n not in names),
        )
    raise PlanningError(
        f"the offspring law {type(offspring).__name__} does not name its covariate levels "
        "(field_names and level_labels, or categorical field laws): priorities cannot be checked"
    )


def offspring_samples(offspring: Any, samples: int | Sequence[int] | np.ndarray) -> np.ndarray:
    """Offspring-law sample of each planning sample: ``d mod D_offspring`` (as GFP pairs them)."""
    index = (
        np.arange(int(samples)) if np.ndim(samples) == 0 else np.asarray(samples, dtype=np.int64)
    )
    count = getattr(offspring, "n_samples", None)
    if isinstance(count, int | np.integer) and count > 0:
        index = index % int(count)
    return index


def _laplace(offspring: Any, H: np.ndarray, frontier: Any, samples: Any) -> np.ndarray:
    """``offspring.laplace`` as ``(sample, person, J)`` (``(1, person, J)`` for the plug-in law)."""
    index = None if samples is None else offspring_samples(offspring, samples)
    try:
        out = np.asarray(offspring.laplace(H, frontier, index), dtype=np.float64)
    except (KeyError, TypeError, ValueError) as err:
        raise PlanningError(
            f"the recruit-covariate law cannot score these priorities: {err}"
        ) from None
    if out.ndim == 2:
        out = np.broadcast_to(out, (1 if index is None else index.size, *out.shape))
    return np.clip(out, 0.0, None)


# --------------------------------------------------------------------------- subgroups
def _split_levels(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split("|"))


@dataclass(frozen=True)
class Pattern:
    """A subgroup of recruits: for each named categorical field, the levels it allows.

    Attributes
    ----------
    conditions : tuple of (str, tuple of str)
        ``(field, allowed levels)`` pairs; fields not named allow every level.
        An empty pattern is everyone.
    """

    conditions: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        seen = [name for name, _ in self.conditions]
        if len(set(seen)) != len(seen):
            raise PlanningError(f"subgroup {self.label}: a covariate is named twice")

    @classmethod
    def parse(cls, text: str, *, origin: str = "--coverage") -> Pattern:
        """Read ``FIELD=LEVEL`` conditions joined by ``&``; ``LEVEL`` may be ``a|b``.

        Examples
        --------
        >>> Pattern.parse("SEX=F & DRUG=yes|maybe").label
        'SEX=F&DRUG=yes|maybe'
        """
        conditions = []
        for part in str(text).split("&"):
            name, eq, levels = part.partition("=")
            name = name.strip()
            allowed = _split_levels(levels)
            if not eq or not name or any(not v for v in allowed):
                raise PlanningError(
                    f"{origin}: cannot read the subgroup {text.strip()!r}; write FIELD=LEVEL, e.g. "
                    "SEX=F (several conditions joined by &, several levels by |)"
                )
            conditions.append((name, allowed))
        try:
            return cls(tuple(conditions))
        except PlanningError as err:
            raise PlanningError(f"{origin}: {err}") from None

    @property
    def label(self) -> str:
        """Canonical text: ``SEX=F&DRUG=yes``; ``everyone`` for the empty pattern."""
        if not self.conditions:
            return "everyone"
        return "&".join(f"{name}={'|'.join(levels)}" for name, levels in self.conditions)

    def __str__(self) -> str:
        return self.label

    @property
    def fields(self) -> tuple[str, ...]:
        """Fields the pattern names."""
        return tuple(name for name, _ in self.conditions)

    def validate(self, layout: LawLayout, origin: str) -> None:
        """Check every field and level against ``layout`` (clear error naming the bad one)."""
        for name, levels in self.conditions:
            for level in levels:
                layout.level(name, level, origin)

    def indicator(self, layout: LawLayout, origin: str = "subgroup") -> np.ndarray:
        """``H`` row ``(fields, width)``: 0 on allowed levels, ``+inf`` elsewhere."""
        self.validate(layout, origin)
        H = np.zeros((len(layout.names), layout.width))
        for name, levels in self.conditions:
            f = layout.index(name, origin)
            allowed = [layout.level(name, v, origin) for v in levels]
            n_levels = len(layout.levels[f] or ())
            row = np.full(n_levels, np.inf)
            row[allowed] = 0.0
            H[f, :n_levels] = row
        return H

    def matches(self, frame: Any) -> np.ndarray:
        """Whether each row of a covariate table (realised recruits) is in the subgroup."""
        out = np.ones(len(frame), dtype=bool)
        for name, levels in self.conditions:
            if name not in frame.columns:
                raise PlanningError(f"subgroup {self.label}: the table has no column {name!r}")
            values = np.asarray(frame[name].astype("string").fillna("").to_numpy(dtype=object))
            out &= np.isin(values, list(levels))
        return out


def subgroup_probabilities(
    patterns: Sequence[Pattern],
    offspring: Any,
    frontier: Any,
    samples: Any = None,
    *,
    origin: str = "subgroup",
) -> np.ndarray:
    r"""``P(X' in G_j | x_i)`` for every subgroup ``G_j``, exactly (one Laplace call).

    Parameters
    ----------
    patterns
        The subgroups.
    offspring
        Recruit-covariate law (``laplace``).
    frontier
        The recruiters' covariates (what ``laplace`` takes).
    samples
        ``None``: the plug-in law; an int ``D`` or indices: those planning
        samples (paired as :func:`offspring_samples`).
    origin
        Names the flag or argument in error messages.

    Returns
    -------
    numpy.ndarray
        ``(sample, person, subgroup)``; one sample for ``samples=None``.
    """
    layout = law_layout(offspring)
    if not patterns:
        n = len(frontier)
        return np.zeros(
            (1 if samples is None else np.size(offspring_samples(offspring, samples)), n, 0)
        )
    H = np.stack([p.indicator(layout, origin) for p in patterns])
    return np.clip(_laplace(offspring, H, frontier, samples), 0.0, 1.0)


# --------------------------------------------------------------------------- priorities
def _number(text: str, what: str, origin: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise PlanningError(
            f"{origin}: cannot read the weight {text!r} of {what}; write a number >= 0"
        ) from None
    if not math.isfinite(value) or value < 0:
        raise PlanningError(
            f"{origin}: the weight of {what} must be a finite number >= 0, got {text!r}"
        )
    return value


@dataclass(frozen=True)
class _Row:
    pattern: Pattern
    weight: float


@dataclass(frozen=True)
class Priority:
    r"""Recruit weights ``w(x') >= 0`` over categorical covariates (see the module docstring).

    Build with :meth:`parse` (per-field factors), :meth:`factors_of` (the same
    from a mapping) or :meth:`from_table` (a pattern table). Immutable and
    cheap; :meth:`expected_weights` does the work against an offspring law.

    Attributes
    ----------
    kind : {"factors", "table"}
    factors : tuple of (str, tuple of (str, float))
        Per-field factors (``kind="factors"``); levels not named have factor 1.
    rows : tuple
        Pattern rows (``kind="table"``), in order.
    rule : {"first", "max"}
        How overlapping rows combine (tables).
    default : float
        Weight of a recruit no row matches (tables).
    origin : str
        The flag or file the priorities came from (error messages, reports).
    """

    kind: str
    factors: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()
    rows: tuple[_Row, ...] = ()
    rule: str = "first"
    default: float = 1.0
    origin: str = "--priority"

    # ------------------------------------------------------------------ construction
    @classmethod
    def parse(cls, text: str, *, origin: str = "--priority") -> Priority:
        """Per-field factors from ``"FIELD=LEVEL:FACTOR,..."`` (``LEVEL`` may be ``a|b``).

        Raises
        ------
        planning.errors.PlanningError
            Unreadable text, a negative or non-numeric factor, a level named twice.
        """
        entries: dict[str, dict[str, float]] = {}
        items = [item for item in str(text).split(",") if item.strip()]
        if not items:
            raise PlanningError(f'{origin}: no priorities given; write e.g. "SEX=F:3,DRUG=yes:2"')
        for item in items:
            head, colon, weight = item.rpartition(":")
            name, eq, levels = head.partition("=")
            name = name.strip()
            allowed = _split_levels(levels)
            if not colon or not eq or not name or any(not v for v in allowed):
                raise PlanningError(
                    f"{origin}: cannot read {item.strip()!r}; write FIELD=LEVEL:FACTOR, e.g. SEX=F:3 "
                    "(several separated by commas)"
                )
            factor = _number(weight, f"{name}={'|'.join(allowed)}", origin)
            for level in allowed:
                if level in entries.setdefault(name, {}):
                    raise PlanningError(f"{origin}: {name}={level} is given twice")
                entries[name][level] = factor
        return cls.factors_of(entries, origin=origin)

    @classmethod
    def factors_of(
        cls, factors: Mapping[str, Mapping[str, float]], *, origin: str = "--priority"
    ) -> Priority:
        """Per-field factors from ``{field: {level: factor}}`` (levels not named: 1)."""
        items = []
        for name, levels in factors.items():
            pairs = tuple(
                (str(level), _number(value, f"{name}={level}", origin))
                for level, value in levels.items()
            )
            if not pairs:
                continue
            items.append((str(name), pairs))
        return cls(kind="factors", factors=tuple(items), origin=origin)

    @classmethod
    def from_table(
        cls,
        table: Any,
        *,
        rule: str = "first",
        default: float = 1.0,
        weight_column: str = "weight",
        origin: str | None = None,
    ) -> Priority:
        """A pattern table from a CSV file, CSV text or a pandas DataFrame.

        One column per covariate the table conditions on and a ``weight``
        column; each row is a pattern (a blank, ``*`` or ``any`` cell allows
        every level, ``a|b`` either level). Lines starting with ``#`` are
        comments. See the module docstring for ``rule`` and ``default``.

        Raises
        ------
        planning.errors.PlanningError
            Unreadable file, no weight column, a bad weight (naming the row).
        """
        if rule not in RULES:
            raise PlanningError(f"the overlap rule must be one of {', '.join(RULES)}, got {rule!r}")
        if isinstance(table, str | os.PathLike) and not (isinstance(table, str) and "\n" in table):
            origin = origin or f"--priority-file {table}"
            try:
                text = Path(table).read_text(encoding="utf-8-sig")
            except OSError as err:
                raise PlanningError(
                    f"{origin}: cannot read the priority table: {err.strerror or err}"
                ) from None
            records, columns = _read_csv(text, origin)
        elif isinstance(table, str):
            origin = origin or "priority table"
            records, columns = _read_csv(table, origin)
        else:
            origin = origin or "priority table"
            columns = [str(c) for c in table.columns]
            records = [
                [("" if _missing(v) else str(v)) for v in row]
                for row in table.itertuples(index=False, name=None)
            ]
        if weight_column not in columns:
            raise PlanningError(
                f"{origin}: the priority table needs a {weight_column!r} column beside the covariate "
                f"columns; it has {', '.join(columns) or 'none'}"
            )
        if not records:
            raise PlanningError(f"{origin}: the priority table has no rows")
        w_at = columns.index(weight_column)
        fields = [c for c in columns if c != weight_column]
        rows = []
        for number, record in enumerate(records, start=2):
            weight = _number(record[w_at], f"row {number}", origin)
            conditions = []
            for name in fields:
                cell = record[columns.index(name)].strip()
                if cell.lower() in ANY:
                    continue
                conditions.append((name, _split_levels(cell)))
            rows.append(_Row(Pattern(tuple(conditions)), weight))
        default = _number(default, "recruits no row matches", origin)
        return cls(kind="table", rows=tuple(rows), rule=rule, default=default, origin=origin)

    # ------------------------------------------------------------------ description
    @property
    def subgroups(self) -> tuple[Pattern, ...]:
        """The subgroups plans report: each level given a factor other than 1, or each row."""
        if self.kind == "factors":
            return tuple(
                Pattern(((name, (level,)),))
                for name, pairs in self.factors
                for level, value in pairs
                if value != 1.0
            )
        out: list[Pattern] = []
        for row in self.rows:
            if row.pattern.conditions and row.pattern not in out:
                out.append(row.pattern)
        return tuple(out)

    @property
    def fields(self) -> tuple[str, ...]:
        """Covariates the priorities name."""
        if self.kind == "factors":
            return tuple(name for name, _ in self.factors)
        names: list[str] = []
        for row in self.rows:
            names += [n for n in row.pattern.fields if n not in names]
        return tuple(names)

    @property
    def max_weight(self) -> float:
        """The largest weight any recruit can have (levels not named count 1)."""
        if self.kind == "factors":
            return float(np.prod([max(1.0, *(v for _, v in pairs)) for _, pairs in self.factors]))
        return float(max([self.default, *(r.weight for r in self.rows)]))

    def __str__(self) -> str:
        if self.kind == "factors":
            return ",".join(
                f"{name}={level}:{value:g}"
                for name, pairs in self.factors
                for level, value in pairs
            )
        rows = "; ".join(f"{r.pattern.label}:{r.weight:g}" for r in self.rows)
        return f"table ({self.rule} match, others {self.default:g}): {rows}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (stored with plans and evaluation results)."""
        if self.kind == "factors":
            return {
                "kind": "factors",
                "origin": self.origin,
                "factors": {name: dict(pairs) for name, pairs in self.factors},
            }
        return {
            "kind": "table",
            "origin": self.origin,
            "rule": self.rule,
            "default": self.default,
            "rows": [{"pattern": r.pattern.label, "weight": r.weight} for r in self.rows],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Priority:
        """Inverse of :meth:`to_dict`."""
        origin = str(data.get("origin", "--priority"))
        if data["kind"] == "factors":
            return cls.factors_of(data["factors"], origin=origin)
        rows = tuple(
            _Row(
                Pattern.parse(r["pattern"], origin=origin)
                if r["pattern"] != "everyone"
                else Pattern(),
                float(r["weight"]),
            )
            for r in data["rows"]
        )
        return cls(
            kind="table",
            rows=rows,
            rule=str(data.get("rule", "first")),
            default=float(data.get("default", 1.0)),
            origin=origin,
        )

    # ------------------------------------------------------------------ checks and weights
    def validate(self, offspring: Any) -> LawLayout:
        """Check every field and level against the law; return its layout.

        Parameters
        ----------
        offspring
            A recruit-covariate law (:func:`law_layout` reads it), or a
            :class:`LawLayout` itself (e.g. a simulated world's fields, checked
            before any model is fitted).

        Raises
        ------
        planning.errors.PlanningError
            Naming the unknown covariate or level (and the ones there are).
        """
        layout = offspring if isinstance(offspring, LawLayout) else law_layout(offspring)
        if self.kind == "factors":
            for name, pairs in self.factors:
                for level, _ in pairs:
                    layout.level(name, level, self.origin)
        else:
            for row in self.rows:
                row.pattern.validate(layout, self.origin)
        return layout

    @property
    def trivial(self) -> bool:
        """Whether every recruit has weight 1 (then the weighted objective is the plain one)."""
        if self.kind == "factors":
            return all(value == 1.0 for _, pairs in self.factors for _, value in pairs)
        return self.default == 1.0 and all(row.weight == 1.0 for row in self.rows)

    def restricted(self, layout: LawLayout) -> tuple[Priority, list[str]]:
        """This priority without the levels ``layout`` does not know, and what was dropped.

        A fitted covariate model knows only the levels its data showed; a
        level it never saw has probability 0 under it, so its factor (or a
        table row that can only match it) changes no expected weight. Fields
        it does not know at all are still refused (:meth:`validate`).

        Returns
        -------
        (Priority, list of str)
            The restricted priority and the ``FIELD=LEVEL`` texts dropped.
        """
        dropped: list[str] = []

        def known(name: str, level: str) -> bool:
            levels = layout.levels[layout.index(name, self.origin)]
            if levels is not None and level in levels:
                return True
            dropped.append(f"{name}={level}")
            return False

        if self.kind == "factors":
            factors = tuple(
                (name, kept)
                for name, pairs in self.factors
                if (kept := tuple((lv, v) for lv, v in pairs if known(name, lv)))
            )
            return Priority(kind="factors", factors=factors, origin=self.origin), dropped
        rows = []
        for row in self.rows:
            conditions = tuple(
                (name, tuple(lv for lv in levels if known(name, lv)))
                for name, levels in row.pattern.conditions
            )
            if all(levels for _, levels in conditions):
                rows.append(_Row(Pattern(conditions), row.weight))
        out = Priority(
            kind="table", rows=tuple(rows), rule=self.rule, default=self.default, origin=self.origin
        )
        return out, sorted(set(dropped), key=dropped.index)

    def pooled_weight(self, offspring: Any, people: Any, samples: Any = None) -> np.ndarray:
        """``(samples,)`` expected weight of a recruit of a pooled respondent: the mean of
        :meth:`expected_weights` over ``people`` (those the pooled capacity law averages over)."""
        return np.asarray(self.expected_weights(offspring, people, samples=samples)).mean(axis=1)

    def expected_weights(self, offspring: Any, frontier: Any, samples: Any = None) -> np.ndarray:
        r"""``E[w(X') | x_i]`` for every frontier member, exactly.

        Parameters
        ----------
        offspring
            Recruit-covariate law with ``laplace(H, parents, sample)``.
        frontier
            The recruiters' covariates (a DataFrame with the law's columns).
        samples
            ``None``: the plug-in (posterior-mean) law, shape ``(person,)``.
            An int ``D`` (or planning-sample indices): ``(D, person)``, planning
            sample ``d`` under offspring sample ``d mod D_offspring``.

        Returns
        -------
        numpy.ndarray
            Non-negative expected weights.
        """
        layout = self.validate(offspring)
        if self.kind == "factors":
            out = self._product(layout, offspring, frontier, samples)
        else:
            out = self._table(layout, offspring, frontier, samples)
        return out[0] if samples is None else out

    def _product(
        self, layout: LawLayout, offspring: Any, frontier: Any, samples: Any
    ) -> np.ndarray:
        H = np.zeros((1, len(layout.names), layout.width))
        scale = 1.0
        for name, pairs in self.factors:
            f = layout.index(name, self.origin)
            n_levels = len(layout.levels[f] or ())
            a = np.ones(n_levels)
            for level, value in pairs:
                a[layout.level(name, level, self.origin)] = value
            top = float(a.max())
            if top == 0.0:  # every level of the field has weight 0: nobody counts
                n = len(frontier)
                count = 1 if samples is None else offspring_samples(offspring, samples).size
                return np.zeros((count, n))
            with np.errstate(divide="ignore"):
                H[0, f, :n_levels] = -np.log(a / top)
            scale *= top
        return scale * _laplace(offspring, H, frontier, samples)[..., 0]

    def cell_weights(
        self, layout: LawLayout
    ) -> tuple[list[tuple[int, ...]], np.ndarray, list[int]]:
        """Cells of the named fields and their weights under the table's rule.

        Returns ``(cells, weights, field positions)``: each cell gives a level
        code per named field (in ``fields`` order).
        """
        names = list(self.fields)
        positions = [layout.index(n, self.origin) for n in names]
        sizes = [len(layout.levels[f] or ()) for f in positions]
        count = int(np.prod(sizes)) if sizes else 1
        if count > MAX_CELLS:
            raise PlanningError(
                f"{self.origin}: the table names {', '.join(names)}, whose level combinations "
                f"number {count} (more than {MAX_CELLS}); name fewer covariates or use per-field "
                "factors (--priority)"
            )
        codes = []
        for row in self.rows:
            allowed = {}
            for name, levels in row.pattern.conditions:
                allowed[name] = {layout.level(name, v, self.origin) for v in levels}
            codes.append((allowed, row.weight))
        cells = list(itertools.product(*[range(k) for k in sizes]))
        weights = np.empty(len(cells))
        for c, cell in enumerate(cells):
            hits = [
                w
                for allowed, w in codes
                if all(cell[names.index(n)] in lv for n, lv in allowed.items())
            ]
            if not hits:
                weights[c] = self.default
            elif self.rule == "first":
                weights[c] = hits[0]
            else:
                weights[c] = max(hits)
        return cells, weights, positions

    def _table(self, layout: LawLayout, offspring: Any, frontier: Any, samples: Any) -> np.ndarray:
        cells, weights, positions = self.cell_weights(layout)
        count = 1 if samples is None else offspring_samples(offspring, samples).size
        base = np.full((count, len(frontier)), self.default)
        used = np.flatnonzero(weights != self.default)
        if used.size == 0:
            return base
        H = np.zeros((used.size, len(layout.names), layout.width))
        for j, c in enumerate(used):
            for f, code in zip(positions, cells[c], strict=True):
                n_levels = len(layout.levels[f] or ())
                H[j, f, :n_levels] = np.inf
                H[j, f, code] = 0.0
        probs = np.clip(_laplace(offspring, H, frontier, samples), 0.0, 1.0)
        return np.maximum(base + probs @ (weights[used] - self.default), 0.0)

    def weight_of(self, recruits: Any) -> np.ndarray:
        """The weight ``w(x')`` of realised recruits (a covariate table), shape ``(rows,)``.

        Levels are compared as text; a missing value matches no named level.
        """
        n = len(recruits)
        if self.kind == "factors":
            out = np.ones(n)
            for name, pairs in self.factors:
                if name not in recruits.columns:
                    raise PlanningError(
                        f"{self.origin}: the recruits' table has no column {name!r}"
                    )
                values = recruits[name].astype("string").fillna("").to_numpy(dtype=object)
                table = dict(pairs)
                out *= np.array([table.get(v, 1.0) for v in values])
            return out
        matched = [row.pattern.matches(recruits) for row in self.rows]
        out = np.full(n, self.default)
        if self.rule == "first":
            done = np.zeros(n, dtype=bool)
            for hit, row in zip(matched, self.rows, strict=True):
                take = hit & ~done
                out[take] = row.weight
                done |= hit
        else:
            best = np.full(n, -np.inf)
            for hit, row in zip(matched, self.rows, strict=True):
                best = np.where(hit, np.maximum(best, row.weight), best)
            out = np.where(np.isfinite(best), best, self.default)
        return out


def _missing(value: Any) -> bool:
    try:
        return (
            value is None
            or (isinstance(value, float) and math.isnan(value))
            or bool(value != value)
        )
    except (TypeError, ValueError):
        return False


def _read_csv(text: str, origin: str) -> tuple[list[list[str]], list[str]]:
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    reader = csv.reader(io.StringIO("\n".join(lines)))
    try:
        rows = [row for row in reader]
    except csv.Error as err:
        raise PlanningError(f"{origin}: cannot read the priority table as CSV: {err}") from None
    if not rows:
        raise PlanningError(f"{origin}: the priority table is empty")
    columns = [c.strip() for c in rows[0]]
    if len(set(columns)) != len(columns):
        raise PlanningError(
            f"{origin}: the priority table names a column twice: {', '.join(columns)}"
        )
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(columns):
            raise PlanningError(
                f"{origin}: row {number} has {len(row)} cells but the header has {len(columns)}"
            )
        out.append([c.strip() for c in row])
    return out, columns


# --------------------------------------------------------------------------- coverage
@dataclass(frozen=True)
class Coverage:
    """ "At least ``minimum`` expected recruits from ``subgroup``" (a robust-MIP constraint).

    Attributes
    ----------
    subgroup : Pattern
    minimum : float
        Expected recruits this round, under the robust planner's risk measure.
    """

    subgroup: Pattern
    minimum: float

    @classmethod
    def parse(
        cls, text: str | Iterable[Any], *, origin: str = "--coverage"
    ) -> tuple[Coverage, ...]:
        """Read ``"SEX=F:10,DRUG=yes&SEX=M:4"``; ``Coverage`` objects pass through."""
        if not isinstance(text, str):
            out = []
            for item in text:
                out.extend(cls.parse(item, origin=origin) if isinstance(item, str) else [item])
            for item in out:
                if not isinstance(item, Coverage):
                    raise PlanningError(f"{origin}: expected text like SEX=F:10, got {item!r}")
            return tuple(out)
        out = []
        for item in [i for i in text.split(",") if i.strip()]:
            head, colon, number = item.rpartition(":")
            if not colon:
                raise PlanningError(
                    f"{origin}: cannot read {item.strip()!r}; write SUBGROUP:N, e.g. SEX=F:10"
                )
            minimum = _number(number, head.strip(), origin)
            out.append(cls(Pattern.parse(head, origin=origin), minimum))
        labels = [c.subgroup.label for c in out]
        if len(set(labels)) != len(labels):
            raise PlanningError(f"{origin}: a subgroup is given twice")
        return tuple(out)

    @property
    def label(self) -> str:
        """``SEX=F``."""
        return self.subgroup.label

    def __str__(self) -> str:
        return f"{self.label}:{self.minimum:g}"
