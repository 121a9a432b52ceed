"""Buffered streams over real socketpairs (spec: stream.*)."""

from __future__ import annotations

import contextlib
import itertools
import re
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    yield a, b
    a.close()
    b.close()


Body = Callable[[Stream, socket.socket], Coroutine[Any, Any, Any]]


def run_with(pair: tuple[socket.socket, socket.socket], body: Body) -> Any:
    mine, peer = pair
    return refloop.run(body(Stream(mine), peer))


@pytest.mark.spec("stream.until", "stream.receive-some")
def test_lines_split_and_joined_across_receives(pair: Any) -> None:
    async def body(s: Stream, peer: socket.socket) -> list[bytes]:
        peer.sendall(b"one\ntw")
        first = await s.readline()
        peer.sendall(b"o\nthree\nrest")
        second = await s.readline()
        third = await s.receive_until(b"\n", 100)
        tail = await s.receive_some(2)
        return [first, second, third, tail, await s.receive_some()]

    assert run_with(pair, body) == [b"one\n", b"two\n", b"three\n", b"re", b"st"]


@pytest.mark.spec("stream.until", "stream.eof")
def test_readline_ends_cleanly_and_reports_a_truncated_line(pair: Any) -> None:
    async def body(s: Stream, peer: socket.socket) -> Any:
        peer.sendall(b"a\nb\nhalf")
        peer.shutdown(socket.SHUT_WR)
        lines = [await s.readline(), await s.readline()]
        with pytest.raises(IncompleteReadError) as info:
            await s.readline()
        return lines, info.value, await s.readline()

    lines, err, after = run_with(pair, body)
    assert lines == [b"a\n", b"b\n"]
    assert err.partial == b"half" and err.expected is None
    assert "Stream" in str(err) and "4 bytes" in str(err)
    assert after == b""


@pytest.mark.spec("stream.limit", "stream.keeps-bytes")
def test_a_line_over_the_limit_is_refused_and_nothing_is_lost(pair: Any) -> None:
    async def body(s: Stream, peer: socket.socket) -> Any:
        peer.sendall(b"x" * 10 + b"\nok\n")
        with pytest.raises(LimitOverrunError) as info:
            await s.readline(max_line=8)
        again = await s.readline(max_line=100)
        return str(info.value), again, await s.readline()

    message, again, ok = run_with(pair, body)
    assert "no b'\\n' in the first 8 bytes" in message and "Stream" in message
    assert again == b"x" * 10 + b"\n" and ok == b"ok\n"


@pytest.mark.spec("stream.limit")
def test_the_stream_default_line_limit(pair: Any) -> None:
    mine, peer = pair

    # A line of exactly max_line bytes, delimiter included, fits.
    async def exact() -> tuple[bytes, str]:
        s = Stream(mine, max_line=5)
        peer.sendall(b"abcd\nabcde\n")
        line = await s.readline()
        with pytest.raises(LimitOverrunError) as info:
            await s.readline()
        return line, str(info.value)

    line, message = refloop.run(exact())
    assert line == b"abcd\n" and "first 5 bytes" in message


@pytest.mark.spec("stream.eof")
def test_readexactly_and_its_partial_data(pair: Any) -> None:
    async def body(s: Stream, peer: socket.socket) -> Any:
        peer.sendall(b"abcdef")
        first = await s.readexactly(4)
        zero = await s.readexactly(0)
        peer.shutdown(socket.SHUT_WR)
        with pytest.raises(IncompleteReadError) as info:
            await s.readexactly(5)
        return first, zero, info.value

    first, zero, err = run_with(pair, body)
    assert (first, zero) == (b"abcd", b"")
    assert (err.partial, err.expected) == (b"ef", 5)
    assert isinstance(err, EOFError)


