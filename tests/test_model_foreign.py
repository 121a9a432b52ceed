"""The model's calls from another thread (thread.owner): each is refused
and changes nothing, but cancelling a finished task, which answers False."""

from __future__ import annotations

import pytest

from refloop import model
from refloop.model import FOREIGN_CALLS, Recv, YieldNow


@pytest.mark.spec("thread.refused-unchanged")
@pytest.mark.parametrize("call", FOREIGN_CALLS)
def test_a_call_from_another_thread_is_refused_and_changes_nothing(call: str) -> None:
    s = model.initial(("A",))
    s, _ = model.spawn(s, (Recv("A", 1),))
    s, _ = model.run_once(s)
    after, outcome = model.foreign_call(s, call, "A" if "close" in call else 0)
    assert outcome == "LoopError" and after == s


@pytest.mark.spec("thread.owner")
def test_cancelling_a_finished_task_from_another_thread_answers_false() -> None:
    s = model.initial(("A",))
    s, _ = model.spawn(s, (YieldNow(),))
    for _ in range(2):
        s, _ = model.run_once(s)
    assert model.foreign_call(s, "cancel", 0) == (s, "False")


def test_an_unknown_call_is_refused_by_the_model() -> None:
    with pytest.raises(model.ModelError):
        model.foreign_call(model.initial(), "run", 0)
