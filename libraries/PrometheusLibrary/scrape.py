"""Scraping a Prometheus text exposition and finding series in it."""

from __future__ import annotations

import re
import ssl
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from WebSocketLibrary.tlsoptions import (
    TlsOptions,
    bearer_headers,
    closed_after_handshake,
    describe_tls_error,
    find_tls_error,
    http_opener,
    redact_url,
    sentence,
)

SELECTOR = re.compile(r"^\s*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(?P<labels>.*)\})?\s*$")
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
# Loopback and test targets: never through a proxy from the environment.
_OPENER = http_opener(None)


class ScrapeTlsError(AssertionError):
    """The TLS of a scrape failed: a setting to fix, not a value to wait for."""


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float

    def describe(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        return f"{self.name}{{{inner}}} {self.value:g}"


@dataclass
class Scrape:
    """One scrape: every sample of the exposition, and when it was taken."""

    url: str
    taken_at: float
    samples: list[Sample] = field(default_factory=list)
    # Every declared family (# HELP / # TYPE), sampled or not, with its type; a counter under
    # its name with and without _total.
    families: dict[str, str] = field(default_factory=dict)

    def find(self, name: str, labels: dict[str, str]) -> list[Sample]:
        return [s for s in self.samples if s.name == name
                and all(s.labels.get(k) == v for k, v in labels.items())]

    def names(self) -> list[str]:
        return sorted({s.name for s in self.samples})

    def __str__(self) -> str:
        return f"<scrape of {self.url}: {len(self.samples)} samples>"


def parse_exposition(text: str, url: str = "", taken_at: float | None = None) -> Scrape:
    """A ``Scrape`` of Prometheus text exposition ``text`` (prometheus_client's parser)."""
    samples: list[Sample] = []
    families: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        samples += [Sample(s.name, dict(s.labels), float(s.value)) for s in family.samples]
        families[family.name] = family.type
        if family.type == "counter":
            families[f"{family.name}_total"] = family.type
    return Scrape(url, time.time() if taken_at is None else taken_at, samples, families)


def scrape(url: str, timeout: float = 5.0, token: str | None = None,
           context: ssl.SSLContext | None = None, tls: TlsOptions | None = None) -> Scrape:
    """GETs ``url`` and parses it; fails with the reason if it does not answer 200.

    ``token`` is sent as ``Authorization: Bearer <token>``; ``context`` is the TLS context
    of an https URL (built from ``tls``, the options named in messages)."""
    shown = redact_url(url)
    headers = bearer_headers(token, {"Accept": "text/plain"})
    request = urllib.request.Request(url, headers=headers)
    opener = _OPENER if context is None else http_opener(context)
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read().decode("utf-8", errors="replace")
    except OSError as error:
        after = closed_after_handshake(url, error)
        if after or find_tls_error(error) is not None:
            text = describe_tls_error(shown, error, tls, after_handshake=after)
            raise ScrapeTlsError(f"Scraping {shown} failed: {sentence(text)}") from None
        raise AssertionError(f"Scraping {shown} failed: {error}") from None
    return parse_exposition(body, shown)


def parse_selector(name: str, labels: Any = None) -> tuple[str, dict[str, str]]:
    """``name`` may carry labels (``metric{a="x"}``); ``labels`` adds more: a dict or
    ``a=x,b=y`` text."""
    match = SELECTOR.match(name)
    if not match:
        raise ValueError(f"Not a metric name or selector: {name!r}")
    wanted: dict[str, str] = {}
    inner = match.group("labels")
    if inner:
        consumed = 0
        for label in LABEL.finditer(inner):
            if label.start() != consumed:
                break
            wanted[label.group(1)] = label.group(2).replace('\\"', '"').replace("\\\\", "\\")
            consumed = label.end()
        if inner[consumed:].strip():
            raise ValueError(f"Cannot read the labels of {name!r}")
    if isinstance(labels, dict):
        wanted.update({str(k): str(v) for k, v in labels.items()})
    elif isinstance(labels, str) and labels.strip():
        for part in labels.split(","):
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"Labels are name=value pairs, got {part!r}")
            wanted[key.strip()] = value.strip().strip('"')
    return match.group("name"), wanted
