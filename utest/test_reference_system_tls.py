"""The reference system with TLS (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE) over real
sockets and a real TimescaleDB, its configuration errors, the embedded stack's processes
with TLS (URLs, readiness), and ``python -m EmbeddedStack.testca``."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from tls_support import (  # noqa: F401  (fixtures)
    TlsFiles,
    other_ca_fixture,
    tls_files_fixture,
)

from conftest import RunningSystem
from dashboards.config import SETTINGS, Config, ConfigError
from EmbeddedStack import standalone
from EmbeddedStack.pgcluster import PgCluster, free_loopback_port
from EmbeddedStack.state import StackState
from LoadGenerator.slowconsumer import run_slow_consumer
from PrometheusLibrary import PrometheusLibrary
from SystemProbe import SystemProbe
from WebSocketLibrary import WebSocketLibrary

DASHBOARDS = ("pulse", "seams", "voices")


def tls_env(files: TlsFiles, client_ca: bool = False) -> dict[str, str]:
    env = {"TLS_CERT_FILE": files.server_cert, "TLS_KEY_FILE": files.server_key}
    if client_ca:
        env["TLS_CLIENT_CA_FILE"] = files.ca_bundle
    return env


def get_json(url: str, context: ssl.SSLContext) -> tuple[int, dict[str, object]]:
    with urllib.request.urlopen(url, timeout=5, context=context) as answer:
        return answer.status, json.loads(answer.read())


# -- configuration ----------------------------------------------------------------------------

def test_the_tls_settings_are_listed_and_off_by_default() -> None:
    names = [setting.env for setting in SETTINGS]
    assert {"TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CLIENT_CA_FILE"} <= set(names)
    config = Config.from_env({"DATABASE_URL": "postgresql://x@127.0.0.1/db"})
    assert not config.tls and config.ssl_context() is None


def _config_error(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as raised:
        Config.from_env({"DATABASE_URL": "postgresql://x@127.0.0.1/db", **env}).ssl_context()
    return str(raised.value)


def test_files_that_do_not_fit_are_a_configuration_error_naming_the_setting(
        tls_files: TlsFiles, other_ca: TlsFiles, tmp_path: Path) -> None:
    cert, key = tls_files.server_cert, tls_files.server_key
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    assert _config_error({"TLS_CERT_FILE": cert}) == (
        "TLS_CERT_FILE is set but TLS_KEY_FILE is not: set both (TLS) or neither (plain ws://)")
    assert _config_error({"TLS_KEY_FILE": key}).startswith("TLS_KEY_FILE is set but "
                                                           "TLS_CERT_FILE is not")
    assert _config_error({"TLS_CLIENT_CA_FILE": tls_files.ca_bundle}).startswith(
        "TLS_CLIENT_CA_FILE needs TLS")
    assert _config_error({"TLS_CERT_FILE": "/nowhere/cert.pem", "TLS_KEY_FILE": key}) == (
        "TLS_CERT_FILE: cannot read /nowhere/cert.pem: No such file or directory")
    assert _config_error({"TLS_CERT_FILE": cert, "TLS_KEY_FILE": "/nowhere/k"}).startswith(
        "TLS_KEY_FILE: cannot read /nowhere/k")
    assert _config_error({"TLS_CERT_FILE": cert, "TLS_KEY_FILE": other_ca.server_key}) == (
        f"TLS_KEY_FILE {other_ca.server_key} is not the key of the certificate in "
        f"TLS_CERT_FILE {cert}")
    assert _config_error({"TLS_CERT_FILE": str(garbage), "TLS_KEY_FILE": key}).startswith(
        f"TLS_CERT_FILE {garbage} holds no PEM certificate")
    assert _config_error({"TLS_CERT_FILE": cert, "TLS_KEY_FILE": str(garbage)}).startswith(
        f"TLS_KEY_FILE {garbage} is not an unencrypted PEM private key")
    assert _config_error({**tls_env(tls_files), "TLS_CLIENT_CA_FILE": str(garbage)}).startswith(
        f"TLS_CLIENT_CA_FILE {garbage} holds no PEM CA certificate")


def test_mismatched_files_exit_2_at_start_naming_the_setting(tls_files: TlsFiles,
                                                             other_ca: TlsFiles) -> None:
    run = subprocess.run([sys.executable, "-m", "dashboards"], capture_output=True, text=True,
                         check=False, timeout=60,
                         env={"DATABASE_URL": "postgresql://x@127.0.0.1/db", "PATH": "",
                              "TLS_CERT_FILE": tls_files.server_cert,
                              "TLS_KEY_FILE": other_ca.server_key})
    assert run.returncode == 2
    assert "configuration error: TLS_KEY_FILE" in run.stderr


# -- serving over TLS -------------------------------------------------------------------------

def test_all_three_ports_serve_wss_and_https(make_system: Callable[..., RunningSystem],
                                             tls_files: TlsFiles) -> None:
    system = make_system(tls_env(tls_files))
    context = tls_files.client_context()
    # The project's asyncio client: websockets' threaded sync client (its reader thread
    # starts before the upgrade request is written) stalled now and then in its opening
    # handshake over TLS on a busy machine.
    library = WebSocketLibrary(timeout=timedelta(seconds=10))
    try:
        for dashboard in DASHBOARDS:
            port = system.app.ports[dashboard]
            status, health = get_json(f"https://127.0.0.1:{port}/healthz", context)
            assert (status, health) == (200, {"status": "ok", "dashboard": dashboard,
                                              "database": "ok"})
            library.run_keyword("connect", [f"wss://127.0.0.1:{port}"],
                                {"ca_bundle": tls_files.ca_bundle, "alias": dashboard})
            welcome = library.run_keyword("wait_for_message", [{"type": "welcome"}],
                                          {"alias": dashboard})
            assert welcome["dashboard"] == dashboard
    finally:
        library.run_keyword("close_all_connections", [], {})
    scrape = PrometheusLibrary().scrape_metrics(
        f"https://127.0.0.1:{system.app.ports['pulse']}/metrics", ca_bundle=tls_files.ca_bundle)
    assert "dashboard_connections_active" in scrape.names()
    with pytest.raises(OSError):  # plain http is not served any more
        urllib.request.urlopen(f"http://127.0.0.1:{system.app.ports['pulse']}/healthz",
                               timeout=5)


def test_over_tls_a_client_that_stops_reading_is_closed_with_1008(
        make_system: Callable[..., RunningSystem], tls_files: TlsFiles) -> None:
    # Over TLS the socket transport under the TLS layer holds up to its 64 KiB high-water
    # mark beyond the bound (4 × 16 KiB here), and the network about as much again.
    system = make_system({**tls_env(tls_files), "MAX_MESSAGE_BYTES": "16384",
                          "RATE_LIMIT_PER_S": "10000", "RATE_LIMIT_BURST": "10000"})
    result = run_slow_consumer(f"wss://127.0.0.1:{system.app.ports['pulse']}",
                               '{"type":"ping","id":"{id}"}', rate=2000,
                               unread_bytes=400_000, max_seconds=15, id_digits=64,
                               context=tls_files.client_context())
    assert (result["ended"], result["close_code"]) == ("close frame", 1008)
    assert result["replies_read"] < result["sent"]


def test_with_a_client_ca_a_client_without_certificate_is_refused(
        make_system: Callable[..., RunningSystem], tls_files: TlsFiles) -> None:
    system = make_system(tls_env(tls_files, client_ca=True))
    port = system.app.ports["seams"]
    library = WebSocketLibrary(timeout=timedelta(seconds=10))
    try:
        with pytest.raises(AssertionError, match="requires a client certificate"):
            library.run_keyword("connect", [f"wss://127.0.0.1:{port}"],
                                {"ca_bundle": tls_files.ca_bundle})
        library.run_keyword("connect", [f"wss://127.0.0.1:{port}"], {
            "ca_bundle": tls_files.ca_bundle, "client_cert": tls_files.client_cert,
            "client_key": tls_files.client_key})
        welcome = library.run_keyword("wait_for_message", [{"type": "welcome"}], {})
        assert welcome["dashboard"] == "seams"
    finally:
        library.run_keyword("close_all_connections", [], {})
    url = f"https://127.0.0.1:{port}/metrics"
    with pytest.raises(AssertionError, match="most likely requires a client certificate"):
        PrometheusLibrary().scrape_metrics(url, ca_bundle=tls_files.ca_bundle)
    assert PrometheusLibrary().scrape_metrics(
        url, ca_bundle=tls_files.ca_bundle, client_cert=tls_files.client_cert,
        client_key=tls_files.client_key).samples
    status, _ = get_json(f"https://127.0.0.1:{port}/healthz",
                         tls_files.client_context(with_certificate=True))
    assert status == 200
    urls = {d: f"wss://127.0.0.1:{p}" for d, p in system.app.ports.items()}
    with pytest.raises(AssertionError) as unreachable:
        SystemProbe().dashboards_should_be_reachable(urls, timedelta(0),
                                                     ca_bundle=tls_files.ca_bundle)
    assert "requires a client certificate and none was given" in str(unreachable.value)
    assert "CLIENT_CERT and CLIENT_KEY" in str(unreachable.value)
    SystemProbe().dashboards_should_be_reachable(urls, ca_bundle=tls_files.ca_bundle,
                                                 client_cert=tls_files.client_cert,
                                                 client_key=tls_files.client_key)


# -- the embedded stack's own processes -------------------------------------------------------

def test_a_standalone_system_with_client_certificates_is_ready_and_publishes_wss(
        cluster: PgCluster, tls_files: TlsFiles, tmp_path: Path) -> None:
    database = cluster.create_database(f"t_tls_{os.getpid()}_{time.monotonic_ns()}")
    running = standalone.start(database, tls_env(tls_files, client_ca=True), tmp_path)
    try:
        described = running.describe()
        ports = running.ports
        assert described["urls"] == {d: f"wss://127.0.0.1:{p}" for d, p in ports.items()}
        assert described["health_urls"] == {d: f"https://127.0.0.1:{p}/healthz"
                                            for d, p in ports.items()}
        status, health = get_json(f"https://127.0.0.1:{ports['voices']}/healthz",
                                  tls_files.client_context(with_certificate=True))
        assert (status, health["database"]) == (200, "ok")
    finally:
        assert standalone.stop(running, 15) == 0


def test_readiness_is_false_until_a_tls_server_answers(tls_files: TlsFiles) -> None:
    url = f"https://127.0.0.1:{free_loopback_port()}/healthz"
    assert not standalone.is_ready(url, tls_env(tls_files, client_ca=True), timeout=1)
    assert not standalone.is_ready(url, tls_env(tls_files), timeout=1)


@pytest.fixture(name="state_dir")
def state_dir_fixture() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="utest-tls-stack-"))
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


def test_the_supervisor_publishes_wss_urls_once_tls_health_answers(
        cluster: PgCluster, tls_files: TlsFiles, state_dir: Path) -> None:
    database = cluster.create_database(f"t_sup_{os.getpid()}_{time.monotonic_ns()}")
    ports = [free_loopback_port() for _ in range(3)]
    settings = [f"--setting={name}={value}" for name, value in tls_env(tls_files).items()]
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "EmbeddedStack.supervisor", "--state-dir", str(state_dir),
         "--owner-pid", str(os.getpid()), "--log-dir", str(state_dir / "logs"),
         "--ports", ",".join(map(str, ports)), "--database-url", database, *settings],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while (state := StackState.read(state_dir)) is None or state.status != "ready":
            assert supervisor.poll() is None, "the supervisor exited"
            assert time.monotonic() < deadline, "the stack did not get ready"
            time.sleep(0.05)  # polling interval of a condition wait, not synchronisation
        assert state.urls == {d: f"wss://127.0.0.1:{p}"
                              for d, p in zip(DASHBOARDS, ports, strict=True)}
        assert state.health_urls["pulse"] == f"https://127.0.0.1:{ports[0]}/healthz"
        status, _ = get_json(state.health_urls["pulse"], tls_files.client_context())
        assert status == 200
    finally:
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(60) == 0


# -- the test CA ------------------------------------------------------------------------------

def test_testca_writes_a_ca_server_and_client_certificates(tmp_path: Path) -> None:
    target = tmp_path / "ca"
    run = subprocess.run([sys.executable, "-m", "EmbeddedStack.testca", str(target)],
                         capture_output=True, text=True, check=True, timeout=60)
    paths = json.loads(run.stdout)
    assert paths == {"ca_bundle": str(target / "ca.pem"),
                     "server_cert": str(target / "server.pem"),
                     "server_key": str(target / "server.key"),
                     "client_cert": str(target / "client.pem"),
                     "client_key": str(target / "client.key")}
    for key in ("server_key", "client_key"):
        assert Path(paths[key]).stat().st_mode & 0o777 == 0o600
    ca = x509.load_pem_x509_certificate(Path(paths["ca_bundle"]).read_bytes())
    server = x509.load_pem_x509_certificate(Path(paths["server_cert"]).read_bytes())
    client = x509.load_pem_x509_certificate(Path(paths["client_cert"]).read_bytes())
    assert server.issuer == client.issuer == ca.subject
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1"}
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    # A key and its certificate belong together, and a client context takes them.
    ssl.create_default_context(cafile=paths["ca_bundle"]).load_cert_chain(
        paths["client_cert"], paths["client_key"])
