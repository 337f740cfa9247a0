"""Checks that an output path can be written, made before any work that would be lost to it.

A command that reads, profiles and trains for its whole budget must not learn only then that
``--out`` names a file, a folder it cannot write in, or a path under a file. These checks touch
nothing: they look at the path and the nearest folder above it that exists.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lathe.errors import InvalidParameterError


def check_output_file(path: str | Path, suffixes: Sequence[str] = (), flag: str = "--out") -> Path:
    """``path`` as a file lathe can write: ending in one of ``suffixes`` (any, if none), not a
    folder, and in a folder that exists or can be created, and can be written in."""
    file = Path(path)
    if suffixes and file.suffix.lower() not in suffixes:
        raise InvalidParameterError(f"{file}: the output file must end in {' or '.join(suffixes)} ({flag})")
    if file.is_dir():
        raise InvalidParameterError(f"{file}: is a folder; {flag} names a file to write; choose a file name")
    check_writable(file.parent, f"choose another {flag}", file)
    return file


def check_output_folder(path: str | Path, flag: str = "--out", *, inside: bool = False) -> Path:
    """``path`` as a folder lathe can write whole: not a file, and its parent (or, with ``inside``,
    the folder itself where it exists) writable or creatable."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise InvalidParameterError(
            f"{folder}: is a file; {flag} names a folder to write; choose a new or empty folder"
        )
    check_writable(folder if inside else folder.parent, f"choose another {flag}", folder)
    return folder


def check_writable(folder: Path, fix: str = "choose another --out", path: Path | None = None) -> None:
    """Raise unless files can be written in ``folder``: it, or the nearest folder above it that
    exists (where the missing ones would be created), is a folder this process may write in.
    ``path``: the output in ``folder`` that the message names (default: ``folder``)."""
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise InvalidParameterError(f"{path or folder}: cannot be created: {existing} is a file, not a folder; {fix}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InvalidParameterError(f"{existing}: cannot be written in (permission denied); {fix}")


def _nearest_existing(folder: Path) -> Path:
    absolute = Path(os.path.abspath(folder))
    for candidate in (absolute, *absolute.parents):
        if candidate.exists():
            return candidate
    return Path(absolute.anchor)
