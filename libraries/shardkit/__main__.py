"""Commands of a sharded acceptance run (scripts/acceptance-shard, scripts/combine-shards).

    python -m shardkit ordering tests shards FILE      # the suites --shard i/n splits
    python -m shardkit pabotlib-server --port-file F   # the PabotLib server shards share
    python -m shardkit check-pabotlib HOST PORT        # fail fast when a shard cannot reach it
    python -m shardkit pabot HOST PORT PABOT_ARGS…     # pabot using that shared server
    python -m shardkit combine OUT SHARD/output.xml…   # one run's output, checked
    python -m shardkit same-tests A.xml B.xml          # two runs ran the same tests
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import combine, locks, ordering, pabotlib, runonce


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shardkit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    order = commands.add_parser("ordering", help="write a pabot --ordering file")
    order.add_argument("tests", type=Path)
    order.add_argument("part", choices=("all", "shards", "late"))
    order.add_argument("file", type=Path)

    server = commands.add_parser("pabotlib-server", help="run the shared PabotLib server")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=0, help="0: a free port")
    server.add_argument("--port-file", type=Path, help="where to write the port it listens on")

    check = commands.add_parser("check-pabotlib", help="fail unless the server answers")
    check.add_argument("host")
    check.add_argument("port", type=int)
    check.add_argument("--timeout", type=float, default=10.0)

    run = commands.add_parser("pabot", help="pabot whose processes use the shared server")
    run.add_argument("host")
    run.add_argument("port", type=int)
    run.add_argument("pabot_args", nargs=argparse.REMAINDER)

    comb = commands.add_parser("combine", help="combine shard outputs and check them")
    comb.add_argument("out", type=Path)
    comb.add_argument("outputs", type=Path, nargs="+", help="each shard's output.xml")
    comb.add_argument("--tests", type=Path, default=Path("tests"),
                      help="the suite the shards split (default tests)")
    comb.add_argument("--include", action="append", default=[])
    comb.add_argument("--exclude", action="append", default=[])
    comb.add_argument("--tagstatinclude", action="append", default=[])
    comb.add_argument("--tagdoc", action="append", default=[])
    same = commands.add_parser("same-tests", help="fail unless two outputs hold the same "
                                                  "tests (a single run and a combined one)")
    same.add_argument("expected", type=Path)
    same.add_argument("got", type=Path)
    args = parser.parse_args(argv)

    if args.command == "ordering":
        args.file.write_text("\n".join(ordering.ordering(args.tests, args.part)) + "\n")
        return 0
    if args.command == "pabotlib-server":
        pabotlib.serve(args.host, args.port, args.port_file)
        return 0
    if args.command == "check-pabotlib":
        try:
            pabotlib.check_reachable(args.host, args.port, args.timeout)
        except pabotlib.PabotLibUnreachable as error:
            print(f"shardkit: {error}", file=sys.stderr)
            return 1
        return 0
    if args.command == "same-tests":
        missing = [str(p) for p in (args.expected, args.got) if not p.is_file()]
        if missing:
            print(f"shardkit: no such output: {', '.join(missing)}", file=sys.stderr)
            return 1
        differences = combine.test_list_differences(combine.run_tests(args.expected),
                                                    combine.run_tests(args.got))
        for line in differences:
            print(f"shardkit: {line}")
        if not differences:
            print(f"shardkit: {args.got} ran the {len(combine.run_tests(args.got))} tests "
                  f"of {args.expected}")
        return 1 if differences else 0
    if args.command == "pabot":
        return pabotlib.run_pabot(args.host, args.port, args.pabot_args)
    return run_combine(args)


def run_combine(args: argparse.Namespace) -> int:
    problems = combine.shard_problems(args.outputs)
    combined = args.out / "output.xml"
    expected = combine.expected_tests(args.tests, args.include, args.exclude)
    try:
        failed_tests = combine.combine(args.outputs, args.out, {
            "tagstatinclude": args.tagstatinclude, "tagdoc": args.tagdoc})
    except FileNotFoundError as error:  # no shard left an output: every test was lost
        failed_tests, got, found = 0, [], []
        problems.append(str(error))
    else:
        got = combine.run_tests(combined)
        found = locks.holds(combined)
    problems += combine.test_list_differences(expected, got)
    lines = [f"combined {len(args.outputs)} shard output(s): {len(got)} tests "
             f"({len(expected)} expected), {failed_tests} failed"]
    lines += locks.report(found)
    once_lines, once_problems = runonce.report(runonce.counts(args.outputs))
    lines += once_lines
    problems += once_problems
    if locks.overlaps(found):
        problems.append("a lock was held by two at once")
    for line in lines + [f"problem: {p}" for p in problems]:
        print(f"shardkit: {line}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "shards.txt").write_text("\n".join(lines + problems) + "\n")
    return 1 if problems or failed_tests else 0


if __name__ == "__main__":
    sys.exit(main())
