"""The stateful test bites on cancel scopes too: each broken CancelScope of
refloop.testing.broken_scopes, run against the model, is caught with a
short program."""

from __future__ import annotations

import pytest
from conftest import (
    CALLBACK_RULES,
    CHURN_RULES,
    FOREIGN_RULES,
    HUNT,
    LIFECYCLE_RULES,
    RUN_RULES,
    SOCKET_RULES,
    printed_steps,
    without,
)
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from refloop import Loop
from refloop.testing import LoopMachine, SyncLoopMachine, machine_for
from refloop.testing.broken_scopes import BROKEN_SCOPES
from refloop.testing.sync_harness import Primitives

pytestmark = pytest.mark.usefixtures("machine_strategies_only")

# A scope's bug shows within fewer examples than the loops' hunts draw.
_HUNT = settings(HUNT, max_examples=1000)

CASES = [
    pytest.param("LeakyShield", marks=pytest.mark.spec("cancel.shield")),
    pytest.param("ShallowScope", marks=pytest.mark.spec("cancel.scope.cancel")),
]

# The rules that cannot reach a scope's bug (conftest.py's groups), and the
# primitives' own spawn.
_LEFT_OUT = SOCKET_RULES + CALLBACK_RULES + FOREIGN_RULES + RUN_RULES
_LEFT_OUT += LIFECYCLE_RULES + CHURN_RULES + ("thread_post", "spawn_sync")


def _hunter(name: str) -> type[LoopMachine]:
    primitives = Primitives(cancel_scope=BROKEN_SCOPES[name])
    base = machine_for(Loop, primitives=primitives, base=SyncLoopMachine)
    hunter: type[LoopMachine] = without(base, _LEFT_OUT)
    hunter.__name__ = f"{name}Machine"
    return hunter


def test_every_broken_scope_is_listed() -> None:
    assert {case.values[0] for case in CASES} == set(BROKEN_SCOPES)


@pytest.mark.parametrize("name", CASES)
def test_stateful_test_catches(name: str) -> None:
    with pytest.raises(BaseException) as caught:
        run_state_machine_as_test(_hunter(name), settings=_HUNT)
    assert not isinstance(caught.value, KeyboardInterrupt)
    steps = printed_steps(caught.value)
    assert steps, f"no failing program was printed for {name}"
    assert len(steps) <= 8, "\n".join(steps)
