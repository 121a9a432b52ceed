"""Channel, as mutation testing found it under-tested (docs/mutation.md,
refloop/_channel.py): each refusal and each end names the channel and what
happened; the repr says the state."""

from __future__ import annotations

import pytest
from _helpers import NOWHERE, raised

import refloop
from refloop import Channel, ChannelClosed, EndOfChannel, Loop, LoopError


@pytest.mark.spec("sync.bind")
def test_each_call_outside_a_loop_or_task_is_refused_by_its_name() -> None:
    chan: Channel[int] = Channel(1)
    assert chan.closed is False
    for what, coro in [("send()", chan.send(1)), ("recv()", chan.recv())]:
        assert str(raised(coro)) == f"{chan!r}: {what} {NOWHERE}"
    with pytest.raises(LoopError) as caught:
        chan.close()
    assert str(caught.value) == f"{chan!r}: close() {NOWHERE}"
    loop = Loop()
    seen: list[str] = []

    def callback() -> None:
        seen.extend(str(raised(c)) for c in [chan.send(1), chan.recv()])

    try:
        loop.call_later(0.0, callback)
        loop.run_once(0)
    finally:
        loop.close()
    assert seen == [
        f"{chan!r}: send() must be awaited inside a refloop task",
        f"{chan!r}: recv() must be awaited inside a refloop task",
    ]


@pytest.mark.spec("chan.close")
def test_a_close_tells_each_waiter_what_it_was_doing() -> None:
    full: Channel[int] = Channel(0)
    empty: Channel[int] = Channel(0)
    seen: list[tuple[str, BaseException]] = []

    async def sender() -> None:
        try:
            await full.send(1)
        except ChannelClosed as err:
            seen.append(("send", err))

    async def receiver() -> None:
        try:
            await empty.recv()
        except EndOfChannel as err:
            seen.append(("recv", err))

    async def main() -> str:
        tasks = [refloop.spawn(sender()), refloop.spawn(receiver())]
        await refloop.yield_now()
        assert repr(full) == "<refloop.Channel open 0/0 senders=1 receivers=0>"
        full.close()
        empty.close()
        for task in tasks:
            await task.join()
        with pytest.raises(EndOfChannel) as caught:
            await empty.recv()
        return str(caught.value)

    loop = Loop()
    try:
        drained = loop.run(main())
    finally:
        loop.close()
    assert dict((k, str(e)) for k, e in seen) == {
        "send": f"{full!r} was closed while the send waited",
        "recv": f"{empty!r} was closed while the receive waited",
    }
    assert drained == f"{empty!r} is closed and drained"
    assert empty.closed is True
    assert repr(empty) == "<refloop.Channel closed 0/0 senders=0 receivers=0>"
