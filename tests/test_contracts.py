"""The model's contracts, and CrossHair's power to catch a broken transition.

CI checks the contracts themselves with

    crosshair check --per_condition_timeout=3 refloop/model/

(about a minute); this test shows that the same contracts, on a copy of a
transition with a deliberate fault, make CrossHair fail.
"""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from refloop.model import transitions

CONTRACTED = [
    transitions.spawn,
    transitions.peer_send,
    transitions.peer_close,
    transitions.peer_recv,
    transitions.peer_connect,
    transitions.advance,
]


def _crosshair() -> str | None:
    here = Path(sys.executable).with_name("crosshair")
    return str(here) if here.exists() else shutil.which("crosshair")


def _contract(function: object) -> list[str]:
    doc = inspect.getdoc(function) or ""
    return [line for line in doc.splitlines() if line.split(":")[0] in CLAUSES]


CLAUSES = {"pre", "post", "raises"}


@pytest.mark.spec("prop.contracts")
@pytest.mark.parametrize("function", CONTRACTED, ids=lambda f: f.__name__)
def test_the_transitions_carry_contracts(function: object) -> None:
    assert any(line.startswith("post:") for line in _contract(function))


BROKEN = '''
from refloop.model import State, ModelError, sock
from refloop.model.transitions import _stays_ready, peer_recv, well_formed


def lossy_peer_recv(s: State, name: str, n: int) -> tuple[State, bytes]:
    """peer_recv, with its own contract, but one byte more is taken from the
    socket than the peer is given when it reads two or more.

{contract}
    """
    s, data = peer_recv(s, name, n)
    return s, data[:-1] if len(data) > 1 else data
'''


@pytest.mark.spec("prop.contracts")
def test_crosshair_catches_a_broken_transition(tmp_path: Path) -> None:
    crosshair = _crosshair()
    if crosshair is None:
        pytest.skip("crosshair is not installed")
    # The contract's first postcondition is the one the fault breaks; the
    # others would only make CrossHair spend its time in vain.
    lines = _contract(transitions.peer_recv)
    first = next(i for i, line in enumerate(lines) if line.startswith("post:"))
    contract = "\n".join("    " + line for line in lines[: first + 1])
    module = tmp_path / "lossy.py"
    module.write_text(BROKEN.format(contract=contract))
    done = subprocess.run(
        [crosshair, "check", "--per_condition_timeout=15", str(module)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode != 0, done.stdout + done.stderr
    assert "lossy_peer_recv" in done.stdout and "error" in done.stdout
