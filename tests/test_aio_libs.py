"""Real asyncio libraries over loopback on refloop.aio: aiohttp (server and
client: many requests on kept-alive connections, a streamed body each way),
websockets (an echo server and client) and anyio's asyncio backend (a task
group, a memory object stream, sleeps, a cancel scope, a TCP connection).

Each program runs on refloop.aio and on asyncio's default loop, and must
give the same result on both (and the result the program expects). The
packages are the real ones (the `aio-libs` extra), never mocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import refloop.aio
from refloop.aio import RefloopEventLoop

aiohttp = pytest.importorskip("aiohttp")
web = pytest.importorskip("aiohttp.web")
ws_server = pytest.importorskip("websockets.asyncio.server")
ws_client = pytest.importorskip("websockets.asyncio.client")
anyio = pytest.importorskip("anyio")

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "refloop.aio": refloop.aio.new_event_loop,
    "asyncio": asyncio.new_event_loop,
}

RULES = ["aio.entry", "aio.run-queue", "aio.watch.level", "aio.timer.order"]


def on_both(main: Callable[[], Any]) -> Any:
    """Run `main()` on each loop; the results must be equal; return one."""
    results = {}
    for name, factory in LOOPS.items():
        with asyncio.Runner(loop_factory=factory) as runner:
            results[name] = runner.run(main())
            assert isinstance(runner.get_loop(), RefloopEventLoop) == (
                name == "refloop.aio"
            )
    first, second = results.values()
    assert first == second, results
    return first


# ------------------------------------------------------------ aiohttp

REQUESTS = 60
CHUNK = b"0123456789abcdef" * 256  # 4 KiB
CHUNKS = 40  # 160 KiB each way


async def aiohttp_program() -> dict[str, Any]:
    peers: set[object] = set()

    async def hello(request: Any) -> Any:
        peers.add(request.transport.get_extra_info("peername"))
        return web.Response(text=f"hello {request.match_info['n']}")

    async def echo(request: Any) -> Any:
        # A streamed body both ways: read the request in chunks as it
        # arrives, write each chunk back before the next is read.
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        async for chunk in request.content.iter_chunked(4096):
            await response.write(chunk)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/hello/{n}", hello)
    app.router.add_post("/echo", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]

    async def body() -> AsyncIterator[bytes]:
        for _ in range(CHUNKS):
            yield CHUNK
            await asyncio.sleep(0)

    try:
        connector = aiohttp.TCPConnector(limit=2)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def get(n: int) -> str:
                async with session.get(f"http://127.0.0.1:{port}/hello/{n}") as r:
                    assert r.status == 200
                    text: str = await r.text()
                    return text

            texts = await asyncio.gather(*(get(n) for n in range(REQUESTS)))
            async with session.post(f"http://127.0.0.1:{port}/echo", data=body()) as r:
                received = bytearray()
                async for chunk in r.content.iter_chunked(8192):
                    received += chunk
    finally:
        await runner.cleanup()
    return {
        "texts": texts,
        "connections": len(peers),
        "echoed": bytes(received) == CHUNK * CHUNKS,
    }


@pytest.mark.spec(*RULES)
def test_aiohttp_server_and_client_agree_on_both_loops() -> None:
    result = on_both(aiohttp_program)
    assert result["texts"] == [f"hello {n}" for n in range(REQUESTS)]
    # Keep-alive: 60 requests over at most the connector's two connections.
    assert 1 <= result["connections"] <= 2
    assert result["echoed"]


# ------------------------------------------------------------ websockets


async def websockets_program() -> list[Any]:
    async def handler(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    async with ws_server.serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with ws_client.connect(f"ws://127.0.0.1:{port}") as ws:
            got = []
            for i in range(30):
                message: str | bytes = f"text {i}" if i % 2 else bytes([i]) * 1000
                await ws.send(message)
                got.append(await ws.recv())
            big = b"x" * 200_000
            await ws.send(big)
            got.append(len(await ws.recv()))
    return got


@pytest.mark.spec(*RULES)
def test_websockets_echo_agrees_on_both_loops() -> None:
    got = on_both(websockets_program)
    assert got[:30] == [f"text {i}" if i % 2 else bytes([i]) * 1000 for i in range(30)]
    assert got[30] == 200_000


# ------------------------------------------------------------ anyio


async def anyio_program() -> dict[str, Any]:
    log: list[str] = []
    send, receive = anyio.create_memory_object_stream[int](2)

    async def producer() -> None:
        async with send:
            for i in range(5):
                await send.send(i)
                await anyio.sleep(0)

    async def consumer() -> None:
        async with receive:
            async for item in receive:
                log.append(f"got {item}")

    async with anyio.create_task_group() as tg:
        tg.start_soon(producer)
        tg.start_soon(consumer)

    with anyio.move_on_after(0.01) as scope:
        await anyio.sleep(5)
    log.append(f"moved on: {scope.cancelled_caught}")

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def serve(stream: Any) -> None:
        async with stream:
            data = await stream.receive()
            await stream.send(data.upper())

    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, serve)
        async with await anyio.connect_tcp("127.0.0.1", port) as client:
            await client.send(b"hello anyio")
            reply = await client.receive()
        tg.cancel_scope.cancel()
    await listener.aclose()
    loop = asyncio.get_running_loop()
    return {"log": log, "reply": reply, "refloop": isinstance(loop, RefloopEventLoop)}


@pytest.mark.spec(*RULES)
@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_anyio_asyncio_backend_runs_on_each_loop(loop: str) -> None:
    result = anyio.run(
        anyio_program,
        backend="asyncio",
        backend_options={"loop_factory": LOOPS[loop]},
    )
    assert result == {
        "log": [*(f"got {i}" for i in range(5)), "moved on: True"],
        "reply": b"HELLO ANYIO",
        "refloop": loop == "refloop.aio",
    }
