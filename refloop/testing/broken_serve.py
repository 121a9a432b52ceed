"""Deliberately broken servers: each breaks one rule of serve.backoff,
serve.handler-fails, op.accept.aborted or serve.arguments, and the serve machine
(refloop/testing/serve_machine.py) must catch every one
(tests/test_broken_serve.py).

Each is a subclass of the real server that changes one of its policy's
class attributes or one method, so what is tested is the machine's power to
notice that one change.
"""

from __future__ import annotations

import errno
import math
import socket
from typing import Any

from .._ops import close
from .._serve import _Server, open_tcp_listeners, serve_listeners
from .._streams import Stream

__all__ = ["BROKEN_ENTRIES", "BROKEN_SERVERS"]


class SpinningServer(_Server):
    """Retries an accept that ran out of descriptors at once: the naive
    retry, 100% CPU while the shortage lasts (breaks serve.backoff)."""

    first_delay = 0.0
    delay_cap = 0.0


class FatalShortageServer(_Server):
    """EMFILE and its kind end the server, resetting every queued connection
    (breaks serve.backoff; what refloop did before issue #14)."""

    shortages = frozenset()


class PatientAbortServer(_Server):
    """Backs off when a client gave up before it was accepted, as for a
    shortage (breaks op.accept.aborted: nothing to wait for)."""

    shortages = _Server.shortages | {errno.ECONNABORTED, errno.EPROTO}
    aborted = frozenset()


class UncappedServer(_Server):
    """Doubles the delay without a cap: after a long shortage the server
    waits minutes to notice descriptors are free (breaks serve.backoff)."""

    delay_cap = math.inf


class NurseryServer(_Server):
    """A handler's error ends the whole server and every other connection,
    trio's nursery way (breaks serve.handler-fails: one client's bad input
    drops the rest)."""

    async def connection(self, conn: socket.socket, address: Any) -> None:
        stream = Stream(conn, max_line=self.max_line)
        try:
            await self.handler(stream)
        finally:
            stream.close()


BROKEN_SERVERS: dict[str, type[_Server]] = {
    cls.__name__: cls
    for cls in [
        SpinningServer,
        FatalShortageServer,
        PatientAbortServer,
        UncappedServer,
        NurseryServer,
    ]
}


# Broken entries: serve_listeners and serve_tcp as a careless wrapper would
# write them, with the real checks under a step that should come after.


async def closing_serve_listeners(handler: Any, listeners: Any, **kwargs: Any) -> None:
    """Closes the listeners it was given before it checks its other
    arguments: a refusal that changes state first (breaks serve.arguments)."""
    for sock in listeners if isinstance(listeners, list) else []:
        if isinstance(sock, socket.socket):
            close(sock)
    await serve_listeners(handler, listeners, **kwargs)


async def leaking_serve_tcp(
    handler: Any, host: str | None, port: int, **kwargs: Any
) -> None:
    """Opens its listeners before it checks its arguments, so a refusal
    leaves them open (breaks serve.arguments)."""
    listeners = await open_tcp_listeners(port, host=host)
    await serve_listeners(handler, listeners, **kwargs)


# Each: the entry it replaces in the serve machine, and the broken one.
BROKEN_ENTRIES: dict[str, tuple[str, Any]] = {
    "ClosingRefusal": ("serve_listeners", closing_serve_listeners),
    "LeakingRefusal": ("serve_tcp", leaking_serve_tcp),
}
