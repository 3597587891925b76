"""Save and reload fitted posteriors as NetCDF, tied to the study they were fitted on.

A posterior file is an ArviZ ``InferenceData`` written with ``to_netcdf``. Its
``posterior`` group carries, in ``attrs``, everything needed to rebuild the
model without refitting and to refuse pairing it with the wrong data:

``rdsplan_kind``
    Which model wrote it (``"count"`` or ``"covariates"``).
``rdsplan_version``
    The package version that wrote it.
``rdsplan_layout``
    ``2`` for files that store the items below; files without it were written
    before reading options were stored (they still load, see :func:`check_table`).
``rdsplan_config``
    The model configuration (priors, family, covariates, ...) as JSON.
``rdsplan_init``
    The model's constructor arguments (all of them but the data) as JSON: the
    model is reloaded through its constructor (:func:`require_init`).
``rdsplan_reading``
    The reading options of the study (format, every column option with the
    user's own column names, window, cut-off) as JSON: later commands reread
    the study with them.
``rdsplan_columns``
    One digest per named column: ``{canonical: {"column": user's name,
    "digest": hex}}`` for the recruiter, the group and every covariate, over
    the fitted respondents (:func:`column_digest`).
``rdsplan_identity``
    JSON ``{id: digest}`` of what must never change for a fitted respondent:
    recruiter, group and covariate values (hashed by column name).
``rdsplan_state``
    JSON ``{id: digest}`` of what legitimately changes as a live study moves on:
    coupons issued, recruits so far, whether the window has closed.

:func:`check_table` compares a table against these: a table read with other
options, a changed column, or a fitted respondent that is missing or changed
raises :class:`~rdsmodel.errors.StudyMismatchError` naming the option or the
column and what to do; new respondents or a changed state only warn
(:class:`StudyChangedWarning`), because planning the new frontier with
yesterday's posterior is legitimate.

No pickle is ever used; files are written atomically (temporary file, rename).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rdsmodel.errors import (
    MissingFileError,
    ModelError,
    OutputError,
    RdsplanError,
    StudyMismatchError,
)
from rdsmodel.stored import StoredPosterior, read_groups

__all__ = [
    "LAYOUT",
    "PosteriorMeta",
    "StudyChangedWarning",
    "StudyMismatchError",
    "StudyRecord",
    "atomic_path",
    "check_reading",
    "check_study",
    "check_table",
    "check_writable",
    "column_digest",
    "load_inference",
    "load_stored",
    "output_folder",
    "package_version",
    "rebuild",
    "require_init",
    "row_digests",
    "save_inference",
    "study_record",
]

_DIGEST_CHARS = 16
#: Layout of the attributes this version writes (see the module docstring).
LAYOUT = 2
_ROLES = {
    "recruiter_id": ("the recruiter column", "--recruiter-col"),
    "group": ("the group column", "--group"),
}


class StudyChangedWarning(UserWarning):
    """The study has moved on since the fit (new recruits, windows closed)."""


def package_version() -> str:
    """Return the installed version of the ``rdsplan`` distribution."""
    try:
        return metadata.version("rdsplan")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def _cells(table: pd.DataFrame, column: str) -> np.ndarray:
    return table[column].astype("string").fillna("<NA>").to_numpy(dtype=object).astype(str)


def row_digests(
    table: pd.DataFrame, columns: Sequence[str], id_column: str = "id", *, names: bool = False
) -> dict[str, str]:
    """Hash the given columns of each row, keyed by respondent id.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per respondent; must hold ``id_column`` and ``columns``.
    columns : sequence of str
        Columns whose values make up the digest. Missing values hash as ``"<NA>"``.
    id_column : str
        The respondent id column.
    names : bool
        Hash ``name=value`` instead of the bare values, so a digest says which
        column held which value.

    Returns
    -------
    dict
        ``{id: hex digest}``, 16 hex characters per respondent.
    """
    columns = list(columns)
    if not columns:
        return {str(i): "" for i in table[id_column]}
    parts = [_cells(table, c) for c in columns]
    if names:
        parts = [np.char.add(f"{c}=", part) for c, part in zip(columns, parts, strict=True)]
    joined = parts[0]
    for part in parts[1:]:
        joined = np.char.add(np.char.add(joined, "\x1f"), part)
    ids = table[id_column].astype(str).to_numpy()
    return {
        rid: hashlib.blake2b(text.encode(), digest_size=_DIGEST_CHARS // 2).hexdigest()
        for rid, text in zip(ids, joined, strict=True)
    }


def column_digest(table: pd.DataFrame, column: str, id_column: str = "id") -> str:
    """Digest of one column over the respondents of ``table``, independent of row order.

    The ``(id, value)`` pairs are sorted by id and hashed, so the digest names
    the column's content for those respondents, whatever the column's
    position or the order of the rows.

    Parameters
    ----------
    table : pandas.DataFrame
        Must hold ``id_column`` and ``column``.
    column : str
    id_column : str

    Returns
    -------
    str
        32 hex characters.
    """
    ids = table[id_column].astype(str).to_numpy()
    order = np.argsort(ids, kind="stable")
    values = _cells(table, column)[order]
    text = "\x1e".join(np.char.add(np.char.add(ids[order].astype(str), "\x1f"), values).tolist())
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class StudyRecord:
    """What a posterior remembers of its study.

    Attributes
    ----------
    reading : dict or None
        :meth:`rdsmodel.data.ReadingOptions.to_dict` of how the study was read.
    columns : dict
        ``{canonical: {"column": user's name, "digest": hex}}`` per identity column.
    identity : dict
        ``{id: digest}`` of the identity columns (hashed by name).
    state : dict
        ``{id: digest}`` of coupons issued, recruits and window status.
    """

    reading: dict[str, Any] | None
    columns: dict[str, dict[str, str]]
    identity: dict[str, str]
    state: dict[str, str]


def study_record(data: Any) -> StudyRecord:
    """The :class:`StudyRecord` of a :class:`rdsmodel.data.RecruitmentData`."""
    reading = getattr(data, "reading", None)
    return StudyRecord(
        reading=None if reading is None else reading.to_dict(),
        columns=data.column_digests(),
        identity=data.identity_digests(),
        state=data.state_digests(),
    )


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
    reading : dict or None
        The study's reading options (``None`` in files written before they were stored).
    columns : dict or None
        One digest per named column (``None`` in older files).
    init : dict or None
        The model's constructor arguments (``None`` in older files).
    layout : int
        :data:`LAYOUT` of the file (1 for files written before reading options were stored).
    """

    kind: str
    version: str
    config: dict[str, Any]
    identity: dict[str, str]
    state: dict[str, str]
    reading: dict[str, Any] | None = None
    columns: dict[str, dict[str, str]] | None = None
    init: dict[str, Any] | None = None
    layout: int = LAYOUT

    @property
    def record(self) -> StudyRecord:
        """StudyRecord: the study part of the metadata."""
        return StudyRecord(self.reading, self.columns or {}, self.identity, self.state)


def atomic_path(path: str | os.PathLike) -> _AtomicPath:
    """Context manager yielding a temporary path that replaces ``path`` on success.

    Nothing the user had is lost: if writing fails the old file stays untouched.
    Missing folders on the way to ``path`` are created (every ``rdsplan``
    command that writes does so). A path that cannot be written (a folder,
    a file where a folder should be, no permission, a full disk) raises
    :class:`~rdsmodel.errors.OutputError` naming ``path``, never the
    temporary file.

    Examples
    --------
    >>> with atomic_path("plan.csv") as tmp:  # doctest: +SKIP
    ...     frame.to_csv(tmp, index=False)
    """
    return _AtomicPath(Path(path))


def _blocking_file(folder: Path) -> Path | None:
    """The nearest of ``folder`` and its parents that exists but is not a folder."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def output_folder(path: str | os.PathLike) -> Path:
    """Create the output folder ``path`` (with missing parents), or refuse naming what is in the way.

    Raises
    ------
    OutputError
        When ``path`` or one of its parents is a file, or the folder cannot be created.
    """
    path = Path(path)
    blocker = _blocking_file(path)
    if blocker == path:
        raise OutputError(f"{path} exists and is not a folder; name a folder for the output")
    if blocker is not None:
        raise OutputError(f"cannot create the folder {path}: {blocker} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create the folder {path}: {err.strerror or err}") from None
    return path


def check_writable(path: str | os.PathLike) -> Path:
    """Refuse, before any work, an output file that could not be written at the end.

    Creates the missing folders on the way (as the write would) and tries a
    temporary file beside ``path``, removed at once; ``path`` itself is not touched.

    Raises
    ------
    OutputError
        When ``path`` is a folder, a file is in the way of its folder, or the
        folder is not writable.
    """
    path = Path(path)
    os.unlink(_temporary_beside(path))
    return path


def _temporary_beside(path: Path) -> Path:
    """An empty temporary file in ``path``'s folder (created if missing), or :class:`OutputError`."""
    if path.is_dir():
        raise OutputError(f"{path} is a folder; name a file to write")
    output_folder(path.parent)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise OutputError(
            f"cannot write {path}: the folder {path.parent} is not writable ({err.strerror or err})"
        ) from None
    os.close(fd)
    return Path(name)


class _AtomicPath:
    def __init__(self, path: Path):
        self.path = path
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        self.tmp = _temporary_beside(self.path)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.tmp is not None
        if exc_type is None:
            try:
                os.chmod(self.tmp, _mode_for(self.path))
                os.replace(self.tmp, self.path)
            except OSError as err:
                self.tmp.unlink(missing_ok=True)
                raise OutputError(f"cannot write {self.path}: {err.strerror or err}") from None
        else:
            self.tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError) and not isinstance(exc, RdsplanError):
                # e.g. a full disk while writing: name the user's file, not the temporary one
                raise OutputError(
                    f"could not write {self.path} ({exc.strerror or exc}); any previous "
                    "file there is unchanged"
                ) from exc


def _mode_for(path: Path) -> int:
    """Permissions of a new file as ``open`` would give it (0666 minus the umask), or those of
    the file it replaces: the temporary file's private 0600 must not leak into the result."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def require_init(
    cls: type, init: Mapping[str, Any], *, exclude: Sequence[str] = ("self", "data")
) -> None:
    """Refuse to save a model whose constructor arguments are not all stored.

    pymc-marketing's ``ModelIO`` rule: a saved model reloads through
    ``cls(**init)``, so every parameter of ``cls.__init__`` (but the data)
    must be in ``init``.

    Parameters
    ----------
    cls : type
        The model class.
    init : mapping
        The constructor arguments about to be stored.
    exclude : sequence of str
        Parameters that are not stored (the data).

    Raises
    ------
    ModelError
        Naming the missing arguments.
    """
    params = [
        name
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name not in exclude and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    missing = [name for name in params if name not in init]
    if missing:
        raise ModelError(
            f"cannot save this {cls.__name__}: constructor argument(s) {', '.join(missing)} are not stored, "
            "so the file would not reload as the same model"
        )


def save_inference(
    idata,
    path: str | os.PathLike,
    *,
    kind: str,
    config: Mapping[str, Any],
    identity: Mapping[str, str],
    state: Mapping[str, str],
    init: Mapping[str, Any] | None = None,
    reading: Mapping[str, Any] | None = None,
    columns: Mapping[str, Mapping[str, str]] | None = None,
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
    init : mapping, optional
        The model's constructor arguments (JSON-serialisable).
    reading : mapping, optional
        The study's reading options (:meth:`ReadingOptions.to_dict`).
    columns : mapping, optional
        One digest per named column (:meth:`RecruitmentData.column_digests`).

    Returns
    -------
    pathlib.Path
        The written path.
    """
    attrs = idata.posterior.attrs
    attrs["rdsplan_kind"] = kind
    attrs["rdsplan_version"] = package_version()
    attrs["rdsplan_layout"] = LAYOUT
    attrs["rdsplan_config"] = _dumps(config)
    attrs["rdsplan_identity"] = json.dumps(dict(identity), sort_keys=True)
    attrs["rdsplan_state"] = json.dumps(dict(state), sort_keys=True)
    for key, value in (
        ("rdsplan_init", init),
        ("rdsplan_reading", reading),
        ("rdsplan_columns", columns),
    ):
        if value is None:
            attrs.pop(key, None)
        else:
            attrs[key] = _dumps(value)
    path = Path(path)
    with atomic_path(path) as tmp:
        idata.to_netcdf(str(tmp))
    return path


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=_json_default)


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
    MissingFileError
        If the file does not exist.
    ModelError
        If the file is not an rdsplan posterior, is of another kind, or its
        attributes are damaged.
    """
    stored, meta = load_stored(path, kind=kind)
    return stored.to_inference_data(), meta


def load_stored(
    path: str | os.PathLike, *, kind: str | None = None
) -> tuple[StoredPosterior, PosteriorMeta]:
    """:func:`load_inference` without ArviZ: the groups as a :class:`rdsmodel.stored.StoredPosterior`.

    What the models keep after :meth:`load`; planning from a saved posterior
    reads the draws from it and never imports ArviZ.

    Raises
    ------
    MissingFileError, ModelError
        As :func:`load_inference`.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"posterior file not found: {path}")
    if path.is_dir():
        raise ModelError(f"{path} is a folder, not a posterior file")
    try:
        stored = read_groups(path)
    except Exception as err:  # netCDF/HDF5 raise many unrelated types
        raise ModelError(
            f"{path} is not a readable NetCDF posterior ({type(err).__name__}: {err})"
        ) from None
    if "posterior" not in stored.groups() or "rdsplan_kind" not in stored.posterior.attrs:
        raise ModelError(
            f"{path} was not written by rdsplan (no rdsplan attributes in its posterior)"
        )
    attrs = stored.posterior.attrs
    try:
        meta = PosteriorMeta(
            kind=str(attrs["rdsplan_kind"]),
            version=str(attrs.get("rdsplan_version", "unknown")),
            config=json.loads(attrs.get("rdsplan_config", "{}")),
            identity=json.loads(attrs.get("rdsplan_identity", "{}")),
            state=json.loads(attrs.get("rdsplan_state", "{}")),
            reading=_loads(attrs, "rdsplan_reading"),
            columns=_loads(attrs, "rdsplan_columns"),
            init=_loads(attrs, "rdsplan_init"),
            layout=int(attrs.get("rdsplan_layout", 1)),
        )
    except (TypeError, ValueError) as err:  # json.JSONDecodeError is a ValueError
        raise ModelError(f"{path}: the rdsplan attributes are damaged ({err}); refit") from None
    if meta.layout > LAYOUT:
        raise ModelError(
            f"{path} was written by rdsplan {meta.version} in a newer layout ({meta.layout}); "
            f"upgrade rdsplan (this is {package_version()}) or refit"
        )
    if kind is not None and meta.kind != kind:
        raise ModelError(f"{path} holds a {meta.kind!r} posterior, expected a {kind!r} posterior")
    return stored, meta


