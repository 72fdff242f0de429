"""Throwaway PostgreSQL 15 clusters with TimescaleDB preloaded, for tests.

Each test run gets its own cluster on a free loopback port with its sockets in its own
data directory, so runs never collide with each other or with the system's cluster.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import math
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import psycopg2
from psycopg2 import sql

__all__ = [
    "PG_MAJOR",
    "TIMESCALEDB_VERSION",
    "PgCluster",
    "cleanup_stale",
    "find_pg_bin",
    "free_loopback_port",
    "timescaledb_installed",
]

PG_MAJOR = 15
TIMESCALEDB_VERSION = "2.19.3"
SERVER_USER = "postgres"
LOG_NAME = "server.log"
CONF_NAME = "pgcluster.conf"
LISTEN_FILE = "also-listen"  # the address besides loopback, for attach()
# Linux limits a Unix socket path (sun_path) to 107 bytes; the socket lives in the data dir.
_SOCKET_PATH_MAX = 107
_PORT_ATTEMPTS = 5
_BIND_ERRORS = ("could not bind", "Address already in use", "could not create any TCP/IP")


def find_pg_bin() -> Path:
    """Directory holding PostgreSQL 15's initdb/pg_ctl/postgres (Debian keeps them off PATH)."""
    candidates = [Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin")]
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
            candidates.append(Path(out))
    for cand in candidates:
        if all((cand / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return cand
    raise RuntimeError(
        f"PostgreSQL {PG_MAJOR} server binaries (initdb, pg_ctl, postgres) not found in "
        f"{', '.join(map(str, candidates))}; run scripts/setup"
    )


def timescaledb_installed(version: str = TIMESCALEDB_VERSION) -> bool:
    """Whether PostgreSQL's library dir has TimescaleDB ``version`` (tests skip without it)."""
    try:
        pg_bin = find_pg_bin()
    except RuntimeError:
        return False
    libdir = pg_bin.parent / "lib"
    pg_config = pg_bin / "pg_config"
    if pg_config.is_file():
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            libdir = Path(
                subprocess.run(
                    [str(pg_config), "--pkglibdir"], capture_output=True, text=True, check=True
                ).stdout.strip()
            )
    return (libdir / f"timescaledb-{version}.so").is_file()


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the caller must cope with losing a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_root() -> bool:
    return os.geteuid() == 0


def _server_cmd(cmd: list[str]) -> list[str]:
    """Run server tools as ``postgres`` when we are root: PostgreSQL refuses root."""
    return ["runuser", "-u", SERVER_USER, "--", *cmd] if _as_root() else cmd


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    # cwd "/" so that ``postgres`` never trips over an unreadable cwd such as /root.
    return subprocess.run(
        _server_cmd(cmd),
        cwd="/",
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (killed, not yet reaped) counts as dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    # Field 3 is the state; field 2 (comm) may hold spaces, so split after its ')'.
    return stat.rpartition(")")[2].split()[0] != "Z"


def _wait_dead(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _read_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text().splitlines()[0]
        return int(first.strip())
    except (OSError, IndexError, ValueError):
        return None


def _is_postmaster_of(pid: int, data_dir: Path) -> bool:
    """Guard against a recycled pid: a postmaster's cwd is its data dir."""
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")) == data_dir.resolve()
    except OSError:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return False
        return b"postgres" in cmdline and str(data_dir).encode() in cmdline


def _processes_in(data_dir: Path) -> list[int]:
    """Pids whose cwd is ``data_dir``: the postmaster and its children (backends, workers)."""
    target = data_dir.resolve()
    pids: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if Path(os.readlink(entry / "cwd")) == target:
                pids.append(int(entry.name))
    return pids


def _kill_orphans(data_dir: Path) -> list[int]:
    """SIGKILL children that outlived a killed postmaster; they would still write files."""
    pids = [pid for pid in _processes_in(data_dir) if _pid_alive(pid)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for pid in pids:
        _wait_dead(pid, 5)
    return pids


def _remove_tree(path: Path) -> None:
    """rmtree that outlasts a straggler creating files meanwhile; raises if it can't."""
    for _ in range(5):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        _kill_orphans(path)
    raise RuntimeError(f"could not remove {path}")


def _log_tail(data_dir: Path, lines: int = 30) -> str:
    try:
        text = (data_dir / LOG_NAME).read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"


def _halt(pg_bin: Path, data_dir: Path, mode: str) -> list[str]:
    """Stop the postmaster in ``data_dir``: pg_ctl ``mode``, then immediate, then SIGKILL.

    Waits on the pid rather than on pg_ctl -w, which would wait out its whole timeout for
    the pid file of a postmaster that was killed and can no longer remove it.
    """
    pid = _read_pid(data_dir)
    if pid is None or not _pid_alive(pid) or not _is_postmaster_of(pid, data_dir):
        return []
    steps = [(mode, 30.0)] + ([("immediate", 10.0)] if mode != "immediate" else [])
    for m, grace in steps:
        cmd = [str(pg_bin / "pg_ctl"), "-D", str(data_dir), "-m", m, "-W", "stop"]
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            _run(cmd, timeout=15)
        if _wait_dead(pid, grace):
            return [f"stopped postmaster {pid} ({m})"]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_dead(pid, 5)
    return [f"killed postmaster {pid} (SIGKILL)"]


def cleanup_stale(base_dir: Path) -> list[str]:
    """Remove a cluster an interrupted run (Ctrl-C, kill -9) left in ``base_dir``.

    Stops its postmaster (immediate) if it still runs, then deletes the data dir, so the
    next run can start afresh. Returns what it did; empty when there was nothing.
    """
    data_dir = Path(base_dir) / "pgdata"
    if not data_dir.exists():
        return []
    done: list[str] = []
    pid = _read_pid(data_dir)
    if pid is not None:
        try:
            pg_bin = find_pg_bin()
        except RuntimeError:
            pg_bin = Path("/nonexistent")
        halted = _halt(pg_bin, data_dir, "immediate")
        done.extend(f"{what} of {data_dir}" for what in halted)
        if not halted:
            done.append(f"postmaster {pid} of {data_dir} was already gone")
    orphans = _kill_orphans(data_dir)
    if orphans:
        done.append(f"killed {len(orphans)} orphaned server processes of {data_dir}")
    _remove_tree(data_dir)
    done.append(f"removed {data_dir}")
    return done


class PgCluster:
    """A throwaway PostgreSQL cluster with TimescaleDB preloaded, on a free loopback port."""

    def __init__(
        self,
        base_dir: Path,
        *,
        port: int = 0,
        database: str = "dashboards",
        fsync: bool = True,
        also_listen: str = "",
    ) -> None:
        self._base_dir = Path(base_dir).absolute()
        # An address besides loopback (a bridge to network namespaces standing in for other
        # machines); clients on its subnet are trusted, as on loopback. Kept in the base dir,
        # so that a cluster attached to by another process keeps listening there.
        listen_file = self._base_dir / LISTEN_FILE
        if not also_listen and listen_file.exists():
            also_listen = listen_file.read_text().strip()
        self._also_listen = also_listen
        self._data_dir = self._base_dir / "pgdata"
        self._fixed_port = port
        self._port = port
        self._database = database
        self._fsync = fsync
        self._pg_bin: Path | None = None
        self._started = False

    # --- properties -------------------------------------------------------------------------
    @property
    def dsn(self) -> str:
        """libpq URI of the test database; valid once started."""
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self._port}/{self._database}"

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def port(self) -> int:
        """The TCP port; 0 until ``start`` picks one when constructed with port=0."""
        return self._port

    @property
    def postmaster_pid(self) -> int | None:
        """The running postmaster's pid, from its pid file; None when not running."""
        pid = _read_pid(self._data_dir)
        return pid if pid is not None and _pid_alive(pid) else None

    @classmethod
    def attach(cls, base_dir: Path, port: int, database: str = "dashboards") -> PgCluster:
        """The cluster that another process created in ``base_dir`` and ran on ``port``,
        for ``pause``, ``resume`` and ``stop`` from this process."""
        cluster = cls(base_dir, port=port, database=database)
        cluster._pg_bin = find_pg_bin()
        cluster._started = True
        return cluster

    def __enter__(self) -> PgCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"PgCluster({str(self._base_dir)!r}, port={self._port}, started={self._started})"

    # --- life cycle -------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> str:
        """initdb, start the server, create the database with TimescaleDB; return the DSN."""
        if self._started:
            return self.dsn
        self._pg_bin = find_pg_bin()
        self._prepare_dirs()
        if self._also_listen:
            (self._base_dir / LISTEN_FILE).write_text(self._also_listen + "\n")
        try:
            self._initdb(timeout)
            self._start_server(timeout)
            self._create_database(timeout)
        except BaseException:
            # Never leave a half-started server behind, even on KeyboardInterrupt.
            with contextlib.suppress(Exception):
                self._shutdown()
            raise
        self._started = True
        return self.dsn

    def pause(self) -> None:
        """Stop the server but keep its data: a database outage, for tests."""
        self._halt("fast")

    def resume(self, timeout: float = 30.0) -> None:
        """Start a paused server again on the same port."""
        fixed, self._fixed_port = self._fixed_port, self._port
        try:
            self._start_server(timeout)
        finally:
            self._fixed_port = fixed

    def create_database(self, name: str) -> str:
        """Another database with TimescaleDB in this cluster; returns its DSN."""
        own, self._database = self._database, name
        try:
            self._create_database(30.0)
            return self.dsn
        finally:
            self._database = own

    def stop(self) -> None:
        """Fast shutdown, then delete the data dir; safe to call twice or before start."""
        self._started = False
        self._shutdown()

    # --- steps ------------------------------------------------------------------------------
    def _prepare_dirs(self) -> None:
        sock = self._data_dir / ".s.PGSQL.65535"
        if len(str(sock)) > _SOCKET_PATH_MAX:
            raise RuntimeError(
                f"{self._data_dir} is too long for a Unix socket path ({len(str(sock))} > "
                f"{_SOCKET_PATH_MAX} bytes): use a shorter base_dir"
            )
        if self._data_dir.exists() and any(self._data_dir.iterdir()):
            raise RuntimeError(
                f"{self._data_dir} already holds a cluster; call cleanup_stale({self._base_dir})"
            )
        self._base_dir.mkdir(parents=True, exist_ok=True)
        self._data_dir.mkdir(mode=0o700, exist_ok=True)
        if _as_root():
            try:
                user = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise RuntimeError(
                    f"running as root but there is no {SERVER_USER!r} user to run PostgreSQL"
                ) from None
            os.chown(self._data_dir, user.pw_uid, user.pw_gid)
            # The base dir is ours: let postgres pass through it (search only, no listing).
            mode = self._base_dir.stat().st_mode
            self._base_dir.chmod(mode | 0o001)
            self._check_reachable(user.pw_uid, user.pw_gid)

    def _check_reachable(self, uid: int, gid: int) -> None:
        """Fail clearly when a parent dir (e.g. a 0700 /tmp/pytest-of-root) shuts postgres out."""
        for parent in self._base_dir.parents:
            st = parent.stat()
            if st.st_uid == uid:
                ok = bool(st.st_mode & 0o100)
            elif st.st_gid == gid:
                ok = bool(st.st_mode & 0o010)
            else:
                ok = bool(st.st_mode & 0o001)
            if not ok:
                raise RuntimeError(
                    f"user {SERVER_USER!r}, which runs the server, cannot reach "
                    f"{self._data_dir}: {parent} has mode {st.st_mode & 0o777:o}; "
                    f"chmod o+x {parent} or choose a base_dir it can reach"
                )

    def _initdb(self, timeout: float) -> None:
        assert self._pg_bin is not None
        initdb = [str(self._pg_bin / "initdb"), "-D", str(self._data_dir), "-U", SERVER_USER]
        initdb += ["-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]
        res = _run(initdb, timeout=max(timeout, 60.0))
        if res.returncode != 0:
            raise RuntimeError(f"initdb failed ({res.returncode}):\n{res.stdout}{res.stderr}")
        conf = self._data_dir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write(
                f"\n# Settings of this throwaway cluster (EmbeddedStack.pgcluster)\n"
                f"include_if_exists = '{CONF_NAME}'\n"
            )
        if self._also_listen:
            with (self._data_dir / "pg_hba.conf").open("a") as fh:
                fh.write("host all all samenet trust\n")

    def _write_config(self) -> None:
        on_off = "on" if self._fsync else "off"
        settings = {
            "listen_addresses": f"'{','.join(filter(None, ['127.0.0.1', self._also_listen]))}'",
            "port": str(self._port),
            "unix_socket_directories": f"'{self._data_dir}'",
            "shared_preload_libraries": "'timescaledb'",
            "timescaledb.telemetry_level": "off",
            "fsync": on_off,
            "synchronous_commit": on_off,
            "max_connections": "200",
            "logging_collector": "off",
            "log_destination": "'stderr'",
        }
        text = "".join(f"{key} = {value}\n" for key, value in settings.items())
        path = self._data_dir / CONF_NAME
        path.write_text(text)
        if _as_root():
            user = pwd.getpwnam(SERVER_USER)
            os.chown(path, user.pw_uid, user.pw_gid)

    def _start_server(self, timeout: float) -> None:
        assert self._pg_bin is not None
        log = self._data_dir / LOG_NAME
        attempts = 1 if self._fixed_port else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            self._port = self._fixed_port or free_loopback_port()
            self._write_config()
            pg_ctl = [str(self._pg_bin / "pg_ctl"), "-D", str(self._data_dir), "-l", str(log)]
            pg_ctl += ["-w", "-t", str(max(1, math.ceil(timeout))), "start"]
            res = _run(pg_ctl, timeout=timeout + 10)
            if res.returncode == 0:
                return
            tail = _log_tail(self._data_dir)
            lost_race = any(err in tail for err in _BIND_ERRORS)
            # A server that came up but missed the deadline must not linger.
            self._halt("immediate")
            if not (lost_race and attempt < attempts):
                raise RuntimeError(
                    f"PostgreSQL did not start on port {self._port} "
                    f"(pg_ctl exit {res.returncode}: {res.stderr.strip() or res.stdout.strip()})"
                    f"\n--- tail of {log} ---\n{tail}"
                )
            # Lost the port between choosing and binding it: try another one.
            with contextlib.suppress(OSError):
                log.unlink()

    def _create_database(self, timeout: float) -> None:
        connect_timeout = max(1, math.ceil(timeout))
        try:
            conn = psycopg2.connect(
                host="127.0.0.1",
                port=self._port,
                user=SERVER_USER,
                dbname="postgres",
                connect_timeout=connect_timeout,
            )
            try:
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self._database,))
                    if cur.fetchone() is None:
                        cur.execute(
                            sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self._database))
                        )
            finally:
                conn.close()
            conn = psycopg2.connect(
                host="127.0.0.1",
                port=self._port,
                user=SERVER_USER,
                dbname=self._database,
                connect_timeout=connect_timeout,
            )
            try:
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            finally:
                conn.close()
        except psycopg2.Error as exc:
            raise RuntimeError(
                f"could not create database {self._database!r} with timescaledb: {exc}"
                f"\n--- tail of {self._data_dir / LOG_NAME} ---\n{_log_tail(self._data_dir)}"
            ) from exc

    def _halt(self, mode: str) -> list[str]:
        pg_bin = self._pg_bin or find_pg_bin()
        return _halt(pg_bin, self._data_dir, mode)

    def _shutdown(self) -> None:
        if not self._data_dir.exists():
            return
        try:
            self._halt("fast")
        finally:
            _kill_orphans(self._data_dir)
            _remove_tree(self._data_dir)
