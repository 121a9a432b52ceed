"""uvloop protocols: the asyncio protocols server on uvloop's loop."""

from __future__ import annotations

if __name__ == "__main__":
    import uvloop

    from bench.servers.asyncio_protocols import runner

    runner(uvloop.new_event_loop)
