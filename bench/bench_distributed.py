"""Bench of distributed load (LoadGenerator.distributed): a Locust master with 2 and 4 local
workers against LoadGenerator's echo server, beside one LoadGenerator process running the
same load in the same run (the baseline of the ratios).

    .venv/bin/python bench/bench_distributed.py                      # about 1.5 minutes
    .venv/bin/python bench/bench_distributed.py --rate 30 --duration 20 --json out.json

Each configuration runs the same open-model load (``--connections`` x ``--rate`` for
``--duration`` s, default tick): ``single`` is ``run_load`` with one worker process;
``locust+N`` is ``run_distributed`` with a master and N workers on this host (each worker's
engine a thread of its own process). Printed per configuration: messages sent /
acknowledged / lost, the merged latency from the intended send time (p50, p99, max), schedule
lag p99, the engines' own CPU (LoadGenerator's figure), the CPU of every process the
configuration started (master, workers, engines: ``RUSAGE_CHILDREN``; for ``single`` its
worker process and this process's thread), the wall time from the call to the result, and the
ratios to ``single``. Each distributed result is checked: merged counts equal the sum of the
workers', the merged histogram the merge of theirs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from typing import Any

from LoadGenerator.config import LoadConfig
from LoadGenerator.distributed import LaunchOptions, RunSettings, run_distributed
from LoadGenerator.echo_server import spawn
from LoadGenerator.histogram import Histogram, merged
from LoadGenerator.runner import run_load

MESSAGE = ('{"type":"metrics","id":{id},"source":"bench",'
           '"data":{"clarity":0.8,"chaos":0.45,"trust":0.8,"pain":0.3}}')


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def config(args: argparse.Namespace, url: str, processes: int) -> LoadConfig:
    return LoadConfig(url=url, connections=args.connections, rate=args.rate,
                      duration=args.duration, message=MESSAGE, reply_type="metrics_received",
                      processes=processes, drain_timeout=10.0)


def measure(name: str, run: Any) -> dict[str, Any]:
    children, own, began = cpu_children(), cpu_self(), time.monotonic()
    result = run()
    return {"name": name, "result": result, "wall_s": time.monotonic() - began,
            "cpu_s": (cpu_children() - children) + (cpu_self() - own)}


def check_merge(result: dict[str, Any]) -> str:
    """'exact' when the merged counts and histogram are those of the workers' added up."""
    rows = result["workers_breakdown"]
    problems = [key for key in ("sent", "acknowledged", "errored")
                if result[key] != sum(row[key] for row in rows)]
    whole = Histogram.from_data(result["latency_histogram"])
    if whole.counts != merged([row["latency_histogram"] for row in rows]).counts:
        problems.append("histogram")
    if whole.summary() != result["latency_ms"]:
        problems.append("percentiles")
    return "exact" if not problems else "MISMATCH " + ",".join(problems)


def row(entry: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any]:
    result = entry["result"]
    latency, lag = result["latency_ms"], result["schedule_lag_ms"]
    figures = {"name": entry["name"], "sent": result["sent"],
               "acknowledged": result["acknowledged"], "lost": result["lost"],
               "p50_ms": latency["p50"], "p99_ms": latency["p99"], "max_ms": latency["max"],
               "lag_p99_ms": lag["p99"], "engine_cpu_s": result["generator_cpu_s"],
               "all_cpu_s": round(entry["cpu_s"], 2), "wall_s": round(entry["wall_s"], 1),
               "merge": check_merge(result) if "workers_breakdown" in result else "-"}
    if base is not None:
        for key in ("p50_ms", "p99_ms", "all_cpu_s", "wall_s"):
            figures[f"{key}_ratio"] = round(figures[key] / base[key], 2) if base[key] else None
    return figures


def show(figures: dict[str, Any]) -> None:
    ratios = ""
    if "p50_ms_ratio" in figures:
        ratios = (f"  x single: p50 {figures['p50_ms_ratio']}  p99 {figures['p99_ms_ratio']}  "
                  f"CPU {figures['all_cpu_s_ratio']}  wall {figures['wall_s_ratio']}")
    print(f"  {figures['name']:<10} acked/sent {figures['acknowledged']}/{figures['sent']} "
          f"lost {figures['lost']}  p50 {figures['p50_ms']}  p99 {figures['p99_ms']}  max "
          f"{figures['max_ms']} ms  lag p99 {figures['lag_p99_ms']} ms  engine CPU "
          f"{figures['engine_cpu_s']} s  all CPU {figures['all_cpu_s']} s  wall "
          f"{figures['wall_s']} s  merge {figures['merge']}{ratios}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="msg/s per connection")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--workers", default="2,4", help="worker counts to run (2,4)")
    parser.add_argument("--json", help="write every figure and result here")
    args = parser.parse_args()
    echo, url = spawn()
    print(f"bench_distributed: {args.connections} connections x {args.rate:g} msg/s for "
          f"{args.duration:g} s against {url} ({os.cpu_count()} cores, "
          f"{platform.platform()})", flush=True)
    rows: list[dict[str, Any]] = []
    try:
        single = measure("single", lambda: run_load(config(args, url, 1)))
        base = row(single, None)
        show(base)
        rows.append(base)
        for count in (int(n) for n in args.workers.split(",")):
            settings = RunSettings(load=config(args, url, 0), workers=count)
            entry = measure(f"locust+{count}",
                            lambda s=settings: run_distributed(s, LaunchOptions()))
            figures = row(entry, base)
            show(figures)
            rows.append(figures)
    finally:
        echo.terminate()
        echo.wait(10)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"args": vars(args), "machine": platform.platform(),
                       "cores": os.cpu_count(), "rows": rows}, out, indent=1)
    return 0 if all(r["merge"] in ("exact", "-") and r["lost"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
