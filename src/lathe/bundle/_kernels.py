"""The compiled scorer's loops (numba): a feature program run over raw columns, then a model of
flat node arrays, one row at a time, without a Python object in sight.

A feature program is a table of operations, one row per fitted transform: ``(op, slot, made,
width, ints, floats)``. ``op`` says what it does (``NUMBER``, ``LOOKUP``, ``DATE``), ``slot`` which
input it reads, ``made`` the position of its first output among every step's outputs (``keep``
maps a position to the feature's column, or -1 where the feature was dropped), ``width`` how many
outputs it makes, and ``ints``/``floats`` where its parameters start in the shared parameter arrays.

- ``NUMBER``: a number (``numbers[slot]``), missing where not finite, filled with ``floats[0]``;
  width 2 adds the missing flag.
- ``LOOKUP``: a string step, its outputs per distinct value worked out once per batch; reads the
  value's code in ``codes[ints[0]]`` (-1 missing) and copies row ``code + 1`` of its table, which
  starts at ``starts[slot]`` in ``tables``.
- ``DATE``: a timestamp (``stamps[slot]``, nanoseconds since 1970, ``NAT`` missing) as calendar
  parts (see ``DateParts``): ``ints`` = parts, their ids first; then the cyclic ones, each as its
  position among the parts and its cycle; then whether the days elapsed come, then the missing
  flag. ``floats`` = the parts' fills, the reference day, the elapsed fill, then per cyclic part its
  sines and cosines (``lathe.features.waves``): one per value, then the fill's.

The model (``lathe.search.Trees``, ``Affine``): ``bias + weights @ x +
logged @ signed_log(x[logged_features])``
per margin, plus each tree's leaf, walked from ``roots[t]`` (``feature`` -1 at a leaf; ``flags``
bit 1 the split's default goes left, bit 2 zero counts as missing).
"""

from __future__ import annotations

import numba
import numpy as np

NUMBER, LOOKUP, DATE = 0, 1, 2
NAT = np.iinfo(np.int64).min
ZERO = 1e-35  # LightGBM's kZeroThreshold (lathe.search.ZERO)
DAY_NS = 86_400_000_000_000
LOWEST = (0, 1, 1, 0, 0, 0)  # per part id (year, month, day, weekday, hour, minute): its smallest value


@numba.njit(cache=True, nogil=True)
def _civil(days: int) -> tuple[int, int, int]:
    """Year, month and day of ``days`` since 1970-01-01 (Howard Hinnant's ``civil_from_days``)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day


@numba.njit(cache=True, nogil=True)
def _part(stamp: int, part: int) -> float:
    """Calendar part ``part`` (an id, see ``LOWEST``) of a timestamp in nanoseconds."""
    days = stamp // DAY_NS
    seconds = (stamp - days * DAY_NS) // 1_000_000_000
    if part == 3:
        return float((days + 3) % 7)  # 1970-01-01 was a Thursday; Monday is 0
    if part == 4:
        return float(seconds // 3600)
    if part == 5:
        return float((seconds % 3600) // 60)
    year, month, day = _civil(days)
    return float(year if part == 0 else month if part == 1 else day)


@numba.njit(cache=True, nogil=True)
def _put(x: np.ndarray, keep: np.ndarray, made: int, value: float) -> None:
    at = keep[made]
    if at >= 0:
        x[at] = value


@numba.njit(cache=True, nogil=True)
def _date(
    x: np.ndarray, keep: np.ndarray, made: int, stamp: int, ints: np.ndarray, i: int, floats: np.ndarray, f: int
) -> None:
    missing = stamp == NAT
    parts = ints[i]
    filled = np.empty(parts)
    for p in range(parts):
        filled[p] = floats[f + p] if missing else _part(stamp, ints[i + 1 + p])
        _put(x, keep, made + p, filled[p])
    out, at, waves = made + parts, i + 1 + parts, f + parts + 2
    cyclic = ints[at]
    for c in range(cyclic):
        position, cycle = ints[at + 1 + 2 * c], ints[at + 2 + 2 * c]
        value = cycle if missing else int(filled[position]) - LOWEST[ints[i + 1 + position]]
        _put(x, keep, out, floats[waves + value])
        _put(x, keep, out + 1, floats[waves + cycle + 1 + value])
        out, waves = out + 2, waves + 2 * (cycle + 1)
    at += 1 + 2 * cyclic
    if ints[at]:
        _put(x, keep, out, floats[f + parts + 1] if missing else float(stamp) / 86_400e9 - floats[f + parts])
        out += 1
    if ints[at + 1]:
        _put(x, keep, out, 1.0 if missing else 0.0)


@numba.njit(cache=True, nogil=True)
def _features(
    r: int, x: np.ndarray, numbers: np.ndarray, stamps: np.ndarray, codes: np.ndarray, tables: np.ndarray,
    starts: np.ndarray, ops: np.ndarray, ints: np.ndarray, floats: np.ndarray, keep: np.ndarray,
) -> None:  # fmt: skip
    """Row ``r``'s features into ``x``."""
    for o in range(ops.shape[0]):
        op, slot, made, width, i, f = ops[o, 0], ops[o, 1], ops[o, 2], ops[o, 3], ops[o, 4], ops[o, 5]
        if op == NUMBER:
            value = numbers[slot, r]
            missing = not np.isfinite(value)
            _put(x, keep, made, floats[f] if missing else value)
            if width == 2:
                _put(x, keep, made + 1, 1.0 if missing else 0.0)
        elif op == LOOKUP:
            row = starts[slot] + (codes[ints[i], r] + 1) * width
            for k in range(width):
                _put(x, keep, made + k, tables[row + k])
        else:
            _date(x, keep, made, stamps[slot, r], ints, i, floats, f)


