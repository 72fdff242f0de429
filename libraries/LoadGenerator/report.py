"""A load run's result as HTML for log.html: a figure table and SVG charts over time; for a
distributed run also a table of its workers."""

from __future__ import annotations

import html
import json
from typing import Any

from figurekit.charts import line_chart, percentile_chart


def _row(name: str, value: Any, unit: str = "") -> str:
    return (f"<tr><td>{html.escape(name)}</td><td style='text-align:right'>"
            f"{html.escape(str(value))}</td><td>{html.escape(unit)}</td></tr>")


def arrival_timing(result: dict[str, Any]) -> str:
    """Which clock timed the replies' arrival: the kernel's receive time, or for some or
    all the generator's read time, and why (see LoadGenerator.wsconn)."""
    read_timed = int(result.get("replies_timed_at_read", 0))
    if not read_timed:
        return "kernel receive time for every reply"
    reasons = ", ".join(f"{reason}: {count}"
                        for reason, count in result.get("timed_at_read_reasons", {}).items())
    return (f"read time, not the kernel's receive time, for {read_timed} of "
            f"{result['acknowledged']} replies ({reasons}): their latency includes the wait "
            f"until the generator read them")


def summary_table(result: dict[str, Any]) -> str:
    """The counts and latency percentiles of ``result`` as an HTML table."""
    latency, actual, lag = (result["latency_ms"], result["latency_from_send_ms"],
                            result["schedule_lag_ms"])
    rows = [
        _row("target", result["url"]),
        _row("connections (open / asked)",
             f"{result['connections_open']} / {result['connections']}"),
        _row("rate per connection", result["rate_per_connection"], "msg/s"),
        _row("offered rate", result["offered_rate"], "msg/s"),
        _row("duration (warm-up)", f"{result['duration_s']:g} ({result['warmup_s']:g})", "s"),
        _row("expected / sent / acknowledged",
             f"{result['expected']} / {result['sent']} / {result['acknowledged']}"),
        _row("lost (no reply)", result["lost"]),
        _row("errored (error replies + failed sends)", result["errored"]),
        _row("delivery", result["delivery_percent"], "%"),
        _row("achieved rate", result["achieved_rate"], "msg/s"),
        _row("arrival time of replies", arrival_timing(result)),
    ]
    for label, figures in (("latency from intended send (coordinated omission corrected)",
                            latency), ("latency from actual send", actual),
                           ("schedule lag", lag)):
        rows.append(_row(label, "p50 {p50} · p95 {p95} · p99 {p99} · max {max}".format(
            **figures), "ms"))
    rows.append(_row("generator CPU", f"{result['generator_cpu_s']} s "
                     f"({result['generator_cpu_percent']} % of a core)"))
    if result["errors"]:
        rows.append(_row("errors", ", ".join(f"{k}: {v}" for k, v in result["errors"].items())))
    return ("<table border='1' style='border-collapse:collapse'><tr><th colspan='3'>"
            f"load {html.escape(result['name'])}</th></tr>{''.join(rows)}</table>")


def charts(result: dict[str, Any], latency_limit_ms: float | None = None) -> str:
    """Latency percentiles over time, latency by percentile (the whole run) and the
    throughput timeline, as inline SVG."""
    timeline = result["timeline"]
    limit_label = f"limit {latency_limit_ms:g} ms" if latency_limit_ms else ""
    latency = line_chart(
        f"latency of the replies of each second, from the intended send time "
        f"({result['name']})",
        [(name, [(t["second"], t[name]) for t in timeline if t["acknowledged"]])
         for name in ("p50", "p95", "p99", "max")],
        x_label="seconds since start", y_label="ms", limit=latency_limit_ms,
        limit_label=limit_label)
    by_percentile = percentile_chart(
        f"latency by percentile, from the intended send time ({result['name']})",
        result["latency_ms"], limit=latency_limit_ms, limit_label=limit_label)
    throughput = line_chart(
        f"messages per second ({result['name']})",
        [("sent", [(t["second"], t["sent"]) for t in timeline]),
         ("acknowledged", [(t["second"], t["acknowledged"]) for t in timeline]),
         ("errored", [(t["second"], t["errored"]) for t in timeline])],
        x_label="seconds since start", y_label="msg/s")
    return f"<div>{latency}</div><div>{by_percentile}</div><div>{throughput}</div>"


def _worker_cells(row: dict[str, Any]) -> list[str]:
    latency = row.get("latency_ms") or {}
    lost = "—" if row.get("lost") is None else str(row["lost"])
    return [str(row["worker"]), row["host"] or "—", row["status"],
            f"{row['connections_open']} / {row['connections']}", str(row["sent"]),
            str(row["acknowledged"]), lost, str(row["errored"]),
            str(latency.get("p50", "—")), str(latency.get("p99", "—")),
            str(latency.get("max", "—")),
            "—" if row["clock_offset_ms"] is None else f"{row['clock_offset_ms']:+g}"]


