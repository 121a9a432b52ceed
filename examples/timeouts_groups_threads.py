"""A timeout, a task group and a thread call, together over real sockets.

A server answers each framed request after the delay the request asks for.
Three clients run in a task group; each resolves the server's name in a
thread (name resolution blocks, so it must not run in the loop), connects,
and waits for its answer under a timeout. The slow one times out; the group
still finishes, and the server is stopped with `move_on_after`.

Run: python examples/timeouts_groups_threads.py
"""

from __future__ import annotations

import socket

import refloop


async def serve_one(conn: socket.socket) -> None:
    try:
        while True:
            try:
                delay = await refloop.recv_message(conn)
            except EOFError:
                return
            assert isinstance(delay, int | float)
            await refloop.sleep(delay)
            await refloop.send_message(conn, {"slept": delay})
    finally:
        refloop.close(conn)


async def server(listener: socket.socket) -> None:
    async with refloop.TaskGroup() as connections:
        while True:
            conn, _ = await refloop.accept(listener)
            connections.spawn(serve_one(conn))


async def client(name: str, port: int, delay: float, limit: float) -> str:
    infos = await refloop.run_in_thread(
        socket.getaddrinfo, "localhost", port, socket.AF_INET, socket.SOCK_STREAM
    )
    address = infos[0][4]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await refloop.connect(sock, address)
        await refloop.send_message(sock, delay)
        try:
            with refloop.timeout(limit):
                answer = await refloop.recv_message(sock)
        except TimeoutError:
            return f"{name}: gave up after {limit} s"
        return f"{name}: got {answer}"
    finally:
        refloop.close(sock)


async def main() -> list[str]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    results: list[str] = []
    try:
        with refloop.move_on_after(1.0):
            async with refloop.TaskGroup() as everything:
                everything.spawn(server(listener))

                async def clients() -> None:
                    async with refloop.TaskGroup() as group:
                        tasks = [
                            group.spawn(client("fast", port, 0.01, 0.5)),
                            group.spawn(client("medium", port, 0.05, 0.5)),
                            group.spawn(client("slow", port, 0.3, 0.1)),
                        ]
                    results.extend(t.result() for t in tasks)
                    # Everything asked for is done: stop the server too.
                    raise _Done

                everything.spawn(clients())
    except* _Done:
        pass
    finally:
        refloop.close(listener)
    return results


class _Done(Exception):
    pass


if __name__ == "__main__":
    for line in refloop.run(main()):
        print(line)
