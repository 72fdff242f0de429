"""A distributed result's figures for the Scorecard (summary.json, summary.md).

Each figure is logged as Scorecard's ``Record Figure`` logs it, so ``python -m Scorecard``
finds it in output.xml. A complete run records its merged latency and delivery and each
worker's counts; an incomplete one records no merged latency (it would pass partial figures
off as the run's), only each worker's counts and the lost workers, against a target of 0.
"""

from __future__ import annotations

from typing import Any

from Scorecard.figures import Figure


def figures(result: dict[str, Any], scenario: str) -> list[Figure]:
    name, workers = result["name"], result["locust_workers"]
    found: list[Figure] = []
    if result["complete"]:
        latency = result["latency_ms"]
        found += [Figure(scenario, f"{name} latency {key} (merged over {workers} workers)",
                         float(latency[key]), "ms", note=f"n={latency['count']}")
                  for key in ("p50", "p95", "p99", "max")]
        found.append(Figure(scenario, f"{name} messages delivered",
                            float(result["delivery_percent"]), "%",
                            note=f"{result['acknowledged']} of {result['expected']}"))
    found.append(Figure(scenario, f"{name} workers lost", float(len(result["lost_workers"])),
                        "workers", "== 0",
                        note="; ".join(f"worker {row['worker']} {row['status']}: "
                                       f"{row['reason']}" for row in result["lost_workers"])))
    for row in result["workers_breakdown"]:
        lost = "unknown" if row.get("lost") is None else row["lost"]
        found.append(Figure(scenario, f"{name} worker {row['worker']} acknowledged",
                            float(row["acknowledged"]), "messages",
                            note=f"{row['host'] or '?'}, {row['status']}, sent {row['sent']}, "
                                 f"lost {lost}, errored {row['errored']}"))
    return found
