"""Save and reload fitted posteriors as NetCDF, tied to the study they were fitted on.

A posterior file is an ArviZ ``InferenceData`` written with ``to_netcdf``. Its
``posterior`` group carries, in ``attrs``, everything needed to reuse it
without refitting and to refuse pairing it with the wrong data:

``rdsplan_kind``
    Which model wrote it (``"count"`` or ``"covariates"``).
``rdsplan_version``
    The package version that wrote it.
``rdsplan_config``
    The model configuration (priors, family, covariates, ...) as JSON.
``rdsplan_identity``
    JSON ``{id: digest}`` of what must never change for a fitted respondent:
    recruiter, group and covariate values.
``rdsplan_state``
    JSON ``{id: digest}`` of what legitimately changes as a live study moves on:
    coupons issued, recruits so far, whether the window has closed.

:func:`check_study` compares a table against these: a fitted respondent that is
missing or whose identity changed raises :class:`StudyMismatchError`; new
respondents or a changed state only warn (:class:`StudyChangedWarning`),
because planning the new frontier with yesterday's posterior is legitimate.

No pickle is ever used; files are written atomically (temporary file, rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PosteriorMeta",
    "StudyChangedWarning",
    "StudyMismatchError",
    "atomic_path",
    "check_study",
    "load_inference",
    "package_version",
    "row_digests",
    "save_inference",
]

_DIGEST_CHARS = 16


class StudyMismatchError(ValueError):
    """The table is not the study the posterior was fitted on."""


class StudyChangedWarning(UserWarning):
    """The study has moved on since the fit (new recruits, windows closed)."""


def package_version() -> str:
    """Return the installed version of the ``rdsplan`` distribution."""
    try:
        return metadata.version("rdsplan")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def row_digests(table: pd.DataFrame, columns: Sequence[str], id_column: str = "id") -> dict[str, str]:
    """Hash the given columns of each row, keyed by respondent id.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per respondent; must hold ``id_column`` and ``columns``.
    columns : sequence of str
        Columns whose values make up the digest. Missing values hash as ``"<NA>"``.
    id_column : str
        The respondent id column.

    Returns
    -------
    dict
        ``{id: hex digest}``, 16 hex characters per respondent.
    """
    columns = list(columns)
    if not columns:
        return {str(i): "" for i in table[id_column]}
    parts = [table[c].astype("string").fillna("<NA>").to_numpy(dtype=object) for c in columns]
    joined = parts[0].astype(str)
    for part in parts[1:]:
        joined = np.char.add(np.char.add(joined, "\x1f"), part.astype(str))
    ids = table[id_column].astype(str).to_numpy()
    return {
        rid: hashlib.blake2b(text.encode(), digest_size=_DIGEST_CHARS // 2).hexdigest()
        for rid, text in zip(ids, joined, strict=True)
    }


@dataclass(frozen=True)
class PosteriorMeta:
    """What a posterior file says about itself.

    Attributes
    ----------
    kind : str
        ``"count"`` or ``"covariates"``.
    version : str
        Package version that wrote the file.
    config : dict
        Model configuration stored with the fit.
    identity : dict
        ``{id: digest}`` of recruiter, group and covariates of fitted respondents.
    state : dict
        ``{id: digest}`` of the parts of each row that may change as the study moves on.
    """

    kind: str
    version: str
    config: dict[str, Any]
    identity: dict[str, str]
    state: dict[str, str]


def atomic_path(path: str | os.PathLike) -> _AtomicPath:
    """Context manager yielding a temporary path that replaces ``path`` on success.

    Nothing the user had is lost: if writing fails the old file stays untouched.

    Examples
    --------
    >>> with atomic_path("plan.csv") as tmp:  # doctest: +SKIP
    ...     frame.to_csv(tmp, index=False)
    """
    return _AtomicPath(Path(path))


class _AtomicPath:
    def __init__(self, path: Path):
        self.path = path
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(name)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.tmp is not None
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def save_inference(
    idata,
    path: str | os.PathLike,
    *,
    kind: str,
    config: Mapping[str, Any],
    identity: Mapping[str, str],
    state: Mapping[str, str],
) -> Path:
    """Write ``idata`` to NetCDF with its configuration and study fingerprints.

    Parameters
    ----------
    idata : arviz.InferenceData
        The fitted posterior (and any other groups) to save.
    path : path-like
        Destination; written atomically.
    kind : str
        Which model wrote it, ``"count"`` or ``"covariates"``.
    config : mapping
        JSON-serialisable model configuration.
    identity, state : mapping
        Per-respondent digests, see :func:`row_digests` and the module docstring.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    attrs = idata.posterior.attrs
    attrs["rdsplan_kind"] = kind
    attrs["rdsplan_version"] = package_version()
    attrs["rdsplan_config"] = json.dumps(config, sort_keys=True, default=_json_default)
    attrs["rdsplan_identity"] = json.dumps(dict(identity), sort_keys=True)
    attrs["rdsplan_state"] = json.dumps(dict(state), sort_keys=True)
    path = Path(path)
    with atomic_path(path) as tmp:
        idata.to_netcdf(str(tmp))
    return path


