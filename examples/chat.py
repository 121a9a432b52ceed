"""A chat server: every line a client sends goes to every other client.

    python examples/chat.py [PORT]      # default 8007; 0 picks a free port
    nc 127.0.0.1 8007                   # in two or more other terminals

Built only on refloop's streams and serving: `serve_tcp` runs each
connection in its own task with a `Stream`; `readline` bounds a line's
length; `send_all` queues concurrent senders, so two broadcasts to one
client never interleave; a client too slow to take a line within 5 s is
dropped; Ctrl-C cancels the server, which closes every connection.
"""

from __future__ import annotations

import sys

import refloop

clients: dict[refloop.Stream, str] = {}


async def broadcast(text: str, sender: refloop.Stream | None = None) -> None:
    data = text.encode()
    for peer in list(clients):
        if peer is sender:
            continue
        try:
            with refloop.timeout(5):
                await peer.send_all(data)
        except (OSError, TimeoutError):
            clients.pop(peer, None)  # gone, or too slow: drop it
            peer.close()


async def chat(stream: refloop.Stream) -> None:
    await stream.send_all(b"name? ")
    name = (await stream.readline(max_line=64)).decode(errors="replace").strip()
    if not name:
        return
    clients[stream] = name
    await broadcast(f"* {name} joined\n", stream)
    try:
        while line := await stream.readline():
            await broadcast(f"<{name}> {line.decode(errors='replace')}", stream)
    except refloop.LimitOverrunError:
        await stream.send_all(b"* line too long, bye\n")
    except EOFError:
        pass  # a last line without its newline
    finally:
        if clients.pop(stream, None) is not None:
            await broadcast(f"* {name} left\n")


def started(listeners: list[object]) -> None:
    port = listeners[0].getsockname()[1]  # type: ignore[attr-defined]
    print(f"chat on 127.0.0.1 port {port}", flush=True)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8007
    try:
        refloop.run(refloop.serve_tcp(chat, "127.0.0.1", port, started=started))
    except KeyboardInterrupt:
        print("bye")
