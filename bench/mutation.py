"""Mutation testing of the acceptance suite against the reference system (a benchmark, not CI).

Cosmic Ray generates and applies the mutants; this script runs the acceptance tests that
cover each mutated module against a copy of the ``dashboards`` package carrying one mutant,
and prints the mutation score and every surviving mutant with its diff.

    .venv/bin/python bench/mutation.py --module seams --sample 3
    .venv/bin/python bench/mutation.py --module validation --module limits --sample 10 --seed 7
    .venv/bin/python bench/mutation.py --list                  # mutant counts only, runs nothing
    .venv/bin/python bench/mutation.py --module slo --operators 'Comparison|Number' --sample 20 \\
        --json results/mutation/slo.json --session-dir results/mutation

How one mutant is run: ``dashboards/`` (a snapshot taken at start) is copied into a temporary
directory and Cosmic Ray applies the mutation to the copy; the working tree is never touched.
Robot runs with that directory first on ``PYTHONPATH`` and its working directory outside the
project (``python -m dashboards`` puts the working directory first on ``sys.path``, so run
from the repository root the embedded system would import the unmutated package), with a
TMPDIR, output dir and three embedded-system ports of its own, ``--exclude long``, and a
timeout after which its process group is killed. Before any mutant, each module's tests must
pass on the unmutated copy (baseline), and must fail on a copy whose module raises at import
(sentinel: proves the embedded system imports the copy).

Score = (killed + timed out) / (killed + timed out + survived): a timeout counts as killed.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
PACKAGE = "dashboards"
MARKER_VAR = "DASHBOARDS_MUTATION_JOB"  # set in each run's environment to find its processes
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


@dataclass(frozen=True)
class Module:
    name: str
    path: str  # relative to the repository root
    tests: tuple[str, ...]  # Robot --test patterns (test names start with the scenario id)
    why: str


# Which acceptance tests cover which module. Test names start with their scenario id, so a
# pattern such as "7.6 *" selects one scenario; "--exclude long" applies on top.
MODULES: tuple[Module, ...] = (
    Module("validation", "dashboards/validation.py",
           ("2.*", "3.1 *", "3.3 *", "4.2 *", "5.*", "10.1 *"),
           "validates every client message: ingest (2.x, 5.x, 10.1), subscribe/unsubscribe "
           "channels (3.1, 3.3) and resume (4.2)"),
    Module("slo", "dashboards/slo.py",
           ("7.1 *", "7.2 *", "7.4 *", "7.5 *", "7.7 *", "8.*"),
           "SLO bands, alert open/escalate/resolve, cooldown, auto-actions (7.5: a voice an "
           "auto-action activated; 8.3: every auto-action)"),
    Module("voices", "dashboards/voices.py", ("7.3 *", "7.5 *", "8.3 *"),
           "the seven voices' conditions, activation, deactivation and intensity"),
    Module("seams", "dashboards/seams.py", ("7.6 *",),
           "system states and the seam events between them"),
    Module("limits", "dashboards/limits.py",
           ("5.2 *", "10.2 *", "10.3 *", "10.4 *", "10.5 *"),
           "rate limit, abuse detection, bearer tokens, Origin allow-list"),
    Module("policy", "dashboards/notify/policy.py", ("8.*",),
           "escalation chains: who is notified by which channel when"),
    Module("hub", "dashboards/hub.py", ("4.2 *",),
           "event sequence numbers, fan-out to subscribers, sessions and replay for resume"),
)
MODULE_BY_NAME = {m.name: m for m in MODULES}
ALIASES = {"notify.policy": "policy", "notify/policy": "policy"}


# -- command line ---------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Modules and their tests:\n" + "\n".join(
                                    f"  {m.name:<11}{m.path:<30}{' '.join(m.tests)}"
                                    for m in MODULES))
    p.add_argument("--module", action="append", metavar="NAME",
                   help=f"module to mutate (repeatable; default: all of "
                        f"{', '.join(m.name for m in MODULES)})")
    p.add_argument("--sample", type=int, default=0, metavar="N",
                   help="run N mutants per module, drawn at random with --seed (default: all: "
                        "hours of runs)")
    p.add_argument("--seed", type=int, default=1, help="seed of --sample (default 1)")
    p.add_argument("--operators", metavar="REGEX",
                   help="only operators whose Cosmic Ray name matches, e.g. "
                        "'Comparison|Boolean|Number'")
    p.add_argument("--include-annotations", action="store_true",
                   help="also run mutants inside type annotations (skipped by default: under "
                        "'from __future__ import annotations' they are never evaluated, so "
                        "every one is an equivalent mutant)")
    p.add_argument("--jobs", type=int, default=1,
                   help="Robot runs at once (default 1; more on this 2-core machine makes the "
                        "suite's timing assertions flaky, which shows as false kills)")
    p.add_argument("--timeout", type=float, default=0, metavar="SECONDS",
                   help="per mutant run (default: 3 x the module's baseline run + 60 s)")
    p.add_argument("--json", type=Path, metavar="PATH", help="write all results as JSON")
    p.add_argument("--session-dir", type=Path, metavar="DIR",
                   help="keep Cosmic Ray's session file per module there (<module>.sqlite; "
                        "read it with cr-report --show-diff); default: discarded")
    p.add_argument("--keep", action="store_true",
                   help="keep the temporary directory (copies, Robot outputs) for inspection")
    p.add_argument("--check-only", action="store_true",
                   help="run the baseline and sentinel runs only (how long one mutant takes)")
    p.add_argument("--list", action="store_true",
                   help="print the number of mutants per module and operator, run nothing")
    args = p.parse_args(argv)
    names = [ALIASES.get(n, n) for n in (args.module or [m.name for m in MODULES])]
    unknown = [n for n in names if n not in MODULE_BY_NAME]
    if unknown:
        p.error(f"unknown module(s) {unknown}; known: {', '.join(MODULE_BY_NAME)}")
    args.modules = [MODULE_BY_NAME[n] for n in dict.fromkeys(names)]
    if args.sample < 0 or args.jobs < 1 or args.timeout < 0:
        p.error("--sample and --timeout must not be negative, --jobs at least 1")
    if args.operators:
        try:
            args.operator_re = re.compile(args.operators)
        except re.error as e:
            p.error(f"--operators: {e}")
    else:
        args.operator_re = None
    return args


# -- mutants (Cosmic Ray) -------------------------------------------------------------------

@dataclass
class Mutant:
    module: str
    job_id: str
    path: str  # relative to the package copy's parent, e.g. dashboards/seams.py
    operator: str
    operator_args: dict[str, Any]
    occurrence: int
    line: int
    col: int
    outcome: str = "pending"  # killed | timeout | survived | error
    seconds: float = 0.0  # the Robot run
    wall_seconds: float = 0.0  # copy, mutation, Robot run and waiting for its processes to end
    leftovers_killed: int = 0  # processes of the run still alive 60 s after it (should be 0)
    failed_tests: list[str] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)  # the mutated line(s), unified, no context
    detail: str = ""


def generate(module: Module, pristine: Path, work: Path) -> list[Any]:
    """Every Cosmic Ray work item of ``module`` (its ``init``, on the snapshot)."""
    from cosmic_ray.commands.init import init
    from cosmic_ray.work_db import use_db

    db_path = work / f"all-{module.name}.sqlite"
    with contextlib.chdir(pristine), use_db(str(db_path)) as db:
        init([Path(module.path)], db, {})  # module_path is stored relative: dashboards/x.py
        items = list(db.work_items)
    db_path.unlink()
    return items


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) (line, column) of every annotation that is never evaluated: all of them
    when the module has ``from __future__ import annotations``, none otherwise. Columns are
    characters, as in Cosmic Ray's positions (ast gives UTF-8 byte offsets)."""
    tree = ast.parse(source)
    postponed = any(isinstance(node, ast.ImportFrom) and node.module == "__future__"
                    and any(a.name == "annotations" for a in node.names) for node in tree.body)
    if not postponed:
        return []
    lines = source.split("\n")

    def column(line: int, offset: int) -> int:
        return len(lines[line - 1].encode()[:offset].decode(errors="replace"))

    spans = []
    for node in ast.walk(tree):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
        elif isinstance(node, ast.arg | ast.AnnAssign):
            annotations.append(node.annotation)
        for a in annotations:
            if a is not None and a.end_lineno is not None and a.end_col_offset is not None:
                spans.append(((a.lineno, column(a.lineno, a.col_offset)),
                              (a.end_lineno, column(a.end_lineno, a.end_col_offset))))
    return spans


