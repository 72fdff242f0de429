"""Plain HTTP answers on the WebSocket ports: /healthz and /metrics (protocol.md section 1)."""

from __future__ import annotations

import json
from http import HTTPStatus

from websockets.datastructures import Headers
from websockets.http11 import Response


def response(status: int, body: bytes, content_type: str,
             extra: dict[str, str] | None = None) -> Response:
    headers = Headers({"Content-Type": content_type, "Content-Length": str(len(body)),
                       "Connection": "close", **(extra or {})})
    return Response(status, HTTPStatus(status).phrase, headers, body)


def json_response(status: int, payload: dict[str, object]) -> Response:
    return response(status, json.dumps(payload).encode(), "application/json")


def text_response(status: int, text: str, content_type: str = "text/plain; charset=utf-8",
                  extra: dict[str, str] | None = None) -> Response:
    return response(status, text.encode(), content_type, extra)


def is_upgrade(headers: Headers) -> bool:
    return "websocket" in headers.get("Upgrade", "").lower()
