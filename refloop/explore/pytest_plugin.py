"""pytest integration: `pytest --refloop-explore=N` explores every async
test function N times; `@pytest.mark.explore(runs=..., strategy=...)`
explores one. Registered as the `refloop_explore` pytest11 entry point (or
`-p refloop.explore.pytest_plugin`). Tests without the marker or the option
are left to whatever runs async tests otherwise (pytest-asyncio)."""

from __future__ import annotations

import inspect
import os
from typing import Any

import pytest

from ._api import STRATEGIES, explore


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("refloop", "refloop schedule exploration")
    group.addoption(
        "--refloop-explore",
        type=int,
        default=0,
        metavar="N",
        help="run each async test under N explored schedules (refloop.explore)",
    )
    group.addoption(
        "--refloop-explore-network",
        default="simulated",
        choices=("simulated", "loopback"),
        help="the network of explored runs (default: simulated, in memory)",
    )
    group.addoption(
        "--refloop-explore-strategy",
        default="delay",
        choices=STRATEGIES,
        help="how schedules are drawn (default: delay)",
    )
    group.addoption(
        "--refloop-explore-validate",
        action="store_true",
        help="check every explored run's trace against the model",
    )
    group.addoption(
        "--refloop-explore-picture",
        default=None,
        metavar="DIR",
        help="write each failing test's timeline to DIR/<test>.svg and .png",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "explore(**options): run this async test under refloop.explore.explore",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    fn = pyfuncitem.obj
    marker = pyfuncitem.get_closest_marker("explore")
    runs = pyfuncitem.config.getoption("refloop_explore")
    if not inspect.iscoroutinefunction(fn) or (marker is None and not runs):
        return None
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    if runs:
        options["runs"] = runs
    options.setdefault(
        "strategy", pyfuncitem.config.getoption("refloop_explore_strategy")
    )
    options.setdefault(
        "network", pyfuncitem.config.getoption("refloop_explore_network")
    )
    if pyfuncitem.config.getoption("refloop_explore_validate"):
        # spec: explore.validate
        options["validate"] = True
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    result = explore(lambda: fn(**kwargs), **options)
    result.name = pyfuncitem.nodeid
    where = pyfuncitem.config.getoption("refloop_explore_picture")
    if where and result.failure is not None:
        # spec: explore.picture
        os.makedirs(where, exist_ok=True)
        base = os.path.join(where, pyfuncitem.name)
        for suffix in (".svg", ".png"):
            result.picture(lambda: fn(**kwargs), base + suffix)
    result.raise_for_failure()
    return True
