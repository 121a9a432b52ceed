"""The stream machine bites: every deliberately broken stream is caught
(refloop/testing/broken_streams.py), with a short failing program."""

from __future__ import annotations

import pytest
from conftest import printed_steps
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from refloop.testing.broken_streams import BROKEN_STREAMS
from refloop.testing.stream_machine import machine_over

pytestmark = pytest.mark.usefixtures("machine_strategies_only")

CASES = [
    pytest.param(name, marks=pytest.mark.spec(rule), id=name)
    for name, rule in [
        ("HeaderFirstStream", "stream.keeps-bytes"),
        ("DropOnCancelStream", "stream.keeps-bytes"),
        ("TwoReadersStream", "stream.one-receiver"),
        ("DeafCloseStream", "stream.close"),
        ("SocketNamingStream", "stream.close"),
        ("CutInStream", "stream.send.serialised"),
    ]
]


def test_every_broken_stream_is_listed() -> None:
    assert {case.values[0] for case in CASES} == set(BROKEN_STREAMS)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", CASES)
def test_the_stream_machine_catches(name: str, hunt: settings) -> None:
    machine = machine_over("plain", BROKEN_STREAMS[name])
    with pytest.raises(AssertionError) as caught:
        run_state_machine_as_test(machine, settings=hunt)
    steps = printed_steps(caught.value)
    assert steps, f"no failing program was printed for {name}"
    assert len(steps) <= 12, "\n".join(steps)


def test_machine_over_refuses_what_it_cannot_run() -> None:
    with pytest.raises(ValueError, match="no transport 'udp'"):
        machine_over("udp")
    with pytest.raises(ValueError, match="for the plain transport"):
        machine_over("tls", BROKEN_STREAMS["CutInStream"])
    with pytest.raises(TypeError, match="subclass of Stream"):
        machine_over("plain", dict)  # type: ignore[arg-type]
