"""The documentation's Markdown pages: the README, then the site's pages in the order of its nav."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
CONFIG = ROOT / "mkdocs.yml"


def config() -> dict[str, Any]:
    """mkdocs.yml, as MkDocs reads it (it uses no YAML tags)."""
    loaded: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    return loaded


def site_pages() -> list[Path]:
    """The site's pages, in the order of mkdocs.yml's nav."""
    docs = ROOT / config().get("docs_dir", "docs")
    return [docs / page for page in _flatten(config()["nav"])]


def pages() -> list[Path]:
    """The README, then the site's pages."""
    return [README, *site_pages()]


def _flatten(nav: Any) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _flatten(value)]
    return [page for item in nav for page in _flatten(item)]
