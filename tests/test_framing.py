"""Unit tests for framed messages: a 4-byte big-endian length, then that many
bytes of UTF-8 JSON (spec: msg.*).

The peer end of each socket pair is driven by hand, with plain socket calls,
so that a test can write a malformed frame or read the raw bytes.
"""

from __future__ import annotations

import json
import math
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import refloop
from refloop import (
    DEFAULT_MAX_FRAME,
    FrameError,
    Loop,
    recv_message,
    send_message,
)

Pair = tuple[socket.socket, socket.socket]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=20,
)


def socketpair() -> Pair:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


@pytest.fixture
def pair() -> Iterator[Pair]:
    a, b = socketpair()
    yield a, b
    a.close()
    b.close()


def frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


def nothing_waiting(sock: socket.socket) -> bool:
    try:
        sock.recv(1)
    except BlockingIOError:
        return True
    return False


def receive(sock: socket.socket, **kwargs: Any) -> object:
    """Run one recv_message on a fresh loop."""

    async def main() -> object:
        return await recv_message(sock, **kwargs)

    return refloop.run(main())


# -------------------------------------------------------------- round trip


@pytest.mark.spec("msg.frame.encode")
@given(st.lists(json_values, min_size=1, max_size=4))
@example(["héllo", "日本語", "😀", {"ключ": ["значение", 1.5, None]}])
@example(["x" * 300_000])
def test_messages_round_trip(values: list[object]) -> None:
    a, b = socketpair()
    try:

        async def sender() -> None:
            for value in values:
                await send_message(a, value)

        async def main() -> list[object]:
            task = refloop.spawn(sender())
            received = [await recv_message(b) for _ in values]
            await task.join()
            return received

        assert refloop.run(main()) == values
        assert nothing_waiting(b)
    finally:
        a.close()
        b.close()


@pytest.mark.spec("msg.frame.encode")
def test_the_wire_format_is_a_length_then_utf8_json(pair: Pair) -> None:
    a, b = pair
    value = {"text": "héllo ☃", "n": [1, 2.5, None, True]}

    async def main() -> None:
        await send_message(a, value)

    refloop.run(main())
    raw = b.recv(1000)
    size = int.from_bytes(raw[:4], "big")
    body = raw[4:]
    assert size == len(body)
    assert "héllo ☃".encode() in body, "text travels as UTF-8, not escapes"
    assert b" " not in body.replace("héllo ☃".encode(), b""), "compact JSON"
    assert json.loads(body.decode("utf-8")) == value


@pytest.mark.spec("msg.frame.encode")
@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        math.inf,
        -math.inf,
        {"nested": [1, math.nan]},
        object(),
        {1, 2},
        b"bytes",
        {(1, 2): "tuple key"},
        "lone \ud800 surrogate",
    ],
    ids=[
        "nan",
        "inf",
        "-inf",
        "nested-nan",
        "object",
        "set",
        "bytes",
        "tuple-key",
        "surrogate",
    ],
)
def test_a_value_json_cannot_carry_raises_before_sending(
    pair: Pair, value: object
) -> None:
    a, b = pair

    async def main() -> None:
        await send_message(a, value)

    with pytest.raises(FrameError, match="cannot send"):
        refloop.run(main())
    assert nothing_waiting(b)


# ---------------------------------------------------------------- max size


@pytest.mark.spec("msg.frame.max")
def test_an_oversized_message_raises_before_sending_anything(pair: Pair) -> None:
    a, b = pair

    async def main() -> None:
        await send_message(a, "x" * 20, max_size=10)

    with pytest.raises(FrameError, match="exceeds the maximum frame size 10"):
        refloop.run(main())
    assert nothing_waiting(b)


@pytest.mark.spec("msg.frame.max")
def test_the_default_maximum_is_one_mebibyte(pair: Pair) -> None:
    a, b = pair
    assert DEFAULT_MAX_FRAME == 1 << 20

    async def main() -> None:
        await send_message(a, "x" * DEFAULT_MAX_FRAME)

    with pytest.raises(FrameError, match="exceeds"):
        refloop.run(main())
    assert nothing_waiting(b)


