"""SystemProbe: is the system under test there at all? Fails fast, says why."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from robot.api import logger
from robot.api.deco import keyword, library

__version__ = "0.1.0"


def health_url(ws_url: str) -> str:
    """``ws://host:3001/anything`` → ``http://host:3001/healthz`` (wss → https)."""
    parts = urlsplit(ws_url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"Not a WebSocket URL: {ws_url!r} (expected ws:// or wss://).")
    scheme = "https" if parts.scheme == "wss" else "http"
    return urlunsplit((scheme, parts.netloc, "/healthz", "", ""))


@library(scope="GLOBAL", version=__version__)
class SystemProbe:
    """Checks that the dashboards answer their ``/healthz`` before any test runs."""

    @keyword
    def dashboards_should_be_reachable(self, urls: dict[str, str],
                                       timeout: timedelta = timedelta(seconds=10)) -> None:
        """Fails unless every dashboard's ``/healthz`` answers 200 within ``timeout``.

        ``urls`` maps a dashboard name to its WebSocket URL. The failure names each
        dashboard that did not answer and what happened instead.

        Example:
        | Dashboards Should Be Reachable    ${SYSTEM}[urls]    timeout=10s
        """
        deadline = time.monotonic() + timeout.total_seconds()
        problems: dict[str, str] = {}
        pending = dict(urls)
        while pending:
            for name, ws_url in list(pending.items()):
                problem = self._probe(health_url(ws_url))
                if problem is None:
                    del pending[name]
                    problems.pop(name, None)
                else:
                    problems[name] = problem
            if pending and time.monotonic() > deadline:
                detail = "\n".join(f"  {n} ({urls[n]}): {problems[n]}" for n in pending)
                raise AssertionError(f"The system under test is not reachable after "
                                     f"{timeout.total_seconds():g} s:\n{detail}")
            if pending:
                time.sleep(0.2)
        logger.info(f"All dashboards answer /healthz: {', '.join(urls)}")

    @staticmethod
    def _probe(url: str) -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return None if answer.status == 200 else f"HTTP {answer.status}"
        except urllib.error.HTTPError as error:
            body = error.read().decode(errors="replace")[:200]
            try:
                database = json.loads(body).get("database")
            except ValueError:
                database = None
            hint = " (its database is down)" if database == "down" else ""
            return f"{url} answered HTTP {error.code}{hint}: {body}"
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            return f"{url}: {reason}"
