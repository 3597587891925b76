"""Reading delimited text files as the user wrote them: physical lines, delimiters, headers.

:func:`read_text_table` reads a CSV (or ``;``-, tab-, ``|``-separated) file
with every cell as text and remembers the physical line each record starts on
(blank lines and line breaks inside quoted cells count), so messages can say
"line 12" and mean the line an editor shows. It refuses what pandas would
silently mangle: repeated column names (pandas renames the second ``sex`` to
``sex.1``) and records with more cells than the header has names.

:func:`row_name_columns` finds columns a spreadsheet or R added on its own
(R's row names, written as an unnamed first column holding 1..n) and
unnamed columns, so the readers can leave them out with a note.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rdsmodel.errors import DataError, MissingFileError

__all__ = [
    "NA_TEXT",
    "TextTable",
    "decode",
    "read_text_table",
    "sniff_delimiter",
    "unnamed_columns",
]

#: Cells read as missing (pandas' default NA spellings), compared after trimming spaces.
NA_TEXT = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)
_CANDIDATES = (",", ";", "\t", "|")
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space"}
#: Header names of the column R (``write.csv``), pandas (``to_csv``) or readr write for row names.
ROW_NAME_HEADERS = frozenset({"", "Unnamed: 0", "...1", "X.1"})
STRING = pd.StringDtype()


@dataclass(frozen=True)
class TextTable:
    """A text file read cell by cell.

    Attributes
    ----------
    frame : pandas.DataFrame
        String columns named as in the header (``<NA>`` for empty and NA-like cells).
    lines : numpy.ndarray of int
        Physical line (1-based) on which each record starts.
    delimiter : str
        The field separator used.
    sniffed : bool
        Whether the separator was guessed from the header line.
    """

    frame: pd.DataFrame
    lines: np.ndarray
    delimiter: str
    sniffed: bool

    @property
    def delimiter_name(self) -> str:
        """str: ``"comma"``, ``"semicolon"``, ``"tab"``, ..."""
        return _NAMES.get(self.delimiter, repr(self.delimiter))


def decode(path: str | os.PathLike) -> str:
    """The text of a UTF-8 file (a byte-order mark is fine).

    Raises
    ------
    MissingFileError
        If there is no such file.
    DataError
        If it is a folder, empty, or not UTF-8 text.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"no such file: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            f"{path} is not UTF-8 text (byte {err.start}, line {line}); save it as UTF-8 CSV"
        ) from None
    if "\x00" in text:
        raise DataError(f"{path} holds NUL bytes: it is a binary file, not a text table")
    if not text.strip():
        raise DataError(f"{path} is empty (no header line)")
    return text


def sniff_delimiter(header: str) -> str:
    """Guess the separator from the header line: the most frequent of ``, ; tab |`` (comma on ties).

    Examples
    --------
    >>> sniff_delimiter("id;recruiter_id;coupons_issued")
    ';'
    """
    counts = [header.count(c) for c in _CANDIDATES]
    best = int(np.argmax(counts))
    return _CANDIDATES[best] if counts[best] > 0 else ","


