"""A real Lock with its Condition, and a real Semaphore, beside the model of
them (refloop/model/condition.py), as a Hypothesis stateful test (spec
chapter 11: sync.lock.*, sync.cond.*, sync.sem.*).

Four actor tasks wait, idle, for commands. A step gives one to three orders
from outside the loop (an operation for an idle actor, or a cancellation of
any actor), in order, then runs the loop until nothing is runnable; the
model does the same. An operation may itself cancel another task (or the
cancel scope around another's wait), so a task can be cancelled after it was
notified or handed the lock and before it ran.
Or a step calls the primitives from another thread, which must be refused
with LoopError and change nothing.

After every step: each actor's outcomes, in order, against the model's; the
lock's owner and line, the condition's line, the semaphore's value and line
(from the public views), which actors are idle, and that nothing is left to
run.
"""

from __future__ import annotations

import re
import threading
from functools import partial
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from .._cancelscope import CancelScope
from .._condition import Condition
from .._errors import Cancelled, LoopError
from .._loop import Loop
from .._runtime import current_task
from .._suspend import Continuation, suspend
from .._sync import BoundedSemaphore, Lock, Semaphore
from .._task import Task
from ..model import condition as m

__all__ = ["ConditionMachine", "machine_with"]

ACTORS = 4
# What the lock's holder is given, and what another actor is (each may be
# refused: a holder's acquire, another's release, wait or notify).
HOLDER_OPS: list[m.Op] = [
    m.RELEASE,
    m.RELEASE,
    m.WAIT,
    m.WAIT,
    m.WAIT_SCOPED,
    m.Notify(1),
    m.Notify(1),
    m.Notify(2),
    m.Notify(0),
    m.Notify(-1),
    m.NOTIFY_ALL,
    m.ACQUIRE,
    m.SEM_RELEASE,
    m.CANCEL,
    m.SCOPE_CANCEL,
]
NOTIFIES: list[m.Op] = [m.Notify(1), m.Notify(1), m.Notify(2), m.NOTIFY_ALL]
OTHER_OPS: list[m.Op] = [
    m.ACQUIRE,
    m.ACQUIRE,
    m.ACQUIRE,
    m.SEM_ACQUIRE,
    m.SEM_ACQUIRE,
    m.SEM_RELEASE,
    m.RELEASE,
    m.WAIT,
    m.Notify(1),
    m.CANCEL,
]


# What a refusal of each call names: the primitive (by its repr's first
# word) and the call (a pattern). A notify of any count is "notify".
NAMES: dict[str, tuple[str, str]] = {
    m.ACQUIRE: ("Lock", r"\bLock\b"),
    m.RELEASE: ("Lock", r"\brelease"),
    m.WAIT: ("Condition", r"\bwait\(\)"),
    m.WAIT_SCOPED: ("Condition", r"\bwait\(\)"),
    "notify": ("Condition", r"\bnotify\(\)"),
    m.NOTIFY_ALL: ("Condition", r"\bnotify"),
    m.SEM_RELEASE: ("Semaphore", r"\brelease"),
}


def _unreported(task: Task[Any]) -> None:
    """An actor never ends: one that failed is a defect of the machine or of
    the primitives."""
    raise AssertionError(f"{task!r} failed: {task.exception()!r}")


