"""Validating frames against an AsyncAPI 3 document: one message at a time, or all the
traffic of a connection."""

from __future__ import annotations

import contextlib
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robot.api import logger
from robotlibcore import keyword

from ..asyncapi import AsyncApiDocument, Message
from ..connection import Connection
from ..context import LibraryContext, as_template
from ..frames import Frame, preview
from .base import Component

VIOLATIONS_KEPT = 20  # in full, per report: a flood of bad frames is counted, not listed


@dataclass(eq=False)  # compared and found by identity, as its bound methods are
class TrafficCheck:
    """The opt-in validation of one connection's frames, both ways."""

    document: AsyncApiDocument
    sent: list[Message]
    received: list[Message]
    sent_scope: str
    received_scope: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)
    unlisted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_received(self, frame: Frame) -> bool:
        self._check("received", frame.raw, frame.data if frame.is_json else None,
                    frame.is_json)
        return False  # only watching: the frame stays in the buffer for the waits

    def on_sent(self, payload: str | bytes) -> None:
        data, is_json = None, False
        if isinstance(payload, str):
            with contextlib.suppress(ValueError):
                data, is_json = as_template(payload), True
        self._check("sent", payload, data, is_json)

    def _check(self, direction: str, raw: str | bytes, data: Any, is_json: bool) -> None:
        # Runs on the loop thread, inside the reader or a send: it must never raise there.
        try:
            if not is_json:
                problem: str | None = (f"{direction} frame {preview(raw, 200)} is not JSON "
                                       f"(the contract's messages are JSON)")
            else:
                messages, scope = ((self.sent, self.sent_scope) if direction == "sent"
                                   else (self.received, self.received_scope))
                outcome = self.document.validate(data, messages)
                problem = None if outcome.matched else (
                    f"{direction} frame " + outcome.describe(data, scope))
        except Exception as error:  # reported: never lost on the loop thread
            problem = f"{direction} frame {preview(raw, 200)} could not be validated: {error}"
        with self.lock:
            self.checked += 1
            if problem is not None and len(self.violations) < VIOLATIONS_KEPT:
                self.violations.append(problem)
            elif problem is not None:
                self.unlisted += 1

    def take(self) -> tuple[int, list[str], int]:
        """Frames checked so far, and the violations (listed, unlisted) since the last take."""
        with self.lock:
            found, unlisted = self.violations, self.unlisted
            self.violations, self.unlisted = [], 0
            return self.checked, found, unlisted


