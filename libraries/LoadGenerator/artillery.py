"""Running Artillery (the tool the scenario document names) and reading its JSON report.

Artillery's WebSocket engine (artillery 2.0.34, ``lib/core/engine_ws.ts``) counts the
messages it sends and the virtual users it creates, completes and fails. With a plain
``send`` step it never reads a reply, and its pacing is closed-loop (send, then think), so
the figures below are out of its reach; ``run_artillery`` says so in every report.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from WebSocketLibrary.tlsoptions import TlsOptions

CANNOT_PROVIDE = {
    "message latency": "the ws engine records no latency for any message",
    "acknowledgements / per-message delivery": "a plain send never reads the reply, so "
    "nothing tells whether a message was received, stored or rejected",
    "coordinated-omission-corrected latency": "pacing is closed-loop (send, then think "
    "100 ms): a slow server slows the load down instead of showing up as latency",
    "schedule lag": "there is no schedule to lag behind: each user just sends and thinks",
    "connection reuse per message stream": "every virtual user is a new connection",
}
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO_ROOT / "artillery"


def find_artillery(explicit: str | None = None) -> Path:
    """The artillery executable: ``explicit``, $ARTILLERY_BIN, or the project's npm install."""
    for candidate in (explicit, os.environ.get("ARTILLERY_BIN"),
                      str(DEFAULT_DIR / "node_modules" / ".bin" / "artillery")):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    on_path = shutil.which("artillery")
    if on_path:
        return Path(on_path)
    raise FileNotFoundError(
        "Artillery is not installed: scripts/setup installs it into artillery/node_modules "
        "(npm ci --ignore-scripts in artillery/), or set ARTILLERY_BIN.")


@contextmanager
def connection_overrides(token: str | None, tls: TlsOptions | None) -> Iterator[list[str]]:
    """A private file of ``config.ws`` options for Artillery's ws client (the ``ws``
    package): the bearer token and the TLS options, which Artillery merges into the script
    when given as a second input file. Yields the extra command line arguments; the file is
    removed afterwards. Nothing secret goes on the command line, where any process could
    read it."""
    options: dict[str, Any] = {}
    if token:
        options["headers"] = {"Authorization": f"Bearer {token}"}
    if tls is not None:
        tls.check()
        for name, path in (("ca", tls.ca_bundle), ("cert", tls.client_cert),
                           ("key", tls.client_key or tls.client_cert)):
            if path and (name != "key" or tls.client_cert):
                options[name] = Path(path).read_text()
        if not tls.verify:
            options["rejectUnauthorized"] = False
    if not options:
        yield []
        return
    descriptor, name = tempfile.mkstemp(prefix="artillery-connection-", suffix=".json")
    try:
        with os.fdopen(descriptor, "w") as out:  # mkstemp: readable by this user only
            json.dump({"config": {"ws": options}}, out)
        yield [name]
    finally:
        Path(name).unlink(missing_ok=True)


def run_artillery(script: str | Path, target: str | None = None,
                  variables: dict[str, Any] | None = None, output: str | Path | None = None,
                  timeout: float = 900.0, artillery: str | None = None,
                  waiter: Callable[[float], None] = time.sleep, token: str | None = None,
                  tls: TlsOptions | None = None) -> dict[str, Any]:
    """Runs ``artillery run`` on ``script`` and returns its figures (see ``figures``).

    ``token`` and ``tls`` reach every connection through `connection_overrides`. CPU time
    of the Artillery process (and the processes it waited for) is measured too.
    """
    with connection_overrides(token, tls) as extra:
        return _run(find_artillery(artillery), Path(script), extra, target, variables,
                    output, timeout, waiter)


def _run(binary: Path, script: Path, extra: list[str], target: str | None,
         variables: dict[str, Any] | None, output: str | Path | None, timeout: float,
         waiter: Callable[[float], None]) -> dict[str, Any]:
    script = Path(script)
    report = Path(output) if output else Path.cwd() / f"artillery-{script.stem}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    console = report.with_suffix(".log")
    command = [str(binary), "run", "--output", str(report)]
    if target:
        command += ["--target", target]
    if variables:
        command += ["--variables", json.dumps(variables)]
    command += [str(script), *extra]
    env = {**os.environ, "ARTILLERY_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1",
           "NO_COLOR": "1"}
    began = time.monotonic()
    with console.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env)
        usage = None
        status = 0
        try:
            while usage is None:
                pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    usage = rusage
                    break
                if time.monotonic() - began > timeout:
                    raise TimeoutError(f"Artillery did not finish within {timeout:g} s")
                waiter(0.2)
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - began
    if not report.exists():
        tail = console.read_text(errors="replace").splitlines()[-20:]
        raise RuntimeError(f"Artillery wrote no report (exit {process.returncode}):\n"
                           + "\n".join(tail))
    result = figures(json.loads(report.read_text()))
    result.update({"script": str(script), "target": target or "", "report": str(report),
                   "console_log": str(console), "exit_code": process.returncode,
                   "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                   "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
                   "elapsed_s": round(elapsed, 3)})
    return result


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """What an Artillery JSON report can tell about a WebSocket run, and what it can't."""
    aggregate = report.get("aggregate", {})
    counters: dict[str, int] = aggregate.get("counters", {})
    first = aggregate.get("firstCounterAt") or aggregate.get("firstMetricAt") or 0
    last = aggregate.get("lastCounterAt") or aggregate.get("lastMetricAt") or 0
    duration = max((last - first) / 1000, 0.0)
    sent = int(counters.get("websocket.messages_sent", 0))
    errors = {name.removeprefix("errors."): count for name, count in counters.items()
              if name.startswith("errors.")}
    session = aggregate.get("summaries", {}).get("vusers.session_length", {})
    return {
        "tool": "artillery", "messages_sent": sent,
        "messages_received": int(counters.get("websocket.messages_received", 0)),
        "vusers_created": int(counters.get("vusers.created", 0)),
        "vusers_completed": int(counters.get("vusers.completed", 0)),
        "vusers_failed": int(counters.get("vusers.failed", 0)),
        "errors": errors, "errored": sum(errors.values()),
        "duration_s": round(duration, 3),
        "send_rate": round(sent / duration, 1) if duration else 0.0,
        "session_length_ms": {k: session[k] for k in ("min", "p50", "max") if k in session},
        "cannot_provide": dict(CANNOT_PROVIDE),
    }


def describe(result: dict[str, Any]) -> str:
    """Plain text: the figures, then every figure Artillery cannot provide and why."""
    lines = [f"Artillery against {result.get('target') or 'the script target'}: "
             f"{result['vusers_created']} virtual users ({result['vusers_completed']} completed, "
             f"{result['vusers_failed']} failed), {result['messages_sent']} messages sent in "
             f"{result['duration_s']} s ({result['send_rate']} msg/s), "
             f"{result['errored']} errors {result['errors'] or ''}".rstrip(),
             f"Artillery's own CPU: {result.get('cpu_s', '?')} s "
             f"over {result.get('elapsed_s', '?')} s.",
             "Artillery cannot provide:"]
    lines += [f"  - {name}: {why}" for name, why in result["cannot_provide"].items()]
    return "\n".join(lines)

