"""shardkit: the ordering of a sharded run, its shared PabotLib server, combining the shards'
outputs into one run, and the checks that fail a combined run that lost or broke something.

The shards are real pabot runs of small suites (utest/shard_suites); the PabotLib server is
pabot's own, started as a sharded run starts it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shardkit import combine, locks, ordering, pabotlib, runonce

ROOT = Path(__file__).resolve().parents[1]
SUITES = Path(__file__).parent / "shard_suites"
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}


def start_server(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The shared PabotLib server, as a sharded run starts it; its process and port."""
    port_file = directory / "pabotlib.port"
    process = subprocess.Popen([sys.executable, "-m", "shardkit", "pabotlib-server",
                                "--port-file", str(port_file)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not (port_file.exists() and port_file.read_text().strip()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the PabotLib server did not start")
        time.sleep(0.05)  # polling for its port file
    return process, int(port_file.read_text())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    process, port = start_server(tmp_path)
    try:
        yield port
    finally:
        process.terminate()
        process.wait(10)


def pabot(suite: Path, out: Path, shard: str, *args: str,
          port: int | None = None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "shardkit", "pabot", "127.0.0.1", str(port)] \
        if port else ["pabot", "--pabotlib", "--pabotlibport", "0"]
    return subprocess.Popen([*command, "--processes", "1", "--metadata",
                             f"Shard:{shard}", "--outputdir", str(out), *args, str(suite)],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def run_shards(*runs: subprocess.Popen[bytes]) -> None:
    for run in runs:
        assert run.wait(120) is not None


# -- ordering ----------------------------------------------------------------------------------

def test_shards_split_every_suite_but_the_disruptive_ones_which_run_late() -> None:
    tests = ROOT / "tests"
    everything = ordering.ordering(tests, "all")
    shards, late = ordering.ordering(tests, "shards"), ordering.ordering(tests, "late")
    assert late == ["--suite Tests.11 Recovery"]
    assert "--suite Tests.11 Recovery" not in shards
    assert everything == [*shards, "#WAIT", *late]


def test_an_unknown_part_is_refused() -> None:
    with pytest.raises(ValueError, match="all, shards or late"):
        ordering.ordering(ROOT / "tests", "first")


# -- the shared PabotLib server -----------------------------------------------------------------

def test_a_shard_refuses_to_start_without_the_shared_server() -> None:
    port = pabotlib.free_port("127.0.0.1")
    started = time.monotonic()
    with pytest.raises(pabotlib.PabotLibUnreachable, match="cannot share locks"):
        pabotlib.check_reachable("127.0.0.1", port, timeout=0.5)
    assert time.monotonic() - started < 10


def test_a_server_that_answers_passes_the_check(server: int) -> None:
    pabotlib.check_reachable("127.0.0.1", server, timeout=5)


def test_shards_sharing_a_server_never_hold_a_lock_at_once(server: int, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    shard_args = [("1/2", "a", "b"), ("2/2", "b", "a")]
    runs = [pabot(SUITES / "exclusive.robot", tmp_path / shard.replace("/", "-"), shard,
                  "--variable", f"DIR:{markers}", "--variable", f"ME:{me}",
                  "--variable", f"OTHER:{other}", port=server)
            for shard, me, other in shard_args]
    run_shards(*runs)
    outputs = [tmp_path / "1-2" / "output.xml", tmp_path / "2-2" / "output.xml"]
    combined = tmp_path / "combined"
    assert combine.combine(outputs, combined, {}) == 0, "a shard saw the other's marker"
    found = locks.holds(combined / "output.xml")
    assert len(found) == 10
    assert {hold.shard for hold in found} == {"1/2", "2/2"}
    assert locks.overlaps(found) == []
    assert "never held by two at once" in locks.report(found)[0]


def test_shards_with_servers_of_their_own_are_caught_holding_a_lock_at_once(
        tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    runs = [pabot(SUITES / "rendezvous.robot", tmp_path / name, name,
                  "--variable", f"DIR:{markers}", "--variable", f"ME:{me}",
                  "--variable", f"PEER:{other}")
            for name, me, other in [("x", "a", "b"), ("y", "b", "a")]]
    run_shards(*runs)
    combined = tmp_path / "combined"
    outputs = [tmp_path / "x" / "output.xml", tmp_path / "y" / "output.xml"]
    assert combine.combine(outputs, combined, {}) == 0, "the two did not meet"
    clashes = locks.overlaps(locks.holds(combined / "output.xml"))
    assert len(clashes) == 1
    assert {clashes[0][0].shard, clashes[0][1].shard} == {"x", "y"}
    assert "held by two at once 1 time(s)" in locks.report(locks.holds(combined /
                                                                        "output.xml"))[0]


def test_a_server_gone_mid_run_fails_the_tests_that_needed_it(tmp_path: Path) -> None:
    server, port = start_server(tmp_path)
    try:
        shard = pabot(SUITES / "late_lock.robot", tmp_path / "out", "1/1",
                      "--variable", f"DIR:{tmp_path}", port=port)
        deadline = time.monotonic() + 60
        while not (tmp_path / "started").exists():
            assert shard.poll() is None, "the shard ended before its test started"
            assert time.monotonic() < deadline, "the shard's test did not start"
            time.sleep(0.05)  # polling for the test's marker
    finally:
        server.kill()
        server.wait(10)
    (tmp_path / "go").touch()
    run_shards(shard)
    assert combine.combine([tmp_path / "out" / "output.xml"], tmp_path / "combined", {}) == 1
    from robot.api import ExecutionResult

    test = next(iter(ExecutionResult(str(tmp_path / "combined" / "output.xml")).suite.tests))
    assert test.status == "FAIL" and "Connection to remote server broken" in test.message


@pytest.mark.parametrize("shared", [True, False], ids=["one server", "a server each"])
def test_a_run_once_set_up_runs_once_for_shards_sharing_a_server_only(
        shared: bool, server: int, tmp_path: Path) -> None:
    suite = SUITES.parent / "shard_suites_once" / "once.robot"
    outputs = [tmp_path / f"s{i}" / "output.xml" for i in (1, 2)]
    for output in outputs:  # one after the other: "once" must hold across time too
        run_shards(pabot(suite, output.parent, output.parent.name,
                         port=server if shared else None))
    lines, problems = runonce.report(runonce.counts(outputs))
    if shared:
        assert lines == ["run-once set-up Set Up The Run: ran 1 time(s), skipped 1 time(s)"]
        assert problems == []
    else:
        assert problems == ["run-once set-up Set Up The Run ran 2 times"]


# -- combining ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two suites of shard_suites split over two shards (each its own server: these
    suites' tests never meet when run one shard after the other)."""
    base = tmp_path_factory.mktemp("shards")
    markers = base / "markers"
    markers.mkdir()
    (markers / "go").touch()  # late_lock.robot takes its lock at once
    # The rendezvous needs both shards at once; run alone, it meets itself (PEER = ME).
    common = ["--variable", f"DIR:{markers}", "--variable", "ME:a", "--variable", "PEER:a",
              "--variable", "OTHER:z"]
    run_shards(*[pabot(SUITES, base / f"shard-{i}", f"{i}/2", "--shard", f"{i}/2", *common)
                 for i in (1, 2)])
    run_shards(pabot(SUITES, base / "single", "single", *common))
    return base


def test_combined_shards_list_the_tests_of_a_single_run_under_the_same_names(
        two_shards: Path) -> None:
    outputs = [two_shards / "shard-1" / "output.xml", two_shards / "shard-2" / "output.xml"]
    assert combine.combine(outputs, two_shards / "combined", {}) == 0
    got = combine.run_tests(two_shards / "combined" / "output.xml")
    single = combine.run_tests(two_shards / "single" / "output.xml")
    assert sorted(got) == sorted(single) and len(got) == 7
    assert combine.test_list_differences(combine.expected_tests(SUITES, [], []), got) == []
    assert {o.name for o in (two_shards / "combined").iterdir()} >= {
        "output.xml", "log.html", "report.html", "xunit.xml"}


def test_each_suite_of_a_combined_run_names_its_shard(two_shards: Path) -> None:
    from robot.api import ExecutionResult

    outputs = [two_shards / "shard-1" / "output.xml", two_shards / "shard-2" / "output.xml"]
    combine.combine(outputs, two_shards / "named", {})
    top = ExecutionResult(str(two_shards / "named" / "output.xml")).suite
    assert top.name == "Shard Suites"
    assert sorted(str(s.metadata["Shard"]) for s in top.suites) == ["1/2", "1/2", "2/2"]
    assert top.metadata["Shards"] == "1/2, 2/2"


def test_a_missing_shard_is_reported_with_the_tests_it_lost(two_shards: Path) -> None:
    missing = two_shards / "shard-3" / "output.xml"
    assert combine.shard_problems([two_shards / "shard-1" / "output.xml", missing]) == [
        f"{missing}: missing; the tests of that shard were lost"]
    got = combine.run_tests(two_shards / "shard-1" / "output.xml")
    lost = combine.test_list_differences(combine.expected_tests(SUITES, [], []), got)
    assert lost and all(line.startswith("missing: ") for line in lost)


def test_a_test_run_by_two_shards_is_reported() -> None:
    assert combine.test_list_differences(["S.a", "S.b"], ["S.a", "S.b", "S.a"]) == [
        "run twice: S.a"]
    assert combine.test_list_differences(["S.a"], ["S.a", "S.c"]) == ["not expected: S.c"]


def test_the_cli_fails_a_combined_run_that_lost_a_shard(two_shards: Path) -> None:
    answer = subprocess.run(
        [sys.executable, "-m", "shardkit", "combine", str(two_shards / "cli"),
         str(two_shards / "shard-1" / "output.xml"), str(two_shards / "gone" / "output.xml"),
         "--tests", str(SUITES)], capture_output=True, text=True, env=ENV, check=False)
    assert answer.returncode == 1
    assert "problem: " in answer.stdout and "missing; the tests of that shard were lost" \
        in answer.stdout
    assert "problem: missing: " in answer.stdout


def test_a_failed_shard_set_up_is_reported(tmp_path: Path) -> None:
    suite = tmp_path / "broken.robot"
    suite.write_text("*** Settings ***\nSuite Setup    Fail    no target\n\n"
                     "*** Test Cases ***\nT\n    No Operation\n")
    run_shards(pabot(suite, tmp_path / "out", "1/1"))
    problems = combine.shard_problems([tmp_path / "out" / "output.xml"])
    assert problems == ["shard 1/1: suite set-up failed: no target"]


# -- lock holds ----------------------------------------------------------------------------------

def hold(name: str, start: int, end: int | None) -> locks.Hold:
    base = datetime(2026, 1, 1)
    return locks.Hold("l", name, name, base + timedelta(seconds=start),
                      None if end is None else base + timedelta(seconds=end))


def test_holds_that_touch_do_not_overlap_and_a_hold_never_released_overlaps_later_ones() -> None:
    assert locks.overlaps([hold("a", 0, 2), hold("b", 2, 4)]) == []
    assert len(locks.overlaps([hold("a", 0, 3), hold("b", 2, 4)])) == 1
    assert len(locks.overlaps([hold("a", 0, None), hold("b", 5, 6), hold("c", 7, 8)])) == 2


def test_the_server_keeps_working_for_a_second_client(server: int) -> None:
    # Two clients at once, as two shards' processes: the check is not exclusive.
    errors: list[BaseException] = []

    def check() -> None:
        try:
            pabotlib.check_reachable("127.0.0.1", server, timeout=5)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
