"""Samplers for the count model: nutpie on the compiled kernel, nutpie on PyMC, PyMC NUTS.

``sampler="auto"`` (the default) picks the fastest route available:

1. ``"nutpie"`` with the compiled kernel of :mod:`rdsmodel.count.kernel`
   (when nutpie is importable and every prior is one the kernel implements):
   no model compilation at all, a few microseconds per gradient;
2. ``"nutpie"`` on the PyMC model compiled with nutpie's numba backend
   (other priors; costs ~15-30 s of compilation);
3. ``"pymc"``: ``pymc.sample`` (PyMC's NUTS), used when nutpie is missing.

All routes sample the same posterior in the same coordinates (the kernel's
density and gradient are tested against PyMC's): group effects as a mean
group log mean, whitened sum-to-zero contrasts and a non-centred mean effect
(:mod:`rdsmodel.count.kernel`, :func:`rdsmodel.count.inputs.group_centring`).
The nutpie routes adapt a diagonal plus low-rank mass matrix
(``low_rank=True``, nutpie's ``low_rank_modified_mass_matrix``), which takes
up the linear correlations left (the intercept with unbalanced covariates,
contrasts with the mean of unequal groups). The default target acceptance
rate is 0.9.

:func:`check_fit` measures a run (divergences, R-hat, bulk and tail ESS) and
:func:`remedy_settings` gives the settings of the one automatic refit that
:meth:`rdsmodel.count.CountModel.fit` makes when a run is not clean.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from rdsmodel.count.compression import Cells
from rdsmodel.count.families import Family
from rdsmodel.errors import ModelError

__all__ = [
    "FitCheck",
    "KernelModel",
    "SamplerSettings",
    "check_fit",
    "nutpie_available",
    "remedy_settings",
    "sample",
]

_PRIOR_ROWS = ("b0", "beta", "sigma_u", "phi", "psi")
SAMPLERS = ("auto", "nutpie", "pymc")


def nutpie_available() -> bool:
    """Whether nutpie can be imported."""
    return importlib.util.find_spec("nutpie") is not None


@dataclass(frozen=True)
class SamplerSettings:
    """Sampler settings stored with a fit."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 1
    sampler: str = "auto"
    cores: int | None = None
    progressbar: bool = True
    target_accept: float = 0.9
    low_rank: bool = True

    def validate(self) -> None:
        """Raise ``ValueError`` for impossible settings."""
        if self.sampler not in SAMPLERS:
            raise ModelError(
                f"unknown --sampler {self.sampler!r}; choose one of {', '.join(SAMPLERS)}"
            )
        for name in ("draws", "chains"):
            if int(getattr(self, name)) < 1:
                raise ModelError(f"--{name} must be at least 1, got {getattr(self, name)}")
        if int(self.tune) < 0:
            raise ModelError(f"--tune must be >= 0, got {self.tune}")
        if not 0 < self.target_accept < 1:
            raise ModelError(f"--target-accept must be in (0, 1), got {self.target_accept}")

    def n_cores(self) -> int:
        """Cores to use: the setting, else ``min(chains, cpu count)``."""
        return int(self.cores or max(1, min(self.chains, os.cpu_count() or 1)))


def _kernel():
    """The compiled kernel module, imported on first use: importing numba and compiling its
    ufuncs costs about a second, which planning from a saved posterior never needs."""
    from rdsmodel.count import kernel

    return kernel


