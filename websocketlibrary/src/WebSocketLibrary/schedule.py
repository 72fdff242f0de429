"""Open-loop sending: frames go out on a fixed schedule, whatever the server does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .latency import summarise

if TYPE_CHECKING:
    from .connection import Connection


async def send_at_rate(connection: Connection, payload: Callable[[int], str | bytes],
                       rate: float, duration_s: float) -> dict[str, Any]:
    """Send ``payload(n)`` at ``started + n / rate`` for ``duration_s`` seconds.

    The schedule never waits for replies (open loop). Each frame's lag is the time from its
    intended to its actual send; a late frame does not shift the ones after it.
    """
    if rate <= 0:
        raise ValueError("The rate must be positive.")
    planned = max(1, int(rate * duration_s))
    period_ns = 1e9 / rate
    lags_us = []
    started = time.perf_counter_ns()
    for number in range(planned):
        intended = started + int(number * period_ns)
        delay = (intended - time.perf_counter_ns()) / 1e9
        if delay > 0:
            await asyncio.sleep(delay)
        sent = await connection.send_async(payload(number))
        lags_us.append(max(0, sent - intended) // 1000)
    elapsed_s = (time.perf_counter_ns() - started) / 1e9
    lag = summarise(lags_us)
    return {"sent": planned, "planned": planned, "elapsed_s": round(elapsed_s, 3),
            "achieved_rate": round(planned / elapsed_s, 1) if elapsed_s else float(planned),
            "lag_p50_ms": lag["p50"], "lag_p99_ms": lag["p99"], "lag_max_ms": lag["max"]}
