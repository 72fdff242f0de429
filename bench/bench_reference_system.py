"""Benchmark of the reference system against the performance targets of issue 3.

Starts a throwaway TimescaleDB cluster (fsync on: an ack means durable), then for each
benchmark a fresh reference system (``python -m dashboards``) on free loopback ports, and
drives it from a SEPARATE load process (this file with ``--role load``) that runs the
project's own load generator (libraries/LoadGenerator: `run_load`, `find_sustained_rate`,
`run_connects`, `run_fanout`). Meanwhile this process samples the CPU of the server, the
load process, PostgreSQL and the rest of the machine, and the server's RSS, once a second.
Every figure is printed beside its target, with its sample count, and written as JSON with
``--json``.

    .venv/bin/python bench/bench_reference_system.py              # everything, 5-min RSS run
    .venv/bin/python bench/bench_reference_system.py --quick      # shorter runs, 60 s RSS
    .venv/bin/python bench/bench_reference_system.py --only ack,ping --json results/b.json

See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "libraries"))

from EmbeddedStack.pgcluster import PgCluster, free_loopback_port  # noqa: E402
from LoadGenerator.config import LoadConfig  # noqa: E402
from LoadGenerator.connects import run_connects  # noqa: E402
from LoadGenerator.fanout import FanoutPlan, run_fanout  # noqa: E402
from LoadGenerator.histogram import merged  # noqa: E402
from LoadGenerator.runner import run_load  # noqa: E402
from LoadGenerator.stepping import find_sustained_rate  # noqa: E402

ALL = ("ack", "ping", "connect", "throughput", "fanout", "rss", "bare")
MB = 1024 * 1024


# -- command line --------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default=",".join(ALL),
                   help=f"comma-separated benchmarks to run, of {','.join(ALL)}")
    p.add_argument("--quick", action="store_true",
                   help="short runs: 10 s windows, 5 s steps, 60 s RSS run, 20 flips")
    p.add_argument("--duration", type=float, default=30.0,
                   help="measured seconds of the ack and ping runs (default 30)")
    p.add_argument("--warmup", type=float, default=5.0, help="warm-up seconds before each window")
    p.add_argument("--rate", type=float, default=1000.0, help="msg/s of the ack run (1000)")
    p.add_argument("--connections", type=int, default=100, help="producer connections (100)")
    p.add_argument("--step", type=float, default=1000.0, help="throughput step, msg/s (1000)")
    p.add_argument("--step-duration", type=float, default=10.0,
                   help="measured seconds per throughput step (10)")
    p.add_argument("--no-retry", action="store_true",
                   help="throughput: stop at the first failed step (default: retry it once)")
    p.add_argument("--max-rate", type=float, default=20000.0, help="throughput ceiling (20000)")
    p.add_argument("--subscribers", type=int, default=1000, help="fan-out subscribers (1000)")
    p.add_argument("--flips", type=int, default=40, help="clarity flips of the fan-out run (40)")
    p.add_argument("--rss-minutes", type=float, default=5.0, help="RSS run length (5 min)")
    p.add_argument("--rss-warmup", type=float, default=30.0, help="RSS run warm-up s (30)")
    p.add_argument("--tick", type=float, default=0.0,
                   help="LoadGenerator's schedule resolution in s (default 0: each message at "
                        "its own time, each reply read as it arrives, as a lone client would)")
    p.add_argument("--json", type=Path, help="write every figure here as JSON")
    p.add_argument("--server-src", type=Path, default=ROOT,
                   help="directory holding the dashboards package to run (default: this repo)")
    p.add_argument("--profile", type=Path,
                   help="py-spy binary: record the server during each benchmark (collapsed "
                        "stacks, profile-NAME.txt next to --json, else in /tmp)")
    p.add_argument("--profile-native", action="store_true",
                   help="with --profile: include native (C/Cython) frames")
    p.add_argument("--role", choices=("orchestrate", "load"), default="orchestrate",
                   help=argparse.SUPPRESS)
    p.add_argument("--scenario", help=argparse.SUPPRESS)
    p.add_argument("--config", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.step_duration, args.flips = 10.0, 5.0, 20
        args.rss_minutes, args.rss_warmup = 1.0, 15.0
    return args


# -- the database and the system under test -----------------------------------------------

@contextlib.contextmanager
def database() -> Iterator[str]:
    base = tempfile.mkdtemp(prefix="bench-pg-")
    os.chmod(base, 0o755)
    cluster = PgCluster(Path(base), fsync=True)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        with contextlib.suppress(OSError):
            os.rmdir(base)


def postmaster_pid(dsn: str) -> psutil.Process | None:
    port = dsn.rsplit(":", 1)[1].split("/", 1)[0]
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and "-D" in cmdline and any(
                f"port = {port}" in line for line in _conf_lines(cmdline)):
            return proc
    return None


def _conf_lines(cmdline: list[str]) -> list[str]:
    data_dir = Path(cmdline[cmdline.index("-D") + 1])
    with contextlib.suppress(OSError):
        return (data_dir / "pgcluster.conf").read_text().splitlines()
    return []


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]
    log: Path

    def url(self, dashboard: str = "pulse") -> str:
        return f"ws://127.0.0.1:{self.ports[dashboard]}/"


def start_server(dsn: str, src: Path, workdir: Path, max_connections: int = 1100) -> Server:
    ports = {d: free_loopback_port() for d in ("pulse", "seams", "voices")}
    env = {**os.environ, "DATABASE_URL": dsn, "DASHBOARDS_HOST": "127.0.0.1",
           "PULSE_PORT": str(ports["pulse"]), "SEAMS_PORT": str(ports["seams"]),
           "VOICES_PORT": str(ports["voices"]), "LOG_LEVEL": "WARNING",
           "RATE_LIMIT_PER_S": "1000000", "RATE_LIMIT_BURST": "1000000",
           "MAX_CONNECTIONS": str(max_connections),
           "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    log = workdir / f"server-{ports['pulse']}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "dashboards"], cwd=src, env=env,
                                stdout=fh, stderr=subprocess.STDOUT)
    server = Server(proc, ports, log)
    wait_healthy(server)
    return server


def wait_healthy(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{server.ports['pulse']}/healthz"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited: {server.log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server not healthy within {timeout} s")


def server_ack_histogram(server: Server) -> dict[str, Any]:
    """The server's own ``dashboard_ack_latency_seconds`` (arrival -> ack, whole run)."""
    url = f"http://127.0.0.1:{server.ports['pulse']}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except OSError as error:
        return {"error": str(error)}
    buckets: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("dashboard_ack_latency_seconds_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[le] = float(line.rsplit(" ", 1)[1])
    total = buckets.get("+Inf", 0.0)
    return {"count": total, "share_within_s": {le: round(n / total, 5) if total else None
                                               for le, n in buckets.items()}}


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    if profiler.poll() is not None:
        print(f"  py-spy had stopped early (exit code {profiler.returncode})", flush=True)
        return
    profiler.send_signal(signal.SIGINT)  # py-spy writes its output and exits
    profiler.wait(60)


def stop_process(proc: subprocess.Popen[bytes]) -> int | None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def start_bare_server() -> Server:
    """LoadGenerator's acknowledging echo server (websockets + uvloop, no database, no
    application) on a port the kernel picks."""
    proc = subprocess.Popen([sys.executable, "-m", "LoadGenerator.echo_server", "--port", "0",
                             "--reply", "metrics_received"], stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                [str(ROOT / "libraries"), os.environ.get("PYTHONPATH", "")])})
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()  # "listening on ws://127.0.0.1:PORT": ready
    if not line.startswith("listening on "):
        stop_process(proc)
        raise RuntimeError(f"bare server did not start: {line!r}")
    return Server(proc, {"pulse": int(line.rsplit(":", 1)[1])}, Path("/dev/null"))