@pytest.mark.spec("stream.receive-some", "stream.eof", "stream.until")
@pytest.mark.parametrize(
    ("call", "complaint"),
    [
        (lambda s: s.readexactly(-1), "readexactly() n must be an int >= 0"),
        (lambda s: s.receive_some(0), "max_bytes must be an int >= 1"),
        (lambda s: s.receive_until(b"", 10), "non-empty bytes delimiter"),
        (lambda s: s.receive_until("\n", 10), "non-empty bytes delimiter"),
        (lambda s: s.receive_until(b"\r\n", 1), "max_size must be an int >= 2"),
        (lambda s: s.readline(max_line=0), "max_size must be an int >= 1"),
        (lambda s: s.recv_message(max_size=-1), "max_size must be a positive int"),
    ],
)
def test_bad_sizes_are_refused_and_change_nothing(
    pair: Any, call: Callable[[Stream], Any], complaint: str
) -> None:
    async def body(s: Stream, peer: socket.socket) -> bytes:
        peer.sendall(b"kept\n")
        with pytest.raises(ValueError, match=re.escape(complaint)):
            await call(s)
        return await s.readline()

    assert run_with(pair, body) == b"kept\n"


@pytest.mark.spec("stream.closed", "stream.close")
def test_a_closed_stream_refuses_every_operation(pair: Any) -> None:
    mine, _ = pair

    async def body() -> list[str]:
        s = Stream(mine)
        await s.aclose()
        s.close()  # twice is harmless
        messages = []
        for call in (
            s.receive_some(),
            s.readline(),
            s.readexactly(1),
            s.send_all(b"x"),
            s.recv_message(),
            s.send_message(1),
        ):
            with pytest.raises(ClosedError) as info:
                await call
            messages.append(str(info.value))
        return messages

    messages = refloop.run(body())
    assert all("which is closed" in m and "Stream" in m for m in messages)
    assert mine.fileno() == -1


@pytest.mark.spec("stream.close")
def test_closing_wakes_a_reader_and_queued_senders(pair: Any) -> None:
    mine, _ = pair

    async def body() -> list[str]:
        s = Stream(mine)
        outcomes: list[str] = []

        async def reader() -> None:
            try:
                await s.readline()
            except ClosedError as err:
                assert str(err) == (
                    "receive_until() on <Stream peer='closed'>, closed while it waited"
                )
                outcomes.append("reader woken")

        async def big_sender(n: int) -> None:
            try:
                await s.send_all(b"y" * 10_000_000)
            except ClosedError as err:
                assert str(err) == (
                    "send_all() on <Stream peer='closed'>, closed while it waited"
                )
                # the one that was sending keeps the socket's error as cause
                cause = type(err.__cause__).__name__
                outcomes.append(f"sender {n} woken, cause {cause}")

        tasks = [refloop.spawn(reader()), refloop.spawn(big_sender(1))]
        tasks.append(refloop.spawn(big_sender(2)))
        await refloop.sleep(0.01)
        s.close()
        for task in tasks:
            await task.join()
        return outcomes

    assert sorted(refloop.run(body())) == [
        "reader woken",
        "sender 1 woken, cause ClosedError",
        "sender 2 woken, cause NoneType",
    ]


@pytest.mark.spec("stream.close")
def test_a_wait_ended_by_close_names_the_stream_and_the_call() -> None:
    calls: dict[str, Callable[[Stream], Coroutine[Any, Any, Any]]] = {
        "receive_some": lambda s: s.receive_some(),
        "receive_until": lambda s: s.receive_until(b";", 100),
        "readexactly": lambda s: s.readexactly(3),
        "recv_message": lambda s: s.recv_message(),
    }

    async def body() -> dict[str, BaseException | None]:
        errors: dict[str, BaseException | None] = {}
        for name, call in calls.items():
            a, b = socket.socketpair()
            a.setblocking(False)
            s = Stream(a)
            task = refloop.spawn(call(s))
            await refloop.yield_now()
            s.close()
            with contextlib.suppress(ClosedError):
                await task.join()
            errors[name] = task.exception()
            b.close()
        return errors

    for name, err in refloop.run(body()).items():
        assert isinstance(err, ClosedError), (name, err)
        assert str(err) == f"{name}() on <Stream peer='closed'>, closed while it waited"
        # the socket's own error is kept as the cause, for the curious
        cause = err.__cause__
        assert isinstance(cause, ClosedError) and "<socket" in str(cause)