def in_annotation(item: Any, spans: list[tuple[tuple[int, int], tuple[int, int]]]) -> bool:
    start = tuple(item.mutations[0].start_pos)
    return any(begin <= start < end for begin, end in spans)


def select(items: list[Any], module: Module, args: argparse.Namespace,
           spans: list[tuple[tuple[int, int], tuple[int, int]]]) -> list[Any]:
    """Annotation and operator filters, then a deterministic sample (same source and seed:
    same mutants)."""
    items = sorted(items, key=lambda i: (i.mutations[0].operator_name, i.mutations[0].occurrence))
    if not args.include_annotations:
        items = [i for i in items if not in_annotation(i, spans)]
    if args.operator_re:
        items = [i for i in items if args.operator_re.search(i.mutations[0].operator_name)]
    if args.sample and args.sample < len(items):
        items = random.Random(f"{args.seed}:{module.name}").sample(items, args.sample)
    return sorted(items, key=lambda i: (i.mutations[0].start_pos, i.mutations[0].operator_name))


def to_mutant(module: Module, item: Any) -> Mutant:
    spec = item.mutations[0]
    return Mutant(module.name, item.job_id, str(spec.module_path), spec.operator_name,
                  dict(spec.operator_args or {}), spec.occurrence, spec.start_pos[0],
                  spec.start_pos[1])


