"""Report: what a training run did, and what a table holds, as self-contained HTML pages."""

from lathe.report._holdout import bootstrap_interval, holdout_evaluation
from lathe.report._html import render_report
from lathe.report._profile_page import render_profile

__all__ = ["bootstrap_interval", "holdout_evaluation", "render_profile", "render_report"]
