"""CPython's own asyncio tests with refloop.aio as the loop under test: one
small suite here (the whole set: python -m refloop.aio.conformance, figures
in docs/asyncio-conformance.md)."""

from __future__ import annotations

import pytest

from refloop.aio import conformance


@pytest.mark.skipif(
    not conformance.available(),
    reason="this Python has no test.test_asyncio package (CPython's test suite)",
)
@pytest.mark.parametrize(
    "suite",
    [
        "test_queues",
        "test_sock_lowlevel",
        # CPython's unit tests of asyncio's socket transport, run against
        # refloop.aio's (refloop/aio/_transport.py).
        pytest.param(
            "test_selector_events",
            marks=[
                pytest.mark.spec("aio.transport"),
                pytest.mark.spec("aio.transport.read"),
                pytest.mark.spec("aio.transport.write"),
            ],
        ),
    ],
)
def test_a_cpython_suite_passes_on_refloop(suite: str) -> None:
    report = conformance.run_suite(suite, limit=300)
    assert "ran" in report, f"{suite} did not finish: {report}"
    assert report["failed"] == {}, report["failed"]
    # Every test made a refloop loop: the suite really ran on it.
    assert report["used"] == report["ran"] - report["skipped"] > 10
