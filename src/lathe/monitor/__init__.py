"""Monitor: the reference a bundle stores at training, and the drift of later tables from it.

See ``docs/monitoring.md``. The reference is built by ``build_reference`` from the training
rows; ``measure_drift`` compares a table with it where the table lives and returns a
``DriftReport``, whose ``to_dict()`` ``lathe.report.render_drift`` draws as a page. A
prediction log is measured per time window (``model_rows``, ``measure_windows``) and, with
labels, for performance (``performance``): a ``LogReport``, drawn by ``lathe.report.render_log``.
"""

from lathe.monitor._bins import Bins
from lathe.monitor._drift import SAMPLE_ROWS, DriftReport, measure_drift
from lathe.monitor._logged import WINDOWS, model_rows
from lathe.monitor._measures import js_distance, psi, shares, wasserstein
from lathe.monitor._performance import join_labels, keyed_labels, performance
from lathe.monitor._reference import KINDS, Reference, build_reference
from lathe.monitor._thresholds import MEASURES, check_overrides, parse_overrides, threshold
from lathe.monitor._windows import LogReport, measure_windows

__all__ = [
    "KINDS",
    "MEASURES",
    "SAMPLE_ROWS",
    "WINDOWS",
    "Bins",
    "DriftReport",
    "LogReport",
    "Reference",
    "build_reference",
    "check_overrides",
    "join_labels",
    "js_distance",
    "keyed_labels",
    "measure_drift",
    "measure_windows",
    "model_rows",
    "parse_overrides",
    "performance",
    "psi",
    "shares",
    "threshold",
    "wasserstein",
]