def apply(mutant: Mutant, src: Path) -> tuple[str, str]:
    """Apply the mutant to the copy under ``src`` with Cosmic Ray; (original, mutated) code."""
    import cosmic_ray.plugins
    from cosmic_ray.mutating import apply_mutation

    operator = cosmic_ray.plugins.get_operator(mutant.operator)(**mutant.operator_args)
    original, mutated = apply_mutation(src / mutant.path, operator, mutant.occurrence)
    if mutated is None:
        raise RuntimeError(f"Cosmic Ray applied no mutation for {mutant.operator} "
                           f"#{mutant.occurrence} in {mutant.path}")
    return original, mutated


def unified(original: str, mutated: str, path: str, context: int) -> list[str]:
    return list(difflib.unified_diff(original.split("\n"), mutated.split("\n"),
                                     fromfile="a/" + path, tofile="b/" + path,
                                     lineterm="", n=context))


# -- one Robot run --------------------------------------------------------------------------

_port_lock = threading.Lock()
_ports_given: set[int] = set()


def free_ports(count: int = 3) -> list[int]:
    """Free loopback ports below the ephemeral range (clients of parallel runs take those)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    chosen: list[int] = []
    with _port_lock:
        while len(chosen) < count:
            port = rng.randrange(20000, low)
            if port in _ports_given or port in chosen:
                continue
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
            chosen.append(port)
        _ports_given.update(chosen)
        if len(_ports_given) > 3000:
            _ports_given.clear()
    return chosen


def _processes_of(job: str, job_dir: Path) -> list[int]:
    """Pids of live processes started for ``job``: its marker in their environment (robot,
    the stack's supervisor, the reference system, the alert capture) or its directory on
    their command line (PostgreSQL, started as another user)."""
    marker = f"{MARKER_VAR}={job}".encode()
    needle = str(job_dir).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "stat").read_text().rpartition(")")[2].split()[0] == "Z":
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in environ or needle in cmd:
            pids.append(int(entry.name))
    return pids


def reap(job: str, job_dir: Path, grace: float = 60.0) -> list[int]:
    """Wait for the run's processes to end (the embedded stack stops itself once its owner,
    robot, is gone); SIGKILL those left after ``grace`` seconds. Returns the killed pids."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _processes_of(job, job_dir):
            return []
        time.sleep(0.2)
    left = _processes_of(job, job_dir)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


