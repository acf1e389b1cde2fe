"""Metric charts as inline SVG: a line through one point per reading, labelled for screen readers.

Pure (text in, text out). Each point is a ``<circle class="point">`` carrying its own
``<title>`` (step, date and value), so a chart with N readings has exactly N points, which the
browser tests count; the same figures are also given as a table next to the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

import attrs

WIDTH, HEIGHT = 320, 140
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 12, 12, 28


@attrs.frozen(kw_only=True)
class ChartPoint:
    label: str
    at: datetime
    value: int


def _x(i: int, n: int) -> float:
    inner = WIDTH - PAD_LEFT - PAD_RIGHT
    return PAD_LEFT + (inner / 2 if n == 1 else inner * i / (n - 1))


def _y(value: int, top: int) -> float:
    inner = HEIGHT - PAD_TOP - PAD_BOTTOM
    return PAD_TOP + inner * (1 - (value / top if top else 0))


def metric_svg(metric: str, points: Sequence[ChartPoint], *, chart_id: str) -> str:
    """One metric's chart; ``chart_id`` makes its title/desc ids unique on the page."""
    top = max((p.value for p in points), default=0)
    n = len(points)
    coords = [(_x(i, n), _y(p.value, top)) for i, p in enumerate(points)]
    desc = ", ".join(f"{p.label}: {p.value:,}" for p in points) or "no readings yet"
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" data-metric="{escape(metric)}" data-points="{n}">',
        f'<title id="{chart_id}-t">{escape(metric)} over time</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
        f'<line class="axis" x1="{PAD_LEFT}" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH - PAD_RIGHT}" '
        f'y2="{HEIGHT - PAD_BOTTOM}"/>',
        f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{HEIGHT - PAD_BOTTOM}"/>',
        f'<text class="tick" x="{PAD_LEFT - 6}" y="{PAD_TOP + 4}" text-anchor="end">{top:,}</text>',
        f'<text class="tick" x="{PAD_LEFT - 6}" y="{HEIGHT - PAD_BOTTOM}" text-anchor="end">0</text>',
    ]
    if n > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline class="line" points="{path}"/>')
    for (x, y), point in zip(coords, points, strict=True):
        parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4">'
                     f'<title>{escape(point.label)} ({point.at:%Y-%m-%d %H:%M}): {point.value:,}</title></circle>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                     f'{escape(point.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
