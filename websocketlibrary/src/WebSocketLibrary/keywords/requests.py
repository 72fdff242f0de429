"""Request/reply: a message with a correlation id, and the reply that carries the same id."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import Any

from assertionengine import AssertionOperator
from robot.api import logger
from robotlibcore import keyword

from ..context import as_json_value, compact_json
from ..filters import FrameFilter
from ..kinds import RequestIdFormat, request_id_format
from .base import Component
from .receiving import ReceivingKeywords


class RequestKeywords(Component):
    def __init__(self, ctx: Any, receiving: ReceivingKeywords) -> None:
        super().__init__(ctx)
        self.receiving = receiving
        self._counter = itertools.count(1)

    @keyword(tags=["Getter"])
    def send_request(self, message: dict | str, reply_template: dict | list | str | None = None,
                     path: str | None = None,
                     assertion_operator: AssertionOperator | None = None,
                     assertion_expected: Any = None, id_field: str = "id",
                     request_id: Any = None, id_format: RequestIdFormat = RequestIdFormat.UUID,
                     timeout: timedelta | None = None,
                     alias: str | None = None) -> tuple[Any, float]:
        """Sends ``message`` with a correlation id, waits for the reply that carries the same
        id, checks it and returns the reply and the round-trip time in milliseconds.

        ``message`` is a JSON object (a JSON string or a dictionary). Its correlation id goes
        in the top-level field ``id_field`` (default ``id``, as in JSON-RPC):
        - an id already in ``message`` is used as it is;
        - else ``request_id`` when given (a string or a number: ``request_id=${7}``);
        - else a fresh one in ``id_format``: ``uuid`` (a random UUID string, the default) or
          ``counter`` (the integers 1, 2, 3 … of this library instance).

        The reply is the first JSON object that arrives after the send with the same value in
        ``id_field``. It is then checked against ``reply_template`` (a partial JSON template,
        as in `Wait For Message`) and/or ``path`` with ``assertion_operator`` and
        ``assertion_expected`` (as in `Wait For Message Where`). A reply that does not pass
        fails the keyword at once, saying why, rather than waiting for another; no reply
        within ``timeout`` fails listing what did arrive. The reply is consumed.

        The round trip runs from just before the frame is handed to the socket to the
        moment the background reader received the reply (monotonic clock).

        Example:
        | ${reply}    ${ms}=    Send Request    {"method": "sum", "params": [1, 2]}
        | ...    {"result": 3}
        | ${reply}    ${ms}=    Send Request    {"type": "ping", "timestamp": 5}
        | ...    path=$.type    assertion_operator===    assertion_expected=pong
        | ${reply}    ${ms}=    Send Request    {"op": "get"}    id_field=request_id
        | ...    id_format=counter    timeout=2s    alias=api
        """
        request = as_json_value(message, "A request")
        if not isinstance(request, dict):
            raise ValueError(f"A request must be a JSON object to carry its id in "
                             f"{id_field!r}; got {compact_json(request)}.")
        check = self.receiving.criteria(reply_template, path, assertion_operator,
                                        assertion_expected)
        if id_field not in request:
            request[id_field] = self._new_id(request_id, id_format)
        key = request[id_field]
        connection = self.ctx.connection(alias)
        text = compact_json(request)
        sent_ns = connection.send(text)
        self.ctx.log_frame(">>", text)
        reply = self.receiving.take(FrameFilter({id_field: key}, after_ns=sent_ns), timeout,
                                    alias, what=f"reply to request {id_field}={key!r}")
        rtt_ms = (reply.arrived_ns - sent_ns) / 1e6
        connection.last_returned = [reply]
        reason = check.explain(reply)
        if reason is not None:
            raise AssertionError(
                f"The reply to request {id_field}={key!r} on {connection.describe()} does not "
                f"match {check.describe()}: {reason}\n  reply: "
                f"{reply.preview(self.ctx.log_limit)}")
        logger.info(f"Reply to {id_field}={key!r} after {rtt_ms:.3f} ms")
        return reply.value, rtt_ms

    def _new_id(self, given: Any, id_format: RequestIdFormat) -> Any:
        if given is not None:
            return given
        if request_id_format(id_format) is RequestIdFormat.COUNTER:
            return next(self._counter)
        return str(uuid.uuid4())
