"""The stateful test: the real loop and the model, side by side.

`LoopMachine` is a Hypothesis RuleBasedStateMachine. Each rule is one action,
named as the model's transition is named: `spawn`, `run_once`, `cancel`,
`peer_send`, `peer_close`, `peer_recv`, `peer_connect`, `advance`,
`thread_post`, `pool_finish`. Each
applies the action to the model and to the real loop (through `Harness`),
and after every step the machine checks that the two agree on everything the
loop decides: each
task's state, log and error; the run queue; the waiters, oldest first; the
failures reported; the pending timers in firing order; and, for `run_once`,
the poll timeout and the order in which tasks were woken, fired and run.
The invariants are checked on both sides.

To test another loop, make a machine for it with `machine_for(factory)`: any
loop that offers `refloop.testing.LoopUnderTest` will do, subclass of
refloop.Loop or not (see refloop/testing/protocol.py).
"""

from __future__ import annotations

from typing import Any

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import initialize, precondition, rule

from .. import model
from ..model import Op
from .compare import Mismatch, compare
from .lifecycle_rules import LifecycleRules
from .protocol import LoopFactory
from .strategies import (
    LISTENERS,
    MAX_TASKS,
    callbacks,
    delays,
    faults,
    few_programs,
    programs,
    streams,
)

__all__ = ["LoopMachine", "Mismatch", "compare", "machine_for"]

MAX_CONNECTIONS = 2
MAX_CALLS = 5
# Faults pending on one socket at a time (env.fault).
MAX_FAULTS = 2
# Timers a churn schedules and cancels: more than the 64 cancelled entries
# after which the loop rebuilds its heap (timer.cancel.memory).
CHURN = 70
SETTLE_ITERATIONS = 20


