"""Where the connecting and serving operations get sockets and addresses.

By default from the operating system: `socket.socket` and `getaddrinfo` (in
a worker thread, spec: connect.resolve-in-thread). A loop may be given
another network with `install(loop, network)`: the explorer's simulated one
(refloop.explore, spec: explore.net.door), whose sockets live in memory and
whose names resolve without a thread. The loop itself never looks here;
only `refloop._connect` and `refloop._serve` do, once per connection or
listener, never on the hot path.
"""

from __future__ import annotations

import socket
import weakref
from typing import Any, Protocol

from ._runtime import running_loop_or_none

__all__ = ["Network", "install", "network"]


class Network(Protocol):
    """What `open_tcp_connection`, `serve_tcp` and `open_tcp_listeners` ask
    of a network other than the operating system's."""

    def getaddrinfo(
        self,
        host: Any,
        port: Any,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[tuple[Any, Any, int, str, Any]]: ...

    def socket(
        self, family: int = -1, type: int = -1, proto: int = -1
    ) -> socket.socket: ...


_networks: weakref.WeakKeyDictionary[object, Network] = weakref.WeakKeyDictionary()


def install(loop: object, net: Network | None) -> None:
    """Give `loop` the network `net` (None: the operating system's again)."""
    if net is None:
        _networks.pop(loop, None)
    else:
        _networks[loop] = net


def network() -> Network | None:
    """The running loop's network, or None for the operating system's."""
    if not _networks:
        return None
    loop = running_loop_or_none()
    return None if loop is None else _networks.get(loop)
