"""Sockets and a selector whose send capacity the test controls.

The model gives each stream a fixed capacity: the loop may have at most
`capacity` bytes sent and unread by the peer. The kernel's buffers are far
larger and sized by rules the model does not follow, so the stateful test
pins capacity with a shim: `ShimSocket.send` takes at most `room` bytes and
raises BlockingIOError at zero, and `ShimSelector` hides write readiness
while `room` is zero. Everything else is the real kernel.

The selector also records each timeout the loop asks for and then polls
without blocking: in the stateful test nothing changes while the loop polls,
so a blocking poll would either return at once or never. "Never" is raised
as WouldBlockForever, which the harness reports as a poll that found nothing:
a loop that blocks while work is pending (a lost wakeup) is caught that way.

At each poll the selector also compares its interest set (which descriptors
it watches, in which directions) with `expect`, the (fd, direction) pairs the
harness knows have a waiter, and keeps what differs in `problems`: a
registration left behind by a woken, cancelled or closed waiter makes the
poll return at once, so the loop would busy-poll (spec: io.interest).

Both kinds of socket also hold `faults`, the environment's injected faults
(refloop.model.faults, spec: env.fault), taken by the next matching call: an
errno is raised as the OSError the kernel's would be (an EINTR as
InterruptedError, which CPython's own socket methods never let through: see
op.eintr), a short transfer moves at most its size. While the next `recv`
(or `send`) of a socket would meet ECONNRESET or EPIPE, the selector reports
that socket readable (writable), as epoll reports a connection in error
(spec: io.ready.error).
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
from collections.abc import Callable
from typing import Any

from ..explore._forwarding import ForwardingSelector
from ..model.faults import SHORT, Fault, error_pending

__all__ = ["ShimListener", "ShimSelector", "ShimSocket", "WouldBlockForever"]


class WouldBlockForever(Exception):
    """The loop polled without a timeout and nothing was ready."""


def _meet(faults: list[Fault], op: str) -> int | None:
    """The next `op` call meets `faults`: raise its injected error (taking
    it), or return the size of a short transfer at their head (left for the
    call to take if it moves bytes), or None."""
    for i, fault in enumerate(faults):
        if fault.op == op:
            if fault.kind == SHORT:
                return fault.size
            del faults[i]
            code = getattr(errno, fault.kind)
            raise OSError(code, f"{os.strerror(code)} (injected by the shim)")
    return None


def _took_short(faults: list[Fault], op: str) -> None:
    for i, fault in enumerate(faults):
        if fault.op == op:
            del faults[i]
            return


class ShimSocket(socket.socket):
    """A socket whose `send` is limited to `room` bytes (None: no limit), and
    whose `recv` and `send` meet the injected `faults`."""

    room: int | None

    def __init__(self, *args: Any, room: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.room = room
        self.faults: list[Fault] = []

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        if not self.faults or self.fileno() < 0:
            return super().recv(bufsize, flags)
        short = _meet(self.faults, "recv")
        if short is None:
            return super().recv(bufsize, flags)
        data = super().recv(min(bufsize, short), flags)
        if data:
            _took_short(self.faults, "recv")
        return data

    def send(self, data: Any, flags: int = 0, /) -> int:
        short = None
        if self.faults and self.fileno() >= 0:
            short = _meet(self.faults, "send")
        if self.room is not None and self.fileno() >= 0:
            if self.room <= 0:
                raise BlockingIOError(
                    errno.EAGAIN, "the shim's send capacity is used up"
                )
            data = memoryview(data)[: self.room]
        if short is not None:
            data = memoryview(data)[:short]
        count = super().send(data, flags)
        if short is not None and count:
            _took_short(self.faults, "send")
        if self.room is not None:
            self.room -= count
        return count


class ShimListener(socket.socket):
    """A listener whose accepted sockets are ShimSockets with `room` bytes."""

    def __init__(
        self,
        *args: Any,
        room: int | None = None,
        on_accept: Callable[[ShimSocket], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.room = room
        self.on_accept = on_accept
        self.faults: list[Fault] = []

    def accept(self) -> tuple[socket.socket, Any]:
        if self.faults and self.fileno() >= 0:
            # The error comes before a connection is taken: it stays queued.
            _meet(self.faults, "accept")
        fd, address = self._accept()  # type: ignore[attr-defined]
        conn = ShimSocket(self.family, self.type, self.proto, fileno=fd, room=self.room)
        if self.on_accept is not None:
            self.on_accept(conn)
        return conn, address


class ShimSelector(ForwardingSelector):
    """The default selector, never blocking, hiding write readiness of shim
    sockets that have no room, and recording the timeouts asked for."""

    def __init__(self) -> None:
        super().__init__(selectors.DefaultSelector())
        self.timeouts: list[float | None] = []
        self.shims: dict[int, ShimSocket] = {}
        # Set by the harness before each iteration: the (fd, event) pairs
        # with a waiter, and the fds it owns (others, like the loop's wakeup
        # socket, are not compared). None: not checked.
        self.expect: set[tuple[int, int]] | None = None
        self.owned: set[int] = set()
        self.problems: list[str] = []
        # While set (the harness's run), a poll that would wait at all for
        # nothing ready raises WouldBlockForever: only the environment could
        # end the wait, and it does not act during the call.
        self.stop_on_wait = False
        # Told of each poll's timeout as it starts (the harness's run, which
        # interleaves polls with the loop's trace).
        self.on_poll: Callable[[float | None], None] | None = None
        # Called once, instead of raising WouldBlockForever, by the first
        # poll that would wait (the harness's interrupted run: Ctrl-C).
        self.on_wait: Callable[[], None] | None = None
        # Set once the selector is closed (by the loop's close: loop.close).
        self.closed = False

    def select(
        self, timeout: float | None = None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        self.timeouts.append(timeout)
        if self.expect is not None:
            self._check_interest(self.expect)
        if self.on_poll is not None:
            self.on_poll(timeout)
        found = self._ready()
        if (timeout is None or (self.stop_on_wait and timeout != 0)) and not found:
            if self.on_wait is None:
                raise WouldBlockForever
            # Something outside the loop happens while it waits (Ctrl-C).
            on_wait, self.on_wait = self.on_wait, None
            on_wait()
            found = self._ready()
            if not found:
                raise WouldBlockForever
        return found

    def _ready(self) -> list[tuple[selectors.SelectorKey, int]]:
        """What a poll finds ready now."""
        found = []
        for key, mask in self._inner.select(0):
            shim = self.shims.get(key.fd)
            if (
                mask & selectors.EVENT_WRITE
                and shim is not None
                and shim.room is not None
            ) and shim.room <= 0:
                mask &= ~selectors.EVENT_WRITE
            if mask:
                found.append((key, mask))
        return self._in_error(found)

    def _in_error(
        self, found: list[tuple[selectors.SelectorKey, int]]
    ) -> list[tuple[selectors.SelectorKey, int]]:
        """`found`, with each shim socket whose next recv (send) would meet
        a connection error reported readable (writable), as epoll would."""
        if not any(shim.faults for shim in self.shims.values()):
            return found
        errors: dict[int, tuple[selectors.SelectorKey, int]] = {}
        for key in self._inner.get_map().values():
            shim = self.shims.get(key.fd)
            if shim is None or not shim.faults:
                continue
            faults = tuple(shim.faults)
            mask = 0
            if key.events & selectors.EVENT_READ and error_pending(faults, "recv"):
                mask |= selectors.EVENT_READ
            if key.events & selectors.EVENT_WRITE and error_pending(faults, "send"):
                mask |= selectors.EVENT_WRITE
            if mask:
                errors[key.fd] = (key, mask)
        merged = [(key, mask | errors.pop(key.fd, (key, 0))[1]) for key, mask in found]
        merged.extend(errors.values())
        return merged

    def _check_interest(self, expect: set[tuple[int, int]]) -> None:
        watched = {
            (key.fd, event)
            for key in self._inner.get_map().values()
            if key.fd in self.owned
            for event in (selectors.EVENT_READ, selectors.EVENT_WRITE)
            if key.events & event
        }
        if watched != expect:
            self.problems.append(
                f"poll {len(self.timeouts)} watches {sorted(watched)}, "
                f"but the waiters are on {sorted(expect)}"
            )

    def close(self) -> None:
        self.closed = True
        self._inner.close()
