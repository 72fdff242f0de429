"""How many connections one load-generator worker holds, what each costs, and whether the
target keeps serving them: the sizing figures of distributed load.

One worker process (LoadGenerator, one thread: ``processes=0``) opens ``--connections`` idle
connections (they read and answer pings, never send) plus ``--active`` connections that send
``--rate`` metrics messages a second each, on the open-model schedule, for ``--duration``
seconds. Its RSS is sampled before the connections open and during the run, so

- connections held: the idle and active connections still open when the run ends,
- memory per connection: (peak RSS - RSS before connecting) / connections opened,
- round trips per second: acknowledged replies per second of the measured window, with
  the latency percentiles from the intended send time,

and the target's own RSS per connection (its RSS while they are held, less its RSS before).

Two targets, each started here on free loopback ports:

- ``echo``: LoadGenerator's acknowledging echo server (websockets + uvloop, no database):
  the cost on the load generator's side, with a server that is never the bottleneck;
- ``reference``: the reference system (``python -m dashboards`` on a throwaway TimescaleDB)
  with ``MAX_CONNECTIONS`` = the connections opened: its heartbeats and acks while it holds
  them all (a connection it closes, e.g. for missed keepalives, counts as dropped), and then
  one connection more, which the contract says is refused with HTTP 503.

    .venv/bin/python bench/bench_connections.py                       # 10,000, both targets
    .venv/bin/python bench/bench_connections.py --connections 2000 --target echo

File descriptors: the limit is raised to what the run needs (root may raise the hard
limit too); when it cannot be, the run stops at once saying what to raise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "libraries"))

from bench_reference_system import (  # noqa: E402
    Server,
    database,
    start_bare_server,
    start_server,
    stop_process,
)

from LoadGenerator.config import LoadConfig  # noqa: E402
from LoadGenerator.runner import run_load  # noqa: E402

MB = 1024 * 1024
FD_MARGIN = 256  # the process's own files, sockets of the run's control, the server's
METRICS = '{"type":"metrics","id":{id},"data":{"clarity":0.8,"chaos":0.45}}'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=10_000, help="idle connections held")
    p.add_argument("--active", type=int, default=10, help="connections sending messages")
    p.add_argument("--rate", type=float, default=100.0,
                   help="messages per second per active connection")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    p.add_argument("--target", choices=("echo", "reference", "both"), default="both")
    p.add_argument("--json", type=Path, help="write the figures as JSON here")
    p.add_argument("--role", choices=("orchestrate", "worker"), default="orchestrate",
                   help=argparse.SUPPRESS)
    p.add_argument("--config", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p.parse_args(argv)


# -- file descriptors ----------------------------------------------------------------------

def ensure_fd_limit(needed: int) -> int:
    """Raises RLIMIT_NOFILE to ``needed`` (children inherit it); SystemExit saying what to
    raise when the system will not allow it. Returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, max(hard, needed)))
    except (ValueError, OSError):
        raise SystemExit(
            f"bench_connections: holding these connections needs {needed} open files per "
            f"process; this one may open {soft} (hard limit {hard}). Raise the hard limit "
            f"(as root: ulimit -Hn {needed}; under systemd: LimitNOFILE={needed}) or ask "
            f"for fewer --connections.") from None
    return needed


# -- the worker: one process, its RSS watched ----------------------------------------------

def worker_role(config: dict[str, Any], out: str) -> None:
    """Runs the load in this process's thread and writes its result with the RSS samples."""
    me = psutil.Process()
    before = me.memory_info().rss
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.25):
            samples.append(me.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = run_load(LoadConfig(**config))
    finally:
        done.set()
        sampler.join()
    result["rss_before_bytes"] = before
    result["rss_peak_bytes"] = max(samples, default=before)
    Path(out).write_text(json.dumps(result, default=str))


def run_worker(config: dict[str, Any], workdir: Path, timeout: float) -> dict[str, Any]:
    out = workdir / f"worker-{time.monotonic_ns()}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--role", "worker",
               "--config", json.dumps(config), "--out", str(out)]
    done = subprocess.run(command, timeout=timeout, check=False, capture_output=True,
                          text=True)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"the worker failed (exit {done.returncode}): "
                           f"{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


# -- one target ----------------------------------------------------------------------------

