"""Stand-in machines on one host: network namespaces joined to the host by veth pairs.

Each "host" is a network namespace of its own (``ip netns``) with an address on a private
bridge, so that its processes have their own addresses, ports and loopback, and reach the
services on the real host only through the bridge address, as separate machines reach a
target through a network. Its processes also run in a time namespace of their own
(``unshare --time``) whose monotonic clock is offset from the host's, so that a duration
computed across two "hosts" is visibly wrong instead of silently right.

    python -m nethosts up 3                    # nh-1 .. nh-3 on bridge nh-br, host side 10.231.0.1
    python -m nethosts exec nh-2 -- python -m LoadGenerator …
    python -m nethosts down                    # the set's namespaces and bridge, gone
    python -m nethosts --set lt --subnet 7 up 2    # another set: lt-1, lt-2 on 10.231.7.0/24

Sets of different names and subnets never touch each other. Needs root (CAP_NET_ADMIN,
CAP_SYS_ADMIN) and ``ip`` from iproute2; ``available()`` says whether this machine can, and
why not. Everything stays on this machine: the bridge has no uplink and the addresses are
private.
"""

from __future__ import annotations

from .hosts import CLOCK_STEP_S, HostSet, HostsUnavailable, available, command_in

DEFAULT = HostSet()

__all__ = ["CLOCK_STEP_S", "DEFAULT", "HostSet", "HostsUnavailable", "available",
           "command_in"]
