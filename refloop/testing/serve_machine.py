"""A real `serve_listeners` beside the model of its accept loop
(refloop/model/serve.py), as a Hypothesis stateful test (spec chapter 12:
serve.backoff, serve.task-per-connection, serve.shutdown; op.accept.aborted,
op.eintr).

The server runs on a loop with a virtual clock, over a real listener on
loopback whose `accept` meets the errors the machine scripts (EMFILE,
ENFILE, ENOBUFS, ENOMEM: back off; ECONNABORTED, EPROTO, EINTR: retry at
once; EINVAL: the end). Real clients connect, hang up, and time moves on,
in any order; the server's task may be cancelled. Beside it, between
steps, the machine asks for servers with one bad argument (refused at the
call: serve.arguments) and for a second server started as the README does,
with `serve_tcp` on 127.0.0.1, which must serve and then leave nothing
behind when cancelled.

After every step: how many times `accept` was called (a loop that retried
without sleeping calls it more), the delays the warnings gave, which
clients a connection task greeted and which were closed, how many tasks
the loop holds, whether the listener is registered with the selector (only
while the accept loop waits on it: not while it sleeps), and how the
server's task ended.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import socket
import time
from collections.abc import Callable
from typing import Any, ClassVar

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from .._clock import VirtualClock
from .._loop import Loop
from .._serve import _serve, _Server, serve_listeners, serve_tcp
from .._streams import Stream
from .._task import Task
from ..model import serve as m
from .stream_peers import settle
from .variant import variant

__all__ = ["ScriptedListener", "ServeMachine", "machine_with"]

MAX_CLIENTS = 8
GREETING = b"hi"
FAULTS = [
    *m.SHORTAGES,
    *m.SHORTAGES,
    *m.ABORTED,
    m.EINTR,
    m.ENDING,
]
# Steps of time around the back-off's delays (0.1 doubling to 1 s), so a
# wake-up is met exactly, just before and long after.
STEPS = [0.05, 0.1, 0.1, 0.2, 0.35, 0.4, 1.0, 2.5]
# The streams' max_line: the least there is (only an empty line fits), small
# ones, and the default.
MAX_LINES = [1, 2, 8, 64 * 1024]
LENGTHS = [0, 1, 2, 7, 8, 100]
# Real seconds a serve_tcp may take to resolve its host in a worker thread.
_RESOLVED = 5.0
# A call of serve_tcp or serve_listeners with one bad argument (spec:
# serve.arguments): the argument, its value, the error it is refused with.
BAD_ARGUMENTS: list[tuple[str, object, type[Exception]]] = [
    ("handler", 42, TypeError),
    ("ssl_context", "tls", TypeError),
    ("max_line", 0, ValueError),
    ("max_line", -1, ValueError),
    ("max_line", True, ValueError),
    ("max_line", 2.0, ValueError),
    ("handshake_timeout", "1", TypeError),
    ("handshake_timeout", math.nan, ValueError),
    ("listeners", [], TypeError),
    ("listeners", ["sock"], TypeError),
    ("listeners", [None, "sock"], TypeError),
    ("listeners", 42, TypeError),
    ("listeners", None, TypeError),
]
REFUSED_CALLS = [("serve_listeners", bad) for bad in BAD_ARGUMENTS] + [
    ("serve_tcp", bad) for bad in BAD_ARGUMENTS if bad[0] != "listeners"
]


class ScriptedListener(socket.socket):
    """A real listener whose next `accept` calls fail as `script` says; it
    counts every call (the would-block ones too)."""

    def __init__(self) -> None:
        super().__init__(socket.AF_INET, socket.SOCK_STREAM)
        self.script: list[str] = []
        self.calls = 0

    def accept(self) -> tuple[socket.socket, Any]:
        self.calls += 1
        if self.script:
            code = getattr(errno, self.script.pop(0))
            if code == errno.EINTR:
                raise InterruptedError(code, os.strerror(code))
            raise OSError(code, os.strerror(code))
        return super().accept()


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.delays: list[float] = []
        self.failures: list[tuple[str, BaseException | None]] = []
        self.other: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("accept on") and isinstance(record.args, tuple):
            self.delays.append(float(record.args[-1]))  # type: ignore[arg-type]
        elif record.msg.startswith("handler ") and record.exc_info:
            self.failures.append((record.getMessage(), record.exc_info[1]))
        else:
            self.other.append(record.getMessage())


class ServeMachine(RuleBasedStateMachine):
    """The server under test against `refloop.model.serve`."""

    server_type: ClassVar[type[_Server]] = _Server
    # What the refused_server rule calls (a broken one in a test).
    entries: ClassVar[dict[str, Any]] = {
        "serve_listeners": serve_listeners,
        "serve_tcp": serve_tcp,
    }

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        # The server's end is checked here, not reported.
        self.loop = Loop(clock=self.clock, report=_checked_here)
        self.log = logging.getLogger("refloop.serve")
        self.model = m.Server()
        self.servers = 0

    def _begin(self, max_line: int = 1024) -> None:
        """A new server on a new listener, with no client yet."""
        self.model = m.Server(now=self.model.now, max_line=max_line)
        self.servers += 1
        self.listener = ScriptedListener()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(MAX_CLIENTS * 2)
        self.listener.setblocking(False)
        self.address = self.listener.getsockname()
        self.clients: list[socket.socket] = []
        self.greeted: list[bool] = []
        self.warnings = _Warnings()
        self.log.addHandler(self.warnings)
        if self.server_type is _Server:
            # The real server is started as a user starts it, through the
            # argument check (so max_line=1 must pass it: serve.arguments).
            self.server = self.loop.spawn(
                serve_listeners(
                    _echo, [self.listener], handshake_timeout=60.0, max_line=max_line
                )
            )
        else:
            server = self.server_type(_echo, None, 60.0, self.model.max_line)
            self.server = self.loop.spawn(_serve(server, [self.listener], None))
        self._settle()

    def _end(self) -> None:
        self.log.removeHandler(self.warnings)
        for client in self.clients:
            client.close()
        self.listener.close()

    @initialize(max_line=st.sampled_from(MAX_LINES))
    def start(self, max_line: int) -> None:
        self._begin(max_line)

    def teardown(self) -> None:
        if self.servers == 0:
            return
        if not self.server.done():
            self.server.cancel()
            settle(self.loop)
        self.loop.close()
        self._end()

    @precondition(lambda self: self.model.ended is not None)
    @rule(max_line=st.sampled_from(MAX_LINES))
    def restart(self, max_line: int) -> None:
        """After the server's end, a new one (so an example goes on)."""
        self._end()
        self._begin(max_line)

    def _run_until(self, done: Callable[[], bool]) -> None:
        """Iterate until `done()` (or _RESOLVED real seconds: a worker
        thread's getaddrinfo), then settle."""
        deadline = time.monotonic() + _RESOLVED
        settle(self.loop)
        while not done() and time.monotonic() < deadline:
            self.loop.run_once(0.01)
        settle(self.loop)

    def _settle(self) -> None:
        settle(self.loop)
        self.model = m.settle(self.model)

    # ------------------------------------------------------------- rules

    @precondition(
        lambda self: len(self.clients) < MAX_CLIENTS and self.model.ended is None
    )
    @rule()
    def connect(self) -> None:
        """A client connects (on loopback the kernel completes it at once,
        into the listener's queue)."""
        client = socket.create_connection(self.address)
        client.setblocking(False)
        self.clients.append(client)
        self.greeted.append(False)
        self.model = m.connect(self.model)
        self._settle()

    @rule(fault=st.sampled_from(FAULTS))
    def fail_next_accept(self, fault: str) -> None:
        """The OS's limits: the next call of accept fails with `fault`."""
        self.listener.script.append(fault)
        self.model = m.fail_next(self.model, fault)
        self._settle()

    @rule(fault=st.sampled_from(m.SHORTAGES), count=st.integers(2, 7))
    def run_out(self, fault: str, count: int) -> None:
        """A longer shortage: the next `count` calls of accept fail with
        `fault`, so the delay doubles up to its cap."""
        for _ in range(count):
            self.listener.script.append(fault)
            self.model = m.fail_next(self.model, fault)
        self._settle()

    @rule(seconds=st.sampled_from(STEPS))
    def advance(self, seconds: float) -> None:
        before = self.model
        self.clock.advance(seconds)
        self.model = m.advance(self.model, seconds)
        self._settle()
        if before.wake_at is not None and self.model.wake_at != before.wake_at:
            queued = before.clients.count(m.QUEUED)
            event(f"a back-off ended, {min(queued, 2)}+ clients queued")

    @precondition(lambda self: len(self.clients) > len(self.model.hung_up))
    @rule(data=st.data())
    def hang_up(self, data: st.DataObject) -> None:
        """A client closes its end: the task serving it reads the end and
        ends (spec: serve.task-per-connection)."""
        left = [i for i in range(len(self.clients)) if i not in self.model.hung_up]
        i = data.draw(st.sampled_from(left), label="client")
        self.clients[i].close()
        self.model = m.hang_up(self.model, i)
        self._settle()

    @precondition(
        lambda self: any(
            where == m.SERVED and i not in self.model.hung_up
            for i, where in enumerate(self.model.clients)
        )
    )
    @rule(data=st.data(), length=st.sampled_from(LENGTHS))
    def send_line(self, data: st.DataObject, length: int) -> None:
        """A served client sends a line: echoed if it fits the streams'
        max_line; otherwise its handler fails, which is logged and closes
        that connection only (spec: serve.handler-fails)."""
        served = [
            i
            for i, where in enumerate(self.model.clients)
            if where == m.SERVED and i not in self.model.hung_up
        ]
        i = data.draw(st.sampled_from(served), label="client")
        line = b"x" * length + b"\n"
        self.clients[i].sendall(line)
        self._settle()
        self.model, echoed = m.send_line(self.model, i, length)
        if echoed:
            got = self._receive(i, len(line))
            assert got == line, f"client {i} sent {line!r}, got back {got!r}"

    def _receive(self, i: int, size: int) -> bytes:
        got = b""
        while len(got) < size:
            try:
                chunk = self.clients[i].recv(size - len(got))
            except BlockingIOError:
                break
            if not chunk:
                break
            got += chunk
        return got

    @precondition(lambda self: len(self.clients) >= 2 and self.model.ended is None)
    @rule()
    def cancel_server(self) -> None:
        """The server's task is cancelled from outside (spec: serve.shutdown)."""
        self.server.cancel()
        self.model = m.cancel(self.model)
        self._settle()

    @rule(call=st.sampled_from(REFUSED_CALLS))
    def refused_server(
        self, call: tuple[str, tuple[str, object, type[Exception]]]
    ) -> None:
        """Another server asked for, on the same loop, with one bad argument:
        refused at the call, naming the argument; it opens, closes and
        spawns nothing, the running server and the listeners given are
        untouched (spec: serve.arguments, thread.refused-unchanged)."""
        entry, (name, value, error) = call
        spare = socket.socket()
        spare.bind(("127.0.0.1", 0))
        spare.listen(1)
        spare.setblocking(False)
        args: dict[str, Any] = {"handler": _echo, "listeners": [spare], name: value}
        handler = args.pop("handler")
        given = args.pop("listeners")
        listeners = (
            [spare if x is None else x for x in given]
            if isinstance(given, list)
            else given
        )
        call_it = self.entries[entry]
        if entry == "serve_tcp":
            server = call_it(handler, "127.0.0.1", 0, **args)
        else:
            server = call_it(handler, listeners, **args)
        descriptors = len(os.listdir("/dev/fd"))
        before = self.model
        task = self.loop.spawn(server)
        # A serve_tcp that resolves before it checks (a broken one) ends
        # only once its worker thread is back: waited for, so the verdict
        # does not depend on the thread's speed.
        self._run_until(lambda: task.done())
        try:
            assert task.done(), f"{entry} with {name}={value!r} was not refused"
            err = task.exception()
            assert type(err) is error and name in str(err), (
                f"{entry} with {name}={value!r} raised {err!r}, not a "
                f"{error.__name__} naming {name}"
            )
            assert spare.fileno() != -1, f"the refused {entry} closed a listener"
            opened = len(os.listdir("/dev/fd")) - descriptors
            assert opened == 0, f"the refused {entry} left {opened} sockets open"
            assert self.model == before
        finally:
            if not task.done():
                task.cancel()
                settle(self.loop)
            spare.close()

    @rule(max_line=st.sampled_from(MAX_LINES), length=st.sampled_from(LENGTHS))
    def serve_over_tcp(self, max_line: int, length: int) -> None:
        """A second server on the same loop, started as the README starts
        one: `serve_tcp` on 127.0.0.1, port 0. `started` is told its
        listeners once, bound to the host given; a client is greeted, its
        line echoed if it fits `max_line`, else that connection fails and
        closes (logged); cancelled, the server closes its listener and its
        connections and leaves no task and no descriptor; the first server
        and the model are untouched (spec: serve.task-per-connection,
        serve.handler-fails, serve.shutdown)."""
        descriptors = len(os.listdir("/dev/fd"))
        before, tasks = self.model, len(self.loop.tasks())
        failures = len(self.warnings.failures)
        told: list[list[socket.socket]] = []
        task = self.loop.spawn(
            serve_tcp(
                _echo,
                "127.0.0.1",
                0,
                started=told.append,
                handshake_timeout=60.0,
                max_line=max_line,
            )
        )
        client: socket.socket | None = None
        try:
            # The name is resolved in a worker thread (connect.resolve-in-thread).
            self._run_until(lambda: bool(told) or task.done())
            assert len(told) == 1, f"serve_tcp told started {told!r}"
            [listeners] = told
            assert [sock.getsockname()[0] for sock in listeners] == ["127.0.0.1"]
            client = socket.create_connection(listeners[0].getsockname())
            client.setblocking(False)
            settle(self.loop)
            # spec: serve.task-per-connection
            assert _drain(client) == (GREETING, False), "the second server's client"
            line = b"x" * length + b"\n"
            client.sendall(line)
            settle(self.loop)
            fits = length + 1 <= max_line
            # spec: serve.handler-fails (a line over max_line fails its handler)
            got, want = _drain(client), (line, False) if fits else (b"", True)
            assert got == want, f"max_line={max_line}: sent {line!r}, got {got!r}"
            logged = self.warnings.failures[failures:]
            del self.warnings.failures[failures:]
            assert len(logged) == (not fits), f"logged {logged!r}"
            task.cancel()
            settle(self.loop)
            # spec: serve.shutdown
            assert task.cancelled(), f"the second server ended: {task!r}"
            assert all(sock.fileno() == -1 for sock in listeners)
            client.close()
            client = None
            opened = len(os.listdir("/dev/fd")) - descriptors
            assert opened == 0, f"the second server left {opened} descriptors"
            assert len(self.loop.tasks()) == tasks, self.loop.tasks()
            assert self.model == before
        finally:
            if client is not None:
                client.close()
            if not task.done():
                task.cancel()
                settle(self.loop)

    # ------------------------------------------------------------- checks

    def _read(self, i: int) -> str:
        """What client `i` sees: "open" (nothing more to read), or "closed"
        (the end, or a reset: the server closed its connection)."""
        client = self.clients[i]
        try:
            data = client.recv(64)
        except BlockingIOError:
            return "open"
        except ConnectionResetError:
            return "closed"
        if data.startswith(GREETING):
            # spec: serve.task-per-connection (a task serves it, at most once)
            assert not self.greeted[i], f"client {i} was greeted twice"
            self.greeted[i] = True
            data = data[len(GREETING) :]
            if not data:
                return self._read(i)
        assert data == b"", f"client {i} got {data!r}"
        return "closed"

    @invariant()
    def agrees(self) -> None:
        model = self.model
        # spec: serve.backoff (no spin: every call of accept is predicted)
        assert self.listener.calls == model.attempts, (
            f"accept was called {self.listener.calls} times, the model says "
            f"{model.attempts}"
        )
        # spec: serve.backoff (each shortage logged with the delay it sleeps)
        assert self.warnings.delays == list(model.logged), (
            f"the server backed off {self.warnings.delays}, the model {model.logged}"
        )
        assert not self.warnings.other, self.warnings.other
        # spec: serve.handler-fails (each failure logged, naming the handler
        # and the peer, with the error)
        failures = self.warnings.failures
        assert len(failures) == model.failures, (
            f"{len(failures)} handler failures logged, the model {model.failures}"
        )
        for text, err in failures:
            assert "_echo" in text and "127.0.0.1" in text, text
            assert type(err).__name__ == "LimitOverrunError", repr(err)
        for i, where in enumerate(model.clients):
            if i in model.hung_up:
                continue
            seen = self._read(i)
            served = self.greeted[i]
            if where == m.QUEUED:
                assert (seen, served) == ("open", False), (
                    f"client {i} should wait in the kernel's queue: {seen}, "
                    f"greeted={served}"
                )
            elif where == m.SERVED:
                assert (seen, served) == ("open", True), (
                    f"client {i} should be served: {seen}, greeted={served}"
                )
            else:
                # spec: serve.shutdown (closed by the server's end)
                assert seen == "closed", f"client {i} should be closed: {seen}"
        self._agree_on_tasks()

    def _agree_on_tasks(self) -> None:
        model = self.model
        if model.ended is None:
            registered = self.listener.fileno() in self.loop._selector.get_map()
            assert not self.server.done(), f"the server ended: {self.server!r}"
            # the server, its accept loop, a task per live connection
            tasks = len(self.loop.tasks())
            assert tasks == 2 + m.live(model), (
                f"the loop holds {tasks} tasks, the model {2 + m.live(model)}"
            )
            # spec: serve.backoff (it does not wait on the listener asleep)
            assert registered == model.waiting, (
                f"listener registered={registered}, the model "
                f"waiting={model.waiting}, asleep until {model.wake_at}"
            )
            return
        # spec: serve.shutdown (nothing left behind)
        assert self.server.done(), f"the server still runs: {self.server!r}"
        assert self.loop.tasks() == [], self.loop.tasks()
        assert self.listener.fileno() == -1, "the listener was left open"
        err = self.server.exception()
        if model.ended == m.CANCELLED:
            assert self.server.cancelled(), f"the server ended with {err!r}"
            return
        assert isinstance(err, BaseExceptionGroup), f"the server ended with {err!r}"
        [cause] = err.exceptions
        assert isinstance(cause, OSError) and cause.errno == getattr(
            errno, model.ended
        ), f"the server ended with {cause!r}, the model with {model.ended}"


def _drain(client: socket.socket) -> tuple[bytes, bool]:
    """What a non-blocking client can read now, and whether its end (or a
    reset) came after it."""
    got = b""
    while True:
        try:
            chunk = client.recv(4096)
        except BlockingIOError:
            return got, False
        except ConnectionResetError:
            return got, True
        if not chunk:
            return got, True
        got += chunk


def _checked_here(task: Task[Any]) -> None:
    pass


async def _echo(stream: Stream) -> None:
    """A connection's handler: greet the client, then echo its lines until
    its end (a line over the stream's max_line fails it: LimitOverrunError)."""
    await stream.send_all(GREETING)
    while line := await stream.readline():
        await stream.send_all(line)


def machine_with(server_type: type[_Server]) -> type[ServeMachine]:
    """The machine with its server class replaced (by a broken one, say)."""
    return variant(ServeMachine, "server_type", server_type, _Server)
