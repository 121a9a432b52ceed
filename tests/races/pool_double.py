"""A connection pool that hands one connection to two tasks.

`acquire` looks at the first free connection, health-checks it (an await),
and only then marks it taken. Two clients 30 ms apart never overlap, until
the first health check finishes late."""

import asyncio


class Conn:
    def __init__(self, name: str) -> None:
        self.name = name
        self.user: str | None = None


class Pool:
    def __init__(self, careful: bool) -> None:
        self.free = [Conn("a"), Conn("b")]
        self.careful = careful

    async def acquire(self) -> Conn:
        if self.careful:
            conn = self.free.pop(0)  # take it first, then check it
            await asyncio.sleep(0.02)  # the health check
            return conn
        conn = self.free[0]
        await asyncio.sleep(0.02)  # the health check
        if conn in self.free:
            self.free.remove(conn)
        return conn

    def release(self, conn: Conn) -> None:
        self.free.append(conn)


async def run(careful: bool) -> None:
    pool = Pool(careful)

    async def client(name: str, arrives: float) -> None:
        await asyncio.sleep(arrives)
        conn = await pool.acquire()
        assert conn.user is None, f"{conn.name} given to {name} and {conn.user}"
        conn.user = name
        await asyncio.sleep(0.01)
        conn.user = None
        pool.release(conn)

    await asyncio.gather(client("x", 0.05), client("y", 0.1))


async def buggy() -> None:
    await run(careful=False)


async def fixed() -> None:
    await run(careful=True)
