"""The core machine (refloop/testing/core_machine.py) bites on its own: the
broken loop it was built for is caught with the whole machine, nothing left
out, and its last poll sees a registration that the example's final steps
left behind."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from refloop import Loop
from refloop.model import Recv
from refloop.testing import machine_for
from refloop.testing.broken import StaleInterestLoop
from refloop.testing.compare import Mismatch
from refloop.testing.core_machine import CoreLoopMachine

pytestmark = pytest.mark.usefixtures("machine_strategies_only")

# The mutation profile's search (tests/conftest.py), so that what it kills
# there it is seen to kill here.
FEW = settings(settings.get_profile("mutation"), print_blob=False)


def test_core_machine_catches_a_stale_registration() -> None:
    machine = machine_for(StaleInterestLoop, base=CoreLoopMachine)
    with pytest.raises(Mismatch, match="watches"):
        run_state_machine_as_test(machine, settings=FEW)


def _parked_then_cancelled(factory: type[Loop]) -> CoreLoopMachine:
    """A task parks on a stream, the loop polls once (registering it), the
    task is cancelled and finishes; nothing waits, so the loop polls no more."""
    m = machine_for(factory, base=CoreLoopMachine)()
    m.start([(Recv("A", 4),)])
    for _ in range(2):
        m.run_once()
        m.agrees()
    m.cancel_waiting(0)
    m.agrees()
    m.run_once()
    m.agrees()
    return m


@pytest.mark.spec("io.interest")
def test_last_poll_sees_what_the_last_steps_left() -> None:
    broken = _parked_then_cancelled(StaleInterestLoop)
    stale = r"watches \[\(\d+, 1\)\], but the waiters are on \[\]"
    with pytest.raises(Mismatch, match=stale):
        broken.teardown()
    sound = _parked_then_cancelled(Loop)
    polls = len(sound.real.selector.timeouts)
    sound.teardown()
    # The last poll happened: a day's, the clamp of a sleep for ever.
    assert sound.real.selector.timeouts[polls:] == [86400.0]
