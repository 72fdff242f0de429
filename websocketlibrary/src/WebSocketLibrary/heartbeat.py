"""Watching heartbeats in the background: arrival times of matching frames, checked later."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from .filters import FrameFilter
from .frames import Frame


@dataclass
class HeartbeatMonitor:
    """Records when frames matching ``wanted`` arrive (an observer on the loop thread).

    Healthy means: the first beat within ``interval + tolerance`` of the start, every gap
    between beats within ``interval ± tolerance``, and no gap longer than that at the end.
    """

    wanted: FrameFilter
    interval_ns: int
    tolerance_ns: int
    period_ns: int | None = None
    consume: bool = False
    started_ns: int = field(default_factory=time.perf_counter_ns)
    arrivals: list[int] = field(default_factory=list)

    def observe(self, frame: Frame) -> bool:
        if self.wanted(frame):
            self.arrivals.append(frame.arrived_ns)
            return self.consume
        return False

    @property
    def end_ns(self) -> int | None:
        return None if self.period_ns is None else self.started_ns + self.period_ns

    def period_over(self, now_ns: int) -> bool:
        end = self.end_ns
        return end is None or now_ns >= end

    def violations(self, now_ns: int) -> list[str]:
        """What broke the rhythm up to ``now_ns`` (a beat overdue by then counts too)."""
        end = self.end_ns
        until = now_ns if end is None else min(now_ns, end)
        beats = [t for t in list(self.arrivals) if t <= until]
        low, high = self.interval_ns - self.tolerance_ns, self.interval_ns + self.tolerance_ns
        problems = []
        previous = self.started_ns
        for number, arrived in enumerate(beats, start=1):
            gap = arrived - previous
            if gap > high or (number > 1 and gap < low):
                what = "after the start" if number == 1 else "after the previous one"
                problems.append(f"beat {number} came {gap / 1e6:.1f} ms {what}")
            previous = arrived
        trailing = until - previous
        if trailing > high:
            problems.append(f"no beat for {trailing / 1e6:.1f} ms "
                            f"{'after beat ' + str(len(beats)) if beats else 'since the start'}")
        return problems

    def stats(self, now_ns: int) -> dict[str, float | int]:
        end = self.end_ns
        until = now_ns if end is None else min(now_ns, end)
        beats = [t for t in list(self.arrivals) if t <= until]
        gaps = [(b - a) / 1e6 for a, b in itertools.pairwise(beats)]
        return {
            "beats": len(beats),
            "observed_s": round((until - self.started_ns) / 1e9, 3),
            "min_interval_ms": round(min(gaps), 3) if gaps else 0.0,
            "max_interval_ms": round(max(gaps), 3) if gaps else 0.0,
            "mean_interval_ms": round(sum(gaps) / len(gaps), 3) if gaps else 0.0,
        }

    def describe(self) -> str:
        return (f"{self.wanted.describe()} every {self.interval_ns / 1e6:g} ms "
                f"± {self.tolerance_ns / 1e6:g} ms")
