"""``python -m Scorecard results/output.xml [--out results]``: write summary.json and .md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .report import write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m Scorecard", description=__doc__)
    parser.add_argument("output_xml", type=Path, help="output.xml of a robot or pabot run")
    parser.add_argument("--out", type=Path, help="directory for summary.* (default: beside it)")
    args = parser.parse_args(argv)
    if not args.output_xml.is_file():
        print(f"no such file: {args.output_xml}", file=sys.stderr)
        return 2
    summary = write(args.output_xml, args.out or args.output_xml.parent)
    print(f"scorecard: {len(summary['figures'])} figures, "
          f"{summary['figures_failing']} failing their target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
