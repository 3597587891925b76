r"""The referral-capacity model object: declare, build, fit, predict, save, reload.

Respondent :math:`i` with covariates :math:`x_i`, group :math:`g(i)` and
censoring bound :math:`k_i` (``censor_at``: the coupons issued when the coupon
window has closed, the redeemed count while it is still open) has an
unobserved capacity :math:`C_i`; we observe :math:`y_i = \min(C_i, k_i)`:

.. math::
    C_i &\sim \text{Family}(\mu_i, \phi, \psi), \qquad
    \log\mu_i = b_0 + \tilde x_i^\top\beta + \sigma_u z_{g(i)}, \qquad z_g \sim N(0, 1), \\
    \ell_i &= \begin{cases} \log P(C_i = y_i) & y_i < k_i \\
                            \log P(C_i \ge k_i) & y_i = k_i. \end{cases}

See ``docs/count-model.md`` for the families, priors, compression and speed.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from rdsmodel.count.compression import Cells, compress
from rdsmodel.count.delay import DelayLaw, fit_delay_law, recruitment_delays
from rdsmodel.count.design import MISSING_LEVEL, DesignSpec
from rdsmodel.count.families import Family, get_family
from rdsmodel.count.inputs import GroupCentring, choose_covariates, group_centring, usable_rows
from rdsmodel.count.likelihood import build_pymc_model, parameter_names
from rdsmodel.count.pointwise import observed_bound, pointwise_groups, thin_open
from rdsmodel.count.predict import (
    Draws,
    linear_predictor,
    pmf_array,
    redeemed_draws,
    survival_array,
)
from rdsmodel.count.priors import kernel_prior_table, resolve_priors
from rdsmodel.count.sampling import (
    KernelModel,
    SamplerSettings,
    check_fit,
    remedy_settings,
    sample,
)
from rdsmodel.errors import ModelError
from rdsmodel.persistence import (
    PosteriorMeta,
    StudyRecord,
    check_table,
    package_version,
    rebuild,
    require_init,
    save_inference,
    study_record,
)
from rdsmodel.stored import HoldsPosterior

__all__ = ["DEFAULT_CONFIG", "CountModel"]

#: Options of the count model; ``config=`` entries override them.
DEFAULT_CONFIG: dict[str, Any] = {
    # Pointwise groups (log_likelihood, posterior_predictive) are kept per person while
    # persons x draws stays below this many values. Above it, the log-likelihood is stored
    # per distinct outcome with weights (exact LOO, see rdsmodel.diagnostics.loo) and the
    # posterior predictive on evenly thinned draws (at least 100 in all).
    "max_pointwise": 20_000_000,
    # open_windows="delay": width (days) of the bins of the time since the interview at the cut-off;
    # G(tau) is taken at the bin's midpoint so open windows compress into patterns
    "delay_bin_days": 1.0,
    # Posterior predictive draws kept for the checks (evenly spaced over each chain).
    "ppc_draws": 1000,
    # How the group effects u_g ~ N(0, sigma_u) are sampled (the model is the same either way):
    # "auto": the mean group log mean b0 + mean(u) is sampled instead of b0, the mean effect
    # non-centred, and the sum-to-zero deviations in the eigenvectors of their data precision,
    # each whitened by its approximate conditional posterior given sigma_u (centred where
    # the data are rich, non-centred where they are poor, at every sigma_u); see
    # rdsmodel.count.inputs.group_centring. "noncentered": the same contrasts, non-centred.
    "group_parametrization": "auto",
    # When a run shows divergences, R-hat > 1.01 or ESS < min(400, draws x chains / 4), refit
    # once with twice the tuning and a higher target_accept (sampling.remedy_settings) and keep
    # the better run; what was done is in fit_notes and idata.posterior.attrs["rdsplan_remedy"].
    "remedy": True,
    "sampler": {
        "draws": 1000,
        "tune": 1000,
        "chains": 4,
        "seed": 1,
        "sampler": "auto",
        "cores": None,
        "progressbar": True,
        "target_accept": 0.9,
        "low_rank": True,
    },
}

RngLike = np.random.Generator | int | None

#: Config keys of earlier versions (the partially non-centred pilot), ignored when reloading.
_RETIRED_CONFIG = frozenset({"ncp_scale", "ncp_pilot"})


def _merge(base: Mapping[str, Any], over: Mapping[str, Any] | None) -> dict[str, Any]:
    out = json.loads(json.dumps(base))
    for key, value in (over or {}).items():
        if key in _RETIRED_CONFIG:  # options of earlier versions, kept readable in saved fits
            continue
        if key not in out:
            raise ModelError(f"unknown config key {key!r}; known: {', '.join(out)}")
        if isinstance(out[key], dict):
            unknown = sorted(set(value) - set(out[key]))
            if unknown:
                raise ModelError(f"unknown config key(s) {unknown} under {key!r}")
            out[key].update(value)
        else:
            out[key] = value
    return out


def _known_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of a stored configuration this version knows (older files may hold retired ones)."""
    known = {}
    for key, value in config.items():
        if key not in DEFAULT_CONFIG:
            continue
        if isinstance(DEFAULT_CONFIG[key], dict) and isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if k in DEFAULT_CONFIG[key]}
        known[key] = value
    return known


