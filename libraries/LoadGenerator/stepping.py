"""Stepping the offered rate up to find the highest rate a server sustains.

Each step is an ordinary load run (`run_load`) of the same connections and message at
a higher total rate: open model, latency from the intended send time, its own warm-up.
A step *holds* when every message of its measured window was acknowledged (none lost,
none errored, no connection failed or dropped) and the p99 latency from the intended
send time stayed within a limit; the sustained rate is the highest offered rate that
held. On a shared machine one burst of someone else's work can sink a step, so a failed
step may be run once more (``retry``); every attempt is kept in the result.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from .config import LoadConfig
from .runner import LoadRun


def step_held(result: dict[str, Any], p99_limit_ms: float) -> bool:
    """Every message of the window acknowledged and p99 (from the intended send time)
    within ``p99_limit_ms``."""
    complete = (result["lost"] == 0 and result["errored"] == 0
                and result["connect_failures"] == 0 and result["dropped_connections"] == 0
                and result["acknowledged"] >= result["sent"] > 0)
    return complete and result["latency_ms"]["p99"] <= p99_limit_ms


def find_sustained_rate(base: LoadConfig, start_rate: float, step: float, max_rate: float,
                        p99_limit_ms: float = 100.0, retry: bool = True, pause: float = 2.0,
                        on_step: Callable[[dict[str, Any]], None] | None = None,
                        ) -> dict[str, Any]:
    """Runs ``base`` at total rates ``start_rate``, ``start_rate + step``, … up to
    ``max_rate`` until a step does not hold (see `step_held`). ``base.rate`` is replaced by
    each step's rate per connection; its other settings (connections, duration, warm-up,
    tick, …) apply to every step. ``pause`` seconds pass between steps, so that one step's
    closing connections are not the next one's load. ``on_step`` sees each step's result
    as it ends.

    Returns ``steps`` (each a `run_load` result plus ``held`` and ``attempt``) and
    ``sustained_rate``, the highest offered rate that held (0 if none did).
    """
    if start_rate <= 0 or step <= 0:
        raise ValueError(f"start_rate and step must be positive, got {start_rate}, {step}")
    steps: list[dict[str, Any]] = []
    rate, attempt = float(start_rate), 1
    while rate <= max_rate:
        cfg = dataclasses.replace(base, rate=rate / base.connections,
                                  name=f"{base.name}-{rate:g}")
        result = LoadRun(cfg).start().wait()
        result["held"] = step_held(result, p99_limit_ms)
        result["attempt"] = attempt
        steps.append(result)
        if on_step is not None:
            on_step(result)
        if not result["held"] and (attempt > 1 or not retry):
            break
        attempt = 2 if not result["held"] else 1
        if attempt == 1:
            rate += step
        if rate <= max_rate:
            time.sleep(pause)  # a pause in the method (not a wait for a condition)
    held = [s["offered_rate"] for s in steps if s["held"]]
    return {"steps": steps, "sustained_rate": max(held, default=0.0),
            "p99_limit_ms": p99_limit_ms}
