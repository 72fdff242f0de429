"""The PabotLib server the shards of a run share, and checking that a shard can reach it.

Every shard's pabot is started with ``--pabotlibhost/--pabotlibport`` naming this server, so
locks (``Acquire Lock``) and run-once setups (``Run Setup Only Once``) hold across machines.
It is pabot's own server (``pabot.pabotlib``), started here only to choose a free port and
publish it in a file.
"""

from __future__ import annotations

import socket
import time
import xmlrpc.client
from pathlib import Path


class PabotLibUnreachable(ConnectionError):
    pass


def serve(host: str, port: int, port_file: Path | None) -> None:
    """Runs the server until stopped (SIGTERM/SIGINT, or ``Stop Remote Server``)."""
    from pabot.pabotlib import _PabotLib
    from pabot.robotremoteserver import RobotRemoteServer

    RobotRemoteServer(_PabotLib(""), host=host, port=port,
                      port_file=str(port_file) if port_file else None)


def check_reachable(host: str, port: int, timeout: float = 10.0) -> None:
    """Raises ``PabotLibUnreachable`` naming what a shard cannot share without the server,
    unless the server answers within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    uri = f"http://{host}:{port}"
    while True:
        try:
            proxy = xmlrpc.client.ServerProxy(uri)
            names = proxy.get_keyword_names()
            if not isinstance(names, list) or "acquire_lock" not in names:
                raise PabotLibUnreachable(f"{uri} answers, but is not a PabotLib server")
            return
        except (OSError, xmlrpc.client.Error) as error:
            if time.monotonic() > deadline:
                raise PabotLibUnreachable(
                    f"the PabotLib server at {uri} is not reachable ({error}); without it "
                    f"the shards cannot share locks (metric_values) or run-once setups, so "
                    f"this shard is not started") from error
            time.sleep(0.2)


def run_pabot(host: str, port: int, args: list[str]) -> int:
    """Runs pabot with its processes using the shared server at ``host:port``.

    pabot 5.2.2 takes ``--pabotlibhost/--pabotlibport`` as "do not start a server" but then
    points its processes at the default 127.0.0.1:8270 (pabot issue #717, fixed upstream by
    the --pabotlib modes of PR #718, not yet released): the address it would have used is set
    here before pabot starts.
    """
    from pabot import pabot as pabot_main

    if not hasattr(pabot_main, "_PABOTLIBURI"):
        raise RuntimeError("this pabot has no _PABOTLIBURI: check whether --pabotlibhost "
                           "works on its own now, and drop this launcher")
    pabot_main._PABOTLIBURI = f"{host}:{port}"
    return int(pabot_main.main_program(
        ["--pabotlibhost", host, "--pabotlibport", str(port), *args]))


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
