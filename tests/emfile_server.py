"""An echo server that runs out of descriptors, in its own process.

Run by tests/test_serve.py (not a test module itself): it lowers
RLIMIT_NOFILE, fills the descriptor table, connects clients (a connect needs
no new descriptor, an accept does), and counts what the server does while
every accept fails with EMFILE: accept attempts, loop iterations (selector
polls) and the back-off delays it logged. Then it frees the descriptors and
checks the queued clients are served, and does it again to show the delay
starts over. It prints one JSON object.

    python tests/emfile_server.py [--broken]

--broken sets the back-off to zero, the naive retry: the counts then show
the spin the test must catch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import selectors
import socket
import sys
from typing import Any

import refloop
import refloop._serve

HOLD = 0.8  # seconds of EMFILE in the first episode
HOLD_AGAIN = 0.35


class CountingSelector(selectors.DefaultSelector):
    polls = 0

    def select(self, timeout: float | None = None) -> Any:
        CountingSelector.polls += 1
        return super().select(timeout)


class CountingListener(socket.socket):
    accepts = 0

    def accept(self) -> Any:
        CountingListener.accepts += 1
        return super().accept()


class Delays(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.delays: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        assert isinstance(record.args, tuple)
        self.delays.append(float(record.args[-1]))  # type: ignore[arg-type]


def fill() -> list[int]:
    fds = []
    try:
        while True:
            fds.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        return fds


async def episode(
    address: Any, clients: int, hold: float, delays: Delays
) -> dict[str, Any]:
    await refloop.sleep(0.05)  # let the last episode's connections close
    socks = []
    for _ in range(clients):
        c = socket.socket()
        c.setblocking(False)
        socks.append(c)
    fillers = fill()
    accepts, polls, logged = (
        CountingListener.accepts,
        CountingSelector.polls,
        len(delays.delays),
    )
    for c in socks:
        c.connect_ex(address)
    await refloop.sleep(hold)
    during = {
        "accepts": CountingListener.accepts - accepts,
        "polls": CountingSelector.polls - polls,
        "delays": delays.delays[logged:],
    }
    for fd in fillers:
        os.close(fd)
    echoed = []
    with refloop.timeout(5):
        for i, c in enumerate(socks):
            await refloop.connect(c, address)  # finished by now; checks errors
            await refloop.sendall(c, b"hi %d\n" % i)
            got = b""
            while not got.endswith(b"\n"):
                got += await refloop.recv(c, 100)
            echoed.append(got.decode())
            refloop.close(c)
    during["echoed"] = echoed
    return during


async def main() -> dict[str, Any]:
    delays = Delays()
    logging.getLogger("refloop.serve").addHandler(delays)
    logging.getLogger("refloop.serve").propagate = False
    listener = CountingListener(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    address = listener.getsockname()

    async def echo(stream: refloop.Stream) -> None:
        while line := await stream.readline():
            await stream.send_all(line)

    server = refloop.spawn(refloop.serve_listeners(echo, [listener]))
    await refloop.sleep(0.01)
    first = await episode(address, 3, HOLD, delays)
    second = await episode(address, 1, HOLD_AGAIN, delays)
    server.cancel()
    with contextlib.suppress(refloop.Cancelled):
        await server.join()
    return {"first": first, "second": second, "alive": listener.fileno() == -1}


if __name__ == "__main__":
    if "--broken" in sys.argv:
        refloop._serve._Server.first_delay = 0.0
        refloop._serve._Server.delay_cap = 0.0
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
    loop = refloop.Loop(selector=CountingSelector())
    try:
        print(json.dumps(loop.run(main())))
    finally:
        loop.close()
