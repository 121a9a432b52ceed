"""The stateful machine's base: the model and the real loop it compares, how
they are made afresh, and the check after every step (`agrees`).

`MachineBase` creates every field the machine's rules use; the rules are
added by its subclasses, in one line of descent: `LifecycleRules`
(refloop/testing/lifecycle_rules.py: run_forever, stop, shutdown, close),
then `LoopMachine` (refloop/testing/machine.py: spawn, run_once, the
environment's actions, run). No class declares a field that another creates.
"""

from __future__ import annotations

from typing import ClassVar

from hypothesis import note
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import RuleBasedStateMachine, invariant

from .. import model
from .._loop import Loop
from ..model import State
from .compare import Mismatch, compare
from .harness import Harness
from .protocol import LoopFactory
from .strategies import CHANNELS, LISTENERS, STREAMS
from .sync_harness import Primitives

__all__ = ["MachineBase"]


class MachineBase(RuleBasedStateMachine):
    """The model and the real loop, side by side (see the module docstring)."""

    loop_factory: ClassVar[LoopFactory] = Loop
    budget: ClassVar[int] = 3
    capacity: ClassVar[int] = 8
    # The primitives' classes: replace one to test it (spec/11-sync.md).
    primitives: ClassVar[Primitives] = Primitives()

    def __init__(self) -> None:
        super().__init__()
        # Steps checked so far, and whether a close has reopened the loop
        # (the close rule's precondition: LifecycleRules).
        self.steps = 0
        self.reopened = False
        self._open()

    def _open(self) -> None:
        """A fresh loop and model, with nothing spawned (also after `close`,
        so that the steps after it test a loop again)."""
        streams = tuple(s for s in STREAMS if "." not in s)
        self.model = model.initial(
            streams, LISTENERS, budget=self.budget, capacity=self.capacity
        )
        for name, room in CHANNELS:
            self.model = model.declare_channel(self.model, name, room)
        self.real = Harness(
            type(self).loop_factory,
            streams=streams,
            listeners=LISTENERS,
            budget=self.budget,
            capacity=self.capacity,
            channels=CHANNELS,
            primitives=type(self).primitives,
        )
        # True while every step so far has been checked and agreed; teardown
        # settles the loop only then, so that it never masks a failure.
        self.clean = True

    def _reopen(self) -> None:
        self.real.dispose()
        self._open()
        self.reopened = True

    def _open_stream(self, name: str) -> model.Sock | None:
        found = model.sock(self.model, name)
        if found is None or found.listener or found.closed:
            return None
        return found

    @invariant()
    def agrees(self) -> None:
        """After every step: the model keeps its invariants, and the model
        and the real loop agree on everything the loop decides."""
        broken = model.violated(self.model)
        assert not broken, f"the model breaks {broken}"
        problems = compare(self.model, self.real)
        if problems:
            if currently_in_test_context():
                note(f"model state: {self.model!r}")
            raise Mismatch("; ".join(problems))
        self.clean = True
        self.steps += 1

    def _offers(self, method: str) -> bool:
        """Whether the loop under test has `method` (an optional door)."""
        return hasattr(self.real.loop, method)

    def _compare(self, what: str, want: object, got: object) -> None:
        if want != got:
            raise Mismatch(f"{what}: model {want!r}, real {got!r}")

    def _unchanged(self, what: str, snapshot: object, before: State) -> None:
        """A refused call left the loop exactly as it was."""
        after = self.real.abstract()
        if self.real.loop.snapshot() != snapshot or after != before:
            raise Mismatch(f"{what} changed the loop: {before!r} -> {after!r}")
