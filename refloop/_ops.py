"""Socket operations, built only on `suspend`.

Each operation tries the system call first and suspends only when it would
block (spec: op.try-first). Each counts towards the calling task's budget:
a task that has completed `budget` operations in a row without suspending
yields before its next one, so a task that always finds data ready cannot
starve the others (spec: op.budget).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import types
from collections.abc import Generator
from functools import partial
from typing import Any

from ._clock import check_time
from ._errors import ClosedError, LoopError
from ._runtime import RunningLoop, _running, loop_of, running_loop_or_none
from ._suspend import Continuation, Handler, requeue, suspend
from ._task import Task
from ._waiters import READ, WRITE

__all__ = [
    "accept",
    "close",
    "connect",
    "recv",
    "send",
    "sendall",
    "sleep",
    "wait_idle",
    "yield_now",
]


def _enter(sock: socket.socket, op: str) -> tuple[RunningLoop, Task[Any]]:
    """The running loop and task, after checking `sock` can be used."""
    loop = _running.loop
    task = loop._current if loop is not None else None
    if loop is None or task is None:
        raise LoopError(f"{op}() must be awaited inside a refloop task")
    try:
        # The attribute, not gettimeout(): this runs on every operation.
        timeout = sock.timeout
    except AttributeError:
        raise TypeError(f"{op}() needs a socket, got {sock!r}") from None
    if timeout != 0.0:
        # spec: op.nonblocking
        raise ValueError(
            f"{sock!r} is in blocking mode; refloop needs non-blocking sockets: "
            "call sock.setblocking(False) first"
        )
    return loop, task


def _failed(err: OSError, sock: socket.socket, op: str) -> OSError:
    if err.errno == errno.EBADF and sock.fileno() < 0:
        # spec: io.closed.rejects
        return ClosedError(f"{op}() on {sock!r}, which is closed")
    return err


# Each operation below has the same shape: check the budget, try the call,
# and only if it would block wait for readiness and try again. A call that
# EINTR interrupted is made again at once (op.eintr); any other error is
# raised to the task as the call raised it (op.error). The wait is
# outside the `except` clause so the BlockingIOError (and its traceback) is
# not kept alive for the whole wait.


async def recv(sock: socket.socket, nbytes: int) -> bytes:
    """Receive up to `nbytes` bytes; b"" once the peer has closed its side."""
    loop, task = _enter(sock, "recv")
    if type(nbytes) is not int or nbytes < 1:
        # spec: op.recv.eof
        raise ValueError(
            f"recv() needs nbytes >= 1, got {nbytes!r}: 0 would read as EOF"
        )
    # spec: op.budget
    if task._spent():
        await suspend(requeue)
    while True:
        try:
            data = sock.recv(nbytes)
        except BlockingIOError:
            pass
        except InterruptedError:
            # spec: op.eintr
            continue
        except OSError as err:
            # spec: op.error
            raise _failed(err, sock, "recv") from None
        else:
            task._count_op()
            # spec: op.recv.eof
            return data
        # spec: op.try-first
        await suspend(partial(loop._park, sock, READ))


async def send(sock: socket.socket, data: bytes | bytearray | memoryview) -> int:
    """Send what the kernel will take now (at least one byte, suspending until
    it takes any) and return the count; may be less than len(data)."""
    loop, task = _enter(sock, "send")
    # spec: op.budget
    if task._spent():
        await suspend(requeue)
    while True:
        try:
            count = sock.send(data)
        except BlockingIOError:
            pass
        except InterruptedError:
            # spec: op.eintr
            continue
        except OSError as err:
            # spec: op.error
            raise _failed(err, sock, "send") from None
        else:
            task._count_op()
            # spec: op.short
            return count
        # spec: op.try-first
        await suspend(partial(loop._park, sock, WRITE))


async def sendall(sock: socket.socket, data: bytes | bytearray | memoryview) -> None:
    """Send all of `data`, as a series of `send` operations (spec: op.sendall):
    each counts towards the budget, and each may suspend."""
    loop, task = _enter(sock, "sendall")
    if type(data) is not bytes and type(data) is not bytearray:
        data = memoryview(data).cast("B")
    total = len(data)
    sent = 0
    view: memoryview | None = None
    while sent < total:
        # spec: op.budget
        if task._spent():
            await suspend(requeue)
        try:
            count = sock.send(data if view is None else view[sent:])
        except BlockingIOError:
            pass
        except InterruptedError:
            # spec: op.eintr
            continue
        except OSError as err:
            # spec: op.error
            raise _failed(err, sock, "sendall") from None
        else:
            task._count_op()
            sent += count
            if view is None and sent < total:
                view = memoryview(data)
            continue
        # spec: op.try-first
        await suspend(partial(loop._park, sock, WRITE))


async def accept(sock: socket.socket) -> tuple[socket.socket, Any]:
    """Accept a connection; the new socket is non-blocking."""
    loop, task = _enter(sock, "accept")
    # spec: op.budget
    if task._spent():
        await suspend(requeue)
    while True:
        try:
            conn, address = sock.accept()
        except BlockingIOError:
            pass
        except InterruptedError:
            # spec: op.eintr
            continue
        except OSError as err:
            # spec: op.accept.resources
            # spec: op.accept.aborted
            # spec: op.error
            raise _failed(err, sock, "accept") from None
        else:
            # spec: op.accept
            conn.setblocking(False)
            task._count_op()
            return conn, address
        # spec: op.try-first
        await suspend(partial(loop._park, sock, READ))


def _check_resolved(sock: socket.socket, address: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0] if isinstance(address, tuple) and address else address
        try:
            ipaddress.ip_address(host)
        except ValueError:
            # spec: op.connect.resolved
            raise ValueError(
                f"connect() needs a numeric address, got host {host!r}: name "
                "resolution would block the loop; resolve it first"
            ) from None


async def connect(sock: socket.socket, address: Any) -> None:
    """Connect `sock` to `address`; raise the connection's error if it fails."""
    loop, task = _enter(sock, "connect")
    _check_resolved(sock, address)
    # spec: op.budget
    if task._spent():
        await suspend(requeue)
    try:
        sock.connect(address)
    except BlockingIOError:
        # spec: op.try-first
        await suspend(partial(loop._park, sock, WRITE))
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            # spec: op.connect.error
            raise OSError(
                code, f"connect to {address!r}: {os.strerror(code)}"
            ) from None
    except OSError as err:
        raise _failed(err, sock, "connect") from None
    task._count_op()