@dataclass
class RunResult:
    rc: int | None  # None: timed out
    seconds: float
    tests_run: list[str]
    failed_tests: list[str]
    setup_failure: str
    output_dir: Path
    leftovers: list[int]


_active: dict[int, subprocess.Popen[bytes]] = {}
_active_lock = threading.Lock()


def run_robot(module: Module, src: Path, job_dir: Path, timeout: float) -> RunResult:
    """One isolated Robot run of ``module``'s tests with ``src`` first on PYTHONPATH."""
    job = uuid.uuid4().hex
    tmp, out, cwd = job_dir / "t", job_dir / "out", job_dir / "cwd"
    for d in (tmp, out, cwd):
        d.mkdir(parents=True, exist_ok=True)
    tmp.chmod(0o711)  # PostgreSQL runs as postgres below it when we are root
    ports = ",".join(map(str, free_ports()))
    command = [sys.executable, "-m", "robot", "--outputdir", str(out), "--log", "NONE",
               "--report", "NONE", "--console", "dotted", "--exclude", "long",
               "--variable", f"EMBEDDED_PORTS:{ports}"]
    for pattern in module.tests:
        command += ["--test", pattern]
    command.append(str(TESTS))
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONDONTWRITEBYTECODE="1", **{MARKER_VAR: job})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))
    started = time.monotonic()
    with (job_dir / "console.txt").open("wb") as console:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=console, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        with _active_lock:
            _active[process.pid] = process
        try:
            rc: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            rc = None
        finally:
            with _active_lock:
                _active.pop(process.pid, None)
    seconds = time.monotonic() - started
    leftovers = reap(job, job_dir)
    tests, failed, setup = read_output(out / "output.xml")
    return RunResult(rc, seconds, tests, failed, setup, out, leftovers)


def read_output(output_xml: Path) -> tuple[list[str], list[str], str]:
    """Names of the tests run and of those failed, and the first suite setup failure."""
    if not output_xml.exists():
        return [], [], ""
    from robot.api import ExecutionResult, ResultVisitor

    class Collect(ResultVisitor):
        def __init__(self) -> None:
            self.tests: list[str] = []
            self.failed: list[str] = []
            self.setup = ""

        def visit_test(self, test: Any) -> None:
            self.tests.append(test.name)
            if test.failed:
                self.failed.append(test.name)

        def start_suite(self, suite: Any) -> bool | None:
            if not self.setup and suite.setup and suite.setup.failed:
                self.setup = suite.setup.message
            return None

    try:
        result = ExecutionResult(str(output_xml))
    except Exception as e:  # a run killed while writing leaves a torn file
        return [], [], f"output.xml unreadable: {e}"
    collect = Collect()
    result.visit(collect)
    return collect.tests, collect.failed, collect.setup


def isolated_run(module: Module, src: Path, job_dir: Path, timeout: float) -> RunResult:
    """``run_robot``, run again (fresh ports) when another program took one of its ports."""
    for attempt in range(3):
        result = run_robot(module, src, job_dir / f"try{attempt}", timeout)
        if "in use by another program" not in result.setup_failure:
            return result
    return result


def fresh_copy(pristine: Path, job_dir: Path) -> Path:
    src = job_dir / "src"
    shutil.copytree(pristine / PACKAGE, src / PACKAGE, ignore=IGNORE)
    return src


