"""The README's example: a chat server with broadcast (tests/test_examples.py
keeps the two the same)."""

import refloop

clients: set[refloop.Stream] = set()


async def chat(stream: refloop.Stream) -> None:
    clients.add(stream)
    try:
        while line := await stream.readline():  # b"" at end of stream
            for peer in list(clients - {stream}):
                with refloop.move_on_after(5):  # a peer too slow is skipped
                    await peer.send_all(line)  # concurrent senders queue
    finally:
        clients.discard(stream)  # serve_tcp closes the stream


# A task per connection in a task group; Ctrl-C cancels them all and closes
# every socket.
refloop.run(refloop.serve_tcp(chat, "127.0.0.1", 8007))
