"""The stateful harness bounds its calls into the loop under test in time
as well as in polls (refloop.testing.bound): a loop that iterates on
without polling is reported, not waited for."""

from __future__ import annotations

import signal
import time

import pytest

from refloop import Loop
from refloop.model import Recv, YieldNow
from refloop.testing import Mismatch, bound, machine_for
from refloop.testing.broken_doors import SpinningLoop


@pytest.mark.spec("tick.poll-timeout")
def test_a_run_that_spins_without_polling_is_stopped_and_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bound, "RUN_SECONDS", 0.3)
    state = machine_for(SpinningLoop)()
    try:
        state.start(programs=[(YieldNow(),)])
        started = time.monotonic()
        with pytest.raises(Mismatch, match="run events"):
            state.run((Recv("A", 1),))
        assert time.monotonic() - started < 10
        # The alarm is off and its handler restored afterwards.
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL
    finally:
        state.teardown()


@pytest.mark.spec("tick.poll-timeout")
def test_the_bound_leaves_a_loop_that_settles_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bound, "RUN_SECONDS", 5.0)
    state = machine_for(Loop)()
    try:
        state.start(programs=[(YieldNow(),)])
        _, outcome = state.real.run((Recv("A", 1),))
        assert outcome == "blocks"
    finally:
        state.teardown()
