"""A stale reply in native refloop code: request and reply over
refloop.Channels, with a timeout (refloop.move_on_after).

The client asks, waits up to 50 ms for the reply, and on a timeout asks
again. The server answers each request after a 40 ms lookup. When the
server's timer and the client's timeout fire in the same iteration (a timer
late), the client gives up while the first reply is already on its way:
that reply sits in the reply channel and is taken as the answer to the
second request. The fix sends each request with its own number and drops
replies to older ones."""

import refloop


async def run(numbered: bool) -> None:
    requests: refloop.Channel[tuple[int, str]] = refloop.Channel(10)
    replies: refloop.Channel[tuple[int, str]] = refloop.Channel(10)

    async def server() -> None:
        async for number, key in requests:
            await refloop.sleep(0.04)  # the lookup
            await replies.send((number, key.upper()))

    async def ask(number: int, key: str) -> str | None:
        await requests.send((number, key))
        with refloop.move_on_after(0.05):
            while True:
                got, value = await replies.recv()
                if not numbered or got == number:
                    return value
        return None

    async with refloop.TaskGroup() as group:
        group.spawn(server())
        first = await ask(1, "a")
        second = await ask(2, "b")
        if first is None:
            second = second or await ask(3, "b")
        assert second in (None, "B"), f"the reply to 'b' was {second!r}"
        requests.close()


async def buggy() -> None:
    await run(numbered=False)


async def fixed() -> None:
    await run(numbered=True)