@pytest.mark.spec("stream.close")
def test_a_socket_closed_under_the_stream_keeps_the_sockets_error(pair: Any) -> None:
    mine, _ = pair

    async def body() -> BaseException | None:
        s = Stream(mine)
        task = refloop.spawn(s.readline())
        await refloop.yield_now()
        refloop.close(mine)  # not the stream's close(): the stream is not closed
        with contextlib.suppress(ClosedError):
            await task.join()
        assert not s.closed
        return task.exception()

    err = refloop.run(body())
    assert isinstance(err, ClosedError) and "<socket" in str(err), err
    assert err.__cause__ is None


@pytest.mark.spec("stream.one-receiver")
def test_a_second_reader_is_refused_and_the_first_goes_on(pair: Any) -> None:
    async def body(s: Stream, peer: socket.socket) -> Any:
        first = refloop.spawn(s.readline())
        await refloop.yield_now()
        with pytest.raises(BusyError) as info:
            await s.receive_some()
        peer.sendall(b"hello\n")
        return str(info.value), await first.join()

    message, line = run_with(pair, body)
    assert "already receiving" in message and "Stream" in message
    assert line == b"hello\n"


@pytest.mark.spec("stream.send.serialised")
def test_concurrent_senders_go_whole_and_in_order(pair: Any) -> None:
    mine, peer = pair
    peer.setblocking(False)

    async def body() -> bytes:
        s = Stream(mine)
        big = [bytes([65 + i]) * 300_000 for i in range(4)]
        senders = [refloop.spawn(s.send_all(m)) for m in big]
        got = bytearray()
        while len(got) < 1_200_000:
            got += await refloop.recv(peer, 65536)
        for task in senders:
            await task.join()
        return bytes(got)

    got = refloop.run(body())
    assert got == b"A" * 300_000 + b"B" * 300_000 + b"C" * 300_000 + b"D" * 300_000


@pytest.mark.spec("stream.send.serialised")
def test_a_cancelled_waiting_sender_sends_nothing(pair: Any) -> None:
    mine, peer = pair
    peer.setblocking(False)

    async def body() -> bytes:
        s = Stream(mine)
        first = refloop.spawn(s.send_all(b"A" * 2_000_000))
        second = refloop.spawn(s.send_all(b"B" * 10))
        third = refloop.spawn(s.send_all(b"C" * 10))
        await refloop.yield_now()
        await refloop.yield_now()
        assert second.cancel()
        got = bytearray()
        while len(got) < 2_000_010:
            got += await refloop.recv(peer, 65536)
        await first.join()
        await third.join()
        assert second.cancelled()
        return bytes(got)

    assert refloop.run(body()) == b"A" * 2_000_000 + b"C" * 10


@pytest.mark.spec("stream.keeps-bytes")
def test_a_cancelled_read_keeps_what_arrived(pair: Any) -> None:
    async def body(s: Stream, peer: socket.socket) -> bytes:
        peer.sendall(b"par")
        with refloop.move_on_after(0.02):
            await s.readline()
        peer.sendall(b"tial\n")
        return await s.readline()

    assert run_with(pair, body) == b"partial\n"


@pytest.mark.spec("stream.keeps-bytes", "stream.messages")
def test_a_cancelled_recv_message_keeps_the_partial_frame(pair: Any) -> None:
    """The header and half the body arrive, the read is cancelled: the next
    recv_message reads the whole frame (it once took the header and lost it,
    then read the body as a header and closed the stream)."""
    frame = (7).to_bytes(4, "big") + b'"hello"'

    async def body(s: Stream, peer: socket.socket) -> object:
        peer.sendall(frame[:6])
        with refloop.move_on_after(0.02):
            await s.recv_message()
        peer.sendall(frame[6:])
        return await s.recv_message()

    assert run_with(pair, body) == "hello"


@pytest.mark.spec("stream.messages", "msg.frame.eof", "msg.frame.bad-body-keeps")
def test_framed_messages_over_a_stream_match_the_socket_ones(pair: Any) -> None:
    mine, peer = pair
    peer.setblocking(False)

    async def body() -> list[object]:
        s = Stream(mine)
        await refloop.send_message(peer, {"a": [1, 2]})
        await s.send_message("ß")
        got: list[object] = [await s.recv_message(), await refloop.recv_message(peer)]
        await refloop.sendall(peer, (4).to_bytes(4, "big") + b"nope")
        with pytest.raises(FrameError):
            await s.recv_message()
        await refloop.send_message(peer, None)
        got.append(await s.recv_message())
        peer.shutdown(socket.SHUT_WR)
        with pytest.raises(EOFError):
            await s.recv_message()
        return got

    assert refloop.run(body()) == [{"a": [1, 2]}, "ß", None]


