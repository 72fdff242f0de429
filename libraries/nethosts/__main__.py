"""``python -m nethosts [--set NAME --subnet N] up N | down | check | exec HOST -- CMD…``."""

from __future__ import annotations

import argparse
import os
import sys

from .hosts import HostSet, HostsUnavailable, available, command_in


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nethosts", description=__doc__)
    parser.add_argument("--set", default="nh", help="the set's name (default nh)")
    parser.add_argument("--subnet", type=int, default=0,
                        help="its subnet: 10.231.N.0/24 (default 0)")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("up", help="make N namespaces on the set's bridge")
    make.add_argument("count", type=int)
    commands.add_parser("down", help="remove the set's namespaces and bridge")
    commands.add_parser("check", help="exit 0 when namespaces can be made here")
    commands.add_parser("address", help="print the bridge address (the host side)")
    run = commands.add_parser("exec", help="run a command inside one host")
    run.add_argument("host")
    run.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        hosts = HostSet(args.set, args.subnet)
        if args.command == "up":
            for host in hosts.up(args.count):
                print(f"{host} {hosts.host_address(host)}")
            print(f"host side {hosts.bridge_address}")
        elif args.command == "down":
            print(f"removed {len(hosts.down())} namespace(s)")
        elif args.command == "address":
            print(hosts.bridge_address)
        elif args.command == "check":
            why = available()
            print(why or "network and time namespaces are available")
            return 1 if why else 0
        else:
            command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
            if not command:
                parser.error("exec needs a command after --")
            full = command_in(args.host, command)
            os.execvp(full[0], full)
    except (HostsUnavailable, ValueError) as error:
        print(f"nethosts: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
