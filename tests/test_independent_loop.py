"""`machine_for` checks a loop that is not a refloop.Loop, through the
LoopUnderTest protocol alone, and catches the seed's starvation in it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from independent_loop import SeedLoop, SnapshotSeedLoop

import refloop
from refloop.testing import LoopUnderTest, Mismatch, machine_for

QUICK = settings(
    max_examples=150,
    stateful_step_count=15,
    deadline=None,
    database=None,
    derandomize=True,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
)


def test_the_seed_loop_is_not_a_refloop_loop_but_offers_the_protocol() -> None:
    assert not issubclass(SeedLoop, refloop.Loop)

    def offers(loop: LoopUnderTest) -> LoopUnderTest:
        return loop  # mypy checks SeedLoop against the protocol here

    assert offers(SnapshotSeedLoop.__new__(SnapshotSeedLoop)) is not None


def test_refloop_operations_run_on_the_seed_loop() -> None:
    import selectors

    from refloop import VirtualClock

    events: list[tuple[str, int]] = []
    loop = SnapshotSeedLoop(
        selector=selectors.DefaultSelector(),
        clock=VirtualClock(),
        budget=3,
        trace=lambda event, task: events.append((event, task.tid)),
        report=lambda task: None,
    )

    async def nap() -> str:
        await refloop.sleep(0)
        await refloop.yield_now()
        return "rested"

    task = loop.spawn(nap())
    for _ in range(4):
        loop.run_once(0)
    assert task.result() == "rested"
    assert loop.snapshot().tasks == ()
    loop.close()


def test_the_snapshot_drain_seed_loop_agrees_with_the_model() -> None:
    """With the spec's drain, the independent loop passes the stateful test:
    the protocol is enough to drive and compare it."""
    run_state_machine_as_test(machine_for(SnapshotSeedLoop), settings=QUICK)


@pytest.mark.spec("tick.ready-snapshot")
def test_the_stateful_test_catches_the_seed_loop_starving() -> None:
    hunt = settings(QUICK, max_examples=1000, phases=[Phase.generate, Phase.shrink])
    with pytest.raises(Mismatch) as caught:
        run_state_machine_as_test(machine_for(SeedLoop), settings=hunt)
    # The failure is the drain's: the model runs a task once per iteration,
    # the seed loop again as soon as it requeues itself.
    message = str(caught.value)
    assert "run_once events" in message, message
    model, _, real = message.partition(", real ")
    assert real.count("Run(") > model.count("Run("), message
