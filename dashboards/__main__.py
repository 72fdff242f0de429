"""``python -m dashboards``: run the reference system until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

import uvloop

from . import logs
from .app import Application
from .config import Config, ConfigError, describe


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dashboards",
        description="Reference system of the dashboards WebSocket API (Pulse, Seams, Voices).",
        epilog="Configuration comes from environment variables:\n" + describe(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser.parse_args(argv)


async def run(app: Application) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    await stop.wait()
    await app.stop()


def main(argv: list[str] | None = None) -> int:
    parse_args(argv)
    try:
        config = Config.from_env()
        app = Application(config)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    logs.configure(config.log_level)
    try:
        uvloop.run(run(app))
    except (RuntimeError, OSError) as error:
        logging.getLogger("dashboards").error("cannot run: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
