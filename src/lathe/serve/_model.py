"""The served model and its registry watcher: ``lathe._following``, shared with ``lathe stream``."""

from __future__ import annotations

from lathe._following import Holder, Watcher, followed, served, warm

__all__ = ["Holder", "Watcher", "followed", "served", "warm"]
