"""The stateful test bites on cancel scopes too: each broken CancelScope of
refloop.testing.broken_scopes, run against the model, is caught with a
short program."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.internal.conjecture import providers
from hypothesis.stateful import run_state_machine_as_test

from refloop import Loop
from refloop.testing import LoopMachine, SyncLoopMachine, machine_for
from refloop.testing.broken_scopes import BROKEN_SCOPES
from refloop.testing.sync_harness import Primitives

HUNT = settings(
    max_examples=1000,
    stateful_step_count=20,
    deadline=None,
    database=None,
    derandomize=True,
    report_multiple_bugs=False,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate, Phase.shrink],
)

CASES = [
    pytest.param("LeakyShield", marks=pytest.mark.spec("cancel.shield")),
    pytest.param("ShallowScope", marks=pytest.mark.spec("cancel.scope.cancel")),
]

# The rules that cannot reach a scope's bug: the sockets' (the OS's faults
# with them), the callbacks', other threads', run()'s, the lifecycle's, the
# timer churn's and the primitives'.
_OTHER_RULES = (
    "peer_send",
    "peer_close",
    "peer_recv",
    "peer_connect",
    "peer_wake_all",
    "call_later",
    "call_when_idle",
    "thread_call",
    "thread_post",
    "foreign_call",
    "run",
    "spawn_sync",
    "inject_fault",
    "churn_timers",
    "run_forever",
    "stop",
    "shutdown",
    "close",
)


def _not_a_rule(self: object, *args: object, **kwargs: object) -> None:
    """Takes a rule's place in a subclass, so Hypothesis no longer draws it."""


def _hunter(name: str) -> type[LoopMachine]:
    primitives = Primitives(cancel_scope=BROKEN_SCOPES[name])
    hunter = machine_for(Loop, primitives=primitives, base=SyncLoopMachine)
    for other in _OTHER_RULES:
        setattr(hunter, other, _not_a_rule)
    hunter.__name__ = f"{name}Machine"
    return hunter


@pytest.fixture(autouse=True)
def _machine_strategies_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As in test_broken_loops: draw from the machine's strategies alone."""
    monkeypatch.setattr(providers, "_get_local_constants", providers.Constants)
    providers.CONSTANTS_CACHE.cache.clear()
    yield
    providers.CONSTANTS_CACHE.cache.clear()


def test_every_broken_scope_is_listed() -> None:
    assert {case.values[0] for case in CASES} == set(BROKEN_SCOPES)


@pytest.mark.parametrize("name", CASES)
def test_stateful_test_catches(name: str) -> None:
    with pytest.raises(BaseException) as caught:
        run_state_machine_as_test(_hunter(name), settings=HUNT)
    assert not isinstance(caught.value, KeyboardInterrupt)
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    steps = [
        line
        for line in notes.splitlines()
        if line.startswith("state.")
        and not line.startswith(("state.agrees", "state.teardown"))
    ]
    assert steps, f"no failing program was printed for {name}"
    assert len(steps) <= 8, "\n".join(steps)