@pytest.mark.spec("msg.frame.max")
def test_a_message_of_exactly_max_size_is_sent_and_received(pair: Pair) -> None:
    a, b = pair
    value = "x" * 8  # 10 bytes of JSON with its quotes

    async def main() -> object:
        await send_message(a, value, max_size=10)
        return await recv_message(b, max_size=10)

    assert refloop.run(main()) == value


@pytest.mark.spec("msg.frame.bad-header-closes")
@pytest.mark.parametrize(
    ("max_size", "announced"),
    [(10, 11), (DEFAULT_MAX_FRAME, DEFAULT_MAX_FRAME + 1), (None, 0xFFFFFFFF)],
)
def test_an_oversized_header_closes_the_socket(
    pair: Pair, max_size: int | None, announced: int
) -> None:
    a, b = pair
    b.send(announced.to_bytes(4, "big") + b"{}")
    kwargs = {} if max_size is None else {"max_size": max_size}
    with pytest.raises(FrameError, match="was closed") as info:
        receive(a, **kwargs)
    assert str(announced) in str(info.value)
    assert a.fileno() == -1


@pytest.mark.spec("msg.frame.bad-header-closes", "io.close.wakes")
def test_an_oversized_header_wakes_a_writer_on_the_socket(pair: Pair) -> None:
    a, b = pair
    while True:  # fill a's buffer so a writer waits on it
        try:
            a.send(b"f" * 65536)
        except BlockingIOError:
            break

    async def writer() -> str:
        with pytest.raises(refloop.ClosedError) as info:
            await refloop.send(a, b"w")
        return str(info.value)

    async def main() -> str:
        task = refloop.spawn(writer())
        await refloop.yield_now()
        b.send((1 << 30).to_bytes(4, "big"))
        with pytest.raises(FrameError):
            await recv_message(a)
        return await task.join()

    assert "was closed" in refloop.run(main())


# ---------------------------------------------------------------- bad body


