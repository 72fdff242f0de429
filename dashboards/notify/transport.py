"""Blocking senders (run in a worker thread): Slack incoming webhook and SMTP.

Each raises ``DeliveryError`` when the notification was not accepted, so the outbox retries.
"""

from __future__ import annotations

import http.client
import json
import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit


class DeliveryError(Exception):
    """The receiver did not accept the notification (yet)."""


def post_webhook(url: str, body: dict[str, Any], timeout: float) -> None:
    """POST ``body`` as JSON; any 2xx answer is a delivery, anything else an error."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"not an http(s) URL: {parts.scheme}://{parts.hostname}")
    connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                        else http.client.HTTPConnection)
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    data = json.dumps(body).encode()
    try:
        connection.request("POST", path, body=data, headers={
            "Content-Type": "application/json", "User-Agent": "dashboards-alerts/1.0"})
        response = connection.getresponse()
        answer = response.read(500).decode(errors="replace")
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryError(f"webhook unreachable: {error}") from None
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        raise DeliveryError(f"webhook answered {response.status}: {answer.strip()[:200]}")


def send_email(host: str, port: int, message: EmailMessage, timeout: float) -> list[str]:
    """Hand ``message`` to the SMTP server; returns the recipients it refused.

    When every recipient is refused (or the server fails) it raises ``DeliveryError``. When
    only some are refused the message counts as delivered (the accepted ones have it, and a
    retry would send it to them twice); the caller logs the refused ones.
    """
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            refused = smtp.send_message(message)
    except (TimeoutError, smtplib.SMTPException, OSError) as error:
        raise DeliveryError(f"SMTP {host}:{port}: {error}") from None
    return sorted(refused)
