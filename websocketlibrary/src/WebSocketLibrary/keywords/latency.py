"""Round-trip times: one request, or many summarised by an HDR histogram."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

from robot.api import logger
from robotlibcore import keyword

from ..context import as_json_value, as_template, compact_json
from ..filters import FrameFilter
from ..latency import RoundTrips
from .base import Component
from .receiving import ReceivingKeywords

STAT_KEYS = ("count", "min", "p50", "p95", "p99", "max", "mean")


class LatencyKeywords(Component):
    def __init__(self, ctx: Any, receiving: ReceivingKeywords) -> None:
        super().__init__(ctx)
        self.receiving = receiving

    @keyword(tags=["Getter"])
    def measure_round_trip(self, message: dict | str, reply_template: dict | str,
                           timeout: timedelta | None = None, alias: str | None = None) -> float:
        """Sends ``message``, waits for a reply matching ``reply_template``, returns the ms.

        The round trip runs from just before the frame is handed to the socket to the
        moment the reader received the reply (monotonic clock), so the time this keyword
        spends matching is not counted. A matching reply already buffered before the send
        is ignored (and left in the buffer); the reply is consumed.

        Example:
        | ${rtt}=    Measure Round Trip    {"type":"ping","id":7}    {"type":"pong","id":7}
        | Should Be True    ${rtt} < 200
        """
        template = as_template(reply_template)
        text = compact_json(message)
        connection = self.ctx.connection(alias)
        sent_ns = connection.send(text)
        self.ctx.log_frame(">>", text)
        frame = self.receiving.take(FrameFilter(template, after_ns=sent_ns), timeout, alias)
        rtt_ms = (frame.arrived_ns - sent_ns) / 1e6
        logger.info(f"Round trip {rtt_ms:.3f} ms")
        return rtt_ms

    @keyword(tags=["Getter"])
    def measure_round_trips(self, message: dict | str, count: int = 100,
                            id_field: str = "id", reply_template: dict | str | None = None,
                            rate: float | None = None, timeout: timedelta | None = None,
                            alias: str | None = None) -> dict[str, Any]:
        """Sends ``count`` requests and times each reply, matched by ``id_field``.

        Each request is ``message`` (a JSON object) with ``id_field`` set to a fresh integer;
        its reply is the first JSON message with the same value in ``id_field`` that also
        matches ``reply_template`` (when given). Replies are not left in the buffer.

        Without ``rate`` requests go one after another (closed loop). With ``rate`` (per
        second) they are sent on a fixed schedule without waiting for replies, and each round
        trip is measured from its planned send time, so a stalled server shows up in the
        figures instead of slowing the load down (no coordinated omission).

        Returns a dictionary of milliseconds from an HDR histogram (3 significant digits):
        ``count``, ``min``, ``p50``, ``p95``, ``p99``, ``max``, ``mean``, plus ``lost`` and,
        with ``rate``, ``schedule_lag_p99`` and ``schedule_lag_max``. Fails if a reply did
        not arrive within ``timeout`` (per request; for a scheduled run, after the last send),
        and at once when a reply with a request's id arrives that does not match
        ``reply_template``, saying why.

        Example:
        | ${rtt}=    Measure Round Trips    {"type": "ping"}    count=200    id_field=id
        | ...    reply_template={"type": "pong"}
        | Should Be True    ${rtt}[p99] < 50
        | ${rtt}=    Measure Round Trips    {"type": "ping"}    count=1000    rate=100
        """
        if count < 1:
            raise ValueError("count must be at least 1.")
        request = as_json_value(message)
        if not isinstance(request, dict):
            raise ValueError("The message must be a JSON object to carry an id field.")
        template = as_template(reply_template) if reply_template is not None else None
        connection = self.ctx.connection(alias)
        seconds = self.ctx.seconds(timeout)
        trips = RoundTrips(connection, request, FrameFilter(template), id_field, count,
                           seconds, rate)
        budget = seconds * (1 if rate else count) + (count / rate if rate else 0) + 30
        result = connection.call(trips.run(), budget)
        self._log(result, request, id_field)
        if result["lost"]:
            raise AssertionError(f"{result['lost']} of {count} replies (matched by "
                                 f"{id_field}) did not arrive within {seconds:g} s on "
                                 f"{connection.describe()}; the others: {result}")
        return result

    @staticmethod
    def _log(result: dict[str, Any], request: dict[str, Any], id_field: str) -> None:
        cells = "".join(f"<th>{key}</th>" for key in result)
        values = "".join(f"<td>{html.escape(str(value))}</td>" for value in result.values())
        logger.info(f"Round trips of {html.escape(compact_json(request))} by "
                    f"{html.escape(id_field)} (ms):<table border='1'><tr>{cells}</tr>"
                    f"<tr>{values}</tr></table>", html=True)
