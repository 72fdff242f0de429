"""Command line of the load generator.

    python -m LoadGenerator ws://127.0.0.1:3001 --connections 100 --rate 10 --duration 300 \\
        --message '{"type":"metrics","id":{id},"data":{"pain":0.3}}' --reply-type metrics_received

Prints a summary (and a progress line every 10 s) to stderr, and the full result as JSON
to stdout or ``--json FILE``. Exits 1 when a message was lost or errored or a connection
failed, 2 when the arguments are wrong or the run failed (a refused handshake, TLS that
fails).

Over TLS with a token (read from an environment variable, so that it never shows in a
process list):

    LOAD_TOKEN=… python -m LoadGenerator wss://127.0.0.1:3001 --token-env LOAD_TOKEN \
        --ca-bundle ca.pem --client-cert client.pem --client-key client.key
"""

from __future__ import annotations

import argparse
import os
import sys

from WebSocketLibrary.tlsoptions import is_secure, unverified_warning, warn_unverified

from .config import DEFAULT_MESSAGE, DEFAULT_REPLY, LoadConfig
from .report import load_failed, text_summary, write_json
from .runner import run_load


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m LoadGenerator",
        description="Open-model WebSocket load with latency measured from the intended send "
                    "time (coordinated omission) and from the actual one, HDR histograms, a "
                    "per-second timeline, and worker processes.")
    parser.add_argument("url", help="WebSocket URL, e.g. ws://127.0.0.1:3001")
    parser.add_argument("-c", "--connections", type=int, default=1)
    parser.add_argument("--idle-connections", type=int, default=0,
                        help="connections opened besides, that send nothing (they read and "
                             "answer pings) (default 0)")
    parser.add_argument("-r", "--rate", type=float, default=1.0,
                        help="messages per second per connection (default 1)")
    parser.add_argument("-d", "--duration", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("-m", "--message", default=DEFAULT_MESSAGE,
                        help="text template; {id} = unique number matched in the reply, "
                             "{timestamp} = wall clock ms (default: a ping)")
    parser.add_argument("--reply-type", default=DEFAULT_REPLY,
                        help=f"type of the acknowledging reply (default {DEFAULT_REPLY})")
    parser.add_argument("--id-field", default="id")
    parser.add_argument("--error-type", default="error")
    parser.add_argument("--warmup", type=float, default=0.0, help="seconds not counted")
    parser.add_argument("--drain-timeout", type=float, default=5.0,
                        help="seconds to wait for replies after the last send (default 5)")
    parser.add_argument("-p", "--processes", type=int, default=1,
                        help="worker processes; 0 = a thread of this process (default 1)")
    parser.add_argument("--tick", type=float, default=0.010,
                        help="the schedule's resolution in seconds: one wake-up sends every "
                             "message due in a tick and reads every reply (default 0.010); "
                             "0 = each message at its own time, each reply as it arrives")
    parser.add_argument("-H", "--header", action="append", default=[],
                        help="extra handshake header 'Name: value' (repeatable)")
    parser.add_argument("--token-env", metavar="NAME",
                        help="name of an environment variable holding a bearer token, sent "
                             "as 'Authorization: Bearer <token>' (the token itself is never "
                             "an argument: a process list would show it)")
    parser.add_argument("--ca-bundle", metavar="PEM",
                        help="CA certificates to trust for wss:// (default: the system's)")
    parser.add_argument("--client-cert", metavar="PEM",
                        help="client certificate for servers that require one")
    parser.add_argument("--client-key", metavar="PEM", help="the client certificate's key")
    parser.add_argument("--insecure", action="store_true",
                        help="do not verify the server's certificate (self-signed test "
                             "setups only)")
    parser.add_argument("--name", default="load")
    parser.add_argument("--progress-interval", type=float, default=10.0)
    parser.add_argument("--json", help="write the result as JSON to this file ('-': stdout)",
                        default="-")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    headers = {}
    for header in args.header:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            print(f"error: --header takes NAME:VALUE, got {header!r}", file=sys.stderr)
            return 2
        headers[name.strip()] = value.strip()
    token = None
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            print(f"error: --token-env {args.token_env}: that environment variable is not "
                  f"set or empty", file=sys.stderr)
            return 2
    try:
        cfg = LoadConfig(url=args.url, connections=args.connections,
                         idle_connections=args.idle_connections, rate=args.rate,
                         duration=args.duration, message=args.message,
                         reply_type=args.reply_type, id_field=args.id_field,
                         error_type=args.error_type, warmup=args.warmup,
                         drain_timeout=args.drain_timeout, processes=args.processes,
                         headers=headers, name=args.name, tick=args.tick,
                         progress_interval=args.progress_interval, token=token,
                         ca_bundle=args.ca_bundle, client_cert=args.client_cert,
                         client_key=args.client_key, verify=not args.insecure)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.insecure and is_secure(cfg.url):
        warn_unverified(unverified_warning(cfg.log_url))

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        result = run_load(cfg, progress=progress)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(text_summary(result), file=sys.stderr)
    write_json(result, args.json)
    return 1 if load_failed(result) else 0


if __name__ == "__main__":
    sys.exit(main())
