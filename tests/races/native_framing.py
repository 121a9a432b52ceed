"""One recv taken for one message, in native refloop code over
refloop.serve_tcp and refloop.open_tcp_connection.

The client sends a length-less request, one line, with one `send_all`; the
server takes one `receive_some()` as the whole request. Over loopback the
whole line arrives at once; on the simulated network a read may return part
of it (explore.net.partial-recv). The fix reads up to the newline
(`readline`)."""

import refloop


async def run(by_line: bool) -> None:
    seen: list[bytes] = []
    ports: list[int] = []
    started = refloop.Event()

    async def handler(stream: refloop.Stream) -> None:
        if by_line:
            request = await stream.readline()
        else:
            request = await stream.receive_some(1024)
        seen.append(request)
        await stream.send_all(b"ok\n")

    def on_start(listeners: list) -> None:  # type: ignore[type-arg]
        ports.append(listeners[0].getsockname()[1])
        started.set()

    async with refloop.TaskGroup() as group:
        group.spawn(refloop.serve_tcp(handler, "127.0.0.1", 0, started=on_start))
        await started.wait()
        async with await refloop.open_tcp_connection("127.0.0.1", ports[0]) as conn:
            await conn.send_all(b"GET /index.html\n")
            assert await conn.readline() == b"ok\n"
        group.cancel()
    assert seen == [b"GET /index.html\n"], f"request cut: {seen!r}"


async def buggy() -> None:
    await run(by_line=False)


async def fixed() -> None:
    await run(by_line=True)
