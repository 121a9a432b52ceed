"""Echo servers, one module per peer, each run as its own process.

``python -m bench.servers.NAME PORT`` listens on 127.0.0.1:PORT (0 picks a
free port), prints ``READY <port> <pid>``, echoes every byte it reads until
SIGTERM, then prints ``CPU <user+system seconds>`` and
exits. The runner reads the server's CPU clock directly while it measures
(bench.cpu), so the exit line is a cross-check, not the figure.
"""

SERVERS = {
    "floor": "bench.servers.floor",
    "refloop": "bench.servers.refloop_tasks",
    "asyncio-streams": "bench.servers.asyncio_streams",
    "asyncio-protocols": "bench.servers.asyncio_protocols",
    "refloop-aio-streams": "bench.servers.refloop_aio_streams",
    "refloop-aio-protocols": "bench.servers.refloop_aio_protocols",
    "uvloop-streams": "bench.servers.uvloop_streams",
    "uvloop-protocols": "bench.servers.uvloop_protocols",
    "trio": "bench.servers.trio_streams",
    "curio": "bench.servers.curio_tasks",
}
"""Peer name -> module; the floor is a hand-written callback server."""
