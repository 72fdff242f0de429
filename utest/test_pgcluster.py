"""Tests of EmbeddedStack.pgcluster against a real PostgreSQL 15 + TimescaleDB (no mocks).

They need what scripts/setup installs and skip, saying so, where TimescaleDB is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest

from EmbeddedStack.pgcluster import (
    TIMESCALEDB_VERSION,
    PgCluster,
    cleanup_stale,
    find_pg_bin,
    free_loopback_port,
    timescaledb_installed,
)

pytestmark = pytest.mark.skipif(
    not timescaledb_installed(),
    reason=f"TimescaleDB {TIMESCALEDB_VERSION} is not installed for PostgreSQL 15 "
    "(run scripts/setup)",
)

MakeCluster = Callable[..., PgCluster]


@pytest.fixture
def base_dir() -> Iterator[Path]:
    """A fresh dir directly under /tmp that the server's user can pass through.

    Not pytest's tmp_path: as root that lies under a 0700 /tmp/pytest-of-root, which the
    ``postgres`` user that runs the server cannot enter.
    """
    path = Path(tempfile.mkdtemp(prefix="pgcluster-test-"))
    path.chmod(0o711)
    yield path
    cleanup_stale(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_cluster(base_dir: Path) -> Iterator[MakeCluster]:
    """Build clusters that are stopped at teardown even when a test fails half-way."""
    made: list[PgCluster] = []

    def make(sub: str = "a", *, port: int = 0, fsync: bool = True) -> PgCluster:
        cluster = PgCluster(base_dir / sub, port=port, fsync=fsync)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


def _pid_gone(pid: int) -> bool:
    """Dead or a zombie: the postmaster is reparented, so nobody here reaps it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def _processes_in(data_dir: Path) -> list[int]:
    """Live processes whose cwd is (or was, before removal) ``data_dir``: server leftovers."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.removesuffix(" (deleted)") == str(data_dir) and not _pid_gone(int(entry.name)):
            found.append(int(entry.name))
    return found


def _port_is_free(port: int) -> bool:
    """Whether a listener could take ``port`` (SO_REUSEADDR, as postgres does, so that
    TIME_WAIT leftovers of closed connections don't count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


def _query(dsn: str, sql: str) -> list[tuple[object, ...]]:
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def test_find_pg_bin_and_free_port() -> None:
    assert (find_pg_bin() / "pg_ctl").is_file()
    port = free_loopback_port()
    assert 1024 <= port <= 65535
    assert _port_is_free(port)


def test_start_gives_database_with_timescaledb(make_cluster: MakeCluster) -> None:
    cluster = make_cluster()
    dsn = cluster.start()

    assert re.fullmatch(r"postgresql://postgres@127\.0\.0\.1:\d+/dashboards", dsn)
    assert dsn == cluster.dsn
    assert cluster.port == int(dsn.rsplit(":", 1)[1].split("/")[0])
    assert cluster.postmaster_pid is not None
    assert (cluster.data_dir / f".s.PGSQL.{cluster.port}").exists(), "socket not in data dir"
    assert _query(dsn, "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'") == [
        (TIMESCALEDB_VERSION,)
    ]
    assert _query(dsn, "SHOW fsync") == [("on",)]
    assert _query(dsn, "SHOW max_connections") == [("200",)]

    _query(dsn, "CREATE TABLE metrics (ts timestamptz NOT NULL, value double precision)")
    assert _query(dsn, "SELECT * FROM create_hypertable('metrics', 'ts')") == [
        (1, "public", "metrics", True)
    ]
    _query(
        dsn,
        "INSERT INTO metrics SELECT t, 1.0 FROM generate_series("
        "'2025-01-01'::timestamptz, '2025-01-20', interval '1 hour') AS t",
    )
    assert _query(dsn, "SELECT count(*) > 1 FROM show_chunks('metrics')") == [(True,)]
    buckets = _query(dsn, "SELECT count(DISTINCT time_bucket('1 day', ts)) FROM metrics")
    assert buckets == [(20,)]


def test_stop_removes_data_dir_and_frees_port(make_cluster: MakeCluster) -> None:
    cluster = make_cluster("first")
    cluster.start()
    port, pid = cluster.port, cluster.postmaster_pid
    assert pid is not None

    cluster.stop()

    assert not cluster.data_dir.exists()
    assert cluster.postmaster_pid is None
    assert _pid_gone(pid)
    assert _processes_in(cluster.data_dir) == []
    assert _port_is_free(port)
    # The strongest check that the port is free: a new cluster can take exactly it.
    again = make_cluster("second", port=port, fsync=False)
    assert again.start().endswith(f":{port}/dashboards")
    assert _query(again.dsn, "SHOW fsync") == [("off",)]


def test_second_stop_is_harmless(make_cluster: MakeCluster) -> None:
    never_started = make_cluster("never")
    never_started.stop()
    cluster = make_cluster()
    cluster.start()
    cluster.stop()
    cluster.stop()
    assert not cluster.data_dir.exists()


def test_cleanup_stale_stops_cluster_whose_owner_vanished(base_dir: Path) -> None:
    # The owner "dies" without stop(): the postmaster still runs, its pid file names it.
    cluster = PgCluster(base_dir)
    cluster.start()
    pid = cluster.postmaster_pid
    assert pid is not None

    done = cleanup_stale(base_dir)

    assert not cluster.data_dir.exists()
    assert _pid_gone(pid)
    assert _processes_in(cluster.data_dir) == []
    assert _port_is_free(cluster.port)
    assert any(f"postmaster {pid}" in line for line in done), done
    assert any("removed" in line for line in done), done
    assert cleanup_stale(base_dir) == []
    # The next run starts afresh in the same place.
    nxt = PgCluster(base_dir)
    try:
        nxt.start()
    finally:
        nxt.stop()


def test_cleanup_stale_removes_cluster_whose_postmaster_was_killed(base_dir: Path) -> None:
    # kill -9 of the postmaster leaves a pid file that names a dead (or dying) process.
    cluster = PgCluster(base_dir)
    cluster.start()
    pid = cluster.postmaster_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    done = cleanup_stale(base_dir)

    assert not cluster.data_dir.exists()
    assert _pid_gone(pid)
    assert _processes_in(cluster.data_dir) == [], "children of the killed postmaster linger"
    assert any(str(cluster.data_dir) in line for line in done), done


def test_start_refuses_leftover_cluster(base_dir: Path) -> None:
    leftover = base_dir / "pgdata"
    leftover.mkdir()
    (leftover / "PG_VERSION").write_text("15\n")
    with pytest.raises(RuntimeError, match="cleanup_stale"):
        PgCluster(base_dir).start()
    assert (leftover / "PG_VERSION").exists(), "start() must not delete what it did not make"
    assert cleanup_stale(base_dir) == [f"removed {leftover}"]