def _legacy_init(config: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments of a file written before they were stored, from its configuration."""
    return {
        "family": config["family"],
        "covariates": list(config["covariates"]),
        "group": config["group_column"] is not None,
        "wave_effect": bool(config["wave_effect"]),
        "priors": config["priors"],
        "config": config.get("options") or {},
        "open_windows": config.get("open_windows", "lower-bound"),
        "spec": {
            "group_column": config["group_column"],
            "design": config["design"],
            "log_mean": config["log_mean"],
            "group_ncp": config.get("group_ncp"),
            "priors": config["priors"],
            "schema": config.get("schema"),
        },
    }


def _missing_sentence(
    design: DesignSpec, counts: Mapping[str, int], group_column: str | None, *, fitted: bool
) -> str | None:
    """Words for the missing values of a table: how many, and how each covariate's are modelled."""
    if not counts:
        return None
    parts = []
    for name, k in counts.items():
        if name == group_column and name not in design.covariates:
            how = (
                "a group of its own"
                if design.groups is not None and MISSING_LEVEL in design.groups
                else "an unseen group (effect drawn from the group distribution)"
            )
        elif name in design.missing_fit and design.kinds.get(name) == "categorical":
            how = f"level {MISSING_LEVEL!r}"
        elif name in design.indicators:
            how = "imputed at the mean, with a missing-value indicator"
        else:
            how = "set at the fitted respondents' average for this covariate"
        parts.append(f"{name}: {k} ({how})")
    total = sum(counts.values())
    who = "among the fitted respondents" if fitted else "in the table predicted for"
    return f"{total} missing value(s) {who}, modelled not dropped: " + "; ".join(parts)


#: Treatments of respondents whose coupon window is still open (see :class:`CountModel`).
OPEN_WINDOWS = ("auto", "delay", "exclude", "lower-bound")


def resolve_open_windows(open_windows: str, data) -> str:
    """``"auto"``: ``"delay"`` when the study has interview times, else ``"exclude"``; other values as given.

    Without interview times no window can be told open from the times (every
    window counts as closed unless the table says otherwise), and the delay
    law cannot be fitted.
    """
    if open_windows != "auto":
        return open_windows
    if data is None:
        return "exclude"
    table = data.table
    has_times = "interview_time" in table.columns and bool(table["interview_time"].notna().any())
    return "delay" if has_times else "exclude"


class CountModel(HoldsPosterior):
    r"""Bayesian hierarchical censored-count model of referral capacity.

    Parameters
    ----------
    data : rdsmodel.data.RecruitmentData
        The study. Only respondents whose coupon window carries information
        are fitted (``data.fit_rows`` with ``censor_at >= 1``).
    family : {"nb", "poisson", "zinb", "hurdle"}
        Count family of the capacity (see :mod:`rdsmodel.count.families`).
    covariates : sequence of str, optional
        Covariate columns in the log mean; default every covariate of the schema.
    group : bool, optional
        Group random effects; default: whenever the data have a group column.
    wave_effect : bool
        Add the standardised wave as a term of the log mean.
    priors : mapping, optional
        Overrides of :data:`rdsmodel.count.priors.DEFAULT_PRIORS`.
    config : mapping, optional
        Overrides of :data:`DEFAULT_CONFIG` (sampler defaults, pointwise storage limit).
    spec : mapping, optional
        The data-derived constants of a saved fit (:attr:`spec`: design,
        intercept centre, group parametrisation, resolved priors, schema),
        given instead of ``data`` to rebuild a fit without its study;
        :meth:`load` does this. Such a model predicts but cannot refit.
    open_windows : {"auto", "delay", "exclude", "lower-bound"}
        What to do with respondents whose coupon window is still open.
        ``"auto"`` (default) is ``"delay"`` when the study has interview times
        and ``"exclude"`` otherwise (then every window counts as closed unless
        the table says so). ``"delay"`` fits the redemption-delay law
        :math:`G` from the recruiter-to-recruit delays
        (:mod:`rdsmodel.count.delay`) and lets an open window with ``k``
        coupons and ``y`` redemptions ``tau`` days after the interview
        contribute :math:`\log \sum_{c=0}^{k} P(C = c)\,\mathrm{Bin}(y;
        \min(c, k), G(\tau))` (``P(C >= k)`` at ``c = k``): unbiased and
        tighter than leaving them out (tests/count/test_count_open_windows.py).
        ``"exclude"`` leaves them out. ``"lower-bound"`` uses their
        redeemed count ``y`` as a lower bound, ``log P(C >= y)`` (``censor_at``
        of the data), as in the design document. That treatment is biased
        upwards whenever recruits are still arriving: how many have arrived by
        the cut-off depends on the capacity itself (not independent censoring),
        and open rows with no recruit yet drop out. On the demo's default study
        the lower-bound treatment estimates a mean capacity of 3.6 where the
        truth is 2.4; the closed windows alone give 2.3.

    Raises
    ------
    ValueError
        One line naming the problem: unknown family or column, no usable rows,
        every respondent given zero coupons, a constant covariate.

    Examples
    --------
    >>> model = CountModel(data, family="nb")                    # doctest: +SKIP
    >>> idata = model.fit(draws=1000, chains=4, seed=1)          # doctest: +SKIP
    >>> curves = model.survival(data.frontier, max_coupons=5)    # doctest: +SKIP
    >>> model.save("posterior.nc")                               # doctest: +SKIP
    """

    def __init__(
        self,
        data=None,
        *,
        family: str = "nb",
        covariates: Sequence[str] | None = None,
        group: bool | None = None,
        wave_effect: bool = False,
        priors: Mapping[str, Mapping[str, Any]] | None = None,
        config: Mapping[str, Any] | None = None,
        open_windows: str = "auto",
        spec: Mapping[str, Any] | None = None,
    ) -> None:
        if open_windows not in OPEN_WINDOWS:
            raise ModelError(
                f"--open-windows must be one of {', '.join(OPEN_WINDOWS)}; got {open_windows!r}"
            )
        if (data is None) == (spec is None):
            raise ModelError(
                "CountModel needs the study (data=...) or, to rebuild a saved fit, its spec "
                "(use CountModel.load)"
            )
        self.open_windows = resolve_open_windows(open_windows, data)
        self.delay_law: DelayLaw | None = None
        self.family: Family = get_family(family)
        self.options = _merge(DEFAULT_CONFIG, config)
        SamplerSettings(**self.options["sampler"]).validate()
        self.data = data
        self.wave_effect = bool(wave_effect)
        self._meta: PosteriorMeta | None = None
        self._model = None
        self.idata = None
        if data is None:
            self._restore(covariates, group, spec)
            return
        self._reading = getattr(data, "reading", None)
        self.covariates = choose_covariates(data, covariates)
        if group is None:
            group = data.group_column is not None
        if group and data.group_column is None:
            raise ModelError(
                "group=True but the study has no group column: read it with --group COLUMN"
            )
        self.group_column: str | None = data.group_column if group else None
        rows = usable_rows(
            data,
            self.covariates,
            self.group_column,
            self.wave_effect,
            open_windows=self.open_windows,
        )
        kinds = {name: data.schema[name].kind for name in self.covariates}
        levels = {
            name: list(data.schema[name].levels)
            if data.schema[name].levels is not None
            else sorted(rows[name].astype(str).unique().tolist())
            for name in self.covariates
            if kinds[name] == "categorical"
        }
        self.design = DesignSpec.fit(
            rows,
            covariates=self.covariates,
            kinds=kinds,
            levels=levels,
            group_column=self.group_column,
            wave_effect=self.wave_effect,
        )
        gidx, _ = self.design.group_index(rows, self.group_column or "group")
        y = rows["n_recruits"].to_numpy(dtype=np.int64)
        is_open, coupons, g = self._open_rows(data, rows)
        bound = np.where(is_open, coupons, rows["censor_at"].fillna(0).to_numpy(dtype=np.int64))
        self.cells: Cells | None = compress(
            self.design.matrix(rows), gidx, y, bound, open_rows=is_open, coupons=coupons, g=g
        )
        self._rows = rows
        self.log_mean = float(np.log(max(np.minimum(y, bound).mean(), 0.1)))
        names = parameter_names(self.family, len(self.design.terms), self.design.groups is not None)
        self.priors = resolve_priors(priors, log_mean=self.log_mean, names=names)
        self.centring: GroupCentring | None = (
            None
            if self.design.groups is None
            else group_centring(
                self.cells,
                self.family,
                len(self.design.groups),
                kernel_prior_table(self.priors),
                how=self.options["group_parametrization"],
            )
        )
        self.group_ncp = None if self.centring is None else self.centring.to_config()
        self.schema = data.schema.to_dict() if hasattr(data.schema, "to_dict") else None

    def _open_rows(self, data, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Open rows under ``"delay"``, their coupons and :math:`G(\tau)` (fits :attr:`delay_law`)."""
        coupons = rows["coupons_issued"].astype("Float64").fillna(0).to_numpy(dtype=np.int64)
        is_open = np.zeros(len(rows), dtype=bool)
        g = np.ones(len(rows))
        if self.open_windows != "delay":
            return is_open, coupons, g
        is_open = ~rows["window_closed"].to_numpy(dtype=bool)
        if not is_open.any():
            return is_open, coupons, g
        window = getattr(data, "coupon_window", None)
        window_days = None if window is None else float(pd.Timedelta(window) / pd.Timedelta(days=1))
        delays, trunc = recruitment_delays(data)
        self.delay_law = fit_delay_law(delays, trunc, window_days)
        cutoff = getattr(data, "cutoff", None)
        if cutoff is None:
            cutoff = pd.to_datetime(data.table["interview_time"]).max()
        times = pd.to_datetime(rows["interview_time"])
        tau = ((pd.Timestamp(cutoff) - times) / pd.Timedelta(days=1)).to_numpy(dtype=float)
        width = float(self.options["delay_bin_days"])
        mid = (np.floor(np.maximum(tau, 0.0) / width) + 0.5) * width
        g[is_open] = self.delay_law.cdf(mid[is_open])
        return is_open, coupons, g

    @property
    def n_open(self) -> int:
        """Respondents with open windows in the likelihood through the redemption delay (``"delay"``)."""
        if self.cells is not None and self.cells.row_open is not None:
            return int(self.cells.row_open.sum())
        return 0

    def _restore(
        self, covariates: Sequence[str] | None, group: bool | None, spec: Mapping[str, Any]
    ) -> None:
        """Set the data-derived constants from the spec of a saved fit (no cells: it cannot refit)."""
        self._reading = None
        self.covariates = list(covariates or [])
        self.group_column = spec.get("group_column", "group") if group else None
        self.design = DesignSpec.from_config(spec["design"])
        self.log_mean = float(spec["log_mean"])
        self.group_ncp = spec.get("group_ncp")
        # files of earlier versions hold per-group weights here, not a centring
        self.centring = (
            GroupCentring.from_config(self.group_ncp)
            if isinstance(self.group_ncp, Mapping) and "basis" in self.group_ncp
            else None
        )
        self.priors = json.loads(json.dumps(spec["priors"]))
        self.schema = spec.get("schema")
        self.cells = None
        self._rows = None

    @property
    def spec(self) -> dict[str, Any]:
        """The data-derived constants a saved fit needs to be rebuilt without its study (see ``spec=``)."""
        return {
            "group_column": self.group_column,
            "design": self.design.to_config(),
            "log_mean": self.log_mean,
            "group_ncp": self.group_ncp,
            "priors": self.priors,
            "schema": self.schema,
        }

    @property
    def init_kwargs(self) -> dict[str, Any]:
        """The constructor arguments (all but the data) that rebuild this model: ``cls(**init_kwargs)``."""
        return {
            "family": self.family.name,
            "covariates": list(self.covariates),
            "group": self.group_column is not None,
            "wave_effect": self.wave_effect,
            "priors": self.priors,
            "config": self.options,
            "open_windows": self.open_windows,
            "spec": self.spec,
        }

    @property
    def reading(self):
        """rdsmodel.data.ReadingOptions or None: how the study was read (None for files of older versions).

        Reread the study with it (``rdsmodel.data.read_table(path, model.reading)``, or
        :func:`rdsmodel.data.resolve_reading` to check options a user typed).
        """
        return self._reading

    @property
    def n_observations(self) -> int:
        """Respondents in the likelihood (fitted rows with ``censor_at >= 1``)."""
        if self.cells is not None:
            return len(self.cells.pattern)
        return int(self.stored.observed_data["y"].size) if self.stored is not None else 0

    @property
    def n_cells(self) -> int:
        """Distinct (design row, group) patterns the likelihood is evaluated on."""
        if self.cells is not None:
            return self.cells.n_patterns
        return int(self.stored.constant_data.sizes["pattern"]) if self.stored is not None else 0

    # ------------------------------------------------------------------ config
    @property
    def config(self) -> dict[str, Any]:
        """The JSON-able configuration stored with a fit."""
        return {
            "model": "count",
            "family": self.family.name,
            "covariates": list(self.covariates),
            "group_column": self.group_column,
            "wave_effect": self.wave_effect,
            "open_windows": self.open_windows,
            "priors": self.priors,
            "design": self.design.to_config(),
            "schema": self.schema,
            "log_mean": self.log_mean,
            "group_ncp": self.group_ncp,
            "options": self.options,
        }

    # ------------------------------------------------------------------ build and fit
    def build(self):
        """Build (once) and return the PyMC model of the compressed data."""
        if self._model is None:
            self._require_cells()
            self._model = build_pymc_model(
                self.cells,
                family=self.family,
                priors=self.priors,
                terms=self.design.terms,
                groups=self.design.groups,
                centring=self.centring,
            )
        return self._model

    def _require_cells(self) -> Cells:
        if self.cells is None:
            raise ModelError(
                "this model was loaded without its data; refit it on the study (rdsplan fit)"
            )
        return self.cells

    def fit(
        self,
        draws: int | None = None,
        tune: int | None = None,
        chains: int | None = None,
        seed: int | None = None,
        sampler: str | None = None,
        progressbar: bool | None = None,
        *,
        cores: int | None = None,
        target_accept: float | None = None,
    ):
        """Sample the posterior and return (and keep on :attr:`idata`) the InferenceData.

        Parameters
        ----------
        draws, tune, chains : int
            Kept draws and tuning steps per chain, number of chains (defaults 1000, 1000, 4).
        seed : int
            Random seed of the sampler and of the posterior predictive draws (default 1).
        sampler : {"auto", "nutpie", "pymc"}
            See :mod:`rdsmodel.count.sampling`.
        progressbar : bool
            Show the sampler's progress bar.
        cores : int, optional
            Parallel chains (default ``min(chains, cpu count)``).
        target_accept : float
            NUTS target acceptance rate.

        Returns
        -------
        arviz.InferenceData
            Groups ``posterior``, ``sample_stats``, ``log_likelihood`` (variable ``y``),
            ``posterior_predictive`` (``y``: redeemed counts ``min(C, censor_at)``),
            ``observed_data`` and ``constant_data``.
        """
        cells = self._require_cells()
        given = dict(
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            sampler=sampler,
            progressbar=progressbar,
            cores=cores,
            target_accept=target_accept,
        )
        self.options["sampler"].update({k: v for k, v in given.items() if v is not None})
        settings = SamplerSettings(**self.options["sampler"])
        settings.validate()
        table = kernel_prior_table(self.priors)
        kernel_model = None
        if table is not None:
            b0 = self.priors["b0"]
            center = float(b0.get("mu", b0.get("alpha", self.log_mean)))
            kernel_model = KernelModel.make(
                cells,
                self.family,
                table,
                self.design.terms,
                self.design.groups,
                center,
                self.centring,
            )
        start = time.perf_counter()
        raw, route = sample(settings, kernel_model=kernel_model, build_model=self.build)
        post = self._posterior_dataset(raw)
        check = check_fit(post, raw.sample_stats)
        remedy = None
        notes: list[str] = [self.missing_note] if self.missing_note else []
        if self.delay_law is not None:
            notes.append(
                f"{self.n_open} respondent(s) with open coupon windows enter through the "
                f"{self.delay_law.summary()}"
            )
        if not check.clean and self.options["remedy"]:
            retry, actions = remedy_settings(settings, check)
            raw2, route2 = sample(retry, kernel_model=kernel_model, build_model=self.build)
            post2 = self._posterior_dataset(raw2)
            check2 = check_fit(post2, raw2.sample_stats)
            kept = "refit" if check2.badness() <= check.badness() else "first"
            remedy = {
                "reason": list(check.problems),
                "actions": actions,
                "first": check.to_dict(),
                "refit": check2.to_dict(),
                "kept": kept,
            }
            note = (
                f"the first run was not clean ({'; '.join(check.problems)}); refitted once with "
                f"{', '.join(actions)}: {check2.summary()}"
            )
            note += (
                "; the refit is kept"
                if kept == "refit"
                else "; the first run is kept (the refit was no better)"
            )
            if kept == "refit":
                raw, route, post, check, settings = raw2, route2, post2, check2, retry
            if not check.clean:
                note += f". Still: {'; '.join(check.problems)}"
            notes.append(note)
        if check.chains < 2:
            notes.append(
                "one chain: R-hat (which compares chains) is not available; "
                "run at least 2 chains to check convergence"
            )
        elapsed = time.perf_counter() - start
        idata = self._assemble(raw, settings, post)
        idata.posterior.attrs.update(
            rdsplan_sampler=route,
            sampling_seconds=float(elapsed),
            family=self.family.name,
            rdsplan_group_parametrization=("none" if self.centring is None else self.centring.how),
            rdsplan_fit_check=json.dumps(check.to_dict()),
            rdsplan_remedy=json.dumps(remedy) if remedy is not None else "",
            rdsplan_fit_notes=json.dumps(notes),
            rdsplan_missing=json.dumps(self.missing_values),
            rdsplan_target_accept=float(settings.target_accept),
            rdsplan_open_windows=self.open_windows,
            rdsplan_delay_law=json.dumps(
                None if self.delay_law is None else self.delay_law.to_dict()
            ),
            rdsplan_tune=int(settings.tune),
        )
        self.idata = idata
        self._meta = PosteriorMeta(
            kind="count",
            version=package_version(),
            config=self.config,
            identity=self.data.identity_digests(),
            state=self.data.state_digests(),
        )
        return idata

    @property
    def missing_values(self) -> dict[str, int]:
        """Missing values among the fitted respondents, per covariate (and group column).

        They are modelled, not dropped (:mod:`rdsmodel.count.design`): a categorical
        covariate's gaps are a level of their own (``"(missing)"``), a numeric
        covariate's are imputed at its mean with a missing-value indicator term,
        a missing group is a group of its own.
        """
        return dict(self.design.missing_fit)

    @property
    def missing_note(self) -> str | None:
        """One sentence on the missing values of the fit (``None`` when there are none)."""
        return _missing_sentence(
            self.design, self.design.missing_fit, self.group_column, fitted=True
        )

    def _missing_in(self, table: pd.DataFrame) -> dict[str, int]:
        counts = self.design.missing_counts(table)
        if self.group_column is not None and self.group_column in table.columns:
            k = int(table[self.group_column].isna().sum())
            if k:
                counts[self.group_column] = k
        return counts

    def _missing_attrs(self) -> dict[str, Any]:
        counts = getattr(self, "_last_missing", {}) or {}
        if not counts:
            return {}
        return {
            "missing_values": json.dumps(counts),
            "missing_note": _missing_sentence(self.design, counts, self.group_column, fitted=False),
        }

    def _fit_attr(self, key: str):
        if self.stored is None:
            return None
        text = self.stored.posterior.attrs.get(key, "")
        return json.loads(text) if text else None

    @property
    def fit_notes(self) -> list[str]:
        """What the fit did beyond the plain run, in sentences for the user (the remedy, one chain).

        Empty for a clean first run. Kept in ``idata.posterior.attrs["rdsplan_fit_notes"]``.
        """
        return list(self._fit_attr("rdsplan_fit_notes") or [])

    @property
    def remedy(self) -> dict | None:
        """The automatic refit, if there was one: ``reason``, ``actions``, ``first``, ``refit``, ``kept``.

        ``first`` and ``refit`` hold each run's divergences, max R-hat, min bulk and tail
        ESS and problems. ``None`` when the first run was clean (or the remedy is off).
        Kept in ``idata.posterior.attrs["rdsplan_remedy"]``.
        """
        return self._fit_attr("rdsplan_remedy")

    @property
    def fit_check(self) -> dict | None:
        """Divergences, max R-hat, min bulk/tail ESS and problems of the kept run."""
        return self._fit_attr("rdsplan_fit_check")

    def _posterior_dataset(self, raw):
        post = raw.posterior
        keep = [v for v in ("b0", "beta", "z", "sigma_u", "u", "phi", "psi") if v in post]
        post = post[keep]
        if "beta" in post:
            centers = xr.DataArray(
                np.asarray(self.design.centers),
                dims="term",
                coords={"term": list(self.design.terms)},
            )
            post["intercept"] = post["b0"] - (post["beta"] * centers).sum("term")
        else:
            post["intercept"] = post["b0"]
        return post

    def _assemble(self, raw, settings: SamplerSettings, post=None):
        import arviz as az

        if post is None:
            post = self._posterior_dataset(raw)
        idata = az.InferenceData(posterior=post, sample_stats=raw.sample_stats)
        idata.add_groups(
            pointwise_groups(
                idata.posterior,
                self.family,
                self._require_cells(),
                self._rows,
                self.design.terms,
                limit=int(self.options["max_pointwise"]),
                rng=np.random.default_rng([settings.seed, 1]),
                ppc_draws=int(self.options["ppc_draws"]),
            )
        )
        return idata

    # ------------------------------------------------------------------ prior predictive
    def sample_prior_predictive(self, draws: int = 500, seed: int | None = None):
        """Draw parameters from the priors and redeemed counts of the fitted respondents.

        Returns
        -------
        arviz.InferenceData
            Groups ``prior`` (parameters), ``prior_predictive`` (``y``, redeemed
            counts ``min(C, censor_at)``) and ``observed_data``.
        """
        import arviz as az
        import pymc as pm

        cells = self._require_cells()
        seed = self.options["sampler"]["seed"] if seed is None else seed
        with self.build(), warnings.catch_warnings():
            # the likelihood is a Potential: ignoring it is exactly what a prior predictive does
            warnings.filterwarnings("ignore", message=".*Potentials.*", category=UserWarning)
            prior = pm.sample_prior_predictive(draws=draws, random_seed=seed)
        params = Draws.from_dataset(prior.prior, n_terms=len(self.design.terms))
        eta = linear_predictor(params, cells.design, cells.group)
        bound = observed_bound(cells, self._rows)
        gen = np.random.default_rng([seed, 2])
        y_rep = thin_open(
            redeemed_draws(self.family, params, eta, bound, rng=gen, pattern=cells.pattern),
            cells,
            gen,
        )
        ids = self._rows["id"].astype(str).to_numpy()
        pp = xr.Dataset(
            {"y": (("chain", "draw", "person"), y_rep.reshape(1, -1, len(ids)))},
            coords={"chain": [0], "draw": np.arange(y_rep.shape[0]), "person": ids},
        )
        y_obs = np.minimum(self._rows["n_recruits"].to_numpy(dtype=np.int64), bound)
        keep = [v for v in ("b0", "beta", "z", "sigma_u", "u", "phi", "psi") if v in prior.prior]
        return az.InferenceData(
            prior=prior.prior[keep],
            prior_predictive=pp,
            observed_data=xr.Dataset({"y": ("person", y_obs)}, coords={"person": ids}),
        )

    # ------------------------------------------------------------------ persistence
    def _study(self) -> StudyRecord:
        """What the posterior remembers of its study: from the data it was built on, or from its file."""
        if self.cells is not None and self.data is not None:
            return study_record(self.data)
        if self._meta is None:
            raise ModelError("the model has not been fitted: call fit() first")
        return self._meta.record

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fit to NetCDF (atomically) with its config, constructor arguments and study.

        The study is remembered by its reading options and one digest per
        named column (see :mod:`rdsmodel.persistence`).

        Raises
        ------
        rdsmodel.errors.ModelError
            If the model is not fitted, or a constructor argument would not be stored.
        """
        if self.stored is None:
            raise ModelError("nothing to save: fit the model first")
        init = self.init_kwargs
        require_init(type(self), init)
        study = self._study()
        return save_inference(
            self.idata,
            path,
            kind="count",
            config=self.config,
            identity=study.identity,
            state=study.state,
            init=init,
            reading=study.reading,
            columns=study.columns,
        )

    @classmethod
    def load(cls, path: str | os.PathLike, data=None) -> CountModel:
        """Reload a saved fit through the constructor, ``cls(**init)``; with ``data``, check the study.

        Without data the model can still compute survival curves, pmfs and
        predictions for new tables (the design constants travel with the fit).
        Files written before constructor arguments were stored are rebuilt
        from their configuration; :attr:`reading` is then ``None``.

        Raises
        ------
        rdsmodel.errors.MissingFileError
            If there is no such file.
        rdsmodel.errors.ModelError
            If the file is not a count posterior or cannot be rebuilt (refit).
        rdsmodel.errors.StudyMismatchError
            If ``data`` is not the fitted study, or was read differently.
        """

        def clean(init: dict[str, Any]) -> dict[str, Any]:
            return {**init, "config": _known_config(init.get("config") or {})}

        model = rebuild(cls, path, kind="count", legacy_init=_legacy_init, clean_init=clean)
        if data is not None:
            model.check_study(data)
            model.data = data
        return model

    def _attach(self, idata, meta: PosteriorMeta, reading) -> None:
        """Give a model rebuilt by :meth:`load` its posterior and what the file says of its study."""
        law = idata.posterior.attrs.get("rdsplan_delay_law", "")
        law = json.loads(law) if law else None
        self.delay_law = None if law is None else DelayLaw.from_dict(law)
        self.idata = idata
        self._meta = meta
        self._reading = reading

    def check_study(self, data) -> list[str]:
        """Check ``data`` against the fitted study: refuse a different study or one read differently.

        Returns how the study moved on since the fit (new respondents, changed
        coupons or windows), each also warned as
        :class:`rdsmodel.persistence.StudyChangedWarning`.

        Raises
        ------
        rdsmodel.errors.StudyMismatchError
            Naming the reading option (``--group``, ``--covariates``, ...) or the
            column that differs, and what to do.
        """
        study = self._study()
        meta = self._meta
        if meta is None or (self.cells is not None and self.data is not None):
            meta = PosteriorMeta(
                kind="count",
                version=package_version(),
                config=self.config,
                identity=study.identity,
                state=study.state,
                reading=study.reading,
                columns=study.columns,
            )
        return check_table(meta, data, source="the count-model posterior")

    def diagnose(self, **kwargs):
        """Diagnostics of the fit (see :func:`rdsmodel.diagnostics.diagnose`)."""
        from rdsmodel.diagnostics import diagnose

        if self.stored is None:
            raise ValueError("the model has not been fitted: call fit() first")
        return diagnose(self.idata, **kwargs)

    # ------------------------------------------------------------------ prediction
    def _posterior(self, samples: int | None) -> Draws:
        if self.stored is None:
            raise ValueError("the model has not been fitted: call fit() first")
        return Draws.from_dataset(
            self.stored.posterior, n_terms=len(self.design.terms), samples=samples
        )

    def _rng(self, rng: RngLike) -> np.random.Generator:
        if isinstance(rng, np.random.Generator):
            return rng
        return np.random.default_rng(self.options["sampler"]["seed"] if rng is None else rng)

    def _people(self, table) -> pd.DataFrame:
        if hasattr(table, "table") and not isinstance(table, pd.DataFrame):
            table = table.table
        if not isinstance(table, pd.DataFrame):
            raise ValueError("expected a pandas DataFrame (or RecruitmentData) of people")
        if len(table) == 0:
            raise ValueError("the table of people is empty")
        return table

    def _eta(self, table: pd.DataFrame, draws: Draws, rng: np.random.Generator):
        self._last_missing = self._missing_in(table)
        x = self.design.matrix(table)
        gidx, unseen = self.design.group_index(table, self.group_column or "group")
        eta = linear_predictor(draws, x, gidx, n_unseen=len(unseen), rng=rng)
        ids = (
            table["id"].astype(str).to_numpy() if "id" in table.columns else np.asarray(table.index)
        )
        return eta, ids

    @staticmethod
    def _check_count(name: str, value: int) -> int:
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        return int(value)

    def _sample_coords(self, draws: Draws) -> dict[str, Any]:
        return {
            "sample": np.arange(draws.n),
            "chain": ("sample", draws.chain),
            "draw": ("sample", draws.draw),
        }

    def survival(
        self,
        table,
        max_coupons: int,
        samples: int | None = None,
        rng: RngLike = None,
        *,
        seed: int | None = None,
    ) -> xr.DataArray:
        """Posterior survival curves ``P(C >= ell)`` for any table of people.

        Parameters
        ----------
        table : pandas.DataFrame or RecruitmentData
            People with the model's covariate columns (and ``group`` if the model
            has group effects, ``wave`` with a wave effect); ``id`` names them.
            Frontier members are fine: nothing about their own recruits is used.
        max_coupons : int
            Largest ``ell`` (``L``).
        samples : int, optional
            Number of posterior samples, evenly spaced over the chains (default all).
        rng : Generator or int, optional
            For effects of groups the fit never saw (default: the fit's seed).
        seed : int, optional
            Same as an integer ``rng``.

        Returns
        -------
        xarray.DataArray
            Named ``survival``, dims ``("sample", "person", "ell")``, ``ell = 1..L``.
        """
        max_coupons = self._check_count("max_coupons", max_coupons)
        table = self._people(table)
        draws = self._posterior(samples)
        eta, ids = self._eta(table, draws, self._rng(seed if rng is None else rng))
        values = survival_array(self.family, draws, eta, max_coupons)
        return xr.DataArray(
            values,
            dims=("sample", "person", "ell"),
            name="survival",
            coords={
                **self._sample_coords(draws),
                "person": ids,
                "ell": np.arange(1, max_coupons + 1),
            },
            attrs={
                "family": self.family.name,
                "description": "P(C >= ell) per posterior sample",
                **self._missing_attrs(),
            },
        )

    def capacity_pmf(
        self,
        table,
        max_count: int,
        samples: int | None = None,
        rng: RngLike = None,
        *,
        tail: bool = False,
        seed: int | None = None,
    ) -> xr.DataArray:
        """Posterior capacity pmf ``P(C = count)``, ``count = 0..max_count``, per person.

        With ``tail=True`` the last entry holds ``P(C >= max_count)`` so rows sum to one.

        Returns
        -------
        xarray.DataArray
            Named ``capacity_pmf``, dims ``("sample", "person", "count")``.
        """
        max_count = self._check_count("max_count", max_count)
        table = self._people(table)
        draws = self._posterior(samples)
        eta, ids = self._eta(table, draws, self._rng(seed if rng is None else rng))
        values = pmf_array(self.family, draws, eta, max_count, tail=tail)
        return xr.DataArray(
            values,
            dims=("sample", "person", "count"),
            name="capacity_pmf",
            coords={**self._sample_coords(draws), "person": ids, "count": np.arange(max_count + 1)},
            attrs={"family": self.family.name, "tail": int(tail), **self._missing_attrs()},
        )

    def population_pmf(
        self,
        max_count: int,
        samples: int | None = None,
        *,
        tail: bool = False,
        seed: int | None = None,
    ) -> xr.DataArray:
        r"""Capacity law pooled over the fitted respondents (the planner's population law ``D``).

        :math:`D_s(c) = \frac{1}{n} \sum_i P(C_i = c \mid \text{sample } s)`. ``seed`` is
        accepted for symmetry with :meth:`survival` (nothing here is random).

        Returns
        -------
        xarray.DataArray
            Named ``population_pmf``, dims ``("sample", "count")``.
        """
        max_count = self._check_count("max_count", max_count)
        draws = self._posterior(samples)
        const = self.stored.constant_data
        design = const["pattern_design"].values
        group = const["pattern_group"].values
        weight = np.bincount(const["pattern"].values, minlength=design.shape[0]).astype(float)
        eta = linear_predictor(draws, design, group)
        pmf = pmf_array(self.family, draws, eta, max_count, tail=tail)
        values = np.einsum("spc,p->sc", pmf, weight / weight.sum())
        return xr.DataArray(
            values,
            dims=("sample", "count"),
            name="population_pmf",
            coords={**self._sample_coords(draws), "count": np.arange(max_count + 1)},
            attrs={"family": self.family.name, "tail": int(tail)},
        )

    def posterior_predictive(
        self,
        table=None,
        coupons: int | Sequence[int] | np.ndarray | None = None,
        samples: int | None = None,
        rng: RngLike = None,
        *,
        seed: int | None = None,
    ) -> xr.DataArray:
        """Draw redeemed counts ``min(C, coupons)`` for people given coupons.

        Parameters
        ----------
        table : pandas.DataFrame or RecruitmentData, optional
            People (default: the fitted respondents of the attached data).
        coupons : int or array of int, optional
            Coupons per person (one number for everybody); default the table's
            ``coupons_issued``.
        samples : int, optional
            Number of posterior samples (default all).
        rng : Generator or int, optional

        Returns
        -------
        xarray.DataArray
            Named ``redeemed``, dims ``("sample", "person")``.
        """
        if table is None:
            if self._rows is None:
                raise ValueError("pass a table: this model was loaded without its data")
            table = self._rows
        table = self._people(table)
        if coupons is None:
            if "coupons_issued" not in table.columns or table["coupons_issued"].isna().any():
                raise ValueError("coupons not given and the table has missing coupons_issued")
            coupons = table["coupons_issued"].to_numpy(dtype=np.int64)
        coupons = np.broadcast_to(np.asarray(coupons), (len(table),))
        if (
            not np.issubdtype(coupons.dtype, np.number)
            or np.any(coupons < 0)
            or np.any(coupons != np.round(coupons))
        ):
            raise ValueError("coupons must be whole numbers >= 0")
        gen = self._rng(seed if rng is None else rng)
        draws = self._posterior(samples)
        eta, ids = self._eta(table, draws, gen)
        values = redeemed_draws(self.family, draws, eta, coupons.astype(np.int64), rng=gen)
        return xr.DataArray(
            values,
            dims=("sample", "person"),
            name="redeemed",
            coords={**self._sample_coords(draws), "person": ids},
            attrs=self._missing_attrs(),
        )

    def __repr__(self) -> str:
        fitted = "fitted" if self.stored is not None else "not fitted"
        n = None if self.cells is None else len(self.cells.pattern)
        return (
            f"CountModel(family={self.family.name!r}, terms={self.design.terms}, "
            f"groups={None if self.design.groups is None else len(self.design.groups)}, "
            f"respondents={n}, {fitted})"
        )
