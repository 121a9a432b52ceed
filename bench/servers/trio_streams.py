"""trio: serve_listeners with SocketStream, trio's idiomatic server."""

from __future__ import annotations

import socket

from bench.servers._common import READ_SIZE, serve


def run(lsock: socket.socket) -> None:
    import trio

    async def handle(stream: trio.SocketStream) -> None:
        try:
            while data := await stream.receive_some(READ_SIZE):
                await stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async def main() -> None:
        listener = trio.SocketListener(trio.socket.from_stdlib_socket(lsock))
        await trio.serve_listeners(handle, [listener])

    trio.run(main)


if __name__ == "__main__":
    serve(run, requires=("trio",))
