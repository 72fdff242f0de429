"""What every keyword component shares."""

from __future__ import annotations

from ..context import LibraryContext


class Component:
    def __init__(self, ctx: LibraryContext) -> None:
        self.ctx = ctx