class AsyncApiKeywords(Component):
    def __init__(self, ctx: LibraryContext) -> None:
        super().__init__(ctx)
        self.documents: dict[str, AsyncApiDocument] = {}
        self.current: str | None = None
        self.checks: weakref.WeakKeyDictionary[Connection, TrafficCheck] = (
            weakref.WeakKeyDictionary())

    def _document(self, name: str | None) -> AsyncApiDocument:
        name = name if name is not None else self.current
        if name is None:
            raise RuntimeError("No AsyncAPI document loaded. Use 'Load AsyncAPI' first.")
        if name not in self.documents:
            raise RuntimeError(f"No AsyncAPI document named {name!r}. Loaded: "
                               f"{', '.join(self.documents) or 'none'}.")
        return self.documents[name]

    @keyword("Load AsyncAPI", tags=["Setter"])
    def load_asyncapi(self, path: str | Path, name: str | None = None,
                      describes: str = "server") -> str:
        """Loads the AsyncAPI 3 document at ``path`` (YAML or JSON) and makes it current.

        ``$ref``s are followed inside the document and to files relative to it (never over
        the network); message payloads are validated as JSON Schema draft 2020-12 (or the
        draft their ``$schema`` names). ``name`` names the document for the other keywords'
        ``document`` argument (default: its ``info.title``); the name is returned.
        ``describes`` is the application the document is written for: ``server`` (the
        usual API contract: frames the client sends must be messages of the document's
        ``receive`` operations, frames it receives of its ``send`` operations) or ``client``.

        Example:
        | Load AsyncAPI    ${CURDIR}/../docs/asyncapi.yaml    name=dashboards
        """
        document = AsyncApiDocument(path, describes)
        key = name if name is not None else document.title
        self.documents[key] = document
        self.current = key
        logger.info(f"AsyncAPI '{key}' ({document.root.get('asyncapi')}) from {document.path}: "
                    f"channels {', '.join(document.channel_names()) or 'none'}; operations "
                    f"{', '.join(document.operation_names()) or 'none'}.")
        return key

    @keyword("Get AsyncAPI Messages", tags=["Getter"])
    def get_asyncapi_messages(self, channel: str | None = None, operation: str | None = None,
                              action: str | None = None, document: str | None = None
                              ) -> list[str]:
        """Returns the names of the messages of a ``channel``, an ``operation``, or the
        operations with an ``action`` (``send`` or ``receive``), as the other keywords pick
        them.

        Example:
        | ${names}=    Get AsyncAPI Messages    channel=pulse    action=receive
        | List Should Contain Value    ${names}    ping
        """
        messages, _ = self._document(document).messages(channel, operation, action)
        return [message.name for message in messages]

    @keyword("Message Should Match AsyncAPI", tags=["Assertion"])
    def message_should_match_asyncapi(self, message: Any, channel: str | None = None,
                                      operation: str | None = None, action: str | None = None,
                                      name: str | None = None,
                                      document: str | None = None) -> str:
        """Fails unless ``message`` is one of the messages the AsyncAPI document allows there;
        returns the name of the message it matched.

        ``message`` is a dictionary/list (e.g. returned by `Wait For Message`) or a JSON
        string. The candidates are an ``operation``'s messages, or a ``channel``'s (its key
        or address), narrowed to the operations with ``action`` (``send``/``receive``, the
        document's own words) when given, or with neither every channel's. ``name`` checks
        against that one message only. ``document`` picks a document by its name (default:
        the one loaded last).

        The failure names the candidates tried and, for the closest (the fewest errors),
        every error: the JSONPath in the message, the schema file and JSON pointer of the
        failing keyword, and the offending value.

        Example:
        | ${welcome}=    Wait For Message    {"type": "welcome"}
        | Message Should Match AsyncAPI    ${welcome}    channel=pulse    action=send
        | Message Should Match AsyncAPI    {"type": "ping"}    operation=pulseReceive
        """
        doc = self._document(document)
        candidates, scope = doc.messages(channel, operation, action)
        value = as_template(message) if isinstance(message, str) else message
        outcome = doc.validate(value, candidates, only=name)
        if outcome.matched is None:
            raise AssertionError(outcome.describe(value, f"{scope} of AsyncAPI '{doc.title}'"))
        logger.info(f"Matches message '{outcome.matched}' of {scope}.")
        return outcome.matched

    @keyword("Validate Traffic With AsyncAPI", tags=["Action"])
    def validate_traffic_with_asyncapi(self, channel: str | None = None,
                                       document: str | None = None,
                                       alias: str | None = None) -> None:
        """Validates every frame sent and received on the connection from now on against
        the AsyncAPI document, until `Stop Validating Traffic`.

        Received frames are checked as they arrive (before any wait takes them) against
        the messages of the ``channel``'s ``send`` operations, sent frames just before
        they go out against its ``receive`` operations (the other way round for a document
        that ``describes=client``, see `Load AsyncAPI`); without ``channel``, of every
        channel. A frame that matches no message does not fail the keyword that sent or
        received it: the violation is kept, and `Traffic Should Have Matched AsyncAPI` or
        `Stop Validating Traffic` fails with the violations collected (the first 20 in full,
        the others counted). So put `Stop Validating Traffic` in the test teardown, and a
        test whose traffic broke the contract fails. Frames that are not JSON are
        violations too. Checking runs on the library's I/O thread: keep it off load runs.

        Example:
        | Connect    ws://localhost:3001    alias=pulse
        | Validate Traffic With AsyncAPI    channel=pulse    alias=pulse
        | [Teardown]    Stop Validating Traffic    alias=pulse
        """
        doc = self._document(document)
        connection = self.ctx.connection(alias)
        self._stop(connection)
        sent, sent_scope = doc.messages(channel, action=doc.action_for(sent=True))
        received, received_scope = doc.messages(channel,
                                                action=doc.action_for(sent=False))
        check = TrafficCheck(doc, sent, received, f"{sent_scope} of AsyncAPI '{doc.title}'",
                             f"{received_scope} of AsyncAPI '{doc.title}'")
        self.checks[connection] = check
        connection.send_observers.append(check.on_sent)
        connection.add_observer(check.on_received)
        logger.info(f"Validating the traffic of {connection.describe()}: sent frames against "
                    f"{', '.join(m.name for m in sent) or 'nothing'}; received frames against "
                    f"{', '.join(m.name for m in received) or 'nothing'}.")

    @keyword("Traffic Should Have Matched AsyncAPI", tags=["Assertion"])
    def traffic_should_have_matched_asyncapi(self, alias: str | None = None) -> int:
        """Fails if a frame sent or received since `Validate Traffic With AsyncAPI` (or since
        the last call of this keyword) broke the AsyncAPI document, listing each violation
        once; returns how many frames have been checked in all.

        Example:
        | Send Json    {"type": "ping", "timestamp": 1640995200000}    alias=pulse
        | Wait For Message    {"type": "pong"}    alias=pulse
        | ${checked}=    Traffic Should Have Matched AsyncAPI    alias=pulse
        """
        connection = self.ctx.connection(alias)
        check = self.checks.get(connection)
        if check is None:
            raise RuntimeError(f"The traffic of {connection.describe()} is not being validated. "
                               f"Use 'Validate Traffic With AsyncAPI' first.")
        return self._report(connection, check)

    @keyword(tags=["Action"])
    def stop_validating_traffic(self, alias: str | None = None) -> int:
        """Stops validating the connection's traffic, then fails like `Traffic Should Have
        Matched AsyncAPI` if any frame broke the document; returns how many were checked.
        Does nothing (returns 0) when its traffic is not being validated.

        Example:
        | [Teardown]    Stop Validating Traffic    alias=pulse
        """
        connection = self.ctx.connection(alias)
        check = self._stop(connection)
        return 0 if check is None else self._report(connection, check)

    def _stop(self, connection: Connection) -> TrafficCheck | None:
        check = self.checks.pop(connection, None)
        if check is not None:
            if check.on_sent in connection.send_observers:
                connection.send_observers.remove(check.on_sent)
            connection.remove_observer(check.on_received)
        return check

    @staticmethod
    def _report(connection: Connection, check: TrafficCheck) -> int:
        checked, violations, unlisted = check.take()
        if violations:
            more = f"\n… and {unlisted} more." if unlisted else ""
            raise AssertionError(
                f"{len(violations) + unlisted} frame(s) on {connection.describe()} broke the "
                f"AsyncAPI document ({checked} checked):\n" + "\n".join(violations) + more)
        logger.info(f"{checked} frame(s) on {connection.describe()} matched the AsyncAPI "
                    f"document.")
        return checked