class LoopMachine(LifecycleRules):
    """Model versus real loop; subclass and set `loop_factory` to test another
    loop."""

    # ----------------------------------------------------------- rules

    @initialize(programs=few_programs())
    def start(self, programs: list[tuple[Op, ...]]) -> None:
        """`spawn`, for each of a few programs: every run starts with work."""
        self.clean = False
        for program in programs:
            self.spawn(program)

    @rule(program=programs())
    def spawn(self, program: tuple[Op, ...]) -> None:
        self.clean = False
        if len(self.model.tasks) >= MAX_TASKS:
            return
        self.model, tid = model.spawn(self.model, program)
        real_tid = self.real.spawn(program)
        assert tid == real_tid, f"spawn numbered the task {real_tid}, model {tid}"

    @rule()
    def run_once(self) -> None:
        self.clean = False
        before = self.model
        self.model, want = model.run_once(self.model)
        got = self.real.run_once()
        # A callback's BaseException ends the iteration it was raised in, as
        # does a task's KeyboardInterrupt.
        escaped = model.escaped(before, self.model)
        wakes = sum(1 for e in want if isinstance(e, model.event.Wake))
        if currently_in_test_context():
            event(f"run_once wakes {min(wakes, 3)}{'+' if wakes >= 3 else ''} waiters")
        if list(want) != got:
            raise Mismatch(f"run_once events: model {list(want)}, real {got}")
        if escaped != self.real.escaped:
            raise Mismatch(
                f"a callback's BaseException escaped run_once: model {escaped}, "
                f"real {self.real.escaped}"
            )

    @rule(
        sends=st.lists(
            st.tuples(streams(), st.binary(min_size=1, max_size=12)),
            min_size=1,
            max_size=3,
        )
    )
    def peer_send(self, sends: list[tuple[str, bytes]]) -> None:
        """Peers send, each `(sock, data)` in turn, before the loop polls
        again (several at once is what makes several waiters ready at once)."""
        self.clean = False
        for sock, data in sends:
            found = self._open_stream(sock)
            if found is None or found.peer_closed:
                continue
            self.model = model.peer_send(self.model, sock, data)
            after = self._open_stream(sock)
            assert after is not None
            self.real.peer_send(sock, data, len(after.inbound))

    @rule()
    def peer_wake_all(self) -> None:
        """Every peer whose socket has a read waiter sends it a byte, and a
        listener's waiter gets a connection: all of them are ready at the
        next poll, which then wakes several waiters in one iteration (a
        random mix of peer actions rarely builds that; tick.wake-order)."""
        self.clean = False
        for w in self.model.waiters:
            if w.kind != model.READ or not isinstance(w.target, str):
                continue
            found = model.sock(self.model, w.target)
            if found is not None and found.listener:
                self.peer_connect(w.target)
            elif found is not None and not found.peer_closed:
                self.peer_send([(w.target, b"w")])

    @rule(sock=streams())
    def peer_close(self, sock: str) -> None:
        self.clean = False
        found = self._open_stream(sock)
        if found is None or found.peer_closed:
            return
        self.model = model.peer_close(self.model, sock)
        self.real.peer_close(sock)

    @rule(
        reads=st.lists(st.tuples(streams(), st.integers(1, 16)), min_size=1, max_size=2)
    )
    def peer_recv(self, reads: list[tuple[str, int]]) -> None:
        """Peers read up to n bytes each of what the loop sent them."""
        self.clean = False
        for sock, n in reads:
            found = model.sock(self.model, sock)
            if found is None or found.listener:
                continue
            if found.reset:
                # Closed with unread input: the kernel reset the connection
                # and the peer's read fails (io.close.keeps-sent).
                continue
            self.model, want = model.peer_recv(self.model, sock, n)
            got = self.real.peer_recv(sock, n, len(want))
            if want != got:
                raise Mismatch(
                    f"the peer of {sock} read {got!r}; the model says {want!r}"
                )

    @rule(tid=st.integers(0, MAX_TASKS - 1))
    def cancel(self, tid: int) -> None:
        """Code outside the loop cancels task `tid` (if it exists)."""
        self.clean = False
        if tid >= len(self.model.tasks):
            return
        self.model = model.cancel(self.model, tid)
        self.real.cancel(tid)

    @rule(tid=st.integers(0, MAX_TASKS - 1))
    def thread_post(self, tid: int) -> None:
        """The thread holding task `tid`'s continuation posts it back."""
        self.clean = False
        if not any(w.kind == model.THREAD and w.tid == tid for w in self.model.waiters):
            return
        self.model = model.thread_post(self.model, tid)
        self.real.thread_post(tid)

    @rule(pick=st.integers(0, 7))
    def pool_finish(self, pick: int) -> None:
        """A `run_in_thread` job finishes and its worker posts the outcome:
        to its task if it still waits, else dropped (thread.run-cancel)."""
        self.clean = False
        awaited = [w.target for w in self.model.waiters if w.kind == model.POOL]
        running = sorted([*awaited, *self.model.orphans], key=int)
        if not running:
            return
        job = int(running[pick % len(running)])
        if currently_in_test_context():
            orphan = job in self.model.orphans
            event(f"pool_finish of {'an orphan' if orphan else 'a job waited for'}")
        self.model = model.pool_finish(self.model, job)
        self.real.pool_finish(job)

    @precondition(lambda self: bool(self.model.orphans))
    @rule(pick=st.integers(0, 7))
    def finish_orphan(self, pick: int) -> None:
        """`pool_finish` of a job whose task was cancelled, drawn whenever
        there is one: its post must resume nobody, even once the task waits
        on something else (thread.run-cancel, thread.run.orphan). Among all
        the rules, an orphan's finish came seldom while the task still
        waited again."""
        self.clean = False
        orphans = sorted(self.model.orphans, key=int)
        job = int(orphans[pick % len(orphans)])
        self.model = model.pool_finish(self.model, job)
        self.real.pool_finish(job)

    @rule(ticks=delays(), callback=callbacks())
    def call_later(self, ticks: float, callback: model.Callback) -> None:
        """Code outside the tasks schedules a callback that may fail, with a
        BaseException too, or cancel a task (timer.callback-error,
        timer.callback-base-exception)."""
        self.clean = False
        if len(self.model.calls) >= MAX_CALLS:
            return
        self.model, n = model.call_later(self.model, ticks, callback)
        assert self.real.call_later(ticks, callback) == n

    @rule(callback=callbacks())
    def call_when_idle(self, callback: model.Callback) -> None:
        """Code outside the tasks makes an idle call that may fail or change
        the queues (idle.snapshot, idle.callback-error)."""
        self.clean = False
        if len(self.model.calls) >= MAX_CALLS:
            return
        self.model, n = model.call_when_idle(self.model, callback)
        assert self.real.call_when_idle(callback) == n

    @rule(callback=callbacks())
    def thread_call(self, callback: model.Callback) -> None:
        """Another thread posts a callback that may fail or change the
        queues (thread.post.callback-error)."""
        self.clean = False
        if len(self.model.calls) >= MAX_CALLS:
            return
        self.model, n = model.thread_call(self.model, callback)
        assert self.real.thread_call(callback) == n

    @rule(call=st.sampled_from(model.FOREIGN_CALLS), pick=st.integers(0, 7))
    def foreign_call(self, call: str, pick: int) -> None:
        """Another thread calls one of the loop's doors (thread.owner): the
        outcome is the model's, and a refused call leaves the loop's
        snapshot exactly as it was (thread.refused-unchanged)."""
        self.clean = False
        targets = model.foreign_targets(self.model, call)
        if not targets:
            return
        target = targets[pick % len(targets)]
        self.model, want = model.foreign_call(self.model, call, target)
        before_snapshot, before = self.real.loop.snapshot(), self.real.abstract()
        got = self.real.foreign_call(call, target)
        if got != want and not (want != "LoopError" and got == want):
            raise Mismatch(
                f"{call}({target!r}) from another thread: {got}, model {want}"
            )
        if want == "LoopError":
            after = self.real.abstract()
            if self.real.loop.snapshot() != before_snapshot or after != before:
                raise Mismatch(
                    f"{call}({target!r}) from another thread was refused but "
                    f"changed the loop: {before!r} -> {after!r}"
                )

    @rule(program=programs())
    def run(self, program: tuple[Op, ...]) -> None:
        """`loop.run(main)`: until main finishes, until no task can be
        resumed (loop.run.deadlock), or until its poll would wait for the
        environment, where the harness stops it; compared as run_once is."""
        self.clean = False
        if len(self.model.tasks) >= MAX_TASKS or not hasattr(self.real.loop, "run"):
            return
        self.model, want, outcome = model.run(self.model, program)
        got, real_outcome = self.real.run(program)
        if list(want) != got:
            raise Mismatch(f"run events: model {list(want)}, real {got}")
        if outcome != real_outcome:
            raise Mismatch(f"run ended: model {outcome!r}, real {real_outcome!r}")

    @rule(ticks=st.integers(1, 3))
    def advance(self, ticks: int) -> None:
        """The clock moves forward."""
        self.clean = False
        self.model = model.advance(self.model, ticks)
        self.real.advance(ticks)

    @rule(sock=st.sampled_from(LISTENERS))
    def peer_connect(self, sock: str) -> None:
        self.clean = False
        found = model.sock(self.model, sock)
        if (
            found is None
            or found.closed
            or found.backlog + found.accepted >= MAX_CONNECTIONS
        ):
            return
        self.model = model.peer_connect(self.model, sock)
        self.real.peer_connect(sock)

    @rule(injected=faults())
    def inject_fault(self, injected: tuple[str, model.Fault]) -> None:
        """The OS's limits: the next recv, send or accept on a socket fails
        with ECONNRESET, EPIPE, EMFILE, ENFILE, ECONNABORTED, EPROTO or
        EINTR, or moves fewer
        bytes (env.fault, op.error, op.eintr, op.short, io.ready.error)."""
        self.clean = False
        sock, fault = injected
        found = model.sock(self.model, sock)
        if found is None or found.closed or len(found.faults) >= MAX_FAULTS:
            return
        self.model = model.inject_fault(self.model, sock, fault)
        self.real.inject_fault(sock, fault)

    @rule(ticks=st.integers(0, 3))
    def churn_timers(self, ticks: int) -> None:
        """Code outside the tasks schedules many callbacks, as far off as the
        tasks' timers (ties among them), and cancels them all: the loop
        rebuilds its timer heap, and the live timers must fire as before
        (timer.cancel.memory; the model does not change)."""
        self.clean = False
        self.real.churn_timers(ticks, CHURN)

    # ----------------------------------------------------------- checks

    def teardown(self) -> None:
        """Let the loop settle (`run_once` while the model says anything can
        run, with no more environment actions), checking each iteration, then
        close everything."""
        try:
            for _ in range(SETTLE_ITERATIONS if self.clean else 0):
                if not self.model.run_queue and not any(
                    model.is_ready(self.model, w) for w in self.model.waiters
                ):
                    break
                self.run_once()
                self.agrees()
        finally:
            self.real.dispose()


def machine_for(factory: LoopFactory, **settings: Any) -> type[LoopMachine]:
    """A LoopMachine subclass that runs the loops `factory` makes against the
    model: a `LoopFactory`, such as a Loop subclass or any class or function
    taking the same keyword arguments and making a `LoopUnderTest`."""
    name = getattr(factory, "__name__", "Custom") + "Machine"
    base = settings.pop("base", LoopMachine)
    namespace: dict[str, Any] = {"loop_factory": staticmethod(factory), **settings}
    return type(name, (base,), namespace)
