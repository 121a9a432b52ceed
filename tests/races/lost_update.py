"""Lost update: a read and a write of shared state with an await between.

Two withdrawals arrive 50 ms apart; each reads the balance, waits for a
20 ms database round trip, then writes. Only when the first request's timer
fires late do the two overlap, and one withdrawal is lost."""

import asyncio


class Account:
    def __init__(self) -> None:
        self.balance = 100
        self.lock = asyncio.Lock()


async def withdraw(acct: Account, amount: int, arrives: float, locked: bool) -> None:
    await asyncio.sleep(arrives)  # the request arrives
    if locked:
        async with acct.lock:
            balance = acct.balance
            await asyncio.sleep(0.02)  # the database round trip
            acct.balance = balance - amount
        return
    balance = acct.balance
    await asyncio.sleep(0.02)
    acct.balance = balance - amount


async def run(locked: bool) -> None:
    acct = Account()
    await asyncio.gather(
        withdraw(acct, 10, 0.10, locked), withdraw(acct, 20, 0.15, locked)
    )
    assert acct.balance == 70, f"lost update: balance {acct.balance}, expected 70"


async def buggy() -> None:
    await run(locked=False)


async def fixed() -> None:
    await run(locked=True)
