"""The model's contracts, and CrossHair's power to catch a broken transition.

`test_crosshair_finds_no_counterexample_in_the_model` checks the contracts
themselves with

    crosshair check --per_condition_timeout=3 refloop/model/

(about three and a half minutes of one core, shared with the rest of the
suite by pytest-xdist's workers); the other CrossHair tests show that the
same contracts, on a copy of a transition with a deliberate fault, make
CrossHair fail.
"""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from refloop.check import Options, check, load
from refloop.model import DONE, FAILED, State, Task, environment, lifecycle, transitions
from refloop.model import condition as condition_model
from refloop.model import stream as stream_model
from refloop.model.queries import well_formed

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"

CONTRACTED = [
    transitions.spawn,
    environment.peer_send,
    environment.peer_close,
    environment.peer_recv,
    environment.peer_connect,
    environment.advance,
    transitions.cancel,
    transitions.run_next,
    lifecycle.stop,
    lifecycle.close,
    stream_model.read,
    condition_model.cancel,
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
from refloop.model.environment import peer_recv
from refloop.model.queries import _stays_ready, well_formed


def lossy_peer_recv(s: State, name: str, n: int) -> tuple[State, bytes]:
    """peer_recv, with its own contract, but one byte more is taken from the
    socket than the peer is given when it reads two or more.

{contract}
    """
    s, data = peer_recv(s, name, n)
    return s, data[:-1] if len(data) > 1 else data
'''


def _crosshair_fails_on(
    tmp_path: Path, template: str, function: object, name: str, timeout: int
) -> None:
    """CrossHair, on a broken copy of `function` that carries the contract's
    clauses up to its first postcondition (the one the fault breaks; the
    others would only make CrossHair spend its time in vain), reports an
    error in `name`."""
    crosshair = _crosshair()
    if crosshair is None:
        pytest.skip("crosshair is not installed")
    lines = _contract(function)
    first = next(i for i, line in enumerate(lines) if line.startswith("post:"))
    contract = "\n".join("    " + line for line in lines[: first + 1])
    module = tmp_path / f"{name}.py"
    module.write_text(template.format(contract=contract))
    done = subprocess.run(
        [crosshair, "check", f"--per_condition_timeout={timeout}", str(module)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode != 0, done.stdout + done.stderr
    assert name in done.stdout and "error" in done.stdout


@pytest.mark.long
@pytest.mark.spec("prop.contracts")
def test_crosshair_finds_no_counterexample_in_the_model() -> None:
    """Every contract of refloop/model holds as far as CrossHair finds in 3 s
    a condition. A function gains a contract by its docstring's first `pre:`
    or `post:`; its preconditions must then say what its callees need (a
    `pre: at >= 0` alone on `entry.run` let CrossHair call it on a state
    that is not well formed)."""
    crosshair = _crosshair()
    if crosshair is None:
        pytest.skip("crosshair is not installed")
    done = subprocess.run(
        [crosshair, "check", "--per_condition_timeout=3", str(ROOT / "refloop/model")],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.spec("prop.contracts")
def test_crosshair_catches_a_broken_transition(tmp_path: Path) -> None:
    # State grew (stopping, closed): CrossHair needs longer than 15 s.
    _crosshair_fails_on(
        tmp_path, BROKEN, environment.peer_recv, "lossy_peer_recv", timeout=60
    )


HEADER_FIRST = '''
from dataclasses import replace

from refloop.model.stream import BLOCKED, HEADER, Outcome, Read, RecvMessage
from refloop.model.stream import StreamState, read


def header_first_read(s: StreamState, op: Read) -> tuple[StreamState, Outcome]:
    """read, with its own contract, but a recv_message that waits for the
    body has taken the header (the defect the stream machine found in the
    real stream).

{contract}
    """
    after, outcome = read(s, op)
    if isinstance(op, RecvMessage) and outcome is BLOCKED and len(s.pending) >= HEADER:
        return replace(s, pending=s.pending[HEADER:]), outcome
    return after, outcome
'''


@pytest.mark.spec("prop.contracts", "stream.keeps-bytes")
def test_crosshair_catches_a_broken_stream_read(tmp_path: Path) -> None:
    _crosshair_fails_on(
        tmp_path, HEADER_FIRST, stream_model.read, "header_first_read", timeout=30
    )


def _broken_clauses(function: object, env: dict[str, object]) -> list[str]:
    """The contract's postconditions that do not hold, evaluated as CrossHair
    would, over the transitions module's names."""
    scope = vars(transitions) | env
    posts = [
        line[5:].strip() for line in _contract(function) if line.startswith("post:")
    ]
    return [clause for clause in posts if not eval(clause, scope)]


def _reached() -> list[State]:
    """Every state the checker reaches in models/ (echo-3 left out for time)."""
    states: list[State] = []
    for path in sorted(MODELS.glob("*.py")):
        for system in load(path):
            if system.name != "echo-3":
                graph = check(system, Options(macro=False, symmetry=False)).graph
                states.extend(w.state for w in graph.worlds)
    return states


@pytest.mark.spec("prop.contracts", "cancel.merge")
def test_the_contracts_hold_on_every_state_the_checker_reaches() -> None:
    """CrossHair searches the contracts symbolically and finds little in
    states as deep as these; here run_next and cancel run from every state
    the model checker reached, and each postcondition is evaluated."""
    states = _reached()
    assert len(states) > 1000
    for s in states:
        assert well_formed(s), s
        if s.run_queue:
            result = transitions.run_next(s)
            assert (
                _broken_clauses(transitions.run_next, {"s": s, "__return__": result})
                == []
            )
        for t in s.tasks:
            if t.state not in (DONE, FAILED):
                for scope in (-1, *t.scopes):
                    after = transitions.cancel(s, t.tid, scope)
                    env = {"s": s, "tid": t.tid, "scope": scope, "__return__": after}
                    assert _broken_clauses(transitions.cancel, env) == [], (s, t.tid)


@pytest.mark.spec("prop.contracts")
def test_well_formed_rejects_scopes_that_disagree_with_the_pc() -> None:
    from refloop.model import EndMoveOnAfter, MoveOnAfter, YieldNow, initial, spawn

    s, _ = spawn(initial(()), (MoveOnAfter(1), YieldNow(), EndMoveOnAfter()))
    assert well_formed(s)
    t: Task = s.tasks[0]
    inside = t._replace(pc=1, scopes=(0,))
    assert well_formed(s._replace(tasks=(inside,)))
    for bad in (
        t._replace(pc=1),  # inside the block, no open scope
        inside._replace(fired=(2,)),  # fired names no open scope
        inside._replace(cancelling=True, cancel_scope=1),
        t._replace(program=(YieldNow(), EndMoveOnAfter())),  # does not nest
    ):
        assert not well_formed(s._replace(tasks=(bad,))), bad