# -- checks before mutants ------------------------------------------------------------------

class Abort(Exception):
    pass


def baseline(module: Module, pristine: Path, work: Path, timeout: float) -> RunResult:
    job_dir = work / f"baseline-{module.name}"
    result = isolated_run(module, fresh_copy(pristine, job_dir), job_dir, timeout)
    if result.rc != 0:
        why = ("timed out" if result.rc is None else
               f"exit code {result.rc}; failed: {', '.join(result.failed_tests) or 'none'}"
               + (f"; suite setup: {result.setup_failure}" if result.setup_failure else ""))
        raise Abort(f"The baseline run of {module.name} ({' '.join(module.tests)}) on the "
                    f"UNMUTATED package did not pass ({why}). Mutation scores would mean "
                    f"nothing; fix the suite or the machine first. Robot output: "
                    f"{result.output_dir} (kept).")
    if not result.tests_run:
        raise Abort(f"The baseline run of {module.name} selected no test: patterns "
                    f"{module.tests} match no test name in {TESTS}.")
    return result


def sentinel(module: Module, pristine: Path, work: Path, timeout: float) -> RunResult:
    """A copy whose module raises at import must fail the run, with that error in the
    embedded system's log: proof that the suite's system imports the copy."""
    job_dir = work / f"sentinel-{module.name}"
    src = fresh_copy(pristine, job_dir)
    text = f"mutation-sentinel-{uuid.uuid4().hex[:8]}"
    target = src / module.path
    target.write_text(target.read_text() + f"\nraise ImportError({text!r})\n")
    result = isolated_run(module, src, job_dir, timeout)
    logs = "".join(p.read_text(errors="replace") for p in result.output_dir.glob("*.log"))
    if result.rc == 0 or text not in logs:
        raise Abort(f"The sentinel run of {module.name} (its module raising ImportError in "
                    f"the copy) {'passed' if result.rc == 0 else 'failed for another reason'}"
                    f": the embedded system did not import the copy under {src}, so mutants "
                    f"would not be tested. Robot output: {result.output_dir} (kept).")
    return result


# -- the run --------------------------------------------------------------------------------

def run_mutant(mutant: Mutant, module: Module, pristine: Path, job_dir: Path,
               timeout: float) -> tuple[Mutant, str]:
    started = time.monotonic()
    src = fresh_copy(pristine, job_dir)
    try:
        original, mutated = apply(mutant, src)
    except Exception as e:
        mutant.outcome, mutant.detail = "error", f"applying the mutation failed: {e}"
        return mutant, ""
    mutant.diff = unified(original, mutated, mutant.path, 0)[2:]
    full_diff = "\n".join(["--- mutation diff ---", *unified(original, mutated, mutant.path, 3)])
    result = isolated_run(module, src, job_dir, timeout)
    mutant.seconds = round(result.seconds, 1)
    mutant.failed_tests = result.failed_tests
    if result.rc is None:
        mutant.outcome = "timeout"
    elif result.rc == 0:
        mutant.outcome = "survived"
    elif result.rc >= 252:  # Robot's own errors: bad options, interrupted, internal error
        mutant.outcome = "error"
        mutant.detail = f"robot exit code {result.rc}, see {job_dir}/console.txt"
    else:
        mutant.outcome = "killed"
        if result.setup_failure and not result.failed_tests:
            mutant.detail = "suite setup: " + result.setup_failure.splitlines()[0][:200]
        elif result.setup_failure:
            mutant.detail = "suite setup failed: the system did not start or answer"
    if result.leftovers:
        mutant.leftovers_killed = len(result.leftovers)
        mutant.detail += f" (killed {len(result.leftovers)} leftover process(es))"
    mutant.wall_seconds = round(time.monotonic() - started, 1)
    return mutant, full_diff


