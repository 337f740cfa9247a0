"""The documentation holds together: every internal link resolves, and the site builds strictly.

The README and the docs pages are rendered by Python-Markdown with mkdocs.yml's extensions, as
MkDocs renders them, so a heading's anchor here is the id it gets on the site. A page's
``::: module`` blocks become mkdocstrings' documentation of that module, anchored at the module's
path and its members' (``lathe.registry.Registry``); the strict build checks those exactly.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import markdown
import pytest

from tests._pages import CONFIG, README, ROOT, config, pages, site_pages


class _Page(HTMLParser):
    """The ids a rendered page defines and the links it makes."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(str(attributes["id"]))
        link = attributes.get("href") if tag == "a" else attributes.get("src") if tag == "img" else None
        if link:
            self.links.append(link)


def _extensions() -> tuple[list[str], dict[str, Any]]:
    names: list[str] = []
    options: dict[str, Any] = {}
    for item in config()["markdown_extensions"]:
        name = next(iter(item)) if isinstance(item, dict) else item
        if isinstance(item, dict):
            options[name] = item[name] or {}
        names.append(name)
    return names, options


@cache
def _rendered(page: Path) -> tuple[_Page, tuple[str, ...]]:
    text = page.read_text()
    names, options = _extensions()
    parsed = _Page()
    parsed.feed(markdown.Markdown(extensions=names, extension_configs=options).convert(text))
    return parsed, tuple(re.findall(r"^::: *(\S+)", text, flags=re.MULTILINE))


def _has_anchor(page: Path, anchor: str) -> bool:
    parsed, objects = _rendered(page)
    return anchor in parsed.ids or any(anchor == path or anchor.startswith(f"{path}.") for path in objects)


def _resolves(target: Path, anchor: str, within: Path | None) -> bool:
    if (within is not None and not target.is_relative_to(within)) or not target.exists():
        return False
    return not anchor or (target.suffix == ".md" and _has_anchor(target, anchor))


def broken_links(page: Path, within: Path | None = None) -> list[str]:
    """The links of ``page`` to a file that is not there, or to an anchor its page lacks.

    Links with a scheme (``https:``, ``mailto:``) are not followed. With ``within``, a link that
    leaves that folder is broken too (a docs page can only link to what the site holds).
    """
    broken = []
    for link in _rendered(page)[0].links:
        parts = urlsplit(link)
        if parts.scheme or parts.netloc:
            continue
        target = Path(os.path.normpath(page.parent / unquote(parts.path))) if parts.path else page
        if not _resolves(target, unquote(parts.fragment), within):
            broken.append(link)
    return broken


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.name)
def test_every_internal_link_resolves(page: Path) -> None:
    within = None if page == README else ROOT / config().get("docs_dir", "docs")
    assert broken_links(page, within) == []


def test_the_readme_links_to_every_docs_page() -> None:
    linked = {Path(os.path.normpath(README.parent / urlsplit(link).path)) for link in _rendered(README)[0].links}
    assert {page for page in site_pages() if not page.is_symlink()} <= linked


def test_every_docs_page_is_in_the_nav() -> None:
    docs = ROOT / config().get("docs_dir", "docs")
    assert sorted(docs.glob("*.md")) == sorted(site_pages())


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# B\n\n## What happens in `train`\n\n::: lathe.registry\n")
    page = tmp_path / "docs" / "a.md"
    page.write_text(
        "# A\n\n## Here\n\n[ok](#here) [ok](b.md#what-happens-in-train) [ok](b.md#lathe.registry.Registry)"
        " [ok](https://example.org/x.md) [no](#there) [no](b.md#what-happens-in-train_1) [no](c.md)"
        " [no](../README.md) `[no](code.md)`\n"
    )

    assert broken_links(page, tmp_path / "docs") == ["#there", "b.md#what-happens-in-train_1", "c.md", "../README.md"]


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(CONFIG), "--site-dir", str(site)]
    built = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)

    assert built.returncode == 0, built.stderr
    api = (site / "api" / "index.html").read_text()
    assert 'id="lathe.train"' in api
    assert 'id="lathe.registry.Registry"' in api
