"""Samplers for the count model: nutpie on the compiled kernel, nutpie on PyMC, PyMC NUTS.

``sampler="auto"`` (the default) picks the fastest route available:

1. ``"nutpie"`` with the compiled kernel of :mod:`rdsmodel.count.kernel`
   (when nutpie is importable and every prior is one the kernel implements):
   no model compilation at all, a few microseconds per gradient;
2. ``"nutpie"`` on the PyMC model compiled with nutpie's numba backend
   (other priors; costs ~15-30 s of compilation);
3. ``"pymc"``: ``pymc.sample`` (PyMC's NUTS), used when nutpie is missing.

All routes sample the same posterior (the kernel's density and gradient are
tested against PyMC's). The nutpie routes adapt a diagonal plus low-rank mass
matrix (``low_rank=True``, nutpie's ``low_rank_modified_mass_matrix``): it
absorbs the linear ridge between the intercept and the group effects, which
otherwise dominates the effective sample size of large studies.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from rdsmodel.count import kernel
from rdsmodel.count.compression import Cells
from rdsmodel.count.families import Family

__all__ = ["KernelModel", "SamplerSettings", "nutpie_available", "pilot_ncp", "sample"]

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
    target_accept: float = 0.8
    low_rank: bool = True

    def validate(self) -> None:
        """Raise ``ValueError`` for impossible settings."""
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; choose one of {', '.join(SAMPLERS)}")
        for name in ("draws", "chains"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if int(self.tune) < 0:
            raise ValueError(f"tune must be >= 0, got {self.tune}")
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must be in (0, 1), got {self.target_accept}")

    def n_cores(self) -> int:
        """Cores to use: the setting, else ``min(chains, cpu count)``."""
        return int(self.cores or max(1, min(self.chains, os.cpu_count() or 1)))


@dataclass(frozen=True)
class KernelModel:
    """The compressed data and prior table the compiled kernel needs."""

    cells: Cells
    family: Family
    priors: np.ndarray  # (5, 4)
    terms: tuple[str, ...]
    groups: tuple[str, ...] | None
    b0_center: float
    ncp: np.ndarray | None = None  # (G,) non-centring weights in [0, 1]

    @classmethod
    def make(
        cls,
        cells: Cells,
        family: Family,
        prior_table: Mapping[str, np.ndarray],
        terms: Sequence[str],
        groups: Sequence[str] | None,
        b0_center: float,
        ncp: Sequence[float] | np.ndarray | None = None,
    ) -> KernelModel:
        rows = np.zeros((len(_PRIOR_ROWS), 4))
        for i, name in enumerate(_PRIOR_ROWS):
            if name in prior_table:
                rows[i] = prior_table[name]
        n_groups = 0 if groups is None else len(groups)
        flags = np.ones(max(n_groups, 1))
        if ncp is not None and n_groups:
            flags[:] = np.clip(np.asarray(ncp, dtype=float), 0.0, 1.0)
        return cls(cells, family, rows, tuple(terms), None if groups is None else tuple(groups), b0_center,
                   flags)

    @property
    def n_terms(self) -> int:
        return len(self.terms)

    @property
    def n_groups(self) -> int:
        return 0 if self.groups is None else len(self.groups)

    @property
    def ndim(self) -> int:
        grp = self.n_groups + 1 if self.n_groups else 0
        return 1 + self.n_terms + grp + int(self.family.has_phi) + int(self.family.has_psi)

    def logp_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Log posterior (unconstrained) and gradient at ``x``."""
        c = self.cells
        lfact = special.gammaln(np.arange(c.kmax + 1) + 1.0)
        return kernel.logp_grad(
            np.ascontiguousarray(x, dtype=float), c.design, c.group, c.exact, c.censored,
            self.family.code, self.n_groups, self.priors, lfact, self.ncp,
        )

    def expand(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Constrained parameters of an unconstrained point."""
        q, g = self.n_terms, self.n_groups
        out = {"b0": np.asarray(x[0])}
        pos = 1
        if q:
            out["beta"] = np.array(x[pos : pos + q])
            pos += q
        if g:
            v = np.array(x[pos : pos + g])
            sigma_u = float(np.exp(x[pos + g]))
            u = sigma_u ** self.ncp[:g] * v
            z = u / sigma_u
            out.update(z=z, sigma_u=np.asarray(sigma_u), u=u)
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

    c = km.cells
    lfact = special.gammaln(np.arange(c.kmax + 1) + 1.0)
    args = (c.design, c.group, c.exact, c.censored, km.family.code, km.n_groups, km.priors, lfact,
            km.ncp)
    fn = kernel.logp_grad

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


def pilot_ncp(
    km: KernelModel, settings: SamplerSettings, *, tune: int = 200, draws: int = 200, quantile: float = 0.25
) -> np.ndarray:
    r"""Non-centring weights from a short non-centred pilot run on the kernel.

    For a normal group effect with prior sd :math:`\sigma` and likelihood sd
    :math:`d_g`, the partially non-centred parametrisation that makes the
    sampled variable independent of :math:`\sigma` has
    :math:`w_g = 1 / (1 + \sigma^2 / d_g^2) = s_g^2 / \sigma^2` with
    :math:`s_g^2` the posterior variance of :math:`u_g` (Papaspiliopoulos,
    Roberts & Sköld, 2007). The pilot estimates :math:`s_g^2` from two short
    chains and puts a low posterior quantile of :math:`\sigma` (10%) in the
    denominator: where :math:`\sigma` is uncertain its small values, where a
    centred effect would funnel, push the weight towards non-centring.
    Covariates confounded with groups, which no formula on counts alone sees,
    are accounted for.

    Returns
    -------
    numpy.ndarray
        ``(G,)`` weights in [0, 1].
    """
    import dataclasses

    pilot = dataclasses.replace(km, ncp=np.ones_like(km.ncp))
    small = dataclasses.replace(settings, draws=draws, tune=tune, chains=2, progressbar=False,
                                seed=int(settings.seed) + 7919)
    idata = _sample_kernel(pilot, small)
    u = np.asarray(idata.posterior["u"].values).reshape(-1, km.n_groups)
    sigma2 = float(np.quantile(np.asarray(idata.posterior["sigma_u"].values), quantile)) ** 2
    return np.clip(u.var(axis=0) / max(sigma2, 1e-12), 0.0, 1.0)


def sample(settings: SamplerSettings, *, kernel_model: KernelModel | None, build_model) -> tuple[object, str]:
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
        raise ValueError("sampler='nutpie' but nutpie is not installed; use sampler='auto' or 'pymc'")
    return _sample_pymc(build_model(), settings), "pymc"
