"""A real `Stream` beside the model of one stream (refloop/model/stream.py),
as a Hypothesis stateful test (spec chapter 12).

The peer queues bytes (plain ones over a small alphabet of delimiters, whole
frames, frames with bad bodies or oversized headers) and sends them in
pieces cut at drawn points, so a read sees a header, a line or a frame
arrive in parts. Reads run in tasks: one that the model says must wait stays
parked across steps, is asked again after every step, and may be cancelled
(its bytes must stay), refused a second reader (BusyError), or woken by a
close. Senders queue behind a message too large for the socket's buffer.
After every step the machine compares the outcome of each finished task with
the model's, the stream's `closed` with the model's, and what the peer
received with what the model says was sent; and it checks that no waiter is
left on the stream's socket once no task uses it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from .._errors import IncompleteReadError
from .._loop import Loop
from .._streams import Stream
from .._task import Task
from ..model import stream as m
from .stream_peers import TRANSPORTS, plain, settle

__all__ = ["StreamMachine", "machine_over"]

ALPHABET = b"ab\n|"
DELIMITERS = [b"\n", b"|", b"ab", b"\n\n"]
BIG = 64 * 1024  # more than the sockets' buffers hold: send_all waits
# Tries, a millisecond apart, before a late delivery is a failure: only
# loopback TCP delivers after the sending call returns.
LATE = {"tcp": 500}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text('aé\n|"', max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text("ab", max_size=2), inner, max_size=3)
    ),
    max_leaves=6,
)
unsendable = st.sampled_from([float("nan"), float("inf"), {1j}, "\ud800"])
bad_bodies = st.sampled_from([b"\xff", b"[1,", b"NaN", b"1e999", b"[" * 3000])


@st.composite
def peer_bytes(draw: st.DrawFn) -> bytes:
    """What the peer queues: bytes over the alphabet, a few lines that end
    with one delimiter (so that one piece may hold two), a frame, a frame
    with a bad body, or a header over any limit the reads use."""
    kind = draw(st.sampled_from(["plain", "lines", "frame", "bad", "huge"]))
    if kind == "lines":
        delimiter = draw(st.sampled_from(DELIMITERS))
        words = st.sampled_from([b"", b"a", b"b", b"ab", b"ba"])
        lines = draw(st.lists(words, min_size=2, max_size=3))
        return b"".join(w + delimiter for w in lines)
    if kind == "plain":
        return draw(
            st.binary(min_size=1, max_size=12).map(
                lambda b: bytes(ALPHABET[c % 4] for c in b)
            )
        )
    if kind == "frame":
        frame = m.encode(draw(json_values), 1 << 20)
        assert frame is not None
        return frame
    if kind == "bad":
        body = draw(bad_bodies)
        return len(body).to_bytes(m.HEADER, "big") + body
    return (1 << 20).to_bytes(m.HEADER, "big")


sizes = st.integers(1, 12) | st.sampled_from([0, -1])
reads: st.SearchStrategy[m.Read] = st.one_of(
    st.builds(m.ReceiveSome, sizes),
    st.builds(m.ReceiveUntil, st.sampled_from(DELIMITERS), sizes),
    st.builds(m.ReadLine, st.none() | sizes),
    st.builds(m.ReadExactly, st.integers(-1, 10)),
    st.builds(m.RecvMessage, st.sampled_from([1 << 20, 8, 64, 0])),
)


# The call each read is (readline is receive_until's).
CALLS: dict[type, str] = {
    m.ReceiveSome: "receive_some()",
    m.ReceiveUntil: "receive_until()",
    m.ReadLine: "receive_until()",
    m.ReadExactly: "readexactly()",
    m.RecvMessage: "recv_message()",
}


def _perform(stream: Stream, op: m.Read) -> Any:
    match op:
        case m.ReceiveSome(max_bytes=n):
            return stream.receive_some(n)
        case m.ReceiveUntil(delimiter=d, max_size=n):
            return stream.receive_until(d, n)
        case m.ReadLine(max_line=n):
            return stream.readline(n)
        case m.ReadExactly(n=n):
            return stream.readexactly(n)
        case m.RecvMessage(max_size=n):
            return stream.recv_message(max_size=n)


async def _call(coro: Any) -> Any:
    """Await `coro` in a task (an argument error is raised when called)."""
    return await coro


class StreamMachine(RuleBasedStateMachine):
    """The stream under test against `refloop.model.stream`."""

    transport: ClassVar[str] = "plain"
    stream_type: ClassVar[type[Stream]] = Stream  # over "plain" only

    def __init__(self) -> None:
        super().__init__()
        self.loop = Loop(report=_unreported)  # every outcome is checked here
        if self.stream_type is Stream:
            pair = TRANSPORTS[self.transport](self.loop)
        else:
            pair = plain(self.loop, self.stream_type)
        self.stream, self.peer, self._stop = pair
        self.model = m.StreamState(max_line=self.stream.max_line)
        self.backlog = b""  # queued by the peer, not sent yet
        self.reader: tuple[Task[Any], m.Read] | None = None
        self.senders: list[Task[Any]] = []  # unfinished, in arrival order
        self.messages: dict[Task[Any], bytes] = {}  # what each sender sends
        self.received = b""  # what the peer has read of what was sent
        # Steps taken: an end (the peer's, or a close) comes only after a
        # few, so that most of an example is a live stream.
        self.steps = 0

    # ------------------------------------------------------------ helpers

    def _spawn(self, coro_fn: Any) -> Task[Any]:
        async def body() -> Any:
            return await coro_fn()

        return self.loop.spawn(body())

    def _step(self) -> None:
        settle(self.loop)
        self._check_reader()
        for task in self.senders:
            if task.done():
                # spec: stream.send.serialised, stream.close (a waiting sender
                # finishes having sent all of its message, or with
                # ClosedError once the stream closed, say on a bad header)
                if self.model.closed:
                    self._agree(task, "send", self.model, m.RaisedOn("ClosedError"))
                else:
                    assert task.exception() is None, (
                        f"send_all raised {task.exception()!r}"
                    )
        self.senders = [t for t in self.senders if not t.done()]
        self.messages = {t: self.messages[t] for t in self.senders}

    def _eventually(self, done: Callable[[], bool]) -> bool:
        """Whether `done()` holds once the loop has settled, waiting a little
        for the kernel: loopback TCP may deliver a segment, or open a window,
        after the call that sent it returns."""
        for _ in range(LATE.get(self.transport, 0)):
            if done():
                return True
            time.sleep(0.001)
            settle(self.loop)
        return done()

    def _check_reader(self) -> None:
        if self.reader is None:
            return
        task, op = self.reader
        after, outcome = m.read(self.model, op)
        if isinstance(outcome, m.Blocked):
            assert not task.done(), f"{op} finished ({task!r}) where the model waits"
            return
        assert self._eventually(task.done), (
            f"{op} still waits where the model says {outcome}"
        )
        self.reader = None
        self.model = self._agree(task, op, after, outcome)

    def _agree(
        self, task: Task[Any], op: object, after: m.StreamState, outcome: object
    ) -> m.StreamState:
        exc = task.exception()
        got = None if exc is not None else task.result()
        if isinstance(outcome, m.Returned):
            assert exc is None, f"{op}: raised {exc!r}, the model returns {outcome}"
            assert got == outcome.value and type(got) is type(outcome.value), (
                f"{op}: returned {got!r}, the model {outcome.value!r}"
            )
            return after
        if isinstance(outcome, m.SomeOf):
            assert exc is None, f"{op}: raised {exc!r}"
            assert isinstance(got, bytes) and 1 <= len(got) <= outcome.limit, (
                f"{op}: returned {got!r}"
            )
            assert self.model.pending.startswith(got), (
                f"{op}: returned {got!r}, not the next of {self.model.pending!r}"
            )
            return m.consume(after, len(got))
        assert isinstance(outcome, m.RaisedOn)
        assert exc is not None and type(exc).__name__ == outcome.error, (
            f"{op}: {'raised ' + repr(exc) if exc else 'returned ' + repr(got)}, "
            f"the model raises {outcome.error}"
        )
        self._says_what(exc, op)
        if isinstance(exc, IncompleteReadError):
            assert (exc.partial, exc.expected) == (outcome.partial, outcome.expected)
        return after

    def _says_what(self, exc: BaseException, op: object) -> None:
        """An error names the stream or the call it ends: a clear error, not
        a bare one (a cancellation names its task)."""
        if type(exc).__name__ == "Cancelled":
            return
        text = str(exc)
        call = CALLS.get(type(op), "")
        stream = f"<{type(self.stream).__name__} "
        if type(exc).__name__ == "ClosedError" and self.model.closed:
            # spec: stream.close, stream.closed: a wait the stream's close()
            # ended, or a call on the closed stream, names the stream and the
            # call, not the socket under it
            call = call or "send_all()"
            assert stream in text and call in text, (
                f"{op}: {exc!r} should name {call} on the stream"
            )
            return
        if op == "send":
            # A message refused before it is sent is named by what it was.
            assert text and text != "None", f"send: a bare {exc!r}"
            return
        named = stream in text or "<socket." in text or (call and call in text)
        assert named, f"{op}: {exc!r} names neither the stream nor {call or 'the call'}"
        if "closed" in text and stream in text and self.model.closed:
            # spec: stream.closed (the repr says so once it is)
            assert "peer='closed'" in repr(self.stream), repr(self.stream)

    # ------------------------------------------------------------ reads

    @rule(op=reads)
    def read(self, op: m.Read) -> None:
        self._read(op)

    @rule(max_size=st.sampled_from([1 << 20, 8, 64]))
    def read_message(self, max_size: int) -> None:
        """recv_message again (a frame is what the peer queues most)."""
        self._read(m.RecvMessage(max_size))

    @rule(delimiter=st.sampled_from(DELIMITERS), max_size=st.integers(2, 12))
    def read_until(self, delimiter: bytes, max_size: int) -> None:
        self._read(m.ReceiveUntil(delimiter, max_size))

    def _read(self, op: m.Read) -> None:
        self.steps += 1
        if self.reader is not None:
            task = self._spawn(lambda: _perform(self.stream, op))
            settle(self.loop)
            assert task.done(), f"a second reader {op} waits"
            self._agree(task, op, self.model, m.second_read(self.model, op))
            self._step()
            return
        task = self._spawn(lambda: _perform(self.stream, op))
        self.reader = (task, op)
        self._step()

    @precondition(lambda self: self.reader is not None)
    @rule()
    def cancel_reader(self) -> None:
        assert self.reader is not None
        task, op = self.reader
        task.cancel()
        settle(self.loop)
        self.reader = None
        # spec: stream.keeps-bytes
        self._agree(task, op, self.model, m.RaisedOn("Cancelled"))
        self._step()

    # ------------------------------------------------------------ the peer

    @precondition(lambda self: not self.model.eof)
    @rule(data=peer_bytes())
    def peer_queue(self, data: bytes) -> None:
        self.backlog += data

    @precondition(lambda self: not self.model.eof)
    @rule(obj=json_values)
    def peer_queue_frame(self, obj: object) -> None:
        frame = m.encode(obj, 1 << 20)
        assert frame is not None
        self.backlog += frame

    @precondition(lambda self: not self.model.eof)
    @rule(delimiter=st.sampled_from(DELIMITERS), count=st.integers(2, 3))
    def peer_send_lines(self, delimiter: bytes, count: int) -> None:
        """Several short lines in one send, after what was queued: a line
        read may then find more than one line in what one recv returns."""
        self.backlog += b"a" + delimiter * count
        self.peer_send(len(self.backlog))

    @precondition(lambda self: self.backlog and not self.model.eof)
    @rule(cut=st.integers(1, 16))
    def peer_send(self, cut: int) -> None:
        self.steps += 1
        piece, self.backlog = self.backlog[:cut], self.backlog[cut:]
        if not self.model.closed:
            self.peer.send(piece)
            self.model = m.peer_send(self.model, piece)
        self._step()

    @precondition(
        lambda self: self.steps >= 6 and not self.model.eof and not self.model.closed
    )
    @rule()
    def peer_close(self) -> None:
        self.peer.shut()
        self.model = m.peer_close(self.model)
        self.backlog = b""
        self._step()

    @rule()
    def peer_recv(self) -> None:
        """Read what the stream sent; with no sender left, all of it."""
        self.received += self.peer.receive()
        self._step()
        self.received += self.peer.receive()
        sent = self.model.sent
        if not self.senders and not self.model.closed:

            def arrived() -> bool:
                self.received += self.peer.receive()
                return len(self.received) >= len(sent)

            self._eventually(arrived)
        if self.senders or self.model.closed:
            assert sent.startswith(self.received), "the peer received bytes never sent"
        else:
            assert self.received == sent, (
                f"the peer received {len(self.received)} bytes, "
                f"the stream sent {len(sent)}"
            )

    # ------------------------------------------------------------ sending

    @rule(data=st.binary(min_size=1, max_size=8) | st.just(BIG).map(lambda n: b"x" * n))
    def send(self, data: bytes) -> None:
        task = self._spawn(lambda: self.stream.send_all(data))
        self.model, refused = m.send_all(self.model, data)
        self._sent(task, refused, data)

    @rule(
        obj=json_values | unsendable,
        max_size=st.sampled_from([1 << 20, 16, 0]),
    )
    def send_message(self, obj: object, max_size: int) -> None:
        task = self._spawn(lambda: self.stream.send_message(obj, max_size=max_size))
        self.model, refused = m.send_message(self.model, obj, max_size)
        self._sent(task, refused, m.encode(obj, max_size) or b"")

    def _sent(self, task: Task[Any], refused: m.RaisedOn | None, data: bytes) -> None:
        settle(self.loop)
        if refused is not None:
            assert task.done(), f"a refused send waits: {task!r}"
            self._agree(task, "send", self.model, refused)
        elif not task.done():
            self.senders.append(task)
            self.messages[task] = data
            event(f"senders waiting: {min(len(self.senders), 2)}")
        else:
            assert task.exception() is None, f"send_all raised {task.exception()!r}"
        self._step()

    @precondition(lambda self: len(self.senders) >= 2)
    @rule(data=st.data())
    def cancel_sender(self, data: st.DataObject) -> None:
        """Cancel a sender queued behind another (not the one sending, which
        may have sent part of its message): nothing of its message is sent,
        the others leave whole and in order (stream.send.serialised)."""
        i = data.draw(st.integers(1, len(self.senders) - 1), label="queued")
        event("a queued sender cancelled")
        task = self.senders[i]
        later = sum(len(self.messages[t]) for t in self.senders[i + 1 :])
        task.cancel()
        settle(self.loop)
        self._agree(task, "send", self.model, m.RaisedOn("Cancelled"))
        self.model = m.withdraw(self.model, self.messages.pop(task), later)
        self.senders.remove(task)
        self._step()

    # ------------------------------------------------------------ closing

    @precondition(lambda self: self.steps >= 8)
    @rule()
    def close(self) -> None:
        """Close from a task of the loop: a waiting reader and every sender
        wake with ClosedError (stream.close)."""
        waiting = self.reader
        senders = list(self.senders)
        self._spawn(_closer(self.stream))
        settle(self.loop)
        self.model = m.close(self.model)
        self.reader = None
        if waiting is not None:
            self._agree(waiting[0], waiting[1], self.model, m.RaisedOn("ClosedError"))
        for task in senders:
            assert task.done(), f"{task!r} still sends on a closed stream"
            self._agree(task, "send", self.model, m.RaisedOn("ClosedError"))
        self.senders = []
        self.messages = {}
        self._step()

    @precondition(lambda self: self.steps >= 8)
    @rule()
    def close_elsewhere(self) -> None:
        """Close from another thread: refused while a task uses the stream,
        and then nothing changed (stream.close.other-thread)."""
        errors: list[BaseException] = []

        def other() -> None:
            try:
                self.stream.close()
            except BaseException as err:
                errors.append(err)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        if (self.reader or self.senders) and not self.model.closed:
            assert [type(e).__name__ for e in errors] == ["LoopError"], errors
            text = str(errors[0])
            # Named, with the way out (spec: stream.close.other-thread).
            assert "close()" in text and repr(self.stream) in text, text
            assert "call_soon_threadsafe" in text, text
        else:
            assert not errors, errors
            self.model = m.close(self.model)
        self._step()

    # ------------------------------------------------------------ checks

    @invariant()
    def agrees(self) -> None:
        assert self.stream.closed == self.model.closed
        busy = self.reader is not None or bool(self.senders)
        left = [w for w in self.loop.waiters() if w.sock is self.stream.socket]
        if not busy:
            # A read or send that ended, however it ended, left nothing behind.
            assert not left, f"waiters left on the stream's socket: {left}"

    def teardown(self) -> None:
        try:
            if self.reader is not None:
                self.reader[0].cancel()
            for task in self.senders:
                task.cancel()
            settle(self.loop)
            self.stream.close()
            self._stop()
            settle(self.loop)
            assert not self.loop.waiters(), self.loop.waiters()
            assert all(t.done() for t in self.loop.tasks()), self.loop.tasks()
        finally:
            self.peer.close()
            self.loop.close()


def _closer(stream: Stream) -> Any:
    async def body() -> None:
        stream.close()

    return body


def machine_over(
    transport: str, stream_type: type[Stream] = Stream
) -> type[StreamMachine]:
    """The machine over one of stream_peers.TRANSPORTS; over "plain", the
    stream may be of a subclass of Stream (`stream_type`)."""
    if transport not in TRANSPORTS:
        raise ValueError(f"no transport {transport!r}; have {sorted(TRANSPORTS)}")
    if not (isinstance(stream_type, type) and issubclass(stream_type, Stream)):
        raise TypeError(
            f"stream_type must be a subclass of Stream, got {stream_type!r}"
        )
    if stream_type is not Stream and transport != "plain":
        raise ValueError(
            f"a stream_type ({stream_type.__name__}) is for the plain transport, "
            f"not {transport!r}"
        )
    name = f"StreamMachine_{transport}"
    if stream_type is not Stream:
        name += f"_{stream_type.__name__}"
    attrs = {"transport": transport, "stream_type": stream_type}
    return type(name, (StreamMachine,), attrs)


def _unreported(task: Task[Any]) -> None:
    """The machine compares every task's outcome with the model's; a failed
    read is an expected outcome, not a report."""