# -- resource sampling ---------------------------------------------------------------------

@dataclass
class Sample:
    at: float
    server_cpu_s: float
    load_cpu_s: float
    pg_cpu_s: float
    machine_busy_s: float
    server_rss: int


def _cpu_s(proc: psutil.Process | None) -> float:
    if proc is None:
        return 0.0
    with contextlib.suppress(psutil.Error):
        t = proc.cpu_times()
        return float(t.user + t.system)
    return 0.0


def _tree_cpu_s(root: psutil.Process | None) -> float:
    if root is None:
        return 0.0
    with contextlib.suppress(psutil.Error):
        return _cpu_s(root) + sum(_cpu_s(c) for c in root.children(recursive=True))
    return 0.0


@dataclass
class Sampler:
    """Samples CPU seconds (server, load, postgres, whole machine) and server RSS each second."""

    server: psutil.Process
    postgres: psutil.Process | None
    load: psutil.Process | None = None
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            with contextlib.suppress(psutil.Error):
                t = psutil.cpu_times()
                self.samples.append(Sample(
                    time.monotonic(), _cpu_s(self.server), _cpu_s(self.load),
                    _tree_cpu_s(self.postgres), t.user + t.system + t.nice + t.irq + t.softirq,
                    self.server.memory_info().rss))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def window(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.at <= end]


