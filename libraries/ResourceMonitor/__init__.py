"""ResourceMonitor: CPU, memory, descriptors and threads of a process, sampled in the
background, with a leak verdict from the RSS trend and CPU statistics for assertions."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from assertionengine import AssertionOperator, verify_assertion
from robot.api import logger
from robot.api.deco import keyword, library

from figurekit.charts import line_chart
from figurekit.figures import as_operator, figure_at

from .sampling import PidSource, PrometheusSource, Sample, Sampler, Source
from .stats import compute, leak_problems

__all__ = ["ResourceMonitor", "Sample", "Sampler", "compute"]
__version__ = "0.1.0"
STATISTICS = ("mean", "p95", "max")


@library(scope="GLOBAL", version=__version__)
class ResourceMonitor:
    """Samples a process in a background thread while the test does other things.

    The source is a local process id (psutil: CPU %, RSS, open descriptors, threads) or,
    for a target on another machine, a Prometheus endpoint exposing the standard
    ``process_*`` series (CPU % from ``process_cpu_seconds_total``, RSS, descriptors).

    CPU is in percent **of one core** (a single-threaded server saturates at 100), as
    ``top`` shows it; ``cpu.mean_of_machine`` divides by the number of cores.

    Memory: a leak is judged from the **trend** of RSS after a warm-up, the slope of the
    least-squares line through every sample (MiB per minute), never from the difference
    of two samples, which a single garbage collection or arena release can swing either
    way.

    The statistics (`Stop Resource Monitor`, `Get Resource Stats`) are a dictionary:
    | ``cpu`` | ``mean``, ``p95``, ``max``, ``mean_of_machine``, ``cores`` |
    | ``rss`` | MiB: ``first``, ``last``, ``min``, ``max``, ``mean`` |
    | ``rss`` trend | ``slope_mb_per_min``, ``r_squared``, ``projected_mb_per_hour`` |
    | ``fds``, ``threads`` | ``first``, ``last``, ``min``, ``max``, ``mean`` |
    | ``samples``, ``trend_samples``, ``warmup_s``, ``duration_s``, ``series`` | |
    """

    def __init__(self) -> None:
        self.monitors: dict[str, Sampler] = {}

    @keyword(tags=["Action"])
    def start_resource_monitor(self, pid: int | None = None, metrics_url: str | None = None,
                               interval: timedelta = timedelta(seconds=1),
                               name: str = "monitor", include_children: bool = False) -> None:
        """Starts sampling process ``pid`` (or the ``process_*`` series at ``metrics_url``)
        every ``interval`` in the background.

        With ``include_children`` the process's children are added in. Several monitors
        can run under different ``name`` s.

        Example:
        | Start Resource Monitor    ${SYSTEM}[system_pid]    interval=500ms
        | Start Resource Monitor    metrics_url=http://10.0.0.5:9100/metrics    name=remote
        """
        source: Source
        if pid is not None and str(pid).strip():
            source = PidSource(int(pid), include_children)
        elif metrics_url:
            source = PrometheusSource(metrics_url)
        else:
            raise AssertionError("Start Resource Monitor needs a pid or a metrics_url.")
        if name in self.monitors:
            self.monitors.pop(name).stop()
        self.monitors[name] = Sampler(source, interval.total_seconds()).start()
        logger.info(f"Monitoring {source.description} every {interval.total_seconds():g} s "
                    f"as '{name}'.")

    @keyword(tags=["Action"])
    def stop_resource_monitor(self, name: str = "monitor",
                              warmup: timedelta = timedelta(0),
                              charts: bool = True) -> dict[str, Any]:
        """Stops the monitor ``name`` and returns its statistics (see the introduction).

        The RSS trend only uses samples taken after ``warmup``. With ``charts`` the log
        gets pictures of CPU and memory over time.

        Example:
        | ${stats}=    Stop Resource Monitor    warmup=60s
        | Memory Should Not Leak    ${stats}    max_slope=5
        """
        sampler = self._sampler(name)
        self.monitors.pop(name)
        samples = sampler.stop()
        return self._stats(sampler, samples, warmup, charts)

    @keyword(tags=["Getter"])
    def get_resource_stats(self, name: str = "monitor", warmup: timedelta = timedelta(0),
                           charts: bool = False) -> dict[str, Any]:
        """The statistics so far; the monitor goes on sampling.

        Example:
        | ${stats}=    Get Resource Stats
        | Log    ${stats}[rss][last]
        """
        sampler = self._sampler(name)
        return self._stats(sampler, sampler.snapshot(), warmup, charts)

    def _sampler(self, name: str) -> Sampler:
        if name not in self.monitors:
            raise AssertionError(f"No resource monitor named '{name}' is running.")
        return self.monitors[name]

    def _stats(self, sampler: Sampler, samples: list[Sample], warmup: timedelta,
               charts: bool) -> dict[str, Any]:
        if not samples:
            reason = f" ({sampler.error})" if sampler.error else ""
            raise AssertionError(f"The resource monitor of {sampler.source.description} took "
                                 f"no sample{reason}.")
        stats = compute(samples, warmup.total_seconds(), os.cpu_count() or 1,
                        sampler.source.description)
        if sampler.error:
            stats["error"] = sampler.error
            logger.warn(f"The resource monitor stopped early: {sampler.error}")
        logger.info(
            f"{stats['source']}: {stats['samples']} samples over {stats['duration_s']} s; CPU "
            f"mean {stats['cpu']['mean']} % p95 {stats['cpu']['p95']} % max "
            f"{stats['cpu']['max']} % (of one core); RSS {stats['rss']['first']} → "
            f"{stats['rss']['last']} MiB, trend {stats['rss']['slope_mb_per_min']} MiB/min "
            f"after {stats['warmup_s']:g} s (r² {stats['rss']['r_squared']}); fds "
            f"{stats['fds'].get('first')} → {stats['fds'].get('last')}, threads "
            f"{stats['threads'].get('first')} → {stats['threads'].get('last')}")
        if charts:
            self.log_resource_charts(stats)
        return stats

    @keyword(tags=["Action"])
    def log_resource_charts(self, stats: dict[str, Any], cpu_limit: float | None = None,
                            cpu: bool = True, memory: bool = True) -> None:
        """Logs pictures of CPU (with ``cpu``) and RSS (with ``memory``) over time, RSS
        with its fitted trend line after the warm-up.

        Example:
        | Log Resource Charts    ${stats}    cpu_limit=80
        | Log Resource Charts    ${stats}    cpu=${False}    # memory only
        """
        series = stats["series"]
        pictures = []
        if cpu:
            pictures.append(self._cpu_chart(stats, series, cpu_limit))
        if memory:
            pictures.append(self._memory_chart(stats, series))
        logger.info("".join(f"<div>{picture}</div>" for picture in pictures), html=True)

    @staticmethod
    def _cpu_chart(stats: dict[str, Any], series: list[dict[str, Any]],
                   cpu_limit: float | None) -> str:
        return line_chart(f"CPU of {stats['source']} (% of one core)",
                         [("cpu %", [(s["t"], s["cpu_percent"]) for s in series])],
                         x_label="seconds", y_label="%", limit=cpu_limit,
                         limit_label=f"limit {cpu_limit:g} %" if cpu_limit else "")

    @staticmethod
    def _memory_chart(stats: dict[str, Any], series: list[dict[str, Any]]) -> str:
        rss = stats["rss"]
        after = [s for s in series if s["t"] >= stats["warmup_s"]]
        trend = [(s["t"], rss["intercept_mb"] + rss["slope_mb_per_min"] * s["t"] / 60)
                 for s in (after[0], after[-1])] if after else []
        return line_chart(f"RSS of {stats['source']} (MiB) and its trend after warm-up",
                          [("rss", [(s["t"], s["rss_bytes"] / 1048576) for s in series]),
                           ("trend", trend)], x_label="seconds", y_label="MiB")

    @keyword(tags=["Getter"])
    def get_resource_figure(self, stats: dict[str, Any], path: str,
                            assertion_operator: AssertionOperator | None = None,
                            assertion_expected: Any = None, message: str | None = None) -> Any:
        """The statistic at dotted ``path`` (``cpu.mean``, ``rss.slope_mb_per_min``,
        ``fds.max``), optionally asserted with an assertion operator.

        Example:
        | Get Resource Figure    ${stats}    threads.max    <=    20
        """
        value = figure_at(stats, path)
        if isinstance(assertion_expected, str) and isinstance(value, int | float):
            assertion_expected = float(assertion_expected)
        return verify_assertion(value, as_operator(assertion_operator), assertion_expected,
                                f"Resource figure '{path}'", message)

    @keyword(tags=["Assertion"])
    def memory_should_not_leak(self, stats: dict[str, Any], max_slope: float = 1.0) -> None:
        """Fails if RSS grew faster than ``max_slope`` MiB per minute after the warm-up
        (least-squares trend), or if too few samples were taken after it to judge.

        Example:
        | ${stats}=    Stop Resource Monitor    warmup=30s
        | Memory Should Not Leak    ${stats}    max_slope=5
        """
        problems = leak_problems(stats, float(max_slope))
        if problems:
            raise AssertionError(f"Memory of {stats['source']}: " + "; ".join(problems))

    @keyword(tags=["Assertion"])
    def cpu_should_be_below(self, stats: dict[str, Any], limit: float = 80.0,
                            statistic: str = "mean") -> None:
        """Fails unless the CPU ``statistic`` (``mean``, ``p95`` or ``max``, in % of one
        core) is below ``limit``.

        Example:
        | CPU Should Be Below    ${stats}    80
        | CPU Should Be Below    ${stats}    95    statistic=max
        """
        if statistic not in STATISTICS:
            raise ValueError(f"statistic must be one of {', '.join(STATISTICS)}, "
                             f"got {statistic!r}")
        value = stats["cpu"][statistic]
        if not value < float(limit):
            raise AssertionError(f"CPU {statistic} of {stats['source']} is {value} % of one "
                                 f"core, not below {float(limit):g} % ({stats['samples']} "
                                 f"samples; mean {stats['cpu']['mean']}, p95 "
                                 f"{stats['cpu']['p95']}, max {stats['cpu']['max']}).")
