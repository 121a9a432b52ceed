"""Deliberately broken cancel scopes: each breaks one rule of
spec/09-cancel.md's scopes a user controls, and the stateful test
(tests/test_broken_scopes.py) must catch every one; the model checker
refutes their model twins (refloop.check.systems.broken_scopes, the
systems of models/server.py).

Each is a small subclass of CancelScope that changes one method; the
harness makes the programs' OpenCancelScope blocks from it
(`Primitives(cancel_scope=...)`).
"""

from __future__ import annotations

from .._cancelscope import CancelScope

__all__ = ["BROKEN_SCOPES", "LeakyShield", "ShallowScope"]


class LeakyShield(CancelScope):
    """A shield that lets a cancel through: a request for a scope outside
    it reaches the block, and one pending when it goes up is not held
    (breaks cancel.shield). It takes `shield=` and keeps the shield down."""

    def __init__(self, *, shield: bool = False) -> None:
        super().__init__()


class ShallowScope(CancelScope):
    """`cancel()` that reaches its task only when the scope is the task's
    innermost: a task waiting in a scope nested inside it is missed, though
    the call reports the scope cancelled (breaks cancel.scope.cancel)."""

    def cancel(self) -> None:
        task = self._task
        if (
            task is not None
            and not self._exited
            and task._parked is not None
            and task._scopes[-1] is not self
        ):
            self._cancel_called = True
            return
        super().cancel()


BROKEN_SCOPES: dict[str, type[CancelScope]] = {
    "LeakyShield": LeakyShield,
    "ShallowScope": ShallowScope,
}
