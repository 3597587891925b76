"""Sufficient statistics of recruiter-recruit pairs: transition counts and moments.

The inheritance likelihood of a categorical field only needs counts. With
``N[p, c]`` the number of pairs whose recruiter is at level ``p`` and recruit at
level ``c`` (both observed),

.. math::

    \\sum_{\\text{pairs}} \\log P(c \\mid p)
      = \\sum_{p, c} N[p, c] \\, \\log\\big(\\rho_p 1[c = p] + (1 - \\rho_p)\\, \\pi(c)\\big)
      = \\sum_c D_c \\log(\\rho_c + (1-\\rho_c)\\pi(c))
        + \\sum_p R_p \\log(1 - \\rho_p) + \\sum_c C_c \\log \\pi(c),

with ``D`` the diagonal of ``N``, ``R`` and ``C`` the row and column sums of its
off-diagonal part (``rho_p = rho`` unless ``rho`` varies by recruiter level).
A pair whose recruiter value is missing contributes ``log m(c)`` with
``m(c) = sum_p pi(p) P(c | p)`` (the recruiter's level marginalised over the
population law ``pi``; ``m = pi`` when ``rho`` does not vary by level), counted
in ``M[c]``. A pair whose recruit value is missing contributes nothing for that
field. So a study of any size costs ``O(K^2)`` per field.

A numeric field is a normal regression ``z' = a + b z + s eps`` on the
standardised modelling scale; its likelihood needs the six moments
``n, sum z, sum z', sum z^2, sum z z', sum z'^2`` (and ``n, sum z', sum z'^2``
over pairs with a missing recruiter value, which follow ``N(a, sqrt(s^2 + b^2))``
since the standardisation uses the population moments).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .fields import FieldSpec, category_codes

__all__ = [
    "AUTO_MAX_LEVELS",
    "AUTO_MIN_RECRUITS",
    "CategoricalCounts",
    "EncodedPairs",
    "NumericMoments",
    "choose_matrix_fields",
    "draw_transition_posterior",
    "encode_pairs",
    "matrix_prior",
    "missing_report",
]

#: ``transitions="auto"``: a categorical field gets the full matrix when it has at most this many levels ...
AUTO_MAX_LEVELS = 5
#: ... and at least this many fully observed pairs per level (``pairs >= AUTO_MIN_RECRUITS * K``).
AUTO_MIN_RECRUITS = 10


@dataclass(frozen=True)
class EncodedPairs:
    """Recruiter-recruit pairs as arrays.

    Attributes
    ----------
    parent_codes, recruit_codes : ndarray of int64, shape (pairs, categorical fields)
        Level codes, ``-1`` for a missing value (with ``missing="level"`` the
        missing level's code instead).
    parent_values, recruit_values : ndarray of float64, shape (pairs, numeric fields)
        Values on the modelling scale (log or identity), ``nan`` when missing.
    recruit_raw : ndarray of float64, shape (pairs, numeric fields)
        Recruit values on the original scale (for the log-scale Jacobian).
    """

    parent_codes: np.ndarray
    recruit_codes: np.ndarray
    parent_values: np.ndarray
    recruit_values: np.ndarray
    recruit_raw: np.ndarray

    @property
    def n_pairs(self) -> int:
        """int: number of pairs."""
        return int(
            self.parent_codes.shape[0] if self.parent_codes.size else self.parent_values.shape[0]
        )


def encode_frame(
    frame: pd.DataFrame, specs: Sequence[FieldSpec]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encode the modelled covariates of one frame.

    Returns
    -------
    codes : ndarray of int64, shape (rows, categorical fields)
    values : ndarray of float64, shape (rows, numeric fields), modelling scale
    raw : ndarray of float64, shape (rows, numeric fields), original scale
    """
    n = len(frame)
    cat = [s for s in specs if s.is_categorical]
    num = [s for s in specs if not s.is_categorical]
    missing = [s.name for s in specs if s.name not in frame.columns]
    if missing:
        raise ValueError(f"covariate column(s) {missing} are missing from the frame")
    codes = np.empty((n, len(cat)), dtype=np.int64)
    for k, spec in enumerate(cat):
        codes[:, k] = category_codes(frame[spec.name], spec)
    raw = np.empty((n, len(num)), dtype=float)
    values = np.empty((n, len(num)), dtype=float)
    for k, spec in enumerate(num):
        x = pd.to_numeric(frame[spec.name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if spec.log and np.any(x[np.isfinite(x)] <= 0):
            raise ValueError(
                f"numeric covariate {spec.name!r} is modelled on the log scale but has values <= 0"
            )
        raw[:, k] = x
        values[:, k] = spec.transform(x)
    return codes, values, raw


def encode_pairs(
    parents: pd.DataFrame, recruits: pd.DataFrame, specs: Sequence[FieldSpec]
) -> EncodedPairs:
    """Encode aligned recruiter and recruit covariate frames (row ``e`` = edge ``e``)."""
    if len(parents) != len(recruits):
        raise ValueError(
            f"parents and recruits must be aligned: {len(parents)} vs {len(recruits)} rows"
        )
    pc, pv, _ = encode_frame(parents, specs)
    rc, rv, rraw = encode_frame(recruits, specs)
    return EncodedPairs(pc, rc, pv, rv, rraw)


def _max_levels(specs: Sequence[FieldSpec]) -> int:
    return max([s.n_levels for s in specs if s.is_categorical], default=1)


@dataclass(frozen=True)
class CategoricalCounts:
    """Transition count tables of the categorical fields.

    Attributes
    ----------
    transitions : ndarray, shape (fields, L, L)
        ``N[f, p, c]``: pairs with recruiter level ``p`` and recruit level ``c``,
        both observed; ``L`` is the largest number of levels (zero padding).
    parent_missing : ndarray, shape (fields, L)
        ``M[f, c]``: recruits at level ``c`` whose recruiter's value is missing.
    """

    transitions: np.ndarray
    parent_missing: np.ndarray

    @classmethod
    def from_pairs(cls, pairs: EncodedPairs, specs: Sequence[FieldSpec]) -> CategoricalCounts:
        """Tabulate the pairs (``np.bincount`` per field: ``O(pairs)``)."""
        cat = [s for s in specs if s.is_categorical]
        L = _max_levels(specs)
        trans = np.zeros((len(cat), L, L))
        pm = np.zeros((len(cat), L))
        for k in range(len(cat)):
            p, c = pairs.parent_codes[:, k], pairs.recruit_codes[:, k]
            both = (p >= 0) & (c >= 0)
            trans[k] = np.bincount(p[both] * L + c[both], minlength=L * L).reshape(L, L)
            only = (p < 0) & (c >= 0)
            pm[k] = np.bincount(c[only], minlength=L)
        return cls(trans, pm)

    @property
    def diagonal(self) -> np.ndarray:
        """ndarray (fields, L): matched pairs by level, ``D``."""
        return np.einsum("fcc->fc", self.transitions)

    @property
    def off_rows(self) -> np.ndarray:
        """ndarray (fields, L): unmatched pairs by recruiter level, ``R``."""
        return self.transitions.sum(axis=2) - self.diagonal

    @property
    def off_columns(self) -> np.ndarray:
        """ndarray (fields, L): unmatched pairs by recruit level, ``C``."""
        return self.transitions.sum(axis=1) - self.diagonal

    def recruiter_level_weights(self, specs: Sequence[FieldSpec]) -> np.ndarray:
        """Share of each recruiter level among fully observed pairs (uniform if none)."""
        rows = self.transitions.sum(axis=2)
        cat = [s for s in specs if s.is_categorical]
        out = np.zeros_like(rows)
        for k, spec in enumerate(cat):
            total = rows[k].sum()
            out[k, : spec.n_levels] = (
                rows[k, : spec.n_levels] / total if total > 0 else 1.0 / spec.n_levels
            )
        return out


@dataclass(frozen=True)
class NumericMoments:
    """Standardised moments of the numeric fields (each an array over fields).

    ``n, sx, sy, sxx, sxy, syy`` over pairs with both values observed;
    ``nm, sym, symm`` over pairs with the recruiter's value missing;
    ``log_jacobian`` the sum over used recruit values of ``-log(scale)`` and, on
    the log scale, ``-log(x')``, so the likelihood is a density on the original
    scale.
    """

    n: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    sxx: np.ndarray
    sxy: np.ndarray
    syy: np.ndarray
    nm: np.ndarray
    sym: np.ndarray
    symm: np.ndarray
    log_jacobian: np.ndarray

    @classmethod
    def from_pairs(cls, pairs: EncodedPairs, specs: Sequence[FieldSpec]) -> NumericMoments:
        """Accumulate the moments of each numeric field."""
        num = [s for s in specs if not s.is_categorical]
        center = np.array([s.center for s in num])
        scale = np.array([s.scale for s in num])
        x = (pairs.parent_values - center) / scale
        y = (pairs.recruit_values - center) / scale
        both = np.isfinite(x) & np.isfinite(y)
        only = ~np.isfinite(x) & np.isfinite(y)
        x0, y0 = np.where(both, x, 0.0), np.where(both, y, 0.0)
        ym = np.where(only, y, 0.0)
        used = both | only
        logs = np.array([s.log for s in num], dtype=bool)
        raw = np.where(used, pairs.recruit_raw, 1.0)
        jac = -(used * np.log(scale)).sum(axis=0) - (np.log(np.where(logs, raw, 1.0))).sum(axis=0)
        return cls(
            n=both.sum(axis=0).astype(float),
            sx=x0.sum(0),
            sy=y0.sum(0),
            sxx=(x0 * x0).sum(0),
            sxy=(x0 * y0).sum(0),
            syy=(y0 * y0).sum(0),
            nm=only.sum(axis=0).astype(float),
            sym=ym.sum(0),
            symm=(ym * ym).sum(0),
            log_jacobian=jac,
        )


def missing_report(
    pairs: EncodedPairs,
    parents: pd.DataFrame,
    recruits: pd.DataFrame,
    specs: Sequence[FieldSpec],
    missing: str,
) -> pd.DataFrame:
    """How many covariate values of the pairs are missing, and what was done.

    Returns
    -------
    pandas.DataFrame
        One row per field: ``field``, ``kind``, ``pairs``, ``recruit_missing``,
        ``recruiter_missing``, ``both_missing``, ``pairs_used`` (pairs
        contributing a likelihood term for the field) and ``treatment``.
    """
    rows = []
    n = len(parents)
    for spec in specs:
        pm = parents[spec.name].isna().to_numpy()
        rm = recruits[spec.name].isna().to_numpy()
        if spec.is_categorical and spec.missing_level:
            treatment = "own level"
            used = n
        elif spec.is_categorical and missing == "level":
            treatment = "none missing"
            used = n
        else:
            treatment = (
                "recruit missing: term dropped; recruiter missing: marginalised over the "
                + ("population level law" if spec.is_categorical else "population normal law")
            )
            used = int((~rm).sum())
        if not (pm.any() or rm.any()):
            treatment = "none missing"
        rows.append(
            {
                "field": spec.name,
                "kind": spec.kind,
                "pairs": n,
                "recruit_missing": int(rm.sum()),
                "recruiter_missing": int(pm.sum()),
                "both_missing": int((pm & rm).sum()),
                "pairs_used": used,
                "treatment": treatment,
            }
        )
    return pd.DataFrame(rows)


# -- full transition matrices (conjugate) ------------------------------------------------------


def matrix_prior(counts: np.ndarray, concentration: float = 1.0) -> np.ndarray:
    r"""Dirichlet prior of each row of a field's transition matrix, shape (K, K).

    Every row gets the same prior, centred on the pooled recruit law and
    worth ``concentration`` recruits:
    :math:`\alpha[p, c] = a_0 \, m(c)`, :math:`m(c) = (N_{\cdot c} + 1) / (N + K)`,
    with :math:`N_{\cdot c}` the observed recruits at level ``c`` (all
    recruiters pooled; the ``+1`` keeps every cell positive).

    Why: a row of ``n`` recruits has posterior mean
    :math:`(a_0 m(c) + N[p, c]) / (a_0 + n)`, so with the default
    :math:`a_0 = 1` an informed row is pulled by one pseudo-recruit only,
    towards what a typical recruit looks like, and a level that (almost)
    never recruited falls back on the pooled recruit law with wide
    uncertainty. A symmetric Dirichlet(1) would add ``K`` uniform
    pseudo-recruits per row, inventing recruits at rare levels.

    Parameters
    ----------
    counts : ndarray, shape (K, K)
        ``N[p, c]`` of the field (both values observed).
    concentration : float
        :math:`a_0 > 0`, the prior's weight in recruits per row.
    """
    counts = np.asarray(counts, dtype=float)
    K = counts.shape[0]
    m = (counts.sum(axis=0) + 1.0) / (counts.sum() + K)
    return np.broadcast_to(float(concentration) * m, (K, K)).copy()


def draw_transition_posterior(
    counts: np.ndarray,
    n_levels: Sequence[int],
    concentration: float,
    rng: np.random.Generator,
    size: int,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact posterior draws of full transition matrices and of the recruiters' level law.

    Row ``p`` of field ``f`` is :math:`T[p, \cdot] \sim
    \text{Dirichlet}(\alpha[p, \cdot] + N[p, \cdot])` (conjugate;
    :func:`matrix_prior`), independently across rows and fields. Only pairs
    with both values observed inform ``T``: a pair whose recruiter value is
    missing (``parent_missing``) or whose recruit value is missing does not.
    The population law of the recruiters' levels, used for a recruiter whose
    value is missing, is :math:`q \sim \text{Dirichlet}(1 + N_{p \cdot})`
    (the recruiter levels of the fully observed pairs, uniform prior).

    Parameters
    ----------
    counts : ndarray, shape (M, L, L)
        Transition counts of the ``M`` matrix fields (zero padding beyond a
        field's levels).
    n_levels : sequence of int
        Levels ``K_f`` of each field.
    concentration : float
        The prior's weight :math:`a_0` (recruits per row).
    rng : numpy.random.Generator
        Drawn field by field, row by row (``Generator.dirichlet``).
    size : int
        Number of draws.

    Returns
    -------
    matrix : ndarray, shape (size, M, L, L)
        ``T[s, f, p, c]``, ``nan`` beyond a field's levels.
    population : ndarray, shape (size, M, L)
        ``q[s, f, p]``, ``nan`` beyond a field's levels.
    """
    counts = np.asarray(counts, dtype=float)
    M, L = counts.shape[0], counts.shape[-1]
    matrix = np.full((size, M, L, L), np.nan)
    population = np.full((size, M, L), np.nan)
    for f, K in enumerate(n_levels):
        N = counts[f, :K, :K]
        alpha = matrix_prior(N, concentration) + N
        for p in range(K):
            matrix[:, f, p, :K] = rng.dirichlet(alpha[p], size=size)
        population[:, f, :K] = rng.dirichlet(1.0 + N.sum(axis=1), size=size)
    return matrix, population


def choose_matrix_fields(
    specs: Sequence[FieldSpec],
    counts: CategoricalCounts,
    transitions: str | Mapping[str, str],
    *,
    latent_classes: int = 0,
) -> list[str]:
    """The categorical fields whose recruit law is a full transition matrix.

    ``"mixture"``: none. ``"matrix"``: every categorical field. A mapping
    ``{field: "matrix" | "mixture"}``: those it marks ``"matrix"``.
    ``"auto"``: a field with ``K <= AUTO_MAX_LEVELS`` levels (a missing level
    counts) and at least ``AUTO_MIN_RECRUITS * K`` pairs with both values
    observed (``AUTO_MIN_RECRUITS`` recruits per recruiter level on
    average), when the model has no latent classes. The rule does not ask
    every recruiter level to have recruits: levels that barely recruit (the
    tunnel world's type C) leave their rows empty in any study, their rows
    then follow the prior (the pooled recruit law), and a level that
    recruits little matters little for what its recruits look like.

    Raises
    ------
    ValueError
        On an unknown setting or field, or matrices asked for with latent classes.
    """
    cat = [s for s in specs if s.is_categorical]
    if isinstance(transitions, Mapping):
        unknown = sorted(set(transitions) - {s.name for s in cat})
        if unknown:
            raise ValueError(f"transitions names unknown or non-categorical field(s) {unknown}")
        bad = sorted({v for v in transitions.values()} - {"matrix", "mixture"})
        if bad:
            raise ValueError(f"per-field transitions must be 'matrix' or 'mixture', got {bad}")
        chosen = [s.name for s in cat if transitions.get(s.name) == "matrix"]
    elif transitions == "mixture":
        chosen = []
    elif transitions == "matrix":
        chosen = [s.name for s in cat]
    elif transitions == "auto":
        if latent_classes:
            return []
        pairs = counts.transitions.sum(axis=(1, 2))
        chosen = [
            s.name
            for k, s in enumerate(cat)
            if s.n_levels <= AUTO_MAX_LEVELS and pairs[k] >= AUTO_MIN_RECRUITS * s.n_levels
        ]
    else:
        raise ValueError(
            f"transitions must be 'mixture', 'matrix', 'auto' or a per-field mapping, got {transitions!r}"
        )
    if chosen and latent_classes:
        raise ValueError(
            "full transition matrices are not available with latent classes; use "
            "transitions='mixture' (or 'auto') or latent_classes=0"
        )
    return chosen
