"""current_loop and current_task, as mutation testing found them
under-tested (docs/mutation.md, refloop/_runtime.py): outside a loop or a
task they say so and name the fix."""

from __future__ import annotations

import pytest

from refloop import Loop, LoopError, VirtualClock, current_loop, current_task


@pytest.mark.spec("thread.owner")
def test_outside_a_loop_and_outside_a_task_the_errors_say_where_you_are() -> None:
    with pytest.raises(LoopError) as caught:
        current_loop()
    assert str(caught.value) == (
        "no refloop loop is running in this thread: call this from a task, "
        "or start one with refloop.run(main())"
    )
    with pytest.raises(LoopError) as caught:
        current_task()
    assert str(caught.value).startswith("no refloop loop is running")
    loop = Loop(clock=VirtualClock())
    seen: list[str] = []

    def callback() -> None:
        assert current_loop() is loop
        try:
            current_task()
        except LoopError as err:
            seen.append(str(err))

    try:
        loop.call_later(0.0, callback)
        loop.run_once(0)
    finally:
        loop.close()
    assert seen == ["not inside a refloop task"]
