"""The control API client and the matching of captured notifications (no Robot imports)."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

POLL_SLICE_S = 0.5  # one long poll; keeps Robot's timeouts and signals responsive


class CaptureUnavailable(AssertionError):
    """The capture server does not answer."""


class ControlClient:
    def __init__(self, control_url: str, timeout: float = 5.0) -> None:
        self.url = control_url.rstrip("/")
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             query: dict[str, Any] | None = None, extra_timeout: float = 0.0) -> Any:
        url = self.url + path + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout + extra_timeout) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise AssertionError(f"Alert capture server refused {method} {path}: "
                                 f"{error.code} {detail}") from None
        except OSError as error:
            raise CaptureUnavailable(f"Alert capture server at {self.url} does not answer: "
                                     f"{error}") from None

    def records(self, which: str, kind: str = "", after: int = 0,
                wait: float = 0.0) -> dict[str, Any]:
        query: dict[str, Any] = {"after": after}
        if kind:
            query["kind"] = kind
        if wait > 0:
            query["wait"] = f"{wait:.3f}"
        answer: dict[str, Any] = self.call("GET", f"/{which}", query=query, extra_timeout=wait)
        return answer

    def health(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", "/health")
        return answer

    def fault(self, action: str, **fields: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("POST", "/faults", {"action": action, **fields})
        return answer


@dataclass(frozen=True)
class Criteria:
    """What a captured notification must show; all given parts must hold."""

    kind: str  # slack | email
    contains: tuple[str, ...] = ()
    regex: str | None = None
    subject: str | None = None
    subject_regex: str | None = None
    recipient: str | None = None
    sender: str | None = None

    def __post_init__(self) -> None:
        for pattern in (self.regex, self.subject_regex):
            if pattern:
                try:
                    re.compile(pattern)
                except re.error as error:
                    raise ValueError(f"invalid regular expression {pattern!r}: {error}") from None

    def text_of(self, record: dict[str, Any]) -> str:
        if self.kind == "slack":
            return str(record.get("text", ""))
        return f"{record.get('subject', '')}\n{record.get('body', '')}"

    def matches(self, record: dict[str, Any]) -> bool:
        return not self.mismatch(record)

    def mismatch(self, record: dict[str, Any]) -> str:
        """Why ``record`` does not match ('' when it does)."""
        if record.get("kind") != self.kind:
            return f"is {record.get('kind')}, not {self.kind}"
        text = self.text_of(record)
        missing = [part for part in self.contains if str(part) not in text]
        if missing:
            return f"lacks {missing}"
        if self.regex and not re.search(self.regex, text):
            return f"does not match /{self.regex}/"
        subject = str(record.get("subject", ""))
        if self.subject is not None and self.subject not in subject:
            return f"subject {subject!r} lacks {self.subject!r}"
        if self.subject_regex and not re.search(self.subject_regex, subject):
            return f"subject {subject!r} does not match /{self.subject_regex}/"
        if self.recipient is not None:
            recipients = [*record.get("rcpt_tos", []), str(record.get("to", ""))]
            if not any(self.recipient.lower() in r.lower() for r in recipients):
                return f"recipients {record.get('rcpt_tos')} lack {self.recipient!r}"
        if self.sender is not None:
            senders = f"{record.get('mail_from', '')} {record.get('from', '')}"
            if self.sender.lower() not in senders.lower():
                return f"sender {record.get('mail_from')!r} is not {self.sender!r}"
        return ""

    def describe(self) -> str:
        parts = [f"containing {list(self.contains)}"] if self.contains else []
        for name in ("regex", "subject", "subject_regex", "recipient", "sender"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        noun = "Slack message" if self.kind == "slack" else "e-mail"
        return f"{noun} {' '.join(parts) or '(any)'}"


def summary(record: dict[str, Any], limit: int = 200) -> str:
    if record.get("kind") == "slack":
        text = str(record.get("text", ""))
    else:
        text = f"to {record.get('rcpt_tos')} subject {record.get('subject', '')!r}"
    text = text if len(text) <= limit else text[:limit] + "…"
    return f"#{record.get('seq')} {record.get('kind')} {record.get('outcome', '')}: {text}"


def wait_for(client: ControlClient, criteria: Criteria, timeout: float,
             after: int = 0) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The first capture after seq ``after`` that matches, waiting up to ``timeout``.

    Returns (match or None, the captures of that kind that did not match).
    """
    deadline = time.monotonic() + timeout
    cursor = after
    others: list[dict[str, Any]] = []
    while True:
        remaining = deadline - time.monotonic()
        answer = client.records("captures", criteria.kind, cursor,
                                wait=min(max(remaining, 0.0), POLL_SLICE_S))
        for record in answer["captures"]:
            if criteria.matches(record):
                return record, others
            others.append(record)
        cursor = max(cursor, int(answer["last_seq"]))
        if remaining <= 0:
            return None, others