def _loads(attrs: Mapping[str, Any], key: str) -> Any:
    return json.loads(attrs[key]) if key in attrs else None


def check_study(
    meta: PosteriorMeta,
    identity: Mapping[str, str],
    state: Mapping[str, str],
    *,
    source: str = "the posterior",
    advice: str = "refit on this table",
) -> list[str]:
    """Check per-respondent digests of a table against those stored in ``meta``.

    Parameters
    ----------
    meta : PosteriorMeta
        From :func:`load_inference`.
    identity, state : mapping
        The same digests as stored at fit time, computed on the current table.
    source : str
        How to name the posterior in messages.
    advice : str
        What to do, ending the mismatch messages.

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
            f"missing from the table (e.g. {_examples(missing)}); {advice}"
        )
    changed = [rid for rid, digest in meta.identity.items() if identity[rid] != digest]
    if changed:
        raise StudyMismatchError(
            f"{source} was fitted on a different study: recruiter, group or covariates changed for "
            f"{len(changed)} respondent(s) (e.g. {_examples(changed)}); {advice}"
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
            stacklevel=3,
        )
    return notes


def _column_label(canonical: str, column: str) -> str:
    role, _ = _ROLES.get(canonical, ("covariate", "--covariates"))
    if canonical in _ROLES:
        return f"{role} {column!r}"
    return f"covariate {column!r}"


def check_reading(meta: PosteriorMeta, data: Any) -> None:
    """Refuse a table read with other options than the study of ``meta`` (naming the flags).

    Options that may change between reads (:data:`rdsmodel.data.OVERRIDABLE`:
    cut-off, separator, time format) are not compared. Nothing is checked when
    either side has no reading options (files of older versions, tables
    built by hand).

    Raises
    ------
    StudyMismatchError
        E.g. "the posterior was fitted with --group site; this table was read
        without --group: pass --group site or omit the reading flags".
    """
    actual = getattr(data, "reading", None)
    if meta.reading is None or actual is None:
        return
    from rdsmodel.data.options import ReadingOptions, read_differs

    try:
        stored = ReadingOptions.from_dict(meta.reading)
    except ValueError as err:
        raise ModelError(
            f"the posterior's reading options cannot be read by this version ({err}); refit"
        ) from None
    differ = stored.differences(actual)
    if differ:
        raise StudyMismatchError(
            "; ".join(
                read_differs(name, getattr(stored, name), getattr(actual, name)) for name in differ
            )
        )


def check_table(meta: PosteriorMeta, data: Any, *, source: str = "the posterior") -> list[str]:
    """Check that ``data`` is the study ``meta`` was fitted on, read the same way.

    In order: the reading options (a table read with another ``--group``,
    ``--covariates``, format or column option is refused naming the flag),
    the respondents (every fitted one must be present), one digest per named
    column over the fitted respondents (a changed column is named), then
    each fitted respondent's recruiter, group and covariates. New respondents
    and changed coupons, recruits or windows only warn.

    Parameters
    ----------
    meta : PosteriorMeta
    data : rdsmodel.data.RecruitmentData
    source : str
        How to name the posterior in messages.

    Returns
    -------
    list of str
        How the study moved on (also warned as :class:`StudyChangedWarning`).

    Raises
    ------
    StudyMismatchError
        Naming the option or column that differs and what to do.
    """
    if meta.layout < 2 or meta.columns is None:
        return check_study(
            meta,
            data.identity_digests(legacy=True),
            data.state_digests(),
            source=source,
            advice=(
                f"{source} was written by rdsplan {meta.version}, which did not store how the study was read: "
                "read the table with the options used for the fit, or refit"
            ),
        )
    check_reading(meta, data)
    ids = set(data.ids.astype(str))
    missing = [rid for rid in meta.identity if rid not in ids]
    if missing:
        raise StudyMismatchError(
            f"{source} was fitted on a different study: {len(missing)} fitted respondent(s) are missing from "
            f"the table (e.g. {_examples(missing)}); plan on the table the posterior was fitted on (rows may "
            "be added, not removed), or refit on this table"
        )
    present = set(data.identity_columns)
    absent = [name for name in meta.columns if name not in present]
    if absent:
        parts = [
            f"{_column_label(n, meta.columns[n]['column'])} ({_ROLES.get(n, ('', '--covariates'))[1]})"
            for n in absent
        ]
        raise StudyMismatchError(
            f"{source} was fitted with {', '.join(parts)}, which this table was read without: read it with the "
            "posterior's options (omit the reading flags on the command line), or refit"
        )
    current = data.column_digests(list(meta.identity))
    changed = [
        name for name, entry in meta.columns.items() if current[name]["digest"] != entry["digest"]
    ]
    identity = data.identity_digests(sorted(meta.columns))
    if changed:
        rows = [rid for rid, digest in meta.identity.items() if identity.get(rid) != digest]
        labels = ", ".join(_column_label(n, meta.columns[n]["column"]) for n in changed)
        raise StudyMismatchError(
            f"{source} was fitted on a different study: the values of {labels} differ for "
            f"{len(rows)} fitted respondent(s) (e.g. {_examples(rows)}); plan on the table the posterior "
            "was fitted on, or refit on this table"
        )
    return check_study(meta, identity, data.state_digests(), source=source)


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
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"cannot store {type(value).__name__} in a posterior's configuration")


def rebuild(
    cls: type,
    path: str | os.PathLike,
    *,
    kind: str,
    legacy_init: Callable[[Mapping[str, Any]], dict[str, Any]],
    clean_init: Callable[[dict[str, Any]], dict[str, Any]] = lambda init: init,
):
    """Load a saved model through its constructor (pymc-marketing's ``ModelIO`` pattern).

    Reads the file (:func:`load_inference`), rebuilds the model as
    ``cls(None, **init)`` from the stored constructor arguments (or, for files
    written before those were stored, ``legacy_init(config)``), restores the
    reading options, and hands the posterior to ``model._attach``.

    Raises
    ------
    rdsmodel.errors.ModelError
        When the stored arguments no longer build a model (refit).
    """
    idata, meta = load_stored(path, kind=kind)
    init = dict(meta.init) if meta.init is not None else legacy_init(meta.config)
    try:
        model = cls(None, **clean_init(init))
        reading = None
        if meta.reading is not None:
            from rdsmodel.data import ReadingOptions

            reading = ReadingOptions.from_dict(meta.reading)
    except (KeyError, TypeError, ValueError) as err:
        raise ModelError(
            f"{path} was written by rdsplan {meta.version} and cannot be rebuilt by this "
            f"version ({type(err).__name__}: {err}); refit"
        ) from None
    model._attach(idata, meta, reading)
    return model
