"""How often each ``Run Setup Only Once`` set-up ran across the shards' robot processes.

Read from each process's own output (``pabot_results/*/output.xml`` beside a shard's
output.xml): the merged output keeps only one top-level set-up per shard. Once per run is
the promise; twice means the shards did not share their PabotLib server.
"""

from __future__ import annotations

from pathlib import Path

from robot.api import ExecutionResult, ResultVisitor
from robot.result import Keyword


class _Counter(ResultVisitor):
    def __init__(self, counts: dict[str, list[int]]) -> None:
        self.counts = counts

    def start_keyword(self, keyword: Keyword) -> None:
        if keyword.name != "Run Setup Only Once" or not keyword.args \
                or keyword.status == "NOT RUN":
            return
        ran_skipped = self.counts.setdefault(str(keyword.args[0]), [0, 0])
        ran = any(isinstance(item, Keyword) for item in keyword.body)
        ran_skipped[0 if ran else 1] += 1


def counts(shard_outputs: list[Path]) -> dict[str, list[int]]:
    """Set-up keyword -> [times run, times skipped], over every process of every shard."""
    found: dict[str, list[int]] = {}
    for output in shard_outputs:
        for process in sorted(output.parent.glob("pabot_results/*/output.xml")):
            ExecutionResult(str(process)).visit(_Counter(found))
    return found


def report(found: dict[str, list[int]]) -> tuple[list[str], list[str]]:
    """Lines for shards.txt, and the problems (a set-up that ran more than once)."""
    lines = [f"run-once set-up {name}: ran {ran} time(s), skipped {skipped} time(s)"
             for name, (ran, skipped) in sorted(found.items())]
    problems = [f"run-once set-up {name} ran {ran} times" for name, (ran, _) in found.items()
                if ran > 1]
    return lines, problems
