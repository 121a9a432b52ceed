"""Run CPython's own asyncio tests with refloop.aio as the loop under test.

    python -m refloop.aio.conformance                 # every suite
    python -m refloop.aio.conformance test_locks -v   # one, listing failures
    python -m refloop.aio.conformance --markdown docs/asyncio-conformance.md

Each suite runs in its own interpreter with a time limit (a wrong loop can
hang a test forever). Where the Python installation lacks the `test` package
the runner says so and exits with status 0 and no figures.

How the loop is put under test:
- test_events, test_sock_lowlevel: the epoll-selector test classes are
  subclassed with `create_event_loop` returning a `RefloopEventLoop` (the
  way CPython itself runs these mixins against each selector).
- the others: refloop's event loop policy is installed, so every
  `asyncio.new_event_loop()`, `asyncio.run()` and IsolatedAsyncioTestCase
  gets a refloop loop. Tests that make their own loop class (test_utils'
  TestLoop with virtual time) do not exercise refloop: the runner counts, per
  test, whether a refloop loop was created, and reports both figures.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import os
import subprocess
import sys
import time
import unittest
from typing import Any

SUITES = [
    "test_events",
    "test_sock_lowlevel",
    "test_streams",
    "test_tasks",
    "test_locks",
    "test_queues",
    "test_timeouts",
    "test_subprocess",
    "test_sendfile",
    "test_sslproto",
    "test_ssl",
    "test_server",
    "test_buffered_proto",
    "test_waitfor",
    "test_taskgroups",
    "test_selector_events",
]
# Not listed: test_futures, test_runners and test_pep492 pass under the runner
# but make no refloop loop (they use test_utils.TestLoop, mocks or their own
# policies), so they say nothing about refloop.

# Per suite: CPython's selector-loop test class to subclass with a refloop
# loop, the name of its loop-making method, and whether the module's other
# tests run too (under refloop's policy) or only that class.
_MIXIN_SUITES: dict[str, tuple[str, str, bool]] = {
    "test_events": ("EPollEventLoopTests", "create_event_loop", False),
    "test_sock_lowlevel": ("EPollEventLoopTests", "create_event_loop", False),
    "test_sendfile": ("EPollEventLoopTests", "create_event_loop", False),
    "test_sslproto": ("SelectorStartTLSTests", "new_loop", True),
    "test_server": ("SelectorStartServerTests", "new_loop", False),
    "test_buffered_proto": ("BufferedProtocolSelectorTests", "new_loop", False),
}

# Per suite: CPython's unit tests of asyncio's plain socket transport (mock
# sockets, CPython's TestLoop), whose `socket_transport()` is made to return
# refloop.aio's transport instead (refloop/aio/_transport.py); only those
# classes run, and "ran on refloop" counts the tests that made one.
_TRANSPORT_SUITES: dict[str, tuple[str, ...]] = {
    "test_selector_events": (
        "SelectorSocketTransportTests",
        "SelectorSocketTransportBufferedProtocolTests",
    ),
}


def available() -> bool:
    try:
        importlib.import_module("test.test_asyncio")
    except ImportError:
        return False
    return True


def _load(name: str, baseline: bool) -> tuple[unittest.TestSuite, dict[str, int]]:
    import refloop.aio
    from refloop.aio import RefloopEventLoop

    made = {"loops": 0}
    original_init = RefloopEventLoop.__init__

    def counting_init(self: RefloopEventLoop, *args: Any, **kwargs: Any) -> None:
        made["loops"] += 1
        original_init(self, *args, **kwargs)

    RefloopEventLoop.__init__ = counting_init  # type: ignore[method-assign]
    module = importlib.import_module(f"test.test_asyncio.{name}")
    loader = unittest.defaultTestLoader
    suite = unittest.TestSuite()
    if name in _TRANSPORT_SUITES:
        for base_name in _TRANSPORT_SUITES[name]:
            suite.addTests(
                loader.loadTestsFromTestCase(
                    _transport_tests(module, base_name, made, baseline)
                )
            )
        return suite, made
    mixin = _MIXIN_SUITES.get(name)
    if mixin is not None:
        base_name, method, _whole = mixin
        base = getattr(module, base_name)

        def make_loop(self: Any) -> asyncio.AbstractEventLoop:
            if baseline:
                return getattr(super(refloop_tests, self), method)()  # type: ignore[no-any-return]
            return RefloopEventLoop()

        refloop_tests = type(f"Refloop{base_name}", (base,), {method: make_loop})
        suite.addTests(loader.loadTestsFromTestCase(refloop_tests))
    if not baseline:
        asyncio.set_event_loop_policy(refloop.aio.EventLoopPolicy())
    if mixin is None or mixin[2]:
        for test in _flatten(loader.loadTestsFromModule(module)):
            # A class with its own loop factory is a concrete selector
            # variant (asyncio's loop under another selector): skip it.
            if mixin is not None and any(
                m in type(test).__dict__ for m in ("create_event_loop", "new_loop")
            ):
                continue
            suite.addTest(test)
    return suite, made


def _transport_tests(
    module: Any, base_name: str, made: dict[str, int], baseline: bool
) -> type[unittest.TestCase]:
    """CPython's test class `base_name`, its transports refloop.aio's."""
    from refloop.aio._transport import SocketTransport

    base = getattr(module, base_name)

    # From 3.12 the first class's method takes `sendmsg` and picks which of
    # asyncio's two buffer writers the test runs; this one does the same.
    picks_writer = "sendmsg" in inspect.signature(base.socket_transport).parameters

    def socket_transport(self: Any, waiter: Any = None, **options: Any) -> Any:
        if baseline:
            return base.socket_transport(self, waiter, **options)
        made["loops"] += 1
        transport = SocketTransport(self.loop, self.sock, self.protocol, waiter=waiter)
        if picks_writer:
            sendmsg = options.get("sendmsg", False)
            transport._write_ready = (
                transport._write_sendmsg if sendmsg else transport._write_send
            )
        self.addCleanup(module.close_transport, transport)
        return transport

    return type(f"Refloop{base_name}", (base,), {"socket_transport": socket_transport})


def _flatten(suite: unittest.TestSuite) -> list[unittest.TestCase]:
    found: list[unittest.TestCase] = []
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            found.extend(_flatten(item))
        else:
            found.append(item)
    return found


class _Result(unittest.TextTestResult):
    def __init__(self, *args: Any, made: dict[str, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.made = made
        self.used: set[str] = set()
        self.ran: list[str] = []
        self._before = 0

    def startTest(self, test: unittest.TestCase) -> None:
        self._before = self.made["loops"]
        super().startTest(test)

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        self.ran.append(test.id())
        if self.made["loops"] > self._before:
            self.used.add(test.id())


def _child(name: str, baseline: bool) -> int:
    suite, made = _load(name, baseline)
    stream = open(os.devnull, "w")  # noqa: SIM115
    runner = unittest.TextTestRunner(
        stream=stream,
        resultclass=lambda *a, **k: _Result(*a, made=made, **k),
        verbosity=0,
    )
    result: Any = runner.run(suite)
    failed = {t.id(): _last_line(tb) for t, tb in result.failures + result.errors}
    skipped = {t.id() for t, _ in result.skipped}
    report = {
        "suite": name,
        "ran": len(result.ran),
        "skipped": len(skipped),
        "failed": failed,
        "used": len(result.used),
        "passed_using": len(
            [t for t in result.used if t not in failed and t not in skipped]
        ),
    }
    print("RESULT " + json.dumps(report))
    return 0


def _last_line(tb: str) -> str:
    lines = [line for line in tb.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def run_suite(name: str, limit: float, baseline: bool = False) -> dict[str, Any]:
    started = time.monotonic()
    cmd = [sys.executable, "-m", "refloop.aio.conformance", "--child", name]
    if baseline:
        cmd.append("--baseline")
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"suite": name, "timeout": limit}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            report: dict[str, Any] = json.loads(line[len("RESULT ") :])
            report["seconds"] = round(time.monotonic() - started, 1)
            return report
    return {"suite": name, "crashed": done.returncode, "stderr": done.stderr[-2000:]}


def markdown(reports: list[dict[str, Any]]) -> str:
    version = sys.version.split()[0]
    out = [
        "| suite | tests | passed | failed | skipped | ran on refloop (passed) |",
        "|---|---|---|---|---|---|",
    ]
    for r in reports:
        if "ran" not in r:
            what = "timeout" if "timeout" in r else "crashed"
            out.append(f"| {r['suite']} | {what} | | | | |")
            continue
        failed = len(r["failed"])
        passed = r["ran"] - failed - r["skipped"]
        out.append(
            f"| {r['suite']} | {r['ran']} | {passed} | {failed} | {r['skipped']} "
            f"| {r['used']} ({r['passed_using']}) |"
        )
    out.insert(0, f"Python {version}:\n")
    for r in reports:
        for test, why in sorted(r.get("failed", {}).items()):
            out.append(f"- `{test}`: {why}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m refloop.aio.conformance")
    parser.add_argument("suites", nargs="*", default=SUITES)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument(
        "--baseline", action="store_true", help="run on asyncio's own loop, to compare"
    )
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.baseline)
    if not available():
        print(
            f"skipped: this Python ({sys.executable}) has no test.test_asyncio package"
        )
        return 0
    reports = []
    for name in args.suites:
        report = run_suite(name, args.timeout, args.baseline)
        reports.append(report)
        if "ran" in report:
            failed = len(report["failed"])
            passed = report["ran"] - failed - report["skipped"]
            print(
                f"{name}: {passed}/{report['ran']} passed, "
                f"{failed} failed, {report['skipped']} skipped, "
                f"{report['used']} used refloop ({report['seconds']} s)"
            )
            if args.verbose:
                for test, why in sorted(report["failed"].items()):
                    print(f"  {test}: {why}")
        else:
            print(f"{name}: {report}")
    print(markdown(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
