"""Heartbeat monitors that watch in the background while other keywords run."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from assertionengine import AssertionOperator
from robot.api import logger
from robotlibcore import keyword

from ..connection import Connection
from ..context import as_template
from ..filters import FrameFilter
from ..heartbeat import HeartbeatMonitor
from .base import Component


class HeartbeatKeywords(Component):
    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.monitors: dict[tuple[int, str], tuple[Connection, HeartbeatMonitor]] = {}

    @keyword(tags=["Action"])
    def start_heartbeat_monitor(self, template: dict | str | None = None,
                                interval: timedelta = timedelta(seconds=1),
                                tolerance: timedelta = timedelta(milliseconds=200),
                                period: timedelta | None = None, name: str = "heartbeat",
                                consume: bool = False, path: str | None = None,
                                assertion_operator: AssertionOperator | None = None,
                                assertion_expected: Any = None, alias: str | None = None) -> None:
        """Starts watching, in the background, for messages matching ``template`` (and/or
        ``path``/``assertion_operator``/``assertion_expected``, as in `Wait For Message`) to
        arrive every
        ``interval`` ± ``tolerance``.

        Other keywords run meanwhile; `Heartbeat Monitor Should Be Healthy` checks the
        rhythm later. With ``period`` only that span from now is judged. With ``consume``
        the heartbeats are kept out of the buffer so they do not clutter other waits.
        Several monitors can run at once under different ``name`` s.

        Example:
        | Start Heartbeat Monitor    {"type": "heartbeat"}    interval=1s    tolerance=200ms
        | ...    period=10s
        | Send Json    {"type": "ping"}
        | Wait For Message    {"type": "pong"}
        | Heartbeat Monitor Should Be Healthy
        """
        connection = self.ctx.connection(alias)
        wanted = FrameFilter(as_template(template) if template is not None else None,
                             path, assertion_operator, assertion_expected)
        key = (id(connection), name)
        if key in self.monitors:
            self.stop_heartbeat_monitor(name, alias)
        monitor = HeartbeatMonitor(wanted, _ns(interval), _ns(tolerance),
                                   None if period is None else _ns(period), consume)
        connection.add_observer(monitor.observe)
        self.monitors[key] = (connection, monitor)

    @keyword(tags=["Assertion"])
    def heartbeat_monitor_should_be_healthy(self, name: str = "heartbeat",
                                            minimum_beats: int = 1,
                                            alias: str | None = None) -> dict[str, Any]:
        """Fails if the heartbeats broke their rhythm; returns their statistics.

        When the monitor has a ``period`` that is not over yet, this waits for its end,
        failing as soon as a beat is missing or early. Fails when a gap between beats is
        outside ``interval ± tolerance``, the first beat came later than ``interval +
        tolerance`` after the start, none came for longer than that up to now, or fewer
        than ``minimum_beats`` arrived. Returns ``beats``, ``observed_s`` and
        ``min_interval_ms``, ``max_interval_ms``, ``mean_interval_ms``.

        Example:
        | ${stats}=    Heartbeat Monitor Should Be Healthy
        | Should Be True    ${stats}[beats] >= 9
        """
        connection, monitor = self._monitor(name, alias)
        problems: list[str] = []

        def settled() -> bool:
            now = time.perf_counter_ns()
            problems[:] = monitor.violations(now)
            return bool(problems) or monitor.period_over(now)

        while not connection.buffer.wait_until(settled, 1.0):
            pass  # periods may be long: waiting in 1 s steps keeps test timeouts working
        now = time.perf_counter_ns()
        stats = monitor.stats(now)
        logger.info(f"Heartbeats {monitor.describe()}: {stats}")
        if problems:
            raise AssertionError(f"Heartbeats {monitor.describe()} on {connection.describe()} "
                                 f"are unhealthy: {'; '.join(problems[:5])}. Stats: {stats}")
        if stats["beats"] < minimum_beats:
            raise AssertionError(f"Only {stats['beats']} heartbeat(s) {monitor.describe()} "
                                 f"arrived, expected at least {minimum_beats}.")
        return stats

    @keyword(tags=["Action"])
    def stop_heartbeat_monitor(self, name: str = "heartbeat",
                               alias: str | None = None) -> dict[str, Any]:
        """Stops a heartbeat monitor and returns its statistics (no assertion).

        Example:
        | ${stats}=    Stop Heartbeat Monitor
        """
        connection, monitor = self._monitor(name, alias)
        connection.remove_observer(monitor.observe)
        del self.monitors[(id(connection), name)]
        return monitor.stats(time.perf_counter_ns())

    def _monitor(self, name: str, alias: str | None) -> tuple[Connection, HeartbeatMonitor]:
        connection = self.ctx.connection(alias)
        try:
            return self.monitors[(id(connection), name)]
        except KeyError:
            raise RuntimeError(f"No heartbeat monitor {name!r} on {connection.describe()}; "
                               f"use 'Start Heartbeat Monitor' first.") from None


def _ns(duration: timedelta) -> int:
    return int(duration.total_seconds() * 1e9)