@dataclass(frozen=True)
class KernelModel:
    """The compressed data, prior table and group parametrisation the compiled kernel needs.

    ``contrasts`` (``(G, G - 1)``, an orthonormal sum-to-zero basis; default
    Helmert), ``kappa`` and ``center`` (``(G - 1,)``) set how the group
    effects are sampled (see :mod:`rdsmodel.count.kernel`); all zero is the
    non-centred form.
    """

    cells: Cells
    family: Family
    priors: np.ndarray  # (5, 4)
    terms: tuple[str, ...]
    groups: tuple[str, ...] | None
    b0_center: float
    contrasts: np.ndarray | None = None
    kappa: np.ndarray | None = None
    center: np.ndarray | None = None

    @classmethod
    def make(
        cls,
        cells: Cells,
        family: Family,
        prior_table: Mapping[str, np.ndarray],
        terms: Sequence[str],
        groups: Sequence[str] | None,
        b0_center: float,
        centring=None,
    ) -> KernelModel:
        """Build from a prior table and a :class:`rdsmodel.count.inputs.GroupCentring` (default non-centred)."""
        rows = np.zeros((len(_PRIOR_ROWS), 4))
        for i, name in enumerate(_PRIOR_ROWS):
            if name in prior_table:
                rows[i] = prior_table[name]
        n_groups = 0 if groups is None else len(groups)
        n_con = max(n_groups - 1, 1)
        basis, kappa, center = None, np.zeros(n_con), np.zeros(n_con)
        if centring is not None and n_groups >= 2:
            basis = np.asarray(centring.basis, dtype=float)
            if basis.shape != (n_groups, n_groups - 1):
                raise ValueError(f"the contrast basis must have shape ({n_groups}, {n_groups - 1})")
            kappa = np.asarray(centring.kappa, dtype=float).reshape(n_groups - 1)
            center = np.asarray(centring.center, dtype=float).reshape(n_groups - 1)
        return cls(
            cells,
            family,
            rows,
            tuple(terms),
            None if groups is None else tuple(groups),
            b0_center,
            basis,
            kappa,
            center,
        )

    @property
    def n_terms(self) -> int:
        return len(self.terms)

    @property
    def n_groups(self) -> int:
        return 0 if self.groups is None else len(self.groups)

    @property
    def basis(self) -> np.ndarray:
        """Orthonormal sum-to-zero basis ``(G, G - 1)`` of the group deviations."""
        if self.contrasts is not None:
            return np.ascontiguousarray(self.contrasts)
        return _kernel().zero_sum_basis(self.n_groups)

    @property
    def ndim(self) -> int:
        grp = self.n_groups + 1 if self.n_groups else 0
        return 1 + self.n_terms + grp + int(self.family.has_phi) + int(self.family.has_psi)

    def _whitening(self) -> tuple[np.ndarray, np.ndarray]:
        n_con = max(self.n_groups - 1, 1)
        kappa = np.zeros(n_con) if self.kappa is None else np.asarray(self.kappa, dtype=float)
        center = np.zeros(n_con) if self.center is None else np.asarray(self.center, dtype=float)
        return np.ascontiguousarray(kappa), np.ascontiguousarray(center)

    def args(self) -> tuple:
        """Arguments of :func:`rdsmodel.count.kernel.logp_grad` after ``x``."""
        c = self.cells
        lfact = special.gammaln(np.arange(c.kmax + 1) + 1.0)
        return (
            c.design,
            c.group,
            c.exact,
            c.censored,
            self.family.code,
            self.n_groups,
            self.priors,
            lfact,
            self.basis,
            *self._whitening(),
            np.ascontiguousarray(c.open_pattern, dtype=np.int64),
            np.ascontiguousarray(c.open_k, dtype=np.int64),
            np.ascontiguousarray(c.open_count, dtype=float),
            np.ascontiguousarray(
                c.open_weight.reshape(-1, c.kmax + 1) if c.n_open else np.zeros((0, c.kmax + 1)),
                dtype=float,
            ),
        )

    def logp_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Log posterior (unconstrained) and gradient at ``x``."""
        return _kernel().logp_grad(np.ascontiguousarray(x, dtype=float), *self.args())

    def expand(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Constrained parameters of an unconstrained point."""
        q, g = self.n_terms, self.n_groups
        out = {"b0": np.asarray(x[0])}
        pos = 1
        if q:
            out["beta"] = np.array(x[pos : pos + q])
            pos += q
        if g:
            v = np.array(x[pos : pos + g - 1])
            e = float(x[pos + g - 1])
            sigma_u = float(np.exp(x[pos + g]))
            if g > 1:
                kappa, center = self._whitening()
                r = kappa * sigma_u**2
                c = center * sigma_u**2 / (1.0 + r) + sigma_u / np.sqrt(1.0 + r) * v
                dev = self.basis @ c
            else:
                dev = np.zeros(1)
            mean_u = sigma_u * e / np.sqrt(g)
            u = dev + mean_u
            out["b0"] = np.asarray(x[0] - mean_u)
            out.update(z=u / sigma_u, sigma_u=np.asarray(sigma_u), u=u)
            pos += g + 1
        if self.family.has_phi:
            out["phi"] = np.asarray(np.exp(x[pos]))
            pos += 1
        if self.family.has_psi:
            out["psi"] = np.asarray(special.expit(x[pos]))
        return out

    def initial_point(self, seed: int) -> np.ndarray:
        """Prior-centred start with a uniform(-1, 1) jitter on the unconstrained scale."""
        rng = np.random.default_rng(seed)
        x = rng.uniform(-1.0, 1.0, self.ndim)
        x[0] += self.b0_center
        return x


