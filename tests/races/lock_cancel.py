"""A lock not released on cancellation.

A worker takes the lock by hand and releases it after a network call, not
in a `finally`; its caller gives it 100 ms. The reply normally comes at
once; when it is late, the timeout cancels the worker holding the lock, and
the next user waits forever (a deadlock)."""

import asyncio
import contextlib

from ._net import network_call


async def worker(lock: asyncio.Lock, safe: bool) -> None:
    if safe:
        async with lock:
            await network_call()
        return
    await lock.acquire()
    await network_call()  # the I/O under the lock
    lock.release()


async def run(safe: bool) -> None:
    lock = asyncio.Lock()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(worker(lock, safe), timeout=0.1)
    async with lock:  # the next user of the resource
        pass


async def buggy() -> None:
    await run(safe=False)


async def fixed() -> None:
    await run(safe=True)