def hold(server: Server, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The worker's run against ``server``, with the server's RSS before and during it."""
    target = psutil.Process(server.proc.pid)
    server_before = target.memory_info().rss
    server_peak = [server_before]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.5):
            with contextlib.suppress(psutil.Error):
                server_peak.append(target.memory_info().rss)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    config = {"url": server.url(), "connections": args.active, "rate": args.rate,
              "duration": args.duration, "warmup": 2.0, "message": METRICS,
              "reply_type": "metrics_received", "processes": 0,
              "idle_connections": args.connections, "connect_concurrency": 64,
              "connect_timeout": 30.0, "drain_timeout": 10.0}
    try:
        result = run_worker(config, workdir, timeout=args.duration + 600)
    finally:
        done.set()
        watcher.join()
    opened = args.connections + args.active - int(result.get("connect_failures", 0))
    latency = result.get("latency_ms", {})
    return {
        "connections_opened": opened,
        "idle_connections_open": result.get("idle_connections_open"),
        "connect_failures": result.get("connect_failures"),
        "dropped": result.get("dropped_connections"),
        "client_kib_per_connection": round(
            (result["rss_peak_bytes"] - result["rss_before_bytes"]) / 1024 / max(1, opened), 2),
        "server_kib_per_connection": round(
            (max(server_peak) - server_before) / 1024 / max(1, opened), 2),
        "offered_per_s": args.active * args.rate,
        "round_trips_per_s": result.get("achieved_rate"),
        "lost": result.get("lost"),
        "latency_p50_ms": latency.get("p50"), "latency_p99_ms": latency.get("p99"),
        "latency_max_ms": latency.get("max"),
        "worker_cpu_percent": result.get("generator_cpu_percent"),
    }


def one_more_is_refused(server: Server, held: int) -> dict[str, Any]:
    """With ``held`` connections open (MAX_CONNECTIONS), the next handshake: its status.
    LoadGenerator's raw connections (a socket each, no thread) hold them for the moment."""
    from concurrent.futures import ThreadPoolExecutor

    from websockets.exceptions import InvalidStatus

    from LoadGenerator.wsconn import WsConnection, open_connection

    def one(_: int) -> WsConnection | str:
        try:
            return open_connection(server.url(), None, 30.0)
        except Exception as error:
            return f"{type(error).__name__}: {error}"

    with ThreadPoolExecutor(64) as pool:
        opened = list(pool.map(one, range(held)))
    conns = [conn for conn in opened if isinstance(conn, WsConnection)]
    try:
        outcome: dict[str, Any] = {"held": len(conns),
                                   "failed_below_the_limit": len(opened) - len(conns)}
        try:
            open_connection(server.url(), None, 30.0).close()
        except InvalidStatus as error:
            return {**outcome, "status": error.response.status_code,
                    "retry_after": error.response.headers.get("Retry-After")}
        return {**outcome, "status": 101, "retry_after": None}
    finally:
        for conn in conns:
            conn.close()


@contextlib.contextmanager
def target_server(name: str, args: argparse.Namespace, workdir: Path) -> Iterator[Server]:
    if name == "echo":
        server = start_bare_server()
        try:
            yield server
        finally:
            stop_process(server.proc)
        return
    with database() as dsn:
        server = start_server(dsn, ROOT, workdir,
                              max_connections=args.connections + args.active)
        try:
            yield server
        finally:
            stop_process(server.proc)


def report(name: str, figures: dict[str, Any]) -> None:
    print(f"\n{name}:")
    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")


def orchestrate(args: argparse.Namespace) -> int:
    limit = ensure_fd_limit(args.connections + args.active + FD_MARGIN)
    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.1f} GiB; "
          f"open files allowed: {limit}; {args.connections} idle + {args.active} active "
          f"connections at {args.rate:g} msg/s each, {args.duration:g} s", flush=True)
    names = ("echo", "reference") if args.target == "both" else (args.target,)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-conns-") as tmp:
        for name in names:
            with target_server(name, args, Path(tmp)) as server:
                started = time.monotonic()
                figures = hold(server, args, Path(tmp))
                if name == "reference":
                    figures["one_more_than_max_connections"] = one_more_is_refused(
                        server, args.connections + args.active)
                figures["wall_s"] = round(time.monotonic() - started, 1)
                results[name] = figures
                report(name, figures)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
        print(f"\nJSON written to {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.role == "worker":
        worker_role(json.loads(args.config), args.out)
        return 0
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())
