"""The few statistics the report needs, on plain lists of floats.

Percentiles interpolate linearly between closest ranks (NumPy's default), so
the p50 of an even-length list is the usual median.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, which must not be empty."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0-100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def median(values: Sequence[float]) -> float:
    """The median of ``values``, which must not be empty."""
    if not values:
        raise ValueError("median of no values")
    return statistics.median(values)


def ratio(value: float | None, reference: float | None) -> float | None:
    """``value / reference``, or None where either is missing or the reference is 0."""
    if value is None or not reference:
        return None
    return value / reference


def paired_ratio(values: Sequence[float], references: Sequence[float]) -> float | None:
    """The median of round-by-round ratios.

    Rounds alternate implementations, so round ``i`` of one and round ``i`` of
    the other ran seconds apart under the same background load; the ratio of
    each such pair cancels that load better than a ratio of two medians.
    """
    pairs = [v / r for v, r in zip(values, references, strict=True) if r]
    return median(pairs) if pairs else None


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, minimum and maximum, as the report prints them."""
    return {"median": median(values), "min": min(values), "max": max(values)}
