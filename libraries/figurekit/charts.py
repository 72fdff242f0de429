"""Charts for log.html, drawn by matplotlib as inline SVG (no JavaScript, nothing to fetch).

Used by LoadGenerator (latency over time, latency by percentile, messages per second) and
ResourceMonitor (CPU and memory over time). Every function returns one ``<svg>`` element
that ``logger.info(html=True)`` shows inline.

The y axis is scaled to the data, so a 5 ms latency is not a flat line under a 500 ms
limit: a limit inside the scale is drawn as a dashed line, one far above it is named in
the corner with an arrow, together with how far above the data it is.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display: render to files only (before the imports below)
from matplotlib.axes import Axes
from matplotlib.figure import Figure

Series = tuple[str, Sequence[tuple[float, float]]]
# Distinguishable without colour too: each series has its own line style and marker.
STYLES = (("-", "o"), ("--", "s"), ("-.", "^"), (":", "D"), ("-", "v"), ("--", "x"))
COLOURS = ("#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#8c564b")
LIMIT_COLOUR = "#c0392b"
# A limit more than this many times the data's peak is named, not drawn to scale.
OFF_SCALE = 3.0
SIZE = (7.5, 2.9)  # inches at 96 dpi: about the width of log.html's message column

matplotlib.rcParams.update({"svg.fonttype": "none", "font.size": 9})


def line_chart(title: str, series: Sequence[Series], x_label: str = "s",
               y_label: str = "", limit: float | None = None,
               limit_label: str = "") -> str:
    """A line chart of ``series`` (name, [(x, y), …]) as SVG, y axis from 0 to the data.

    ``limit`` (a target) is a dashed line labelled ``limit_label``, or, when it is more
    than three times the data's peak, a note with an arrow in the top corner.

    Example (Python):
    | svg = line_chart("latency", [("p99", [(0, 1.5), (1, 2.0)])], y_label="ms", limit=500)
    """
    figure = Figure(figsize=SIZE, dpi=96)
    axes = figure.add_subplot()
    peak = 0.0
    for index, (name, points) in enumerate(series):
        finite = [(x, y) for x, y in points if math.isfinite(y)]
        if not finite:
            continue
        line, marker = STYLES[index % len(STYLES)]
        xs, ys = zip(*finite, strict=True)
        axes.plot(xs, ys, linestyle=line, marker=marker, markersize=3, linewidth=1.4,
                  color=COLOURS[index % len(COLOURS)], label=name,
                  markevery=max(1, len(xs) // 30))
        peak = max(peak, *ys)
    top = y_top(peak, limit)
    axes.set_ylim(0, top)
    _mark_limit(axes, limit, limit_label, top)
    _finish(axes, title, x_label, y_label)
    return to_svg(figure)


def percentile_chart(title: str, percentiles: dict[str, float], unit: str = "ms",
                     limit: float | None = None, limit_label: str = "") -> str:
    """Value by percentile, as HdrHistogram plots it: the x axis stretches the tail
    (50 %, 90 %, 99 %, 99.9 % equally spaced), ``max`` drawn at the right end.

    ``percentiles`` maps names such as ``p50``, ``p99``, ``p999`` (99.9) and ``max`` to
    values; other keys are ignored.

    Example (Python):
    | svg = percentile_chart("latency", {"p50": 1.2, "p99": 4.0, "max": 9.5}, limit=500)
    """
    points = sorted((percent, value) for percent, value in
                    ((_percent(name), value) for name, value in percentiles.items())
                    if percent is not None)
    figure = Figure(figsize=SIZE, dpi=96)
    axes = figure.add_subplot()
    xs = [_tail(p) for p, _ in points]
    ys = [value for _, value in points]
    axes.plot(xs, ys, linestyle="-", marker="o", markersize=4, linewidth=1.6,
              color=COLOURS[0], label="latency")
    for x, value in zip(xs, ys, strict=True):
        axes.annotate(f"{value:.3g}", (x, value), textcoords="offset points", xytext=(0, 5),
                      ha="center", fontsize=7)
    ticks = [_tail(p) for p in (50.0, 90.0, 99.0, 99.9, 100.0)]
    axes.set_xticks(ticks, [_percent_label(x) for x in ticks])
    top = y_top(max(ys, default=0.0), limit)
    axes.set_ylim(0, top)
    _mark_limit(axes, limit, limit_label, top)
    _finish(axes, title, "percentile", unit)
    return to_svg(figure)


def y_top(peak: float, limit: float | None) -> float:
    """The top of the y axis: the data's peak with room above it, and a limit included
    when it is within ``OFF_SCALE`` times the peak (else it is named, not drawn)."""
    top = peak if peak > 0 and math.isfinite(peak) else 1.0
    if limit is not None and limit <= OFF_SCALE * top:
        top = max(top, limit)
    return top * 1.15


def to_svg(figure: Figure) -> str:
    """The figure as one ``<svg>`` element (the XML prologue removed)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _mark_limit(axes: Axes, limit: float | None, label: str, top: float) -> None:
    if limit is None:
        return
    text = label or f"limit {limit:g}"
    if limit <= top:
        axes.axhline(limit, color=LIMIT_COLOUR, linestyle=(0, (6, 3)), linewidth=1.2,
                     label=text)
    else:
        axes.annotate(f"↑ {text} (off the scale: {limit / (top / 1.15):.0f}× the peak)",
                      xy=(0.99, 0.97), xycoords="axes fraction", ha="right", va="top",
                      color=LIMIT_COLOUR, fontsize=8)


def _finish(axes: Axes, title: str, x_label: str, y_label: str) -> None:
    axes.set_title(title, fontsize=10, loc="left")
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(True, color="#dddddd", linewidth=0.6)
    axes.spines[["top", "right"]].set_visible(False)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="upper left", fontsize=8, frameon=False, ncols=4)


def _percent(name: str) -> float | None:
    if name == "max":
        return 100.0
    if not name.startswith("p") or not name[1:].isdigit():
        return None
    digits = name[1:]
    return float(digits) if len(digits) <= 2 else float(f"{digits[:2]}.{digits[2:]}")


def _tail(percent: float) -> float:
    """log10 of 1 / (1 − p): 50 % → 0.3, 90 % → 1, 99 % → 2, 99.9 % → 3; max at 5."""
    return 5.0 if percent >= 100 else math.log10(100 / (100 - percent))


def _percent_label(x: float) -> str:
    if x >= 5:
        return "max"
    percent = 100 - 100 / 10 ** x
    return f"{percent:.4g} %"
