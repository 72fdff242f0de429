"""Sizes written as Robot users write them: 512, 64 kB, 1 MiB, 10MB."""

from __future__ import annotations

import re

UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2,
         "gb": 1000**3, "gib": 1024**3}
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_size(size: int | str) -> int:
    """Bytes in ``size``: an int, or a number with B, kB, KiB, MB, MiB, GB or GiB."""
    if isinstance(size, int):
        return size
    match = SIZE.match(size)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in UNITS:
        raise ValueError(f"Invalid size {size!r}; use e.g. 512, 64 kB, 1 MiB or 10 MB.")
    return int(float(match.group(1)) * UNITS[unit])
