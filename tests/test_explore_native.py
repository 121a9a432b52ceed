"""refloop.explore on native refloop tests: which kind a test is, and the
same reports and replay as for asyncio tests (spec: explore.kind)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from races import native_lost_update

import refloop
import refloop.testing
from refloop.explore import Deadlock, ExploreFailure, Livelock, OutsideWorld, explore
from refloop.explore._kind import detect


async def native_sleeps() -> None:
    loop = refloop.current_loop()
    await refloop.sleep(3600)
    assert loop.time() == 3600.0


async def asyncio_sleeps() -> None:
    await asyncio.sleep(1)


async def both() -> None:
    await refloop.sleep(1)
    await asyncio.sleep(1)


async def calls_a_native_helper() -> None:
    await native_sleeps()


@pytest.mark.spec("explore.kind")
def test_the_kind_is_read_from_the_code() -> None:
    assert detect(native_sleeps) == "native"
    assert detect(asyncio_sleeps) == "asyncio"
    assert detect(calls_a_native_helper) == "native"  # through its own module
    assert detect(lambda: native_sleeps()) == "native"  # through a closure
    assert detect(native_lost_update.buggy) == "native"
    with pytest.raises(ValueError, match='kind="asyncio"'):
        detect(both)
    assert detect(both, "native") == "native"  # the parameter decides
    with pytest.raises(ValueError, match="unknown kind 'trio'"):
        explore(native_sleeps, kind="trio")


@pytest.mark.spec("explore.kind", "explore.run")
def test_a_native_test_runs_on_a_refloop_loop_in_virtual_time() -> None:
    seen: list[object] = []

    async def test() -> None:
        seen.append(type(refloop.current_loop()))
        await native_sleeps()

    started = time.perf_counter()
    result = explore(test, strategy="random", runs=5)
    assert result.failure is None, result.message()
    assert seen == [refloop.Loop] * 5
    assert time.perf_counter() - started < 1.0
    # Read as asyncio it fails at once: kind is what decides the loop.
    wrong = explore(test, strategy="default", kind="asyncio")
    assert wrong.failure is not None


@pytest.mark.spec("explore.kind", "explore.deadlock")
def test_a_native_deadlock_is_reported_with_the_tasks() -> None:
    async def test() -> None:
        lock = refloop.Lock()
        done = refloop.Event()

        async def holder() -> None:
            async with lock:
                await done.wait()

        async with refloop.TaskGroup() as group:
            group.spawn(holder(), name="holder")
            await refloop.sleep(0.01)
            async with lock:
                done.set()

    result = explore(test, strategy="default")
    assert result.failure is not None
    assert isinstance(result.failure.error, Deadlock)
    assert "'holder'" in result.failure.tasks and "'main'" in result.failure.tasks
    assert "holder (test_explore_native.py" in result.failure.tasks  # where


@pytest.mark.spec("explore.kind", "explore.deadlock")
def test_a_native_test_that_spins_is_a_livelock() -> None:
    async def test() -> None:
        while True:
            await refloop.yield_now()  # never polls (tick.poll-skip)

    result = explore(test, strategy="default", max_polls=300)
    assert result.failure is not None
    assert isinstance(result.failure.error, Livelock)


@pytest.mark.spec("explore.kind", "explore.closed-world")
def test_a_real_thread_in_a_native_test_is_outside_the_world() -> None:
    async def test() -> None:
        await refloop.run_in_thread(time.sleep, 0.05)

    result = explore(test, strategy="default", executor="threads")
    assert result.failure is not None
    assert isinstance(result.failure.error, OutsideWorld)
    assert explore(test, strategy="default").failure is None  # virtual executor


@pytest.mark.spec("explore.kind", "explore.replay")
def test_a_native_failure_replays_from_the_decorator() -> None:
    found = explore(native_lost_update.buggy, strategy="delay", runs=50)
    assert found.failure is not None
    replay = found.failure.decider.replay()

    @refloop.testing.explore(replay=replay)
    async def again() -> None:
        await native_lost_update.buggy()

    with pytest.raises(ExploreFailure, match="lost update") as caught:
        again()
    assert f'replay="{replay}"' in str(caught.value)


@pytest.mark.spec("explore.kind", "explore.net.door")
def test_the_pytest_plugin_explores_native_tests_on_either_network(
    tmp_path: Path,
) -> None:
    races = Path(__file__).resolve().parent
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(races)!r})
            import pytest
            from races import native_framing

            @pytest.mark.explore(runs=100)
            async def test_simulated():
                await native_framing.buggy()

            @pytest.mark.explore(runs=100, network="loopback")
            async def test_loopback():
                await native_framing.buggy()
            """
        )
    )
    user = str(tmp_path / "test_user.py")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", user],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert "1 failed, 1 passed" in run.stdout, run.stdout + run.stderr
    assert "test_simulated" in run.stdout and "request cut" in run.stdout
    assert "explore.net.partial-recv" in run.stdout  # the rule, in the schedule
