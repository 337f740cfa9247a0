"""Report: what a training run did, as one self-contained HTML page."""

from lathe.report._html import render_report

__all__ = ["render_report"]
