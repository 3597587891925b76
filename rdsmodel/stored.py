"""A saved posterior read without ArviZ, and the models' view of their posterior.

Importing ArviZ costs over a second (its plotting and statistics modules
come with it), while planning from a saved posterior only needs the draws.
:func:`read_groups` therefore reads the NetCDF groups with xarray alone into
a :class:`StoredPosterior`, which answers ``stored.posterior``,
``stored.constant_data``, ... and ``stored.groups()`` like an
``arviz.InferenceData``. The models keep it as it is (:class:`HoldsPosterior`)
and build the InferenceData on first use of ``model.idata``, which only
diagnostics, reports and saving need.
"""

from __future__ import annotations

import os
from typing import Any

import xarray as xr

__all__ = ["HoldsPosterior", "StoredPosterior", "read_groups"]


class StoredPosterior:
    """The groups of a posterior file, as xarray Datasets (an InferenceData without ArviZ).

    Parameters
    ----------
    groups : dict of str to xarray.Dataset
        The file's groups, loaded into memory.
    attrs : dict, optional
        The file's root attributes.
    """

    def __init__(self, groups: dict[str, xr.Dataset], attrs: dict[str, Any] | None = None):
        self._groups = dict(groups)
        self.attrs = dict(attrs or {})

    def groups(self) -> list[str]:
        """The group names, as ``InferenceData.groups()``."""
        return list(self._groups)

    def __contains__(self, name: object) -> bool:
        return name in self._groups

    def __getitem__(self, name: str) -> xr.Dataset:
        return self._groups[name]

    def __getattr__(self, name: str) -> xr.Dataset:
        groups = self.__dict__.get("_groups", {})
        if name in groups:
            return groups[name]
        raise AttributeError(f"the posterior file has no group {name!r}")

    def to_inference_data(self):
        """The same groups (the same Dataset objects) as an ``arviz.InferenceData``."""
        import arviz as az

        return az.InferenceData(attrs=self.attrs, **self._groups)


def read_groups(path: str | os.PathLike) -> StoredPosterior:
    """Read every group of a NetCDF posterior into memory, with xarray and h5netcdf only.

    The file handle is closed on return, so the file can be replaced later.

    Raises
    ------
    OSError, ValueError
        As raised by h5netcdf and xarray for a file that is not NetCDF4/HDF5.
    """
    import h5netcdf

    path = os.fspath(path)
    with h5netcdf.File(path, mode="r") as handle:
        names = list(handle.groups)
    groups = {}
    for name in names:
        with xr.open_dataset(path, group=name, engine="h5netcdf") as data:
            groups[name] = data.load()
    with xr.open_dataset(path, engine="h5netcdf") as root:
        attrs = dict(root.attrs)
    return StoredPosterior(groups, attrs)


class HoldsPosterior:
    """Mixin of the models: the posterior as read (:attr:`stored`) and as InferenceData (:attr:`idata`).

    ``model.idata`` is an ``arviz.InferenceData`` (or ``None`` before a fit);
    after a load it is built from the file's groups on first use. Code on the
    planning path reads :attr:`stored` instead, which never imports ArviZ.
    """

    _stored: Any = None

    @property
    def idata(self):
        """The posterior as an ``arviz.InferenceData`` (``None`` when not fitted)."""
        if isinstance(self._stored, StoredPosterior):
            self._stored = self._stored.to_inference_data()
        return self._stored

    @idata.setter
    def idata(self, value) -> None:
        self._stored = value

    @property
    def stored(self) -> Any:
        """The posterior's groups as held: ``stored.posterior`` etc., without importing ArviZ."""
        return self._stored
