"""Native explored runs: their trace is checked against the native loop's
rules (refloop/explore/_native.py), broken loops of refloop.testing.broken
are caught from their trace alone, and their timeline is drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from races import native_framing, native_lost_update, native_stale_reply

import refloop
from refloop.explore import STRATEGIES, explore, run_one
from refloop.explore._decide import FixedDecider
from refloop.explore._native import NativeRecorder, check
from refloop.explore._run import Settings
from refloop.explore._validate import TraceViolation
from refloop.testing import broken

RACES = [native_lost_update, native_stale_reply, native_framing]


async def tied_timers() -> None:
    """Two tasks whose timers share a deadline: they fire FIFO."""
    order: list[str] = []

    async def sleeper(name: str) -> None:
        await refloop.sleep(0.1)
        order.append(name)

    async with refloop.TaskGroup() as group:
        group.spawn(sleeper("a"))
        group.spawn(sleeper("b"))


def recorded(test: Any, loop_class: type[refloop.Loop]) -> tuple[Any, NativeRecorder]:
    recorder = NativeRecorder(loop_class)
    outcome = run_one(
        test,
        FixedDecider([]),
        Settings(validate=True),
        kind="native",
        recorder=recorder,
    )
    return outcome, recorder


@pytest.mark.spec("explore.validate.native")
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("race", RACES, ids=lambda m: m.__name__)
def test_real_loop_passes_under_every_strategy(race: Any, strategy: str) -> None:
    for test in (race.buggy, race.fixed):
        result = explore(test, runs=30, strategy=strategy, validate=True)
        if result.failure is not None:
            assert not isinstance(result.failure.error, TraceViolation)


@pytest.mark.spec("explore.validate.native")
@pytest.mark.parametrize("race", RACES, ids=lambda m: m.__name__)
def test_real_loop_trace_is_recorded_and_valid(race: Any) -> None:
    outcome, recorder = recorded(race.fixed, refloop.Loop)
    assert outcome.error is None
    kinds = {event[0] for event in recorder.events}
    assert {"begin", "run", "end", "spawn"} <= kinds
    assert check(recorder.events, recorder.names) is None


CAUGHT = [
    (broken.GreedyLoop, native_lost_update.fixed, "tick.ready-snapshot"),
    (broken.EarlyTimerLoop, native_lost_update.fixed, "timer.fire"),
    (broken.EarlyTimerLoop, native_stale_reply.fixed, "timer.fire"),
    (broken.LifoLoop, native_framing.fixed, "tick.wake-order"),
    (broken.NewestFirstLoop, native_framing.fixed, "tick.wake-order"),
    (broken.DoubleWakeLoop, native_framing.fixed, "tick.wake-order"),
    (broken.LifoTimersLoop, tied_timers, "timer.order"),
]


@pytest.mark.spec("explore.validate.native")
@pytest.mark.parametrize(
    ("loop_class", "test", "rule"),
    CAUGHT,
    ids=[f"{c.__name__}-{t.__module__}.{t.__name__}" for c, t, _ in CAUGHT],
)
def test_broken_loop_is_caught_from_its_trace(
    loop_class: Any, test: Any, rule: str
) -> None:
    outcome, recorder = recorded(test, loop_class)
    assert isinstance(outcome.error, TraceViolation), outcome.error
    assert outcome.error.rule == rule
    # The stored trace alone gives the same verdict.
    again = check(recorder.events, recorder.names)
    assert again is not None and again.rule == rule
    assert str(again) == str(outcome.error)


@pytest.mark.spec("explore.validate.native")
def test_real_loop_passes_tied_timers() -> None:
    outcome, recorder = recorded(tied_timers, refloop.Loop)
    assert outcome.error is None
    assert check(recorder.events, recorder.names) is None


@pytest.mark.spec("explore.validate.native")
def test_recorder_refuses_a_non_loop() -> None:
    with pytest.raises(TypeError, match=r"refloop\.Loop subclass"):
        NativeRecorder(dict)  # type: ignore[arg-type]


@pytest.mark.spec("explore.picture")
@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_native_failure_picture_has_a_row_per_task(tmp_path: Path, suffix: str) -> None:
    result = explore(native_lost_update.buggy, runs=20)
    assert result.failure is not None
    path = result.picture(native_lost_update.buggy, str(tmp_path / f"x{suffix}"))
    data = Path(path).read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG")
        return
    text = data.decode()
    # One row per task: main and the group's two children.
    for name in ("main #0", "withdraw #1", "withdraw #2"):
        assert f">{name}</text>" in text, name
    assert "wait sleep" in text


async def cancels_a_waiter() -> None:
    """main cancels a waiting task and joins it: it ends by cancellation."""
    never = refloop.Event()
    child = refloop.spawn(never.wait(), name="child")
    await refloop.sleep(0.01)
    child.cancel()
    with pytest.raises(refloop.Cancelled):
        await child.join()
    await refloop.sleep(0.01)


async def leaves_a_waiter() -> None:
    """main returns while a task still waits: the wind-up cancels it."""
    never = refloop.Event()
    refloop.spawn(never.wait(), name="left")
    await refloop.sleep(0.01)


@pytest.mark.spec("explore.validate.native.resume", "explore.validate.native.shutdown")
@pytest.mark.parametrize("test", [cancels_a_waiter, leaves_a_waiter, tied_timers])
def test_real_loop_passes_resumes_and_its_wind_up(test: Any) -> None:
    outcome, recorder = recorded(test, refloop.Loop)
    assert outcome.error is None
    kinds = [event[0] for event in recorder.events]
    assert "windup" in kinds
    # The wind-up's iterations are recorded (leaves_a_waiter's has one).
    if test is leaves_a_waiter:
        after = kinds[kinds.index("windup") :]
        assert after.count("begin") >= 1 and after.count("end") == after.count("begin")
        assert "run" in after
    assert check(recorder.events, recorder.names) is None


@pytest.mark.spec("explore.validate.native.resume")
def test_a_finished_task_resumed_is_caught_from_its_trace() -> None:
    """ZombieLoop queues a task again once it ended by cancellation: caught
    as it joins the queue (before this model, only once the loop stepped
    the finished task, as tick.ready-snapshot)."""
    outcome, recorder = recorded(cancels_a_waiter, broken.ZombieLoop)
    assert isinstance(outcome.error, TraceViolation), outcome.error
    assert outcome.error.rule == "inv.one-place"
    assert "'child'" in str(outcome.error) and "which had finished" in str(
        outcome.error
    )
    again = check(recorder.events, recorder.names)
    assert again is not None and str(again) == str(outcome.error)


@pytest.mark.spec("explore.validate.native.shutdown")
def test_a_wind_up_that_resumes_a_finished_task_is_caught() -> None:
    """The same loop on a test whose only cancellation is the wind-up's:
    nothing before the wind-up breaks a rule, so only the wind-up's check
    catches it."""
    outcome, recorder = recorded(leaves_a_waiter, broken.ZombieLoop)
    assert isinstance(outcome.error, TraceViolation), outcome.error
    assert outcome.error.rule == "inv.one-place"
    assert "'left'" in str(outcome.error)
    windup = next(i for i, e in enumerate(recorder.events) if e[0] == "windup")
    assert outcome.error.index > windup
    # The trace up to the wind-up is valid.
    assert check(recorder.events[:windup], recorder.names) is None
    again = check(recorder.events, recorder.names)
    assert again is not None and str(again) == str(outcome.error)


def test_trace_broken_loops_are_each_tested() -> None:
    assert set(broken.TRACE_BROKEN_LOOPS) == {"ZombieLoop"}
