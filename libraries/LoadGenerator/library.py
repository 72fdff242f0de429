"""The LoadGenerator keyword library (``Library    LoadGenerator``)."""

from __future__ import annotations

import html
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from assertionengine import AssertionOperator, verify_assertion
from robot.api import logger
from robot.api.deco import keyword, library
from robot.api.types import Secret

from figurekit.figures import as_number, as_operator, figure_at
from WebSocketLibrary.tlsoptions import (
    TlsOptions,
    is_secure,
    secret_value,
    unverified_warning,
    warn_unverified,
)

from .artillery import describe, run_artillery
from .config import DEFAULT_MESSAGE, DEFAULT_REPLY, LoadConfig
from .idleclient import run_idle_client
from .report import charts as chart_html
from .report import summary_table, workers_table
from .runner import LoadRun
from .slowconsumer import run_slow_consumer

__version__ = "0.2.0"


def _seconds(value: timedelta | float | str) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    from robot.utils import timestr_to_secs

    return float(timestr_to_secs(value))



def _one_connection(url: Secret | str, headers: dict[str, str] | None,
                    token: Secret | str | None, ca_bundle: str | None,
                    client_cert: str | None, client_key: str | None,
                    verify: bool) -> tuple[str, LoadConfig]:
    """The URL and the settings of a single connection (TLS and credentials checked)."""
    target = secret_value(url)
    if target is None:
        raise ValueError("A URL is required.")
    cfg = LoadConfig(url=target, headers=dict(headers or {}), token=secret_value(token),
                     ca_bundle=ca_bundle, client_cert=client_cert, client_key=client_key,
                     verify=verify, secret_url=not isinstance(url, str))
    if not verify and is_secure(target):
        warn_unverified(unverified_warning(cfg.log_url))
    return target, cfg


