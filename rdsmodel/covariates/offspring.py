"""The offspring model the planners use: recruit covariates given the recruiter's.

Pure numpy/scipy (no PyMC): :mod:`planning` can use it on a saved posterior.
The inheritance law itself (draws, exact Laplace factors) is
:mod:`rdsmodel.laws.inheritance`, shared with the simulator; this class adds
the posterior samples, latent classes, missing values and numeric fields.

Law of a recruit given a recruiter with covariates ``x`` (posterior sample
``s``; fields independent given the recruiter and, with latent classes, given
the recruit's class ``Z'``):

* categorical field ``f``:
  ``P(X'_f = c | x, Z'=z) = rho_{f,x_f} 1[c = x_f] + (1 - rho_{f,x_f}) pi_{z,f}(c)``;
  a missing recruiter value is replaced by the population law
  ``sum_z w_z pi_{z,f}`` (with ``missing="level"`` a missing value is a level);
* categorical field ``f`` with a full transition matrix (``transitions="matrix"``,
  no latent classes): ``P(X'_f = c | x) = T_f[x_f, c]``; a missing recruiter
  value is replaced by the recruiters' population law ``q_f`` (``pi[:, 0, f]``),
  so the recruit's law is ``sum_p q_f(p) T_f[p, c]``;
* numeric field ``g``: ``t(X'_g) ~ N(a_g + b_g t(x_g), sigma_g)`` on the modelling
  scale ``t`` (log when the field is positive); a missing recruiter value gives
  ``N(a_g + b_g m_g, sqrt(sigma_g^2 + b_g^2 v_g))`` with the population mean
  ``m_g`` and variance ``v_g``;
* latent classes: the recruiter's class has law ``q(z | x) ∝ w_z prod_f pi_{z,f}(x_f)``
  (the law of a seed with covariates ``x``: a recruiter's own recruiter is not
  used), and ``P(Z' = z') = rho_Z q(z') + (1 - rho_Z) w_{z'}``.

Laplace summaries (:meth:`InheritanceOffspring.laplace`) are exact:

.. math::

    E\\big[e^{-\\sum_f H_{j f}(X'_f)} \\mid x\\big]
    = \\sum_{z'} P(Z'=z' \\mid x) \\prod_{f \\text{ cat}}
      \\big(\\rho_{f,x_f} e^{-H_{j f x_f}} + (1-\\rho_{f,x_f}) \\sum_c \\pi_{z' f}(c) e^{-H_{jfc}}\\big)
      \\prod_{g \\text{ num}} \\sum_b P(X'_g \\in B_{gb} \\mid x_g) \\, e^{-H_{jgb}} .

A numeric field enters ``H`` through quantile bins ``B_{g0}, ..., B_{g,n-1}``:
the edges are the ``k/n`` quantiles of the field's observed values (stored
with the fit) and the recruit's bin probabilities are differences of the
normal CDF at the edges (on the modelling scale). The formula is exact for a
feature map that is constant within bins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from rdsmodel.laws.inheritance import (
    draw_categorical,
    laplace_matrix,
    laplace_table,
    sample_inheritance,
    sample_transition,
)

from .fields import MISSING_LABEL, FieldSpec, category_codes
from .params import InheritanceParams

__all__ = ["InheritanceOffspring"]

_TINY = 1e-300
_CHUNK_ELEMENTS = 8_000_000
SampleArg = int | Sequence[int] | np.ndarray | str | None


class InheritanceOffspring:
    """Recruit-covariate law built from posterior (or given) parameter arrays.

    Parameters
    ----------
    fields : sequence of FieldSpec
        The modelled fields; the ``fields`` axis of ``H`` follows this order.
    params : InheritanceParams
        Parameter draws (leading ``sample`` axis).
    numeric_bins : int
        Number of quantile bins of each numeric field in :meth:`laplace`,
        :meth:`encode` and :meth:`decode` (fewer when quantiles coincide).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> off = InheritanceOffspring.from_values(
    ...     [FieldSpec.categorical("SEX", ["F", "M"])], rho={"SEX": 0.3}, pi={"SEX": [0.5, 0.5]})
    >>> parents = pd.DataFrame({"SEX": ["F", "M"]})
    >>> H = np.zeros((1, 1, 2)); H[0, 0, 0] = 1.0
    >>> np.round(off.laplace(H, parents), 4)       # E[exp(-1[X' = F])]
    array([[0.5891],
           [0.7788]])
    >>> off.sample(parents, np.array([2, 1]), np.random.default_rng(0)).shape
    (3, 2)
    """

    def __init__(
        self, fields: Sequence[FieldSpec], params: InheritanceParams, *, numeric_bins: int = 5
    ):
        self.fields: list[FieldSpec] = list(fields)
        self.params = params
        self.numeric_bins = int(numeric_bins)
        self._cat = [k for k, s in enumerate(self.fields) if s.is_categorical]
        self._num = [k for k, s in enumerate(self.fields) if not s.is_categorical]
        if params.rho.shape[1] != len(self._cat) or params.intercept.shape[1] != len(self._num):
            raise ValueError(
                "parameter arrays do not match the fields: "
                f"{params.rho.shape[1]} categorical and {params.intercept.shape[1]} numeric "
                f"in the parameters, {len(self._cat)} and {len(self._num)} in the fields"
            )
        self._edges = {k: self.fields[k].bin_edges(self.numeric_bins) for k in self._num}
        self._t_edges = {k: self.fields[k].transform(e) for k, e in self._edges.items()}
        self._mean: InheritanceParams | None = None

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_inference(
        cls, idata: Any, *, config: Mapping[str, Any] | None = None, numeric_bins: int | None = None
    ) -> InheritanceOffspring:
        """Build from a fitted covariate posterior (fresh or reloaded).

        Parameters
        ----------
        idata : arviz.InferenceData
            With the covariate model's ``posterior`` group.
        config : mapping, optional
            The model configuration; read from ``posterior.attrs["rdsplan_config"]`` if omitted.
        numeric_bins : int, optional
            Defaults to the configuration's ``numeric_bins`` (5).
        """
        if config is None:
            raw = idata.posterior.attrs.get("rdsplan_config")
            if raw is None:
                raise ValueError("the posterior carries no configuration; pass config=")
            config = json.loads(raw)
        fields = [FieldSpec.from_dict(f) for f in config["fields"]]
        params = InheritanceParams.from_posterior(idata.posterior, fields)
        bins = numeric_bins if numeric_bins is not None else int(config.get("numeric_bins", 5))
        return cls(fields, params, numeric_bins=bins)

    @classmethod
    def from_values(
        cls,
        fields: Sequence[FieldSpec],
        *,
        rho: Mapping[str, float | Sequence[float]],
        pi: Mapping[str, Sequence[float]] | None = None,
        numeric: Mapping[str, tuple[float, float, float]] | None = None,
        class_weight: Sequence[float] | None = None,
        class_rho: float = 0.0,
        class_pi: Mapping[str, Sequence[Sequence[float]]] | None = None,
        numeric_bins: int = 5,
        transition: Mapping[str, Sequence[Sequence[float]]] | None = None,
    ) -> InheritanceOffspring:
        """Build a single-sample law from given values (simulation, tests, scenarios).

        Parameters
        ----------
        fields : sequence of FieldSpec
        rho : mapping
            Per categorical field a float, or one value per recruiter level.
        pi : mapping, optional
            Per categorical field its level law (default uniform). Ignored for
            fields given in ``class_pi``.
        numeric : mapping, optional
            Per numeric field ``(intercept, slope, sigma)`` on the modelling scale.
        class_weight, class_rho, class_pi : optional
            Latent classes: class law, class persistence and per field a
            ``(Z, K)`` array of class-specific level laws.
        transition : mapping, optional
            Per categorical field a full ``(K, K)`` transition matrix
            ``T[p, c] = P(c | p)`` (rows summing to one), replacing ``rho``
            for that field (``rho`` may then omit it); ``pi`` is then the
            recruiters' population law used for a missing recruiter value
            (default uniform). Not with latent classes.
        """
        cat = [s for s in fields if s.is_categorical]
        num = [s for s in fields if not s.is_categorical]
        L = max([s.n_levels for s in cat], default=1)
        Z = 1 if class_weight is None else len(class_weight)
        r = np.zeros((1, len(cat), L))
        p = np.zeros((1, Z, len(cat), L))
        given = dict(transition or {})
        unknown = sorted(set(given) - {s.name for s in cat})
        if unknown:
            raise ValueError(f"transition names unknown or non-categorical field(s) {unknown}")
        T = np.zeros((1, len(cat), L, L)) if given else None
        for k, spec in enumerate(cat):
            K = spec.n_levels
            if spec.name in given:
                m = np.asarray(given[spec.name], dtype=float)
                if m.shape != (K, K) or (m < 0).any() or not np.allclose(m.sum(axis=1), 1.0):
                    raise ValueError(
                        f"transition[{spec.name!r}] must be a ({K}, {K}) matrix of nonnegative rows "
                        "summing to one"
                    )
                T[0, k, :K, :K] = m
                r[0, k, :K] = np.diag(m)
            else:
                r[0, k, :K] = np.broadcast_to(np.asarray(rho[spec.name], dtype=float), (K,))
            if class_pi is not None and spec.name in class_pi:
                p[0, :, k, :K] = np.asarray(class_pi[spec.name], dtype=float).reshape(Z, K)
            elif pi is not None and spec.name in pi:
                p[0, :, k, :K] = np.asarray(pi[spec.name], dtype=float)
            else:
                p[0, :, k, :K] = 1.0 / K
        reg = (
            np.array([numeric[s.name] for s in num], dtype=float).reshape(len(num), 3)
            if num
            else np.zeros((0, 3))
        )
        params = InheritanceParams(
            rho=r,
            pi=p,
            class_weight=np.ones((1, 1))
            if class_weight is None
            else np.asarray(class_weight, float)[None],
            class_rho=np.array([float(class_rho)]),
            intercept=reg[None, :, 0],
            slope=reg[None, :, 1],
            sigma=reg[None, :, 2],
            transition=T,
            matrix_fields=tuple(k for k, s in enumerate(cat) if s.name in given),
        )
        return cls(fields, params, numeric_bins=numeric_bins)

    # -- description -------------------------------------------------------------------------
    @property
    def field_names(self) -> list[str]:
        """list of str: field names, the order of the ``fields`` axis of ``H``."""
        return [s.name for s in self.fields]

    @property
    def n_samples(self) -> int:
        """int: number of posterior samples."""
        return self.params.n_samples

    @property
    def n_classes(self) -> int:
        """int: number of latent classes (1 without)."""
        return self.params.n_classes

    @property
    def n_levels(self) -> list[int]:
        """list of int: levels of each field (numeric: number of bins)."""
        return [
            s.n_levels if s.is_categorical else len(self._edges[k]) + 1
            for k, s in enumerate(self.fields)
        ]

    @property
    def max_levels(self) -> int:
        """int: the ``levels`` size ``H`` must have at least."""
        return max(self.n_levels)

    @property
    def level_labels(self) -> list[list[str]]:
        """Labels of the levels (numeric fields: their bins) of each field."""
        out = []
        for k, s in enumerate(self.fields):
            if s.is_categorical:
                out.append(list(s.levels))
            else:
                e = [f"{v:.4g}" for v in self._edges[k]]
                if not e:
                    out.append(["all"])
                    continue
                out.append([f"<{e[0]}", *[f"[{a}, {b})" for a, b in pairwise(e)], f">={e[-1]}"])
        return out

    # -- encoding ----------------------------------------------------------------------------
    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Integer codes of a covariate frame, shape (rows, fields).

        Categorical values map to their level code, numeric values to their
        quantile bin; missing values to ``-1`` (or the missing level's code).
        """
        out = np.empty((len(frame), len(self.fields)), dtype=np.int64)
        for k, s in enumerate(self.fields):
            if s.name not in frame.columns:
                raise ValueError(f"covariate column {s.name!r} is missing from the frame")
            if s.is_categorical:
                out[:, k] = category_codes(frame[s.name], s)
            else:
                x = pd.to_numeric(frame[s.name], errors="coerce").to_numpy(
                    dtype=float, na_value=np.nan
                )
                out[:, k] = np.where(
                    np.isnan(x), -1, np.searchsorted(self._edges[k], x, side="right")
                )
        return out

    def decode(self, codes: np.ndarray) -> pd.DataFrame:
        """Labels of integer codes (inverse of :meth:`encode`; numeric fields give bin labels)."""
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != len(self.fields):
            raise ValueError(f"codes must have shape (rows, {len(self.fields)}), got {codes.shape}")
        cols = {}
        for k, labels in enumerate(self.level_labels):
            lab = np.array([*labels, None], dtype=object)
            c = codes[:, k]
            if np.any(c >= len(labels)):
                raise ValueError(
                    f"field {self.fields[k].name!r}: codes must be below {len(labels)}"
                )
            values = lab[np.where(c < 0, len(labels), c)]
            values[values == MISSING_LABEL] = None
            cols[self.fields[k].name] = pd.array(values, dtype="string")
        return pd.DataFrame(cols)

    def _parent_arrays(self, parents: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(parents, pd.DataFrame):
            raise TypeError(
                f"parents must be a pandas DataFrame of covariates, got {type(parents).__name__}"
            )
        codes = np.empty((len(parents), len(self._cat)), dtype=np.int64)
        values = np.empty((len(parents), len(self._num)))
        for j, k in enumerate(self._cat):
            s = self.fields[k]
            if s.name not in parents.columns:
                raise ValueError(f"parents lack the covariate column {s.name!r}")
            codes[:, j] = category_codes(parents[s.name], s)
        for j, k in enumerate(self._num):
            s = self.fields[k]
            if s.name not in parents.columns:
                raise ValueError(f"parents lack the covariate column {s.name!r}")
            x = pd.to_numeric(parents[s.name], errors="coerce").to_numpy(
                dtype=float, na_value=np.nan
            )
            values[:, j] = s.transform(x)
        return codes, values

    # -- posterior samples ---------------------------------------------------------------------
    def _select(self, sample: SampleArg) -> tuple[InheritanceParams, bool]:
        if sample is None:
            if self._mean is None:
                self._mean = self.params.mean()
            return self._mean, True
        if isinstance(sample, str):
            if sample != "all":
                raise ValueError(
                    f"sample must be None, an int, an array of ints or 'all', got {sample!r}"
                )
            return self.params, False
        idx = np.asarray(sample)
        if idx.dtype.kind not in "iu":
            raise ValueError(f"sample must be integer posterior sample indices, got {sample!r}")
        if np.any((idx < 0) | (idx >= self.n_samples)):
            raise ValueError(
                f"sample index out of range: the posterior has {self.n_samples} samples"
            )
        if idx.ndim == 0:
            return self.params.take([int(idx)]), True
        return self.params.take(idx.ravel()), False

    def class_probabilities(self, parents: pd.DataFrame, sample: SampleArg = None) -> np.ndarray:
        """Law of each recruiter's latent class given its covariates, ``q(z | x)``.

        Returns an array (person, Z) for a single sample or (sample, person, Z).
        """
        P, single = self._select(sample)
        codes, _ = self._parent_arrays(parents)
        q = self._class_q(P, codes)
        return q[0] if single else q

    @staticmethod
    def _onehot(codes: np.ndarray, width: int) -> np.ndarray:
        """(rows, F * width) indicator of ``f * width + code`` (code -1 -> slot ``width - 1``)."""
        n, F = codes.shape
        out = np.zeros((n, F * width))
        cols = np.arange(F) * width + np.where(codes < 0, width - 1, codes)
        out[np.arange(n)[:, None], cols] = 1.0
        return out

    def _class_q(self, P: InheritanceParams, codes: np.ndarray) -> np.ndarray:
        S, Z, F, L = P.pi.shape
        logpi = np.zeros((S, Z, F, L + 1))
        logpi[..., :L] = np.log(np.maximum(P.pi, _TINY))
        table = logpi.transpose(2, 3, 0, 1).reshape(F * (L + 1), S * Z)
        logq = (self._onehot(codes, L + 1) @ table).reshape(len(codes), S, Z).transpose(1, 0, 2)
        logq = logq + np.log(np.maximum(P.class_weight, _TINY))[:, None, :]
        logq -= logq.max(axis=2, keepdims=True)
        q = np.exp(logq)
        return q / q.sum(axis=2, keepdims=True)

    def _child_class(self, P: InheritanceParams, q: np.ndarray) -> np.ndarray:
        """(S, person, Z): law of the recruit's class."""
        return (
            P.class_rho[:, None, None] * q
            + (1.0 - P.class_rho)[:, None, None] * P.class_weight[:, None, :]
        )

    # -- the protocol --------------------------------------------------------------------------
    def laplace(
        self,
        H: np.ndarray,
        parents: pd.DataFrame,
        sample: SampleArg = None,
        class_probs: np.ndarray | None = None,
    ) -> np.ndarray:
        """Exact Laplace summaries ``E[exp(-sum_f H[j, f, X'_f]) | parent]``.

        Parameters
        ----------
        H : ndarray, shape (J, fields, levels)
            Nonnegative feature weights; ``levels >= max_levels``, entries
            beyond a field's levels (or bins) are ignored.
        parents : pandas.DataFrame
            Recruiters' covariates (columns named as the fields).
        sample : None, int, array of int or "all"
            ``None``: the posterior-mean parameters; an int: that posterior
            sample; an array or ``"all"``: several samples.
        class_probs : ndarray, optional
            Latent classes: the recruiters' class laws, (person, Z) or
            (sample, person, Z), instead of ``q(z | x)``.

        Returns
        -------
        ndarray
            (person, J) for ``None`` or an int, else (sample, person, J).
        """
        H = np.asarray(H, dtype=float)
        F = len(self.fields)
        if H.ndim != 3 or H.shape[1] != F or H.shape[2] < self.max_levels:
            raise ValueError(f"H must have shape (J, {F}, >= {self.max_levels}), got {H.shape}")
        if np.isnan(H).any() or (H < 0).any():
            raise ValueError("H must be nonnegative (and not NaN)")
        P, single = self._select(sample)
        codes, values = self._parent_arrays(parents)
        E = np.exp(-H)
        J, n_par, S, Z = H.shape[0], len(parents), P.n_samples, P.n_classes
        q = None
        if Z > 1:
            q = (
                self._class_q(P, codes)
                if class_probs is None
                else self._given_classes(class_probs, S, n_par, Z)
            )
        # Samples in chunks: intermediates stay near _CHUNK_ELEMENTS floats whatever the number of samples.
        step = max(1, _CHUNK_ELEMENTS // max(1, n_par * J * Z))
        out = np.empty((S, n_par, J))
        for start in range(0, S, step):
            idx = np.arange(start, min(S, start + step))
            out[idx] = self._laplace_chunk(
                P.take(idx), E, codes, values, None if q is None else q[idx]
            )
        return out[0] if single else out

    def _laplace_chunk(
        self,
        P: InheritanceParams,
        E: np.ndarray,
        codes: np.ndarray,
        values: np.ndarray,
        q: np.ndarray | None,
    ) -> np.ndarray:
        """``laplace`` for the samples of ``P``: (S, person, J)."""
        J, n_par, S, Z = E.shape[0], len(codes), P.n_samples, P.n_classes
        log_num = np.zeros((S, n_par, J))
        for j, k in enumerate(self._num):
            probs = self._bin_probabilities(P, j, k, values[:, j])  # (S, n_par, B)
            B = probs.shape[2]
            log_num += np.log(np.maximum(np.einsum("sib,jb->sij", probs, E[:, k, :B]), _TINY))
        if not self._cat:
            return np.exp(log_num)
        L = P.rho.shape[2]
        Ec = E[:, self._cat, :L].transpose(1, 0, 2)  # (F, J, L)
        G = np.empty((S, Z, J, len(self._cat), L + 1))
        # sum_c P(c | p) exp(-H[j, f, c]) per recruiter level p (the law module's exact factor)
        G[..., :L] = laplace_table(P.rho[:, None], P.pi, Ec).transpose(0, 1, 3, 2, 4)
        if P.matrix_fields:  # sum_c T[p, c] exp(-H[j, f, c]) for the matrix fields (Z == 1)
            for f in P.matrix_fields:
                G[:, 0, :, f, :L] = laplace_matrix(P.transition[:, f], Ec[f])  # (S, J, L)
        G[..., L] = np.einsum("sfp,szjfp->szjf", P.population(), G[..., :L])
        logG = np.log(np.maximum(G, _TINY)).transpose(3, 4, 0, 1, 2).reshape(-1, S * Z * J)
        log_cat = (self._onehot(codes, L + 1) @ logG).reshape(n_par, S, Z, J).transpose(1, 2, 0, 3)
        if Z == 1:
            return np.exp(log_cat[:, 0] + log_num)
        r = self._child_class(P, q)  # (S, n_par, Z)
        return np.einsum("siz,szij->sij", r, np.exp(log_cat)) * np.exp(log_num)

    @staticmethod
    def _given_classes(class_probs: np.ndarray, S: int, n_par: int, Z: int) -> np.ndarray:
        q = np.asarray(class_probs, dtype=float)
        if q.shape == (n_par, Z):
            q = np.broadcast_to(q, (S, n_par, Z))
        if q.shape != (S, n_par, Z):
            raise ValueError(
                f"class_probs must have shape ({n_par}, {Z}) or ({S}, {n_par}, {Z}), got {q.shape}"
            )
        return q

    def _regression(
        self, P: InheritanceParams, j: int, k: int, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd (S, n) of the recruit's modelling-scale value for recruiter values ``t``."""
        spec = self.fields[k]
        a, b, s = P.intercept[:, j, None], P.slope[:, j, None], P.sigma[:, j, None]
        miss = np.isnan(t)
        mu = a + b * np.where(miss, spec.pop_mean, t)[None, :]
        sd = np.where(miss[None, :], np.sqrt(s**2 + (b * spec.pop_sd) ** 2), s)
        return mu, sd

    def _bin_probabilities(self, P: InheritanceParams, j: int, k: int, t: np.ndarray) -> np.ndarray:
        mu, sd = self._regression(P, j, k, t)
        cdf = ndtr((self._t_edges[k][None, None, :] - mu[..., None]) / sd[..., None])
        zeros = np.zeros((*cdf.shape[:2], 1))
        return np.diff(np.concatenate([zeros, cdf, zeros + 1.0], axis=2), axis=2)

    def sample(
        self,
        parents: pd.DataFrame,
        n_children: np.ndarray | Sequence[int],
        rng: np.random.Generator | int | None,
        sample: int | None = None,
        *,
        class_probs: np.ndarray | None = None,
        return_classes: bool = False,
    ) -> pd.DataFrame:
        """Draw recruits' covariates.

        Parameters
        ----------
        parents : pandas.DataFrame
            Recruiters' covariates.
        n_children : array of int, shape (person,)
            Recruits to draw for each recruiter.
        rng : numpy.random.Generator or int
        sample : int, optional
            Posterior sample to draw under; posterior-mean parameters if None.
        class_probs : ndarray (person, Z), optional
            Latent classes: the recruiters' class laws (e.g. one-hot true
            classes in a simulation) instead of ``q(z | x)``.
        return_classes : bool
            Latent classes: add a ``class`` column with each recruit's class.

        Returns
        -------
        pandas.DataFrame
            One row per recruit: ``parent`` (position of the recruiter in
            ``parents``) then the fields (categorical as strings, numeric as
            float; missing-level values as ``<NA>``). Children of one
            recruiter share its (drawn) latent class and imputed missing values.
        """
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        if sample is not None and np.ndim(sample) != 0:
            raise ValueError(
                "sample() draws under one posterior sample (an int) or the posterior mean (None)"
            )
        P, _ = self._select(sample)
        n_children = np.asarray(n_children)
        n_par = len(parents)
        if (
            n_children.shape != (n_par,)
            or n_children.dtype.kind not in "iu"
            or np.any(n_children < 0)
        ):
            raise ValueError(f"n_children must be {n_par} nonnegative integers, one per parent")
        codes, values = self._parent_arrays(parents)
        parent = np.repeat(np.arange(n_par), n_children)
        N = parent.size
        Z = P.n_classes
        if Z > 1:
            q = (
                self._class_q(P, codes)[0]
                if class_probs is None
                else self._given_classes(class_probs, 1, n_par, Z)[0]
            )
            z_parent = draw_categorical(q, rng)
            keep = rng.random(N) < P.class_rho[0]
            z_child = np.where(keep, z_parent[parent], draw_categorical(P.class_weight[0], rng, N))
        else:
            z_child = np.zeros(N, dtype=np.int64)
        population = P.population()[0]  # (F, L)
        cols: dict[str, Any] = {"parent": parent}
        for j, k in enumerate(self._cat):
            spec = self.fields[k]
            K = spec.n_levels
            pc = codes[:, j].copy()
            miss = pc < 0
            if miss.any():
                pc[miss] = draw_categorical(population[j, :K], rng, int(miss.sum()))
            if j in P.matrix_fields:
                child = sample_transition(pc[parent], P.transition[0, j, :K, :K], rng)
            else:
                pi = P.pi[0, 0, j, :K] if Z == 1 else P.pi[0, z_child, j, :K]  # (K,) or (N, K)
                child = sample_inheritance(pc[parent], P.rho[0, j, :K], pi, rng)
            labels = np.array(
                [None if v == MISSING_LABEL else v for v in spec.levels], dtype=object
            )
            cols[spec.name] = pd.array(labels[child], dtype="string")
        for j, k in enumerate(self._num):
            spec = self.fields[k]
            t = values[:, j].copy()
            miss = np.isnan(t)
            t[miss] = spec.pop_mean + spec.pop_sd * rng.standard_normal(int(miss.sum()))
            a, b, s = P.intercept[0, j], P.slope[0, j], P.sigma[0, j]
            cols[spec.name] = spec.untransform(a + b * t[parent] + s * rng.standard_normal(N))
        out = pd.DataFrame(cols)
        out = out[["parent", *self.field_names]]
        if return_classes and Z > 1:
            out["class"] = z_child
        return out
