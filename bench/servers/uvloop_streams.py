"""uvloop streams: the asyncio streams server on uvloop's loop."""

from __future__ import annotations

import importlib
from typing import Any

from bench.servers.asyncio_streams import runner


def _uvloop_loop() -> Any:
    return importlib.import_module("uvloop").new_event_loop()


if __name__ == "__main__":
    runner(_uvloop_loop, requires=("uvloop",))
