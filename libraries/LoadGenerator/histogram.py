"""Latency histograms in microseconds at HDR precision, and their summaries in milliseconds.

The buckets are HdrHistogram's at 3 significant digits (values below 2048 µs exact, then
1024 buckets per power of two), kept sparse: a dict from a bucket's lowest value
to its count. Recording a batch of values is one ``Counter`` (the ``hdrh``
package's ``record_value`` is pure Python and cost several µs per value in the
generator's hot loop), merging is adding dicts, and a summary sorts only the buckets in
use. Percentiles are reported as the highest value of their bucket, as HdrHistogram does
(utest compares the two); min, max and mean are exact.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

HIGHEST_US = 3_600_000_000  # one hour: nothing we record is longer
SUB_BUCKET_BITS = 11        # 2048 sub-buckets: 3 significant digits
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}


def bucket_of(value: int) -> int:
    """The lowest value of the bucket holding ``value`` (µs, 1 .. HIGHEST_US)."""
    shift = value.bit_length() - SUB_BUCKET_BITS
    return value if shift <= 0 else (value >> shift) << shift


def highest_in_bucket(bucket: int) -> int:
    """The highest value the bucket starting at ``bucket`` holds."""
    shift = bucket.bit_length() - SUB_BUCKET_BITS
    return bucket if shift <= 0 else bucket + (1 << shift) - 1


class Histogram:
    """Counts of durations in µs, clamped to 1 µs .. 1 h."""

    __slots__ = ("counts", "max", "min", "sum", "total")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.total = 0
        self.sum = 0
        self.min = 0
        self.max = 0

    def record(self, value: int) -> None:
        """Records one duration in µs."""
        if value < 1:
            value = 1
        elif value > HIGHEST_US:
            value = HIGHEST_US
        bucket = bucket_of(value)
        counts = self.counts
        counts[bucket] = counts.get(bucket, 0) + 1
        if not self.total or value < self.min:
            self.min = value
        self.max = max(self.max, value)
        self.total += 1
        self.sum += value

    def record_many(self, values: list[int]) -> None:
        """Records durations in µs in one go (what the load generator's workers do with a
        batch of values: appending to a list in the hot loop is cheaper than bucketing)."""
        if not values:
            return
        low, high = min(values), max(values)
        if low < 1 or high > HIGHEST_US:
            values = [1 if v < 1 else HIGHEST_US if v > HIGHEST_US else v for v in values]
            low, high = min(values), max(values)
        # bucket_of, inlined: this runs inside the schedule, twice as fast without the calls.
        buckets = Counter([v if v < 2048 else v >> (shift := v.bit_length() - SUB_BUCKET_BITS)
                           << shift for v in values])
        counts = self.counts
        for bucket, count in buckets.items():
            counts[bucket] = counts.get(bucket, 0) + count
        self.min = low if not self.total else min(self.min, low)
        self.max = max(self.max, high)
        self.total += len(values)
        self.sum += sum(values)

    def add(self, other: Histogram) -> None:
        """Adds every value ``other`` holds."""
        if not other.total:
            return
        counts = self.counts
        for bucket, count in other.counts.items():
            counts[bucket] = counts.get(bucket, 0) + count
        self.min = other.min if not self.total else min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.total += other.total
        self.sum += other.sum

    def percentiles(self, wanted: dict[str, float]) -> dict[str, int]:
        """The value (µs) at each percentile of ``wanted`` (name -> percent), in one pass."""
        result = dict.fromkeys(wanted, 0)
        if not self.total:
            return result
        # As HdrHistogram: the first bucket where the running count reaches the target.
        targets = sorted((max(1, int(percent * self.total / 100 + 0.5)), name)
                         for name, percent in wanted.items())
        running = 0
        index = 0
        for bucket in sorted(self.counts):
            running += self.counts[bucket]
            while index < len(targets) and running >= targets[index][0]:
                result[targets[index][1]] = min(highest_in_bucket(bucket), self.max)
                index += 1
            if index == len(targets):
                break
        return result

    def summary(self) -> dict[str, float]:
        """count, min, p50, p90, p95, p99, p99.9, max and mean in ms (count 0: zeros)."""
        values = self.percentiles(PERCENTILES)
        return {"count": self.total, "min": _ms(self.min),
                **{name: _ms(value) for name, value in values.items()},
                "max": _ms(self.max),
                "mean": _ms(self.sum / self.total) if self.total else 0.0}

    def to_data(self) -> dict[str, Any]:
        """A plain form to send to another process (``from_data`` reads it)."""
        return {"counts": self.counts, "total": self.total, "sum": self.sum,
                "min": self.min, "max": self.max}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Histogram:
        histogram = cls()
        histogram.counts = {int(bucket): int(count) for bucket, count in data["counts"].items()}
        histogram.total = int(data["total"])
        histogram.sum = int(data["sum"])
        histogram.min = int(data["min"])
        histogram.max = int(data["max"])
        return histogram


def merged(parts: list[dict[str, Any]]) -> Histogram:
    """One histogram holding every histogram of ``parts`` (``to_data`` forms)."""
    total = Histogram()
    for part in parts:
        total.add(Histogram.from_data(part))
    return total


def _ms(value_us: float) -> float:
    return round(value_us / 1000, 3)
