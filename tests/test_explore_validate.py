"""Trace validation of explored runs against the asyncio-level model
(refloop/explore/_validate.py): the real loop's traces pass, each broken
loop of refloop.testing.trace_broken is caught from its trace alone (the
test it runs passes), and hand-made traces show each check."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from races import lost_update

from refloop.explore import STRATEGIES, explore, run_one
from refloop.explore._api import validate_by_default
from refloop.explore._decide import FixedDecider
from refloop.explore._events import At, Cancel, Drain, Poll, Run, Soon, Watch
from refloop.explore._run import Settings
from refloop.explore._trace import Recorder
from refloop.explore._validate import TraceViolation, ticks, validate
from refloop.testing.trace_broken import TRACE_BROKEN_LOOPS

# ------------------------------------------------------------ scenarios
# Each passes on every loop: it asserts nothing about the order things ran
# in. Only the trace tells a broken loop from the real one.


async def timers() -> None:
    loop = asyncio.get_running_loop()
    fired: list[str] = []
    loop.call_later(0.05, fired.append, "a")
    loop.call_later(0.05, fired.append, "b")  # a tie: creation order
    loop.call_later(0.02, fired.append, "c")
    await asyncio.sleep(0.1)


async def cancelled() -> None:
    loop = asyncio.get_running_loop()
    ran: list[int] = []
    loop.call_soon(ran.append, 1).cancel()
    loop.call_later(0.01, ran.append, 2).cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0.02)


async def readers() -> None:
    loop = asyncio.get_running_loop()
    pairs = [socket.socketpair() for _ in range(2)]
    done = asyncio.Event()
    got: list[int] = []

    def on(sock: socket.socket) -> None:
        sock.recv(1)
        loop.remove_reader(sock)
        got.append(sock.fileno())
        if len(got) == len(pairs):
            done.set()

    try:
        for mine, peer in pairs:
            mine.setblocking(False)
            loop.add_reader(mine, on, mine)
            peer.send(b"x")
        await done.wait()
    finally:
        for mine, peer in pairs:
            mine.close()
            peer.close()


SCENARIOS = {
    "ReversedDueTimers": timers,
    "LateTimers": timers,
    "EarlyTimer": timers,
    "RunsCancelled": cancelled,
    "CancelledStillRuns": cancelled,
    "GreedyDrain": timers,
    "ReversedWake": readers,
}


def _plain(broken: type, scenario: object) -> None:
    """`scenario` on a `broken` loop in real time, unexplored, untraced."""
    loop = broken()
    try:
        loop.run_until_complete(scenario())  # type: ignore[operator]
    finally:
        loop.close()


def traced_run(test: object, loop_class: type | None = None) -> tuple[object, Recorder]:
    recorder = Recorder(loop_class)
    outcome = run_one(test, FixedDecider(), Settings(), recorder=recorder)  # type: ignore[arg-type]
    return outcome.error, recorder


@pytest.mark.spec("explore.trace")
@pytest.mark.parametrize("scenario", [timers, cancelled, readers])
def test_the_real_loops_traces_pass(scenario: object) -> None:
    error, recorder = traced_run(scenario)
    assert error is None
    kinds = {type(event).__name__ for event in recorder.events}
    assert {"Soon", "Drain", "Run"} <= kinds
    if scenario is not readers:
        assert "At" in kinds
    if scenario is readers:
        assert {"Watch", "Unwatch", "Poll"} <= kinds
    if scenario is cancelled:
        assert "Cancel" in kinds
    assert validate(recorder.events, recorder.names) is None


@pytest.mark.spec(
    "explore.validate",
    "aio.timer.order",
    "aio.cancelled-skip",
    "tick.ready-snapshot",
    "aio.watch.order",
)
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
@pytest.mark.parametrize("name", sorted(TRACE_BROKEN_LOOPS))
def test_each_broken_loop_is_caught_from_its_trace(name: str) -> None:
    broken, rule = TRACE_BROKEN_LOOPS[name]
    scenario = SCENARIOS[name]
    # The scenario itself passes on the broken loop: only its trace tells.
    _plain(broken, scenario)
    error, recorder = traced_run(scenario, broken)
    assert isinstance(error, TraceViolation), (name, error)
    assert error.rule == rule, str(error)
    assert error.test_error is None  # the test itself passed
    # The verdict is the trace's alone: validating it again gives it again.
    again = validate(recorder.events, recorder.names)
    assert again is not None and str(again) == str(error)
    # A run stopped before main's first step leaves its coroutine unawaited:
    # collect it here, where the warning is expected.
    del error, recorder, again
    gc.collect()


@pytest.mark.spec("explore.validate")
def test_a_violation_is_an_explore_failure_with_its_replay() -> None:
    broken, _ = TRACE_BROKEN_LOOPS["ReversedDueTimers"]
    # lost_update's race needs two timers to coincide (a late jump): the
    # broken loop then fires them in the wrong order.
    outcome = run_one(
        lost_update.fixed,
        FixedDecider({0: (1, 2)}),
        Settings(),
        recorder=Recorder(broken),
    )
    assert isinstance(outcome.error, TraceViolation)
    assert "aio.timer.order" in str(outcome.error)


@pytest.mark.spec("explore.validate")
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_validates_and_the_real_loop_passes(strategy: str) -> None:
    for scenario in (timers, cancelled, readers, lost_update.fixed):
        result = explore(scenario, strategy=strategy, runs=30, validate=True)
        assert result.failure is None, result.message()


@pytest.mark.spec("explore.validate")
def test_the_suite_validates_every_explored_run() -> None:
    # tests/conftest.py sets REFLOOP_EXPLORE_VALIDATE: every explore() in
    # the suite (and in its subprocesses) checks its runs' traces.
    assert validate_by_default()
    assert explore(lost_update.buggy, runs=5).failure is not None


@pytest.mark.spec("explore.trace")
def test_posts_from_another_thread_are_traced_without_a_race() -> None:
    async def posts() -> None:
        loop = asyncio.get_running_loop()
        got: list[int] = []

        def post() -> None:
            for i in range(300):
                loop.call_soon_threadsafe(got.append, i)

        thread = threading.Thread(target=post)
        thread.start()
        while len(got) < 300:
            await asyncio.sleep(0)  # busy: the loop never waits, never idles
        thread.join()

    for _ in range(20):
        error, recorder = traced_run(posts)
        assert error is None
        soon = sum(isinstance(e, Soon) for e in recorder.events)
        assert soon >= 300


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="validate must be True, False or None"):
        explore(timers, validate="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="RefloopEventLoop subclass"):
        Recorder(int)  # type: ignore[arg-type]


# ------------------------------------------------------------ hand-made traces


def _verdict(*events: object) -> str | None:
    names = {i: f"cb{i}" for i in range(10)}
    found = validate(list(events), names)  # type: ignore[arg-type]
    return None if found is None else found.rule


@pytest.mark.spec("explore.validate")
def test_hand_made_traces_each_break_one_rule() -> None:
    ok = [Soon(0), Soon(1), Drain(0.0, (0, 1)), Run(0), Soon(2), Run(1)]
    assert _verdict(*ok) is None
    assert _verdict(*ok, Drain(0.0, (2,)), Run(2)) is None
    # FIFO within a drain.
    assert _verdict(Soon(0), Soon(1), Drain(0.0, (0, 1)), Run(1)) == "aio.run-queue"
    # Queued in this drain, run in it.
    assert _verdict(*ok, Run(2)) == "tick.ready-snapshot"
    # A drain that ends with part of its snapshot unrun.
    late = [Soon(0), Soon(1), Drain(0.0, (0, 1)), Run(0), Drain(0.0, (1,))]
    assert _verdict(*late) == "tick.ready-snapshot"
    # A cancelled handle run.
    run = [Soon(0), Soon(1), Drain(0.0, (0, 1)), Cancel(1), Run(0), Run(1)]
    assert _verdict(*run) == "aio.cancelled-skip"
    # Run twice.
    assert _verdict(Soon(0), Drain(0.0, (0,)), Run(0), Run(0)) == "aio.run-queue"
    # A timer queued before its deadline, one due left out, and the clock.
    assert _verdict(At(0, 1.0), Poll(()), Drain(0.5, (0,))) == "aio.timer.order"
    assert _verdict(At(0, 1.0), Poll(()), Drain(1.0, ())) == "aio.timer.order"
    assert _verdict(At(0, 1.0), Poll(()), Drain(1.0, (0,))) is None
    assert _verdict(Drain(1.0, ()), Drain(0.5, ())) == "timer.clock"
    # Timers due together: deadline order, ties in creation order.
    due = [At(0, 0.2), At(1, 0.1), At(2, 0.1), Poll(())]
    assert _verdict(*due, Drain(0.3, (1, 2, 0))) is None
    assert _verdict(*due, Drain(0.3, (2, 1, 0))) == "aio.timer.order"
    # Watchers: queued only when reported, in registration order.
    w = [Watch(0, 7, "read"), Watch(1, 8, "read")]
    assert _verdict(*w, Poll(((8, "read"), (7, "read"))), Drain(0.0, (0, 1))) is None
    assert _verdict(*w, Poll(((7, "read"),)), Drain(0.0, (0, 1))) == "aio.watch.level"
    assert _verdict(*w, Poll(((7, "read"),)), Drain(0.0, ())) == "aio.watch.level"
    both = Poll(((7, "read"), (8, "read")))
    assert _verdict(*w, both, Drain(0.0, (1, 0))) == "aio.watch.order"
    # A poll skipped while a watcher is registered; untraced entries.
    assert _verdict(*w, Drain(0.0, ())) == "tick.poll-skip"
    assert _verdict(Drain(0.0, (None,))) == "aio.run-queue"
    # Native tasks (negative entries) run in their snapshot's order.
    assert _verdict(Soon(0), Drain(0.0, (-1, 0)), Run(-1), Run(0)) is None
    assert _verdict(Soon(0), Drain(0.0, (-1, 0)), Run(0)) == "aio.run-queue"


@given(st.floats(0, 1e300), st.floats(0, 1e300))
def test_ticks_are_exact_and_keep_order(a: float, b: float) -> None:
    assert Fraction(ticks(a), 2**1074) == Fraction(a)
    assert (a < b) == (ticks(a) < ticks(b))


USER_TEST = """
import asyncio

import refloop.aio
from refloop.testing.trace_broken import RunsCancelled

# Every refloop.aio loop in this process gets the broken core.
refloop.aio.RefloopEventLoop._Core = RunsCancelled._Core


async def test_cancelled_callback():
    loop = asyncio.get_running_loop()
    loop.call_soon(print, "ran").cancel()
    await asyncio.sleep(0)
"""


@pytest.mark.spec("explore.validate")
def test_the_pytest_option_validates(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TEST, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "REFLOOP_EXPLORE_VALIDATE"}

    def pytest_run(*options: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "--refloop-explore=5", *options, "test_user.py"],
            capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
        )  # fmt: skip
        return done.stdout + done.stderr

    assert "1 passed" in pytest_run()  # the test cannot see the broken core
    out = pytest_run("--refloop-explore-validate")
    assert "1 failed" in out and "TraceViolation" in out, out
    assert "[aio.cancelled-skip]" in out
