"""Channels on the real loop (spec/11-sync.md, chan.*)."""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest

import refloop
from refloop import Cancelled, Channel, ChannelClosed, EndOfChannel, Loop, LoopError


def _settle(loop: Loop, n: int = 10) -> None:
    for _ in range(n):
        loop.run_once(timeout=0)


@pytest.mark.spec("chan.capacity")
@pytest.mark.parametrize("capacity", [-1, 1.5, math.nan, -math.inf, True, "3", None])
def test_a_bad_capacity_is_refused(capacity: Any) -> None:
    with pytest.raises(ValueError, match="capacity"):
        Channel(capacity)


@pytest.mark.spec("chan.send.wait", "chan.recv", "chan.send.handoff")
@pytest.mark.parametrize("capacity", [0, 1, 3, math.inf])
def test_items_arrive_once_each_in_order_through_any_capacity(capacity: Any) -> None:
    loop = Loop()
    ch: Channel[int] = Channel(capacity)
    seen: list[list[int]] = [[], []]

    async def producer(base: int) -> None:
        for i in range(20):
            await ch.send(base + i)

    async def consumer(mine: list[int]) -> None:
        async for item in ch:
            mine.append(item)

    producers = [loop.spawn(producer(100 * p)) for p in range(3)]
    consumers = [loop.spawn(consumer(seen[c])) for c in range(2)]
    for _ in range(200):
        loop.run_once(timeout=0)
        if all(p.done() for p in producers):
            break
    assert all(p.state == "done" for p in producers)
    assert len(ch) <= capacity

    async def closer() -> None:
        ch.close()

    loop.spawn(closer())
    _settle(loop, 40)
    got = seen[0] + seen[1]
    assert sorted(got) == sorted(100 * p + i for p in range(3) for i in range(20))
    for c in range(2):  # each consumer sees each producer's items in order
        for p in range(3):
            mine = [g for g in seen[c] if g // 100 == p]
            assert mine == sorted(mine)
    assert all(c.state == "done" for c in consumers)


@pytest.mark.spec("chan.send.wait")
def test_a_full_channel_makes_the_sender_wait_until_room() -> None:
    loop = Loop()
    ch: Channel[str] = Channel(1)
    log: list[str] = []

    async def sender() -> None:
        await ch.send("a")
        log.append("a buffered")
        await ch.send("b")
        log.append("b sent")

    loop.spawn(sender())
    _settle(loop, 2)
    assert log == ["a buffered"] and len(ch) == 1 and len(ch._senders) == 1

    async def receiver() -> str:
        return await ch.recv()

    r = loop.spawn(receiver())
    _settle(loop, 2)
    assert r.result() == "a" and log == ["a buffered", "b sent"]
    assert list(ch._buffer) == ["b"]


@pytest.mark.spec("chan.close", "chan.send.closed")
def test_close_drains_then_ends_and_wakes_every_waiter() -> None:
    loop = Loop()
    ch: Channel[int] = Channel(2)
    log: list[object] = []

    async def fill() -> None:
        await ch.send(1)
        await ch.send(2)
        try:
            await ch.send(3)  # waits: full
        except ChannelClosed:
            log.append("3 not sent")

    loop.spawn(fill())
    _settle(loop, 2)

    async def close_and_drain() -> None:
        ch.close()
        ch.close()  # twice: nothing
        try:
            await ch.send(4)
        except ChannelClosed as err:
            log.append(("refused", "send before close()" in str(err)))
        log.append(await ch.recv())
        log.append(await ch.recv())
        try:
            await ch.recv()
        except EndOfChannel:
            log.append("end")

    loop.spawn(close_and_drain())
    _settle(loop)
    # The closer runs on without suspending; the woken sender runs after it.
    assert log == [("refused", True), 1, 2, "end", "3 not sent"]
    assert list(ch._buffer) == [] and not ch._senders

    ch2: Channel[int] = Channel(0)

    async def receiver() -> None:
        try:
            await ch2.recv()
        except EndOfChannel:
            log.append("receiver ended")

    loop.spawn(receiver())
    _settle(loop, 2)

    async def close2() -> None:
        ch2.close()

    loop.spawn(close2())
    _settle(loop, 2)
    assert log[-1] == "receiver ended" and not ch2._waiters


@pytest.mark.spec("chan.cancel", "sync.cancel-waiting")
def test_a_cancelled_waiting_send_takes_its_item_back() -> None:
    loop = Loop()
    ch: Channel[str] = Channel(1)

    async def sender(item: str) -> None:
        await ch.send(item)

    loop.spawn(sender("kept"))
    cancelled = loop.spawn(sender("withdrawn"))
    third = loop.spawn(sender("third"))
    _settle(loop, 2)
    assert cancelled.cancel()
    assert [item for _, item in ch._senders] == ["third"]
    got: list[str] = []

    async def drain() -> None:
        got.append(await ch.recv())
        got.append(await ch.recv())

    loop.spawn(drain())
    _settle(loop)
    assert got == ["kept", "third"] and cancelled.cancelled() and third.done()
    assert len(ch) == 0


@pytest.mark.spec("chan.cancel", "chan.send.handoff")
def test_a_receiver_cancelled_after_the_handoff_keeps_its_item() -> None:
    loop = Loop()
    ch: Channel[str] = Channel(1)
    log: list[str] = []

    async def receiver() -> None:
        item = await ch.recv()
        log.append(f"got {item}")
        try:
            await refloop.yield_now()
        except Cancelled:
            log.append("cancelled after")

    r = loop.spawn(receiver())
    _settle(loop, 1)

    async def sender() -> None:
        await ch.send("x")
        r.cancel()  # r was handed "x" and is runnable

    loop.spawn(sender())
    _settle(loop)
    assert log == ["got x", "cancelled after"] and len(ch) == 0


@pytest.mark.spec("chan.cancel")
def test_a_sender_cancelled_after_its_item_moved_in_has_sent_it() -> None:
    loop = Loop()
    ch: Channel[str] = Channel(1)
    log: list[str] = []

    async def sender() -> None:
        await ch.send("a")
        await ch.send("b")  # waits, then moved into the buffer by recv
        log.append("b sent")
        try:
            await refloop.yield_now()
        except Cancelled:
            log.append("cancelled after")

    s = loop.spawn(sender())
    _settle(loop, 2)

    async def receiver() -> None:
        log.append(await ch.recv())
        s.cancel()

    loop.spawn(receiver())
    _settle(loop)
    assert log == ["a", "b sent", "cancelled after"] and list(ch._buffer) == ["b"]


@pytest.mark.spec("chan.cancel", "sync.cancel-waiting")
def test_a_cancelled_waiting_receiver_takes_nothing() -> None:
    loop = Loop()
    ch: Channel[str] = Channel(0)

    async def receiver() -> str:
        return await ch.recv()

    a = loop.spawn(receiver())
    b = loop.spawn(receiver())
    _settle(loop, 1)
    assert a.cancel()

    async def sender() -> None:
        await ch.send("only")

    loop.spawn(sender())
    _settle(loop)
    assert a.cancelled() and b.result() == "only"


@pytest.mark.spec("sync.bind")
def test_a_channel_refuses_another_thread_and_changes_nothing() -> None:
    loop = Loop()
    ch: Channel[int] = Channel(1)

    async def recv() -> int:
        return await ch.recv()

    r = loop.spawn(recv())
    _settle(loop, 1)
    errors: list[BaseException] = []

    def other() -> None:
        try:
            ch.close()
        except LoopError as err:
            errors.append(err)

    th = threading.Thread(target=other)
    th.start()
    th.join()
    assert errors and not ch.closed and len(ch._waiters) == 1 and not r.done()
    loop.close()


@pytest.mark.spec("sync.views")
def test_the_views_show_waiters_owner_and_buffer_and_change_nothing() -> None:
    loop = Loop()
    ch: Channel[int] = Channel(1)
    full: Channel[int] = Channel(0)
    lock = refloop.Lock()
    event = refloop.Event()

    async def holder() -> None:
        await lock.acquire()
        await ch.send(1)
        await event.wait()

    async def waiter() -> None:
        await lock.acquire()

    async def sender(item: int) -> None:
        await full.send(item)

    empty: Channel[int] = Channel(2)

    async def receiver() -> None:
        await empty.recv()

    a = loop.spawn(holder())
    b = loop.spawn(waiter())
    c = loop.spawn(sender(5))
    d = loop.spawn(sender(6))
    _settle(loop)
    assert lock.owner is a and lock.waiting() == (b,)
    assert event.waiting() == (a,)
    assert ch.buffered() == (1,) and ch.waiting() == ()
    assert full.senders() == (c, d) and full.buffered() == ()
    before = repr(lock), repr(event), repr(ch), repr(full)
    # read from another thread: nothing is refused, nothing changes
    seen: list[object] = []
    thread = threading.Thread(
        target=lambda: seen.extend([lock.waiting(), full.senders(), ch.buffered()])
    )
    thread.start()
    thread.join()
    assert seen == [(b,), (c, d), (1,)]
    assert (repr(lock), repr(event), repr(ch), repr(full)) == before
    e = loop.spawn(receiver())
    _settle(loop)
    assert empty.waiting() == (e,) and empty.senders() == ()
    loop.close()
