"""Run model programs on a real loop over real sockets, and observe it.

The harness owns both ends of every socket: the loop's end (a ShimSocket) and
the peer's end, which the test drives. Stream names `A`, `B`, ... are
socketpairs; listener names `L`, ... are TCP listeners on 127.0.0.1 whose
k-th accepted connection is named `L.k`, as in the model.

The harness knows nothing of the model's rules: it interprets each program
operation with the public refloop call of the same name and reports what the
loop did, in the model's vocabulary, for the test to compare.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import select
import selectors
import socket
import termios
import threading
from collections.abc import Callable
from typing import Any

from .._clock import VirtualClock
from .._loop import Loop
from .._scopes import move_on_after
from .._suspend import Continuation
from .._task import Task
from .._timers import TimerHandle
from ..model import (
    TRACED,
    Callback,
    Event,
    Fault,
    Op,
    State,
    event,
)
from ..model.entry import STEPS
from .calls import (
    CallbackInterrupt,
    ModelCallback,
    foreign_outcome,
    resume_unless_cancelled,
)
from .interpret import Scope, UnknownTask, interpret, run_main
from .lifecycle import CleanupInterrupt, HandlerInterrupt, LifecycleHarness
from .observe import abstract
from .pool import Pool
from .protocol import LoopFactory, LoopUnderTest
from .shim import ShimListener, ShimSelector, ShimSocket, WouldBlockForever
from .sync_harness import DEFAULT_PRIMITIVES, Primitives, SyncObjects

__all__ = ["CallbackInterrupt", "Harness", "UnknownSocket", "UnknownTask"]

# How long the harness waits for the kernel to show what a peer just did.
# Loopback delivery is synchronous on Linux; this only guards against a slow
# machine, and is never reached when the loop and model agree.
_SETTLE = 2.0


class UnknownSocket(LookupError):
    """A program named a socket that does not exist (yet)."""


# A waiter's direction, as the selector's event it needs.
_EVENT = {"read": selectors.EVENT_READ, "write": selectors.EVENT_WRITE}
# The traces on which `on_step` is told: what the model's run(at=) counts.
STEP_TRACES = frozenset(kind.name for kind in STEPS)


def _pending_bytes(sock: socket.socket) -> int:
    count = array.array("i", [0])
    fcntl.ioctl(sock.fileno(), termios.FIONREAD, count)
    return count[0]


def _wait_for(sock: socket.socket, flags: int) -> None:
    poller = select.poll()
    poller.register(sock, flags)
    poller.poll(_SETTLE * 1000)


def _nothing() -> None:
    """The callback of a timer that is cancelled before it can run."""


class Harness(LifecycleHarness):
    def __init__(
        self,
        loop_factory: LoopFactory = Loop,
        *,
        streams: tuple[str, ...] = ("A", "B"),
        listeners: tuple[str, ...] = ("L",),
        budget: int = 3,
        capacity: int = 8,
        channels: tuple[tuple[str, int], ...] = (),
        primitives: Primitives = DEFAULT_PRIMITIVES,
    ) -> None:
        self.selector = ShimSelector()
        # Locks, events and channels by name (spec/11-sync.md).
        self.sync = SyncObjects(primitives, channels)
        # One model tick is one second of this clock.
        self.clock = VirtualClock()
        self.trace: list[Event] = []
        # Told as each step begins, a task's, a timer's or an idle call's
        # (the harness's interrupted run).
        self.on_step: Callable[[], None] | None = None
        # The program and log of the main task that run is about to spawn.
        self.main: tuple[tuple[Op, ...], list[object]] | None = None
        self.reported: list[int] = []
        self.budget = budget
        self.loop: LoopUnderTest = loop_factory(
            selector=self.selector,
            clock=self.clock,
            budget=budget,
            trace=self._on_trace,
            report=self._on_report,
        )
        self.capacity = capacity
        self.socks: dict[str, socket.socket] = {}
        self.peers: dict[str, socket.socket] = {}
        self.pending: dict[str, list[socket.socket]] = {}
        self.accepted: dict[str, int] = {}
        self.tasks: list[Task[Any]] = []
        # The name each task was spawned with (None: run's main, which the
        # loop names).
        self.names: list[str | None] = []
        self.programs: list[tuple[Op, ...]] = []
        self.logs: list[list[object]] = []
        # The MoveOnAfter pc of every timeout scope the programs opened, and
        # each task's open scopes, innermost last.
        self.scopes: dict[move_on_after, int] = {}
        self.open_scopes: dict[int, list[tuple[int, Scope]]] = {}
        # run_in_thread jobs (InThread), numbered as the loop submits them.
        self.pool = Pool(self.loop)
        # Continuations handed to "another thread" by AwaitThread, by task.
        self.held: dict[int, Continuation] = {}
        # Those held when the loop closed (loop.close.refuses).
        self.abandoned: list[Continuation] = []
        # Callbacks run (their numbers, in order) and whether the last
        # run_once ended with a callback's BaseException.
        self.called: list[int] = []
        self.escaped = False
        self.ncalls = 0
        # The handles of timer and idle callbacks, by number.
        self.handles: dict[int, TimerHandle] = {}
        for name in streams:
            mine, theirs = socket.socketpair()
            loop_end = ShimSocket(fileno=mine.detach(), room=capacity)
            loop_end.setblocking(False)
            self._adopt(name, loop_end)
            self.peers[name] = theirs
        for name in listeners:
            listener = ShimListener(
                socket.AF_INET,
                socket.SOCK_STREAM,
                room=capacity,
                on_accept=self._on_accept,
            )
            listener.bind(("127.0.0.1", 0))
            listener.listen(16)
            listener.setblocking(False)
            self.socks[name] = listener
            self.pending[name] = []
            self.accepted[name] = 0

    def _adopt(self, name: str, sock: ShimSocket) -> None:
        self.socks[name] = sock
        self.selector.shims[sock.fileno()] = sock

    def _on_trace(self, name: str, task: Task[Any]) -> None:
        if name == "spawn" and self.main is not None:
            # run's main task, numbered before its first step.
            program, log = self.main
            self.main = None
            self.tasks.append(task)
            self.names.append(None)
            self.programs.append(program)
            self.logs.append(log)
        self.trace.append(TRACED[name](task.tid))
        if name in STEP_TRACES and self.on_step is not None:
            self.on_step()

    def _on_report(self, task: Task[Any]) -> None:
        self.reported.append(task.tid)

    def _on_accept(self, conn: ShimSocket) -> None:
        self.selector.shims[conn.fileno()] = conn

    def name_of(self, sock: socket.socket) -> str:
        for name, candidate in self.socks.items():
            if candidate is sock:
                return name
        return repr(sock)

    # ------------------------------------------------------------ programs

    def sock(self, name: str) -> socket.socket:
        """The loop's end of the socket a program names."""
        try:
            return self.socks[name]
        except KeyError:
            raise UnknownSocket(f"no socket named {name!r} yet") from None

    # ------------------------------------------------------------ actions

    def spawn(self, program: tuple[Op, ...]) -> int:
        log: list[object] = []
        name = f"t{len(self.tasks)}"
        task = self.loop.spawn(interpret(self, program, log), name=name)
        self.tasks.append(task)
        self.names.append(name)
        self.programs.append(program)
        self.logs.append(log)
        return task.tid

    def run_once(self) -> list[Event]:
        """One real iteration; its events as the model's values."""
        self.trace.clear()
        # spec: io.interest
        self.selector.owned = {s.fileno() for s in self.socks.values()}
        self.selector.expect = {
            (w.sock.fileno(), _EVENT[w.direction]) for w in self.loop.snapshot().waiters
        }
        before = len(self.selector.timeouts)
        self.escaped = False
        try:
            self.loop.run_once()
        except WouldBlockForever:
            pass
        except (CallbackInterrupt, HandlerInterrupt):
            self.escaped = True
        events: list[Event] = [event.Poll(t) for t in self.selector.timeouts[before:]]
        events.extend(self.trace)
        return events

    # spec: env.peer-send
    def peer_send(self, name: str, data: bytes, expect_pending: int) -> None:
        self.peers[name].sendall(data)
        sock = self.socks[name]
        if sock.family != socket.AF_UNIX and _pending_bytes(sock) < expect_pending:
            _wait_for(sock, select.POLLIN)

    # spec: env.peer-close
    def peer_close(self, name: str) -> None:
        self.peers[name].shutdown(socket.SHUT_WR)
        sock = self.socks[name]
        if sock.family != socket.AF_UNIX:
            _wait_for(sock, select.POLLRDHUP)

    # spec: env.peer-recv
    def peer_recv(self, name: str, n: int, expect: int) -> bytes:
        peer = self.peers[name]
        if expect and peer.family != socket.AF_UNIX and _pending_bytes(peer) < expect:
            _wait_for(peer, select.POLLIN)
        try:
            data = peer.recv(n, socket.MSG_DONTWAIT)
        except BlockingIOError:
            data = b""
        sock = self.socks[name]
        if isinstance(sock, ShimSocket) and sock.room is not None:
            sock.room += len(data)
        return data

    def cancel(self, tid: int) -> None:
        self.tasks[tid].cancel()

    # spec: env.thread-post
    def thread_post(self, tid: int) -> None:
        """A real thread posts the held continuation, and is joined."""
        k = self.held.pop(tid)
        poster = threading.Thread(
            target=self.loop.call_soon_threadsafe, args=(resume_unless_cancelled, k)
        )
        poster.start()
        poster.join()

    # spec: env.pool-finish
    def pool_finish(self, job: int) -> None:
        """Job `job` finishes in its worker, which posts its outcome; an
        orphan's post takes the next callback number, as in the model."""
        if self.pool.jobs[job].orphaned():
            self.pool.jobs[job].drop = self.ncalls
            self.ncalls += 1
        self.pool.finish(job)

    def _callback(self, callback: Callback) -> ModelCallback:
        self.ncalls += 1
        return ModelCallback(self, self.ncalls - 1, callback)

    # spec: loop.run.deadlock
    def run(
        self,
        program: tuple[Op, ...],
        interrupt: bool = False,
        at: int | None = None,
    ) -> tuple[list[Event], str]:
        """`loop.run(main)` for `program` as main, stopped where its poll
        would wait for the environment (or, with `interrupt`, Ctrl-C
        there; with `at`, Ctrl-C as that task step begins: run_main): its events
        (polls among the loop's trace) and its outcome, as
        refloop.model.entry.run names them."""
        return run_main(self, program, interrupt, at)

    # spec: timer.callback-base-exception
    def call_later(self, ticks: float, callback: Callback) -> int:
        """Code outside the tasks, on the loop's thread, schedules a callback
        with `call_later`; returns its number."""
        fn = self._callback(callback)
        # Every other one through `call_at` at the same deadline, where the
        # loop has it: the two doors must schedule alike (timer.validate).
        call_at = getattr(self.loop, "call_at", None)
        if call_at is not None and fn.n % 2 and ticks >= 0:
            self.handles[fn.n] = call_at(self.clock() + ticks, fn)
        else:
            self.handles[fn.n] = self.loop.call_later(ticks, fn)
        return fn.n

    # spec: idle.callback-error
    def call_when_idle(self, callback: Callback) -> int:
        """As call_later, with `call_when_idle`."""
        fn = self._callback(callback)
        self.handles[fn.n] = self.loop.call_when_idle(fn)
        return fn.n

    # spec: thread.post.callback-error
    def thread_call(self, callback: Callback) -> int:
        """A real thread posts a callback with `call_soon_threadsafe`, and is
        joined."""
        fn = self._callback(callback)
        poster = threading.Thread(target=self.loop.call_soon_threadsafe, args=(fn,))
        poster.start()
        poster.join()
        return fn.n

    # spec: thread.owner
    def foreign_call(self, call: str, target: int | str) -> str:
        """Another thread, a real one joined at once, makes `call` on
        `target` (refloop.model.foreign): its outcome, "LoopError" when
        refused, else its result."""
        return foreign_outcome(self, call, target)

    # spec: env.advance
    def advance(self, ticks: int) -> None:
        self.clock.advance(ticks)

    # spec: env.peer-connect
    def peer_connect(self, name: str) -> None:
        listener = self.socks[name]
        peer = socket.create_connection(listener.getsockname(), timeout=_SETTLE)
        peer.settimeout(None)
        self.pending[name].append(peer)
        _wait_for(listener, select.POLLIN)

    # spec: env.fault
    def inject_fault(self, name: str, fault: Fault) -> None:
        """The next matching call on socket `name` meets `fault`: the shim
        socket queues it (refloop.testing.shim)."""
        sock = self.socks[name]
        assert isinstance(sock, ShimSocket | ShimListener), sock
        sock.faults.append(fault)

    # spec: timer.cancel.memory
    def churn_timers(self, ticks: float, count: int) -> None:
        """Code outside the tasks schedules `count` callbacks `ticks` from
        now and cancels them all, oldest first: enough of them rebuild the
        loop's timer heap around the live timers (the model: nothing
        changes)."""
        handles = [self.loop.call_later(ticks, _nothing) for _ in range(count)]
        for handle in handles:
            handle.cancel()

    # ------------------------------------------------------------ observing

    def abstract(self) -> State:
        """The real loop's state as a model State (bytes in flight are left
        out: the kernel holds them), read from `loop.snapshot()` and the
        tasks' public state only (refloop.testing.observe)."""
        return abstract(self)

    def dispose(self) -> None:
        """Close the loop and every socket; nothing may be left behind."""
        with contextlib.suppress(CleanupInterrupt):  # loop.close.raises
            self.loop.close()
        self.pool.release()
        for sock in [*self.socks.values(), *self.peers.values()]:
            sock.close()
        for waiting in self.pending.values():
            for sock in waiting:
                sock.close()
        self.selector.close()
