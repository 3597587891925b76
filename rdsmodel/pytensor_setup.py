"""PyTensor set-up done once, before PyTensor is imported.

PyTensor looks for a BLAS library the first time it compiles C code: it
compiles and links small test programs against MKL, LAPACK, BLAS and OpenBLAS
in turn, and when none is installed (a pip-only machine) it warns "PyTensor
could not link to a BLAS installation". Our graphs are sampled by nutpie on a
numba kernel or on PyTensor's C backend, and leave the BLAS-heavy ops to
numpy, so on such a machine the probe only costs time and prints a warning the
user can do nothing about. When the user has not configured ``blas__ldflags``
(``PYTENSOR_FLAGS`` or a ``.pytensorrc``) and no BLAS library is on the linker
path, we set it to empty, which is what the probe would conclude. With a BLAS
installed, PyTensor finds and uses it as usual.

Importing this module applies the set-up; the model packages import it first.
"""

from __future__ import annotations

import os
from ctypes.util import find_library
from pathlib import Path

__all__ = ["skip_blas_probe_without_blas"]

_LIBRARIES = ("blas", "cblas", "openblas", "mkl_rt", "flexiblas")


def skip_blas_probe_without_blas() -> bool:
    """Set ``blas__ldflags=`` for PyTensor when there is no BLAS to find; return whether it did."""
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    configured = "blas__ldflags" in flags or os.environ.get("PYTENSORRC") or (
        Path.home() / ".pytensorrc"
    ).exists()
    if configured or any(find_library(name) for name in _LIBRARIES):
        return False
    os.environ["PYTENSOR_FLAGS"] = ",".join(part for part in (flags, "blas__ldflags=") if part)
    return True


skip_blas_probe_without_blas()
