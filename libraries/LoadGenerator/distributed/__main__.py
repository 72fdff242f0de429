"""Command line of distributed load: a Locust master and workers, LoadGenerator measuring.

    python -m LoadGenerator.distributed master ws://127.0.0.1:3001 --workers 3 \\
        --local-workers 3 --connections 60 --rate 10 --duration 20 --json out.json

starts a Locust master (listening on ``--bind-host``:``--master-port``, default
127.0.0.1:5557) and ``--local-workers`` workers on this host, waits for ``--workers`` in
all, runs the load and writes the merged result. Workers on other machines join with

    python -m LoadGenerator.distributed worker --master-host 10.0.0.5 --master-port 5557

(the master then needs ``--bind-host 0.0.0.0`` or an address they reach; with
``--local-workers 0`` every worker is remote). A joining worker prints the merged result
the master sends at the end.

The summary goes to stderr (as ``python -m LoadGenerator``), the result as JSON to stdout
or ``--json FILE``. Exit codes: 0 every worker delivered and no message was lost or
errored; 1 the run is whole but messages were lost or errored; 2 the run failed or is
incomplete (a worker lost, too few workers, an unreachable master: the reason is printed,
and the partial result, marked incomplete, is still written); 3 wrong arguments.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from ..config import DEFAULT_MESSAGE, DEFAULT_REPLY, LoadConfig
from ..report import load_failed, text_summary, write_json
from .launcher import DistributedLoadError, LaunchOptions, run_distributed
from .protocol import RunSettings


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connect-timeout", type=float, default=30.0,
                        help="seconds for the workers to reach the master (default 30)")
    parser.add_argument("--worker-prefix", default="",
                        help="command put before each local worker's, {worker} standing "
                             "for its number from 1, e.g. 'python -m nethosts exec "
                             "nh-{worker} --'")
    parser.add_argument("--token-env", metavar="NAME",
                        help="environment variable holding the bearer token, on every "
                             "worker's host (the token never crosses the network)")
    parser.add_argument("--log-dir", help="keep the Locust processes' logs here")
    parser.add_argument("--json", default="-",
                        help="write the result as JSON to this file ('-': stdout)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m LoadGenerator.distributed",
        description="Distributed WebSocket load: Locust's master and workers carry the run, "
                    "LoadGenerator measures in each worker (open model, latency from the "
                    "intended send time, HDR histograms merged exactly by the master).")
    sub = parser.add_subparsers(dest="role", required=True)
    master = sub.add_parser("master", help="start a master (and local workers) and run")
    master.add_argument("url", help="WebSocket URL of the target")
    master.add_argument("-w", "--workers", type=int, default=2,
                        help="workers taking part (default 2)")
    master.add_argument("--local-workers", type=int,
                        help="of those, started on this host (default: all)")
    master.add_argument("--bind-host", default="127.0.0.1",
                        help="address the master listens on (default 127.0.0.1)")
    master.add_argument("--master-port", type=int, default=5557,
                        help="port the master listens on (default 5557; 0 = any free)")
    master.add_argument("--web-port", type=int,
                        help="serve Locust's web UI on --bind-host at this port")
    master.add_argument("--csv", help="prefix of Locust's CSV statistics (throughput only)")
    master.add_argument("-c", "--connections", type=int, default=2)
    master.add_argument("--idle-connections", type=int, default=0)
    master.add_argument("-r", "--rate", type=float, default=1.0,
                        help="messages per second per connection (default 1)")
    master.add_argument("-d", "--duration", type=float, default=10.0)
    master.add_argument("-m", "--message", default=DEFAULT_MESSAGE)
    master.add_argument("--reply-type", default=DEFAULT_REPLY)
    master.add_argument("--id-field", default="id")
    master.add_argument("--error-type", default="error")
    master.add_argument("--warmup", type=float, default=0.0)
    master.add_argument("--drain-timeout", type=float, default=5.0)
    master.add_argument("--tick", type=float, default=0.010)
    master.add_argument("-p", "--processes", type=int, default=0,
                        help="engine processes per worker; 0 = a thread of the engine "
                             "(default 0: one worker, one core)")
    master.add_argument("--ready-timeout", type=float, default=60.0,
                        help="seconds for every worker's connections to open (default 60)")
    master.add_argument("--go-delay", type=float, default=1.0,
                        help="the schedule starts this long after the go (default 1 s)")
    master.add_argument("--max-clock-offset", type=float,
                        help="refuse to start when a worker's wall clock is further than "
                             "this many seconds from the master's (default: only warn)")
    master.add_argument("--name", default="load")
    _common(master)
    worker = sub.add_parser("worker", help="join a master running elsewhere")
    worker.add_argument("--master-host", required=True)
    worker.add_argument("--master-port", type=int, default=5557)
    worker.add_argument("--count", type=int, default=1, help="workers to start (default 1)")
    worker.add_argument("--timeout", type=float, default=3600.0,
                        help="the longest the workers may run, in seconds (default 3600)")
    _common(worker)
    return parser.parse_args(argv)


def master_settings(args: argparse.Namespace) -> tuple[RunSettings, LaunchOptions]:
    load = LoadConfig(url=args.url, connections=args.connections,
                      idle_connections=args.idle_connections, rate=args.rate,
                      duration=args.duration, message=args.message,
                      reply_type=args.reply_type, id_field=args.id_field,
                      error_type=args.error_type, warmup=args.warmup,
                      drain_timeout=args.drain_timeout, tick=args.tick,
                      processes=args.processes, name=args.name)
    settings = RunSettings(load=load, workers=args.workers,
                           connect_timeout=args.connect_timeout,
                           ready_timeout=args.ready_timeout, go_delay=args.go_delay,
                           token_env=args.token_env, max_clock_offset=args.max_clock_offset)
    options = LaunchOptions(local_workers=args.local_workers, master_port=args.master_port,
                            bind_host=args.bind_host,
                            worker_prefix=shlex.split(args.worker_prefix),
                            web_port=args.web_port, csv_prefix=args.csv,
                            log_dir=args.log_dir)
    return settings, options


def worker_settings(args: argparse.Namespace) -> tuple[RunSettings, LaunchOptions]:
    # The master decides the load; this side only needs the bounds of its own wait.
    load = LoadConfig(url="ws://master.decides/", connections=args.count,
                      duration=max(1.0, args.timeout))
    settings = RunSettings(load=load, workers=args.count, connect_timeout=args.connect_timeout,
                           token_env=args.token_env)
    options = LaunchOptions(local_workers=args.count, master_host=args.master_host,
                            master_port=args.master_port,
                            worker_prefix=shlex.split(args.worker_prefix),
                            log_dir=args.log_dir)
    return settings, options


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings, options = (master_settings if args.role == "master"
                             else worker_settings)(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    timeout = args.timeout if args.role == "worker" else None
    result: dict[str, Any] | None
    try:
        result = run_distributed(settings, options, progress=progress, timeout=timeout)
        code = 1 if load_failed(result) else 0
    except DistributedLoadError as error:
        print(f"error: {error}", file=sys.stderr)
        result, code = error.result, 2
    if result is not None:
        print(text_summary(result), file=sys.stderr)
        write_json(result, args.json)
    return code


if __name__ == "__main__":
    sys.exit(main())
