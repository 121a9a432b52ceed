"""`refloop fuzz` bites: a short campaign against a broken loop finds the
failure, stores it shrunk, and `--replay` and the report's own command replay
it; campaigns share what they find through a real Redis server; Ctrl-C and
crashing workers lose nothing. Each campaign uses its own tmp_path database.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.database import DirectoryBasedExampleDatabase, InMemoryExampleDatabase
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

# `refloop fuzz`'s command line, imported here at collection rather than by
# main() inside a test: once, in a longer selection, pytest's rewrite of
# this module (refloop.fuzz is a pytest plugin) failed inside CPython
# 3.11.7's compiler with "SystemError: AST constructor recursion depth
# mismatch" when it was first imported deep in a test.
import refloop.fuzz.cli  # noqa: F401
from refloop import Loop
from refloop._cli import main
from refloop.fuzz.database import WorkerView, entry_id
from refloop.fuzz.instrument import Tally, instrument
from refloop.fuzz.messages import Counts
from refloop.fuzz.probe import SpecProbe, citations
from refloop.fuzz.replay import stored
from refloop.fuzz.seams import build_test
from refloop.fuzz.target import Target, TargetError
from refloop.testing import machine_for
from refloop.testing.broken import GreedyLoop

BROKEN_ENV = "REFLOOP_FUZZ_TEST_BROKEN"
CRASH_ENV = "REFLOOP_FUZZ_TEST_CRASHED"


class SwitchLoop(GreedyLoop):
    """GreedyLoop while REFLOOP_FUZZ_TEST_BROKEN is set, else the real loop:
    a bug that can be fixed between a campaign and its replay."""

    def _drain(self) -> None:
        if os.environ.get(BROKEN_ENV):
            super()._drain()
        else:
            Loop._drain(self)


class CrashOnceLoop(Loop):
    """Kills its process the first time it is made (the marker file says)."""

    def __init__(self, **kwargs: Any) -> None:
        marker = Path(os.environ[CRASH_ENV])
        if not marker.exists():
            marker.touch()
            os._exit(3)
        super().__init__(**kwargs)


def fuzz(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["fuzz", *args])
    out, err = capsys.readouterr()
    return code, out, err


def steps_of(program: str) -> list[str]:
    skip = ("state.agrees", "state.teardown")
    return [
        line.strip()
        for line in program.splitlines()
        if line.strip().startswith("state.") and not line.strip().startswith(skip)
    ]


# ------------------------------------------------------------------ campaigns


def test_campaign_finds_stores_shrinks_and_replays_a_broken_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "db")
    common = ["--loop", "GreedyLoop", "--db", db]
    code, report, display = fuzz(
        capsys, *common, "--workers", "1", "--minutes", "1", "-x", "--seed", "2"
    )
    assert code == 1, report
    # Found, live and in the report (each distinct error is its own failure).
    assert "worker 0 found failure" in display
    assert re.search(r"\d+ examples \([\d.]+/s\)", display)
    listed = re.findall(r"^  \d+\. ([0-9a-f]{16})  (\w+): ", report, re.M)
    assert listed and "Mismatch" in {error for _, error in listed}
    assert f"failures stored in the database: {len(listed)} " in report
    # Stored, under the key Hypothesis itself uses for the machine.
    machine = machine_for(GreedyLoop)
    values = stored(machine, DirectoryBasedExampleDatabase(db))
    assert {entry_id(v) for v in values} == {i for i, _ in listed}
    # Shrunk: each program is a handful of steps (the bug needs only work
    # queued during one drain).
    programs = re.split(r"^  \d+\. ", report, flags=re.M)[1:]
    for program in programs:
        assert 1 <= len(steps_of(program.split("replay:")[0])) <= 4, program
    # Counted: examples, steps, rules and spec rules.
    assert re.search(r"examples +[1-9][\d,]* ", report)
    assert re.search(r"^  run_once +[\d,]+ +[\d,]+$", report, re.M)
    assert re.search(r"spec rules exercised: [1-9]\d* of \d+", report)
    # Replayed: by --replay, and by the exact command the report prints.
    code, out, _ = fuzz(capsys, *common, "--replay")
    assert code == 1
    assert all(f"FAILS   {i}" in out for i, _ in listed)
    commands = re.findall(r"replay: (refloop fuzz .*--replay-id \S+)", report)
    assert len(commands) == len(listed)
    code, out, _ = fuzz(capsys, *shlex.split(commands[0])[2:])
    assert code == 1
    assert f"FAILS   {listed[0][0]}  {listed[0][1]}" in out


def test_replay_passes_and_forgets_once_the_bug_is_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = DirectoryBasedExampleDatabase(tmp_path / "db")
    machine = seed(0)(machine_for(SwitchLoop))
    monkeypatch.setenv(BROKEN_ENV, "1")
    hunt = settings(
        database=db,
        max_examples=1000,
        deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
    )
    # The greedy drain shows in the events of run_once, run_forever or run.
    with pytest.raises(Exception, match=r"run_once|run_forever|run queue|run events"):
        run_state_machine_as_test(machine, settings=hunt)
    assert stored(machine, db)
    replay = ["--loop", f"{__name__}:SwitchLoop", "--db", str(tmp_path / "db")]
    assert fuzz(capsys, *replay, "--replay")[0] == 1
    monkeypatch.delenv(BROKEN_ENV)
    code, out, _ = fuzz(capsys, *replay, "--replay")
    assert code == 0
    assert "no longer fails: removed" in out
    assert stored(machine, db) == []


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip(
            "redis-server is not installed (Debian: apt-get install redis-server)"
        )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir"]
    process = subprocess.Popen(
        [server, *args, str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_two_campaigns_share_what_they_find_through_redis(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from hypothesis.extra.redis import RedisExampleDatabase
    from redis import Redis

    common = ["--loop", "GreedyLoop", "--db", redis_url, "--workers", "1"]
    code, first, _ = fuzz(capsys, *common, "--minutes", "1", "-x", "--seed", "1")
    assert code == 1
    found = re.findall(r"^  \d+\. ([0-9a-f]{16}) ", first, re.M)
    assert found and "(found anew)" in first
    db = RedisExampleDatabase(Redis.from_url(redis_url))
    assert {entry_id(v) for v in stored(machine_for(GreedyLoop), db)} == set(found)
    # The second campaign (on another machine, say) replays them first.
    code, second, display = fuzz(capsys, *common, "--examples", "1", "--seed", "2")
    assert code == 1
    for i in found:
        assert f"worker 0 replayed failure {i}" in display
        assert f"--db {redis_url} --replay-id {i}" in second
    assert "(replayed from the database)" in second


def test_ctrl_c_stops_every_worker_and_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "db"
    argv = ["fuzz", "--loop", "GreedyLoop", "--db", str(db), "--workers", "2"]
    campaign = subprocess.Popen(
        [sys.executable, "-m", "refloop", *argv, "--seed", "1", "--minutes", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's job
    )
    assert campaign.stderr is not None
    try:
        for line in campaign.stderr:
            if re.search(r"worker \d (found|replayed) failure", line):
                break
        else:
            pytest.fail("the campaign ended without finding GreedyLoop's bug")
        os.killpg(campaign.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        report, rest = campaign.communicate(timeout=60)
    finally:
        if campaign.poll() is None:
            os.killpg(campaign.pid, signal.SIGKILL)
    assert campaign.returncode == 1
    assert "stopping: Ctrl-C" in rest
    assert "stopped: Ctrl-C" in report
    listed = re.findall(r"^  \d+\. ([0-9a-f]{16}) ", report, re.M)
    stored_ids = {
        entry_id(v)
        for v in stored(machine_for(GreedyLoop), DirectoryBasedExampleDatabase(db))
    }
    assert listed and set(listed) == stored_ids
    deadline = time.monotonic() + 10
    while True:  # every worker is gone
        try:
            os.killpg(campaign.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "workers outlived the campaign"
        time.sleep(0.1)


def test_a_crashed_worker_is_reported_and_restarted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CRASH_ENV, str(tmp_path / "crashed"))
    code, report, display = fuzz(
        capsys,
        *["--loop", f"{__name__}:CrashOnceLoop", "--db", str(tmp_path / "db")],
        *["--workers", "1", "--examples", "10", "--no-spec-coverage"],
    )
    assert code == 0, report
    assert "worker 0 crashed (exit code 3" in display
    assert "worker crashes: 1" in report
    assert "exit code 3" in report and "restarted" in report
    assert re.search(r"examples +(\d\d+|[1-9],)", report)


# ------------------------------------------------------------------ pieces


def test_targets() -> None:
    assert Target.parse().load().__name__ == "LoopMachine"
    greedy = Target.parse(loop="GreedyLoop")
    assert greedy.spec == "refloop.testing.broken:GreedyLoop"
    assert greedy.load().__name__ == "GreedyLoopMachine"
    assert Target.parse(loop="Loop").load().__name__ == "LoopMachine"
    for bad in [
        dict(loop="Nope"),
        dict(target="refloop"),
        dict(target="a:b", loop="Loop"),
    ]:
        with pytest.raises(TargetError):
            Target.parse(**bad)
    with pytest.raises(TargetError, match="expected a RuleBasedStateMachine"):
        Target.parse("refloop:run").load()


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = fuzz(capsys, "--loop", "Nope")
    assert code == 2
    assert "GreedyLoop" in err


def test_each_worker_replays_each_stored_entry_once_and_keeps_only_shrunk() -> None:
    shared = InMemoryExampleDatabase()
    key = b"k"
    shared.save(key, b"old")
    view = WorkerView(shared, key)
    view.begin_run()
    assert list(view.fetch(key)) == [b"old"]
    assert list(view.fetch(key)) == []  # replayed once
    assert view.replayed == {b"old"}
    view.save(key, b"big")
    view.move(key, key + b".secondary", b"big")  # demoted while shrinking
    view.save(key, b"small")
    assert view.failing and view.saved == [b"small"]
    assert set(shared.fetch(key)) == {b"old", b"small"}
    assert list(shared.fetch(key + b".secondary")) == []
    assert list(WorkerView(shared, key).fetch(key)) != []  # another worker


def test_probe_finds_cited_statements(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "def f(x):\n"
        '    """Doc."""\n'
        "    # spec: a.one\n"
        "    y = (x +\n"
        "         1)\n"
        "    # spec: a.two\n"
        "    if y:\n"
        "        return y\n"
    )
    assert citations(source) == {
        4: {"a.one"},
        5: {"a.one"},
        7: {"a.two"},
    }
    assert {"spawn", "tick.ready-snapshot"} <= SpecProbe().ids


class Counter2(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    @rule()
    def up(self) -> None:
        self.n += 1

    @rule()
    def down(self) -> None:
        self.n -= 1

    @invariant()
    def bounded(self) -> None:
        assert abs(self.n) < 1000


def test_instrumented_machine_counts_steps_by_rule() -> None:
    sent: list[Counts] = []
    tally = Tally(sent.append, every=0)
    fuzzed = instrument(Counter2, tally, lambda: None)
    assert fuzzed.__name__ == "Counter2"
    ten = settings(
        database=InMemoryExampleDatabase(), max_examples=10, stateful_step_count=5
    )
    build_test(fuzzed, Counter2, ten, 1)()
    total = Counts()
    for counts in sent:
        total.add(counts)
    assert total.examples >= 10
    assert set(total.rule_steps) <= {"up", "down"}
    assert total.steps == sum(total.rule_steps.values()) > 0
