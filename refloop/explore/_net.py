"""The simulated network: TCP-like sockets in memory, whose delivery the
strategy decides.

Rules this module keeps (spec: explore.net.*):

1. One host. Every loopback or wildcard address and the name "localhost"
   resolve to it without a thread; any other name, or a connection to an
   address no simulated listener serves that is not a loopback one, is
   reported as leaving the closed world (explore.net.closed).
2. A `SimSocket` is a `socket.socket` (its descriptor is a real, unbound
   socket's, so the loop can key registrations on it; the kernel never
   polls it: the controlling selector asks the network what is ready).
3. Each send is a decision: how many of the bytes the peer's window takes
   (explore.net.partial-send), and how many polls they travel before they
   arrive (explore.net.delay; in order: a segment never overtakes an
   earlier one). Each recv is a decision: how many of the arrived bytes it
   returns (explore.net.partial-recv). With resets on, each send and recv
   on a connection may reset it (explore.net.reset). Option 0 of each is
   loopback's: all that fits, at once, all that arrived, no reset.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import Any

from ._decide import Decider, Point
from ._sim_socket import HOST, LOCAL, OutsideError, SimSocket

__all__ = ["OutsideError", "SimNetwork", "SimSocket"]

_Info = tuple[Any, Any, int, str, Any]


class SimNetwork:
    """The sockets, listeners and segments in flight of one run."""

    def __init__(
        self,
        decider: Decider,
        polls: Callable[[], int],
        now: Callable[[], float],
        *,
        delay: int = 2,
        partial: bool = True,
        resets: bool = False,
    ) -> None:
        self.decider = decider
        self.polls = polls
        self.now = now
        self.delay = delay
        self.partial = partial
        self.resets = resets
        self.sockets: dict[int, SimSocket] = {}
        # Reads that found bytes in flight but none arrived (explore.net.delay).
        self.misses = 0
        self.listeners: dict[int, SimSocket] = {}
        self.outside: str | None = None
        # True while the run winds up: every decision takes option 0.
        self.quiet: Callable[[], bool] = lambda: False
        self._port = 40000

    # ------------------------------------------------ the Network door

    def getaddrinfo(
        self,
        host: Any,
        port: Any,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[_Info]:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and str(name) not in LOCAL:
            # spec: explore.net.closed
            raise self.leave(
                f"name resolution of {name!r}: the simulated network knows only "
                "localhost and loopback addresses"
            )
        number = 0 if port is None else int(port)
        kind = type or socket.SOCK_STREAM
        return [(socket.AF_INET, kind, socket.IPPROTO_TCP, "", (HOST, number))]

    def socket(self, family: int = -1, type: int = -1, proto: int = -1) -> SimSocket:
        if family not in (-1, socket.AF_INET, socket.AF_INET6):
            raise OSError(errno.EAFNOSUPPORT, f"simulated network: family {family}")
        return SimSocket(self)

    # ------------------------------------------------ the selector's view

    def mask(self, fd: int) -> int:
        """What the socket `fd` is ready for now (selectors' bits)."""
        sock = self.sockets.get(fd)
        return 0 if sock is None else sock.ready()

    def incoming_any(self) -> bool:
        return any(s.incoming for s in self.sockets.values())

    def in_flight(self) -> list[float]:
        """When each connection's oldest segment in flight was sent."""
        return [s.incoming[0][1] for s in self.sockets.values() if s.incoming]

    def land(self, everything: bool = False) -> bool:
        """Segments due by this poll arrive (all, if `everything`)."""
        polls, moved = self.ticks(), False
        for sock in list(self.sockets.values()):
            while sock.incoming and (everything or sock.incoming[0][0] <= polls):
                _, _, data = sock.incoming.popleft()
                if data is None:
                    sock.eof = True
                else:
                    sock.inbox += data
                moved = True
        return moved

    def ticks(self) -> int:
        """The network's clock: polls, and reads that found nothing arrived."""
        return self.polls() + self.misses

    def close_all(self) -> None:
        for sock in list(self.sockets.values()):
            sock.close()

    # ------------------------------------------------ decisions

    def choose(self, kind: str, options: int, label: Callable[[int], str]) -> int:
        if options < 2 or self.quiet():
            return 0
        return self.decider.choose(Point(kind, options, label))

    def leave(self, why: str) -> OutsideError:
        self.outside = self.outside or why
        return OutsideError(errno.EHOSTUNREACH, f"refloop.explore: {why}")

    def port(self, wanted: int) -> int:
        if wanted == 0:
            while self._port in self.listeners:
                self._port += 1
            wanted = self._port
            self._port += 1
        elif wanted in self.listeners:
            raise OSError(errno.EADDRINUSE, f"port {wanted} is in use")
        return wanted
