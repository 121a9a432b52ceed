"""A timeout helper that swallows the caller's cancellation.

`with_timeout` catches CancelledError to mean "timed out", so a shutdown
that cancels the poller while it is inside the helper is lost and the
poller runs on. It happens only when the shutdown lands during a request
(which a late timer makes possible), not during the pause between them."""

import asyncio


async def with_timeout_buggy(delay: float) -> bool:
    try:
        async with asyncio.timeout(1):
            await asyncio.sleep(delay)  # the request
        return True
    except (TimeoutError, asyncio.CancelledError):
        return False  # swallows an outer cancel too


async def with_timeout_fixed(delay: float) -> bool:
    try:
        async with asyncio.timeout(1):
            await asyncio.sleep(delay)
        return True
    except TimeoutError:
        return False


async def run(helper: object) -> None:
    async def poller() -> None:
        while True:
            await helper(0.05)  # type: ignore[operator]
            await asyncio.sleep(0.05)

    task = asyncio.create_task(poller())
    await asyncio.sleep(0.175)
    task.cancel()
    await asyncio.wait({task}, timeout=1)
    assert task.cancelled(), "the poller swallowed its cancellation"


async def buggy() -> None:
    await run(with_timeout_buggy)


async def fixed() -> None:
    await run(with_timeout_fixed)
