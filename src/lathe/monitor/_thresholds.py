"""Thresholds calibrated on chunks of the training rows, for a table of any size.

A measure of drift between two samples of the same distribution is not zero: it is noise that
shrinks as the samples grow, as ``s = 1/n + 1/m`` (``n`` rows compared with ``m`` reference
rows) to the power ``POWER`` (1 for PSI, a sum of squares; 1/2 for the others). So a
threshold is kept in noise units, ``units``, and stated for ``n`` rows as
``max(floor, units * s ** power)``.

``units`` is calibrated as NannyML does: the reference rows are cut into chunks at random, each
chunk measured against the whole reference, and the chunks' values (divided by their own
``s``: ``1/c - 1/m`` for a chunk of ``c`` of the ``m`` rows) summed up as their mean plus
``SPREADS`` standard deviations. Where the chunks are few, the large-sample approximation of
the measure's null distribution (PSI about chi-squared) bounds it from below. ``floor`` is
the smallest effect worth an alarm, whatever the size: about a fifth of a standard deviation
of a moved mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lathe.errors import ColumnNotFoundError, InvalidParameterError

MEASURES = ("psi", "js", "wasserstein", "missing", "unseen")
POWER = {"psi": 1.0, "js": 0.5, "wasserstein": 0.5, "missing": 0.5, "unseen": 0.5, "overall": 0.5}
FLOOR = {"psi": 0.05, "js": 0.08, "missing": 0.02, "unseen": 0.01, "overall": 0.08}
WASSERSTEIN_FLOOR = 0.2  # of the reference's standard deviation (from its bins)
SPREADS = 4.0
THEORY_SPREADS = 5.0


def noise(n: int, m: int) -> float:
    """The scale of a measure's noise between ``n`` rows and an independent reference of ``m``."""
    return 1.0 / max(n, 1) + 1.0 / max(m, 1)


def chunk_noise(c: int, m: int) -> float:
    """The same for a chunk of ``c`` of the reference's own ``m`` rows."""
    return max(1.0 / max(c, 1) - 1.0 / max(m, 1), 1e-12)


def calibrated(values: Sequence[float], sizes: Sequence[int], m: int, measure: str, theory: float) -> dict[str, Any]:
    """The threshold of ``measure`` from its ``values`` on chunks of ``sizes`` rows of the ``m``,
    at least ``theory`` noise units: ``{"units", "power", "chunk_mean", "chunk_max"}``."""
    power = POWER[measure]
    units = np.array([v / chunk_noise(c, m) ** power for v, c in zip(values, sizes, strict=True)])
    empirical = float(units.mean() + SPREADS * units.std(ddof=1)) if len(units) > 1 else 0.0
    return {
        "units": max(empirical, theory),
        "power": power,
        "chunk_mean": float(np.mean(values)) if len(values) else 0.0,
        "chunk_max": float(np.max(values)) if len(values) else 0.0,
    }


def psi_theory(bins: int) -> float:
    """PSI's noise units: a chi-squared with ``bins - 1`` degrees of freedom, ``THEORY_SPREADS`` deviations up."""
    freedom = max(bins - 1, 1)
    return freedom + THEORY_SPREADS * math.sqrt(2 * freedom)


def js_theory(bins: int) -> float:
    """Jensen-Shannon distance's: about the square root of PSI / (8 ln 2)."""
    return math.sqrt(psi_theory(bins) / (8 * math.log(2)))


def missing_theory(share: float) -> float:
    """A share's change: ``THEORY_SPREADS`` standard deviations of a binomial share."""
    return THEORY_SPREADS * math.sqrt(share * (1 - share))


def wasserstein_theory(cumulative: np.ndarray, widths: np.ndarray) -> float:
    """Wasserstein's: the sum over the cuts of the spread of the cumulative share there, times the gap."""
    return THEORY_SPREADS * float(np.sum(np.sqrt(cumulative * (1 - cumulative)) * widths))


def threshold(rule: dict[str, Any], n: int, m: int) -> float:
    """The threshold ``rule`` states for ``n`` rows against ``m`` reference rows."""
    if "value" in rule:  # set by hand
        return float(rule["value"])
    if "expected" in rule:  # unseen values: Good-Turing's expected share, its binomial spread, and
        # the small-sample term of Wilson's score bound (a count of a few rare rows is far from normal)
        expected, z = float(rule["expected"]), THEORY_SPREADS
        return max(float(rule["floor"]), expected + z * math.sqrt(expected / max(n, 1)) + z * z / (2 * max(n, 1)))
    scaled: float = float(rule["units"]) * noise(n, m) ** float(rule["power"])
    return max(float(rule["floor"]), scaled)


def parse_overrides(texts: Sequence[str]) -> dict[str, float]:
    """``COL=VALUE`` (the column's PSI threshold) or ``COL:MEASURE=VALUE`` items as a dict."""
    out = {}
    for text in texts:
        name, equals, value = text.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not equals or not name or not math.isfinite(number) or number < 0:
            raise InvalidParameterError(
                f"--threshold {text!r}: expected COL=VALUE or COL:MEASURE=VALUE with a number >= 0 "
                f"(MEASURE one of {', '.join(MEASURES)}), e.g. amount=0.2 or amount:js=0.1"
            )
        out[name] = number
    return out


def overridden(overrides: dict[str, float], name: str, measure: str) -> float | None:
    """The threshold set by hand for ``name``'s ``measure``, if any (``name`` alone sets PSI's)."""
    if f"{name}:{measure}" in overrides:
        return overrides[f"{name}:{measure}"]
    return overrides.get(name) if measure in ("psi", "score") else None


def check_overrides(overrides: dict[str, float], names: Sequence[str]) -> None:
    """Refuse an override that names no column of the reference, or no measure, with a suggestion."""
    for key in overrides:
        column, _, measure = key.rpartition(":")
        if key in names:
            continue
        if column in names and measure not in MEASURES:
            raise InvalidParameterError(f"--threshold {key}: no measure {measure!r}; one of {', '.join(MEASURES)}")
        if column not in names:
            raise ColumnNotFoundError.for_name(key, names, what="--threshold's column")
