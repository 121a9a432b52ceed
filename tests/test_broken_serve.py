"""The serve machine bites: every deliberately broken server is caught
(refloop/testing/broken_serve.py), with a short failing program."""

from __future__ import annotations

import pytest
from conftest import printed_steps, without
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from refloop.testing.broken_serve import BROKEN_ENTRIES, BROKEN_SERVERS
from refloop.testing.serve_machine import ServeMachine, machine_with

pytestmark = pytest.mark.usefixtures("machine_strategies_only")

CASES = [
    pytest.param(name, marks=pytest.mark.spec(rule), id=name)
    for name, rule in [
        ("SpinningServer", "serve.backoff"),
        ("FatalShortageServer", "serve.backoff"),
        ("PatientAbortServer", "op.accept.aborted"),
        ("UncappedServer", "serve.backoff"),
        ("NurseryServer", "serve.handler-fails"),
    ]
]


# The rules that start other servers beside the machine's: a broken accept
# loop is hunted without them (its budget goes to the rules that reach it).
SIDE_SERVERS = ("refused_server", "serve_over_tcp")


def test_every_broken_server_is_listed() -> None:
    assert {case.values[0] for case in CASES} == set(BROKEN_SERVERS)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", CASES)
def test_the_serve_machine_catches(name: str, hunt: settings) -> None:
    with pytest.raises(AssertionError) as caught:
        machine = without(machine_with(BROKEN_SERVERS[name]), SIDE_SERVERS)
        run_state_machine_as_test(machine, settings=hunt)
    steps = printed_steps(caught.value)
    assert steps, f"no failing program was printed for {name}"
    assert len(steps) <= 14, "\n".join(steps)


@pytest.mark.spec("serve.arguments")
@pytest.mark.parametrize("name", sorted(BROKEN_ENTRIES))
def test_the_serve_machine_catches_a_careless_refusal(
    name: str, hunt: settings
) -> None:
    entry, broken = BROKEN_ENTRIES[name]
    entries = {**ServeMachine.entries, entry: broken}
    machine = without(
        type(name, (ServeMachine,), {"entries": entries}), ("serve_over_tcp",)
    )
    with pytest.raises(AssertionError, match="refused") as caught:
        run_state_machine_as_test(machine, settings=hunt)
    steps = printed_steps(caught.value)
    assert any("refused_server" in step for step in steps), "\n".join(steps)
    assert len(steps) <= 14, "\n".join(steps)


def test_machine_with_refuses_what_is_not_a_server() -> None:
    with pytest.raises(TypeError, match="subclass of _Server"):
        machine_with(dict)  # type: ignore[arg-type]
