"""Test refloop on every Python installed here, 3.11 to the newest.

    nox                       # the whole suite on each Python found
    nox -s aio                # refloop.aio's tests and CPython's asyncio suites

nox finds interpreters as python3.X on PATH; with pyenv, put
~/.pyenv/versions/3.X.Y/bin on PATH first.
"""

from __future__ import annotations

import nox

PYTHONS = ["3.11", "3.12", "3.13", "3.14"]
nox.options.error_on_missing_interpreters = False
nox.options.sessions = ["tests", "aio"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-q", *session.posargs)


@nox.session(python=PYTHONS)
def aio(session: nox.Session) -> None:
    """refloop.aio on this Python: its tests, then CPython's own asyncio
    suites with refloop's loop under test (skipped, with a message, where the
    interpreter has no `test` package)."""
    session.install("-e", ".[test]", "pytest-asyncio>=1.4")
    session.run("python", "-m", "pytest", "-q", *_aio_tests())
    session.run("python", "-m", "refloop.aio.conformance", *session.posargs)


def _aio_tests() -> list[str]:
    from pathlib import Path

    return sorted(str(p) for p in Path("tests").glob("test_aio_*.py"))
