"""One read taken for one message, over asyncio streams.

A client sends two commands, each a line, in one write; the server reads
with `reader.read(1024)` and takes what one read returns as whole lines.
Over loopback one read returns everything written (the bytes are in the
kernel's buffer at once), so the bug never shows; on the simulated network
a read may return part of what was sent (explore.net.partial-recv), and a
line is cut in two. The fix reads lines (`readline`)."""

import asyncio


async def run(by_line: bool) -> None:
    seen: list[bytes] = []

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if by_line:
            for _ in range(2):
                seen.append(await reader.readline())
        else:
            data = await reader.read(1024)
            seen.extend(data.splitlines(keepends=True))
        writer.write(b"done\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"SET a 1\nGET a\n")
    await writer.drain()
    assert await reader.readline() == b"done\n"
    writer.close()
    server.close()
    await server.wait_closed()
    assert seen == [b"SET a 1\n", b"GET a\n"], f"commands cut: {seen!r}"


async def buggy() -> None:
    await run(by_line=False)


async def fixed() -> None:
    await run(by_line=True)
