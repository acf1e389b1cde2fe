"""How every benchmark reports: one JSON object per line on stdout, one line per figure.

A line always has ``benchmark``, ``figure``, ``value`` and ``unit``; anything else on it is
context (sizes, counts, what was compared). ``value`` is ``null`` when a figure could not be
taken (e.g. curl is not installed) and ``note`` then says why. Benchmarks never assert on
speed: they print, and ``BENCHMARKS.md`` says what the numbers mean.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections.abc import Sequence
from typing import Any

FIGURE_KEYS = ("benchmark", "figure", "value", "unit")


def emit(benchmark: str, figure: str, value: float | int | None, unit: str, **context: Any) -> None:
    """Print one figure as a JSON line (floats rounded to 4 significant digits for reading)."""
    line = {"benchmark": benchmark, "figure": figure, "value": _round(value), "unit": unit}
    line.update({k: _round(v) if isinstance(v, float) else v for k, v in context.items()})
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def _round(value: float | int | None) -> float | int | None:
    if not isinstance(value, float) or value == 0 or not math.isfinite(value):
        return value
    digits = 4 - math.floor(math.log10(abs(value))) - 1
    return round(value, max(digits, 0))


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) by linear interpolation between closest ranks."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def mb_per_s(size: int, seconds: float) -> float:
    """Decimal megabytes (10^6 bytes) per second, as the figures are printed."""
    return size / seconds / 1e6