@pytest.mark.spec("stream.messages.args", "msg.frame.args")
@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10", None])
def test_a_bad_max_size_is_refused_as_the_socket_refuses_it(
    pair: Any, bad: object
) -> None:
    mine, peer = pair
    peer.setblocking(False)
    peer.sendall((6).to_bytes(4, "big") + b'"kept"')

    async def refused(call: Coroutine[Any, Any, object]) -> str:
        with pytest.raises(ValueError) as info:
            await call
        return str(info.value)

    async def body() -> list[object]:
        s = Stream(mine)
        messages = [
            await refused(s.recv_message(max_size=bad)),  # type: ignore[arg-type]
            await refused(refloop.recv_message(peer, max_size=bad)),  # type: ignore[arg-type]
            await refused(s.send_message("x", max_size=bad)),  # type: ignore[arg-type]
            await refused(refloop.send_message(peer, "x", max_size=bad)),  # type: ignore[arg-type]
        ]
        kept = await s.recv_message()
        return [*messages, kept, s.closed]

    got = refloop.run(body())
    assert (
        got[0]
        == got[1]
        == f"recv_message() max_size must be a positive int of bytes, got {bad!r}"
    )
    assert (
        got[2]
        == got[3]
        == f"send_message() max_size must be a positive int of bytes, got {bad!r}"
    )
    assert got[4:] == ["kept", False]
    with pytest.raises(BlockingIOError):
        peer.recv(1)  # nothing was sent


@pytest.mark.spec("stream.messages", "msg.frame.bad-header-closes")
def test_a_frame_header_over_the_maximum_closes_the_stream(pair: Any) -> None:
    async def body(s: Stream, peer: socket.socket) -> Any:
        peer.sendall((100).to_bytes(4, "big"))
        with pytest.raises(FrameError, match="closed"):
            await s.recv_message(max_size=10)
        return s.closed

    assert run_with(pair, body) is True
    assert pair[0].fileno() == -1


@pytest.mark.spec("stream.messages")
def test_an_end_of_stream_inside_a_frame_is_a_frame_error(pair: Any) -> None:
    async def body(s: Stream, peer: socket.socket) -> str:
        peer.sendall((10).to_bytes(4, "big") + b"abc")
        peer.shutdown(socket.SHUT_WR)
        with pytest.raises(FrameError) as info:
            await s.recv_message()
        return str(info.value)

    assert "middle of a frame" in run_with(pair, body)


# What the socket reader refuses (tests/test_framing.py), the stream refuses
# too: both decode through _framing.decode_body.
MALFORMED_BODIES = [
    pytest.param(b"NaN", id="nan"),
    pytest.param(b"[Infinity]", id="infinity"),
    pytest.param(b'{"a": -Infinity}', id="minus-infinity"),
    pytest.param(b"1e400", id="float-overflow"),
    pytest.param(b"[" * 10_000 + b"]" * 10_000, id="deep-list"),
    pytest.param(b'{"a":' * 5_000 + b"1" + b"}" * 5_000, id="deep-object"),
    pytest.param(b"9" * 5000, id="long-int"),
    pytest.param(b"\xff", id="not-utf8"),
]


@pytest.mark.spec("stream.messages", "msg.frame.symmetric", "msg.frame.bad-body-keeps")
@pytest.mark.parametrize("body", MALFORMED_BODIES)
def test_a_malformed_frame_on_a_stream_is_a_frame_error_and_the_stream_stays(
    pair: Any, body: bytes
) -> None:
    async def run(s: Stream, peer: socket.socket) -> object:
        frame = len(body).to_bytes(4, "big") + body
        peer.sendall(frame + (6).to_bytes(4, "big") + b'"next"')
        with pytest.raises(FrameError, match="not UTF-8 JSON"):
            await s.recv_message(max_size=1 << 21)
        return await s.recv_message()

    assert run_with(pair, run) == "next"