class ConditionMachine(RuleBasedStateMachine):
    """The primitives under test against `refloop.model.condition`."""

    lock_type: ClassVar[type[Lock]] = Lock
    condition_type: ClassVar[type[Condition]] = Condition
    semaphore_type: ClassVar[type[Semaphore]] = Semaphore
    bounded_type: ClassVar[type[Semaphore]] = BoundedSemaphore

    def __init__(self) -> None:
        super().__init__()
        self.loop = Loop(report=_unreported)
        self.lock = self.lock_type()
        self.cond = self.condition_type(self.lock)
        self.sem: Semaphore = self.semaphore_type(1)
        self.model = m.start(ACTORS, 1, False)
        self.idle: dict[int, Continuation] = {}
        self.logs: list[list[str]] = [[] for _ in range(ACTORS)]
        self.tasks: list[Task[Any]] = []
        # Refusals whose message does not name the object and the call.
        self.unclear: list[str] = []
        # Each actor's latest cancel scope (of its WAIT_SCOPED), if any.
        self.scopes: dict[int, CancelScope] = {}

    @initialize(initial=st.integers(0, 2), bounded=st.booleans(), default=st.booleans())
    def begin(self, initial: int, bounded: bool, default: bool) -> None:
        kind = self.bounded_type if bounded else self.semaphore_type
        # spec: sync.sem.value (the default is one unit)
        self.sem = kind() if initial == 1 and default else kind(initial)
        self.model = m.start(ACTORS, initial, bounded)
        self.tasks = [self.loop.spawn(self._actor(i)) for i in range(ACTORS)]
        self._settle()

    def teardown(self) -> None:
        self.loop.close()

    # ------------------------------------------------------------ actors

    def _park(self, i: int, k: Continuation) -> None:
        self.idle[i] = k
        k.on_cancel = partial(self.idle.pop, i)

    async def _actor(self, i: int) -> None:
        log = self.logs[i]
        while True:
            try:
                op = await suspend(partial(self._park, i))
            except Cancelled:
                log.append(m.IDLE_CANCELLED)
                continue
            try:
                await self._perform(op)
                log.append(m.OK)
            except Cancelled:
                log.append("Cancelled")
            except (LoopError, ValueError) as err:
                log.append(type(err).__name__)
                self._names(err, op)

    def _names(self, err: BaseException, op: object) -> None:
        """A refusal names the primitive and the call refused (spec:
        sync.bind, sync.lock.owner, sync.cond.hold: "a clear error")."""
        text = str(err)
        obj, call = NAMES.get(op if isinstance(op, str) else "notify", ("", ""))
        target = {"Lock": self.lock, "Condition": self.cond}.get(obj, self.sem)
        if repr(target).split(" ")[0] not in text or not re.search(call, text):
            self.unclear.append(f"{op}: {type(err).__name__}({text!r})")

    async def _perform(self, op: m.Op) -> None:
        match op:
            case m.Cancel() | m.ScopeCancel():
                self._cancel(op)
            case m.Notify(n=n):
                self.cond.notify(n)
            case m.NOTIFY_ALL:
                self.cond.notify_all()
            case m.ACQUIRE:
                await self.lock.acquire()
            case m.RELEASE:
                self.lock.release()
            case m.WAIT:
                await self.cond.wait()
            case m.WAIT_SCOPED:
                with CancelScope() as scope:
                    self.scopes[self.tasks.index(current_task())] = scope
                    await self.cond.wait()
            case m.SEM_ACQUIRE:
                await self.sem.acquire()
            case m.SEM_RELEASE:
                self.sem.release()
            case _:
                raise AssertionError(f"unknown operation {op!r}")

    def _cancel(self, order: m.Cancel | m.ScopeCancel) -> None:
        """The task's cancel(), or its wait's scope's (none: nothing)."""
        if isinstance(order, m.Cancel):
            self.tasks[order.victim].cancel()
        elif order.victim in self.scopes:
            self.scopes[order.victim].cancel()

    @rule(call=st.sampled_from(["release", "notify", "wait"]))
    def from_a_callback(self, call: str) -> None:
        """spec: sync.lock.owner, sync.cond.hold: a loop callback holds no
        lock; refused with LoopError, nothing changed."""
        raised: list[BaseException] = []

        def attempt() -> None:
            if call == "release":
                self.lock.release()
            elif call == "notify":
                self.cond.notify()
            else:
                # A coroutine's body runs when it is driven: one step.
                coro = self.cond.wait()
                try:
                    coro.send(None)
                finally:
                    coro.close()

        def callback() -> None:
            try:
                attempt()
            except LoopError as err:
                raised.append(err)

        self.loop.call_later(0, callback)
        self._settle_callbacks()
        assert len(raised) == 1, f"{call}() from a loop callback: {raised}"
        op = {"release": m.RELEASE, "notify": m.Notify(1), "wait": m.WAIT}[call]
        self._names(raised[0], op)
        held = call == "release" and self.lock.locked()
        if held and not re.search(r"\ba loop callback\b", str(raised[0])):
            # spec: sync.lock.owner (who asked: a loop callback, not a task)
            self.unclear.append(f"release from a callback: {raised[0]}")

    def _settle_callbacks(self) -> None:
        self.loop.run_once(0)
        self._settle()

    def _settle(self) -> None:
        for _ in range(1000):
            if not self.loop.runnable():
                return
            self.loop.run_once(0)
        raise AssertionError("the actors did not settle")

    # ------------------------------------------------------------- rules

    @rule(data=st.data())
    def orders(self, data: st.DataObject) -> None:
        """One to three orders from outside the loop, then the loop runs."""
        g = self.model
        idle = [i for i, a in enumerate(g.actors) if a.where == m.IDLE]
        busy = [i for i in range(ACTORS) if i not in idle]
        # A cancellation reaches mostly a task that waits somewhere.
        victims = (
            st.sampled_from(busy) | st.integers(0, ACTORS - 1)
            if busy
            else (st.integers(0, ACTORS - 1))
        )
        given: list[m.Do | m.Cancel | m.ScopeCancel] = []
        for _ in range(data.draw(st.integers(1, 3), label="orders")):
            if idle and data.draw(st.integers(0, 9), label="kind") > 0:
                actor = data.draw(st.sampled_from(idle), label="actor")
                idle.remove(actor)
                ops = HOLDER_OPS if g.owner == actor else OTHER_OPS
                if g.owner == actor and g.cond_line:
                    ops = [*ops, *NOTIFIES]  # a notification that wakes
                op = data.draw(st.sampled_from(ops), label="op")
                if op == m.CANCEL:
                    op = m.Cancel(data.draw(victims, label="victim"))
                elif op == m.SCOPE_CANCEL:
                    op = m.ScopeCancel(data.draw(victims, label="victim"))
                given.append(m.Do(actor, op))
                notifies = (isinstance(op, m.Notify) and op.n > 0) or op == m.NOTIFY_ALL
                if notifies and g.cond_line and idle and data.draw(st.booleans()):
                    # Another task cancels the one notified, after the
                    # notification and before it runs (sync.cond.notified-wins).
                    other = data.draw(st.sampled_from(idle), label="canceller")
                    idle.remove(other)
                    woken = g.cond_line[0]
                    by_scope = data.draw(st.booleans(), label="by its scope")
                    cancel: m.Op = m.ScopeCancel(woken) if by_scope else m.Cancel(woken)
                    given.append(m.Do(other, cancel))
            elif data.draw(st.booleans(), label="by scope"):
                given.append(m.ScopeCancel(data.draw(victims, label="scope of")))
            else:
                victim = data.draw(victims, label="cancel")
                if victim in idle:
                    idle.remove(victim)  # it is queued to see the cancellation
                given.append(m.Cancel(victim))
        for order in given:
            if isinstance(order, m.Do):
                self.idle.pop(order.actor)(order.op)
            else:
                self._cancel(order)
        self._settle()
        self.model = m.settle(m.deliver(self.model, tuple(given)))

    @rule(call=st.sampled_from(["release", "notify", "notify_all", "sem.release"]))
    def from_another_thread(self, call: str) -> None:
        """spec: sync.bind: refused with LoopError, nothing changed."""
        target = {
            "release": self.lock.release,
            "notify": self.cond.notify,
            "notify_all": self.cond.notify_all,
            "sem.release": self.sem.release,
        }[call]
        raised: list[BaseException] = []

        def call_it() -> None:
            try:
                target()
            except BaseException as err:
                raised.append(err)

        thread = threading.Thread(target=call_it)
        thread.start()
        thread.join()
        assert raised and isinstance(raised[0], LoopError), (
            f"{call}() from another thread: {raised or 'returned'}"
        )
        op = {"release": m.RELEASE, "sem.release": m.SEM_RELEASE}.get(call, call)
        self._names(raised[0], op)
        self._settle()

    # ------------------------------------------------------------ checks

    def _tid(self, task: Task[Any] | None) -> int | None:
        return None if task is None else self.tasks.index(task)

    @invariant()
    def agrees_with_the_model(self) -> None:
        if not self.tasks:
            return
        g = self.model
        assert not self.loop.runnable(), "a task is still runnable"
        assert not self.unclear, f"refusals that do not say what: {self.unclear}"
        logs = [list(a.log) for a in g.actors]
        assert self.logs == logs, f"outcomes: real {self.logs}, model {logs}"
        found = {
            "owner": self._tid(self.lock.owner),
            "lock line": tuple(map(self._tid, self.lock.waiting())),
            "condition line": tuple(map(self._tid, self.cond.waiting())),
            "semaphore value": self.sem.value,
            "semaphore line": tuple(map(self._tid, self.sem.waiting())),
            "idle": sorted(self.idle),
        }
        expected = {
            "owner": g.owner,
            "lock line": g.lock_line,
            "condition line": g.cond_line,
            "semaphore value": g.sem_value,
            "semaphore line": g.sem_line,
            "idle": [i for i, a in enumerate(g.actors) if a.where == m.IDLE],
        }
        assert found == expected, f"real {found}, model {expected}"


SLOTS = ("lock_type", "condition_type", "semaphore_type", "bounded_type")


def machine_with(**classes: type[Any]) -> type[ConditionMachine]:
    """The machine with some of its primitives' classes replaced (by a
    broken one, say): `machine_with(condition_type=MyCondition)`."""
    for slot, cls in classes.items():
        if slot not in SLOTS:
            raise ValueError(f"machine_with: no slot {slot!r}; the slots are {SLOTS}")
        base = getattr(ConditionMachine, slot)
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise TypeError(f"machine_with: {slot} needs a subclass of {base.__name__}")
    names = "".join(cls.__name__ for cls in classes.values())
    return type(f"ConditionMachineWith{names}", (ConditionMachine,), dict(classes))
