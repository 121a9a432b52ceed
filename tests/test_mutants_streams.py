"""Buffered streams and their framed messages, as mutation testing found
them under-tested (docs/mutation.md, refloop/_streams.py,
refloop/_stream_messages.py): every refusal's exact words (naming the
operation and the stream), the stream's repr in each of its states, and
the send queue's order when a sender that just finished sends again."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

import refloop
from refloop import (
    BusyError,
    ClosedError,
    FrameError,
    IncompleteReadError,
    LimitOverrunError,
    Stream,
)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        a = socket.create_connection(server.getsockname())
        b, _ = server.accept()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


Call = Callable[[Stream], Coroutine[Any, Any, object]]

# Each receiving operation, by the name its refusals give.
RECEIVERS: list[tuple[str, Call]] = [
    ("receive_some", lambda s: s.receive_some()),
    ("receive_until", lambda s: s.receive_until(b"\n", 10)),
    ("receive_until", lambda s: s.readline()),
    ("readexactly", lambda s: s.readexactly(1)),
    ("recv_message", lambda s: s.recv_message()),
]


@pytest.mark.spec("stream.closed")
@pytest.mark.parametrize(("op", "call"), RECEIVERS)
def test_a_closed_stream_names_the_operation_it_refused(
    pair: tuple[socket.socket, socket.socket], op: str, call: Call
) -> None:
    mine, _ = pair

    async def main() -> str:
        s = Stream(mine)
        s.close()
        with pytest.raises(ClosedError) as info:
            await call(s)
        return str(info.value)

    assert refloop.run(main()) == (
        f"{op}() on <Stream peer='closed'>, which is closed; open a new connection"
    )


@pytest.mark.spec("stream.one-receiver")
@pytest.mark.parametrize(("op", "call"), RECEIVERS)
def test_a_second_receiver_is_told_the_operation_and_the_reader(
    pair: tuple[socket.socket, socket.socket], op: str, call: Call
) -> None:
    mine, peer = pair

    async def main() -> tuple[str, str, bytes]:
        s = Stream(mine)
        first = refloop.spawn(s.readline())
        await refloop.yield_now()
        with pytest.raises(BusyError) as info:
            await call(s)
        peer.sendall(b"line\n")
        return str(info.value), repr(first), await first.join()

    message, first, line = refloop.run(main())
    assert message == (
        f"{op}() on <Stream peer=''>: {first} is already receiving; "
        "let one task read the stream and hand the data on"
    )
    assert line == b"line\n"


@pytest.mark.spec("stream.close", "stream.closed")
def test_a_queued_sender_woken_by_close_is_told_so(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    mine, _ = pair

    async def main() -> tuple[str, bool]:
        s = Stream(mine)
        first = refloop.spawn(s.send_all(b"y" * 10_000_000))
        await refloop.yield_now()
        second = refloop.spawn(s.send_all(b"z"))
        await refloop.yield_now()
        s.close()
        with pytest.raises(ClosedError) as info:
            await second.join()
        with pytest.raises(ClosedError):
            await first.join()
        return str(info.value), s.closed

    assert refloop.run(main()) == (
        "send_all() on <Stream peer='closed'>, closed while it waited",
        True,
    )


@pytest.mark.spec("stream.send.serialised")
def test_a_sender_that_sends_again_queues_behind_the_one_it_woke(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    # When a send ends, the next queued sender owns the stream at once, before
    # it runs: the finished task's next send_all, made in the same step, waits
    # behind it instead of going first.
    mine, peer = pair

    async def main() -> bytes:
        s = Stream(mine)

        async def twice() -> None:
            await s.send_all(b"A" * 2_000_000)
            await s.send_all(b"C" * 10)

        first = refloop.spawn(twice())
        await refloop.yield_now()
        second = refloop.spawn(s.send_all(b"B" * 10))
        got = bytearray()
        while len(got) < 2_000_020:
            got += await refloop.recv(peer, 65536)
        await first.join()
        await second.join()
        return bytes(got)

    assert refloop.run(main())[-20:] == b"B" * 10 + b"C" * 10


def test_the_repr_names_the_peer_or_why_there_is_none(
    tcp_pair: tuple[socket.socket, socket.socket],
) -> None:
    mine, _ = tcp_pair
    host, port = mine.getpeername()
    stream = Stream(mine)
    assert repr(stream) == f"<Stream peer=({host!r}, {port})>"
    with socket.socket() as lone:
        lone.setblocking(False)
        assert repr(Stream(lone)) == "<Stream peer='unconnected'>"

    async def main() -> str:
        stream.close()
        return repr(stream)

    assert refloop.run(main()) == "<Stream peer='closed'>"


@pytest.mark.spec("stream.until", "stream.limit")
def test_a_new_delimiter_is_looked_for_from_the_start_of_the_buffer(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    # A bug mutation testing found: how far a refused readline() had looked
    # for b"\n" was kept for the next receive_until(), whatever its
    # delimiter, so receive_until(b"x") skipped the first eight x's.
    mine, peer = pair

    async def main() -> list[bytes]:
        s = Stream(mine)
        peer.sendall(b"x" * 10)
        with pytest.raises(LimitOverrunError):
            await s.readline(max_line=8)
        got = [await s.receive_until(b"x", 100)]
        # And back to the first delimiter: searched from the start again.
        peer.sendall(b"\n")
        got.append(await s.readline())
        return got

    assert refloop.run(main()) == [b"x", b"x" * 9 + b"\n"]


@pytest.mark.spec("stream.until", "stream.limit")
def test_a_line_over_the_limit_in_one_receive_is_refused(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    # The whole line arrives in the receive that the empty buffer waits for
    # (receive_until's shortcut): its limit holds there too.
    mine, peer = pair

    async def main() -> tuple[str, bytes]:
        s = Stream(mine)
        peer.sendall(b"x" * 10 + b"\n")
        with pytest.raises(LimitOverrunError) as info:
            await s.readline(max_line=8)
        return str(info.value), await s.readline(max_line=11)

    assert refloop.run(main()) == (
        "<Stream peer=''>: no b'\\n' in the first 8 bytes; they stay buffered: "
        "raise the limit, drain them with receive_some(), or close the stream",
        b"x" * 10 + b"\n",
    )


@pytest.mark.spec("stream.until")
@pytest.mark.parametrize(
    ("data", "max_size", "lines"),
    [
        # The delimiter first, and again at the end of the receive.
        (b"\nx\n", 10, [b"\n", b"x\n"]),
        # A NUL byte past the limit at the end of the receive.
        (b"a\n\x00", 2, [b"a\n"]),
    ],
)
def test_a_receive_holding_more_than_one_line_is_split_at_the_first(
    pair: tuple[socket.socket, socket.socket],
    data: bytes,
    max_size: int,
    lines: list[bytes],
) -> None:
    mine, peer = pair

    async def main() -> list[bytes]:
        s = Stream(mine)
        peer.sendall(data)
        got = [await s.receive_until(b"\n", max_size) for _ in lines]
        return got

    assert refloop.run(main()) == lines


@pytest.mark.spec("stream.limit")
def test_a_buffer_of_exactly_the_limit_without_a_delimiter_is_refused(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    # The limit is reached, not passed: refused at once, not after the next
    # receive (here the end of stream, which would be an IncompleteReadError).
    mine, peer = pair

    async def main() -> tuple[str, bytes]:
        s = Stream(mine)
        peer.sendall(b"abcde")
        peer.shutdown(socket.SHUT_WR)
        with pytest.raises(LimitOverrunError) as info:
            await s.receive_until(b"\n", 5)
        return str(info.value), await s.receive_some()

    message, kept = refloop.run(main())
    assert message.startswith("<Stream peer=''>: no b'\\n' in the first 5 bytes;")
    assert kept == b"abcde"


@pytest.mark.spec("stream.eof")
def test_the_end_of_stream_errors_say_what_arrived_and_what_was_missing() -> None:
    async def main(call: Call) -> str:
        a, b = socket.socketpair()
        with a, b:
            a.setblocking(False)
            s = Stream(a)
            b.sendall(b"half")
            b.shutdown(socket.SHUT_WR)
            with pytest.raises(IncompleteReadError) as info:
                await call(s)
            return str(info.value)

    assert refloop.run(main(lambda s: s.readline())) == (
        "<Stream peer=''>: the peer closed the stream after 4 bytes, before b'\\n'"
    )
    assert refloop.run(main(lambda s: s.readexactly(6))) == (
        "<Stream peer=''>: the peer closed the stream after 4 bytes, of 6 asked for"
    )


@pytest.mark.spec("stream.until", "stream.receive-some", "stream.eof")
@pytest.mark.parametrize("first", ["receive_some", "readexactly"])
def test_a_line_after_a_partial_read_is_searched_from_its_first_byte(
    pair: tuple[socket.socket, socket.socket], first: str
) -> None:
    # receive_some() and readexactly() take bytes off the front of the
    # buffer; the next line is looked for from what is now its first byte.
    mine, peer = pair

    async def main() -> list[bytes]:
        s = Stream(mine)
        peer.sendall(b"x\nab\n\n")
        assert await s.readline() == b"x\n"  # "ab\n\n" stays buffered
        if first == "receive_some":
            taken = await s.receive_some(2)
        else:
            taken = await s.readexactly(2)
        return [taken, await s.readline(), await s.readline()]

    assert refloop.run(main()) == [b"ab", b"\n", b"\n"]


class CountingSocket(socket.socket):
    """A socket that counts the receives made on it."""

    receives = 0

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self.receives += 1
        return super().recv(bufsize, flags)


@pytest.mark.spec("stream.eof")
@pytest.mark.parametrize("seen_by", ["readline", "readexactly"])
def test_after_the_end_of_stream_reads_do_not_receive_again(seen_by: str) -> None:
    a, b = socket.socketpair()
    mine = CountingSocket(fileno=a.detach())
    mine.setblocking(False)

    async def main() -> list[object]:
        s = Stream(mine)
        b.sendall(b"last\n")
        b.shutdown(socket.SHUT_WR)
        if seen_by == "readline":
            got: list[object] = [await s.readline(), await s.readline()]
        else:
            got = [await s.readexactly(5)]
            with pytest.raises(IncompleteReadError):
                await s.readexactly(1)
        seen = mine.receives
        got += [await s.readline(), await s.receive_some(), await s.readline()]
        with pytest.raises(IncompleteReadError):
            await s.readexactly(1)
        return [*got, mine.receives - seen]

    with mine, b:
        got = refloop.run(main())
    assert got[0] == b"last\n"
    assert got[-4:] == [b"", b"", b"", 0]


def test_the_line_limit_is_checked_by_name() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        with pytest.raises(ValueError) as info:
            Stream(a, max_line=0)
        assert str(info.value) == "Stream max_line must be an int >= 1, got 0"
        s = Stream(a, max_line=1)
        b.sendall(b"\n\n")

        async def main() -> list[bytes]:
            return [await s.readline(), await s.readline()]

        assert refloop.run(main()) == [b"\n", b"\n"]


@pytest.mark.spec("stream.close")
def test_an_idle_stream_closes_outside_any_loop() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        s = Stream(a)
        s.close()
        assert s.closed and a.fileno() == -1


@pytest.mark.spec("stream.close.other-thread")
def test_closing_from_another_thread_while_a_task_sends_is_refused(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    mine, peer = pair

    async def main() -> tuple[str, bool, bytes]:
        s = Stream(mine)
        sending = refloop.spawn(s.send_all(b"y" * 10_000_000))
        await refloop.yield_now()
        refused: list[BaseException] = []

        def other_thread() -> None:
            try:
                s.close()
            except refloop.LoopError as err:
                refused.append(err)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        still_open = not s.closed
        got = bytearray()
        while len(got) < 10_000_000:
            got += await refloop.recv(peer, 1 << 20)
        await sending.join()
        return str(refused[0]), still_open, bytes(got[:1])

    message, still_open, first = refloop.run(main())
    assert message == (
        "close() of <Stream peer=''> outside its loop while a task uses it would "
        "leave that task waiting on a closed socket; call "
        "loop.call_soon_threadsafe(stream.close) instead"
    )
    assert still_open and first == b"y"


@pytest.mark.spec("stream.eof", "stream.receive-some")
def test_receive_some_at_a_known_end_of_stream_is_empty(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    mine, peer = pair

    async def main() -> list[bytes]:
        s = Stream(mine)
        peer.shutdown(socket.SHUT_WR)
        return [await s.readline(), await s.receive_some(), await s.receive_some()]

    assert refloop.run(main()) == [b"", b"", b""]


# ------------------------------------------------ framed messages on a stream


@pytest.mark.spec("stream.messages", "msg.frame.eof")
@pytest.mark.parametrize(
    ("sent", "complaint", "kind"),
    [
        (b"", "<Stream peer=''>: the peer closed the stream", EOFError),
        (b"\x00\x00", "<Stream peer=''> closed inside a frame header", FrameError),
        (
            b"\x00\x00\x00\x05abc",
            "<Stream peer=''> closed in the middle of a frame",
            FrameError,
        ),
    ],
)
def test_an_end_of_stream_in_each_place_of_a_frame_is_named(
    pair: tuple[socket.socket, socket.socket],
    sent: bytes,
    complaint: str,
    kind: type[BaseException],
) -> None:
    mine, peer = pair

    async def main() -> tuple[BaseException, Any]:
        s = Stream(mine)
        peer.sendall(sent)
        peer.shutdown(socket.SHUT_WR)
        with pytest.raises((EOFError, FrameError)) as info:
            await s.recv_message()
        # The stream took what there was and is free for another read.
        return info.value, await s.receive_some()

    err, after = refloop.run(main())
    assert type(err) is kind and str(err) == complaint
    assert after == b""


@pytest.mark.spec("stream.messages", "msg.frame.max", "msg.frame.bad-header-closes")
def test_a_frame_of_the_maximum_is_taken_and_one_byte_more_closes(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    mine, peer = pair
    body = b'"' + b"x" * 8 + b'"'  # 10 bytes

    async def main() -> tuple[object, str, bool]:
        s = Stream(mine)
        peer.sendall(len(body).to_bytes(4, "big") + body)
        got = await s.recv_message(max_size=10)
        peer.sendall(len(body).to_bytes(4, "big") + body)
        with pytest.raises(FrameError) as info:
            await s.recv_message(max_size=9)
        return got, str(info.value), s.closed

    assert refloop.run(main()) == (
        "x" * 8,
        "<Stream peer='closed'> announced a frame of 10 bytes, over the maximum 9; "
        "the stream was closed, since it cannot be resynchronised",
        True,
    )
    assert mine.fileno() == -1


@pytest.mark.spec("stream.messages", "msg.frame.max")
def test_send_message_keeps_to_its_maximum(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    mine, peer = pair

    async def main() -> tuple[str, bytes]:
        s = Stream(mine)
        await s.send_message("x" * 8, max_size=10)
        with pytest.raises(FrameError) as info:
            await s.send_message("x" * 8, max_size=9)
        return str(info.value), await refloop.recv(peer, 100)

    message, sent = refloop.run(main())
    assert "10" in message and "9" in message
    assert sent == b'\x00\x00\x00\n"xxxxxxxx"'


@pytest.mark.spec("stream.messages")
def test_a_frame_error_frees_the_stream_for_the_next_reader(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    mine, peer = pair

    async def main() -> object:
        s = Stream(mine)
        peer.sendall(b"\x00\x00\x00\x01x" + b"\x00\x00\x00\x011")
        with pytest.raises(FrameError):
            await s.recv_message()
        return await refloop.spawn(s.recv_message()).join()

    assert refloop.run(main()) == 1


@pytest.mark.spec("stream.receive-some", "stream.eof")
@pytest.mark.parametrize(
    ("call", "complaint"),
    [
        (lambda s: s.receive_some(True), "max_bytes must be an int >= 1, got True"),
        (lambda s: s.readexactly(1.0), "n must be an int >= 0, got 1.0"),
        (lambda s: s.readline(max_line=-1), "max_size must be an int >= 1, got -1"),
    ],
)
def test_a_size_that_is_not_an_int_is_refused_by_name(
    pair: tuple[socket.socket, socket.socket], call: Call, complaint: str
) -> None:
    mine, _ = pair

    async def main() -> str:
        with pytest.raises(ValueError) as info:
            await call(Stream(mine))
        return str(info.value)

    assert refloop.run(main()).endswith(complaint)


@pytest.mark.spec("stream.messages", "msg.frame.bad-body-keeps")
def test_a_malformed_frame_names_the_stream_it_came_from(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    mine, peer = pair

    async def main() -> str:
        s = Stream(mine)
        peer.sendall(b"\x00\x00\x00\x01x")
        with pytest.raises(FrameError) as info:
            await s.recv_message()
        return str(info.value)

    message = refloop.run(main())
    assert message.startswith("a frame of 1 bytes from <Stream peer=''> is not UTF-8")
    assert message.endswith("; the stream is still usable")
