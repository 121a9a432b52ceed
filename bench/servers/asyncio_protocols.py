"""asyncio protocols: data_received writes straight back, no tasks."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from bench.servers._common import serve


class _Echo(asyncio.Protocol):
    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def _main(lsock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Echo, sock=lsock)
    await server.serve_forever()


def runner(loop_factory: Callable[[], asyncio.AbstractEventLoop] | None) -> None:
    """Serve on asyncio's own loop, or on the one `loop_factory` makes."""

    def run(lsock: socket.socket) -> None:
        with asyncio.Runner(loop_factory=loop_factory) as r:
            r.run(_main(lsock))

    return serve(run)


if __name__ == "__main__":
    runner(None)
