"""One explored run: a fresh refloop.aio loop on a virtual clock and a
controlling selector, the test's coroutine as its main task.

Rules this module keeps (spec: explore.*):

1. Each run makes a new loop, clock and selector; nothing carries over from
   one run to the next but the decider's choices (explore.run).
2. A run that cannot progress ends with a report naming every task and what
   it waits on, with its stack (explore.deadlock).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import aio
from .._clock import VirtualClock
from .._loop import Loop
from .._network import install
from ._aionet import SimEventLoop
from ._decide import Decider
from ._describe import describe_native, describe_tasks
from ._executor import VirtualExecutor
from ._native import NativeChecker, NativeRecorder
from ._net import SimNetwork
from ._selector import Deadlock, ExploreSelector, Livelock, OutsideWorld
from ._timeline import Tracer
from ._trace import Recorder
from ._validate import Validator

__all__ = ["EXECUTORS", "NETWORKS", "Outcome", "Settings", "run_one"]

NETWORKS = ("simulated", "loopback")
EXECUTORS = ("virtual", "threads")


@dataclass(frozen=True)
class Settings:
    """The bounds of the environment's freedom in a run."""

    hold: int = 2
    slack: float = 0.1
    max_polls: int = 5000
    network: str = "simulated"
    executor: str = "virtual"
    partial: bool = True
    resets: bool = False
    # Record the run's trace and validate it against the model
    # (explore.validate).
    validate: bool = False

    def __post_init__(self) -> None:
        if self.network not in NETWORKS:
            raise ValueError(f"network must be one of {NETWORKS}, got {self.network!r}")
        for name in ("partial", "resets"):
            if type(getattr(self, name)) is not bool:
                raise TypeError(
                    f"{name} must be True or False, got {getattr(self, name)!r}"
                )
        if self.executor not in EXECUTORS:
            raise ValueError(
                f"executor must be one of {EXECUTORS}, got {self.executor!r}"
            )
        if not isinstance(self.hold, int) or self.hold < 0:
            raise ValueError(f"hold must be an int >= 0 (polls), got {self.hold!r}")
        if not self.slack >= 0 or self.slack == float("inf"):
            raise ValueError(f"slack must be finite seconds >= 0, got {self.slack!r}")
        if not isinstance(self.max_polls, int) or self.max_polls < 1:
            raise ValueError(f"max_polls must be an int >= 1, got {self.max_polls!r}")


@dataclass
class Outcome:
    """What one run did."""

    decider: Decider
    error: BaseException | None
    polls: int
    virtual_time: float
    tasks: str = ""
    handled: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.error is not None


def run_one(
    test: Callable[[], Any],
    decider: Decider,
    settings: Settings = Settings(),
    tracer: Tracer | None = None,
    kind: str = "asyncio",
    recorder: Recorder | NativeRecorder | None = None,
) -> Outcome:
    """Run `test()` (a coroutine function's call) once under `decider`, on
    refloop.aio (`kind="asyncio"`) or a refloop.Loop (`kind="native"`); with
    a `Tracer`, record every task step for the timeline; with a recorder
    (made here when `settings.validate`: a `Recorder` for asyncio, a
    `NativeRecorder` for native), record the loop's trace and validate it."""
    if kind == "native":
        if isinstance(recorder, Recorder):
            raise TypeError("a native run needs a NativeRecorder, not a Recorder")
        if recorder is None and (settings.validate or tracer is not None):
            recorder = NativeRecorder()
    elif isinstance(recorder, NativeRecorder):
        raise TypeError("an asyncio run needs a Recorder, not a NativeRecorder")
    elif recorder is None and settings.validate:
        recorder = Recorder()
    validator: Validator | NativeChecker | None = None
    if isinstance(recorder, NativeRecorder):
        if settings.validate or recorder.loop_class is not Loop:
            # spec: explore.validate.native
            validator = NativeChecker(recorder.names)
            recorder.check = validator.online
    elif recorder is not None:
        # spec: explore.validate
        validator = Validator(recorder.names)
        recorder.check = validator.online
    clock = VirtualClock()
    polls: list[ExploreSelector] = []
    net = None
    if settings.network == "simulated":
        net = SimNetwork(
            decider,
            lambda: polls[0].polls,
            clock,
            delay=settings.hold,
            partial=settings.partial,
            resets=settings.resets,
        )
    # spec: explore.thread.virtual
    executor = VirtualExecutor() if settings.executor == "virtual" else None
    selector = ExploreSelector(
        decider,
        clock,
        lambda: [h.when for h in native.timers()],
        hold=settings.hold,
        slack=settings.slack,
        max_polls=settings.max_polls,
        net=net,
        executor=executor,
    )
    polls.append(selector)
    if net is not None:
        net.quiet = lambda: selector.cleanup
    if isinstance(recorder, NativeRecorder):
        native = recorder.loop_class(
            clock=clock, selector=selector, report=_ignore, trace=recorder
        )
        recorder.loop, recorder.clock = native, clock
        if tracer is not None:
            recorder.steps = tracer.steps
        outcome = _native(native, test, decider, selector, net, recorder)
    elif kind == "native":
        # spec: explore.kind
        native = Loop(clock=clock, selector=selector, report=_ignore)
        outcome = _native(native, test, decider, selector, net)
    else:
        # spec: explore.run
        loop: aio.RefloopEventLoop
        if recorder is not None:
            loop = recorder.new_loop(clock, selector, net)
        elif net is not None:
            loop = SimEventLoop(net, clock=clock, selector=selector)
        else:
            loop = aio.new_event_loop(clock=clock, selector=selector)
        native = loop.native
        poller = _Poller(loop)
        if executor is not None:
            executor.busy = poller
            loop.set_default_executor(executor)
        if tracer is not None:
            tracer.clock = clock
            tracer.install(loop)
        outcome = _asyncio(loop, test, decider, selector)
        poller.close()
    if net is not None:
        net.close_all()
        if net.outside is not None and not isinstance(outcome.error, OutsideWorld):
            # spec: explore.net.closed
            outcome.error = OutsideWorld(net.outside)
    if validator is not None:
        outcome.error = _judge(validator, outcome.error)
    return outcome