def cpu_report(samples: list[Sample]) -> dict[str, Any]:
    """Mean CPU over the window, in % of one core (200 % = both cores of this machine)."""
    if len(samples) < 2:
        return {"samples": len(samples)}
    first, last = samples[0], samples[-1]
    wall = last.at - first.at

    def pct(a: float, b: float) -> float:
        return round(100 * (b - a) / wall, 1)

    server = pct(first.server_cpu_s, last.server_cpu_s)
    load = pct(first.load_cpu_s, last.load_cpu_s)
    pg = pct(first.pg_cpu_s, last.pg_cpu_s)
    machine = pct(first.machine_busy_s, last.machine_busy_s)
    return {"samples": len(samples), "wall_s": round(wall, 1), "server_pct": server,
            "load_pct": load, "postgres_pct": pg, "machine_pct": machine,
            "other_pct": round(machine - server - load - pg, 1),
            "machine_capacity_pct": 100 * (psutil.cpu_count() or 1)}


def rss_report(samples: list[Sample]) -> dict[str, Any]:
    """Total growth and the least-squares slope of server RSS over the window."""
    if len(samples) < 2:
        return {"samples": len(samples)}
    xs = [(s.at - samples[0].at) / 60 for s in samples]
    ys = [s.server_rss / MB for s in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = (sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
             / sum((x - mx) ** 2 for x in xs))
    return {"samples": len(samples), "minutes": round(xs[-1], 2),
            "start_mb": round(ys[0], 2), "end_mb": round(ys[-1], 2),
            "min_mb": round(min(ys), 2), "max_mb": round(max(ys), 2),
            "growth_mb": round(ys[-1] - ys[0], 2), "slope_mb_per_min": round(slope, 3),
            "fitted_growth_mb": round(slope * xs[-1], 2)}


# -- the load process: every scenario runs on LoadGenerator ----------------------------------

METRICS = ('{"type":"metrics","id":{id},'
           '"data":{"clarity":0.8,"chaos":0.45,"trust":0.75,"pain":0.35}}')  # inside OK bands
PING = '{"type":"ping","id":{id},"timestamp":{timestamp}}'
EVENT_TYPES = ("slo_alert", "alert_resolved", "recovery_action")


def load_config(cfg: dict[str, Any], **settings: Any) -> LoadConfig:
    """A LoadGenerator run in a thread of the load process (its CPU is that process's)."""
    return LoadConfig(url=cfg["url"], processes=0, tick=cfg["tick"], drain_timeout=5.0,
                      connect_timeout=30.0, progress_interval=3600.0, **settings)


def with_window(result: dict[str, Any]) -> dict[str, Any]:
    """The measured window (after the warm-up) in CLOCK_MONOTONIC, for the CPU samples."""
    start = result["start_monotonic_s"]
    result["window_monotonic"] = [start + result["warmup_s"], start + result["duration_s"]]
    return result


def scenario_ack(cfg: dict[str, Any]) -> dict[str, Any]:
    """``connections`` producers, ``rate`` msg/s in all, one fixed open-model schedule."""
    run = load_config(cfg, name="ack", connections=cfg["connections"],
                      rate=cfg["rate"] / cfg["connections"],
                      duration=cfg["warmup"] + cfg["duration"], warmup=cfg["warmup"],
                      message=METRICS, reply_type="metrics_received")
    return with_window(run_load(run))


def scenario_ping(cfg: dict[str, Any]) -> dict[str, Any]:
    """Pings on one connection while ``idle`` other connections sit open."""
    run = load_config(cfg, name="ping", connections=1, rate=cfg["rate"],
                      idle_connections=cfg["idle"], duration=cfg["warmup"] + cfg["duration"],
                      warmup=cfg["warmup"], message=PING, reply_type="pong")
    return with_window(run_load(run))


def scenario_throughput(cfg: dict[str, Any]) -> dict[str, Any]:
    """Step the offered rate up until p99 passes the limit or acks fall behind."""
    base = load_config(cfg, name="step", connections=cfg["connections"], rate=1.0,
                       duration=cfg["warmup"] + cfg["duration"], warmup=cfg["warmup"],
                       message=METRICS, reply_type="metrics_received")

    def show(step: dict[str, Any]) -> None:
        print(f"  step {step['offered_rate']:>7.0f} msg/s: acked {step['achieved_rate']:>8.1f}/s"
              f"  p99 {step['latency_ms']['p99']} ms  held={step['held']}", flush=True)

    result = find_sustained_rate(base, cfg["start_rate"], cfg["step"], cfg["max_rate"],
                                 cfg["p99_limit_ms"], retry=cfg["retry"], on_step=show)
    for step in result["steps"]:
        with_window(step)
    result["window_monotonic"] = [result["steps"][0]["window_monotonic"][0],
                                  result["steps"][-1]["window_monotonic"][1]]
    return result


def scenario_connect(cfg: dict[str, Any]) -> dict[str, Any]:
    """Connect + welcome: ``sequential`` one after another, then rounds of concurrent ones."""
    target = load_config(cfg)
    window_start = time.monotonic()
    run_connects(target, 10)  # warm-up: the first connections of a fresh server
    sequential = run_connects(target, cfg["sequential"])
    rounds = [run_connects(target, cfg["concurrent"], cfg["concurrent"])
              for _ in range(cfg["rounds"])]
    concurrent = merged([r["histogram"] for r in rounds]).summary()
    failures = sequential["failures"] + sum(r["failures"] for r in rounds)
    return {"sequential": sequential["connect_ms"], "concurrent": concurrent,
            "concurrent_batch": cfg["concurrent"], "failures": failures,
            "window_monotonic": [window_start, time.monotonic()]}


def scenario_fanout(cfg: dict[str, Any]) -> dict[str, Any]:
    """``subscribers`` connections on "alerts"; a producer flips clarity 0.95 <-> 0.8."""
    flip = '{"type":"metrics","id":{id},"data":{"clarity":%s}}'
    # The first trigger starts from the OK band and is not measured.
    triggers = [flip % 0.8] + [flip % (0.95 if n % 2 else 0.8)
                               for n in range(1, cfg["flips"] + 1)]
    plan = FanoutPlan(subscribers=cfg["subscribers"],
                      subscribe='{"type":"subscribe","channels":["alerts"]}',
                      subscribed_type="subscribed", triggers=triggers,
                      reply_type="metrics_received", event_types=EVENT_TYPES, key_field="seq",
                      settle=0.3, warmup=1)
    result = run_fanout(load_config(cfg), plan)
    result["window_monotonic"] = result.pop("window_monotonic_s")
    return result


SCENARIOS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ack": scenario_ack, "throughput": scenario_throughput, "ping": scenario_ping,
    "connect": scenario_connect, "fanout": scenario_fanout}


