"""`refloop fuzz`: the command line of campaigns and replays.

Exit codes: 0 no failure stored for the target; 1 failures stored (after a
campaign) or still failing (after --replay); 2 a usage or setup error, or
every worker crashed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Callable
from typing import TypeVar

from .messages import DEFAULT_DB
from .target import DEFAULT_TARGET, Target, TargetError

# The rest of refloop.fuzz (and Hypothesis) is imported when `fuzz` runs:
# `refloop demo` must start without Hypothesis installed.

__all__ = ["add_parser"]

N = TypeVar("N", int, float)

DESCRIPTION = """\
Fuzz a Hypothesis state machine (by default refloop's model-versus-loop test)
on several processes sharing one example database: what one worker finds, the
others and later runs (and pytest) replay first. Ctrl-C stops the campaign
and prints the report; everything found is already in the database."""

EPILOG = f"""\
targets: TARGET is module:Machine (a RuleBasedStateMachine subclass),
module:LoopClass (a refloop.Loop subclass, run against the model), or an
async test, path.py::test or module:test, whose schedules are explored (each
example one run under refloop.explore, its decisions drawn by Hypothesis, so
a failure shrinks to the simplest schedule); the default is
{DEFAULT_TARGET}. --loop NAME names a loop: Loop, a broken loop from
refloop.testing.broken (e.g. GreedyLoop), or module:LoopClass."""


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _positive(kind: Callable[[str], N]) -> Callable[[str], N]:
    def parse(text: str) -> N:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text}")
        return value

    return parse


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "fuzz",
        help="fuzz the stateful test on several processes; replay what it found",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("target", nargs="?", metavar="TARGET", help="module:Machine or module:Loop")
    add("--loop", metavar="NAME", help="fuzz this loop against the model")
    add("--minutes", type=_positive(float), help="stop after this long")
    add("--examples", type=_positive(int), help="stop after this many examples")
    add("--workers", type=_positive(int), default=_cores(), help="default: cores")
    add(
        "--db",
        default=DEFAULT_DB,
        help=f"directory or redis://HOST:PORT/N ({DEFAULT_DB})",
    )
    add(
        "--steps",
        type=_positive(int),
        help="steps per example at most (default 50; 1 for an explored test)",
    )
    add("--seed", type=int, help="the campaign's seed (default: random)")
    add("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    add(
        "--no-spec-coverage",
        dest="spec_coverage",
        action="store_false",
        help="do not trace which spec rules the model exercises (about 15%% faster)",
    )
    add("--replay", action="store_true", help="replay every stored failure")
    add("--replay-id", action="append", metavar="ID", help="replay this one")
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    try:
        from .campaign import Config
        from .campaign import run as run_campaign
        from .database import DatabaseError
        from .display import Display
        from .report import format_report
        from .seams import MIN_HYPOTHESIS
    except ImportError as err:
        print(
            f"refloop fuzz needs {err.name}: pip install 'refloop[fuzz]'",
            file=sys.stderr,
        )
        return 2
    import hypothesis

    if hypothesis.__version_info__ < MIN_HYPOTHESIS:
        wanted = ".".join(map(str, MIN_HYPOTHESIS))
        print(f"refloop fuzz needs Hypothesis >= {wanted}", file=sys.stderr)
        return 2
    try:
        target = Target.parse(args.target, args.loop)
        if args.replay or args.replay_id:
            return _replay(target, args.db, args.replay_id)
        config = Config(
            target=target,
            db=args.db,
            workers=args.workers,
            seconds=None if args.minutes is None else args.minutes * 60,
            examples=args.examples,
            steps=args.steps or (1 if target.explores else 50),
            seed=random.randrange(2**32) if args.seed is None else args.seed,
            spec_coverage=args.spec_coverage,
            exitfirst=args.exitfirst,
        )
        summary = run_campaign(config, Display(sys.stderr))
    except (TargetError, DatabaseError) as err:
        print(f"refloop fuzz: {err}", file=sys.stderr)
        return 2
    print(format_report(summary), end="")
    if summary.stored:
        return 1
    return 2 if summary.counts.examples == 0 and summary.crashes else 0


def _replay(target: Target, where: str, ids: list[str] | None) -> int:
    from .database import check, entry_id, open_database
    from .replay import replay, stored

    machine = target.load()
    db = open_database(where)
    check(db, b"", where)
    values = stored(machine, db)
    if ids:
        chosen = [v for v in values if entry_id(v).startswith(tuple(ids))]
        missing = [i for i in ids if not any(entry_id(v).startswith(i) for v in chosen)]
        if missing:
            print(
                f"refloop fuzz: no stored failure of {machine.__name__} in {where} "
                f"has the id {', '.join(missing)}",
                file=sys.stderr,
            )
            return 2
        values = chosen
    if not values:
        print(f"no failures of {machine.__name__} are stored in {where}")
        return 0
    outcomes = replay(machine, db, values)
    for outcome in outcomes:
        failure = outcome.failure
        if not outcome.fails:
            print(f"passes  {failure.id} (no longer fails: removed from the database)")
            continue
        print(f"FAILS   {failure.id}  {failure.error}")
        if ids:  # one by one: the whole traceback, with the program
            print(outcome.traceback)
        else:
            print(
                "".join(f"          {line}\n" for line in failure.program.splitlines())
            )
    failing = sum(outcome.fails for outcome in outcomes)
    print(f"{failing} of {len(outcomes)} stored failure(s) of {machine.__name__} fail")
    return 1 if failing else 0
