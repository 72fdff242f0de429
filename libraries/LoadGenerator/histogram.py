"""HDR histograms of latencies in microseconds, and their summaries in milliseconds."""

from __future__ import annotations

from hdrh.histogram import HdrHistogram

HIGHEST_US = 3_600_000_000  # one hour: nothing we record is longer


def new_histogram(digits: int = 3) -> HdrHistogram:
    """1 µs .. 1 h at ``digits`` significant digits."""
    return HdrHistogram(1, HIGHEST_US, digits)


def record_ns(histogram: HdrHistogram, nanoseconds: int) -> None:
    """Records a duration given in ns (clamped to 1 µs .. 1 h)."""
    histogram.record_value(min(max(nanoseconds // 1000, 1), HIGHEST_US))


def merge(encoded: list[bytes | str], digits: int = 3) -> HdrHistogram:
    """One histogram holding every encoded histogram of ``encoded`` (from other processes)."""
    total = new_histogram(digits)
    for item in encoded:
        if item:
            total.decode_and_add(item.encode() if isinstance(item, str) else item)
    return total


def encode(histogram: HdrHistogram) -> str:
    """A compressed, base64 text form to send to another process (``merge`` reads it)."""
    if histogram.get_total_count() == 0:
        return ""
    raw = histogram.encode()
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def summary(histogram: HdrHistogram) -> dict[str, float]:
    """count, min, p50, p90, p95, p99, p99.9, max and mean in ms (count 0: zeros)."""
    count = histogram.get_total_count()
    if count == 0:
        return {"count": 0, "min": 0.0, "p50": 0.0, "p90": 0.0, "p95": 0.0, "p99": 0.0,
                "p999": 0.0, "max": 0.0, "mean": 0.0}

    def ms(value_us: float) -> float:
        return round(value_us / 1000, 3)

    values = histogram.get_percentile_to_value_dict([50, 90, 95, 99, 99.9])  # one pass
    return {"count": count, "min": ms(histogram.get_min_value()),
            "p50": ms(values[50]), "p90": ms(values[90]), "p95": ms(values[95]),
            "p99": ms(values[99]), "p999": ms(values[99.9]),
            "max": ms(histogram.get_max_value()),
            "mean": ms(histogram.get_mean_value())}
