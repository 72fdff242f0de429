"""nethosts: namespaces standing in for machines, with addresses and clocks of their own.

Needs root; skipped, saying why, where namespaces cannot be made. The tests use a set of
their own (ut-1, ut-2 on 10.231.200.0/24), so they run beside a sharded acceptance run.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

import nethosts

WHY = nethosts.available()
HOSTS = nethosts.HostSet("ut", 200)
pytestmark = pytest.mark.skipif(WHY is not None, reason=f"no namespaces here: {WHY}")


@pytest.fixture
def two_hosts() -> Iterator[list[str]]:
    made = HOSTS.up(2)
    try:
        yield made
    finally:
        HOSTS.down()


def run_in(name: str, code: str) -> str:
    done = subprocess.run(nethosts.command_in(name, [sys.executable, "-c", code]),
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_each_host_reaches_a_server_on_the_bridge_from_an_address_of_its_own(
        two_hosts: list[str]) -> None:
    peers: list[str] = []
    with socket.create_server((HOSTS.bridge_address, 0)) as server:
        port = server.getsockname()[1]

        def accept() -> None:
            for _ in two_hosts:
                conn, (peer, _) = server.accept()
                peers.append(peer)
                conn.close()

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        for name in two_hosts:
            run_in(name, f"import socket; socket.create_connection("
                         f"('{HOSTS.bridge_address}', {port}), timeout=5).close()")
        thread.join(10)
    assert sorted(peers) == sorted(HOSTS.host_address(n) for n in two_hosts)


def test_a_host_does_not_see_this_machines_loopback(two_hosts: list[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        answer = run_in(two_hosts[0], f"""
import socket
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=2)
    print('reached')
except OSError:
    print('refused')
""")
    assert answer == "refused"


def test_each_host_has_a_monotonic_clock_of_its_own(two_hosts: list[str]) -> None:
    here = time.monotonic()
    clocks = [float(run_in(name, "import time; print(time.monotonic())")) for name in two_hosts]
    assert clocks[0] - here > nethosts.CLOCK_STEP_S / 2
    assert clocks[1] - clocks[0] > nethosts.CLOCK_STEP_S / 2


def test_down_removes_every_namespace_and_the_bridge(two_hosts: list[str]) -> None:
    others = nethosts.HostSet("uo", 201)
    others.up(1)
    try:
        assert sorted(HOSTS.down()) == sorted(two_hosts)
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                check=True).stdout.splitlines()
        assert not any(line.startswith("ut-") for line in listed)
        assert any(line.startswith("uo-1") for line in listed), "another set was removed"
    finally:
        others.down()
    bridge = subprocess.run(["ip", "link", "show", HOSTS.bridge],
                            capture_output=True, check=False)
    assert bridge.returncode != 0


def test_a_count_out_of_bounds_is_refused() -> None:
    with pytest.raises(ValueError, match="between 1 and 50"):
        HOSTS.up(0)


def test_a_set_name_that_could_reach_other_links_is_refused() -> None:
    with pytest.raises(ValueError, match="2-6 lower-case letters"):
        nethosts.HostSet("e th")
