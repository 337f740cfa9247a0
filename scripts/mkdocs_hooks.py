"""MkDocs hooks (mkdocs.yml names this file): doctest examples in docstrings shown as code.

lathe's docstrings give their examples as bare ``>>>`` lines, as doctest reads them. Markdown would
take those for nested block quotes, so a preprocessor fences each run of them (up to the next blank
line, their output included) as a ``pycon`` block, without the ``# doctest:`` directives. It is
registered before mkdocstrings reads the Markdown extensions, so the API page gets it too.
"""

from __future__ import annotations

import re
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor
from mkdocs.plugins import event_priority

_DIRECTIVE = re.compile(r"\s*# doctest:.*$")


class _DoctestFences(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fenced = doctest = False
        for line in lines:
            if not doctest and line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            elif not fenced and not doctest and line.lstrip().startswith(">>>"):
                out.append("```pycon")
                doctest = True
            elif doctest and not line.strip():
                out.append("```")
                doctest = False
            out.append(_DIRECTIVE.sub("", line) if doctest else line)
        return [*out, "```"] if doctest else out


class DoctestFences(Extension):
    """Fences bare ``>>>`` examples as ``pycon`` code blocks."""

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Python-Markdown's name)
        # After whitespace is normalised (30), before fenced code blocks are read (25).
        md.preprocessors.register(_DoctestFences(md), "doctest_fences", 29)


@event_priority(100)
def on_config(config: Any) -> Any:
    config.markdown_extensions.append(DoctestFences())
    return config
