"""The group machine bites: every deliberately broken task group
(refloop/testing/broken_groups.py) is caught, with a short failing program."""

from __future__ import annotations

import pytest
from conftest import printed_steps
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from refloop import TaskGroup
from refloop.testing.broken_groups import BROKEN_GROUPS
from refloop.testing.group_machine import machine_with

pytestmark = pytest.mark.usefixtures("machine_strategies_only")

CASES = [
    pytest.param(name, marks=pytest.mark.spec(rule), id=name)
    for name, rule in [
        ("LostBlockGroup", "cancel.scope.group"),
        ("SwallowingGroup", "cancel.scope.group"),
        ("ImpatientGroup", "cancel.scope.group"),
        ("DeafGroup", "cancel.scope.group"),
        ("UncancelledLateChildGroup", "cancel.scope.group-cancel"),
        ("LateSpawnGroup", "cancel.scope.group-spawn"),
        ("MisnamingGroup", "cancel.scope.group-spawn"),
        ("ThreadBlindGroup", "thread.refused-unchanged"),
        ("WrappingGroup", "cancel.scope.group-interrupt"),
    ]
]


def test_every_broken_group_is_listed() -> None:
    assert {case.values[0] for case in CASES} == set(BROKEN_GROUPS)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", CASES)
def test_the_group_machine_catches(name: str, hunt: settings) -> None:
    with pytest.raises(AssertionError) as caught:
        run_state_machine_as_test(machine_with(BROKEN_GROUPS[name]), settings=hunt)
    steps = printed_steps(caught.value)
    assert steps, f"no failing program was printed for {name}"
    assert len(steps) <= 12, "\n".join(steps)


def test_machine_with_refuses_what_it_cannot_run() -> None:
    with pytest.raises(TypeError, match="subclass of TaskGroup"):
        machine_with(dict)  # type: ignore[arg-type]
    assert machine_with(TaskGroup).group_type is TaskGroup
