"""Framed messages, as mutation testing found them under-tested
(docs/mutation.md, refloop/_framing.py): the frame's exact bytes, the size
limits at their boundary both ways, a header that arrives in pieces, and
every error's words (the socket, the sizes, what became of the stream)."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

import refloop
from refloop import FrameError, recv_message, send_message
from refloop._framing import encode_message


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def _run(main: Callable[[], Awaitable[Any]]) -> Any:
    return refloop.run(main())


@pytest.mark.spec("msg.frame.encode")
def test_a_frame_is_a_four_byte_length_and_compact_utf8_json() -> None:
    assert encode_message([1, 2]) == b"\x00\x00\x00\x05[1,2]"
    assert encode_message({"a": "é"}) == b"\x00\x00\x00\x0a" + '{"a":"é"}'.encode()
    body = b"x" * 300
    assert encode_message("x" * 300)[:4] == (len(body) + 2).to_bytes(4, "big")


@pytest.mark.spec("msg.frame.args")
@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10", None])
def test_a_bad_max_size_is_refused_by_name_both_ways(
    pair: tuple[socket.socket, socket.socket], bad: object
) -> None:
    a, b = pair

    async def main() -> list[str]:
        said = []
        for call in (
            lambda: send_message(a, 1, max_size=bad),  # type: ignore[arg-type]
            lambda: recv_message(b, max_size=bad),  # type: ignore[arg-type]
        ):
            try:
                await call()
            except ValueError as err:
                said.append(str(err))
        return said

    assert _run(main) == [
        f"send_message() max_size must be a positive int of bytes, got {bad!r}",
        f"recv_message() max_size must be a positive int of bytes, got {bad!r}",
    ]
    assert b.fileno() != -1  # refused at the call: the socket is untouched


@pytest.mark.spec("msg.frame.max")
def test_a_message_exactly_at_the_limit_goes_through_one_byte_more_does_not(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair

    async def main() -> tuple[object, str]:
        await send_message(a, "abc", max_size=5)  # "abc" is 5 bytes
        got = await recv_message(b, max_size=5)
        try:
            await send_message(a, "abcd", max_size=5)
        except FrameError as err:
            return got, str(err)
        return got, "sent"

    got, refused = _run(main)
    assert got == "abc"
    assert refused == (
        "a message of 6 bytes exceeds the maximum frame size 5; nothing was sent"
    )
    with pytest.raises(BlockingIOError):
        b.recv(10)  # nothing was sent


@pytest.mark.spec("msg.frame.encode")
def test_an_unencodable_value_is_named_in_the_error() -> None:
    with pytest.raises(FrameError) as bad:
        encode_message({1, 2})
    assert str(bad.value) == (
        "cannot send {1, 2} as a message: Object of type set is not JSON serializable"
    )

    class Unprintable:
        def __repr__(self) -> str:
            raise ValueError("no repr")

    with pytest.raises(FrameError) as bad:
        encode_message(Unprintable())
    said = str(bad.value)
    assert said.startswith("cannot send <Unprintable instance at 0x")
    assert said.endswith(
        " as a message: Object of type Unprintable is not JSON serializable"
    )
    with pytest.raises(FrameError) as bad:
        encode_message(float("nan"))
    assert str(bad.value).startswith("cannot send nan as a message: Out of range")
    with pytest.raises(FrameError) as bad:
        encode_message("\ud800")
    assert str(bad.value).startswith(
        "cannot send '\\ud800' as a message: 'utf-8' codec can't encode"
    )


@pytest.mark.spec("msg.frame.symmetric")
def test_too_deep_a_value_is_refused_with_a_frame_error() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(FrameError) as bad:
        encode_message(deep)
    assert str(bad.value) == (
        "cannot send a message nested deeper than the interpreter's recursion limit"
    )


@pytest.mark.spec("msg.frame.eof", "msg.frame.bad-body-keeps")
def test_a_header_and_a_body_that_arrive_in_pieces(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    frame = encode_message({"piece": [1, 2, 3]})

    async def writer() -> None:
        for i in range(len(frame)):
            await refloop.sendall(a, frame[i : i + 1])
            await refloop.sleep(0.001)

    async def main() -> object:
        t = refloop.spawn(writer())
        got = await recv_message(b)
        await t.join()
        return got

    assert _run(main) == {"piece": [1, 2, 3]}


@pytest.mark.spec("msg.frame.eof")
def test_the_end_of_stream_errors_say_where_the_stream_ended(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    said: list[str] = []

    async def main() -> None:
        a.send(b"\x00\x00")
        a.shutdown(socket.SHUT_WR)
        try:
            await recv_message(b)
        except FrameError as err:
            said.append(str(err))

    _run(main)
    assert said == [f"{b!r} closed in the middle of a frame: 2 of 4 bytes arrived"]


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (b"", "{sock}: the peer closed the stream"),
        (b"\x00\x00\x00\x03", "{sock} closed after a frame header"),
        (
            b"\x00\x00\x00\x03[1",
            "{sock} closed in the middle of a frame: 2 of 3 bytes arrived",
        ),
    ],
)
@pytest.mark.spec("msg.frame.eof")
def test_each_end_of_stream_is_told_apart(sent: bytes, expected: str) -> None:
    a, b = socket.socketpair()
    b.setblocking(False)
    a.sendall(sent)
    a.close()

    async def main() -> str:
        try:
            await recv_message(b)
        except (EOFError, FrameError) as err:
            return f"{type(err).__name__}: {err}"
        return "received"

    kind = "EOFError" if not sent else "FrameError"
    assert _run(main) == f"{kind}: " + expected.format(sock=repr(b))
    b.close()


@pytest.mark.spec("msg.frame.bad-header-closes", "msg.frame.max")
def test_a_header_over_the_limit_closes_the_socket_and_says_so(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair

    async def main() -> tuple[object, str]:
        a.send(b"\x00\x00\x00\x05[1,2]")
        got = await recv_message(b, max_size=5)  # at the limit: accepted
        a.send(b"\x00\x00\x00\x06[1,20]")
        try:
            await recv_message(b, max_size=5)
        except FrameError as err:
            return got, str(err)
        return got, "received"

    got, said = _run(main)
    assert got == [1, 2] and b.fileno() == -1
    assert said == (
        f"{b!r} announced a frame of 6 bytes, over the maximum 5; the socket "
        "was closed, since the stream cannot be resynchronised"
    )


@pytest.mark.spec("msg.frame.bad-body-keeps", "msg.frame.symmetric")
@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"NaN", "NaN is not a JSON number"),
        (b"-Infinity", "-Infinity is not a JSON number"),
        (b"1e999", "1e999 is out of the range of a float"),
        (b"\xff", "'utf-8' codec can't decode byte 0xff"),
    ],
)
def test_a_bad_body_is_named_and_the_stream_stays_usable(
    pair: tuple[socket.socket, socket.socket], body: bytes, why: str
) -> None:
    a, b = pair

    async def main() -> tuple[str, object]:
        a.send(len(body).to_bytes(4, "big") + body)
        await send_message(a, "next")
        try:
            await recv_message(b)
        except FrameError as err:
            said = str(err)
        return said, await recv_message(b)

    said, after = _run(main)
    prefix = f"a frame of {len(body)} bytes from {b!r} is not UTF-8 JSON ("
    assert said.startswith(prefix + why)
    assert said.endswith("); the stream is still usable")
    assert after == "next"


@pytest.mark.spec("msg.frame.symmetric")
def test_finite_floats_and_big_numbers_are_received(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair

    async def main() -> object:
        await send_message(a, [1.5, -0.0, 1e308, 10**30])
        return await recv_message(b)

    assert _run(main) == [1.5, -0.0, 1e308, 10**30]


@pytest.mark.spec("msg.frame.args", "msg.frame.max")
def test_a_max_size_of_one_byte_is_allowed(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair

    async def main() -> object:
        await send_message(a, 7, max_size=1)
        return await recv_message(b, max_size=1)

    assert _run(main) == 7


@pytest.mark.spec("msg.frame.encode")
def test_a_value_whose_repr_fails_is_named_by_its_type() -> None:
    """An int too long for str() (the interpreter's digit limit): neither
    json nor repr can write it; the error names its type."""
    with pytest.raises(FrameError) as bad:
        encode_message(10**5000)
    assert str(bad.value).startswith(
        "cannot send a int as a message: Exceeds the limit (4300 digits)"
    )


@pytest.mark.spec("msg.frame.max")
def test_the_largest_frame_the_header_can_announce_is_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The header's limit (2**32 - 1 bytes) made small: a body of exactly
    that size is sent, one byte more is refused whatever max_size says."""
    import refloop._framing as framing

    monkeypatch.setattr(framing, "_LARGEST", 5)
    assert encode_message("abc", max_size=100) == b"\x00\x00\x00\x05" + b'"abc"'
    with pytest.raises(FrameError, match="a message of 6 bytes exceeds"):
        encode_message("abcd", max_size=100)