def record(db: Any, mutant: Mutant, full_diff: str) -> None:
    """The result in Cosmic Ray's session, so that cr-report can read it."""
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    if mutant.outcome == "error":
        result = WorkResult(worker_outcome=WorkerOutcome.EXCEPTION, output=mutant.detail,
                            test_outcome=TestOutcome.INCOMPETENT, diff=full_diff)
    else:
        result = WorkResult(
            worker_outcome=WorkerOutcome.NORMAL,
            output="timeout" if mutant.outcome == "timeout" else
            "failed: " + "; ".join(mutant.failed_tests) + (" " + mutant.detail).rstrip(),
            test_outcome=(TestOutcome.SURVIVED if mutant.outcome == "survived"
                          else TestOutcome.KILLED),
            diff=full_diff)
    db.set_result(mutant.job_id, result)


def short_operator(name: str) -> str:
    return name.removeprefix("core/")


def progress(i: int, total: int, mutant: Mutant) -> None:
    label = {"killed": "killed", "timeout": "killed (timeout)", "survived": "SURVIVED",
             "error": "error"}[mutant.outcome]
    why = ""
    if mutant.outcome == "killed" and mutant.failed_tests:
        first = mutant.failed_tests[0]
        more = len(mutant.failed_tests) - 1
        why = f"  by {first}" + (f" (+{more})" if more else "")
    elif mutant.detail:
        why = "  " + mutant.detail
    file = mutant.path.removeprefix(PACKAGE + "/")
    print(f"[{i:>{len(str(total))}}/{total}] {mutant.module:<10} {file}:{mutant.line:<4} "
          f"{short_operator(mutant.operator):<40} {label:<16} {mutant.seconds:6.1f} s{why}",
          flush=True)


def score(counts: dict[str, int]) -> float | None:
    judged = counts["killed"] + counts["timeout"] + counts["survived"]
    return None if not judged else (counts["killed"] + counts["timeout"]) / judged


def summarize(mutants: list[Mutant]) -> dict[str, int]:
    counts = dict.fromkeys(("killed", "timeout", "survived", "error", "pending"), 0)
    for m in mutants:
        counts[m.outcome] += 1
    return counts


