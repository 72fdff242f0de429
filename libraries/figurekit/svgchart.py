"""A small SVG line chart for log.html: no plotting library, no JavaScript.

Used by LoadGenerator (latency and throughput over time) and ResourceMonitor (CPU and
memory over time). ``line_chart`` returns one self-contained ``<svg>`` element that
``logger.info(html=True)`` shows inline.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
Series = tuple[str, Sequence[tuple[float, float]]]


def nice_ceiling(value: float) -> float:
    """The smallest 1/2/2.5/5 × 10^k at or above ``value`` (an axis maximum)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.3g}"


def line_chart(title: str, series: Sequence[Series], x_label: str = "s",
               y_label: str = "", width: int = 720, height: int = 260,
               limit: float | None = None, limit_label: str = "") -> str:
    """An SVG line chart of ``series`` (name, [(x, y), …]), y axis from 0.

    ``limit`` draws a dashed horizontal line (a target), labelled ``limit_label``.

    Example (Python):
    | svg = line_chart("latency", [("p99", [(0, 1.5), (1, 2.0)])], y_label="ms")
    """
    left, right, top, bottom = 64, 16, 34, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    points = [p for _, data in series for p in data if math.isfinite(p[1])]
    x_min = min((p[0] for p in points), default=0.0)
    x_max = max((p[0] for p in points), default=1.0)
    if x_max <= x_min:
        x_max = x_min + 1
    y_top = max((p[1] for p in points), default=0.0)
    if limit is not None:
        y_top = max(y_top, limit)
    y_max = nice_ceiling(y_top * 1.05)

    def sx(x: float) -> float:
        return left + (x - x_min) / (x_max - x_min) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - min(max(y, 0.0), y_max) / y_max * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" style="font:11px sans-serif;background:#fff">',
           f'<text x="{left}" y="16" style="font-weight:bold">{html.escape(title)}</text>']
    for i in range(6):  # horizontal grid and y ticks
        value = y_max * i / 5
        y = sy(value)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                   f'stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f'{_label(value)}</text>')
    for i in range(7):  # x ticks
        value = x_min + (x_max - x_min) * i / 6
        x = sx(value)
        out.append(f'<line x1="{x:.1f}" y1="{top + plot_h}" x2="{x:.1f}" '
                   f'y2="{top + plot_h + 4}" stroke="#888"/>')
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
                   f'{_label(value)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
               f'stroke="#888"/>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">'
               f'{html.escape(x_label)}</text>')
    out.append(f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">{html.escape(y_label)}</text>')
    if limit is not None:
        y = sy(limit)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                   f'stroke="#d62728" stroke-dasharray="6 4"/>')
        if limit_label:
            out.append(f'<text x="{left + plot_w - 4}" y="{y - 4:.1f}" text-anchor="end" '
                       f'fill="#d62728">{html.escape(limit_label)}</text>')
    legend_x = left + plot_w
    for index, (name, data) in enumerate(reversed(series)):
        color = PALETTE[(len(series) - 1 - index) % len(PALETTE)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in data if math.isfinite(y))
        if coords:
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" '
                       f'points="{coords}"/>')
        legend_x -= 8 + 7 * len(name) + 14
        out.append(f'<rect x="{legend_x:.0f}" y="22" width="10" height="3" fill="{color}"/>')
        out.append(f'<text x="{legend_x + 13:.0f}" y="27">{html.escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)
