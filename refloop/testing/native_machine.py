"""The stateful test of the native API: LoopMachine with the rules for the
synchronisation primitives (spec/11-sync.md) and the cancel scopes a user
controls (spec/09-cancel.md)."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from .. import model
from ..model import Op, OpenCancelScope
from .interpret import cancel_scope
from .machine import LoopMachine
from .strategies import scope_programs, sync_programs

__all__ = ["SyncLoopMachine"]


class SyncLoopMachine(LoopMachine):
    """LoopMachine with the native API's rules: `spawn_sync`, a task whose
    program is mostly operations on the locks, events and channels
    (spec/11-sync.md); `spawn_scoped`, one whose program runs in CancelScope
    blocks, shielded or not, and timeouts; `cancel_scope`, code outside a
    task calling `scope.cancel()` on one of its open CancelScopes
    (spec/09-cancel.md)."""

    @rule(program=sync_programs())
    def spawn_sync(self, program: tuple[Op, ...]) -> None:
        self.spawn(program)

    @initialize(programs=st.lists(scope_programs(), min_size=1, max_size=2))
    def start_scoped(self, programs: list[tuple[Op, ...]]) -> None:
        """Every run has tasks in cancel scopes: one rule among twenty
        would spawn them too rarely."""
        for program in programs:
            self.spawn(program)

    @rule(program=scope_programs())
    def spawn_scoped(self, program: tuple[Op, ...]) -> None:
        self.spawn(program)

    @rule(pick=st.integers(0, 7), plain=st.booleans())
    def cancel_scope(self, pick: int, plain: bool) -> None:
        """`scope.cancel()` from code outside the task, on open CancelScope
        number `pick` (modulo how many are open, over all tasks); or, when
        `plain`, `task.cancel()` of the task that opened it, which a shield
        holds back (cancel.shield)."""
        self.clean = False
        opened = [
            (t.tid, pc)
            for t in self.model.tasks
            for pc in t.scopes
            if isinstance(t.program[pc], OpenCancelScope)
        ]
        if not opened:
            return
        tid, pc = opened[pick % len(opened)]
        if plain:
            self.cancel(tid)
            return
        self.model = model.cancel(self.model, tid, pc)
        cancel_scope(self.real, tid, pc)
