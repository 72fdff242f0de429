"""figurekit.charts: matplotlib charts as inline SVG, scaled to the data, the limit drawn
or named, every series told apart."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from figurekit.charts import line_chart, percentile_chart, y_top

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_a_line_chart_is_one_svg_element_with_each_series_in_its_legend() -> None:
    svg = line_chart("a <title>", [("p50", [(0, 1.0), (1, 2.0)]),
                                   ("p99", [(0, 3.0), (1, 9.0)])], y_label="ms")
    assert svg.startswith("<svg")
    shown = texts(svg)
    assert "a <title>" in shown and "p50" in shown and "p99" in shown


def test_the_axis_follows_the_data_and_a_far_limit_is_named_not_drawn() -> None:
    assert y_top(5.0, 500.0) < 10  # a 5 ms latency is not a flat line under 500 ms
    assert y_top(5.0, 10.0) > 10  # a limit near the data is on the scale
    svg = line_chart("latency", [("p99", [(0, 4.0), (1, 5.0)])], limit=500.0,
                     limit_label="limit 500 ms")
    assert any("limit 500 ms (off the scale: 100× the peak)" in t for t in texts(svg))
    near = line_chart("latency", [("p99", [(0, 4.0), (1, 5.0)])], limit=6.0,
                      limit_label="limit 6 ms")
    assert "limit 6 ms" in texts(near)  # in the legend, as the dashed line's label


def test_a_percentile_chart_spreads_the_tail_and_ends_at_max() -> None:
    svg = percentile_chart("latency", {"count": 9, "p50": 1.2, "p90": 2.0, "p99": 4.0,
                                       "p999": 7.1, "max": 9.5, "mean": 1.3})
    shown = texts(svg)
    assert {"50 %", "90 %", "99 %", "99.9 %", "max"} <= set(shown)
    assert "9.5" in shown and "7.1" in shown  # each point's value is written beside it


def test_an_empty_series_draws_an_empty_chart() -> None:
    assert line_chart("nothing yet", [("p99", [])]).startswith("<svg")