@library(scope="GLOBAL", version=__version__)
class LoadGenerator:
    """Open-model WebSocket load: N connections × a rate × a duration, every reply timed.

    Each connection sends ``rate`` messages per second on a fixed schedule: message k is
    due at ``start + k / rate`` whatever happened to the earlier ones, so a slow server
    cannot slow the load down and hide its own latency (coordinated omission). A reply is
    matched to its message by id; latency is measured from the **intended** send time
    (``latency_ms``) and from the actual one (``latency_from_send_ms``), and the schedule
    lag (actual − intended) is reported too, all from histograms at HdrHistogram's
    precision (3 significant digits).

    The load runs in its own thread (``processes=0``) or worker processes (``processes=N``;
    histograms are merged), never on Robot Framework's thread, which only waits in short
    slices: test timeouts work, and on long runs a progress line goes to the console.

    = The schedule =

    Message times are rounded down to a ``tick`` (default 10 ms): a worker wakes once per
    tick, sends every message due in it, and reads every reply that has arrived. At 100
    connections × 10 msg/s that is 10 messages per wake-up instead of one, which is what
    keeps the generator's CPU a fraction of Artillery's for the same load (see
    bench/README.md). A reply's arrival is the kernel's receive timestamp of the socket
    (Linux, plain ``ws://``), not the moment it was read, so reading once per tick does not
    make latency wrong; over ``wss://`` the read time is used, up to a tick late (only ever
    worse, never better). ``tick=0`` sends each message at its own time and reads each
    reply the moment it arrives.

    = The result =

    `Run Load` and `Wait For Load` return a dictionary:
    | ``expected``, ``sent``, ``acknowledged`` | counts of messages |
    | ``lost`` | sent, never answered within ``drain_timeout`` |
    | ``errored`` | error replies plus failed sends |
    | ``delivery_percent`` | acknowledged / expected × 100 |
    | ``latency_ms`` | from the intended send time: ``p50``, ``p95``, ``p99``, ``max``… |
    | ``latency_from_send_ms`` | the same from the actual send time |
    | ``schedule_lag_ms`` | actual − intended send time |
    | ``replies_timed_at_read`` | replies timed by their read, not the kernel's receive time |
    | ``timed_at_read_reasons`` | those by why: ``TLS``, ``no kernel stamp``, … (wsconn.py) |
    | ``errors`` | error replies by ``code``, failed sends and connects by reason |
    | ``timeline`` | per second: ``sent``, ``acknowledged``, ``errored``, ``p50``…``max`` |
    | ``generator_cpu_s`` | CPU the generator itself used |

    Each latency entry holds ``count``, ``min``, ``p50``, ``p90``, ``p95``, ``p99``,
    ``p999``, ``max`` and ``mean``, in ms.

    `Get Load Figure` reads any of them by a dotted path, with an assertion operator.

    = The message =

    A text template: ``{id}`` becomes a number unique within the run, ``{timestamp}`` the
    wall clock in ms. The reply whose ``type`` is ``reply_type`` and whose ``id_field``
    carries that number acknowledges the message; one of type ``error_type`` with it
    counts as an error reply. Every other frame (heartbeats, broadcasts) is ignored.

    = Distributed load =

    `Run Distributed Load` spreads a load over Locust workers, on this host or on many
    machines: Locust's master and workers (ZeroMQ, heartbeats, optional web UI and CSV
    files) carry the run, and inside each worker LoadGenerator's engine runs the worker's
    share on the same open-model schedule, in a process of its own, timing every reply on
    that host's monotonic clock (latency never crosses hosts). The schedule starts a
    ``go_delay`` after the master's go reaches each worker, on that worker's own clock.
    Each worker ships its raw HDR histograms to the master, which adds them bucket by
    bucket: the merged percentiles are exactly those of one histogram of all samples.
    Locust's own statistics count throughput only and are never the reported latency.

    The result has `The result`'s keys, merged over every worker that delivered, plus
    ``workers_breakdown`` (per worker: ``host``, ``status``, ``connections``, ``sent``,
    ``acknowledged``, ``lost``, ``errored``, its own ``latency_ms``, ``clock_offset_ms``),
    ``lost_workers``, ``complete``, ``error``, ``warnings`` and ``latency_histogram``. A
    worker that dies, disconnects or stops sending heartbeats mid-run is listed in
    ``lost_workers`` with what it had reported; the expected count stays the whole run's;
    the keyword then fails (after logging everything) instead of passing partial figures
    off as the run's. The command line does the same outside Robot Framework:
    ``python -m LoadGenerator.distributed master|worker --help``.

    = TLS and credentials =

    `Start Load` and `Run Load` take the TLS and credential arguments of the project's
    other libraries, for every connection of the run: ``token`` (sent as
    ``Authorization: Bearer <token>``, never logged; refused together with an
    ``Authorization`` header), ``ca_bundle`` (PEM file of the CAs to trust; default: the
    system's), ``client_cert`` and ``client_key`` (a client certificate, for mutual TLS)
    and ``verify=False`` (any certificate is trusted; a WARN says so). The URL may be a
    ``Secret`` (carrying ``?token=``): logs and results show it with its query values as
    ``***``. A handshake the server refuses (HTTP 401, 403, 503 …) or TLS that fails (a
    certificate that does not verify, a refused client certificate, a server without TLS)
    fails the run at once with the reason, instead of counting failed connections.
    """

    def __init__(self) -> None:
        self.runs: dict[str, LoadRun] = {}

    # -- running ------------------------------------------------------------------------

    @keyword(tags=["Action"])
    def start_load(self, url: Secret | str, connections: int = 1, rate: float = 1.0,
                   duration: timedelta = timedelta(seconds=10),
                   message: str | dict[str, Any] = DEFAULT_MESSAGE,
                   reply_type: str = DEFAULT_REPLY, id_field: str = "id",
                   error_type: str = "error", warmup: timedelta = timedelta(0),
                   drain_timeout: timedelta = timedelta(seconds=5), processes: int = 1,
                   headers: dict[str, str] | None = None, name: str = "load",
                   tick: timedelta = timedelta(milliseconds=10),
                   progress_interval: timedelta = timedelta(seconds=10),
                   token: Secret | str | None = None, ca_bundle: str | None = None,
                   client_cert: str | None = None, client_key: str | None = None,
                   verify: bool = True) -> str:
        """Starts a load run in the background and returns its ``name``.

        ``connections`` connections to ``url`` each send ``rate`` messages per second for
        ``duration``; replies are awaited up to ``drain_timeout`` after the last send.
        Messages due in the first ``warmup`` are sent but not counted. ``processes``:
        worker processes (0 = a thread of this process). ``tick``: the schedule's
        resolution (see `The schedule`; 0 = each message at its own time, at more CPU).
        ``message`` is a template with ``{id}`` (see `The message`). The run goes on
        while other keywords execute; `Wait For Load` returns its result. ``token``,
        ``ca_bundle``, ``client_cert``, ``client_key`` and ``verify``: see
        `TLS and credentials`.

        Example:
        | Start Load    ws://127.0.0.1:3001    connections=100    rate=10    duration=5 min
        | ...    message={"type": "metrics", "id": {id}, "data": {"pain": 0.3}}
        | ...    reply_type=metrics_received
        | Start Resource Monitor    ${pid}
        | ${result}=    Wait For Load
        | Start Load    wss://127.0.0.1:3001    token=${TOKEN}    ca_bundle=${CA_BUNDLE}
        """
        if name in self.runs and not self.runs[name].finished:
            raise AssertionError(f"A load named '{name}' is already running.")
        if isinstance(message, dict):
            message = json.dumps(message, separators=(",", ":"))
        target = secret_value(url)
        if target is None:
            raise ValueError("A URL is required.")
        cfg = LoadConfig(url=target, connections=connections, rate=rate,
                         duration=_seconds(duration), message=message,
                         reply_type=reply_type, id_field=id_field, error_type=error_type,
                         warmup=_seconds(warmup), drain_timeout=_seconds(drain_timeout),
                         processes=processes, headers=dict(headers or {}), name=name,
                         tick=_seconds(tick), progress_interval=_seconds(progress_interval),
                         token=secret_value(token), ca_bundle=ca_bundle,
                         client_cert=client_cert, client_key=client_key, verify=verify,
                         secret_url=not isinstance(url, str))
        if not verify and is_secure(target):
            warn_unverified(unverified_warning(cfg.log_url))
        logger.info(f"Load {name}: {connections} connection(s) × {rate:g} msg/s for "
                    f"{cfg.duration:g} s to {cfg.log_url} ({cfg.offered_rate:g} msg/s in all), "
                    f"{'a thread' if processes == 0 else f'{cfg.workers} process(es)'}; "
                    f"message {message}")
        self.runs[name] = LoadRun(cfg, progress=logger.console).start()
        return name

    @keyword(tags=["Wait"])
    def wait_for_load(self, name: str = "load", timeout: timedelta | None = None,
                      charts: bool = True, latency_limit: float | None = None) -> dict[str, Any]:
        """Waits for the load ``name`` to end and returns its result (see `The result`).

        With ``timeout`` the load is stopped when it passes (its figures so far are
        returned). The log gets a table of the figures and, with ``charts``, pictures of
        latency percentiles and throughput over time (``latency_limit`` in ms drawn as a
        line).

        Example:
        | ${result}=    Wait For Load    timeout=10 min    latency_limit=500
        | Should Be Equal As Integers    ${result}[lost]    0
        """
        run = self._run(name)
        result = run.wait(None if timeout is None else _seconds(timeout))
        self.log_load_report(result, charts=charts, latency_limit=latency_limit)
        return result

    @keyword(tags=["Action"])
    def run_load(self, url: Secret | str, connections: int = 1, rate: float = 1.0,
                 duration: timedelta = timedelta(seconds=10),
                 message: str | dict[str, Any] = DEFAULT_MESSAGE,
                 reply_type: str = DEFAULT_REPLY, id_field: str = "id",
                 error_type: str = "error", warmup: timedelta = timedelta(0),
                 drain_timeout: timedelta = timedelta(seconds=5), processes: int = 1,
                 headers: dict[str, str] | None = None, name: str = "load",
                 tick: timedelta = timedelta(milliseconds=10),
                 latency_limit: float | None = None, charts: bool = True,
                 token: Secret | str | None = None, ca_bundle: str | None = None,
                 client_cert: str | None = None, client_key: str | None = None,
                 verify: bool = True) -> dict[str, Any]:
        """Runs a load to its end and returns its result: `Start Load` + `Wait For Load`.

        ``token``, ``ca_bundle``, ``client_cert``, ``client_key`` and ``verify``: see
        `TLS and credentials`.

        Example:
        | ${result}=    Run Load    ${url}    connections=10    rate=5    duration=3s
        | ...    message={"type": "ping", "id": {id}, "timestamp": {timestamp}}
        | ...    reply_type=pong
        | Load Should Deliver Every Message    ${result}
        | Get Load Figure    ${result}    latency_ms.p99    <    500
        | ${result}=    Run Load    wss://127.0.0.1:3001    token=${TOKEN}
        | ...    ca_bundle=${CA_BUNDLE}    client_cert=${CLIENT_CERT}    client_key=${CLIENT_KEY}
        """
        self.start_load(url, connections, rate, duration, message, reply_type, id_field,
                        error_type, warmup, drain_timeout, processes, headers, name, tick,
                        token=token, ca_bundle=ca_bundle, client_cert=client_cert,
                        client_key=client_key, verify=verify)
        return self.wait_for_load(name, charts=charts, latency_limit=latency_limit)

    @keyword(tags=["Action"])
    def run_slow_consumer(self, url: Secret | str, message: str, unread_bytes: int,
                          rate: float = 100.0, max_duration: timedelta = timedelta(seconds=30),
                          id_field: str = "id", id_digits: int = 1,
                          drain_timeout: timedelta = timedelta(seconds=10),
                          headers: dict[str, str] | None = None,
                          token: Secret | str | None = None, ca_bundle: str | None = None,
                          client_cert: str | None = None, client_key: str | None = None,
                          verify: bool = True) -> dict[str, Any]:
        """Plays a client that stops reading and returns how the server dealt with it.

        One connection to ``url`` sends ``message`` (``{id}`` in it becomes the message's
        number, at least ``id_digits`` digits) and reads the reply to learn its size. Then
        it sends ``rate`` messages a second and reads nothing, until their replies add up
        to ``unread_bytes`` (or ``max_duration`` passes). Then it reads everything there is
        for up to ``drain_timeout``. The connection asks for a small receive buffer and
        small TCP segments, so that the network between the two holds little (about
        42 KB on loopback): what the client leaves unread beyond that, the server has to
        keep, or refuse to.

        The result: ``reply_bytes`` (one reply), ``sent`` and ``unread_bytes`` (the replies
        owed while not reading), ``paused_s``, ``client_backlog_bytes`` (what this client
        could not send: a server that stops reading shows here), ``replies_read``,
        ``drain_s``, ``close_code`` (of the server's close frame, else None) and ``ended``:
        ``close frame``, ``without a close frame`` (reset or closed without one) or
        ``open`` (every reply read and the connection still open).

        ``headers``, ``token``, ``ca_bundle``, ``client_cert``, ``client_key`` and
        ``verify``: see `TLS and credentials`.

        Example:
        | ${result}=    Run Slow Consumer    ws://127.0.0.1:3001
        | ...    {"type": "ping", "timestamp": 1, "id": "{id}"}    unread_bytes=${400000}
        | ...    rate=180    id_digits=64
        | Should Be Equal As Integers    ${result}[close_code]    1008
        """
        if rate <= 0 or unread_bytes <= 0:
            raise ValueError("rate and unread_bytes must be positive.")
        if "{id}" not in message:
            raise ValueError(f"The message needs the placeholder {{id}}, to find its reply: "
                             f"{message}")
        target, cfg = _one_connection(url, headers, token, ca_bundle, client_cert, client_key,
                                      verify)
        logger.info(f"Slow consumer on {cfg.log_url}: {rate:g} msg/s unread until "
                    f"{unread_bytes} bytes of replies are owed; message {message}")
        result = run_slow_consumer(
            target, message, rate, unread_bytes, _seconds(max_duration), id_field=id_field,
            id_digits=id_digits, headers=cfg.handshake_headers(), context=cfg.tls.context(target),
            tls=cfg.tls, log_url=cfg.log_url, drain_timeout=_seconds(drain_timeout))
        logger.info(f"Slow consumer result: {result}")
        return result

    @keyword(tags=["Action"])
    def run_idle_client(self, url: Secret | str, duration: timedelta = timedelta(seconds=25),
                        answer_pings: bool = True, headers: dict[str, str] | None = None,
                        token: Secret | str | None = None, ca_bundle: str | None = None,
                        client_cert: str | None = None, client_key: str | None = None,
                        verify: bool = True) -> dict[str, Any]:
        """Listens on one connection to ``url`` for ``duration``, sending nothing, and
        returns what the server's keepalive did.

        Every frame is read; WebSocket ping frames are answered, unless ``answer_pings`` is
        false: the client then plays a peer that went away without closing, which the
        server should detect and close. The listening ends early when the server ends the
        connection.

        The result: ``pings_s`` (when each ping frame arrived, seconds after the connection
        opened), ``texts`` (text frames received), ``ended`` (``close frame``, ``without a
        close frame`` or ``open``), ``close_code`` (of the server's close frame, else None)
        and ``ended_after_s``. ``headers``, ``token``, ``ca_bundle``, ``client_cert``,
        ``client_key`` and ``verify``: see `TLS and credentials`.

        Example:
        | ${idle}=    Run Idle Client    ws://127.0.0.1:3001    duration=50s
        | ...    answer_pings=${False}
        | Should Be Equal As Integers    ${idle}[close_code]    1011
        """
        target, cfg = _one_connection(url, headers, token, ca_bundle, client_cert, client_key,
                                      verify)
        seconds = _seconds(duration)
        logger.info(f"Idle client on {cfg.log_url} for {seconds:g} s, "
                    f"{'answering' if answer_pings else 'not answering'} pings")
        result = run_idle_client(target, seconds, answer_pings=answer_pings,
                                 headers=cfg.handshake_headers(),
                                 context=cfg.tls.context(target), tls=cfg.tls,
                                 log_url=cfg.log_url)
        logger.info(f"Idle client result: {result}")
        return result

    @keyword(tags=["Action"])
    def stop_load(self, name: str = "load") -> dict[str, Any]:
        """Stops the load ``name`` early and returns the figures it measured.

        Example:
        | [Teardown]    Stop Load
        """
        run = self._run(name)
        run.stop()
        return run.wait(30.0)

    @keyword(tags=["Action"])
    def run_distributed_load(
            self, url: Secret | str, connections: int = 2, rate: float = 1.0,
            duration: timedelta = timedelta(seconds=10), workers: int = 2,
            message: str | dict[str, Any] = DEFAULT_MESSAGE, reply_type: str = DEFAULT_REPLY,
            id_field: str = "id", error_type: str = "error", warmup: timedelta = timedelta(0),
            drain_timeout: timedelta = timedelta(seconds=5), processes: int = 0,
            headers: dict[str, str] | None = None, name: str = "load",
            tick: timedelta = timedelta(milliseconds=10), local_workers: int | None = None,
            master_host: str | None = None, master_port: int = 0,
            bind_host: str = "127.0.0.1", worker_prefix: list[str] | None = None,
            connect_timeout: timedelta = timedelta(seconds=30),
            ready_timeout: timedelta = timedelta(seconds=60),
            go_delay: timedelta = timedelta(seconds=1),
            max_clock_offset: timedelta | None = None, timeout: timedelta | None = None,
            web_port: int | None = None, csv: str | None = None, log_dir: str | None = None,
            scenario: str | None = None, latency_limit: float | None = None,
            charts: bool = True, token: Secret | str | None = None,
            ca_bundle: str | None = None, client_cert: str | None = None,
            client_key: str | None = None, verify: bool = True) -> dict[str, Any]:
        """Runs a load over Locust workers and returns the merged result (see
        `Distributed load`): `Run Load`'s result plus ``workers_breakdown``,
        ``lost_workers``, ``complete`` and ``latency_histogram``.

        ``workers`` Locust workers share the ``connections`` evenly; each runs its share
        in a LoadGenerator engine of its own (``processes`` per worker, 0 = a thread).
        By default a Locust master and all workers start on this host, the master on
        ``bind_host`` at ``master_port`` (0: a free port); ``local_workers`` starts only
        that many here, the rest join from elsewhere. ``master_host`` and ``master_port``
        join a master already running there instead: ``local_workers`` (default
        ``workers``) workers start here and join it; the master's own settings decide the
        load, and the merged result comes back through the local workers. ``worker_prefix``
        goes before each local worker's command, ``{worker}`` in it standing for the worker's
        number from 1: ``["python", "-m", "nethosts", "exec", "nh-{worker}", "--"]`` runs each
        in a network namespace of its own.

        Bounds: ``connect_timeout`` for the workers to reach the master, ``ready_timeout``
        for their connections to open; the schedule starts ``go_delay`` after the go.
        ``timeout`` caps the whole run (default: every phase at its bound).
        ``max_clock_offset``: refuse to start when a worker's wall clock is further from
        the master's (default: a warning; latency never crosses hosts). ``web_port``
        serves Locust's web UI, ``csv`` is the prefix of its CSV files (throughput only),
        ``log_dir`` keeps the Locust processes' logs.

        The log gets the figure table, the workers' table and (``charts``) the charts;
        with ``scenario`` the figures are also recorded for the Scorecard summary. Fails,
        after logging what was measured, when the run is incomplete (a worker lost or
        failed, too few workers, an unreachable master), naming the worker and what was
        lost. ``token`` (given to the local workers in their environment, never sent
        over the network), ``ca_bundle``, ``client_cert``, ``client_key``, ``verify``:
        see `TLS and credentials`.

        Example:
        | ${result}=    Run Distributed Load    ws://127.0.0.1:3001    connections=60
        | ...    rate=10    duration=20s    workers=3
        | ...    message={"type": "ping", "id": {id}, "timestamp": {timestamp}}
        | ...    reply_type=pong    scenario=9.1
        | Get Load Figure    ${result}    latency_ms.p99    <    500
        | Get Load Figure    ${result}    workers_breakdown.0.acknowledged    >    0
        | ${joined}=    Run Distributed Load    ws://10.0.0.9:3001    workers=4
        | ...    local_workers=2    master_host=10.0.0.5    master_port=5557
        """
        from .distributed import DistributedLoadError, LaunchOptions, RunSettings
        from .distributed.launcher import TOKEN_VARIABLE, run_distributed

        if isinstance(message, dict):
            message = json.dumps(message, separators=(",", ":"))
        target = secret_value(url)
        if target is None:
            raise ValueError("A URL is required.")
        secret_token = secret_value(token)
        cfg = LoadConfig(url=target, connections=connections, rate=rate,
                         duration=_seconds(duration), message=message, reply_type=reply_type,
                         id_field=id_field, error_type=error_type, warmup=_seconds(warmup),
                         drain_timeout=_seconds(drain_timeout), processes=processes,
                         headers=dict(headers or {}), name=name, tick=_seconds(tick),
                         ca_bundle=ca_bundle, client_cert=client_cert, client_key=client_key,
                         verify=verify, secret_url=not isinstance(url, str))
        if secret_token and any(h.lower() == "authorization" for h in cfg.headers):
            raise ValueError("Give a token or an Authorization header, not both.")
        settings = RunSettings(
            load=cfg, workers=workers, connect_timeout=_seconds(connect_timeout),
            ready_timeout=_seconds(ready_timeout), go_delay=_seconds(go_delay),
            token_env=TOKEN_VARIABLE if secret_token else None,
            max_clock_offset=None if max_clock_offset is None else _seconds(max_clock_offset))
        options = LaunchOptions(local_workers=local_workers, master_host=master_host,
                                master_port=master_port, bind_host=bind_host,
                                worker_prefix=list(worker_prefix or []), web_port=web_port,
                                csv_prefix=csv, token=secret_token, log_dir=log_dir)
        if not verify and is_secure(target):
            warn_unverified(unverified_warning(cfg.log_url))
        where = (f"joining the master at {master_host}:{master_port}" if master_host
                 else f"a Locust master on {bind_host}")
        logger.info(f"Distributed load {name}: {connections} connection(s) × {rate:g} msg/s "
                    f"for {cfg.duration:g} s to {cfg.log_url} over {workers} worker(s), "
                    f"{where}; message {message}")
        try:
            result = run_distributed(settings, options, progress=logger.console,
                                     timeout=None if timeout is None else _seconds(timeout))
        except DistributedLoadError as error:
            if error.result is not None:
                self._log_distributed(error.result, scenario, charts, latency_limit)
            raise AssertionError(str(error)) from None
        self._log_distributed(result, scenario, charts, latency_limit)
        return result

    def _log_distributed(self, result: dict[str, Any], scenario: str | None, charts: bool,
                         latency_limit: float | None) -> None:
        from .distributed.record import figures

        for warning in result.get("warnings", []):
            logger.warn(f"Distributed load {result['name']}: {warning}")
        self.log_load_report(result, charts=charts and result["complete"],
                             latency_limit=latency_limit)
        for figure in figures(result, scenario) if scenario else []:
            logger.info(figure.to_html(), html=True)

    def _run(self, name: str) -> LoadRun:
        if name not in self.runs:
            raise AssertionError(f"No load named '{name}' was started.")
        return self.runs[name]

    # -- reading and asserting ----------------------------------------------------------

    @keyword(tags=["Getter"])
    def get_load_figure(self, result: dict[str, Any], path: str,
                        assertion_operator: AssertionOperator | None = None,
                        assertion_expected: Any = None, message: str | None = None) -> Any:
        """Returns the figure at ``path`` of a load (or Artillery) result, optionally
        asserting it with an assertion operator (``==``, ``<``, ``>=``, ``contains``, …).

        ``path`` is dotted: ``acknowledged``, ``latency_ms.p99``, ``errors.rate_limited``,
        ``timeline.0.sent``. A number compared with a number given as text is compared as
        a number.

        Example:
        | ${p99}=    Get Load Figure    ${result}    latency_ms.p99
        | Get Load Figure    ${result}    lost    ==    0
        | Get Load Figure    ${result}    schedule_lag_ms.p99    <=    2
        """
        value = figure_at(result, path)
        assertion_expected = as_number(assertion_expected, value)
        return verify_assertion(value, as_operator(assertion_operator), assertion_expected,
                                f"Load figure '{path}'", message)

    @keyword(tags=["Assertion"])
    def load_should_deliver_every_message(self, result: dict[str, Any],
                                          min_percent: float = 100.0) -> None:
        """Fails unless at least ``min_percent`` of the expected messages were
        acknowledged, and (at the default 100) none was lost or errored.

        Example:
        | Load Should Deliver Every Message    ${result}
        | Load Should Deliver Every Message    ${result}    min_percent=99.9
        """
        problems = []
        if result["delivery_percent"] < float(min_percent):
            problems.append(f"delivery {result['delivery_percent']} % < {min_percent} % "
                            f"({result['acknowledged']} of {result['expected']} expected "
                            f"messages acknowledged)")
        if float(min_percent) >= 100.0:
            if result["lost"]:
                problems.append(f"{result['lost']} message(s) never answered")
            if result["errored"]:
                problems.append(f"{result['errored']} message(s) errored: {result['errors']}")
            if result["connect_failures"] or result["dropped_connections"]:
                problems.append(f"{result['connect_failures']} connection(s) failed to open, "
                                f"{result['dropped_connections']} dropped")
        if problems:
            raise AssertionError(f"Load {result['name']} did not deliver every message: "
                                 + "; ".join(problems))

    @keyword(tags=["Action"])
    def log_load_report(self, result: dict[str, Any], charts: bool = True,
                        latency_limit: float | None = None) -> None:
        """Logs the figure table and (with ``charts``) the pictures of a load result.

        Example:
        | Log Load Report    ${result}    latency_limit=500
        """
        html_text = summary_table(result) + workers_table(result)
        if charts and result["timeline"]:
            html_text += chart_html(result, latency_limit)
        logger.info(html_text, html=True)

    # -- Artillery ----------------------------------------------------------------------

    @keyword(tags=["Action"])
    def run_artillery(self, script: str, target: str | None = None,
                      variables: dict[str, Any] | None = None, output: str | None = None,
                      timeout: timedelta = timedelta(minutes=15),
                      token: Secret | str | None = None, ca_bundle: str | None = None,
                      client_cert: str | None = None, client_key: str | None = None,
                      verify: bool = True) -> dict[str, Any]:
        """Runs an Artillery script (``artillery run``) and returns the figures of its
        JSON report, plus ``cannot_provide``: each figure Artillery cannot give, and why.

        ``target`` overrides the script's target; ``variables`` its variables (e.g. the
        number of messages per connection). The report goes to ``output`` (default: the
        output directory). Returned: ``messages_sent``, ``send_rate``, ``vusers_created``,
        ``vusers_completed``, ``vusers_failed``, ``errors``, ``errored``, ``duration_s``,
        ``cpu_s`` (Artillery's own CPU), ``report``. Fails if Artillery is not installed
        (scripts/setup installs it).

        ``token`` and the TLS options (as for `Run Load`) reach every connection through a
        private file of Artillery's ``config.ws`` options, removed after the run.

        Example:
        | ${art}=    Run Artillery    artillery/scenario-9.1.yml    target=ws://127.0.0.1:3001
        | ...    variables={"messages": 300}
        | Get Load Figure    ${art}    vusers_failed    ==    0
        """
        if output is None:
            from robot.libraries.BuiltIn import BuiltIn

            out_dir = BuiltIn().get_variable_value("${OUTPUT DIR}") or "."
            output = str(Path(out_dir) / f"artillery-{Path(script).stem}-{int(time.time())}.json")
        tls = TlsOptions(ca_bundle, client_cert, client_key, verify)
        if target and is_secure(target) and not verify:
            warn_unverified(unverified_warning(target))
        result = run_artillery(script, target, dict(variables or {}), output,
                               _seconds(timeout), token=secret_value(token), tls=tls)
        logger.info(f"<pre>{html.escape(describe(result))}</pre>", html=True)
        return result

