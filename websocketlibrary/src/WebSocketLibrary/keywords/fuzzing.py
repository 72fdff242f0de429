"""Contract-driven fuzzing: messages generated from a JSON Schema, every reply checked."""

from __future__ import annotations

import collections
import contextlib
import itertools
import re
import time
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, example, find, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import NoSuchExample, Unsatisfiable
from hypothesis.strategies import SearchStrategy
from robot.api import logger
from robotlibcore import keyword

from ..connection import Connection
from ..context import as_template, compact_json
from ..filters import FrameFilter
from ..frames import Frame, preview
from ..fuzzing import FuzzKind, Sample, coverage, one_rule, samples
from ..schema import SchemaCheck
from .base import Component

SHOWN_ERRORS = 3
SHRINK_SECONDS = 60.0


class _ShrinkOver(Exception):
    """The shrinking budget is spent: the smallest failure found so far stands."""


class Pacer:
    """Spaces sends ``1 / rate`` seconds apart (a rate cap, not a synchronisation)."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}.")
        self.interval = 1 / rate
        self.next_at = time.monotonic()

    def wait(self) -> None:
        delay = self.next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.next_at = max(self.next_at, time.monotonic()) + self.interval


def robot_escaped(text: str) -> str:
    """``text`` written as one argument in Robot Framework data: backslashes doubled,
    variable syntax escaped, runs of spaces kept."""
    text = text.replace("\\", "\\\\")
    text = re.sub(r"([$@&%]){", r"\\\1{", text)
    return re.sub(r"(?<= ) ", "${SPACE}", text)


class FuzzingKeywords(Component):
    @keyword(tags=["Assertion"])
    def fuzz_messages_from_schema(
            self, schema: dict | str, replies: list[dict | str],
            examples: int = 50, kinds: list[FuzzKind] | FuzzKind | None = None,
            every_rule: bool = True, seed: int = 0, rate: float = 20.0, id_field: str = "id",
            error_template: dict | str = '{"type": "error"}',
            control: dict | str | None = None, control_reply: dict | str | None = None,
            shrink_limit: int = 100, max_bytes: int | None = None,
            timeout: timedelta | None = None, alias: str | None = None) -> dict[str, Any]:
        """Sends messages generated from the JSON Schema ``schema`` and checks every reply.

        What Schemathesis does for an OpenAPI operation, for one message type of a
        JSON-over-WebSocket API. ``examples`` messages are drawn (seeded by ``seed``, so a
        run is reproducible) of the ``kinds`` asked for (all three by default):

        - ``valid``: drawn from ``schema`` by hypothesis-jsonschema;
        - ``near-miss``: a valid one with one thing made wrong: a required field left out,
          a field of the wrong type, a number just out of range, a string or array one too
          long or short, a value just outside its enum;
        - ``hostile``: a valid one with a hostile string or number in one field, or a
          field with a hostile name: lone surrogates, NUL, SQL and HTML, 4,096 characters,
          ±1e308, 2^63, a 4,001-digit integer.

        With ``every_rule`` (the default) the random draws come after a sweep that tries
        every rule once: the schema's smallest valid message, then each of its near-misses
        and each hostile value in each field, so no rule is left to chance (like
        Schemathesis's coverage phase); a failure found in the sweep is not shrunk.

        Each message gets a fresh correlation id in ``id_field`` and is sent at most
        ``rate`` a second; one longer than ``max_bytes`` (the server's message size limit,
        beyond which it may close the connection) is counted as ``too large`` and not
        sent. Every message must be answered, within ``timeout``, by a JSON reply that
        carries the same id, is valid against at least one schema of
        ``replies``, and, when the message breaks ``schema``, matches ``error_template``.
        The connection must stay open, and with ``control`` the server must still answer
        it with ``control_reply`` after each message.

        A failure is shrunk (at most ``shrink_limit`` more messages) to the smallest message
        that still fails, and reported with the text to paste into a test (with
        `Send Text`). When a message closed the connection, nothing more can be tried: the
        message that closed it is reported as found.

        Returns counts: ``sent`` per kind, ``invalid`` (breaking the schema) and
        ``too large``, ``replies`` per reply ``type``, and the ``seed``.

        Example:
        | ${run}=    Fuzz Messages From Schema    ${SCHEMAS}/metric_update.schema.json
        | ...    replies=["${SCHEMAS}/metrics_received.schema.json", "${SCHEMAS}/error.schema.json"]
        | ...    examples=100    seed=7    rate=50
        | ...    control={"type": "ping", "timestamp": 1}    control_reply={"type": "pong"}
        | Log    ${run}[replies]
        """
        if examples < 1:
            raise ValueError(f"examples must be at least 1, got {examples}.")
        if not replies:
            raise ValueError("Give at least one reply schema.")
        if (control is None) != (control_reply is None):
            raise ValueError("Give both control and control_reply, or neither.")
        wanted = self._kinds(kinds)
        connection = self.ctx.connection(alias)
        if connection.state != "open":
            raise AssertionError(f"{connection.describe()} is not open: nothing to fuzz.")
        fuzzer = Fuzzer(connection, SchemaCheck(schema), [SchemaCheck(r) for r in replies],
                        FrameFilter(as_template(error_template)), id_field, Pacer(rate),
                        self.ctx.seconds(timeout), max_bytes)
        if control is not None:
            fuzzer.control = (compact_json(control), as_template(control_reply))
        sweep = coverage(fuzzer.schema.schema, wanted, (id_field,)) if every_rule else []
        fuzzer.explore(samples(fuzzer.schema.schema, wanted, (id_field,)), sweep,
                       examples, seed)
        if fuzzer.failures:
            fuzzer.shrink(shrink_limit)
            raise AssertionError(fuzzer.report())
        summary = {"sent": dict(fuzzer.sent), "replies": dict(fuzzer.replies), "seed": seed}
        logger.info(f"Fuzzed {connection.describe()} with "
                    f"{sum(fuzzer.sent[k.value] for k in wanted)} message(s): {summary}")
        return summary

    @staticmethod
    def _kinds(kinds: list[FuzzKind] | FuzzKind | None) -> list[FuzzKind]:
        if kinds is None:
            return list(FuzzKind)
        chosen = [kinds] if isinstance(kinds, FuzzKind) else list(kinds)
        if not chosen:
            raise ValueError("kinds is empty: give at least one of "
                             + ", ".join(k.value for k in FuzzKind) + ".")
        return chosen


class Fuzzer:
    """Sends samples over one connection and checks each reply; keeps every failure."""

    def __init__(self, connection: Connection, schema: SchemaCheck,
                 replies: list[SchemaCheck], error: FrameFilter, id_field: str,
                 pacer: Pacer, seconds: float, max_bytes: int | None = None) -> None:
        self.connection = connection
        self.schema = schema
        self.replies_allowed = replies
        self.error = error
        self.id_field = id_field
        self.pacer = pacer
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.control: tuple[str, Any] | None = None
        self.sent: collections.Counter[str] = collections.Counter()
        self.replies: collections.Counter[str] = collections.Counter()
        self.failures: list[tuple[Sample, str, str]] = []  # sample, text sent, why
        self._ids = itertools.count(1)

    def explore(self, strategy: SearchStrategy[Sample], sweep: list[Sample],
                examples: int, seed: int) -> None:
        """Sends the ``sweep``, then ``examples`` random samples; stops at the first failure."""

        @settings(max_examples=examples, database=None, deadline=None,
                  phases=(Phase.explicit, Phase.generate), verbosity=Verbosity.quiet,
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
        @hypothesis_seed(seed)
        @given(strategy)
        def fuzz(sample: Sample) -> None:
            why = self.check(sample)
            if why is not None:
                raise AssertionError(why)

        for sample in reversed(sweep):  # decorators apply inside out: keep the sweep's order
            fuzz = example(sample)(fuzz)
        try:
            fuzz()
        except Exception:
            if not self.failures:
                raise

    def shrink(self, limit: int, seconds: float = SHRINK_SECONDS) -> None:
        """Looks for smaller messages with the first failure's change: at most ``limit``
        messages sent, for at most ``seconds``."""
        found = self.failures[0][0]
        budget = [limit]
        deadline = time.monotonic() + seconds

        def still_fails(sample: Sample) -> bool:
            if budget[0] <= 0 or time.monotonic() > deadline:
                raise _ShrinkOver
            if self.connection.state != "open":
                return False
            budget[0] -= 1
            return self.check(sample) is not None

        with contextlib.suppress(NoSuchExample, Unsatisfiable, _ShrinkOver):
            find(one_rule(self.schema.schema, found, (self.id_field,)), still_fails,
                 settings=settings(max_examples=limit, database=None, deadline=None,
                                   phases=(Phase.generate, Phase.shrink),
                                   verbosity=Verbosity.quiet,
                                   suppress_health_check=list(HealthCheck)))

    def check(self, sample: Sample) -> str | None:
        """Sends ``sample`` with a fresh id; returns why its reply breaks the contract."""
        if self.connection.state != "open":
            return None  # nothing can be tried any more
        message = {**sample.message, self.id_field: f"fuzz-{next(self._ids)}"}
        text = Sample(sample.kind, message, sample.change).text()
        if self.max_bytes is not None and len(text.encode()) > self.max_bytes:
            self.sent["too large"] += 1
            return None
        broken = self.schema.errors(message)
        self.sent[sample.kind.value] += 1
        self.sent["invalid"] += bool(broken)
        try:
            self._exchange(text, message[self.id_field], broken)
        except AssertionError as failure:
            self.failures.append((sample, text, str(failure)))
            return str(failure)
        return None

    def _exchange(self, text: str, request_id: str, broken: list[str]) -> None:
        self.pacer.wait()
        sent_ns = self.connection.send(text)
        reply = self._reply(request_id, sent_ns)
        self.replies[str(reply.data.get("type"))] += 1
        self._check_reply(reply, broken)
        if self.connection.state != "open":
            raise AssertionError(f"The connection closed (code {self.connection.close_code}) "
                                 f"after the reply.")
        if self.control is not None:
            self.pacer.wait()
            self._check_control(*self.control)

    def _reply(self, request_id: str, sent_ns: int) -> Frame:
        connection, seconds = self.connection, self.seconds
        wanted = FrameFilter({self.id_field: request_id}, after_ns=sent_ns)
        found = connection.buffer.take(wanted, seconds)
        if found is not None:
            return found
        meanwhile = [f for f in connection.buffer.snapshot() if f.arrived_ns >= sent_ns]
        lines = [f"No reply carrying \"{self.id_field}\": \"{request_id}\" within "
                 f"{seconds:g} s."]
        if connection.state != "open":
            lines.append(f"The connection closed (code {connection.close_code}).")
        lines += [f"  arrived meanwhile: {f.preview(200)}" for f in meanwhile[-SHOWN_ERRORS:]]
        raise AssertionError("\n".join(lines))

    def _check_reply(self, reply: Frame, broken: list[str]) -> None:
        errors = [check.errors(reply.data) for check in self.replies_allowed]
        if all(errors):
            closest = min(errors, key=len)
            raise AssertionError(
                f"The reply {reply.preview(200)} matches none of the reply schemas; the "
                f"closest says:\n  " + "\n  ".join(closest[:SHOWN_ERRORS]))
        if broken and not self.error(reply):
            raise AssertionError(
                f"The message breaks the schema ({broken[0]}) but the reply "
                f"{reply.preview(200)} is not an error ({self.error.describe()}).")

    def _check_control(self, text: str, template: Any) -> None:
        sent_ns = self.connection.send(text)
        wanted = FrameFilter(template, after_ns=sent_ns)
        if self.connection.buffer.take(wanted, self.seconds) is None:
            raise AssertionError(f"The server no longer answers the control message {text} "
                                 f"with {wanted.describe()} within {self.seconds:g} s.")

    def report(self) -> str:
        """The smallest failing message (and the first, when that was another), why it
        fails, and how to replay it."""
        first = self.failures[0]
        sample, text, why = min(self.failures, key=lambda failure: len(failure[1]))
        closed = self.connection.state != "open"
        how = ("found (not shrunk: the connection is closed, so nothing more could be tried)"
               if closed and len(self.failures) == 1 else
               f"shrunk from {len(first[1])} to {len(text)} characters"
               if len(text) < len(first[1]) else "found")
        change = f" ({sample.change})" if sample.change else ""
        lines = [f"A {sample.kind.value} message{change} fails the contract, {how}:",
                 f"  {preview(text, 2000)}", why,
                 f"Sent: {dict(self.sent)}; replies: {dict(self.replies)}.",
                 "To replay it: Send Text    " + robot_escaped(text)
                 if len(text) <= 2000 else "(too long to paste)"]
        if first[1] != text:
            lines.append(f"First found: {preview(first[1], 300)}")
        return "\n".join(lines)
