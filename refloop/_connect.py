"""Opening TCP connections by name: resolve in a thread, then race the
addresses with staggered attempts (RFC 8305, "happy eyeballs").

Rules this module keeps (spec: connect.*):

1. The loop never blocks: `getaddrinfo` runs in a worker thread.
2. Attempt i+1 starts when attempt i fails or `happy_eyeballs_delay` has
   passed, whichever comes first; the first to connect wins, the others are
   cancelled, and every socket but the winner's is closed, whatever ends the
   race (failure, success, cancellation).
3. When every attempt fails, one OSError names each address and its error.
"""

from __future__ import annotations

import socket
from itertools import zip_longest
from typing import Any

from ._clock import check_time
from ._ops import close, connect
from ._runtime import current_task
from ._scopes import TaskGroup, move_on_after
from ._streams import DEFAULT_MAX_LINE, Stream
from ._suspend import Continuation, suspend
from ._task import Task
from ._threads import run_in_thread

__all__ = ["DEFAULT_DELAY", "connect_tcp", "open_tcp_connection"]

# spec: connect.stagger
DEFAULT_DELAY = 0.25  # RFC 8305 section 8 recommends 250 ms
_Info = tuple[Any, Any, int, str, Any]


class _Failed:
    """Set when an attempt fails; the next attempt waits on it."""

    def __init__(self) -> None:
        self.is_set = False
        self._waiter: Continuation | None = None

    def set(self) -> None:
        self.is_set = True
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter()

    async def wait(self) -> None:
        if not self.is_set:
            await suspend(self._park)

    def _park(self, k: Continuation) -> None:
        self._waiter = k
        k.on_cancel = self._unpark

    def _unpark(self) -> None:
        self._waiter = None


def check_endpoint(host: object, port: object, what: str) -> tuple[str, int]:
    if not isinstance(host, str) or not host:
        raise TypeError(f"{what} needs a host name or address string, got {host!r}")
    if type(port) is not int or not 0 < port < 65536:
        raise ValueError(f"{what} needs a port from 1 to 65535, got {port!r}")
    return host, port


async def resolve(host: str | None, port: int, *, passive: bool = False) -> list[_Info]:
    """getaddrinfo in a worker thread (spec: connect.resolve-in-thread)."""
    flags = socket.AI_PASSIVE if passive else 0
    try:
        # spec: connect.resolve-in-thread
        infos = await run_in_thread(
            socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM, 0, flags
        )
    except socket.gaierror as err:
        raise socket.gaierror(
            err.errno, f"cannot resolve {host!r}: {err.strerror}"
        ) from None
    return list(infos)


def interleave(infos: list[_Info]) -> list[_Info]:
    """The first address's family first, then alternate families
    (spec: connect.order; RFC 8305 section 4)."""
    if not infos:
        return []
    first = infos[0][0]
    primary = [info for info in infos if info[0] == first]
    secondary = [info for info in infos if info[0] != first]
    ordered: list[_Info] = []
    for pair in zip_longest(primary, secondary):
        ordered.extend(info for info in pair if info is not None)
    return ordered


async def _attempt(family: Any, kind: Any, proto: int, address: Any) -> socket.socket:
    try:
        sock = socket.socket(family, kind, proto)
    except OSError as err:
        raise OSError(err.errno, f"socket for {address!r}: {err.strerror}") from None
    try:
        sock.setblocking(False)
        await connect(sock, address)
    except OSError as err:
        close(sock)
        if str(address) in str(err):
            raise
        raise OSError(err.errno, f"connect to {address!r}: {err.strerror}") from None
    except BaseException:
        # spec: connect.no-leak
        close(sock)
        raise
    return sock


async def race(targets: list[_Info], delay: float | None, label: str) -> socket.socket:
    """Connect to the first of `targets` that answers (spec: connect.stagger)."""
    errors: list[tuple[int, OSError]] = []
    winner: list[socket.socket] = []
    attempts: list[Task[None]] = []

    async def attempt(i: int, previous: _Failed | None) -> None:
        if previous is not None:
            if delay is None:
                await previous.wait()
            else:
                with move_on_after(delay):
                    await previous.wait()
        if winner:
            return
        failed = _Failed()
        if i + 1 < len(targets):
            attempts.append(group.spawn(attempt(i + 1, failed)))
        family, kind, proto, _, address = targets[i]
        try:
            sock = await _attempt(family, kind, proto, address)
        except OSError as err:
            errors.append((i, err))
            failed.set()
            return
        if winner:
            close(sock)
            return
        winner.append(sock)
        me = current_task()
        for other in attempts:
            if other is not me:
                # spec: connect.stagger
                other.cancel()

    try:
        async with TaskGroup() as group:
            attempts.append(group.spawn(attempt(0, None)))
    except BaseException:
        # spec: connect.no-leak
        for sock in winner:
            close(sock)
        raise
    if winner:
        return winner[0]
    raise _failure(label, [err for _, err in sorted(errors, key=lambda e: e[0])])


def _failure(label: str, errors: list[OSError]) -> OSError:
    # spec: connect.errors
    tried = "; ".join(str(err) for err in errors)
    message = f"could not connect to {label}: {len(errors)} address(es) tried: {tried}"
    codes = {err.errno for err in errors}
    code = codes.pop() if len(codes) == 1 else None
    # OSError(errno, ...) becomes ConnectionRefusedError and so on.
    failure = OSError(code, message) if code is not None else OSError(message)
    failure.__cause__ = ExceptionGroup(message, errors)
    return failure


async def connect_tcp(
    host: str, port: int, *, happy_eyeballs_delay: float | None = DEFAULT_DELAY
) -> socket.socket:
    """A connected non-blocking TCP socket to `host`:`port`."""
    host, port = check_endpoint(host, port, "open_tcp_connection()")
    delay = None
    if happy_eyeballs_delay is not None:
        delay = check_time(happy_eyeballs_delay, "happy_eyeballs_delay")
        if delay < 0:
            raise ValueError(
                f"happy_eyeballs_delay must be >= 0 (or None), got {delay!r}"
            )
    infos = await resolve(host, port)
    if not infos:
        raise OSError(f"{host!r} resolved to no address")
    # spec: connect.order
    return await race(interleave(infos), delay, f"{host!r} port {port}")


async def open_tcp_connection(
    host: str,
    port: int,
    *,
    happy_eyeballs_delay: float | None = DEFAULT_DELAY,
    max_line: int = DEFAULT_MAX_LINE,
) -> Stream:
    """Resolve `host` in a thread, connect (spec: connect.*), and return a
    Stream over the connection."""
    if type(max_line) is not int or max_line < 1:
        raise ValueError(f"max_line must be an int >= 1, got {max_line!r}")
    sock = await connect_tcp(host, port, happy_eyeballs_delay=happy_eyeballs_delay)
    try:
        return Stream(sock, max_line=max_line)
    except BaseException:
        close(sock)
        raise
