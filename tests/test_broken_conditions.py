"""The condition machine bites: every deliberately broken condition and
semaphore (refloop/testing/broken_conditions.py) is caught, with a short
failing program."""

from __future__ import annotations

import pytest
from conftest import printed_steps
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from refloop.testing.broken_conditions import BROKEN_CONDITIONS
from refloop.testing.condition_machine import machine_with

pytestmark = pytest.mark.usefixtures("machine_strategies_only")

CASES = [
    pytest.param(name, marks=pytest.mark.spec(rule), id=name)
    for name, rule in [
        ("NewestFirstCondition", "sync.cond.notify"),
        ("UnlockedCancelCondition", "sync.cond.wait"),
        ("ConsumingCondition", "sync.cond.notified-wins"),
        ("BargingSemaphore", "sync.sem.handoff"),
        ("LooseBoundedSemaphore", "sync.sem.bounded"),
        ("ThreadBlindSemaphore", "sync.bind"),
        ("SilentLock", "sync.lock.owner"),
    ]
]


def test_every_broken_primitive_is_listed() -> None:
    assert {case.values[0] for case in CASES} == set(BROKEN_CONDITIONS)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", CASES)
def test_the_condition_machine_catches(name: str, hunt: settings) -> None:
    slot, cls = BROKEN_CONDITIONS[name]
    with pytest.raises(AssertionError) as caught:
        run_state_machine_as_test(machine_with(**{slot: cls}), settings=hunt)
    steps = printed_steps(caught.value)
    assert steps, f"no failing program was printed for {name}"
    assert len(steps) <= 12, "\n".join(steps)


def test_machine_with_refuses_what_it_cannot_run() -> None:
    with pytest.raises(ValueError, match="no slot 'queue_type'"):
        machine_with(queue_type=dict)
    with pytest.raises(TypeError, match="subclass of Condition"):
        machine_with(condition_type=dict)
