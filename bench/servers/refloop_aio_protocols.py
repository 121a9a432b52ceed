"""refloop.aio protocols: the asyncio protocols server on refloop's asyncio loop."""

from __future__ import annotations

import importlib
from typing import Any

from bench.servers.asyncio_protocols import runner


def _refloop_aio_loop() -> Any:
    return importlib.import_module("refloop.aio").new_event_loop()


if __name__ == "__main__":
    runner(_refloop_aio_loop)
