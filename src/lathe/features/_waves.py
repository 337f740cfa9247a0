"""The sine and cosine of each value of a cyclic date part, as ``DateParts`` computes them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lathe.features._transforms import CYCLES, DateParts

LOWEST = {"month": 1, "day": 1}  # a cyclic part's smallest value (0 for the others)


@dataclass(frozen=True)
class Waves:
    """The sine and cosine of a cyclic date part, as lathe computes them, for each of its values
    (``lowest``, ``lowest + 1``, ...) and for its fill (a missing timestamp).

    Formats look them up rather than compute them: an engine's sine may differ from NumPy's in the
    last bit, and a tree may split exactly between two such values.
    """

    lowest: int
    sin: tuple[float, ...]
    cos: tuple[float, ...]
    fill_sin: float
    fill_cos: float


def waves(step: DateParts, part: str) -> Waves:
    """The ``Waves`` of cyclic ``part`` of ``step``, computed as ``DateParts.apply`` does."""
    lowest, cycle = LOWEST.get(part, 0), CYCLES[part]
    values = np.append(np.arange(lowest, lowest + cycle, dtype=np.float64), step.fills[step.parts.index(part)])
    angles = 2 * np.pi * values / cycle
    sin, cos = np.sin(angles).tolist(), np.cos(angles).tolist()
    return Waves(lowest, tuple(sin[:-1]), tuple(cos[:-1]), sin[-1], cos[-1])