def _sample_kernel(km: KernelModel, settings: SamplerSettings):
    from nutpie.compiled_pyfunc import from_pyfunc

    args = km.args()
    fn = _kernel().logp_grad

    def make_logp():
        def logp(x, **_):
            value, grad = fn(x, *args)
            return value, grad

        return logp

    def make_expand(_seed1, _seed2, _chain):
        def expand(x, **_):
            return km.expand(x)

        return expand

    names, shapes, dims = ["b0"], [()], {}
    coords = {}
    if km.n_terms:
        names.append("beta")
        shapes.append((km.n_terms,))
        dims["beta"] = ("term",)
        coords["term"] = list(km.terms)
    if km.n_groups:
        names += ["z", "sigma_u", "u"]
        shapes += [(km.n_groups,), (), (km.n_groups,)]
        dims.update(z=("group",), u=("group",))
        coords["group"] = list(km.groups)
    for p in km.family.params:
        names.append(p)
        shapes.append(())
    compiled = from_pyfunc(
        km.ndim,
        make_logp,
        make_expand,
        [np.dtype("float64")] * len(names),
        shapes,
        names,
        coords=coords,
        dims=dims,
        make_initial_point_fn=km.initial_point,
    )
    return _run_nutpie(compiled, settings)


def _run_nutpie(compiled, settings: SamplerSettings):
    """Sample a compiled nutpie model with the run's settings."""
    import nutpie

    return nutpie.sample(
        compiled,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        cores=settings.n_cores(),
        seed=settings.seed,
        save_warmup=False,
        progress_bar=settings.progressbar,
        target_accept=settings.target_accept,
        low_rank_modified_mass_matrix=settings.low_rank,
    )


def _sample_nutpie_pymc(model, settings: SamplerSettings):
    import nutpie

    compiled = nutpie.compile_pymc_model(model, backend="numba")
    return _run_nutpie(compiled, settings)


def _sample_pymc(model, settings: SamplerSettings):
    import pymc as pm

    with model, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*chains.*", category=UserWarning)
        return pm.sample(
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=settings.n_cores(),
            random_seed=settings.seed,
            progressbar=settings.progressbar,
            target_accept=settings.target_accept,
            compute_convergence_checks=False,
            idata_kwargs={"log_likelihood": False},
        )


@dataclass(frozen=True)
class FitCheck:
    """The convergence numbers of one run, and what is wrong with them (for the remedy).

    Attributes
    ----------
    divergences : int
    max_rhat : float
        ``nan`` with one chain (R-hat compares chains).
    min_ess_bulk, min_ess_tail : float
    ess_target : float
        The ESS asked for: ``min(400, draws x chains / 4)``; a healthy NUTS run
        reaches a quarter of its draws, so shorter runs are not held to 400.
    problems : tuple of str
        Readable problems (empty when the run is clean).
    worst : tuple of str
        Parameters with the largest R-hat / smallest tail ESS.
    """

    divergences: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    ess_target: float
    chains: int
    draws: int
    problems: tuple[str, ...]
    worst: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not self.problems

    def badness(self) -> tuple:
        """Sort key: fewer problems, fewer divergences, larger ESS is better."""
        rhat = self.max_rhat if np.isfinite(self.max_rhat) else 1.0
        return (
            len(self.problems),
            self.divergences,
            rhat,
            -min(self.min_ess_bulk, self.min_ess_tail),
        )

    def summary(self) -> str:
        """One line: divergences, R-hat, ESS."""
        rhat = f"{self.max_rhat:.3f}" if np.isfinite(self.max_rhat) else "n/a (1 chain)"
        return (
            f"{self.divergences} divergences, max R-hat {rhat}, "
            f"min bulk/tail ESS {self.min_ess_bulk:.0f}/{self.min_ess_tail:.0f}"
        )

    def to_dict(self) -> dict:
        """JSON-able."""

        def num(v):
            return float(v) if np.isfinite(v) else None

        return {
            "divergences": int(self.divergences),
            "max_rhat": num(self.max_rhat),
            "min_ess_bulk": num(self.min_ess_bulk),
            "min_ess_tail": num(self.min_ess_tail),
            "ess_target": float(self.ess_target),
            "problems": list(self.problems),
            "worst": list(self.worst),
        }


