"""What every echo server shares: the listening socket and the exit line."""

from __future__ import annotations

import importlib
import os
import resource
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType

READ_SIZE = 65536
"""Every server asks for this much per read, as the load client does."""


def nodelay(sock: socket.socket) -> None:
    """Disable Nagle, as asyncio, uvloop and trio do by default, so that a
    64 KiB echo never waits for a delayed ACK whichever server sends it."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    sys.stdout.write(f"CPU {usage.ru_utime + usage.ru_stime:.6f}\n")
    sys.stdout.flush()
    os._exit(0)


def serve(
    run: Callable[[socket.socket], None],
    requires: tuple[str, ...] = (),
    argv: list[str] | None = None,
) -> None:
    """Listen on the port in argv, announce READY, and hand over to `run`.

    `run` gets a non-blocking listening socket and serves until the process
    is killed. SIGTERM is a plain Python handler, so it runs on the main
    thread as soon as the loop returns to the interpreter. If a module in
    `requires` does not import, the server prints ``SKIP <why>`` instead of
    READY and exits, and the runner skips the peer with that note.
    """
    for module in requires:
        try:
            importlib.import_module(module)
        except Exception as exc:
            sys.stdout.write(f"SKIP {module} is not importable ({exc})\n")
            sys.stdout.flush()
            return
    args = sys.argv[1:] if argv is None else argv
    port = int(args[0]) if args else 0
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    # 4096 is Linux's default somaxconn; 1,000 clients connect in a burst.
    lsock.listen(4096)
    lsock.setblocking(False)
    signal.signal(signal.SIGTERM, _on_sigterm)
    sys.stdout.write(f"READY {lsock.getsockname()[1]} {os.getpid()}\n")
    sys.stdout.flush()
    run(lsock)
