"""DeploymentControl: act on a deployment by its operator's own means, and describe it.

A deployment under test is restarted by whatever manages it (``systemctl restart …``,
``docker restart …``, ``kubectl rollout restart …``), its database stopped and started the
same way. Tests get those commands as settings; this library runs them, bounded in time,
and fails naming the setting and what the command said. It also turns a database URL into
DatabaseLibrary's connection arguments (the password as a ``Secret``) and binds the named
parameters of a storage query written by the deployment's operator.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from robot.api import logger
from robot.api.deco import keyword, library
from robot.api.types import Secret

from WebSocketLibrary.tlsoptions import (
    bearer_headers,
    client_context,
    describe_tls_error,
    find_tls_error,
    http_opener,
    redact_url,
)

__version__ = "0.1.0"
OUTPUT_TAIL_CHARS = 2000
HEALTH_POLL_S = 0.1
PARAMETER = re.compile(r"%\((\w+)\)s")


@dataclass
class RunningCommand:
    """A command started in the background by `Start Deployment Command`."""

    command: str
    setting: str
    process: subprocess.Popen[str]
    started: float = field(default_factory=time.monotonic)

    def __str__(self) -> str:
        return f"<{self.setting}: {self.command}>"


def _health_url(ws_url: str) -> str:
    parts = urlsplit(ws_url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"Not a WebSocket URL: {redact_url(ws_url)} (expected ws:// or wss://).")
    return urlunsplit(("https" if parts.scheme == "wss" else "http", parts.netloc, "/healthz",
                       "", ""))


def _secret(value: Secret | str | None) -> Secret | None:
    """``value`` as a Secret; None when it is empty."""
    text = value.value if isinstance(value, Secret) else value
    return Secret(str(text)) if text else None


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= OUTPUT_TAIL_CHARS else "…" + text[-OUTPUT_TAIL_CHARS:]


@library(scope="GLOBAL", version=__version__)
class DeploymentControl:
    """Runs a deployment's control commands and describes its database and storage queries.

    = Commands =
    `Run Deployment Command` runs one shell command to its end; `Start Deployment Command`
    and `Wait For Deployment Command` run one in the background while the test goes on (a
    restart while messages are being acknowledged). A command that exits non-zero or
    outlives its timeout fails the keyword with the setting's name, the exit code and the
    end of its output. Commands run with ``/bin/sh``, in the process group of their own that
    a timeout kills.

    = Database =
    `Database Connection Arguments` splits ``postgresql://user:password@host:port/db?…`` into
    the arguments of DatabaseLibrary's ``Connect To Database``; the password is a ``Secret``
    and query parameters such as ``sslmode`` are passed on.

    = Storage queries =
    Which tables a deployment keeps alerts, voices or notifications in is its own choice: the
    operator writes the query, with named parameters ``%(name)s``. `Bind Query Parameters`
    turns it into a positional query and its parameters, failing on a name it cannot fill.
    """

    def __init__(self) -> None:
        self._running: list[RunningCommand] = []

    # -- commands ----------------------------------------------------------------------

    @keyword(tags=["Action"])
    def run_deployment_command(self, command: str, setting: str,
                               timeout: timedelta = timedelta(minutes=2)) -> dict[str, Any]:
        """Runs ``command`` (the value of the setting named ``setting``) to its end.

        Returns ``exit_code``, ``seconds`` and ``output`` (stdout and stderr). Fails when the
        command is empty, exits non-zero or runs longer than ``timeout``, naming ``setting``.

        Example:
        | Run Deployment Command    ${RESTART_COMMAND}    RESTART_COMMAND    timeout=2 min
        """
        return self.wait_for_deployment_command(
            self.start_deployment_command(command, setting), timeout)

    @keyword(tags=["Action"])
    def start_deployment_command(self, command: str, setting: str) -> RunningCommand:
        """Starts ``command`` in the background and returns it for
        `Wait For Deployment Command`. Fails at once if it is empty or cannot be started.

        Example:
        | ${restart}=    Start Deployment Command    ${RESTART_COMMAND}    RESTART_COMMAND
        | Send At Rate    {"type": "ping"}    rate=100    duration=2s
        | Wait For Deployment Command    ${restart}
        """
        if not str(command).strip():
            raise AssertionError(f"{setting} is empty: the variables name no command for it.")
        logger.info(f"{setting}: {command}")
        try:
            process = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, start_new_session=True)
        except OSError as error:
            raise AssertionError(f"{setting} could not be started: {error}") from None
        running = RunningCommand(command, setting, process)
        self._running.append(running)
        return running

    @keyword(tags=["Wait"])
    def wait_for_deployment_command(self, running: RunningCommand,
                                    timeout: timedelta = timedelta(minutes=2)
                                    ) -> dict[str, Any]:
        """Waits for a command of `Start Deployment Command` to end; returns and fails as
        `Run Deployment Command` does.

        Example:
        | ${result}=    Wait For Deployment Command    ${restart}    timeout=90s
        | Log    ${result}[output]
        """
        left = max(0.0, running.started + timeout.total_seconds() - time.monotonic())
        try:
            output, _ = running.process.communicate(timeout=left)
        except subprocess.TimeoutExpired:
            self._kill(running)
            output, _ = running.process.communicate()
            raise AssertionError(
                f"{running.setting} did not finish within {timeout.total_seconds():g} s and "
                f"was killed: {running.command}\n{_tail(output or '')}") from None
        finally:
            if running in self._running:
                self._running.remove(running)
        seconds = round(time.monotonic() - running.started, 3)
        code = running.process.returncode
        logger.info(f"{running.setting} exited with {code} after {seconds:g} s"
                    + (f":\n{_tail(output)}" if output.strip() else "."))
        if code != 0:
            raise AssertionError(f"{running.setting} failed with exit code {code} after "
                                 f"{seconds:g} s: {running.command}\n{_tail(output)}")
        return {"exit_code": code, "seconds": seconds, "output": output}

    @keyword(tags=["Action"])
    def stop_all_deployment_commands(self) -> None:
        """Kills every command still running (for a teardown after a failure).

        Example:
        | [Teardown]    Stop All Deployment Commands
        """
        for running in list(self._running):
            self._kill(running)
            running.process.communicate()
        self._running.clear()

    @staticmethod
    def _kill(running: RunningCommand) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(running.process.pid, signal.SIGKILL)

    # -- health ------------------------------------------------------------------------

    @keyword(tags=["Getter"])
    def get_dashboard_health(self, url: str, token: Secret | str | None = None,
                             ca_bundle: str | None = None, client_cert: str | None = None,
                             client_key: str | None = None, verify: bool = True,
                             timeout: timedelta = timedelta(seconds=2)) -> dict[str, Any]:
        """GETs the ``/healthz`` of the dashboard at WebSocket ``url`` (``ws://`` → ``http://``,
        ``wss://`` → ``https://``) and returns ``status`` (the HTTP status, or None when it
        did not answer), ``body`` (the JSON object, or the text) and ``error``.

        ``token`` and the TLS options are those of WebSocketLibrary's ``Connect``. A
        certificate that does not verify fails at once.

        Example:
        | ${health}=    Get Dashboard Health    ${SYSTEM}[urls][pulse]    &{SYSTEM}[producer]
        | Should Be Equal    ${health}[body][database]    ok
        """
        health = _health_url(url)
        context = client_context(health, ca_bundle, client_cert, client_key, verify)
        request = urllib.request.Request(health, headers=bearer_headers(token))
        status: int | None
        try:
            with http_opener(context).open(request, timeout=timeout.total_seconds()) as answer:
                status, text, error = answer.status, answer.read().decode(errors="replace"), ""
        except urllib.error.HTTPError as refused:
            status, text, error = refused.code, refused.read().decode(errors="replace"), ""
        except OSError as failure:
            if find_tls_error(failure) is not None:
                raise AssertionError(describe_tls_error(redact_url(health), failure)) from None
            status, text, error = None, "", str(getattr(failure, "reason", failure))
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        return {"status": status, "body": body, "error": error}

    @keyword(tags=["Wait"])
    def wait_until_dashboards_report(self, urls: dict[str, str], status: int = 200,
                                     database: str | None = None,
                                     timeout: timedelta = timedelta(seconds=30),
                                     token: Secret | str | None = None,
                                     ca_bundle: str | None = None,
                                     client_cert: str | None = None,
                                     client_key: str | None = None,
                                     verify: bool = True) -> float:
        """Polls the ``/healthz`` of every dashboard of ``urls`` (name → WebSocket URL) until
        each answers ``status`` and, if given, a body whose ``database`` is ``database``;
        returns the milliseconds that took. Fails after ``timeout`` with what each answered.

        Example:
        | ${ms}=    Wait Until Dashboards Report    ${urls}    503    database=down    timeout=15s
        """
        started = time.monotonic()
        deadline = started + timeout.total_seconds()
        pending = dict(urls)
        last: dict[str, dict[str, Any]] = {}
        while True:
            for name, url in list(pending.items()):
                last[name] = self.get_dashboard_health(url, token, ca_bundle, client_cert,
                                                       client_key, verify)
                body = last[name]["body"]
                if last[name]["status"] == status and (
                        database is None
                        or (isinstance(body, dict) and body.get("database") == database)):
                    del pending[name]
            if not pending:
                elapsed = round((time.monotonic() - started) * 1000, 1)
                logger.info(f"Every dashboard answered /healthz {status}"
                            + (f" with database {database}" if database else "")
                            + f" after {elapsed:g} ms.")
                return elapsed
            if time.monotonic() > deadline:
                seen = "; ".join(f"{name}: HTTP {last[name]['status']} {last[name]['body']}"
                                 f"{' ' + last[name]['error'] if last[name]['error'] else ''}"
                                 for name in pending)
                wanted = f"HTTP {status}" + (f" with database {database}" if database else "")
                raise AssertionError(f"Not every dashboard answered /healthz {wanted} within "
                                     f"{timeout.total_seconds():g} s: {seen}")
            time.sleep(HEALTH_POLL_S)

    # -- target ------------------------------------------------------------------------

    @keyword(tags=["Getter"])
    def describe_target(self, urls: dict[str, str], database_url: Secret | str = "",
                        producer_token: Secret | str = "", viewer_token: Secret | str = "",
                        allowed_origin: str = "", refused_origin: str = "",
                        ca_bundle: str = "", client_cert: str = "", client_key: str = "",
                        verify: bool = True) -> dict[str, Any]:
        """Everything a test needs to reach a target, normalised.

        Returns ``urls``; ``database_url`` (a ``Secret`` if it was one, ``""`` if none);
        ``tls``, the TLS arguments of the client keywords (``ca_bundle``, ``client_cert``,
        ``client_key``, ``verify``: only those given); ``producer`` and ``viewer``, ``tls``
        plus that role's ``token`` (always a ``Secret``; absent when the target needs none);
        and ``access``: ``producer_token``, ``viewer_token``, ``allowed_origin``,
        ``refused_origin`` (``None`` when not given). Empty secrets count as not given.

        Example:
        | &{target}=    Describe Target    ${urls}    producer_token=${PRODUCER_TOKEN}
        | Connect    ${target}[urls][pulse]    &{target}[producer]
        """
        tls: dict[str, Any] = {name: value for name, value in (
            ("ca_bundle", ca_bundle), ("client_cert", client_cert),
            ("client_key", client_key)) if value}
        if not verify:
            tls["verify"] = False
        if client_key and not client_cert:
            raise AssertionError("CLIENT_KEY is set without CLIENT_CERT.")
        for setting, path in (("CA_BUNDLE", ca_bundle), ("CLIENT_CERT", client_cert),
                              ("CLIENT_KEY", client_key)):
            if path and not os.path.isfile(path):
                raise AssertionError(f"{setting} names {path}, which is not a file.")
        producer, viewer = _secret(producer_token), _secret(viewer_token)
        return {
            "urls": dict(urls), "database_url": _secret(database_url) or "",
            "tls": tls,
            "producer": {**tls, **({"token": producer} if producer else {})},
            "viewer": {**tls, **({"token": viewer} if viewer else {})},
            "access": {"producer_token": producer, "viewer_token": viewer,
                       "allowed_origin": allowed_origin or None,
                       "refused_origin": refused_origin or None},
        }

    # -- database ----------------------------------------------------------------------

    @keyword(tags=["Getter"])
    def database_connection_arguments(self, url: Secret | str) -> dict[str, Any]:
        """The arguments of DatabaseLibrary's ``Connect To Database`` for a PostgreSQL URL.

        ``db_name``, ``db_user``, ``db_password`` (a ``Secret``, or None), ``db_host``,
        ``db_port``, and each query parameter of the URL (``sslmode``, ``sslrootcert``, …)
        as a custom connection parameter. ``url`` may be a ``Secret``.

        Example:
        | &{arguments}=    Database Connection Arguments    ${DATABASE_URL}
        | Connect To Database    psycopg2    &{arguments}    alias=metrics
        """
        text = url.value if isinstance(url, Secret) else str(url)
        parts = urlsplit(text)
        if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
            raise ValueError("Not a PostgreSQL URL (postgresql://user:password@host:port/db)"
                             f": scheme {parts.scheme!r}, database {parts.path.strip('/')!r}.")
        arguments: dict[str, Any] = {
            "db_name": unquote(parts.path.lstrip("/")),
            "db_user": unquote(parts.username or "") or None,
            "db_password": Secret(unquote(parts.password)) if parts.password else None,
            "db_host": parts.hostname or "localhost",
            "db_port": parts.port or 5432,
        }
        arguments.update(dict(parse_qsl(parts.query)))
        return arguments

    @keyword(tags=["Getter"])
    def bind_query_parameters(self, query: str, setting: str,
                              values: dict[str, Any]) -> tuple[str, list[Any]]:
        """Turns ``query`` with named parameters ``%(name)s`` into a positional query and
        the list of its parameters, taken from ``values``.

        Fails naming ``setting`` when the query uses a name that ``values`` lacks.

        Example:
        | ${sql}    ${parameters}=    Bind Query Parameters
        | ...    SELECT 1 FROM alerts WHERE alert_id = %(alert_id)s    ALERT_QUERY
        | ...    ${{ {"alert_id": "a1"} }}
        | Check Row Count    ${sql}    >=    1    parameters=${parameters}
        """
        names = PARAMETER.findall(query)
        unknown = sorted(set(names) - set(values))
        if unknown:
            raise AssertionError(f"{setting} uses parameter(s) {', '.join(unknown)}; the "
                                 f"ones it can use are: {', '.join(sorted(values))}.")
        return PARAMETER.sub("%s", query), [values[name] for name in names]
