"""refloop.explore: the controlling selector's decisions, the reports, the
strategies' plumbing, the decorator and the pytest plugin."""

from __future__ import annotations

import asyncio
import selectors
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from races import shutdown

import refloop.testing
from refloop._clock import VirtualClock
from refloop.explore import (
    Deadlock,
    Diverged,
    ExploreFailure,
    ExploreSelector,
    Livelock,
    OutsideWorld,
    explore,
    run_one,
)
from refloop.explore._decide import Decider, FixedDecider, Point


class Always(Decider):
    """Chooses `pick` (clamped) at every point of the given kinds."""

    def __init__(self, kinds: set[str], pick: int = 1) -> None:
        super().__init__()
        self.kinds, self.value = kinds, pick

    def pick(self, index: int, point: Point) -> int:
        if point.kind in self.kinds:
            return min(self.value, point.options - 1)
        return 0


@pytest.mark.spec("explore.clock.autojump", "explore.run")
def test_time_is_virtual_and_each_run_starts_at_zero() -> None:
    seen: list[float] = []

    async def test() -> None:
        loop = asyncio.get_running_loop()
        seen.append(loop.time())
        async with asyncio.timeout(7200):
            await asyncio.sleep(3600)
        seen.append(loop.time())

    started = time.perf_counter()
    result = explore(test, strategy="random", runs=3)
    assert result.failure is None
    assert time.perf_counter() - started < 1.0
    assert seen == [0.0, 3600.0] * 3


@pytest.mark.spec("explore.clock.late")
def test_a_late_jump_makes_timers_coincide_in_deadline_order() -> None:
    order: list[tuple[str, float]] = []

    async def test() -> None:
        loop = asyncio.get_running_loop()

        async def sleeper(name: str, delay: float) -> None:
            await asyncio.sleep(delay)
            order.append((name, loop.time()))

        await asyncio.gather(sleeper("b", 0.08), sleeper("a", 0.05))

    assert run_one(test, FixedDecider()).error is None
    assert order == [("a", 0.05), ("b", 0.08)]
    order.clear()
    outcome = run_one(test, Always({"late"}))
    assert outcome.error is None and outcome.decider.log[0].kind == "late"
    assert order == [("a", 0.08), ("b", 0.08)]  # late, and still in order


@pytest.mark.spec("explore.clock.busy")
def test_time_may_pass_while_the_loop_is_busy() -> None:
    async def test() -> int:
        a, b = socket.socketpair()
        a.setblocking(False)
        loop = asyncio.get_running_loop()
        reader = asyncio.ensure_future(loop.sock_recv(a, 1))  # a waiter: polls happen
        fired = asyncio.ensure_future(asyncio.sleep(0.05))
        spins = 0
        while not fired.done() and spins < 100:
            spins += 1
            await asyncio.sleep(0)
        reader.cancel()
        a.close()
        b.close()
        assert spins < 100, "the clock never moved while the loop was busy"
        return spins

    assert run_one(test, FixedDecider()).error is not None  # never moves
    outcome = run_one(test, Always({"busy"}))
    assert outcome.error is None
    assert outcome.decider.log[0].kind == "busy"


@pytest.mark.spec("explore.poll.hold")
def test_a_held_reply_arrives_after_the_timer() -> None:
    assert run_one(shutdown.buggy, FixedDecider()).error is None
    outcome = run_one(shutdown.buggy, Always({"hold"}, pick=2))
    assert isinstance(outcome.error, AssertionError)
    assert all(d.kind == "hold" for d in outcome.decider.log)
    # Without the freedom to hold, the bug is not found (the freedom bites).
    assert explore(shutdown.buggy, hold=0, runs=300).failure is None


@pytest.mark.spec("explore.poll.order")
def test_a_poll_reports_in_registration_order() -> None:
    pairs = [socket.socketpair() for _ in range(3)]
    sel = ExploreSelector(FixedDecider(), VirtualClock(), list)
    try:
        for ours, _ in reversed(pairs):
            sel.register(ours, selectors.EVENT_READ)
        for _, theirs in pairs:
            theirs.send(b"x")
        reported = [key.fileobj for key, _ in sel.select(0)]
        assert reported == [ours for ours, _ in reversed(pairs)]
    finally:
        sel.close()
        for p in pairs:
            p[0].close()
            p[1].close()


