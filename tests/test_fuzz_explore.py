"""`refloop fuzz path.py::test`: an async test's schedule exploration as a
campaign, on planted races (tests/races/). Failures appear live, -x stops at
the first, the time limit is kept, shrinking is not cut short by slow runs,
and the same failure is stored once. Each campaign is a subprocess with a
small budget and a tmp_path database."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis.database import InMemoryExampleDatabase

from refloop.fuzz.explore_target import machine_for_test
from refloop.fuzz.messages import Failure
from refloop.fuzz.replay import dedupe, stored
from refloop.fuzz.target import Target, TargetError

RACES = Path(__file__).resolve().parent / "races"
BUGGY = f"{RACES / 'lost_update.py'}::buggy"
FIXED = f"{RACES / 'lost_update.py'}::fixed"


def campaign(tmp_path: Path, *args: str) -> tuple[int, str, str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "refloop", "fuzz", *args, "--db", str(tmp_path / "db")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def stored_count(tmp_path: Path, spec: str) -> int:
    from hypothesis.database import DirectoryBasedExampleDatabase

    db = DirectoryBasedExampleDatabase(tmp_path / "db")
    return len(stored(Target.parse(spec).load(), db))


@pytest.mark.spec("explore.replay")
def test_x_stops_at_the_first_failure_shown_live_and_stored_once(
    tmp_path: Path,
) -> None:
    code, report, display, took = campaign(
        tmp_path, BUGGY, "--workers", "2", "--minutes", "1", "-x", "--seed", "3"
    )
    assert code == 1, report + display
    assert took < 30  # not the minute: -x stopped it
    lines = display.splitlines()
    # A worker may report the failure as replayed: another worker stored it
    # in the shared database first. Either is the first failure -x stops at.
    found = [
        i
        for i, line in enumerate(lines)
        if " found failure " in line or " replayed failure " in line
    ]
    stop = lines.index("stopping: a failure was found (--exitfirst)")
    # Live: printed as the worker reported it, before the campaign stopped.
    assert found and found[0] < stop, display
    assert re.search(
        r"(found|replayed) failure [0-9a-f]{16}: ScheduleFailure: "
        r"AssertionError: lost "
        r"update: balance \d+, expected 70 \[schedule [\d:/,]+\]",
        lines[found[0]],
    )
    assert "stopped: a failure was found (--exitfirst)" in report
    # Stored once, however many workers found it.
    assert "failures stored in the database: 1 " in report
    assert stored_count(tmp_path, BUGGY) == 1
    # The report shows the schedule, and the stored failure replays.
    assert "[explore.clock.late]" in report
    code, out, _, _ = campaign(tmp_path, BUGGY, "--replay")
    assert code == 1 and "FAILS   " in out


def test_the_time_limit_is_kept(tmp_path: Path) -> None:
    code, report, display, took = campaign(
        tmp_path, FIXED, "--workers", "2", "--minutes", "0.1", "--seed", "1"
    )
    assert code == 0, report + display
    assert "stopped: time is up" in report
    assert re.search(r"examples +[1-9]", report)
    # 6 s of fuzzing, plus starting and stopping the workers.
    assert 6 <= took < 6 + 8, took
    assert "failures stored in the database: 0 " in report


SLOW = """
import time
from races import lost_update


async def test_slow_lost_update():
    time.sleep(0.05)  # a slow run: 50 ms of real time before the race
    await lost_update.buggy()
"""


def test_shrinking_is_not_cut_short_by_slow_runs(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_slow.py").write_text(SLOW, encoding="utf-8")
    # races/ is found beside the test file, as pytest's rootdir insertion.
    (tests / "races").symlink_to(RACES)
    spec = f"{tests / 'test_slow.py'}::test_slow_lost_update"
    # Time is up (3 s) while the worker is still finding or shrinking: the
    # failure it has in hand is shrunk to the end first.
    code, report, display, took = campaign(
        tmp_path, spec, "--workers", "1", "--minutes", "0.05", "--seed", "2"
    )
    assert code == 1, report + display
    assert took < 30 and "stopped: time is up" in report
    errors = re.findall(r"^  \d+\. [0-9a-f]{16}  (.*)$", report, re.M)
    # The shortest schedule: one timer late, the first one.
    assert errors == [
        "ScheduleFailure: AssertionError: lost update: balance 80, expected 70 "
        "[schedule 0:1/2]"
    ], report


def test_targets_name_a_file_and_a_test(tmp_path: Path) -> None:
    target = Target.parse(f"{RACES / 'lost_update.py'}::buggy")
    assert target.explores and target.argv[0].endswith("::buggy")
    assert machine_for_test(target.spec).__name__ == "Explore[buggy]"
    (tmp_path / "test_x.py").write_text(
        "async def needs(fixture): pass\ndef plain(): pass\n", encoding="utf-8"
    )
    with pytest.raises(TargetError, match="takes arguments"):
        Target.parse(f"{tmp_path / 'test_x.py'}::needs").load()
    with pytest.raises(TargetError, match="async def"):
        Target.parse(f"{tmp_path / 'test_x.py'}::plain").load()
    with pytest.raises(TargetError, match="no test file"):
        Target.parse(f"{tmp_path / 'nothing.py'}::plain").load()
    # module:function names one too.
    assert Target.parse("races.lost_update:fixed").load().__name__ == "Explore[fixed]"


def test_the_same_failure_is_stored_once() -> None:
    machine = machine_for_test(BUGGY)
    from refloop.fuzz.database import entry_id
    from refloop.fuzz.seams import database_key

    db, key = InMemoryExampleDatabase(), database_key(machine)
    values = [b"a", b"bb", b"ccc"]
    for value in values:
        db.save(key, value)
    error = "ScheduleFailure: AssertionError: lost [schedule 0:1/2]"
    found = [
        Failure(entry_id(b"a"), error, "", False),
        Failure(entry_id(b"bb"), "ScheduleFailure: other [schedule 3:1/2]", "", False),
        Failure(entry_id(b"ccc"), error, "", False),
    ]
    kept = dedupe(machine, db, found)
    assert [f.id for f in kept] == [entry_id(b"a"), entry_id(b"bb")]
    assert sorted(db.fetch(key)) == [b"a", b"bb"]


@pytest.mark.spec("explore.kind")
def test_a_native_refloop_test_is_explored_as_native() -> None:
    """`refloop fuzz` on a native refloop test runs it on a refloop.Loop
    (as explore() does), finds its race and passes its fix."""
    from hypothesis import settings
    from hypothesis.errors import Flaky
    from hypothesis.stateful import run_state_machine_as_test

    from refloop.fuzz.explore_target import ScheduleFailure

    budget = settings(max_examples=60, database=None, deadline=None)
    native = RACES / "native_lost_update.py"
    with pytest.raises((ScheduleFailure, Flaky)) as found:
        run_state_machine_as_test(machine_for_test(f"{native}::buggy"), settings=budget)
    assert "schedule" in str(found.value)
    run_state_machine_as_test(machine_for_test(f"{native}::fixed"), settings=budget)