@pytest.mark.spec("msg.frame.bad-body-keeps")
@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe", b'"caf\xe9"', b"{nope", b"[1, 2", b"1 2", b""],
    ids=["not-utf8", "latin1", "not-json", "truncated-json", "two-values", "empty"],
)
def test_a_bad_body_raises_and_the_next_message_arrives(
    pair: Pair, body: bytes
) -> None:
    a, b = pair
    b.send(frame(body) + frame('["next", "é"]'.encode()))

    async def main() -> object:
        with pytest.raises(FrameError, match="still usable"):
            await recv_message(a)
        return await recv_message(a)

    assert refloop.run(main()) == ["next", "é"]
    assert a.fileno() >= 0


# --------------------------------------------------------------------- EOF


@pytest.mark.spec("msg.frame.eof")
def test_eof_at_a_frame_boundary_raises_eof_error(pair: Pair) -> None:
    a, b = pair
    b.send(frame(b"[1]"))
    b.close()

    async def main() -> object:
        first = await recv_message(a)
        with pytest.raises(EOFError) as info:
            await recv_message(a)
        assert not isinstance(info.value, FrameError)
        return first

    assert refloop.run(main()) == [1]


@pytest.mark.spec("msg.frame.eof")
def test_eof_while_waiting_for_a_frame_raises_eof_error(pair: Pair) -> None:
    a, b = pair
    loop = Loop(report=lambda task: None)
    try:
        task = loop.spawn(recv_message(a))
        loop.run_once(0)
        assert task.state == "waiting"
        b.close()
        loop.run_once(0)
        with pytest.raises(EOFError):
            task.result()
    finally:
        loop.close()


@pytest.mark.spec("msg.frame.eof")
@pytest.mark.parametrize(
    "partial",
    [b"\x00", b"\x00\x00\x00", frame(b"[1,2]")[:4], frame(b"[1,2]")[:7]],
    ids=["1-byte-header", "3-byte-header", "header-only", "half-body"],
)
def test_eof_mid_frame_raises_frame_error(pair: Pair, partial: bytes) -> None:
    a, b = pair
    b.send(partial)
    b.close()
    with pytest.raises(FrameError):
        receive(a)


@pytest.mark.spec("msg.frame.eof")
def test_eof_mid_frame_while_waiting_raises_frame_error(pair: Pair) -> None:
    a, b = pair
    loop = Loop(report=lambda task: None)
    try:
        task = loop.spawn(recv_message(a))
        b.send(frame(b'"abcdef"')[:6])
        loop.run_once(0)
        assert task.state == "waiting"
        b.close()
        loop.run_once(0)
        with pytest.raises(FrameError, match="middle of a frame"):
            task.result()
    finally:
        loop.close()


# -------------------------------------------------------------- both ways the same

MALFORMED_BODIES = [
    pytest.param(b"NaN", id="nan"),
    pytest.param(b"[Infinity]", id="infinity"),
    pytest.param(b'{"a": -Infinity}', id="minus-infinity"),
    pytest.param(b"1e400", id="float-overflow"),
    pytest.param(b"[" * 10_000 + b"]" * 10_000, id="deep-list"),
    pytest.param(b'{"a":' * 5_000 + b"1" + b"}" * 5_000, id="deep-object"),
    pytest.param(b"9" * 5000, id="long-int"),
]


@pytest.mark.spec("msg.frame.symmetric", "msg.frame.bad-body-keeps")
@pytest.mark.parametrize("body", MALFORMED_BODIES)
def test_what_send_refuses_receive_refuses_and_the_stream_stays(
    pair: Pair, body: bytes
) -> None:
    a, b = pair
    b.sendall(frame(body) + frame(b'"next"'))

    async def main() -> object:
        with pytest.raises(FrameError):
            await recv_message(a, max_size=1 << 21)
        return await recv_message(a)

    assert refloop.run(main()) == "next"


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.spec("msg.frame.symmetric", "msg.frame.encode")
@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, [1e308 * 10], _nested(100_000), 10**5000],
    ids=["nan", "inf", "-inf", "overflow", "deep", "long-int"],
)
def test_send_refuses_the_same_values(pair: Pair, value: object) -> None:
    a, b = pair

    async def main() -> None:
        with pytest.raises(FrameError):
            await send_message(a, value)

    refloop.run(main())
    assert nothing_waiting(b)


@pytest.mark.spec("msg.frame.args")
@pytest.mark.parametrize("bad", [-1, 0, True, 1.5, "10", None])
def test_a_bad_max_size_is_refused_at_the_call(pair: Pair, bad: object) -> None:
    a, b = pair
    b.sendall(frame(b'"kept"'))

    async def main() -> object:
        with pytest.raises(ValueError, match="max_size"):
            await recv_message(a, max_size=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="max_size"):
            await send_message(a, "x", max_size=bad)  # type: ignore[arg-type]
        return await recv_message(a)

    assert refloop.run(main()) == "kept"
    assert a.fileno() >= 0
    assert nothing_waiting(b)


@pytest.mark.spec("msg.frame.encode", "msg.frame.eof")
@pytest.mark.parametrize("cuts", [[1, 2, 3], [1], [2], [3], [4, 5], [1, 2, 3, 4, 6]])
def test_a_frame_whose_header_arrives_in_pieces(pair: Pair, cuts: list[int]) -> None:
    a, b = pair
    data = frame(b'{"k":[1,2]}')
    pieces = [data[i:j] for i, j in zip([0, *cuts], [*cuts, len(data)], strict=True)]

    async def peer() -> None:
        for piece in pieces:
            b.sendall(piece)
            for _ in range(2):
                await refloop.yield_now()

    async def main() -> object:
        refloop.spawn(peer())
        return await recv_message(a)

    assert refloop.run(main()) == {"k": [1, 2]}
