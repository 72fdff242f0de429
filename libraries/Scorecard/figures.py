"""A measured figure, its target, and how it is embedded in (and read back from) output.xml."""

from __future__ import annotations

import html
import json
import operator
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq,
}
_TARGET = re.compile(r"^\s*(<=|>=|==|<|>)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
# Figures ride in output.xml as an HTML comment inside the log message: invisible in
# log.html, and they survive pabot's merge and rebot like any other message.
_MARKER = re.compile(r"<!--figure:(.*?)-->", re.S)


def parse_target(target: str) -> tuple[str, float]:
    """``"< 500"`` → ``("<", 500.0)``; ValueError for anything else."""
    match = _TARGET.match(target)
    if not match:
        raise ValueError(f"A target looks like '< 500' or '>= 95' "
                         f"(operators {', '.join(OPERATORS)}), got {target!r}.")
    return match.group(1), float(match.group(2))


@dataclass(frozen=True)
class Figure:
    scenario: str
    name: str
    value: float
    unit: str
    target: str = ""
    note: str = ""

    @property
    def verdict(self) -> str:
        """``pass``/``fail`` against the target, ``info`` when the figure has none."""
        if not self.target:
            return "info"
        op, limit = parse_target(self.target)
        return "pass" if OPERATORS[op](self.value, limit) else "fail"

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        target = f", target {self.target}{unit}" if self.target else ""
        verdict = self.verdict.upper()
        return f"{self.scenario} {self.name}: {self.value:.6g}{unit}{target} → {verdict}"

    def to_html(self) -> str:
        payload = json.dumps(asdict(self)).replace("--", "\\u002d\\u002d")
        return f"<b>Figure</b> {html.escape(self.describe())}<!--figure:{payload}-->"

    @classmethod
    def from_message(cls, message: str) -> Figure | None:
        match = _MARKER.search(message)
        if not match:
            return None
        data: dict[str, Any] = json.loads(match.group(1))
        return cls(**data)
