"""The stateful machine's rules for the loop's lifecycle: `run_forever`,
`stop`, `shutdown`, `close`, Ctrl-C in `run`, and the doors of a closed loop
(refloop.model.lifecycle; spec loop.stop, loop.stop.pending, loop.shutdown,
loop.close, loop.close.refuses). LoopMachine inherits them; they use what
MachineBase (refloop/testing/machine_base.py) creates.

`run_forever` is given a way to stop: a callback that calls `stop()`, made
with `call_later`, `call_when_idle` or `call_soon_threadsafe` just before
(or none: a `stop` rule before it, or a poll that would wait, ends it).
`close` checks what the close did, then knocks at every door a closed loop
must refuse, and then the machine goes on with a fresh loop and model, so
that the steps after it are not spent on a closed loop.
"""

from __future__ import annotations

import math
import signal
import threading
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from .. import model
from .._errors import LoopError
from .._suspend import Continuation
from ..model import Op, YieldNow
from .compare import Mismatch
from .machine_base import MachineBase
from .strategies import MAX_TASKS, cleanup_programs, programs

__all__ = ["CLOSED_DOORS", "LifecycleRules"]

# How run_forever's rule makes its stop.
_STOPS = ("none", "later", "idle", "posted")
# Graces: zero mostly, one tick, none at all, and the refused ones.
_GRACES = (0, 0, 1, math.inf, -1, math.nan)
# What a closed loop is asked (loop.close.refuses): the model says which
# it refuses (refloop.model.refuses).
CLOSED_DOORS = (*model.CLOSED_REFUSES, "stop", "close")
_MAX_CALLS = 5


def _nothing() -> None:
    pass