def fmt_score(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def report(modules: list[Module], per_module: dict[str, dict[str, Any]],
           mutants: list[Mutant]) -> dict[str, Any]:
    print("\n== Mutation score (timeouts count as killed)")
    print(f"  {'module':<11} {'mutants':>8} {'run':>5} {'killed':>7} {'timeout':>8} "
          f"{'survived':>9} {'error':>6} {'score':>8}   tests")
    for module in modules:
        info = per_module[module.name]
        mine = [m for m in mutants if m.module == module.name]
        counts = summarize(mine)
        info["counts"], info["score"] = counts, score(counts)
        print(f"  {module.name:<11} {info['mutants_total']:>8} {len(mine):>5} "
              f"{counts['killed']:>7} {counts['timeout']:>8} {counts['survived']:>9} "
              f"{counts['error']:>6} {fmt_score(info['score']):>8}   {' '.join(module.tests)}")
    overall = summarize(mutants)
    print(f"  {'overall':<11} {'':>8} {len(mutants):>5} {overall['killed']:>7} "
          f"{overall['timeout']:>8} {overall['survived']:>9} {overall['error']:>6} "
          f"{fmt_score(score(overall)):>8}")
    survivors = [m for m in mutants if m.outcome == "survived"]
    print(f"\n== Surviving mutants ({len(survivors)}): a blind spot of the suite, or an "
          "equivalent mutant")
    for m in survivors:
        print(f"\n{m.path}:{m.line}  {short_operator(m.operator)} (occurrence {m.occurrence})")
        for line in m.diff:
            print("    " + line)
    errors = [m for m in mutants if m.outcome == "error"]
    if errors:
        print(f"\n== Not judged ({len(errors)}): harness errors, not in the score")
        for m in errors:
            print(f"  {m.path}:{m.line} {short_operator(m.operator)}: {m.detail}")
    return {"counts": overall, "score": score(overall)}


def prepare(args: argparse.Namespace, pristine: Path, work: Path,
            sessions: Path) -> tuple[dict[str, dict[str, Any]], dict[str, list[Mutant]]]:
    """Cosmic Ray's mutants of each module, the selection, and a session file holding it."""
    from cosmic_ray.work_db import use_db

    per_module: dict[str, dict[str, Any]] = {}
    chosen: dict[str, list[Mutant]] = {}
    for module in args.modules:
        items = generate(module, pristine, work)
        spans = annotation_spans((pristine / module.path).read_text())
        picked = select(items, module, args, spans)
        in_annotations = sum(1 for i in items if in_annotation(i, spans))
        chosen[module.name] = [to_mutant(module, i) for i in picked]
        session = sessions / f"{module.name}.sqlite"
        session.unlink(missing_ok=True)
        with use_db(str(session)) as db:
            db.add_work_items(picked)
        per_module[module.name] = {"path": module.path, "tests": list(module.tests),
                                   "why": module.why, "mutants_total": len(items),
                                   "mutants_in_annotations": in_annotations,
                                   "mutants_selected": len(picked), "session": str(session)
                                   if args.session_dir else None}
        if args.list:
            by_op: dict[str, int] = {}
            for i in items:
                op = short_operator(i.mutations[0].operator_name).split("_")[0]
                by_op[op] = by_op.get(op, 0) + 1
            print(f"{module.name:<11} {module.path:<30} {len(items):>4} mutants "
                  f"({in_annotations} in annotations), {len(picked)} selected: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(by_op.items())))
    return per_module, chosen


def check_modules(args: argparse.Namespace, pool: ThreadPoolExecutor, pristine: Path,
                  work: Path, per_module: dict[str, dict[str, Any]]) -> None:
    """Baselines, then sentinels; raises Abort when a module's tests cannot judge mutants."""
    print("\n== Baseline (unmutated) and sentinel (module raising at import) runs", flush=True)
    checks = {m.name: pool.submit(baseline, m, pristine, work, 1800) for m in args.modules}
    for module in args.modules:
        base = checks[module.name].result()
        per_module[module.name].update(
            baseline_s=round(base.seconds, 1), tests_run=base.tests_run,
            timeout_s=args.timeout or round(3 * base.seconds + 60))
    sentinels = {m.name: pool.submit(sentinel, m, pristine, work,
                                     per_module[m.name]["timeout_s"]) for m in args.modules}
    for module in args.modules:
        sent = sentinels[module.name].result()
        info = per_module[module.name]
        info["sentinel_s"] = round(sent.seconds, 1)
        print(f"  {module.name:<11} baseline passed in {info['baseline_s']:5.1f} s "
              f"({len(info['tests_run'])} tests); sentinel failed as it must in "
              f"{sent.seconds:4.1f} s; timeout per mutant {info['timeout_s']} s; "
              f"{info['mutants_selected']} mutants selected", flush=True)


def run_mutants(args: argparse.Namespace, pool: ThreadPoolExecutor, pristine: Path,
                work: Path, sessions: Path, per_module: dict[str, dict[str, Any]],
                chosen: dict[str, list[Mutant]], mutants: list[Mutant]) -> None:
    """Every chosen mutant; results appended to ``mutants`` and to the session files."""
    from cosmic_ray.work_db import WorkDB

    if args.check_only:
        return
    queue = [(m, MODULE_BY_NAME[m.module]) for ms in chosen.values() for m in ms]
    print(f"\n== {len(queue)} mutant(s)", flush=True)
    futures: dict[Future[tuple[Mutant, str]], Path] = {}
    for n, (mutant, module) in enumerate(queue):
        job_dir = work / f"m{n:04d}-{module.name}"
        futures[pool.submit(run_mutant, mutant, module, pristine, job_dir,
                            per_module[module.name]["timeout_s"])] = job_dir
    dbs = {name: WorkDB(str(sessions / f"{name}.sqlite"), WorkDB.Mode.open) for name in chosen}
    try:
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                mutant, full_diff = future.result()
                mutants.append(mutant)
                record(dbs[mutant.module], mutant, full_diff)
                progress(len(mutants), len(queue), mutant)
                if not args.keep:
                    shutil.rmtree(futures[future], ignore_errors=True)
    finally:
        for db in dbs.values():
            db.close()


def write_json(args: argparse.Namespace, per_module: dict[str, dict[str, Any]],
               overall: dict[str, Any], mutants: list[Mutant], started: float,
               load_before: tuple[float, float, float]) -> None:
    data = {"started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
            "seconds": round(time.time() - started, 1),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version(), "loadavg_before": load_before,
                        "loadavg_after": os.getloadavg()},
            "tools": {"cosmic-ray": _version("cosmic-ray"),
                      "robotframework": _version("robotframework")},
            "args": {k: v for k, v in vars(args).items() if k not in ("modules", "operator_re")},
            "score_note": "score = (killed + timeout) / (killed + timeout + survived): a "
                          "timeout counts as killed; errors are not judged",
            "modules": per_module, "overall": overall, "mutants": [asdict(m) for m in mutants]}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=2, default=str))
    print(f"\nJSON: {args.json}")


