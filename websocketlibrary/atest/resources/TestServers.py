"""Starts and stops the acceptance tests' WebSocket servers on free loopback ports.

``python``: atest/servers/python_ws_server.py (plain ``websockets``); ``node``:
atest/node_ws_server/server.js (the ``ws`` package from npm, installed by scripts/setup).
"""

from __future__ import annotations

import select
import subprocess
import sys
import time
from pathlib import Path

from robot.api import logger
from robot.api.types import Secret

ATEST = Path(__file__).resolve().parent.parent
COMMANDS = {
    "python": [sys.executable, str(ATEST / "servers" / "python_ws_server.py")],
    "node": ["node", str(ATEST / "node_ws_server" / "server.js")],
}
START_TIMEOUT_S = 15
TOKEN = "secret-token"


class TestServers:
    """Keywords for the test servers; every server started is stopped by `Stop Test Servers`."""

    ROBOT_LIBRARY_SCOPE = "GLOBAL"

    def __init__(self) -> None:
        self._servers: dict[str, subprocess.Popen[str]] = {}
        self._urls: dict[str, str] = {}

    def start_test_server(self, kind: str) -> str:
        """Starts the ``python`` or ``node`` server (once) and returns its ``ws://`` base URL."""
        if kind in self._urls:
            return self._urls[kind]
        if kind not in COMMANDS:
            raise ValueError(f"Unknown test server {kind!r}; use python or node.")
        if kind == "node" and not (ATEST / "node_ws_server" / "node_modules" / "ws").is_dir():
            raise RuntimeError("The Node ws server is not installed: run scripts/setup "
                               "(it runs 'npm ci' in atest/node_ws_server).")
        process = subprocess.Popen(COMMANDS[kind], stdout=subprocess.PIPE, text=True,
                                   stdin=subprocess.DEVNULL)
        self._servers[kind] = process
        line = self._first_line(process)
        if not line.startswith("LISTENING "):
            self.stop_test_servers()
            raise RuntimeError(f"The {kind} test server did not start: {line!r}")
        url = f"ws://127.0.0.1:{int(line.split()[1])}"
        self._urls[kind] = url
        logger.info(f"{kind} test server listening at {url} (pid {process.pid})")
        return url

    def stop_test_servers(self) -> None:
        """Stops every test server started (SIGTERM, then SIGKILL after 5 s)."""
        for process in self._servers.values():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
            if process.stdout is not None:
                process.stdout.close()
        self._servers.clear()
        self._urls.clear()

    def get_test_token(self) -> Secret:
        """The bearer token the servers accept on ``/auth``, as a Secret."""
        return Secret(TOKEN)

    @staticmethod
    def _first_line(process: subprocess.Popen[str]) -> str:
        assert process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 0.1)
            if ready:
                return process.stdout.readline().strip()
            if process.poll() is not None:
                return f"exited with {process.returncode}"
        return f"no LISTENING line within {START_TIMEOUT_S} s"
