"""Round trips over many requests matched by an id field, summarised by an HDR histogram."""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hdrh.histogram import HdrHistogram

from .filters import FrameFilter
from .frames import Frame

if TYPE_CHECKING:
    from .connection import Connection

# Microsecond resolution from 1 µs to 10 minutes, 3 significant digits.
HIGHEST_US = 600_000_000


def summarise(samples_us: list[int]) -> dict[str, float | int]:
    """count/min/p50/p95/p99/max/mean in milliseconds from microsecond samples."""
    histogram = HdrHistogram(1, HIGHEST_US, 3)
    for sample in samples_us:
        histogram.record_value(min(max(sample, 1), HIGHEST_US))
    if not samples_us:
        return {"count": 0}

    def ms(value_us: float) -> float:
        return round(value_us / 1000, 3)

    return {
        "count": histogram.get_total_count(),
        "min": ms(histogram.get_min_value()),
        "p50": ms(histogram.get_value_at_percentile(50)),
        "p95": ms(histogram.get_value_at_percentile(95)),
        "p99": ms(histogram.get_value_at_percentile(99)),
        "max": ms(histogram.get_max_value()),
        "mean": ms(histogram.get_mean_value()),
    }


class ReplyMismatch(AssertionError):
    """A reply carrying a request's id arrived and did not match the reply criteria."""

    ROBOT_SUPPRESS_NAME = True


@dataclass
class RoundTrips:
    """Sends ``count`` copies of ``message`` with a fresh id each and times the replies."""

    connection: Connection
    message: dict[str, Any]
    reply: FrameFilter
    id_field: str
    count: int
    timeout_s: float
    rate: float | None = None
    first_id: int = field(default_factory=lambda: random.randrange(1, 2**31))
    pending: dict[Any, int] = field(default_factory=dict)
    samples_us: list[int] = field(default_factory=list)
    lags_us: list[int] = field(default_factory=list)
    _waiters: dict[Any, asyncio.Future[int]] = field(default_factory=dict)
    failure: ReplyMismatch | None = None

    def observe(self, frame: Frame) -> bool:
        if not (frame.is_json and isinstance(frame.data, dict)):
            return False
        key = frame.data.get(self.id_field)
        waiter = self._waiters.get(key) if isinstance(key, int | str) else None
        if waiter is None or waiter.done():
            return False
        reason = self.reply.explain(frame)
        if reason is not None:
            # The reply came and is wrong: waiting on for another would only hide that.
            self.failure = ReplyMismatch(
                f"The reply to request {self.id_field}={key!r} on "
                f"{self.connection.describe()} does not match {self.reply.describe()}: "
                f"{reason}\n  reply: {frame.preview(200)}")
            waiter.set_result(0)  # wakes the wait, which raises the failure
            return False  # left in the buffer, where the failure's log shows it
        waiter.set_result(frame.arrived_ns)
        return True  # a measured reply is not left in the buffer

    async def run(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        self.connection.observers.append(self.observe)
        try:
            started = time.perf_counter_ns()
            period_ns = None if not self.rate else int(1e9 / self.rate)
            replies = []
            for number in range(self.count):
                key = self.first_id + number
                waiter: asyncio.Future[int] = loop.create_future()
                self._waiters[key] = waiter
                intended = time.perf_counter_ns()
                if period_ns is not None:
                    intended = started + number * period_ns
                    delay = (intended - time.perf_counter_ns()) / 1e9
                    if delay > 0:
                        await asyncio.sleep(delay)
                if self.failure is not None:
                    raise self.failure
                text = json.dumps({**self.message, self.id_field: key}, separators=(",", ":"))
                sent = await self.connection.send_async(text)
                self.lags_us.append(max(0, sent - intended) // 1000)
                replies.append((intended, waiter))
                if period_ns is None:
                    await self._collect(intended, waiter, self.timeout_s)
            if period_ns is not None:
                deadline = time.monotonic() + self.timeout_s
                for intended, waiter in replies:
                    await self._collect(intended, waiter, max(0.0, deadline - time.monotonic()))
        finally:
            self.connection.observers.remove(self.observe)
        result: dict[str, Any] = summarise(self.samples_us)
        result["lost"] = self.count - len(self.samples_us)
        if period_ns is not None:
            lag = summarise(self.lags_us)
            result["schedule_lag_p99"] = lag.get("p99", 0.0)
            result["schedule_lag_max"] = lag.get("max", 0.0)
        return result

    async def _collect(self, intended: int, waiter: asyncio.Future[int], timeout: float) -> None:
        try:
            arrived = await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            return
        if self.failure is not None:
            raise self.failure
        self.samples_us.append(max(1, (arrived - intended) // 1000))
