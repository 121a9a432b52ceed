"""Lost update in native refloop code: a read and a write with an await
between (refloop.sleep), in tasks of a refloop.TaskGroup.

Two withdrawals arrive 50 ms apart; each reads the balance, waits for a
20 ms database round trip, then writes. Only when the first request's timer
fires late do the two overlap, and one withdrawal is lost. The fix holds a
refloop.Lock across the read and the write."""

import refloop


class Account:
    def __init__(self) -> None:
        self.balance = 100
        self.lock = refloop.Lock()


async def withdraw(acct: Account, amount: int, arrives: float, locked: bool) -> None:
    await refloop.sleep(arrives)  # the request arrives
    if locked:
        async with acct.lock:
            balance = acct.balance
            await refloop.sleep(0.02)  # the database round trip
            acct.balance = balance - amount
        return
    balance = acct.balance
    await refloop.sleep(0.02)
    acct.balance = balance - amount


async def run(locked: bool) -> None:
    acct = Account()
    async with refloop.TaskGroup() as group:
        group.spawn(withdraw(acct, 10, 0.10, locked))
        group.spawn(withdraw(acct, 20, 0.15, locked))
    assert acct.balance == 70, f"lost update: balance {acct.balance}, expected 70"


async def buggy() -> None:
    await run(locked=False)


async def fixed() -> None:
    await run(locked=True)
