"""Validating messages against a JSON Schema."""

from __future__ import annotations

from typing import Any

from robotlibcore import keyword

from ..context import as_template
from ..filters import FrameFilter
from ..schema import SchemaCheck
from .base import Component


class SchemaKeywords(Component):
    @keyword(tags=["Assertion"])
    def message_should_match_schema(self, message: Any, schema: dict | str) -> None:
        """Fails unless ``message`` is valid against the JSON Schema ``schema``.

        ``message`` is a dictionary/list (e.g. returned by `Wait For Message`) or a JSON
        string. ``schema`` is a dictionary, a JSON string, or the path of a JSON file; its
        ``$schema`` picks the draft (2020-12 when absent). The failure lists every error
        with its JSONPath.

        Example:
        | ${msg}=    Wait For Message    {"type": "update"}
        | Message Should Match Schema    ${msg}    ${CURDIR}/schemas/update.json
        """
        check = SchemaCheck(schema)
        errors = check.errors(as_template(message) if isinstance(message, str) else message)
        if errors:
            raise AssertionError(f"The message does not match the schema "
                                 f"({len(errors)} error(s)):\n  " + "\n  ".join(errors))

    @keyword(tags=["Assertion"])
    def buffered_messages_should_match_schema(self, schema: dict | str,
                                              template: dict | list | str | None = None,
                                              minimum: int = 1, alias: str | None = None) -> int:
        """Validates every buffered JSON message (matching ``template``) against ``schema``.

        Consumes nothing. Fails when fewer than ``minimum`` messages are checked, or when any
        is invalid, naming each invalid message and its errors. Returns how many were checked.

        Example:
        | Wait For Messages    10    {"type": "update"}    timeout=5s
        | Buffered Messages Should Match Schema    ${CURDIR}/update.json    {"type": "update"}
        """
        check = SchemaCheck(schema)
        wanted = FrameFilter(as_template(template) if template is not None else None)
        connection = self.ctx.connection(alias)
        frames = [frame for frame in connection.buffer.snapshot() if wanted(frame)]
        if len(frames) < minimum:
            raise AssertionError(f"Only {len(frames)} buffered message(s) matching "
                                 f"{wanted.describe()} to validate, expected at least {minimum}.")
        invalid = []
        for frame in frames:
            errors = check.errors(frame.data)
            if errors:
                invalid.append(f"  {frame.preview(200)}\n    " + "\n    ".join(errors))
        if invalid:
            raise AssertionError(f"{len(invalid)} of {len(frames)} message(s) do not match the "
                                 f"schema:\n" + "\n".join(invalid))
        return len(frames)
