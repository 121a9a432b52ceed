"""asyncio streams: start_server, one task per connection, read/write/drain."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from bench.servers._common import READ_SIZE, serve


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(READ_SIZE):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def _main(lsock: socket.socket) -> None:
    server = await asyncio.start_server(_handle, sock=lsock, limit=READ_SIZE)
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
