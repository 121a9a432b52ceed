"""The centre of the test suite: the real loop against the model."""

from __future__ import annotations

import pytest

from refloop.testing import LoopMachine, SyncLoopMachine
from refloop.testing.condition_machine import ConditionMachine
from refloop.testing.core_machine import CoreLoopMachine
from refloop.testing.group_machine import GroupMachine
from refloop.testing.serve_machine import ServeMachine
from refloop.testing.stream_machine import machine_over

# What the machines draw does not depend on which modules happen to be
# loaded (Hypothesis mixes their literal constants in otherwise): the same
# programs here, alone (tools/mutation.py), and in the whole suite.
pytestmark = pytest.mark.usefixtures("machine_strategies_only")

RULES = [
    "spawn",
    "tick.poll-timeout",
    "tick.wake-order",
    "tick.ready-snapshot",
    "cont.resume-enqueues",
    "io.wait",
    "io.ready",
    "io.wait.one-per-direction",
    "io.interest",
    "io.close.wakes",
    "io.close.unregister-first",
    "io.close.keeps-sent",
    "io.closed.rejects",
    "op.try-first",
    "op.budget",
    "op.yield",
    "op.sendall",
    "task.finish",
    "task.join",
    "task.join.wakes",
    "task.join.self",
    "task.fail.report",
    "env.peer-send",
    "env.peer-close",
    "env.peer-recv",
    "env.peer-connect",
    "inv.one-place",
    "inv.one-resume",
    "inv.one-waiter",
    "inv.waiter-live",
    "inv.capacity",
    "inv.timer-live",
    "timer.sleep",
    "timer.fire",
    "timer.order",
    "timer.poll-timeout",
    "timer.clock",
    "env.advance",
    "cancel.waiting",
    "cancel.runnable",
    "cancel.finished",
    "cancel.not-reported",
    "cancel.scope.timeout",
    "cancel.scope.nested",
    "idle",
    "thread.post",
    "env.thread-post",
    "loop.stop",
    "loop.stop.pending",
    "loop.shutdown",
    "loop.close",
    "loop.close.refuses",
    "cont.handler-raises",
    "cont.handler-base-exception",
    "env.fault",
    "op.error",
    "op.eintr",
    "op.short",
    "op.accept.resources",
    "io.ready.error",
    "timer.cancel.memory",
]

TestLoopAgainstModel = pytest.mark.spec(*RULES)(LoopMachine.TestCase)

# The same binding with its weight on the core's transitions (more
# iterations, cancels that hit parked tasks; refloop/testing/core_machine.py).
CORE_RULES = ["cancel.waiting", "io.interest", "tick.wake-order", "timer.fire"]
TestCoreAgainstModel = pytest.mark.spec(*CORE_RULES)(CoreLoopMachine.TestCase)

SYNC_RULES = [
    "sync.fifo",
    "sync.cancel-waiting",
    "sync.event.set",
    "sync.event.wait",
    "sync.lock.acquire",
    "sync.lock.handoff",
    "sync.lock.owner",
    "chan.send.handoff",
    "chan.send.wait",
    "chan.recv",
    "chan.send.closed",
    "chan.close",
    "chan.cancel",
    "inv.sync-queues",
    "cancel.scope.cancel",
    "cancel.scope.nested",
    "cancel.shield",
    "cancel.shield.merge",
    "cancel.shield.exit",
    "cancel.merge",
]

TestSyncAgainstModel = pytest.mark.spec(*SYNC_RULES)(SyncLoopMachine.TestCase)

# A lock with its condition and a semaphore, used by actor tasks, against
# refloop/model/condition.py (refloop/testing/condition_machine.py).
CONDITION_RULES = [
    "sync.fifo",
    "sync.cancel-waiting",
    "sync.bind",
    "sync.lock.acquire",
    "sync.lock.handoff",
    "sync.lock.owner",
    "sync.sem.value",
    "sync.sem.handoff",
    "sync.sem.bounded",
    "sync.cond.hold",
    "sync.cond.wait",
    "sync.cond.notify",
    "sync.cond.notified-wins",
    "cancel.runnable",
    "cancel.waiting",
    "cancel.scope.cancel",
    "cancel.merge",
]
TestConditionAgainstModel = pytest.mark.spec(*CONDITION_RULES)(
    ConditionMachine.TestCase
)

