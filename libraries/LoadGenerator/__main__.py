"""Command line of the load generator.

    python -m LoadGenerator ws://127.0.0.1:3001 --connections 100 --rate 10 --duration 300 \\
        --message '{"type":"metrics","id":{id},"data":{"pain":0.3}}' --reply-type metrics_received

Prints a summary (and a progress line every 10 s) to stderr, and the full result as JSON
to stdout or ``--json FILE``. Exits 1 when a message was lost or errored.
"""

from __future__ import annotations

import argparse
import json
import sys

from .config import DEFAULT_MESSAGE, DEFAULT_REPLY, LoadConfig
from .report import text_summary
from .runner import run_load


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m LoadGenerator",
        description="Open-model WebSocket load with latency measured from the intended send "
                    "time (coordinated omission) and from the actual one, HDR histograms, a "
                    "per-second timeline, and worker processes.")
    parser.add_argument("url", help="WebSocket URL, e.g. ws://127.0.0.1:3001")
    parser.add_argument("-c", "--connections", type=int, default=1)
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
    parser.add_argument("--name", default="load")
    parser.add_argument("--progress-interval", type=float, default=10.0)
    parser.add_argument("--json", help="write the result as JSON to this file ('-': stdout)",
                        default="-")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    headers = {}
    for header in args.header:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    try:
        cfg = LoadConfig(url=args.url, connections=args.connections, rate=args.rate,
                         duration=args.duration, message=args.message,
                         reply_type=args.reply_type, id_field=args.id_field,
                         error_type=args.error_type, warmup=args.warmup,
                         drain_timeout=args.drain_timeout, processes=args.processes,
                         headers=headers, name=args.name, tick=args.tick,
                         progress_interval=args.progress_interval)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    result = run_load(cfg, progress=progress)
    print(text_summary(result), file=sys.stderr)
    text = json.dumps(result, indent=1)
    if args.json == "-":
        print(text)
    else:
        with open(args.json, "w", encoding="utf-8") as out:
            out.write(text)
    return 0 if not result["lost"] and not result["errored"] else 1


if __name__ == "__main__":
    sys.exit(main())
