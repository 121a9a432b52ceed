"""The stateful test bites on primitives too: each broken primitive of
refloop.testing.broken_sync, run against the model, is caught with a short
program."""

from __future__ import annotations

import pytest
from conftest import (
    CALLBACK_RULES,
    CHURN_RULES,
    FOREIGN_RULES,
    LIFECYCLE_RULES,
    RUN_RULES,
    SOCKET_RULES,
    printed_steps,
    without,
)
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from refloop import Loop
from refloop.model import (
    Acquire,
    ChanRecv,
    ChanSend,
    Op,
    Release,
    SetEvent,
    WaitEvent,
    YieldNow,
)
from refloop.testing import LoopMachine, machine_for
from refloop.testing.broken_sync import BROKEN_PRIMITIVES
from refloop.testing.sync_harness import Primitives

pytestmark = pytest.mark.usefixtures("machine_strategies_only")

# Each broken primitive, the class it replaces, the operations its hunt's
# programs are made of, and the rule it breaks.
LOCK_OPS = st.sampled_from([Acquire("M"), Release("M")])
CHAN_OPS = st.sampled_from([ChanSend("C", 1), ChanSend("C", 2), ChanRecv("C")])
EVENT_OPS = st.sampled_from([WaitEvent("E"), SetEvent("E")])
CASES = [
    pytest.param(
        "TwoWakeLock", "lock", LOCK_OPS, marks=pytest.mark.spec("sync.lock.handoff")
    ),
    pytest.param(
        "LossyChannel", "channel", CHAN_OPS, marks=pytest.mark.spec("chan.cancel")
    ),
    pytest.param(
        "LateEvent", "event", EVENT_OPS, marks=pytest.mark.spec("sync.event.wait")
    ),
]


# The machine's socket rules cannot reach a primitive's bug, nor can the
# callbacks', other threads', run()'s and the lifecycle's rules (conftest.py).
_LEFT_OUT = SOCKET_RULES + CALLBACK_RULES + FOREIGN_RULES + RUN_RULES
_LEFT_OUT += LIFECYCLE_RULES
_LEFT_OUT += CHURN_RULES


def _hunter(name: str, kind: str, ops: st.SearchStrategy[Op]) -> type[LoopMachine]:
    """The stateful machine with the broken primitive, and one more rule
    that spawns two or three programs of `ops` and yields at once
    (contention needs several tasks)."""
    primitives = Primitives(**{kind: BROKEN_PRIMITIVES[name]})
    focus = st.lists(st.one_of(ops, st.just(YieldNow())), min_size=1, max_size=4)

    class Hunter(machine_for(Loop, primitives=primitives)):  # type: ignore[misc]
        @rule(programs=st.lists(focus.map(tuple), min_size=2, max_size=3))
        def spawn_focus(self, programs: list[tuple[Op, ...]]) -> None:
            for program in programs:
                self.spawn(program)

    # Without the rules that cannot reach it, the hunt's budget goes to the
    # rules that can, and a rule added to the machine for sockets does not
    # change what this hunt finds.
    hunter: type[LoopMachine] = without(Hunter, _LEFT_OUT)
    hunter.__name__ = f"{name}Machine"
    return hunter


def test_every_broken_primitive_is_listed() -> None:
    assert {case.values[0] for case in CASES} == set(BROKEN_PRIMITIVES)


@pytest.mark.parametrize(("name", "kind", "ops"), CASES)
def test_stateful_test_catches(
    name: str, kind: str, ops: st.SearchStrategy[Op], hunt: settings
) -> None:
    with pytest.raises(BaseException) as caught:
        run_state_machine_as_test(_hunter(name, kind, ops), settings=hunt)
    assert not isinstance(caught.value, KeyboardInterrupt)
    steps = printed_steps(caught.value)
    assert steps, f"no failing program was printed for {name}"
    assert len(steps) <= 8, "\n".join(steps)
