"""curio: an accept loop spawning one daemon task per connection."""

from __future__ import annotations

import importlib
import socket
from typing import Any

from bench.servers._common import READ_SIZE, nodelay, serve


def run(lsock: socket.socket) -> None:
    # curio ships no type information: reach it through import_module (Any).
    curio = importlib.import_module("curio")
    cio = importlib.import_module("curio.io")

    async def handle(conn: Any) -> None:
        async with conn:
            try:
                while data := await conn.recv(READ_SIZE):
                    await conn.sendall(data)
            except OSError:
                pass

    async def main() -> None:
        listener = cio.Socket(lsock)
        while True:
            conn, _ = await listener.accept()
            nodelay(conn)  # cio.Socket passes setsockopt through
            await curio.spawn(handle, conn, daemon=True)

    curio.run(main)


if __name__ == "__main__":
    serve(run, requires=("curio",))
