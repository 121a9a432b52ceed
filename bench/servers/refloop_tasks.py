"""refloop: one task per connection, written as refloop's README shows."""

from __future__ import annotations

import socket

from bench.servers._common import READ_SIZE, nodelay, serve


def run(lsock: socket.socket) -> None:
    import refloop

    async def handle(conn: socket.socket) -> None:
        try:
            while True:
                data = await refloop.recv(conn, READ_SIZE)
                if not data:
                    break
                await refloop.sendall(conn, data)
        except OSError:
            pass
        finally:
            refloop.close(conn)

    async def main() -> None:
        while True:
            conn, _ = await refloop.accept(lsock)
            nodelay(conn)
            refloop.spawn(handle(conn))

    refloop.run(main())


if __name__ == "__main__":
    serve(run, requires=("refloop",))
