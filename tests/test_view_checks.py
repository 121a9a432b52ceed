"""The stateful machine's checks of what a loop says of itself
(refloop/testing/observe.py `view_problems`, compare.py): each is shown
catching a loop broken in just that way, driven by hand through the
machine's rules, and a sound loop passing the same steps."""

from __future__ import annotations

import dataclasses
from collections.abc import Coroutine
from typing import Any

import pytest
from _helpers import machine

from refloop import Loop, Snapshot, Task
from refloop.model import Callback, Sleep
from refloop.model.callbacks import OK
from refloop.testing import Mismatch, machine_for
from refloop.testing.machine import LoopMachine


class NamelessLoop(Loop):
    """Forgets the name a task was spawned with."""

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str | None = None
    ) -> Task[Any]:
        return super().spawn(coro)


class OpenLookingLoop(Loop):
    """Its snapshot says it is open after close()."""

    def snapshot(self) -> Snapshot:
        return dataclasses.replace(super().snapshot(), closed=False)


class TimersAsIdleLoop(Loop):
    """Its snapshot shows every timer as an idle call."""

    def snapshot(self) -> Snapshot:
        snap = super().snapshot()
        timers = tuple(dataclasses.replace(t, idle=True) for t in snap.timers)
        return dataclasses.replace(snap, timers=timers)


class LateCallAtLoop(Loop):
    """`call_at` schedules a tick late; `call_later` is right."""

    def call_at(self, when: float, fn: Any, *args: Any) -> Any:
        return super().call_at(when + 1, fn, *args)


def kind(factory: type[Loop]) -> type[LoopMachine]:
    return machine_for(factory)


@pytest.mark.spec("spawn")
def test_a_task_shown_under_another_name_is_a_mismatch() -> None:
    with machine((Sleep(1),), kind=kind(Loop)):
        pass
    with (
        pytest.raises(Mismatch, match=r"task 0 is named .*, spawned as 't0'"),
        machine((Sleep(1),), kind=kind(NamelessLoop)),
    ):
        pass


@pytest.mark.spec("loop.close")
def test_a_closed_loop_that_says_it_is_open_is_a_mismatch() -> None:
    with machine((Sleep(1),), kind=kind(Loop)) as state:
        state.close()
    with (
        machine((Sleep(1),), kind=kind(OpenLookingLoop)) as state,
        pytest.raises(Mismatch, match="closed: model True, real False"),
    ):
        state.close()


@pytest.mark.spec("timer.fire")
def test_a_timer_shown_as_an_idle_call_is_a_mismatch() -> None:
    with machine((Sleep(1),), kind=kind(Loop)) as state:
        state.run_once()
        state.agrees()
    with machine((Sleep(1),), kind=kind(TimersAsIdleLoop)) as state:
        state.run_once()
        with pytest.raises(Mismatch, match="is shown as an idle call"):
            state.agrees()


@pytest.mark.spec("timer.validate", "timer.fire")
def test_call_at_and_call_later_must_schedule_alike() -> None:
    """The machine's second callback goes through call_at."""

    def steps(state: LoopMachine) -> None:
        for _ in range(2):
            state.call_later(2, Callback(OK))
            state.agrees()

    with machine(kind=kind(Loop)) as state:
        steps(state)
    with (
        machine(kind=kind(LateCallAtLoop)) as state,
        pytest.raises(Mismatch, match="timers: model"),
    ):
        steps(state)