# The task group's rules, checked by the group machine against its model
# (refloop/model/group.py).
GROUP_RULES = [
    "cancel.scope.group",
    "cancel.scope.group-cancel",
    "cancel.scope.group-spawn",
    "cancel.scope.group-interrupt",
    "thread.refused-unchanged",
    "cancel.runnable",
    "cancel.waiting",
    "cancel.merge",
    "task.join",
]
TestGroupAgainstModel = pytest.mark.spec(*GROUP_RULES)(GroupMachine.TestCase)

# A server's accept loop under the OS's limits, on a virtual clock, against
# its model (refloop/model/serve.py).
SERVE_RULES = [
    "serve.arguments",
    "serve.backoff",
    "serve.task-per-connection",
    "serve.handler-fails",
    "serve.shutdown",
    "op.accept.aborted",
    "op.accept.resources",
    "op.eintr",
    "op.try-first",
]
TestServeAgainstModel = pytest.mark.spec(*SERVE_RULES)(ServeMachine.TestCase)


@pytest.mark.spec("cancel.scope.nested", "cancel.scope.timeout")
def test_nested_scopes_firing_together_found_by_refloop_fuzz() -> None:
    """Found by a one-minute `refloop fuzz` campaign: two nested scopes fire
    in the same iteration; the outer one's Cancelled unwinds both, and the
    inner one's pending request must be withdrawn on the way out."""
    from refloop.model import EndMoveOnAfter, MoveOnAfter, Recv

    state = LoopMachine()
    try:
        state.start(programs=[(Recv(sock="B", n=1),)])
        state.agrees()
        state.spawn(
            program=(
                MoveOnAfter(ticks=0),
                MoveOnAfter(ticks=0),
                Recv(sock="A", n=1),
                EndMoveOnAfter(),
                EndMoveOnAfter(),
                Recv(sock="A", n=1),
            )
        )
        state.agrees()
        state.run_once()
        state.agrees()
        state.run_once()
        state.agrees()
        assert state.model.tasks[1].state == "waiting"
    finally:
        state.teardown()


@pytest.mark.spec("cancel.scope.timeout", "task.join")
def test_a_joined_tasks_cancellation_is_not_the_joiners_scope() -> None:
    """Found by a `refloop fuzz` campaign: a task joins a task that was
    cancelled, while its own timeout scope fires; the Cancelled that join
    re-raises is the target's, so the scope must not absorb it."""
    from refloop.model import Accept, EndMoveOnAfter, Join, MoveOnAfter, Recv

    state = LoopMachine()
    try:
        state.start(programs=[(Recv(sock="A", n=1),), (Recv(sock="A", n=1),)])
        state.spawn(program=(Accept(sock="L"),))
        state.spawn(program=(MoveOnAfter(ticks=1), Join(tid=2), EndMoveOnAfter()))
        for act in (state.run_once, lambda: state.cancel(tid=2), state.run_once):
            act()
            state.agrees()
        state.advance(ticks=1)
        state.run_once()
        state.agrees()
        assert state.model.tasks[3].error == "Cancelled"
    finally:
        state.teardown()


# One buffered stream against refloop/model/stream.py, over a socketpair, TCP
# (serve_tcp and open_tcp_connection) and TLS (refloop/testing/stream_machine.py).
STREAM_RULES = [
    "stream.receive-some",
    "stream.until",
    "stream.limit",
    "stream.eof",
    "stream.keeps-bytes",
    "stream.one-receiver",
    "stream.send.serialised",
    "stream.closed",
    "stream.close",
    "stream.close.other-thread",
    "stream.messages",
    "stream.messages.args",
    "msg.frame.encode",
    "msg.frame.symmetric",
    "msg.frame.max",
    "msg.frame.eof",
    "msg.frame.bad-header-closes",
    "msg.frame.bad-body-keeps",
]
TestStreamAgainstModel = pytest.mark.spec(*STREAM_RULES)(machine_over("plain").TestCase)
TestTCPStreamAgainstModel = pytest.mark.spec(
    *STREAM_RULES, "serve.task-per-connection"
)(machine_over("tcp").TestCase)
TestTLSStreamAgainstModel = pytest.mark.spec(*STREAM_RULES, "tls.send.flushed")(
    machine_over("tls").TestCase
)