def _prepare(loop: Loop, selector: ExploreSelector, net: SimNetwork | None) -> None:
    if net is not None:
        # spec: explore.net.door
        install(loop, net)
    if selector.executor is not None:
        loop._threads.use_executor(selector.executor)


def _asyncio(
    loop: aio.RefloopEventLoop,
    test: Callable[[], Any],
    decider: Decider,
    selector: ExploreSelector,
) -> Outcome:
    _prepare(loop.native, selector, selector.net)
    handled: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: handled.append(context))
    error: BaseException | None = None
    tasks = ""
    try:
        main = loop.create_task(test(), name="main")
        loop.run_until_complete(main)
    except (Deadlock, Livelock, OutsideWorld) as exc:
        error = exc
        # spec: explore.deadlock
        tasks = describe_tasks(loop)
    except Exception as exc:
        error = exc
    finally:
        polls, now = selector.polls, selector.clock()
        _wind_up(loop, selector)
    return Outcome(decider, error, polls, now, tasks, handled)


def _native(
    loop: Loop,
    test: Callable[[], Any],
    decider: Decider,
    selector: ExploreSelector,
    net: SimNetwork | None,
    recorder: NativeRecorder | None = None,
) -> Outcome:
    _prepare(loop, selector, net)
    error: BaseException | None = None
    tasks = ""
    try:
        main = loop.spawn(test(), name="main")
        main._expect()
        iterations = 0
        while not main.done():
            iterations += 1
            if iterations > selector.max_polls:
                # spec: explore.kind
                # An iteration that skips its poll (tick.poll-skip) counts.
                raise Livelock(
                    f"the test had not finished after {selector.max_polls} "
                    f"iterations (virtual time {selector.clock():g} s): it runs "
                    "forever or needs a larger budget (explore(max_polls=...))"
                )
            if recorder is None:
                loop.run_once(None)
            else:
                recorder.begin(loop)
                loop.run_once(None)
                recorder.end(loop)
        main.result()
    except (Deadlock, Livelock, OutsideWorld) as exc:
        error = exc
        # spec: explore.deadlock
        tasks = describe_native(loop)
    except Exception as exc:
        error = exc
    finally:
        polls, now = selector.polls, selector.clock()
        if recorder is not None:
            recorder.wind_up(loop)  # its iterations are checked too
        selector.cleanup = True
        selector.max_polls = selector.polls + 200
        try:
            loop.shutdown(1.0)
        except Exception:  # a task that refuses to end: the loop closes anyway
            pass
        finally:
            loop.close()
    return Outcome(decider, error, polls, now, tasks)


class _Poller:
    """A never-ready watcher, registered while thread jobs wait, so that
    the asyncio loop polls (explore.thread.post)."""

    def __init__(self, loop: aio.RefloopEventLoop) -> None:
        self.loop = loop
        self.pair: tuple[socket.socket, socket.socket] | None = None

    def __call__(self, busy: bool) -> None:
        if self.loop.is_closed():
            return
        if self.pair is None:
            self.pair = socket.socketpair()
        fd = self.pair[0].fileno()
        if busy:
            self.loop.add_reader(fd, _nothing)
        else:
            self.loop.remove_reader(fd)

    def close(self) -> None:
        for sock in self.pair or ():
            sock.close()


def _nothing() -> None:
    pass


def _ignore(task: object) -> None:
    """A native task that failed unobserved: the test's own result decides."""


def _judge(
    validator: Validator | NativeChecker, error: BaseException | None
) -> BaseException | None:
    """A decision the model does not allow outranks the test's own error
    (which it may have caused)."""
    violation = validator.violation
    if violation is None or error is violation:
        return error
    violation.test_error = error
    return violation


def _wind_up(loop: aio.RefloopEventLoop, selector: ExploreSelector) -> None:
    """Cancel what is left, let it unwind under default decisions, close."""
    selector.cleanup = True
    # A task that swallows its cancellation must not keep the wind-up going.
    selector.max_polls = selector.polls + 200
    try:
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        if left:
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    except Exception:  # a task that refuses to end: the loop closes anyway
        pass
    finally:
        loop.close()
