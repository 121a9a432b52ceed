"""The model checker: every closed system gets its expected verdict with and
without reductions, broken loop policies are caught with short
counterexamples, and counterexamples replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refloop._cli import main
from refloop.check import (
    NO_DEADLOCK,
    READY_WAKES,
    RUNNABLE_RUNS,
    TERMINATES,
    Forever,
    Free,
    Options,
    Peer,
    Result,
    System,
    check,
    load,
    peer,
)
from refloop.check.report.snippets import harness_snippet, model_snippet
from refloop.check.report.summary import counterexample
from refloop.check.report.trace import follow, moves_of
from refloop.check.systems.policy import POLICIES, SEED, Policy
from refloop.model import (
    Close,
    Event,
    ModelError,
    PeerClose,
    PeerConnect,
    PeerRecv,
    PeerSend,
    Recv,
    RunOnce,
    Spawn,
    State,
    Suspend,
    YieldNow,
    begin,
    initial,
    run_next,
    run_once,
    step,
)
from refloop.testing import programs

MODELS = Path(__file__).resolve().parent.parent / "models"
SYSTEMS = [s for path in sorted(MODELS.glob("*.py")) for s in load(path)]
FULL = Options(macro=False, symmetry=False)


def _exec(snippet: str) -> None:
    exec(compile(snippet, "<snippet>", "exec"), {})


@pytest.mark.spec(
    "prop.closed-system",
    "prop.invariants",
    "prop.system",
    "prop.at-end",
    "prop.no-deadlock",
    "prop.terminates",
    "prop.fair.runnable-runs",
    "prop.fair.ready-wakes",
    "prop.fairness",
    "prop.reduce.macro",
    "prop.reduce.symmetry",
)
@pytest.mark.parametrize("system", SYSTEMS, ids=lambda s: s.name)
def test_every_system_as_expected_both_ways(system: System) -> None:
    reduced = check(system)
    full = check(system, FULL)
    assert reduced.verdict == full.verdict == reduced.expected
    assert reduced.states <= full.states
    for c in reduced.failures.values():
        counterexample(reduced, c)  # renders, and replays, without error


@pytest.mark.spec("prop.reduce.macro")
def test_macro_steps_halve_the_echo_system() -> None:
    echo = load(MODELS / "echo.py")[0]
    assert check(echo, FULL).states >= 2 * check(echo).states


@pytest.mark.spec("prop.reduce.symmetry")
def test_symmetry_merges_identical_tasks() -> None:
    (contend,) = load(MODELS / "contend.py")
    on = check(contend, Options(macro=False))
    off = check(contend, FULL)
    assert on.graph.symmetry and not off.graph.symmetry
    assert on.verdict == off.verdict == "pass"
    assert 2 * on.states <= off.states


# ------------------------------------------------------------ the checker bites

TWO_READERS = System(
    "two-readers",
    tasks=((Recv("A", 1),), (Recv("B", 1),)),
    env=(
        Peer("peer A", (peer.Send(b"x"),), sock="A"),
        Peer("peer B", (peer.Send(b"y"),), sock="B"),
    ),
    streams=("A", "B"),
)
CLOSER = System(
    "closer", tasks=((Recv("A", 1),), (YieldNow(), Close("A"))), streams=("A",)
)


@pytest.mark.spec("prop.invariants", "prop.counterexample")
@pytest.mark.parametrize(
    ("system", "policy", "rule", "steps"),
    [
        (TWO_READERS, "lost-wakeup", "inv.one-place", 6),
        (TWO_READERS, "double-resume", "inv.one-resume", 6),
        (CLOSER, "left-behind", "inv.waiter-live", 6),
    ],
)
def test_broken_policies_are_caught(
    system: System, policy: str, rule: str, steps: int
) -> None:
    assert check(system).verdict == "pass"
    broken = check(system.variant(policy=policy))
    assert rule in broken.failures
    found = broken.failures[rule]
    stem = follow(broken.system, moves_of(found.stem))
    assert len(stem) <= steps
    _exec(model_snippet(broken.system, rule, found.text, stem, None))


class Lifo(Policy):
    """The seed's drain, and a task that yields goes back to the front."""

    name = "lifo"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        if not s.run_queue:
            s, events = begin(s)
            return s, 0, events
        tid = s.run_queue[0]
        s, events = run_next(s)
        if s.run_queue and s.run_queue[-1] == tid:
            s = s._replace(run_queue=(tid, *s.run_queue[:-1]))
        return s, 0, events


@pytest.mark.spec("prop.fair.runnable-runs", "prop.fairness")
def test_a_runnable_task_that_never_runs_is_caught() -> None:
    POLICIES["lifo"] = Lifo()
    system = System(
        "lifo",
        tasks=(Forever((YieldNow(),)), (YieldNow(),)),
        liveness=(RUNNABLE_RUNS, READY_WAKES),
    )
    assert check(system).verdict == "pass"
    result = check(system.variant(policy="lifo"))
    assert result.verdict == f"fail: {RUNNABLE_RUNS}"
    assert result.failures[RUNNABLE_RUNS].text == "task 1 stays runnable and never runs"


