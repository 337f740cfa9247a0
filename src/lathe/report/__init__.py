"""Report: what a training run did, what a table holds, how a later table drifted, a prediction
log's drift and performance over time, and how a retrained model compared, as self-contained HTML
pages."""

from lathe.report._drift_page import render_drift
from lathe.report._holdout import bootstrap_interval, holdout_evaluation
from lathe.report._html import render_report
from lathe.report._log_page import render_log
from lathe.report._profile_page import render_profile
from lathe.report._retrain_page import render_retrain

__all__ = [
    "bootstrap_interval",
    "holdout_evaluation",
    "render_drift",
    "render_log",
    "render_profile",
    "render_report",
    "render_retrain",
]
