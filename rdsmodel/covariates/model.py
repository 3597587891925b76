"""``CovariateModel``: declare, build, fit, save and reload the recruit-covariate model.

Build, fit and use are separate steps: the constructor only reads the data
into sufficient statistics, :meth:`CovariateModel.build` creates the PyMC
graph, :meth:`CovariateModel.fit` samples and returns (and keeps) the
``InferenceData``, :meth:`CovariateModel.offspring` turns it into the numpy
offspring law the planners use. PyMC is imported only by ``build``/``fit``.

Examples
--------
>>> model = CovariateModel(data, fields=["SEX", "RACE"])          # doctest: +SKIP
>>> idata = model.fit(draws=500, tune=500, chains=2, seed=1)       # doctest: +SKIP
>>> model.save("posterior.covariates.nc")                          # doctest: +SKIP
>>> again = CovariateModel.load("posterior.covariates.nc")         # doctest: +SKIP
>>> again.check_study(data)                                        # doctest: +SKIP
>>> alpha = again.offspring().laplace(H, data.frontier)            # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from rdsmodel import persistence
from rdsmodel.errors import ModelError, StudyMismatchError
from rdsmodel.stored import HoldsPosterior

from .fields import FieldSpec, fields_from_schema
from .offspring import InheritanceOffspring
from .params import InheritanceParams, config_json
from .priors import as_jsonable, merge_priors
from .transitions import (
    CategoricalCounts,
    NumericMoments,
    choose_matrix_fields,
    encode_pairs,
    missing_report,
)
from .tree import RecruitmentForest

__all__ = ["CovariateModel"]

KIND = "covariates"
_REPORT_COLUMNS = (
    "field",
    "kind",
    "pairs",
    "recruit_missing",
    "recruiter_missing",
    "both_missing",
    "pairs_used",
    "treatment",
)


class CovariateModel(HoldsPosterior):
    """Bayesian inheritance (homophily) model of recruit covariates.

    For each categorical field ``f`` with levels ``0..K_f-1``, a recruit of a
    recruiter at level ``p`` is at level ``c`` with probability

    .. math:: P(c \\mid p) = \\rho_f 1[c = p] + (1 - \\rho_f) \\pi_f(c),

    ``rho_f ~ Beta(1, 1)``, ``pi_f ~ Dirichlet(1)`` (defaults, see
    :mod:`rdsmodel.covariates.priors`); numeric fields follow a normal
    regression ``t(x') = a + b t(x) + sigma eps`` on the modelling scale ``t``
    (log when the field is positive). Fields are independent given the
    recruiter unless ``latent_classes > 0``.

    Parameters
    ----------
    data : rdsmodel.data.RecruitmentData
        The study; its recruiter-recruit pairs are the observations.
    fields : sequence of str, optional
        Covariates to model (default: all in the schema).
    rho_by_level : bool
        Let ``rho`` depend on the recruiter's level:
        ``logit rho_{f,p} = mu_f + sigma_f z_{f,p}``, ``z ~ N(0, 1)``.
        The reported ``rho_f`` is then the mean over recruiter levels weighted
        by their share among the fully observed pairs.
    latent_classes : int
        Number of latent community classes carried along referral edges
        (0: none). The recruit keeps the recruiter's class with probability
        ``class_rho`` and otherwise draws it from ``class_weight``; a
        non-inherited level is drawn from the class-specific ``class_pi``.
    priors : mapping, optional
        Overrides of :data:`rdsmodel.covariates.priors.DEFAULT_PRIORS`.
    missing : {"marginalise", "level"}
        Missing categorical values: ``"marginalise"`` drops the field's term
        for a pair whose recruit value is missing and, when the recruiter's
        value is missing, mixes over the recruiter's level with the population
        law; ``"level"`` makes "missing" a level of its own. Numeric missing
        values are always marginalised. See :attr:`missing_report`.
    numeric_bins : int
        Quantile bins per numeric field for the offspring model's ``laplace``.
    transitions : {"mixture", "matrix", "auto"} or mapping
        The recruit law of categorical fields. ``"mixture"`` (default): the
        inheritance mixture above. ``"matrix"``: a full transition matrix
        ``P(c | p) = T[p, c]`` for every categorical field, each row with a
        Dirichlet prior centred on the pooled recruit law and worth
        ``transition_prior`` recruits
        (:func:`rdsmodel.covariates.transitions.matrix_prior`) and drawn from
        its exact conjugate posterior ``Dirichlet(prior + counts)`` with
        numpy, seeded from the fit's seed (no MCMC for ``T``); only pairs
        with both values observed inform ``T``. ``"auto"``: the matrix for
        fields with at most 5 levels and at least 10 fully observed pairs
        per level, the mixture otherwise
        (:func:`rdsmodel.covariates.transitions.choose_matrix_fields`). A
        mapping ``{field: "matrix" | "mixture"}`` chooses per field (others:
        mixture). Not with latent classes (``"auto"`` then keeps the
        mixture). The mixture's ``rho`` and ``pi`` of a matrix field are still
        sampled and kept in the posterior for comparison; the law uses ``T``.
    transition_prior : float
        Weight of the matrix rows' prior, in recruits per row (default 1).

    Attributes
    ----------
    fields : list of FieldSpec
    missing_report : pandas.DataFrame
        Missing covariate values among the pairs, per field, and their treatment.
    idata : arviz.InferenceData or None
        The fit, once :meth:`fit` ran (or after :meth:`load`).
    """

    def __init__(
        self,
        data: Any = None,
        *,
        fields: Sequence[str] | None = None,
        rho_by_level: bool = False,
        latent_classes: int = 0,
        priors: Mapping[str, Mapping[str, float]] | None = None,
        missing: Literal["marginalise", "level"] = "marginalise",
        numeric_bins: int = 5,
        transitions: Literal["mixture", "matrix", "auto"] | Mapping[str, str] = "mixture",
        transition_prior: float = 1.0,
        spec: Mapping[str, Any] | None = None,
    ) -> None:
        if int(latent_classes) != latent_classes or latent_classes < 0 or latent_classes == 1:
            raise ModelError(
                f"latent_classes must be 0 (none) or an integer >= 2, got {latent_classes!r}"
            )
        if int(numeric_bins) != numeric_bins or numeric_bins < 1:
            raise ModelError(f"numeric_bins must be a positive integer, got {numeric_bins!r}")
        if (data is None) == (spec is None):
            raise ModelError(
                "CovariateModel needs the study (data=...) or, to rebuild a saved fit, its spec "
                "(use CovariateModel.load)"
            )
        self.data = data
        self.rho_by_level = bool(rho_by_level)
        self.latent_classes = int(latent_classes)
        self.priors = merge_priors(priors)
        self.missing = missing
        self.numeric_bins = int(numeric_bins)
        if not float(transition_prior) > 0:
            raise ModelError(f"transition_prior must be positive, got {transition_prior!r}")
        self.transitions = (
            dict(transitions) if isinstance(transitions, Mapping) else str(transitions)
        )
        self.transition_prior = float(transition_prior)
        self.matrix_fields: list[str] = []
        self.idata = None
        self.model = None
        self._meta: persistence.PosteriorMeta | None = None
        if data is None:
            self._restore(spec)
            return
        self._reading = getattr(data, "reading", None)
        self._schema = data.schema.to_dict() if hasattr(data.schema, "to_dict") else None
        self.fields: list[FieldSpec] = fields_from_schema(
            data.schema, data.table, fields, missing=missing
        )
        single = [s.name for s in self.fields if s.is_categorical and s.n_levels < 2]
        if single:
            raise ModelError(
                f"categorical field(s) {', '.join(map(repr, single))} have a single level; there is "
                "nothing to model (leave them out with --covariates)"
            )
        parents, recruits = data.pairs()
        if len(parents) == 0:
            raise ModelError(
                f"the study has no recruiter-recruit pairs (all {len(data)} respondents are seeds): the covariate "
                "model needs recruits. Skip it (rdsplan fit --no-covariate-model), or check how recruiters are "
                "read (--recruiter-col, --seed-markers)"
            )
        self.pairs = encode_pairs(parents, recruits, self.fields)
        self.counts = CategoricalCounts.from_pairs(self.pairs, self.fields)
        self.moments = NumericMoments.from_pairs(self.pairs, self.fields)
        self.missing_report: pd.DataFrame = missing_report(
            self.pairs, parents, recruits, self.fields, missing
        )
        self.forest = (
            RecruitmentForest.from_table(data.table, self.fields) if self.latent_classes else None
        )
        if self.forest is not None and len(self.forest.edges) != len(parents):
            raise ModelError(
                f"the table has {len(self.forest.edges)} recruitment edges but data.pairs() "
                f"returned {len(parents)}"
            )
        self._level_weights = self.counts.recruiter_level_weights(self.fields).tolist()
        self._n_pairs = int(self.pairs.n_pairs)
        try:
            self.matrix_fields = choose_matrix_fields(
                self.fields, self.counts, self.transitions, latent_classes=self.latent_classes
            )
        except ValueError as err:
            raise ModelError(str(err)) from None

    def _restore(self, spec: Mapping[str, Any]) -> None:
        """Set what the data would have given from the spec of a saved fit (no pairs: it cannot refit)."""
        self._reading = None
        self._schema = spec.get("schema")
        self.fields = [FieldSpec.from_dict(f) for f in spec["fields"]]
        report = pd.DataFrame(spec.get("missing_report", []))
        self.missing_report = report[[c for c in _REPORT_COLUMNS if c in report.columns]]
        self._level_weights = spec.get("recruiter_level_weights")
        self._n_pairs = spec.get("n_pairs")
        self.matrix_fields = list(spec.get("matrix_fields", []))
        self.pairs = self.counts = self.moments = self.forest = None

    @property
    def spec(self) -> dict[str, Any]:
        """The data-derived part of the model a saved fit needs to be rebuilt without the data."""
        out = {
            "fields": [s.to_dict() for s in self.fields],
            "schema": self._schema,
            "recruiter_level_weights": self._level_weights,
            "n_pairs": self._n_pairs,
            "missing_report": self.missing_report.to_dict("records"),
        }
        if self.matrix_fields:
            out["matrix_fields"] = list(self.matrix_fields)
        return out

    @property
    def init_kwargs(self) -> dict[str, Any]:
        """The constructor arguments (all but the data) that rebuild this model: ``cls(**init_kwargs)``."""
        return {
            "fields": [s.name for s in self.fields],
            "rho_by_level": self.rho_by_level,
            "latent_classes": self.latent_classes,
            "priors": as_jsonable(self.priors),
            "missing": self.missing,
            "numeric_bins": self.numeric_bins,
            "transitions": self.transitions,
            "transition_prior": self.transition_prior,
            "spec": self.spec,
        }

    @property
    def reading(self) -> Any:
        """rdsmodel.data.ReadingOptions or None: how the study was read (None for files of older versions)."""
        return self._reading

    # -- description -----------------------------------------------------------------------------
    @property
    def categorical_fields(self) -> list[str]:
        """list of str: the categorical fields (the posterior's ``field`` dimension)."""
        return [s.name for s in self.fields if s.is_categorical]

    @property
    def numeric_fields(self) -> list[str]:
        """list of str: the numeric fields (the posterior's ``numeric`` dimension)."""
        return [s.name for s in self.fields if not s.is_categorical]

    @property
    def config(self) -> dict[str, Any]:
        """JSON-able configuration stored with the fit (enough to rebuild the offspring model)."""
        return {
            "model": "inheritance",
            "fields": [s.to_dict() for s in self.fields],
            "schema": self._schema,
            "rho_by_level": self.rho_by_level,
            "latent_classes": self.latent_classes,
            "missing": self.missing,
            "numeric_bins": self.numeric_bins,
            "priors": as_jsonable(self.priors),
            "recruiter_level_weights": self._level_weights,
            "n_pairs": self._n_pairs,
            "missing_report": self.missing_report.to_dict("records"),
            **self._matrix_config(),
        }

    def _matrix_config(self) -> dict[str, Any]:
        """The transition settings in the configuration (absent for the default, so it stays as before)."""
        if self.transitions == "mixture" and not self.matrix_fields:
            return {}
        return {
            "transitions": self.transitions,
            "transition_prior": self.transition_prior,
            "matrix_fields": list(self.matrix_fields),
        }

    # -- build and fit -------------------------------------------------------------------------
    def build(self):
        """Create (once) and return the PyMC model."""
        if self.model is None:
            if self.data is None:
                raise RuntimeError(
                    "a reloaded model has no data to build from; construct it from the data"
                )
            from .graph import build_pymc_model

            self.model = build_pymc_model(
                self.fields,
                self.counts,
                self.moments,
                priors=self.priors,
                rho_by_level=self.rho_by_level,
                latent_classes=self.latent_classes,
                level_weights=self.counts.recruiter_level_weights(self.fields),
                forest=self.forest,
            )
        return self.model

    def fit(
        self,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 2,
        seed: int | None = None,
        progressbar: bool = False,
        *,
        sampler: Literal["nutpie", "nutpie-numba", "pymc"] | None = None,
        log_likelihood: bool = True,
        ppc_draws: int | None = None,
    ):
        """Sample the posterior (nutpie when importable, else ``pm.sample``).

        Parameters
        ----------
        draws, tune, chains : int
            Kept draws and tuning steps per chain, and the number of chains.
        seed : int, optional
            Seeds the sampler and the posterior predictive draws.
        progressbar : bool
        sampler : {"nutpie", "nutpie-numba", "pymc"}, optional
            Default: ``"nutpie"`` when importable (nutpie's NUTS on the
            C-compiled log-density: seconds to compile), else ``"pymc"``.
            ``"nutpie-numba"`` compiles with Numba (30 s or more).
        log_likelihood : bool
            Add the ``log_likelihood`` group: per pair (``pair`` dimension,
            ``draws * chains * pairs`` floats) or, with latent classes, per tree.
        ppc_draws : int, optional
            Posterior samples used for the predictive checks (default: all
            without latent classes, 200 with).

        Returns
        -------
        arviz.InferenceData
            ``posterior`` (dims ``field``, ``level``, ``numeric``, ``class``),
            ``sample_stats``, ``log_likelihood``, ``posterior_predictive`` and
            ``observed_data`` (``transitions`` [field, parent_level, level] and
            ``parent_missing`` [field, level] counts). With matrix fields the
            posterior adds ``transition`` [matrix_field, parent_level, level]
            and ``transition_population`` [matrix_field, level], exact
            conjugate draws (one per chain and draw) seeded from ``seed``.
        """
        from .sampling import finish_idata, run_sampler

        model = self.build()
        idata = run_sampler(
            model,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            progressbar=progressbar,
            sampler=sampler,
        )
        self.idata = finish_idata(
            self, idata, seed=seed, log_likelihood=log_likelihood, ppc_draws=ppc_draws
        )
        self._meta = None
        return self.idata

    # -- use ----------------------------------------------------------------------------------
    def _require_fit(self):
        if self.stored is None:
            raise RuntimeError(
                "the covariate model is not fitted yet: call fit() or load a posterior"
            )
        return self.stored

    def offspring(self, numeric_bins: int | None = None) -> InheritanceOffspring:
        """The fitted offspring law (numpy only) for the planners."""
        idata = self._require_fit()
        return InheritanceOffspring.from_inference(
            idata, config=self.config, numeric_bins=numeric_bins
        )

    def parameters(self) -> InheritanceParams:
        """The posterior draws as :class:`InheritanceParams`."""
        return InheritanceParams.from_posterior(self._require_fit().posterior, self.fields)

    def summary(self, hdi_prob: float = 0.94) -> pd.DataFrame:
        """Posterior of ``rho`` per field beside the naive estimate (:func:`homophily_summary`)."""
        from .report import homophily_summary

        self._require_fit()
        return homophily_summary(self.idata, hdi_prob=hdi_prob)

    # -- persistence ----------------------------------------------------------------------------
    def _study(self) -> persistence.StudyRecord:
        if self.data is not None:
            return persistence.study_record(self.data)
        if self._meta is None:
            raise ModelError(
                "this covariate model has no study to record: fit it on data or load a saved fit"
            )
        return self._meta.record

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fit to NetCDF (atomically) with its configuration, constructor arguments and study.

        Raises
        ------
        rdsmodel.errors.ModelError
            If the model is not fitted, or a constructor argument would not be stored.
        """
        self._require_fit()
        idata = self.idata
        init = self.init_kwargs
        persistence.require_init(type(self), init)
        study = self._study()
        return persistence.save_inference(
            idata,
            path,
            kind=KIND,
            config=self.config,
            identity=study.identity,
            state=study.state,
            init=init,
            reading=study.reading,
            columns=study.columns,
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> CovariateModel:
        """Reload a saved fit through the constructor, ``cls(**init)``; no data needed.

        Files written before constructor arguments were stored are rebuilt from
        their configuration. Use :meth:`check_study` before planning on a table.

        Raises
        ------
        rdsmodel.errors.MissingFileError
            If there is no such file.
        rdsmodel.errors.ModelError
            If the file is not a covariate posterior or cannot be rebuilt (refit).
        """
        return persistence.rebuild(cls, path, kind=KIND, legacy_init=_legacy_init)

    def _attach(self, idata: Any, meta: persistence.PosteriorMeta, reading: Any) -> None:
        """Give a model rebuilt by :meth:`load` its posterior and what the file says of its study."""
        self.idata = idata
        self._meta = meta
        self._reading = reading
        idata.posterior.attrs["rdsplan_config"] = config_json(self.config)

    def check_study(self, data: Any) -> list[str]:
        """Check that ``data`` is the study this posterior was fitted on, read the same way.

        Returns the notes on how the study moved on (also warned as
        :class:`rdsmodel.persistence.StudyChangedWarning`).

        Raises
        ------
        rdsmodel.errors.StudyMismatchError
            If the table was read with other options, a modelled field is
            missing or has other levels, or fitted respondents are missing or
            changed; the message names the option or column and what to do.
        """
        meta = self._meta
        if meta is None:
            study = self._study()
            meta = persistence.PosteriorMeta(
                kind=KIND,
                version=persistence.package_version(),
                config=self.config,
                identity=study.identity,
                state=study.state,
                reading=study.reading,
                columns=study.columns,
            )
        persistence.check_reading(meta, data)  # names the flag that differs, before the fields
        self._check_fields(data)
        return persistence.check_table(meta, data, source="the covariate posterior")

    def _check_fields(self, data: Any) -> None:
        schema = {f.name: f for f in data.schema}
        read_with = ",".join(schema) or "''"
        for spec in self.fields:
            if spec.name not in schema:
                raise StudyMismatchError(
                    f"the covariate posterior models {spec.name!r}, which is not a covariate of this study "
                    f"(read with --covariates {read_with}): read the table with the posterior's options "
                    "(omit --covariates), or refit"
                )
            field = schema[spec.name]
            if field.kind != spec.kind:
                raise StudyMismatchError(
                    f"covariate {spec.name!r} is {field.kind} in this study but {spec.kind} in the posterior: "
                    f"read it with --{spec.kind} {spec.name}, or refit"
                )
            fitted = [v for v in spec.levels if not (spec.missing_level and v == spec.levels[-1])]
            if spec.is_categorical and field.levels is not None and list(field.levels) != fitted:
                raise StudyMismatchError(
                    f"covariate {spec.name!r} has levels {list(field.levels)} in this study but {fitted} in "
                    "the posterior; refit on this table"
                )


def _legacy_init(config: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments of a file written before they were stored, from its configuration."""
    return {
        "fields": [f["name"] for f in config["fields"]],
        "rho_by_level": bool(config["rho_by_level"]),
        "latent_classes": int(config["latent_classes"]),
        "priors": config["priors"],
        "missing": config["missing"],
        "numeric_bins": int(config.get("numeric_bins", 5)),
        "spec": {
            "fields": config["fields"],
            "schema": config.get("schema"),
            "recruiter_level_weights": config.get("recruiter_level_weights"),
            "n_pairs": config.get("n_pairs"),
            "missing_report": config.get("missing_report", []),
        },
    }
