"""Who held which PabotLib lock when, read from an output.xml (one run or shards combined).

A hold runs from the end of ``Acquire Lock`` to the start of the matching ``Release Lock``
by the same test (or suite). Times are output.xml's wall-clock stamps, so two holds can only
be compared when their shards ran on one clock: the combined output of shards on one host (or
of hosts whose clocks are synchronised well below a hold's length).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from robot.api import ExecutionResult, ResultVisitor
from robot.result import Keyword, TestCase, TestSuite


@dataclass(frozen=True)
class Hold:
    lock: str
    holder: str      # the test's (or suite's) full name
    shard: str       # the Shard metadata of its suite ("" when the run was not sharded)
    start: datetime
    end: datetime | None  # None: never released in the output


class _Collector(ResultVisitor):
    def __init__(self) -> None:
        self.holds: list[Hold] = []
        self._open: dict[tuple[str, str], tuple[datetime, str]] = {}
        self._owners: list[tuple[str, str]] = []   # (full name, shard) of suites and tests

    def start_suite(self, suite: TestSuite) -> None:
        shard = str(suite.metadata.get("Shard", "")) or \
            (self._owners[-1][1] if self._owners else "")
        self._owners.append((suite.full_name, shard))

    def end_suite(self, suite: TestSuite) -> None:
        self._owners.pop()

    def start_test(self, test: TestCase) -> None:
        self._owners.append((test.full_name, self._owners[-1][1]))

    def end_test(self, test: TestCase) -> None:
        self._close_all()
        self._owners.pop()

    def start_keyword(self, keyword: Keyword) -> None:
        if keyword.name not in {"Acquire Lock", "Release Lock"} or not keyword.args \
                or keyword.status != "PASS":
            return
        holder, shard = self._owners[-1]
        lock = str(keyword.args[0])
        if keyword.name == "Acquire Lock":
            self._open[(holder, lock)] = (keyword.end_time, shard)
        elif (holder, lock) in self._open:
            start, shard = self._open.pop((holder, lock))
            self.holds.append(Hold(lock, holder, shard, start, keyword.start_time))

    def _close_all(self) -> None:
        holder = self._owners[-1][0]
        for key in [k for k in self._open if k[0] == holder]:
            start, shard = self._open.pop(key)
            self.holds.append(Hold(key[1], holder, shard, start, None))


def holds(output: Path | str) -> list[Hold]:
    """Every lock hold of the run, in the order they began."""
    collector = _Collector()
    ExecutionResult(str(output)).visit(collector)
    return sorted(collector.holds, key=lambda hold: hold.start)


def overlaps(found: list[Hold]) -> list[tuple[Hold, Hold]]:
    """Pairs of holds of one lock that overlap in time (a hold never released overlaps every
    later one)."""
    pairs = []
    by_lock: dict[str, list[Hold]] = {}
    for hold in sorted(found, key=lambda h: h.start):
        by_lock.setdefault(hold.lock, []).append(hold)
    for same in by_lock.values():
        for i, first in enumerate(same):
            for second in same[i + 1:]:
                if first.end is None or second.start < first.end:
                    pairs.append((first, second))
                else:
                    break
    return pairs


def report(found: list[Hold]) -> list[str]:
    """One line per lock: its holds, per shard, and whether two ever overlapped."""
    lines = []
    clashes = overlaps(found)
    for lock in sorted({h.lock for h in found}):
        mine = [h for h in found if h.lock == lock]
        shards: dict[str, int] = {}
        for hold in mine:
            shards[hold.shard or "-"] = shards.get(hold.shard or "-", 0) + 1
        per_shard = ", ".join(f"shard {s}: {n}" for s, n in sorted(shards.items()))
        bad = [pair for pair in clashes if pair[0].lock == lock]
        verdict = (f"held by two at once {len(bad)} time(s)" if bad
                   else "never held by two at once")
        lines.append(f"lock {lock}: {len(mine)} holds ({per_shard}), {verdict}")
        lines += [f"  overlap: {a.holder} (shard {a.shard}) and {b.holder} (shard {b.shard}) "
                  f"at {b.start.isoformat()}" for a, b in bad]
    return lines