def read_text_table(
    path: str | os.PathLike,
    delimiter: str | None = None,
    *,
    text: str | None = None,
    first_line: int = 1,
) -> TextTable:
    """Read a delimited text file with a header line, every cell as text.

    Parameters
    ----------
    path : path-like
        The file (named in messages).
    delimiter : str, optional
        Field separator; default ``\\t`` for ``.tsv``/``.tab`` files, else sniffed
        from the header line (``,``, ``;``, tab or ``|``).
    text : str, optional
        The file's text from ``first_line`` on, when the caller already read it.
    first_line : int
        Physical line number of the header (for files with lines before it).

    Returns
    -------
    TextTable

    Raises
    ------
    MissingFileError
        If there is no such file.
    DataError
        Empty, not UTF-8, malformed quoting (with the line), a repeated or
        missing header name, or a record with more cells than the header.
    """
    path = Path(path)
    if text is None:
        text = decode(path)
    sniffed = delimiter is None
    if delimiter is None:
        if path.suffix.lower() in (".tsv", ".tab"):
            delimiter, sniffed = "\t", False
        else:
            delimiter = sniff_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    starts: list[int] = []
    previous = 0
    try:
        for record in reader:
            start = previous + 1
            previous = reader.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line
            records.append(record)
            starts.append(start + first_line - 1)
    except csv.Error as err:
        raise DataError(
            f"{path} is not a well-formed CSV file: line {previous + first_line}: {err} "
            "(check the quotes)"
        ) from None
    if not records:
        raise DataError(f"{path} is empty (no header line)")
    header = [name.strip() or f"Unnamed: {j}" for j, name in enumerate(records[0])]
    body = records[1:]
    lines = np.asarray(starts[1:], dtype=np.int64)
    width = len(header)
    _check_header(path, header, starts[0])
    lengths = np.fromiter((len(r) for r in body), dtype=np.int64, count=len(body))
    long = np.flatnonzero(lengths > width)
    if len(long):
        # trailing empty cells (a trailing separator) are harmless
        bad = [i for i in long if any(cell.strip() for cell in body[i][width:])]
        if bad:
            shown = ", ".join(str(lines[i]) for i in bad[:5]) + (", ..." if len(bad) > 5 else "")
            raise DataError(
                f"{path}: line{'s' if len(bad) > 1 else ''} {shown} "
                f"{'have' if len(bad) > 1 else 'has'} {int(lengths[bad[0]])} cells but the header names "
                f"{width} columns; check the separator (read as {_NAMES.get(delimiter, delimiter)}"
                f"{', guessed from the header: pass --delimiter to choose' if sniffed else ''}) and the quotes"
            )
    cells = np.full((len(body), width), "", dtype=object)
    for i, record in enumerate(body):
        n = min(len(record), width)
        cells[i, :n] = record[:n]
    data = {}
    for j in range(width):
        column = pd.Series(cells[:, j], dtype=STRING).str.strip()
        data[j] = column.mask(column.isin(NA_TEXT), pd.NA)
    frame = pd.DataFrame(data)
    frame.columns = header
    return TextTable(frame=frame, lines=lines, delimiter=delimiter, sniffed=sniffed)


def _check_header(path: Path, header: list[str], line: int) -> None:
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(header, start=1):
        seen.setdefault(name, []).append(position)
    repeated = {name: where for name, where in seen.items() if len(where) > 1}
    if repeated:
        parts = [
            f"{name!r} (columns {', '.join(map(str, where))})" for name, where in repeated.items()
        ]
        raise DataError(
            f"{path}: the header (line {line}) repeats column name(s) {'; '.join(parts)}; rename them so "
            "every column has its own name"
        )
    if len(header) == 1 and any(c in header[0] for c in ";\t|"):
        raise DataError(
            f"{path}: the header (line {line}) reads as a single column {header[0]!r}; "
            "pass --delimiter to name the separator"
        )


def unnamed_columns(frame: pd.DataFrame) -> tuple[str | None, list[str]]:
    """Find a column of row names and columns without a name.

    R's ``write.csv`` writes the row names as a first column with an empty
    name (``""``; pandas reads it as ``Unnamed: 0``), holding ``1..n`` (or
    increasing numbers, for a subset of a data frame); pandas' ``to_csv``
    writes ``0..n-1``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read.

    Returns
    -------
    row_names : str or None
        Name of the first column when it holds row names.
    unnamed : list of str
        Other columns with no name (``""`` or ``Unnamed: k``).
    """
    columns = [str(c) for c in frame.columns]
    row_names = None
    if columns and columns[0] in ROW_NAME_HEADERS | {"X"} and len(frame):
        first = frame.iloc[:, 0]
        values = pd.to_numeric(first.astype("string"), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        whole = (
            np.isfinite(values).all() and np.all(values == np.round(values)) and values.min() >= 0
        )
        increasing = whole and bool(np.all(np.diff(values) > 0))
        consecutive = (
            increasing and values[0] in (0.0, 1.0) and values[-1] - values[0] == len(values) - 1
        )
        if (columns[0] != "X" and increasing) or consecutive:
            row_names = columns[0]
    unnamed = [c for c in columns if (c == "" or c.startswith("Unnamed: ")) and c != row_names]
    return row_names, unnamed
