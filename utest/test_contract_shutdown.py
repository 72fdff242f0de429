"""Graceful shutdown and restart of the real process: no acknowledged record is ever lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator

import psycopg2
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import Peer
from EmbeddedStack.pgcluster import PgCluster, free_loopback_port

STARTED: list[subprocess.Popen[bytes]] = []


def start_process(dsn: str) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    ports = {d: free_loopback_port() for d in ("pulse", "seams", "voices")}
    env = {**os.environ, "DATABASE_URL": dsn, "UPDATE_INTERVAL_MS": "50",
           **{f"{d.upper()}_PORT": str(p) for d, p in ports.items()}}
    process = subprocess.Popen([sys.executable, "-m", "dashboards"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    STARTED.append(process)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ports['pulse']}/healthz",
                                        timeout=1):
                return process, ports
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(process.stderr.read().decode()) from None
            time.sleep(0.05)  # polling interval while the process starts


@pytest.fixture
def database(cluster: PgCluster) -> Iterator[str]:
    yield cluster.create_database(f"shutdown_{os.getpid()}_{time.monotonic_ns()}")


@pytest.fixture(autouse=True)
def no_process_left() -> Iterator[None]:
    """Whatever a test asserts, the systems it started do not outlive it."""
    yield
    for process in STARTED:
        if process.poll() is None:
            process.kill()
            process.wait()
    STARTED.clear()


def count(dsn: str) -> int:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM metrics")
        return int(cur.fetchone()[0])


def test_sigterm_loses_no_acknowledged_record_and_restart_keeps_state(database: str) -> None:
    process, ports = start_process(database)
    acked = [0] * 4
    close_codes: list[int | None] = []
    started = threading.Barrier(5)

    def produce(index: int) -> None:
        with connect(f"ws://127.0.0.1:{ports['pulse']}") as ws:
            started.wait()
            try:
                for n in range(100_000):
                    ws.send(json.dumps({"type": "metrics", "id": n, "data": {
                        "clarity": 0.8, "chaos": 0.45, "trust": 0.75, "pain": 0.25}}))
                    while True:
                        frame = json.loads(ws.recv(timeout=10))
                        if frame["type"] == "metrics_received":
                            acked[index] += frame["accepted"]
                            break
            except ConnectionClosed:
                close_codes.append(ws.close_code)

    producers = [threading.Thread(target=produce, args=(i,)) for i in range(4)]
    for thread in producers:
        thread.start()
    started.wait()
    while sum(acked) < 2000:  # let real load build up before the signal
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    for thread in producers:
        thread.join(30)

    assert close_codes == [1001] * 4
    assert count(database) >= sum(acked) > 2000

    process, ports = start_process(database)
    try:
        with Peer(f"ws://127.0.0.1:{ports['pulse']}") as peer:
            peer.request({"type": "subscribe", "channels": ["trust", "pain"]}, "subscribed")
            assert peer.next("metrics_update")["data"] == {"trust": 0.75, "pain": 0.25}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_event_seq_continues_after_a_restart(database: str) -> None:
    seqs = []
    for _ in range(2):
        process, ports = start_process(database)
        try:
            with Peer(f"ws://127.0.0.1:{ports['pulse']}") as peer:
                peer.request({"type": "subscribe", "channels": ["alerts"]}, "subscribed")
                for value in (0.95, 0.8):
                    peer.request({"type": "metric_update", "metric": "clarity",
                                  "value": value}, "metrics_received")
                seqs.append(peer.next("slo_alert")["seq"])
                seqs.append(peer.next("alert_resolved")["seq"])
        finally:
            process.terminate()
            assert process.wait(timeout=30) == 0
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
