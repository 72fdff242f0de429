"""The load generator's sparse histogram: HdrHistogram's buckets and percentiles (compared
with the hdrh package itself), exact min/max/mean, batch recording and merging."""

from __future__ import annotations

import random

import pytest
from hdrh.histogram import HdrHistogram

from LoadGenerator.histogram import (
    HIGHEST_US,
    PERCENTILES,
    Histogram,
    bucket_of,
    highest_in_bucket,
    merged,
)


def sample(seed: int, count: int) -> list[int]:
    rng = random.Random(seed)
    # Latencies from tens of µs to seconds, the shapes a load run sees.
    return [max(1, int(rng.lognormvariate(7.5, 1.6))) for _ in range(count)]


@pytest.mark.parametrize(("seed", "count"), [(1, 20_000), (2, 20_000), (3, 1), (4, 3),
                                             (5, 7), (6, 13), (7, 37), (8, 101), (9, 999)])
def test_percentiles_are_hdrhistograms(seed: int, count: int) -> None:
    values = sample(seed, count)
    ours = Histogram()
    ours.record_many(values)
    reference = HdrHistogram(1, HIGHEST_US, 3)
    for value in values:
        reference.record_value(value)
    expected = reference.get_percentile_to_value_dict(list(PERCENTILES.values()))
    got = ours.percentiles(PERCENTILES)
    for name, percent in PERCENTILES.items():
        # hdrh reports the bucket's highest value; we also never go past the exact max.
        assert got[name] == min(expected[percent], max(values)), name


def test_min_max_mean_and_count_are_exact() -> None:
    values = [3, 2_500, 70_001, 999_999]
    histogram = Histogram()
    histogram.record_many(values)
    summary = histogram.summary()
    assert summary["count"] == 4
    assert summary["min"] == 0.003
    assert summary["max"] == 999.999
    assert summary["mean"] == round(sum(values) / 4 / 1000, 3)


def test_record_and_record_many_agree() -> None:
    values = sample(7, 5_000)
    one_by_one, batch = Histogram(), Histogram()
    for value in values:
        one_by_one.record(value)
    batch.record_many(values)
    assert one_by_one.to_data() == batch.to_data()


def test_values_are_clamped_to_one_microsecond_and_one_hour() -> None:
    histogram = Histogram()
    histogram.record_many([-5, 0, HIGHEST_US * 2])
    assert histogram.min == 1
    assert histogram.max == HIGHEST_US
    assert histogram.total == 3


def test_buckets_keep_three_significant_digits() -> None:
    assert bucket_of(2047) == 2047               # exact below 2048
    assert bucket_of(2049) == 2048               # then 2 µs wide ...
    assert highest_in_bucket(2048) == 2049
    assert bucket_of(1_000_123) == 1_000_123 - 1_000_123 % 512  # 512 µs wide around 1 s
    for value in (5_000, 123_456, 9_876_543):
        assert bucket_of(value) <= value <= highest_in_bucket(bucket_of(value))
        assert (highest_in_bucket(bucket_of(value)) - bucket_of(value)) / value < 0.001


def test_merging_equals_recording_everything_in_one() -> None:
    first, second = sample(4, 3_000), sample(5, 2_000)
    parts = []
    for values in (first, second):
        histogram = Histogram()
        histogram.record_many(values)
        parts.append(histogram.to_data())
    together = Histogram()
    together.record_many(first + second)
    assert merged(parts).to_data() == together.to_data()
    assert merged([Histogram().to_data()]).summary()["count"] == 0


def test_an_empty_histogram_summarises_to_zeros() -> None:
    summary = Histogram().summary()
    assert summary["count"] == 0
    assert summary["p99"] == summary["max"] == summary["mean"] == 0.0
