"""LoadGenerator's echo server in a process of its own, for the load-generator tests
(this module holds no tests): ``start_echo`` and the module-scoped fixtures ``echo`` (replies
at once) and ``slow_echo`` (each reply 150 ms late)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from LoadGenerator.echo_server import spawn

METRICS = '{"type":"metrics","id":{id},"data":{"pain":0.3}}'


def start_echo(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Starts the echo server with ``args``; returns the process and its ws:// URL."""
    return spawn(*args)


@pytest.fixture(scope="module", name="echo")
def echo_fixture() -> Iterator[str]:
    process, url = start_echo()
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module", name="slow_echo")
def slow_echo_fixture() -> Iterator[str]:
    process, url = start_echo("--delay-ms", "150")
    yield url
    process.terminate()
    process.wait(10)
