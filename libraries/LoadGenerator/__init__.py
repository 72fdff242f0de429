"""LoadGenerator: open-model WebSocket load with coordinated-omission-corrected latency.

Usable as a Robot Framework keyword library (``Library    LoadGenerator``) and from the
command line (``python -m LoadGenerator --help``). The keyword class is imported on first
use: the command line and the worker processes never load Robot Framework (a quarter of a
second of CPU each).

Beside load runs (`LoadConfig`, `run_load`) the Python API measures what a benchmark of a
server needs (bench/bench_reference_system.py uses them all): `stepping.find_sustained_rate`
(the highest rate a server sustains), `connects.run_connects` (connect + first message
times) and `fanout.run_fanout` (events pushed to many subscribers). `distributed` spreads a
load over Locust's master and workers, LoadGenerator measuring in each (imported only on
use: Locust itself runs in processes of its own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import LoadConfig
from .runner import LoadRun, merge_results, run_load

if TYPE_CHECKING:
    from .library import LoadGenerator

__all__ = ["LoadConfig", "LoadGenerator", "LoadRun", "merge_results", "run_load"]
__version__ = "0.2.0"


def __getattr__(name: str) -> Any:
    if name == "LoadGenerator":
        from .library import LoadGenerator

        return LoadGenerator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
