"""The errors ``rdsmodel`` raises for input a user can fix.

Every such error derives from :class:`RdsplanError`; the command line prints
those as one line (exit status 1) and treats anything else as an internal
error. Messages speak the user's language: their own column names and the
command-line flags (``--recruiter-col``, ``--group``), never Python keyword
names.

::

    RdsplanError
    ├── DataError (ValueError)            the field table or a reading option is wrong
    │   └── DataValidationError           validation problems, listed (rdsmodel.data)
    ├── ModelError (ValueError)           a model cannot be built, saved or loaded as asked
    │   └── StudyMismatchError            a posterior and a table are not the same study
    ├── MissingFileError (FileNotFoundError)
    └── OutputError (OSError)             an output cannot be written where the user asked

``DataError`` and ``ModelError`` derive from :class:`ValueError` as well, so
code that caught ``ValueError`` before keeps working.
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "MissingFileError",
    "ModelError",
    "OutputError",
    "RdsplanError",
    "StudyMismatchError",
]


class RdsplanError(Exception):
    """Base of every error a user can fix; the message says what to change."""


class DataError(RdsplanError, ValueError):
    """The field table, or an option saying how to read it, is wrong."""


class ModelError(RdsplanError, ValueError):
    """A model cannot be built, fitted, saved or loaded as asked."""


class StudyMismatchError(ModelError):
    """The table is not the study the posterior was fitted on (or was read differently)."""


class MissingFileError(RdsplanError, FileNotFoundError):
    """A file the user named does not exist."""


class OutputError(RdsplanError, OSError):
    """An output cannot be written where the user asked (a folder is in the way, a file is where a
    folder should be, no permission, the disk is full); the message names the user's path."""
