"""Listener (API v3) that closes the connections a test or suite opened when it ends."""

from __future__ import annotations

from typing import Any

from .context import LibraryContext
from .keywords.lifecycle import close_quietly


class ScopeListener:
    """Tracks a stack of scopes (suites and tests); connections belong to the innermost."""

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, ctx: LibraryContext, close_at_end: bool = True) -> None:
        self.ctx = ctx
        self.close_at_end = close_at_end

    def start_suite(self, data: Any, result: Any) -> None:
        self.ctx.scopes.append([])

    def start_test(self, data: Any, result: Any) -> None:
        self.ctx.scopes.append([])

    def end_test(self, data: Any, result: Any) -> None:
        self._end_scope("test")

    def end_suite(self, data: Any, result: Any) -> None:
        self._end_scope("suite")

    def _end_scope(self, scope: str) -> None:
        if not self.ctx.scopes:
            return
        opened = self.ctx.scopes.pop()
        if self.close_at_end:
            for connection in opened:
                close_quietly(connection)
                connection.scope_ended = scope  # never silently current in the next test
