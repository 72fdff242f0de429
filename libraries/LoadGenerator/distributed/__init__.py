"""Distributed load: Locust's master and workers carry the run, LoadGenerator measures.

Locust (ZeroMQ master/worker, heartbeats, web UI, CSV) spreads a run over workers on one or
many machines; inside each worker LoadGenerator's engine runs the worker's share of the
connections on the open-model schedule, in a process of its own, and measures latency from
the intended send time into HDR histograms, on that host's monotonic clock. The workers send
their raw histograms to the master, which merges them exactly; Locust's own statistics show
throughput only and are never the reported latency.

- `launcher.run_distributed` / `launcher.Launcher`: start a master and local workers (or
  join a master elsewhere) and return the merged result;
- ``python -m LoadGenerator.distributed master|worker``: the same from a shell;
- the keyword ``Run Distributed Load`` of the LoadGenerator library.

Nothing in this package but locustfile.py imports Locust, which patches the interpreter
with gevent at import: it runs only in the ``locust`` processes the launcher starts.
"""

from __future__ import annotations

from .launcher import DistributedLoadError, Launcher, LaunchOptions, run_distributed
from .protocol import RunSettings

__all__ = ["DistributedLoadError", "LaunchOptions", "Launcher", "RunSettings",
           "run_distributed"]
