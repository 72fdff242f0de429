"""A measured figure, its target, and how it is embedded in (and read back from) output.xml."""

from __future__ import annotations

import html
import json
import operator
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from assertionengine import AssertionOperator

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}
_TARGET = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
# Figures ride in output.xml as an HTML comment inside the log message: invisible in
# log.html, and they survive pabot's merge and rebot like any other message.
_MARKERS = {kind: re.compile(rf"<!--{kind}:(.*?)-->", re.S) for kind in ("figure", "unchecked")}


def embed(kind: str, title: str, record: Any, description: str) -> str:
    """An HTML log message showing ``description`` and carrying ``record`` (a dataclass)."""
    payload = json.dumps(asdict(record)).replace("--", "\\u002d\\u002d")
    return f"<b>{title}</b> {html.escape(description)}<!--{kind}:{payload}-->"


def extract(kind: str, message: str) -> dict[str, Any] | None:
    """The record of ``kind`` embedded in ``message``, if any."""
    match = _MARKERS[kind].search(message)
    return json.loads(match.group(1)) if match else None


def format_target(assertion_operator: AssertionOperator | None,
                  assertion_expected: float | None) -> str:
    """The target as the summary writes it (``"< 500"``), from the assertion engine's
    operator and a number; "" when neither is given."""
    if assertion_operator is None and assertion_expected is None:
        return ""
    if assertion_operator is None or assertion_expected is None:
        raise ValueError("Give both assertion_operator and assertion_expected, or neither.")
    if assertion_operator.value not in OPERATORS:
        raise ValueError(f"A figure is compared with {', '.join(OPERATORS)}; "
                         f"got {assertion_operator.value!r}.")
    target = f"{assertion_operator.value} {float(assertion_expected):.12g}"
    parse_target(target)
    return target


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
        return embed("figure", "Figure", self, self.describe())

    @classmethod
    def from_message(cls, message: str) -> Figure | None:
        data = extract("figure", message)
        return None if data is None else cls(**data)


@dataclass(frozen=True)
class Unchecked:
    """A check a test could not make against this target, and why."""

    scenario: str
    what: str
    reason: str

    def describe(self) -> str:
        return f"{self.scenario} {self.what}: not checked: {self.reason}"

    def to_html(self) -> str:
        return embed("unchecked", "Not checked", self, self.describe())

    @classmethod
    def from_message(cls, message: str) -> Unchecked | None:
        data = extract("unchecked", message)
        return None if data is None else cls(**data)