class LifecycleRules(MachineBase):
    """LoopMachine's lifecycle rules (see the module docstring)."""

    @rule(how=st.sampled_from(_STOPS), ticks=st.integers(0, 1))
    def run_forever(self, how: str, ticks: int) -> None:
        """`loop.run_forever()`, after making a callback that stops it (or
        not): until the stop is honoured, a BaseException escapes, or its
        poll would wait; compared as run is (loop.stop, loop.stop.pending)."""
        self.clean = False
        if not self._offers("run_forever"):
            return
        stop = model.Callback(model.STOP)
        if how != "none" and len(self.model.calls) < _MAX_CALLS:
            if how == "later":
                self.model, n = model.call_later(self.model, ticks, stop)
                assert self.real.call_later(ticks, stop) == n
            elif how == "idle":
                self.model, n = model.call_when_idle(self.model, stop)
                assert self.real.call_when_idle(stop) == n
            else:
                self.model, n = model.thread_call(self.model, stop)
                assert self.real.thread_call(stop) == n
        self.model, want, outcome = model.run_forever(self.model)
        got, real_outcome = self.real.run_forever()
        self._compare("run_forever events", list(want), got)
        self._compare("run_forever ended", outcome, real_outcome)

    @rule()
    def stop(self) -> None:
        """Code outside the tasks calls `loop.stop()` between iterations: the
        next run_forever runs one iteration (loop.stop.pending)."""
        self.clean = False
        if not self._offers("stop"):
            return
        self.model = model.stop(self.model)
        self.real.stop()

    @rule(grace=st.sampled_from(_GRACES))
    def shutdown(self, grace: float) -> None:
        """`loop.shutdown(grace)`: every unfinished task cancelled, then
        iterations until none is left or the grace has passed; a NaN or
        negative grace is refused and changes nothing (loop.shutdown)."""
        self.clean = False
        if not self._offers("shutdown"):
            return
        before_snapshot, before = self.real.loop.snapshot(), self.real.abstract()
        self.model, want, outcome = model.shutdown(self.model, grace)
        got, real_outcome, left = self.real.shutdown(grace)
        self._compare("shutdown events", list(want), got)
        self._compare("shutdown ended", outcome, real_outcome)
        if outcome == "done":
            unfinished = [
                t.tid
                for t in self.model.tasks
                if t.state not in (model.DONE, model.FAILED)
            ]
            self._compare("shutdown left", unfinished, left)
        if outcome in ("ValueError", "LoopError"):
            self._unchanged(f"shutdown({grace!r})", before_snapshot, before)

    @rule(program=cleanup_programs())
    def spawn_cleanup(self, program: tuple[Op, ...]) -> None:
        """`spawn` of a program whose cleanup misbehaves when `close()`
        closes it (OnClose first: loop.close.raises); the close rule
        compares what close raised and logged."""
        self.clean = False
        if len(self.model.tasks) >= MAX_TASKS:
            return
        self.model, tid = model.spawn(self.model, program)
        real_tid = self.real.spawn(program)
        self._compare("spawn's task number", tid, real_tid)

    @rule(program=programs(), at=st.none() | st.integers(0, 3))
    def run_interrupted(self, program: tuple[Op, ...], at: int | None = None) -> None:
        """`loop.run(main)` with Ctrl-C (a real SIGINT) in the poll where it
        would wait for the environment, or with `at` as the step of that
        number begins, if that comes first (a Ctrl-C while there is work to
        do, in a task's code, a timer or an idle call): the iteration ends,
        every task is cancelled and cleans up, the sockets waited on are
        closed and `run` raises KeyboardInterrupt, with Python's handler
        restored (loop.sigint); compared as run is. Only in the main thread, with
        Python's own SIGINT handler: elsewhere Ctrl-C is not the loop's."""
        self.clean = False
        if (
            len(self.model.tasks) >= MAX_TASKS
            or not hasattr(self.real.loop, "run")
            or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        ):
            return
        self.model, want, outcome = model.run(
            self.model, program, interrupt=True, at=at
        )
        got, real_outcome = self.real.run(program, interrupt=True, at=at)
        self._compare("interrupted run events", list(want), got)
        self._compare("interrupted run ended", outcome, real_outcome)
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise Mismatch("run() left its own SIGINT handler in place")

    # At most once an example: a close starts the machine afresh. (A
    # precondition on the steps before it made failures shrink badly: a step
    # deleted before the close disabled it and shifted every later choice.)
    @precondition(lambda self: not self.reopened)
    @rule()
    def close(self) -> None:
        """`loop.close()`: every task ended, every waiter, timer, idle and
        posted call dropped, the selector closed (loop.close), compared as
        after any step; then every door of the closed loop is refused
        (closed_refuses), and the machine goes on with a fresh loop. The
        cleanups that misbehave (OnClose) are logged, and the first
        KeyboardInterrupt among them is raised once the loop is closed
        (loop.close.raises)."""
        self.clean = False
        want = model.close_raises(self.model)
        self.model = model.close(self.model)
        got = self.real.close()
        self._compare("close() raised and logged", want, got)
        if not self.real.selector.closed:
            raise Mismatch("close() left the loop's selector open")
        self.agrees()
        for door in CLOSED_DOORS:
            self.closed_refuses(door)
        self._reopen()

    def closed_refuses(self, door: str) -> None:
        """A closed loop refuses `door` with LoopError and stays exactly as
        it was; `stop` and `close` do nothing (loop.close.refuses)."""
        before_snapshot, before = self.real.loop.snapshot(), self.real.abstract()
        want = "LoopError" if model.refuses(self.model, door) else "None"
        self._model_refuses(door, want)
        outcome = self._knock(door)
        if outcome != want:
            raise Mismatch(f"{door} on a closed loop: {outcome}, expected {want}")
        self._unchanged(f"{door} on a closed loop", before_snapshot, before)

    def _model_refuses(self, door: str, want: str) -> None:
        """The model's own transitions refuse as `refuses` says."""
        s = self.model
        outcomes = {
            "run": lambda: model.run(s, (YieldNow(),)),
            "run_forever": lambda: model.run_forever(s),
            "shutdown": lambda: model.shutdown(s, 0),
        }
        if door in outcomes:
            self._compare(
                f"the model's {door} when closed", (s, (), want), outcomes[door]()
            )
        elif door == "stop":
            self._compare("the model's stop when closed", s, model.stop(s))

    def _knock(self, door: str) -> str:
        """Make `door` on the real (closed) loop: "LoopError" if refused,
        else the repr of what it returned."""
        real, loop = self.real, self.real.loop
        calls: dict[str, Any] = {
            "spawn": lambda: real.spawn((YieldNow(),)),
            "run_once": real.run_once,
            "run_forever": lambda: _raise_named(real.run_forever()[1]),
            "shutdown": lambda: _raise_named(real.shutdown(0)[1]),
            "run": lambda: _raise_named(real.run((YieldNow(),))[1]),
            "call_later": lambda: loop.call_later(0, _nothing),
            "call_when_idle": lambda: loop.call_when_idle(_nothing),
            "call_soon_threadsafe": lambda: loop.call_soon_threadsafe(_nothing),
            "resume": lambda: _resume_all(real.abandoned),
            "stop": lambda: getattr(loop, "stop", _nothing)(),
            "close": loop.close,
        }
        if door == "resume" and not real.abandoned:
            return "LoopError"  # no continuation was held when it closed
        if door in ("run", "run_forever", "shutdown", "stop") and not self._offers(
            door
        ):
            return "None" if door == "stop" else "LoopError"
        try:
            return repr(calls[door]())
        except LoopError:
            return "LoopError"


def _resume_all(held: list[Continuation]) -> None:
    for k in held:
        k()


def _raise_named(outcome: str) -> None:
    """The harness reports a refusal as its outcome: raise it again."""
    if outcome == "LoopError":
        raise LoopError(outcome)