def check_fit(
    posterior, sample_stats, *, rhat_limit: float = 1.01, ess_limit: float = 400.0
) -> FitCheck:
    """Divergences, largest R-hat and smallest bulk and tail ESS of a run (ArviZ estimators)."""
    import arviz as az

    n_chain, n_draw = int(posterior.sizes["chain"]), int(posterior.sizes["draw"])
    div = (
        int(np.asarray(sample_stats["diverging"].values).sum())
        if "diverging" in sample_stats
        else 0
    )
    with warnings.catch_warnings():
        # ArviZ warns that R-hat needs two chains; we report that ourselves
        warnings.filterwarnings("ignore", message=".*[Ss]hape validation failed.*")
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        bulk = az.ess(posterior, method="bulk")
        tail = az.ess(posterior, method="tail")
        rhat = az.rhat(posterior) if n_chain >= 2 else None

    def extreme(ds, fn):
        best, name = None, ""
        for var in ds.data_vars:
            vals = np.asarray(ds[var].values, dtype=float).reshape(-1)
            vals = vals[np.isfinite(vals)]
            if vals.size:
                v = float(fn(vals))
                if best is None or fn([best, v]) == v:
                    best, name = v, str(var)
        return (float("nan") if best is None else best), name

    min_bulk, _ = extreme(bulk, np.min)
    min_tail, worst_tail = extreme(tail, np.min)
    max_rhat, worst_rhat = extreme(rhat, np.max) if rhat is not None else (float("nan"), "")
    target = min(ess_limit, 0.25 * n_chain * n_draw)
    problems = []
    if div:
        problems.append(f"{div} divergent transition(s)")
    if np.isfinite(max_rhat) and max_rhat > rhat_limit:
        problems.append(f"R-hat {max_rhat:.3f} > {rhat_limit} ({worst_rhat})")
    if not np.isfinite(min_bulk) or min_bulk < target:
        problems.append(f"bulk ESS {min_bulk:.0f} < {target:.0f}")
    if not np.isfinite(min_tail) or min_tail < target:
        problems.append(f"tail ESS {min_tail:.0f} < {target:.0f} ({worst_tail})")
    return FitCheck(
        div,
        max_rhat,
        min_bulk,
        min_tail,
        target,
        n_chain,
        n_draw,
        tuple(problems),
        tuple(n for n in (worst_rhat, worst_tail) if n),
    )


def remedy_settings(
    settings: SamplerSettings, check: FitCheck
) -> tuple[SamplerSettings, list[str]]:
    """The settings of the one automatic refit, and the actions in words.

    Twice the tuning (at least 1,000 steps: a better step size and mass
    matrix), and a higher target acceptance rate, ``max(0.95, 1 - (1 - a) / 3)``
    (0.9 -> 0.967: smaller steps through the curved regions that diverge). A new
    seed, so that the refit is not the same chains again.
    """
    import dataclasses

    tune = max(2 * int(settings.tune), 1000)
    accept = round(min(0.99, max(0.95, 1.0 - (1.0 - settings.target_accept) / 3.0)), 3)
    new = dataclasses.replace(
        settings,
        tune=tune,
        target_accept=max(accept, settings.target_accept),
        seed=int(settings.seed) + 1,
    )
    actions = []
    if new.tune != settings.tune:
        actions.append(f"tuning steps {settings.tune} -> {new.tune}")
    if new.target_accept != settings.target_accept:
        actions.append(f"target_accept {settings.target_accept:g} -> {new.target_accept:g}")
    actions.append(f"seed {settings.seed} -> {new.seed}")
    return new, actions


def sample(
    settings: SamplerSettings, *, kernel_model: KernelModel | None, build_model
) -> tuple[object, str]:
    """Run the sampler chosen by ``settings.sampler``.

    Parameters
    ----------
    settings : SamplerSettings
    kernel_model : KernelModel or None
        ``None`` when a prior is not available in the compiled kernel.
    build_model : callable
        Returns the PyMC model (only called when needed).

    Returns
    -------
    idata : arviz.InferenceData
        With ``posterior`` and ``sample_stats``.
    route : str
        ``"nutpie-kernel"``, ``"nutpie-pymc"`` or ``"pymc"``.
    """
    settings.validate()
    want = settings.sampler
    if want in ("auto", "nutpie") and nutpie_available():
        if kernel_model is not None:
            return _sample_kernel(kernel_model, settings), "nutpie-kernel"
        return _sample_nutpie_pymc(build_model(), settings), "nutpie-pymc"
    if want == "nutpie":
        raise ModelError("--sampler nutpie but nutpie is not installed; use --sampler auto or pymc")
    return _sample_pymc(build_model(), settings), "pymc"