_WORKER_HEADINGS = ["worker", "host", "status", "connections open / asked", "sent",
                    "acknowledged", "lost", "errored", "p50 ms", "p99 ms", "max ms",
                    "clock offset ms"]


def workers_table(result: dict[str, Any]) -> str:
    """A distributed run's workers as an HTML table: each one's own counts and latency
    (from its own histograms), its status, and for a lost worker why and what it had
    reported; "" for a run of one host."""
    rows = result.get("workers_breakdown")
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _WORKER_HEADINGS)
    body = []
    for row in rows:
        cells = "".join(f"<td>{html.escape(c)}</td>" for c in _worker_cells(row))
        body.append(f"<tr>{cells}</tr>")
        if row["status"] != "complete":
            body.append(f"<tr><td colspan='{len(_WORKER_HEADINGS)}'><b>"
                        f"{html.escape(row['status'])}</b>: {html.escape(row['reason'])}"
                        f"</td></tr>")
    notes = "".join(f"<p><b>warning</b>: {html.escape(w)}</p>"
                    for w in result.get("warnings", []))
    verdict = ("every worker delivered its histograms: the figures above are the whole run"
               if result.get("complete") else
               f"INCOMPLETE: {result.get('error')}")
    return (f"<table border='1' style='border-collapse:collapse'><tr><th colspan='"
            f"{len(_WORKER_HEADINGS)}'>workers of the distributed load "
            f"{html.escape(result['name'])} (master {html.escape(str(result['master']))}): "
            f"{html.escape(verdict)}</th></tr><tr>{head}</tr>{''.join(body)}</table>{notes}")


def workers_text(result: dict[str, Any]) -> list[str]:
    """A distributed run's workers, one line each, for a terminal."""
    rows = result.get("workers_breakdown")
    if not rows:
        return []
    lines = [f"  workers: {result['workers_delivered']} of {result['locust_workers']} "
             f"delivered (master {result['master']})"]
    for row in rows:
        cells = dict(zip(_WORKER_HEADINGS, _worker_cells(row), strict=True))
        lines.append(f"   worker {cells['worker']} {cells['host']} {cells['status']}: "
                     f"connections {cells['connections open / asked']}  sent {cells['sent']}"
                     f"  acked {cells['acknowledged']}  lost {cells['lost']}  errored "
                     f"{cells['errored']}  p50/p99/max {cells['p50 ms']}/{cells['p99 ms']}/"
                     f"{cells['max ms']} ms  clock offset {cells['clock offset ms']} ms")
        if row["status"] != "complete":
            lines.append(f"     {row['reason']}")
    lines += [f"  warning: {w}" for w in result.get("warnings", [])]
    if not result.get("complete"):
        lines.append(f"  INCOMPLETE: {result.get('error')}")
    return lines


def load_failed(result: dict[str, Any]) -> bool:
    """True when a message was lost or errored or a connection failed or was dropped: what
    makes the command lines exit 1."""
    return bool(result["lost"] or result["errored"] or result["connect_failures"]
                or result["dropped_connections"])


def write_json(result: dict[str, Any], target: str) -> None:
    """Writes ``result`` as JSON to the file ``target`` ("-": standard output)."""
    text = json.dumps(result, indent=1)
    if target == "-":
        print(text)
    else:
        with open(target, "w", encoding="utf-8") as out:
            out.write(text)


def text_summary(result: dict[str, Any]) -> str:
    """A few lines for a terminal."""
    latency, lag = result["latency_ms"], result["schedule_lag_ms"]
    return "\n".join([
        f"load {result['name']}: {result['connections_open']}/{result['connections']} "
        f"connections x {result['rate_per_connection']:g} msg/s for {result['duration_s']:g} s "
        f"-> {result['url']}",
        f"  expected {result['expected']}  sent {result['sent']}  acknowledged "
        f"{result['acknowledged']}  lost {result['lost']}  errored {result['errored']}  "
        f"delivery {result['delivery_percent']} %",
        "  latency from intended send (ms): p50 {p50}  p95 {p95}  p99 {p99}  max {max}"
        .format(**latency),
        "  schedule lag (ms):                p50 {p50}  p95 {p95}  p99 {p99}  max {max}"
        .format(**lag),
        f"  achieved {result['achieved_rate']} msg/s; generator CPU {result['generator_cpu_s']} s "
        f"({result['generator_cpu_percent']} % of a core) over {result['run_s']} s",
        f"  arrival: {arrival_timing(result)}", *workers_text(result)])
