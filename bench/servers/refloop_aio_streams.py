"""refloop.aio streams: the asyncio streams server on refloop's asyncio loop."""

from __future__ import annotations

import importlib
from typing import Any

from bench.servers.asyncio_streams import runner


def _refloop_aio_loop() -> Any:
    return importlib.import_module("refloop.aio").new_event_loop()


if __name__ == "__main__":
    runner(_refloop_aio_loop)
