"""A cache stampede: two misses for one key both go to the backend.

The cache is filled after the fetch (a network call); the second request
comes 60 ms after the first, so it normally hits. A late reply makes both
miss."""

import asyncio

from ._net import network_call


async def run(single_flight: bool) -> None:
    cache: dict[str, object] = {}
    calls: list[str] = []

    async def fetch(key: str) -> str:
        calls.append(key)
        await network_call()
        return key.upper()

    async def get(key: str) -> object:
        if single_flight:
            if key not in cache:
                cache[key] = asyncio.ensure_future(fetch(key))
            return await cache[key]  # type: ignore[misc]
        if key in cache:
            return cache[key]
        value = await fetch(key)
        cache[key] = value
        return value

    async def request(arrives: float) -> None:
        await asyncio.sleep(arrives)
        assert await get("k") == "K"

    await asyncio.gather(request(0.0), request(0.06))
    assert calls == ["k"], f"the backend was asked {len(calls)} times"


async def buggy() -> None:
    await run(single_flight=False)


async def fixed() -> None:
    await run(single_flight=True)
