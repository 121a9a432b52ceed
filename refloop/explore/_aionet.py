"""The asyncio loop of an explored run on the simulated network.

`SimEventLoop` is a `refloop.aio` loop whose three doors to the operating
system's network (name resolution, `create_connection` by address,
`create_server` by address) go to the run's `SimNetwork` instead
(spec: explore.net.door). Everything above them (transports, protocols,
streams, `start_server`, `open_connection`, the `sock_*` coroutines) is
asyncio's own code, unchanged, running on simulated sockets; asyncio is
given a socket through its public `sock=` argument, never patched.
"""

from __future__ import annotations

import socket
from typing import Any

from ..aio import RefloopEventLoop
from ._net import SimNetwork
from ._sim_socket import SimSocket

__all__ = ["SimEventLoop"]

# The address arguments a `sock=` call does not take.
_ADDRESSING = ("family", "proto", "flags", "local_addr", "reuse_address", "reuse_port")
_DIALING = ("happy_eyeballs_delay", "interleave", "all_errors")


class SimEventLoop(RefloopEventLoop):
    """A refloop.aio loop on a simulated network."""

    def __init__(self, net: SimNetwork, **options: Any) -> None:
        super().__init__(**options)
        self.net = net

    async def getaddrinfo(
        self,
        host: Any,
        port: Any,
        *,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[tuple[Any, Any, int, str, Any]]:
        # spec: explore.net.door
        return self.net.getaddrinfo(host, port, family, type, proto, flags)

    async def getnameinfo(self, sockaddr: Any, flags: int = 0) -> tuple[str, str]:
        return ("localhost", str(sockaddr[1]))

    async def create_connection(
        self,
        protocol_factory: Any,
        host: Any = None,
        port: Any = None,
        *,
        sock: Any = None,
        **options: Any,
    ) -> Any:
        if sock is None and host is not None:
            # spec: explore.net.door
            infos = self.net.getaddrinfo(host, port)
            sock = self.net.socket()
            try:
                sock.setblocking(False)
                await self.sock_connect(sock, infos[0][4])
            except BaseException:
                sock.close()
                raise
            if options.get("ssl") and options.get("server_hostname") is None:
                options["server_hostname"] = host
        for name in _ADDRESSING + _DIALING:
            options.pop(name, None)
        return await super().create_connection(protocol_factory, sock=sock, **options)

    async def create_server(
        self,
        protocol_factory: Any,
        host: Any = None,
        port: Any = None,
        *,
        sock: Any = None,
        **options: Any,
    ) -> Any:
        if sock is None:
            # spec: explore.net.door
            hosts = host if isinstance(host, list | tuple) else [host]
            for name in hosts:
                self.net.getaddrinfo(name, port)  # an unknown name leaves the world
            sock = self.net.socket()
            sock.bind(("", int(port or 0)))
        for name in _ADDRESSING:
            options.pop(name, None)
        return await super().create_server(protocol_factory, sock=sock, **options)

    async def sock_connect(self, sock: Any, address: Any) -> None:
        if not isinstance(sock, SimSocket) and sock.family in (
            socket.AF_INET,
            socket.AF_INET6,
        ):
            # spec: explore.net.closed
            raise self.net.leave(
                f"a real socket connects to {address!r} while the network is "
                "simulated: make it with loop.create_connection or "
                'open_connection, or explore with network="loopback"'
            )
        await super().sock_connect(sock, address)