@pytest.mark.spec("prop.fair.ready-wakes", "prop.counterexample", "tick.ready-snapshot")
def test_the_seed_policy_starves_a_reader_and_says_how() -> None:
    (fair, seed) = load(MODELS / "fairness.py")
    assert check(fair).verdict == "pass"
    result = check(seed)
    assert seed.policy == SEED.name
    found = result.failures[READY_WAKES]
    assert found.cycle is not None and len(moves_of(found.cycle)) == 1
    text = "\n".join(counterexample(result, found))
    assert "task 1 waits on a ready socket and is never woken" in text
    assert "-- the cycle: --" in text and "peer_send('A', b'x')" in text
    stem = follow(seed, moves_of(found.stem))
    cycle = follow(seed, moves_of(found.cycle), stem[-1].after)
    _exec(model_snippet(seed, READY_WAKES, found.text, stem, cycle))


@pytest.mark.spec("prop.no-deadlock")
def test_a_deadlock_is_told_from_termination() -> None:
    stuck = check(System("stuck", tasks=((Recv("A", 1),),), streams=("A",)))
    assert stuck.verdict == f"fail: {NO_DEADLOCK}"
    assert len(moves_of(stuck.failures[NO_DEADLOCK].stem)) == 2
    done = check(System("done", tasks=((YieldNow(),),)))
    assert done.verdict == "pass" and done.finals == 1


@pytest.mark.spec("prop.terminates", "prop.fairness")
def test_an_unfair_peer_may_leave_a_task_waiting_for_ever() -> None:
    system = System("maybe", tasks=((Recv("A", 1),),), env=(Free("A"),), streams=("A",))
    assert check(system).verdict == f"fail: {TERMINATES}"
    fair = system.variant(env=(Peer("p", (peer.Send(b"x"),), sock="A"),))
    assert check(fair).verdict == "pass"


@pytest.mark.spec("prop.bounds")
def test_a_bounded_run_claims_no_proof() -> None:
    echo = load(MODELS / "echo.py")[0]
    small = check(echo, Options(max_states=40))
    assert small.verdict == "bounded (40 states)" and not small.as_expected
    shallow = check(echo, Options(max_depth=3))
    assert shallow.verdict == "bounded (depth 3)"
    assert max(shallow.graph.depth) == 3


# ------------------------------------------------------------ replays


@pytest.mark.spec("prop.counterexample")
def test_a_counterexample_replays_on_the_real_loop() -> None:
    early = next(s for s in SYSTEMS if s.name == "seed-wrong-order")
    result = check(early, Options(atomic=True))
    found = result.failures["seed.wrong-order"]
    snippet = harness_snippet(early, follow(early, moves_of(found.stem)))
    assert snippet is not None and "h.run_once()" in snippet
    _exec(snippet)


@pytest.mark.spec("prop.interleaving", "tick.ready-snapshot")
@settings(max_examples=60)
@given(st.data())
def test_the_checker_steps_compose_to_run_once(data: st.DataObject) -> None:
    s = initial(("A", "B"), ("L",), budget=2, capacity=3)
    actions = st.one_of(
        st.builds(Spawn, programs()),
        st.just(RunOnce()),
        st.builds(PeerSend, st.sampled_from(["A", "B", "L.0"]), st.binary(min_size=1)),
        st.builds(PeerRecv, st.sampled_from(["A", "B", "L.0"]), st.integers(1, 4)),
        st.builds(PeerClose, st.sampled_from(["A", "B"])),
        st.just(PeerConnect("L")),
    )
    for action in data.draw(st.lists(actions, max_size=12)):
        try:
            s, _ = step(s, action)
        except ModelError:
            continue
        whole, _ = run_once(s)
        t, phase, _ = POLICIES["refloop"].step(s, 0)
        while phase:
            t, phase, _ = POLICIES["refloop"].step(t, phase)
        assert t == whole


# ------------------------------------------------------------ command line


def test_refloop_check_passes_every_system(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-q"]) == 0
    out = capsys.readouterr().out
    assert "fairness-seed" in out and "all as expected" in out


def test_refloop_check_one_file_prints_the_counterexample(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "-q", str(MODELS / "fairness.py")]) == 0
    out = capsys.readouterr().out
    assert "counterexample for prop.fair.ready-wakes" in out
    assert "replay on the model:" in out


def test_an_unexpected_verdict_fails_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "wrong.py"
    model.write_text(
        "from refloop.check import System\n"
        "from refloop.model import Recv\n"
        "SYSTEM = System('wrong', tasks=((Recv('A', 1),),), streams=('A',))\n"
    )
    assert main(["check", "-q", str(model)]) == 1
    assert "NOT AS EXPECTED" in capsys.readouterr().out


def test_progress_lines_on_long_runs() -> None:
    echo = load(MODELS / "echo.py")[0]
    lines: list[str] = []
    result: Result = check(echo, Options(progress=lines.append, every=0.0))
    assert lines and "states/s" in lines[-1]
    assert result.verdict == "pass"


@pytest.mark.spec("prop.interleaving", "cont.handler-base-exception")
def test_the_checker_steps_end_the_iteration_at_a_tasks_keyboard_interrupt() -> None:
    # Found by the test above: the checker ran the task after the one whose
    # KeyboardInterrupt ends the iteration, where run_once stops.
    s = initial(("A",), (), budget=2, capacity=3)
    s, _ = step(s, Spawn((Suspend("interrupt"),)))
    s, _ = step(s, Spawn((YieldNow(),)))
    whole, _ = run_once(s)
    t, phase, _ = POLICIES["refloop"].step(s, 0)
    while phase:
        t, phase, _ = POLICIES["refloop"].step(t, phase)
    assert t == whole
    assert t.tasks[1].pc == 0 and t.run_queue == (1,)
