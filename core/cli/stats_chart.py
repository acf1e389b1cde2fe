"""Terminal charts of a metric over time: one bar per reading, in eighth-block resolution.

Pure text (:func:`chart_lines`), so the chart is the same in a terminal, a pipe and a snapshot
test; ``crosspost stats`` adds colour through rich only when the terminal has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

_EIGHTHS = " ▏▎▍▌▋▊▉"
_SPARK = "▁▂▃▄▅▆▇█"


@attrs.frozen(kw_only=True)
class Point:
    label: str
    """The schedule step (``1h``, ``24h``, ``7d``)."""
    at: datetime
    value: int


def bar(value: int, top: int, width: int) -> str:
    """``value`` as a bar of at most ``width`` cells when ``top`` fills them all."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(value / top * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def sparkline(values: Sequence[int]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    return "".join(_SPARK[0 if span == 0 else round((v - low) / span * (len(_SPARK) - 1))] for v in values)


def chart_lines(title: str, points: Sequence[Point], *, width: int = 30) -> list[str]:
    """The chart as lines: a heading with the sparkline, then one row per reading."""
    if not points:
        return [f"{title}: no readings yet"]
    top = max(p.value for p in points)
    numbers = [f"{p.value:,}" for p in points]
    number_width = max(len(n) for n in numbers)
    label_width = max(len(p.label) for p in points)
    lines = [f"{title}  {sparkline([p.value for p in points])}"]
    for point, number in zip(points, numbers, strict=True):
        when = point.at.strftime("%Y-%m-%d %H:%M")
        lines.append(f"  {point.label:<{label_width}}  {when}  {bar(point.value, top, width):<{width}}  "
                     f"{number:>{number_width}}")
    return lines