def test_a_stream_needs_a_non_blocking_socket() -> None:
    a, b = socket.socketpair()
    with a, b:
        with pytest.raises(ValueError, match="setblocking"):
            Stream(a)
        with pytest.raises(TypeError, match="needs a socket"):
            Stream("sock")  # type: ignore[arg-type]
        a.setblocking(False)
        with pytest.raises(ValueError, match="max_line") as refused:
            Stream(a, max_line=0)
        # The refused object, as a traceback shows it: its repr works and
        # says it was never made, and it holds no socket.
        tb = refused.value.__traceback__
        assert tb is not None and tb.tb_next is not None
        half_built = tb.tb_next.tb_frame.f_locals["self"]
        assert repr(half_built) == "<Stream peer='unmade'>"
        assert not hasattr(half_built, "socket")


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


async def _send_in_pieces(peer: socket.socket, pieces: list[bytes]) -> None:
    for piece in pieces:
        await refloop.sendall(peer, piece)
        await refloop.yield_now()  # let the reader see each piece alone
        await refloop.yield_now()
    peer.shutdown(socket.SHUT_WR)


@pytest.mark.spec("stream.until", "stream.keeps-bytes", "stream.messages")
@given(
    lines=st.lists(
        st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=8
    ),
    values=st.lists(st.integers() | st.text(max_size=5), max_size=4),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
@settings(max_examples=60)
def test_lines_and_frames_survive_any_split_into_pieces(
    lines: list[bytes], values: list[object], cuts: list[int]
) -> None:
    from refloop._framing import encode_message

    text = b"".join(line + b"\n" for line in lines)
    frames = b"".join(encode_message(v) for v in values)
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)

    async def main() -> tuple[list[bytes], list[object]]:
        s = Stream(a)
        sender = refloop.spawn(_send_in_pieces(b, _chunks(text + frames, cuts)))
        got_lines = [await s.readline() for _ in lines]
        got_values = [await s.recv_message() for _ in values]
        assert await s.receive_some() == b""
        await sender.join()
        return got_lines, got_values

    with a, b:
        got_lines, got_values = refloop.run(main())
    assert got_lines == [line + b"\n" for line in lines]
    assert got_values == values


@pytest.mark.spec("stream.close.other-thread", "stream.close")
def test_closing_from_another_thread_is_refused_then_done_through_the_loop(
    pair: Any,
) -> None:
    async def body(s: Stream, peer: socket.socket) -> tuple[str, bool]:
        reading = refloop.spawn(s.readline())
        await refloop.yield_now()
        loop = refloop.current_loop()
        refused: list[BaseException] = []

        def other_thread() -> None:
            try:
                s.close()
            except refloop.LoopError as err:
                refused.append(err)
            loop.call_soon_threadsafe(s.close)

        thread = threading.Thread(target=other_thread)
        thread.start()
        with pytest.raises(ClosedError):
            await reading.join()
        thread.join()
        return str(refused[0]), s.closed

    message, closed = run_with(pair, body)
    assert "call_soon_threadsafe(stream.close)" in message and closed


@pytest.mark.spec("stream.until")
@pytest.mark.parametrize(
    ("pieces", "lines"),
    [
        ([b"a", b"b\r\n"], [b"ab\r\n"]),
        ([b"ab\r", b"\n"], [b"ab\r\n"]),
        ([b"\r", b"\nx\r\n"], [b"\r\n", b"x\r\n"]),
        ([b"a\r\nb", b"\r\n"], [b"a\r\n", b"b\r\n"]),
    ],
)
def test_a_two_byte_delimiter_in_pieces(
    pair: Any, pieces: list[bytes], lines: list[bytes]
) -> None:
    async def body(s: Stream, peer: socket.socket) -> list[bytes]:
        async def reader() -> list[bytes]:
            got = []
            while line := await s.receive_until(b"\r\n", 100):
                got.append(line)
            return got

        reading = refloop.spawn(reader())
        for piece in pieces:
            await refloop.sleep(0.005)  # the reader waits with the piece alone
            peer.sendall(piece)
        await refloop.sleep(0.005)
        peer.shutdown(socket.SHUT_WR)
        return await reading.join()

    assert run_with(pair, body) == lines