def load_role(scenario: str, cfg: dict[str, Any], out: str) -> None:
    """Entry point of ``--role load``: run one scenario, write its JSON to ``out``."""
    started = time.process_time()
    result = SCENARIOS[scenario](cfg)
    result["load_process_cpu_s"] = round(time.process_time() - started, 3)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)


# -- one benchmark -------------------------------------------------------------------------

def run_load_process(scenario: str, cfg: dict[str, Any], workdir: Path, sampler: Sampler,
                     timeout: float) -> dict[str, Any]:
    """Run the load process for ``scenario`` and return its JSON result."""
    out = workdir / f"load-{scenario}-{time.monotonic_ns()}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--role", "load", "--scenario",
           scenario, "--config", json.dumps(cfg), "--out", str(out)]
    proc = subprocess.Popen(cmd)
    sampler.load = psutil.Process(proc.pid)
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    if code != 0:
        raise RuntimeError(f"load process for {scenario} failed with exit code {code}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


@dataclass
class Bench:
    args: argparse.Namespace
    dsn: str
    workdir: Path

    def run(self, name: str) -> dict[str, Any]:
        print(f"\n== {name}", flush=True)
        if name == "bare":
            return self._bare()
        server = start_server(self.dsn, self.args.server_src, self.workdir)
        try:
            return self._measure(name, server)
        finally:
            code = stop_process(server.proc)
            if code != 0:
                print(f"  (server exit code {code}; log {server.log})", flush=True)

    def _measure(self, name: str, server: Server) -> dict[str, Any]:
        sampler = Sampler(psutil.Process(server.proc.pid), postmaster_pid(self.dsn))
        cfg, timeout = self._config(name, server.url())
        profiler = self._start_profiler(name, server) if self.args.profile else None
        try:
            result = run_load_process(load_scenario(name), cfg, self.workdir, sampler,
                                          timeout)
        finally:
            sampler.stop()
            if profiler is not None:
                stop_profiler(profiler)
        window = sampler.window(*result["window_monotonic"])
        result["cpu"] = cpu_report(window)
        result["server_ack_latency"] = server_ack_histogram(server)
        if name == "rss":
            result["rss"] = rss_report(window)
        for step in result.get("steps", []):
            step["cpu"] = cpu_report(sampler.window(*step["window_monotonic"]))
        result["config"] = {k: v for k, v in cfg.items() if k != "url"}
        return result

    def _config(self, name: str, url: str) -> tuple[dict[str, Any], float]:
        cfg, timeout = self._scenario_config(name, url)
        return {**cfg, "tick": self.args.tick}, timeout

    def _scenario_config(self, name: str, url: str) -> tuple[dict[str, Any], float]:
        a = self.args
        if name == "ack":
            return ({"url": url, "rate": a.rate, "connections": a.connections,
                     "warmup": a.warmup, "duration": a.duration}, a.duration + 120)
        if name == "rss":
            duration = a.rss_minutes * 60
            return ({"url": url, "rate": a.rate, "connections": a.connections,
                     "warmup": a.rss_warmup, "duration": duration}, duration + 300)
        if name == "ping":
            return ({"url": url, "rate": 100.0, "idle": 100, "warmup": 2.0,
                     "duration": a.duration}, a.duration + 120)
        if name == "connect":
            return ({"url": url, "sequential": 500, "concurrent": 100, "rounds": 5}, 300)
        if name == "fanout":
            return ({"url": url, "subscribers": a.subscribers, "flips": a.flips}, 900)
        return (self._throughput_cfg(url), 3600)

    def _throughput_cfg(self, url: str) -> dict[str, Any]:
        a = self.args
        return {"url": url, "connections": a.connections, "start_rate": a.rate,
                "step": a.step, "max_rate": a.max_rate, "warmup": 2.0,
                "duration": a.step_duration, "p99_limit_ms": 100.0, "retry": not a.no_retry}

    def _start_profiler(self, name: str, server: Server) -> subprocess.Popen[bytes]:
        out = (self.args.json.parent if self.args.json else Path("/tmp")) / f"profile-{name}.txt"
        print(f"  profiling the server with py-spy into {out}", flush=True)
        # Native stacks need py-spy to pause the process at each sample (it perturbs more).
        mode = ["--native"] if self.args.profile_native else ["--nonblocking"]
        return subprocess.Popen([str(self.args.profile), "record", "-p", str(server.proc.pid),
                                 "-r", "200", *mode, "-f", "raw", "-o", str(out)],
                                stdout=subprocess.DEVNULL)

    def _bare(self) -> dict[str, Any]:
        """The harness against a bare websockets+uvloop server: the machine's ceiling."""
        server = start_bare_server()
        try:
            sampler = Sampler(psutil.Process(server.proc.pid), None)
            cfg = {**self._throughput_cfg(server.url()), "tick": self.args.tick}
            try:
                result = run_load_process("throughput", cfg, self.workdir, sampler, 3600)
            finally:
                sampler.stop()
            result["cpu"] = cpu_report(sampler.window(*result["window_monotonic"]))
            for step in result["steps"]:
                step["cpu"] = cpu_report(sampler.window(*step["window_monotonic"]))
            return result
        finally:
            stop_process(server.proc)


def load_scenario(name: str) -> str:
    return {"rss": "ack"}.get(name, name)


# -- the report ----------------------------------------------------------------------------

@dataclass
class Row:
    figure: str
    value: float | None
    unit: str
    target: str
    ok: bool | None
    n: int | str
    command: str = ""

    def line(self) -> str:
        value = "n/a" if self.value is None else f"{self.value:g} {self.unit}"
        verdict = {True: "PASS", False: "FAIL", None: "info"}[self.ok]
        return f"  {self.figure:<46} {value:>16}  {self.target:<18} {verdict:<5} n={self.n}"


def _lat(result: dict[str, Any], *path: str) -> dict[str, Any]:
    node: Any = result
    for key in path:
        node = node.get(key, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def _le(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def rows_ack(r: dict[str, Any]) -> list[Row]:
    li, la, lag = (_lat(r, k) for k in ("latency_ms", "latency_from_send_ms",
                                        "schedule_lag_ms"))
    n = li.get("count", 0)
    rows = [Row(f"ack p50 @ {r['offered_rate']:g} msg/s (from intended)", li.get("p50"),
                "ms", "", None, n),
            Row(f"ack p99 @ {r['offered_rate']:g} msg/s (from intended)", li.get("p99"),
                "ms", "<= 25 ms", _le(li.get("p99"), 25), n),
            Row("ack max (from intended)", li.get("max"), "ms", "", None, n),
            Row("ack p50 from actual send", la.get("p50"), "ms", "", None, la.get("count", 0)),
            Row("ack p99 from actual send", la.get("p99"), "ms", "", None, la.get("count", 0)),
            Row("schedule lag p99", lag.get("p99"), "ms", f"max {lag.get('max')} ms", None,
                lag.get("count", 0)),
            Row("acked / sent (lost, errored)", r.get("acknowledged"), "",
                f"{r.get('sent')} ({r.get('lost')}, {r.get('errored')})", None,
                r.get("sent", 0))]
    return rows


def rows_for(name: str, r: dict[str, Any]) -> list[Row]:
    if name in {"ack", "rss"}:
        rows = rows_ack(r)
        if name == "rss":
            rss = r.get("rss", {})
            rows = [Row(f"RSS growth over {rss.get('minutes')} min @ 1000 msg/s",
                        rss.get("growth_mb"), "MB", "<= 5 MB (5 min)",
                        _le(rss.get("growth_mb"), 5.0), rss.get("samples", 0)),
                    Row("RSS slope (least squares)", rss.get("slope_mb_per_min"), "MB/min",
                        f"{rss.get('start_mb')}->{rss.get('end_mb')} MB", None,
                        rss.get("samples", 0)), *rows[1:2]]
        return [*rows, cpu_row(r)]
    rows_of = {"ping": rows_ping, "connect": rows_connect, "throughput": rows_throughput,
               "fanout": rows_fanout, "bare": rows_bare}[name]
    return [*rows_of(r), cpu_row(r)]


def rows_ping(r: dict[str, Any]) -> list[Row]:
    li, la = _lat(r, "latency_ms"), _lat(r, "latency_from_send_ms")
    return [Row(f"ping RTT p99 ({r.get('idle_connections_open')} idle conns)", la.get("p99"),
                "ms", "<= 2 ms", _le(la.get("p99"), 2.0), la.get("count", 0)),
            Row("ping RTT p50 / max", la.get("p50"), "ms", f"max {la.get('max')}", None,
                la.get("count", 0)),
            Row("ping RTT p99 from intended send", li.get("p99"), "ms", "", None,
                li.get("count", 0))]


def rows_connect(r: dict[str, Any]) -> list[Row]:
    s, c = _lat(r, "sequential"), _lat(r, "concurrent")
    return [Row("connect+welcome p50 (sequential)", s.get("p50"), "ms", "", None,
                s.get("count", 0)),
            Row("connect+welcome p99 (sequential)", s.get("p99"), "ms", "<= 10 ms",
                _le(s.get("p99"), 10.0), s.get("count", 0)),
            Row(f"connect+welcome p50 ({r.get('concurrent_batch')} concurrent)",
                c.get("p50"), "ms", "", None, c.get("count", 0)),
            Row(f"connect+welcome p99 ({r.get('concurrent_batch')} concurrent)",
                c.get("p99"), "ms", "(<= 10 ms)", None, c.get("count", 0)),
            Row("failed connects", r.get("failures"), "", "", None,
                s.get("count", 0) + c.get("count", 0))]


def rows_throughput(r: dict[str, Any]) -> list[Row]:
    steps = r.get("steps", [])
    return [Row("sustained acked msg/s (p99 <= 100 ms)", r.get("sustained_rate"), "msg/s",
                ">= 5000 msg/s", (r.get("sustained_rate") or 0) >= 5000, len(steps)),
            *step_rows(steps)]


def rows_bare(r: dict[str, Any]) -> list[Row]:
    return [Row("BARE websockets+uvloop echo: sustained msg/s", r.get("sustained_rate"),
                "msg/s", "(ceiling)", None, len(r.get("steps", []))),
            *step_rows(r.get("steps", []))]


def rows_fanout(r: dict[str, Any]) -> list[Row]:
    lat = _lat(r, "latency_ms")
    n = lat.get("count", 0)
    return [Row(f"fan-out p50 to {r.get('subscribers')} subscribers", lat.get("p50"),
                "ms", "", None, n),
            Row(f"fan-out p99 to {r.get('subscribers')} subscribers", lat.get("p99"),
                "ms", "<= 50 ms", _le(lat.get("p99"), 50.0), n),
            Row("fan-out max", lat.get("max"), "ms", "", None, n),
            Row("per event: median first / last receipt", r.get("per_event_first_ms"), "ms",
                f"last {r.get('per_event_last_ms')} ms", None, r.get("events", 0)),
            Row("deliveries / expected (events)", r.get("deliveries"), "",
                f"{r.get('deliveries_expected')} ({r.get('events')})", None, n)]


def step_rows(steps: list[dict[str, Any]]) -> list[Row]:
    rows = []
    for s in steps:
        li, cpu = s["latency_ms"], s.get("cpu", {})
        retry = " (retry)" if s.get("attempt", 1) > 1 else ""
        rows.append(Row(f"  step {s['offered_rate']:g}{retry}: p99 {li.get('p99')} ms, "
                        f"{'held' if s['held'] else 'NOT held'}", s["achieved_rate"],
                        "acked/s", f"cpu srv {cpu.get('server_pct')} ld {cpu.get('load_pct')} "
                        f"pg {cpu.get('postgres_pct')} oth {cpu.get('other_pct')}",
                        None, li.get("count", 0)))
    return rows


def cpu_row(r: dict[str, Any]) -> Row:
    c = r.get("cpu", {})
    return Row("CPU % of one core: server / load / postgres", c.get("server_pct"), "%",
               f"{c.get('load_pct')} / {c.get('postgres_pct')} (other {c.get('other_pct')})",
               None, c.get("samples", 0))


def machine_info() -> dict[str, Any]:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": psutil.cpu_count(), "loadavg_at_start": os.getloadavg(),
            "memory_mb": psutil.virtual_memory().total // MB}


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    print("\n== results (value, target, verdict, sample count)")
    summary: list[dict[str, Any]] = []
    for name, result in results.items():
        print(f" [{name}]")
        if "error" in result:
            print(f"  FAILED TO RUN: {result['error']}")
            continue
        for row in rows_for(name, result):
            print(row.line())
            summary.append({"benchmark": name, **row.__dict__})
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"machine": machine_info(), "argv": sys.argv, "summary": summary,
                   "results": results}
        args.json.write_text(json.dumps(payload, indent=1, default=str))
        print(f"\nJSON written to {args.json}")


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def orchestrate(args: argparse.Namespace) -> int:
    raise_fd_limit()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(names) - set(ALL)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    print(f"machine: {machine_info()}", flush=True)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, database() as dsn:
        bench = Bench(args, dsn, Path(tmp))
        for name in names:
            try:
                results[name] = bench.run(name)
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                print(f"  {name} failed: {error}", flush=True)
                results[name] = {"error": str(error)}
    report(results, args)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.role == "load":
        load_role(args.scenario, json.loads(args.config), args.out)
        return 0
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())
