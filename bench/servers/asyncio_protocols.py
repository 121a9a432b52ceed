"""asyncio protocols: data_received writes straight back, no tasks."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

from bench.servers._common import serve


class _Echo(asyncio.Protocol):
    # uvloop's transports are not asyncio.Transport subclasses; duck-type them.
    transport: Any

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def _main(lsock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Echo, sock=lsock)
    await server.serve_forever()


def runner(
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None,
    requires: tuple[str, ...] = (),
) -> None:
    """Serve on asyncio's own loop, or on the one `loop_factory` makes."""

    def run(lsock: socket.socket) -> None:
        with asyncio.Runner(loop_factory=loop_factory) as r:
            r.run(_main(lsock))

    serve(run, requires)


if __name__ == "__main__":
    runner(None)