def close(sock: socket.socket) -> None:
    """Close `sock` through the running loop: its waiters are removed, then
    woken with ClosedError, then the descriptor is closed (spec: io.close.*).
    Outside a running loop (between iterations, in another thread) it finds
    the loop the socket is registered with; a socket no loop knows is just
    closed (spec: io.close.anywhere)."""
    loop = running_loop_or_none()
    if loop is None or not loop._knows(sock):
        # spec: io.close.anywhere
        loop = loop_of(sock) or loop
    if loop is None:
        sock.close()
    else:
        loop.close_socket(sock)


@types.coroutine
def yield_now() -> Generator[Handler, Any, None]:
    """Go to the back of the run queue (spec: op.yield). Yields `requeue`
    itself rather than through `suspend`, one frame less (see _suspend.py)."""
    if _running.loop is None:
        raise LoopError("yield_now() must be awaited inside a refloop task")
    yield requeue


def _sleep_handler(loop: RunningLoop, when: float, k: Continuation) -> None:
    k.on_cancel = loop._call_at(when, k, k.task).cancel


async def sleep(seconds: float) -> None:
    """Suspend for `seconds` by the loop's clock; zero or less means until the
    next iteration's timers (spec: timer.sleep)."""
    loop = _running.loop
    if loop is None or loop._current is None:
        raise LoopError("sleep() must be awaited inside a refloop task")
    if type(seconds) is not float or seconds - seconds != 0.0:
        # Not a finite float: the full check, with its error messages.
        seconds = check_time(seconds, "sleep() seconds")
    # spec: timer.sleep
    when = loop._clock() + (seconds if seconds > 0.0 else 0.0)
    await suspend(partial(_sleep_handler, loop, when))


def _idle_handler(loop: RunningLoop, k: Continuation) -> None:
    k.on_cancel = loop.call_when_idle(k).cancel


async def wait_idle() -> None:
    """Suspend until the loop is idle: nothing runnable, no socket ready, no
    timer due (spec: idle)."""
    loop = _running.loop
    if loop is None or loop._current is None:
        raise LoopError("wait_idle() must be awaited inside a refloop task")
    await suspend(partial(_idle_handler, loop))