@pytest.mark.spec("explore.deadlock")
def test_a_deadlock_is_reported_with_who_waits_on_what() -> None:
    async def test() -> None:
        lock = asyncio.Lock()
        await lock.acquire()

        async def second() -> None:
            async with lock:
                pass

        await asyncio.create_task(second(), name="second")

    result = explore(test, strategy="default")
    assert result.failure is not None
    assert isinstance(result.failure.error, Deadlock)
    message = result.message()
    assert "name='second'" in message and "second (test_explore.py" in message
    assert "name='main'" in message


@pytest.mark.spec("explore.deadlock")
def test_a_test_that_never_ends_is_a_livelock() -> None:
    async def test() -> None:
        while True:
            await asyncio.sleep(1)

    result = explore(test, strategy="default", max_polls=50)
    assert result.failure is not None
    assert isinstance(result.failure.error, Livelock)


@pytest.mark.spec("explore.closed-world")
def test_a_real_thread_is_reported_not_mistimed() -> None:
    async def test() -> None:
        await asyncio.to_thread(time.sleep, 0.05)

    result = explore(test, strategy="default")
    assert result.failure is not None
    assert isinstance(result.failure.error, OutsideWorld)
    assert "real thread" in str(result.failure.error)


@pytest.mark.spec("explore.replay")
def test_a_replay_that_no_longer_matches_is_reported_as_diverged() -> None:
    result = explore(shutdown.buggy, replay="0:1/9")
    assert result.failure is not None
    assert isinstance(result.failure.error, Diverged)
    with pytest.raises(ValueError, match="index:chosen/options"):
        explore(shutdown.buggy, replay="nonsense")


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        explore(shutdown.fixed, strategy="magic")
    with pytest.raises(ValueError, match="runs"):
        explore(shutdown.fixed, runs=0)
    with pytest.raises(ValueError, match="hold"):
        explore(shutdown.fixed, hold=-1)
    with pytest.raises(ValueError, match="slack"):
        explore(shutdown.fixed, slack=float("nan"))
    with pytest.raises(TypeError, match="async def"):
        refloop.testing.explore()(lambda: None)


@pytest.mark.spec("explore.replay")
def test_the_decorator_prints_the_schedule_and_its_replay() -> None:
    @refloop.testing.explore(runs=100)
    async def test_shutdown() -> None:
        await shutdown.buggy()

    with pytest.raises(ExploreFailure) as caught:
        test_shutdown()
    text = str(caught.value)
    assert "explore.poll.hold" in text and 'replay="' in text
    replay = text.split('replay="')[1].split('"')[0]

    @refloop.testing.explore(replay=replay)
    async def test_again() -> None:
        await shutdown.buggy()

    with pytest.raises(ExploreFailure):
        test_again()
    refloop.testing.explore(runs=50)(shutdown.fixed)()


def test_the_pytest_plugin_explores_async_tests(tmp_path: Path) -> None:
    races = Path(__file__).parent
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(races)!r})
            import pytest
            from races import shutdown

            async def test_buggy():
                await shutdown.buggy()

            @pytest.mark.explore(runs=20)
            async def test_fixed():
                await shutdown.fixed()
            """
        )
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--refloop-explore=50",
            str(tmp_path / "test_user.py"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert "1 failed, 1 passed" in run.stdout, run.stdout + run.stderr
    assert "refloop.explore" in run.stdout and 'replay="' in run.stdout


@pytest.mark.spec("explore.replay")
def test_the_failing_run_as_a_picture(tmp_path: Path) -> None:
    from races import lock_cancel

    result = explore(lock_cancel.buggy)
    assert result.failure is not None
    path = result.picture(lock_cancel.buggy, str(tmp_path / "run.svg"))
    text = Path(path).read_text()
    assert text.startswith("<svg") and text.rstrip().endswith("</svg>")
    assert "Deadlock" in text  # the replay under tracing fails the same way
    assert ">main<" in text and "cancelled" in text and ">C<" in text