def finish(args: argparse.Namespace, per_module: dict[str, dict[str, Any]],
           mutants: list[Mutant], started: float, load_before: tuple[float, float, float]) -> None:
    """The report, the JSON and where the sessions are."""
    overall: dict[str, Any] = {}
    if mutants:
        order = [m.name for m in args.modules]
        mutants.sort(key=lambda m: (order.index(m.module), m.line, m.operator))
        overall = report(args.modules, per_module, mutants)
    if args.json:
        write_json(args, per_module, overall, mutants, started, load_before)
    if mutants and args.session_dir:
        print(f"Cosmic Ray sessions: {args.session_dir}/<module>.sqlite (read with "
              f".venv/bin/cr-report --show-diff --surviving-only FILE)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import cosmic_ray  # noqa: F401
    except ImportError:
        print("cosmic-ray is not installed: .venv/bin/pip install -r requirements-dev.txt",
              file=sys.stderr)
        return 2
    for module in args.modules:
        if not (ROOT / module.path).is_file():
            print(f"{module.path} does not exist: update MODULES in {__file__}", file=sys.stderr)
            return 2

    started, load_before = time.time(), os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="mut-"))
    work.chmod(0o711)  # PostgreSQL (as postgres) must pass through to its data dir
    pristine = work / "pristine"  # the package as it is now: every copy is made from this
    shutil.copytree(ROOT / PACKAGE, pristine / PACKAGE, ignore=IGNORE)
    sessions = args.session_dir or work / "sessions"
    sessions.mkdir(parents=True, exist_ok=True)
    per_module, chosen = prepare(args, pristine, work, sessions)
    if args.list:
        shutil.rmtree(work, ignore_errors=True)
        return 0

    print(f"Mutating copies of {ROOT / PACKAGE} in {work}; cosmic-ray "
          f"{_version('cosmic-ray')}, robot {_version('robotframework')}, jobs {args.jobs}",
          flush=True)
    keep, status = args.keep, 0
    mutants: list[Mutant] = []
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    try:
        check_modules(args, pool, pristine, work, per_module)
        run_mutants(args, pool, pristine, work, sessions, per_module, chosen, mutants)
    except Abort as e:
        print(f"\nSTOPPED: {e}", file=sys.stderr)
        keep, status = True, 1
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the running Robot runs", file=sys.stderr)
        status = 130
        with _active_lock:
            for process in _active.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    finish(args, per_module, mutants, started, load_before)
    if keep:
        print(f"Kept {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return status


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
