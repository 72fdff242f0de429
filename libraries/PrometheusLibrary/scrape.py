"""Scraping a Prometheus text exposition and finding series in it."""

from __future__ import annotations

import re
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

SELECTOR = re.compile(r"^\s*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(?P<labels>.*)\})?\s*$")
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
# Loopback and test targets: never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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

    def find(self, name: str, labels: dict[str, str]) -> list[Sample]:
        return [s for s in self.samples if s.name == name
                and all(s.labels.get(k) == v for k, v in labels.items())]

    def names(self) -> list[str]:
        return sorted({s.name for s in self.samples})

    def __str__(self) -> str:
        return f"<scrape of {self.url}: {len(self.samples)} samples>"


def parse_exposition(text: str, url: str = "", taken_at: float | None = None) -> Scrape:
    """A ``Scrape`` of Prometheus text exposition ``text`` (prometheus_client's parser)."""
    samples = [Sample(s.name, dict(s.labels), float(s.value))
               for family in text_string_to_metric_families(text) for s in family.samples]
    return Scrape(url, time.time() if taken_at is None else taken_at, samples)


def scrape(url: str, timeout: float = 5.0) -> Scrape:
    """GETs ``url`` and parses it; fails with the reason if it does not answer 200."""
    request = urllib.request.Request(url, headers={"Accept": "text/plain"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read().decode("utf-8", errors="replace")
    except OSError as error:
        raise AssertionError(f"Scraping {url} failed: {error}") from None
    return parse_exposition(body, url)


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
