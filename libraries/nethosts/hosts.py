"""Creating, entering and removing the namespaces (see the package's docstring).

A set of hosts has a name (``nh``: namespaces nh-1, nh-2, …, bridge nh-br) and a subnet of
its own (10.231.0.0/24), so that two users of this module (a sharded acceptance run and a
unit test) never touch each other's hosts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

MAX_HOSTS = 50
CLOCK_STEP_S = 1000   # host i's monotonic clock runs i × this many seconds ahead


class HostsUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class HostSet:
    """``name``: 2-6 lower-case letters; ``subnet``: the third octet of 10.231.x.0/24…
    (0-255: 10.231.0.0/24, 10.231.1.0/24, …)."""

    name: str = "nh"
    subnet: int = 0

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z]{2,6}", self.name):
            raise ValueError(f"a host set's name is 2-6 lower-case letters, not {self.name!r}")
        if not 0 <= self.subnet <= 255:
            raise ValueError(f"subnet 0-255, not {self.subnet}")

    @property
    def bridge(self) -> str:
        return f"{self.name}-br"

    @property
    def bridge_address(self) -> str:
        """Where the hosts reach this machine's services."""
        return f"10.231.{self.subnet}.1"

    def names(self, count: int) -> list[str]:
        return [f"{self.name}-{i}" for i in range(1, count + 1)]

    def host_address(self, host: str) -> str:
        """The namespace's address on the bridge (nh-3: 10.231.0.13)."""
        return f"10.231.{self.subnet}.{10 + _number(host)}"

    def up(self, count: int) -> list[str]:
        """Makes ``count`` namespaces on the bridge (first removing what a run that ended
        without cleaning up left of this set)."""
        if not 1 <= count <= MAX_HOSTS:
            raise ValueError(f"between 1 and {MAX_HOSTS} hosts, not {count}")
        why = available()
        if why:
            raise HostsUnavailable(why)
        self.down()
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.bridge_address}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        made = self.names(count)
        for host in made:
            outside, inside = f"{host}-h", f"{host}-n"
            _ip("netns", "add", host)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", host)
            _ip("link", "set", outside, "master", self.bridge)
            _ip("link", "set", outside, "up")
            _ip("-n", host, "addr", "add", f"{self.host_address(host)}/24", "dev", inside)
            _ip("-n", host, "link", "set", inside, "up")
            _ip("-n", host, "link", "set", "lo", "up")
        return made

    def down(self) -> list[str]:
        """Removes every namespace of this set and its bridge; returns the names removed."""
        listed = _ip("netns", "list", check=False).stdout.splitlines()
        ours = [line.split()[0] for line in listed
                if re.fullmatch(rf"{self.name}-\d+", line.split()[0] if line else "")]
        for host in ours:
            # The pair first, by hand: deleting a namespace removes its veth asynchronously,
            # and an up() right after would find the old name still taken.
            _ip("link", "del", f"{host}-h", check=False)
            _ip("netns", "del", host, check=False)
        _ip("link", "del", self.bridge, check=False)
        return ours


def command_in(host: str, command: list[str]) -> list[str]:
    """``command`` as run inside ``host``: its network namespace, and a time namespace whose
    monotonic clock is offset by the host's number × CLOCK_STEP_S."""
    offset = _number(host) * CLOCK_STEP_S
    return ["ip", "netns", "exec", host, "unshare", "--time", "--monotonic", str(offset),
            "--boottime", str(offset), *command]


def available() -> str | None:
    """None when namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN)"
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = f"nhprobe-{os.getpid()}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode:
        return f"ip netns add failed: {made.stderr.strip()}"
    try:
        clock = subprocess.run(["ip", "netns", "exec", probe, "unshare", "--time",
                                "--monotonic", "1", "true"], capture_output=True, text=True,
                               check=False)
        if clock.returncode:
            return f"time namespaces are not available: {clock.stderr.strip()}"
    finally:
        _ip("netns", "del", probe, check=False)
    return None


def _number(host: str) -> int:
    return int(host.rsplit("-", 1)[1])


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and done.returncode:
        raise HostsUnavailable(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done