def load_inference(path: str | os.PathLike, *, kind: str | None = None):
    """Load a posterior written by :func:`save_inference`.

    Parameters
    ----------
    path : path-like
        The NetCDF file.
    kind : str, optional
        If given, refuse a file written by another model kind.

    Returns
    -------
    idata : arviz.InferenceData
    meta : PosteriorMeta

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not an rdsplan posterior, or is of another kind.
    """
    import arviz as az

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"posterior file not found: {path}")
    try:
        idata = az.from_netcdf(str(path))
        # Materialise so the file handle is not held open (and can be replaced later).
        idata = idata.load() if hasattr(idata, "load") else idata
    except Exception as err:  # netCDF/HDF5 raise many unrelated types
        raise ValueError(f"{path} is not a readable NetCDF posterior ({err})") from None
    if "posterior" not in idata.groups() or "rdsplan_kind" not in idata.posterior.attrs:
        raise ValueError(f"{path} was not written by rdsplan (no rdsplan attributes in its posterior)")
    attrs = idata.posterior.attrs
    meta = PosteriorMeta(
        kind=str(attrs["rdsplan_kind"]),
        version=str(attrs.get("rdsplan_version", "unknown")),
        config=json.loads(attrs.get("rdsplan_config", "{}")),
        identity=json.loads(attrs.get("rdsplan_identity", "{}")),
        state=json.loads(attrs.get("rdsplan_state", "{}")),
    )
    if kind is not None and meta.kind != kind:
        raise ValueError(f"{path} holds a {meta.kind!r} posterior, expected a {kind!r} posterior")
    return idata, meta


def check_study(
    meta: PosteriorMeta,
    identity: Mapping[str, str],
    state: Mapping[str, str],
    *,
    source: str = "the posterior",
) -> list[str]:
    """Check that a table is the study ``meta`` was fitted on.

    Parameters
    ----------
    meta : PosteriorMeta
        From :func:`load_inference`.
    identity, state : mapping
        The same digests as stored at fit time, computed on the current table.
    source : str
        How to name the posterior in messages.

    Returns
    -------
    list of str
        Descriptions of how the study moved on (empty if unchanged). Each is
        also issued as a :class:`StudyChangedWarning`.

    Raises
    ------
    StudyMismatchError
        If a fitted respondent is missing from the table or changed recruiter,
        group or covariates.
    """
    missing = [rid for rid in meta.identity if rid not in identity]
    if missing:
        raise StudyMismatchError(
            f"{source} was fitted on a different study: {len(missing)} fitted respondent(s) are "
            f"missing from the table (e.g. {_examples(missing)}); refit on this table"
        )
    changed = [rid for rid, digest in meta.identity.items() if identity[rid] != digest]
    if changed:
        raise StudyMismatchError(
            f"{source} was fitted on a different study: recruiter, group or covariates changed for "
            f"{len(changed)} respondent(s) (e.g. {_examples(changed)}); refit on this table"
        )
    notes = []
    new = [rid for rid in identity if rid not in meta.identity]
    if new:
        notes.append(f"{len(new)} respondent(s) joined since the fit (e.g. {_examples(new)})")
    moved = [rid for rid, digest in meta.state.items() if rid in state and state[rid] != digest]
    if moved:
        notes.append(
            f"coupons, recruits or window status changed for {len(moved)} fitted respondent(s) "
            f"(e.g. {_examples(moved)})"
        )
    for note in notes:
        warnings.warn(
            f"the study has moved on since {source} was fitted: {note}; consider refitting",
            StudyChangedWarning,
            stacklevel=2,
        )
    return notes


def _examples(ids: Sequence[str], k: int = 3) -> str:
    shown = ", ".join(map(str, ids[:k]))
    return shown + (", ..." if len(ids) > k else "")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in a posterior's configuration")
