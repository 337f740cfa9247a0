"""Every error lathe raises on purpose, in one tree.

Each message says what was expected, what came, and how to fix it. The CLI prints
the message of any ``LatheError`` without a traceback and exits with status 2.

::

    LatheError
    ├── InvalidParameterError (ValueError)    a bad argument: a budget of 0, an unknown task
    ├── MissingDependencyError (ImportError) an optional extra is not installed; says the install line
    ├── SourceError
    │   ├── SourceNotFoundError (FileNotFoundError)   no such file, table or database
    │   ├── SourceUnreachableError (ConnectionError)  the database server does not answer
    │   ├── SourceAccessError (PermissionError)       the server refused the credentials
    │   ├── SourceReadError (ValueError)      malformed rows, a wrong encoding, a bad query
    │   ├── EmptySourceError (ValueError)
    │   └── ProjectError (ValueError)         a project file's mistake: a bad key, a cut-off without a time
    ├── ColumnNotFoundError (KeyError)        with "did you mean ...?"
    ├── TargetError (ValueError)              a target with one class, all missing, ...
    ├── SchemaMismatchError (ValueError)      rows to score that do not fit the bundle's inputs
    ├── BundleError
    │   ├── BundleNotFoundError (FileNotFoundError)
    │   └── BundleIntegrityError (ValueError) a checksum or the manifest does not match
    ├── RegistryError (LookupError)           no such model or version, nothing to roll back to
    ├── CheckpointError (ValueError)          a --resume folder of another run, or not a checkpoint
    └── ExportError (ValueError)              a transform a format cannot express, an export that does not match
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "BundleError",
    "BundleIntegrityError",
    "BundleNotFoundError",
    "CheckpointError",
    "ColumnNotFoundError",
    "EmptySourceError",
    "ExportError",
    "InvalidParameterError",
    "LatheError",
    "MissingDependencyError",
    "ProjectError",
    "RegistryError",
    "SchemaMismatchError",
    "SourceAccessError",
    "SourceError",
    "SourceNotFoundError",
    "SourceReadError",
    "SourceUnreachableError",
    "TargetError",
    "first_line",
]


class LatheError(Exception):
    """Base of every error lathe raises on purpose."""

    def __str__(self) -> str:
        # KeyError quotes its argument; our messages are sentences, so print them as such.
        return str(self.args[0]) if self.args else ""


class InvalidParameterError(LatheError, ValueError):
    """An argument is out of its allowed range or kind."""


class MissingDependencyError(LatheError, ImportError):
    """An optional extra that a feature needs is not installed."""


class CheckpointError(LatheError, ValueError):
    """A ``--resume`` folder holds the checkpoint of other data or settings, or no checkpoint at all."""


class SourceError(LatheError):
    """Rows could not be read from a source."""


class SourceNotFoundError(SourceError, FileNotFoundError):
    """The file, glob or table named as a source does not exist."""


class SourceUnreachableError(SourceError, ConnectionError):
    """The database server named by a source does not answer."""


class SourceAccessError(SourceError, PermissionError):
    """The database server refused the credentials of a source."""


class SourceReadError(SourceError, ValueError):
    """The source exists but its content cannot be read as a table."""


class EmptySourceError(SourceError, ValueError):
    """The source holds no rows."""


class ProjectError(SourceError, ValueError):
    """A project file cannot be read, or its sources cannot be joined as it declares."""


class ColumnNotFoundError(LatheError, KeyError):
    """A column named by the user is not in the table."""

    @classmethod
    def for_name(cls, name: str, columns: Iterable[str], what: str = "column") -> ColumnNotFoundError:
        """Build the error for ``name``, suggesting the closest of ``columns``."""
        columns = list(columns)
        close = difflib.get_close_matches(name, columns, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        listed = ", ".join(columns[:50]) + (", ..." if len(columns) > 50 else "")
        return cls(f"{what} {name!r} is not in the table.{hint} Columns: {listed}")


class TargetError(LatheError, ValueError):
    """The target column cannot be learned from."""


class SchemaMismatchError(LatheError, ValueError):
    """Rows to score do not match the inputs the bundle was trained on."""


class BundleError(LatheError):
    """A bundle cannot be loaded or saved."""


class BundleNotFoundError(BundleError, FileNotFoundError):
    """No bundle at the given path."""


class BundleIntegrityError(BundleError, ValueError):
    """A bundle's files do not match its manifest."""


class RegistryError(LatheError, LookupError):
    """The registry has no such model or version, or cannot make the change asked for."""


class ExportError(LatheError, ValueError):
    """An export refused: a step its format cannot express, or scores that differ from the bundle's."""


def first_line(exc: BaseException) -> str:
    """The first line of a library's error message (at most 300 characters), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
