"""Monitor: the reference a bundle stores at training, and the drift of later tables from it.

See ``docs/monitoring.md``. The reference is built by ``build_reference`` from the training
rows; ``measure_drift`` compares a table with it where the table lives and returns a
``DriftReport``, whose ``to_dict()`` ``lathe.report.render_drift`` draws as a page.
"""

from lathe.monitor._bins import Bins
from lathe.monitor._drift import SAMPLE_ROWS, DriftReport, measure_drift
from lathe.monitor._measures import js_distance, psi, shares, wasserstein
from lathe.monitor._reference import KINDS, Reference, build_reference
from lathe.monitor._thresholds import MEASURES, parse_overrides, threshold

__all__ = [
    "KINDS",
    "MEASURES",
    "SAMPLE_ROWS",
    "Bins",
    "DriftReport",
    "Reference",
    "build_reference",
    "js_distance",
    "measure_drift",
    "parse_overrides",
    "psi",
    "shares",
    "threshold",
    "wasserstein",
]