@numba.njit(cache=True, nogil=True)
def _margins(
    x: np.ndarray, out: np.ndarray, bias: np.ndarray, weights: np.ndarray, logged: np.ndarray,
    logged_features: np.ndarray, roots: np.ndarray,
    margin: np.ndarray, feature: np.ndarray, threshold: np.ndarray, left: np.ndarray, right: np.ndarray,
    flags: np.ndarray, value: np.ndarray,
) -> None:  # fmt: skip
    """The model's margins of one row of features ``x`` into ``out``."""
    for k in range(out.shape[0]):
        total = bias[k]
        for j in range(weights.shape[1]):
            total += weights[k, j] * x[j]
        for j in range(logged.shape[1]):
            v = x[logged_features[j]]
            total += logged[k, j] * (np.sign(v) * np.log1p(abs(v)))
        out[k] = total
    for t in range(roots.shape[0]):
        node = roots[t]
        while feature[node] >= 0:
            v = x[feature[node]]
            goes_left = flags[node] & 1 != 0 if flags[node] & 2 and abs(v) <= ZERO else v <= threshold[node]
            node = left[node] if goes_left else right[node]
        out[margin[t]] += value[node]


@numba.njit(cache=True, nogil=True)
def features_of(
    start: int, stop: int, X: np.ndarray, numbers: np.ndarray, stamps: np.ndarray, codes: np.ndarray,
    tables: np.ndarray, starts: np.ndarray, ops: np.ndarray, ints: np.ndarray, floats: np.ndarray, keep: np.ndarray,
) -> None:  # fmt: skip
    """Rows ``start`` to ``stop``'s features into the rows of ``X``."""
    for r in range(start, stop):
        _features(r, X[r], numbers, stamps, codes, tables, starts, ops, ints, floats, keep)


@numba.njit(cache=True, nogil=True)
def scores_of(
    start: int, stop: int, M: np.ndarray, numbers: np.ndarray, stamps: np.ndarray, codes: np.ndarray,
    tables: np.ndarray, starts: np.ndarray, ops: np.ndarray, ints: np.ndarray, floats: np.ndarray, keep: np.ndarray,
    width: int, bias: np.ndarray, weights: np.ndarray, logged: np.ndarray,
    logged_features: np.ndarray, roots: np.ndarray, margin: np.ndarray,
    feature: np.ndarray, threshold: np.ndarray, left: np.ndarray, right: np.ndarray, flags: np.ndarray,
    value: np.ndarray,
) -> None:  # fmt: skip
    """Rows ``start`` to ``stop``'s margins into the rows of ``M``, each row's features made and
    walked at once."""
    x = np.zeros(width)
    for r in range(start, stop):
        _features(r, x, numbers, stamps, codes, tables, starts, ops, ints, floats, keep)
        _margins(
            x, M[r], bias, weights, logged, logged_features, roots, margin, feature, threshold, left, right, flags,
            value,
        )  # fmt: skip


@numba.njit(cache=True, nogil=True)
def margins_of(
    X: np.ndarray, M: np.ndarray, bias: np.ndarray, weights: np.ndarray, logged: np.ndarray,
    logged_features: np.ndarray, roots: np.ndarray,
    margin: np.ndarray, feature: np.ndarray, threshold: np.ndarray, left: np.ndarray, right: np.ndarray,
    flags: np.ndarray, value: np.ndarray,
) -> None:  # fmt: skip
    """The margins of each row of features ``X`` into the rows of ``M``."""
    for r in range(X.shape[0]):
        _margins(
            X[r], M[r], bias, weights, logged, logged_features, roots, margin, feature, threshold, left, right, flags,
            value,
        )  # fmt: skip
