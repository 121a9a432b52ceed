"""An Event pulsed (set then cleared) while the consumer is not waiting.

A producer signals new work with `set(); clear()` every 50 ms; a consumer
waits, then reports the work over the network. When that reply is late,
the consumer misses a pulse and the last item is never handled."""

import asyncio

from ._net import network_call


async def run(counted: bool) -> None:
    event = asyncio.Event()
    pending: list[int] = []
    done: list[int] = []
    sem = asyncio.Semaphore(0)

    async def consumer() -> None:
        while len(done) < 3:
            if counted:
                await sem.acquire()
            else:
                await event.wait()
            while pending:
                done.append(pending.pop(0))
            await network_call()  # report the work

    task = asyncio.create_task(consumer())
    for item in range(3):
        await asyncio.sleep(0.05)
        pending.append(item)
        if counted:
            sem.release()
        else:
            event.set()
            event.clear()
    await asyncio.wait_for(task, 1)
    assert done == [0, 1, 2], done


async def buggy() -> None:
    await run(counted=False)


async def fixed() -> None:
    await run(counted=True)
