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

import glob
import os
from pathlib import Path

__all__ = ["skip_blas_probe_without_blas"]

_LIBRARIES = ("blas", "cblas", "openblas", "mkl_rt", "flexiblas")
#: Where a linker finds libraries on Linux and macOS (plus LD_LIBRARY_PATH).
_DIRS = (
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/usr/lib/*-linux-gnu",
    "/opt/homebrew/lib",
    "/usr/local/opt/openblas/lib",
)


def _blas_installed() -> bool:
    """Whether a BLAS shared library is in a standard library folder (a glob, no subprocess:
    ``ctypes.util.find_library`` runs ldconfig and the compiler and costs a fifth of a second)."""
    dirs = [*_DIRS, *filter(None, os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep))]
    return any(
        glob.glob(os.path.join(folder, f"lib{name}.{ext}*"))
        for folder in dirs
        for name in _LIBRARIES
        for ext in ("so", "dylib")
    )


def skip_blas_probe_without_blas() -> bool:
    """Set ``blas__ldflags=`` for PyTensor when there is no BLAS to find; return whether it did."""
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    configured = (
        "blas__ldflags" in flags
        or os.environ.get("PYTENSORRC")
        or (Path.home() / ".pytensorrc").exists()
    )
    if configured or _blas_installed():
        return False
    os.environ["PYTENSOR_FLAGS"] = ",".join(part for part in (flags, "blas__ldflags=") if part)
    return True


skip_blas_probe_without_blas()
