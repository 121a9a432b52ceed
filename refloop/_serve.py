"""Serving TCP: listeners, an accept loop that survives running out of
descriptors, and a task per connection in one task group (spec: serve.*).

Rules this module keeps:

1. An accept that fails for want of resources (EMFILE, ENFILE, ENOBUFS,
   ENOMEM) is never retried at once: the accept loop sleeps, first
   ACCEPT_BACKOFF_FIRST seconds, doubling up to ACCEPT_BACKOFF_CAP, and the
   delay starts over after an accept succeeds. The pending connections stay
   queued in the kernel meanwhile.
2. Every connection task, and the accept loops, live in one TaskGroup owned
   by `serve_listeners`; cancelling it closes the listeners first (so no new
   connection starts), then cancels every connection, and each connection's
   stream is closed by its own task.
3. A handler's Exception ends its connection and is logged; it does not stop
   the server.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from ._clock import check_time
from ._connect import make_socket, resolve
from ._errors import ClosedError
from ._ops import accept, close, sleep
from ._scopes import TaskGroup, timeout
from ._streams import DEFAULT_MAX_LINE, Stream
from ._tls import HandshakeError, wrap_tls

__all__ = [
    "ACCEPT_BACKOFF_CAP",
    "ACCEPT_BACKOFF_FIRST",
    "open_tcp_listeners",
    "serve_listeners",
    "serve_tcp",
]

log = logging.getLogger("refloop.serve")

# spec: serve.backoff
ACCEPT_BACKOFF_FIRST: Final = 0.1
ACCEPT_BACKOFF_CAP: Final = 1.0
DEFAULT_HANDSHAKE_TIMEOUT: Final = 60.0
_OUT_OF_RESOURCES: Final = frozenset(
    {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
)
# The client gave up before we accepted it: nothing to back off from.
_ABORTED: Final = frozenset({errno.ECONNABORTED, errno.EPROTO})

Handler = Callable[[Stream], Awaitable[object]]
Started = Callable[[list[socket.socket]], object]


async def open_tcp_listeners(
    port: int, *, host: str | None = None, backlog: int = 128
) -> list[socket.socket]:
    """Non-blocking listening sockets on `port` for every address of `host`
    (None: all interfaces), IPv6 ones with IPV6_V6ONLY (spec: serve.listen)."""
    if type(port) is not int or not 0 <= port < 65536:
        raise ValueError(f"open_tcp_listeners() needs a port 0 to 65535, got {port!r}")
    if host is not None and (not isinstance(host, str) or not host):
        raise TypeError(
            f"open_tcp_listeners() host must be a str or None, got {host!r}"
        )
    if type(backlog) is not int or backlog < 0:
        raise ValueError(f"backlog must be an int >= 0, got {backlog!r}")
    # spec: serve.listen
    infos = await resolve(host, port, passive=True)
    listeners: list[socket.socket] = []
    try:
        seen: set[Any] = set()
        for family, kind, proto, _, address in infos:
            if address in seen:
                continue
            seen.add(address)
            if port == 0 and listeners:
                # One free port for every address, as a caller of port 0 expects.
                address = (address[0], listeners[0].getsockname()[1], *address[2:])
            sock = make_socket(family, kind, proto)
            listeners.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in listeners:
            sock.close()
        raise
    return listeners


class _Server:
    # spec: serve.backoff (class attributes, so the catalogue of broken
    # servers, refloop/testing/broken_serve.py, can change one of them)
    first_delay: float = ACCEPT_BACKOFF_FIRST
    delay_cap: float = ACCEPT_BACKOFF_CAP
    shortages: frozenset[int] = _OUT_OF_RESOURCES
    aborted: frozenset[int] = _ABORTED

    def __init__(
        self,
        handler: Handler,
        ssl_context: ssl.SSLContext | None,
        handshake_timeout: float,
        max_line: int,
    ) -> None:
        self.handler = handler
        self.ssl_context = ssl_context
        self.handshake_timeout = handshake_timeout
        self.max_line = max_line
        self.closing = False
        self.group: TaskGroup | None = None

    async def accept_loop(self, listener: socket.socket) -> None:
        delay = self.first_delay
        while True:
            try:
                conn, address = await accept(listener)
            except ClosedError:
                if self.closing:
                    return
                raise
            except OSError as err:
                if err.errno in self.shortages:
                    # spec: serve.backoff
                    log.warning(
                        "accept on %r failed (%s); retrying in %g s",
                        listener,
                        err,
                        delay,
                    )
                    await sleep(delay)
                    delay = min(delay * 2, self.delay_cap)
                    continue
                if err.errno in self.aborted:
                    # spec: op.accept.aborted
                    continue
                raise
            # spec: serve.backoff
            delay = self.first_delay
            if self.closing:
                close(conn)
                return
            assert self.group is not None
            # spec: serve.task-per-connection
            self.group.spawn(self.connection(conn, address), name=f"conn {address!r}")

    async def connection(self, conn: socket.socket, address: Any) -> None:
        stream = Stream(conn, max_line=self.max_line)
        try:
            if self.ssl_context is not None:
                try:
                    with timeout(self.handshake_timeout):
                        stream = await wrap_tls(
                            stream, self.ssl_context, server_side=True
                        )
                except (HandshakeError, TimeoutError) as err:
                    # spec: serve.tls
                    log.warning("TLS handshake with %r failed: %s", address, err)
                    return
            await self.handler(stream)
        except Exception as err:
            # spec: serve.handler-fails
            log.error(
                "handler %r failed on the connection from %r",
                self.handler,
                address,
                exc_info=err,
            )
        finally:
            # spec: serve.shutdown
            stream.close()


def _check(
    handler: object, ssl_context: object, handshake_timeout: float, max_line: object
) -> float:
    # spec: serve.arguments (checked before anything opens, closes or spawns)
    if not callable(handler):
        raise TypeError(f"serve needs an async handler(stream), got {handler!r}")
    if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
        raise TypeError(f"ssl_context must be an ssl.SSLContext, got {ssl_context!r}")
    if type(max_line) is not int or max_line < 1:
        raise ValueError(f"max_line must be an int >= 1, got {max_line!r}")
    return check_time(handshake_timeout, "handshake_timeout")


async def serve_listeners(
    handler: Handler,
    listeners: Sequence[socket.socket],
    *,
    started: Started | None = None,
    ssl_context: ssl.SSLContext | None = None,
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
    max_line: int = DEFAULT_MAX_LINE,
) -> None:
    """Accept on every listener and run `await handler(stream)` in a task per
    connection, until cancelled; the listeners are closed at the end."""
    handshake_timeout = _check(handler, ssl_context, handshake_timeout, max_line)
    given = listeners
    # spec: serve.arguments (the given listeners are left open and the caller's)
    listeners = list(given) if isinstance(given, Sequence) else []
    if not listeners or not all(isinstance(s, socket.socket) for s in listeners):
        raise TypeError(
            "serve_listeners needs a non-empty list of listeners (sockets), "
            f"got {given!r}"
        )
    await _serve(
        _Server(handler, ssl_context, handshake_timeout, max_line), listeners, started
    )


async def _serve(
    server: _Server, listeners: list[socket.socket], started: Started | None
) -> None:
    """serve_listeners' work, once its arguments are checked."""
    try:
        async with TaskGroup() as group:
            server.group = group
            loops = [group.spawn(server.accept_loop(sock)) for sock in listeners]
            if started is not None:
                started(listeners)
            try:
                for loop in loops:
                    await loop.join()
            finally:
                # spec: serve.shutdown
                server.closing = True
                for sock in listeners:
                    close(sock)
    finally:
        server.closing = True
        for sock in listeners:
            close(sock)


async def serve_tcp(
    handler: Handler,
    host: str | None,
    port: int,
    *,
    backlog: int = 128,
    started: Started | None = None,
    ssl_context: ssl.SSLContext | None = None,
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
    max_line: int = DEFAULT_MAX_LINE,
) -> None:
    """Listen on `host`:`port` (None: every interface; port 0: any free port,
    told to `started(listeners)`) and serve until cancelled."""
    _check(handler, ssl_context, handshake_timeout, max_line)
    listeners = await open_tcp_listeners(port, host=host, backlog=backlog)
    await serve_listeners(
        handler,
        listeners,
        started=started,
        ssl_context=ssl_context,
        handshake_timeout=handshake_timeout,
        max_line=max_line,
    )
