"""A queue consumer that drops an item when it is cancelled.

The consumer takes an item, sends it to a service, and records it.
Shutdown cancels it; if the cancel lands while the service's reply is late,
the item taken is neither recorded nor back in the queue."""

import asyncio

from ._net import network_call


async def run(careful: bool) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    handled: list[int] = []

    async def consumer() -> None:
        while True:
            item = await queue.get()
            try:
                await network_call()  # processing
            except asyncio.CancelledError:
                if careful:
                    queue.put_nowait(item)  # give it back
                raise
            handled.append(item)

    task = asyncio.create_task(consumer())
    for item in range(3):
        queue.put_nowait(item)
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.01)  # at 0.16: the consumer is idle, normally
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    left = []
    while not queue.empty():
        left.append(queue.get_nowait())
    assert sorted(handled + left) == [0, 1, 2], f"lost: handled {handled}, left {left}"


async def buggy() -> None:
    await run(careful=False)


async def fixed() -> None:
    await run(careful=True)
