"""Run nutpie's sampler on a PyMC model compiled with PyTensor's C backend.

``nutpie.compile_pymc_model`` compiles the model with Numba, which takes
30-45 s for even the smallest covariate model (and recompiles whenever a
shape changes): more than the whole fitting budget. Here the log-density
and its gradient come from ``Model.logp_dlogp_function`` (the C backend
``pm.sample`` uses, whose compiled operations are cached across models and
shapes) and are handed to nutpie's Rust NUTS through its public
``nutpie.compiled_pyfunc.from_pyfunc`` entry point. The sampler calls back
into Python once per gradient; for models with a few hundred parameters that
costs microseconds.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["compile_c_pyfunc"]


def compile_c_pyfunc(model: Any, var_names: list[str], *, jitter: float = 1.0):
    """A nutpie ``CompiledModel`` for ``model`` with C-compiled logp and gradient.

    Parameters
    ----------
    model : pymc.Model
        Continuous free variables only.
    var_names : list of str
        Free random variables and deterministics stored in the trace.
    jitter : float
        Initial points are the model's initial point plus ``U(-jitter, jitter)``
        on the unconstrained scale (as ``pm.sample``'s ``jitter+adapt_diag``).
    """
    from nutpie.compiled_pyfunc import from_pyfunc

    value_vars = list(model.continuous_value_vars)
    if len(value_vars) != len(model.value_vars):
        raise ValueError(
            "the C-backend nutpie adapter needs a model with continuous variables only"
        )
    ip = model.initial_point(0)
    names = [v.name for v in value_vars]
    shapes = [np.shape(ip[n]) for n in names]
    sizes = [int(np.prod(s)) for s in shapes]
    bounds = np.cumsum([0, *sizes])
    ndim = int(bounds[-1])
    start = np.concatenate([np.asarray(ip[n], dtype=float).ravel() for n in names])

    fn = model.logp_dlogp_function(
        grad_vars=[model.values_to_rvs[v] for v in value_vars], ravel_inputs=True
    )
    fn.set_extra_values({})

    # nutpie runs chains on threads; a compiled PyTensor function keeps its
    # intermediate storage on the function object, so calls are serialised.
    lock = threading.Lock()

    def make_logp_fn():
        def logp(x):
            with lock:
                value, grad = fn(np.asarray(x, dtype=float))
                return float(value), np.array(grad, dtype=float)

        return logp

    from pymc.pytensorf import compile as compile_pytensor

    # Deterministics and constrained variables as functions of the unconstrained values.
    outs = model.replace_rvs_by_values([model[name] for name in var_names])
    expand_fn = compile_pytensor(value_vars, outs, on_unused_input="ignore")
    probe = expand_fn(*[np.asarray(ip[n], dtype=float) for n in names])
    out_shapes = [np.shape(v) for v in probe]

    def make_expand_fn(seed1, seed2, chain):
        def expand(x):
            parts = [
                np.asarray(x[bounds[i] : bounds[i + 1]], dtype=float).reshape(shapes[i])
                for i in range(len(names))
            ]
            with lock:
                values = [np.array(v, dtype=np.float64) for v in expand_fn(*parts)]
            return {
                n: np.ascontiguousarray(v).reshape(s)
                for n, v, s in zip(var_names, values, out_shapes, strict=True)
            }

        return expand

    def make_initial_point(seed):
        rng = np.random.default_rng(seed)
        return start + rng.uniform(-jitter, jitter, size=ndim)

    dims = {name: tuple(model.named_vars_to_dims.get(name, ())) for name in var_names}
    dims = {k: v for k, v in dims.items() if v}
    coords = {k: pd.Index(v) for k, v in model.coords.items() if v is not None}
    return from_pyfunc(
        ndim,
        make_logp_fn,
        make_expand_fn,
        [np.dtype("float64")] * len(var_names),
        out_shapes,
        list(var_names),
        coords=coords,
        dims=dims,
        make_initial_point_fn=make_initial_point,
    )
