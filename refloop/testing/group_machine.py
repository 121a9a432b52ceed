"""A real TaskGroup beside the model of one (refloop/model/group.py), as a
Hypothesis stateful test (spec chapter 9: cancel.scope.group,
cancel.scope.group-cancel, cancel.scope.group-spawn).

An owner task enters the group and waits in its block for commands; each
child waits for commands too. A step gives one to three orders from outside
the loop (a command for whoever is idle, a task's `cancel()`, the group's
`cancel()` or `spawn()`), in order, then runs the loop until nothing is
runnable; the model does the same. Or a step gives one order from a loop
callback, or calls the group from another thread (refused with LoopError,
the coroutine closed, nothing changed), or makes a call refused anywhere (a
function for a coroutine, a group not entered). Before a block's end or
failure, a child may fail first, so the block meets the group's cancel as it
leaves. Closing the loop at the end lets no task's code go on.

After every step: the owner's outcomes (what the block and `async with`
raised, by name: an ExceptionGroup by who failed in it), each child's
outcomes and end, which tasks are idle, the group's repr (how many
children, how many run, entered, exiting or exited, cancelled), that no
task is left beyond the owner and the running children, every child named
after its coroutine, and that each refusal names the group and the call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from types import CoroutineType
from typing import Any, ClassVar, cast

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from .._errors import Cancelled, LoopError
from .._loop import Loop
from .._scopes import TaskGroup
from .._suspend import Continuation, suspend
from .._task import Task
from ..model import group as m
from .variant import variant

__all__ = ["Boom", "GroupMachine", "machine_with"]

MAX_CHILDREN = 5
# The block spawns more often than it ends, so that its end finds children.
BLOCK_OPS = [
    *[m.SPAWN] * 3,
    *[m.SPAWN_STUBBORN] * 2,
    m.GROUP_CANCEL,
    m.END,
    m.FAIL,
    m.INTERRUPT,
]
AFTER_OPS = [m.SPAWN, *[m.AGAIN] * 4]
CHILD_OPS = [
    m.FINISH,
    m.FINISH,
    m.FAIL,
    m.FAIL,
    m.GROUP_CANCEL,
    m.OWNER_CANCEL,
    m.INTERRUPT,
    m.SPAWN,
]
SPAWNS = (m.SPAWN, m.SPAWN_STUBBORN)
FAILS = (m.FAIL, m.FAIL, m.INTERRUPT)


class Boom(Exception):
    """A failure of the block ("block") or of a child (its number)."""


def _unreported(task: Task[Any]) -> None:
    """No failure here goes unobserved: the group expects its children's,
    and the owner catches what the group raises."""
    raise AssertionError(f"{task!r} failed unobserved: {task.exception()!r}")


def _idle(g: m.Group) -> list[int]:
    """Who waits for a command in the model's state `g`, the owner first."""
    owner = [m.OWNER] if g.owner.where == m.IDLE else []
    return owner + [i for i, c in enumerate(g.children) if c.where == m.IDLE]


def _named(err: BaseException) -> str:
    return str(err.args[0]) if isinstance(err, Boom) else type(err).__name__


class GroupMachine(RuleBasedStateMachine):
    """The group under test against `refloop.model.group`."""

    group_type: ClassVar[type[TaskGroup]] = TaskGroup

    def __init__(self) -> None:
        super().__init__()
        self.loop = Loop(report=_unreported)
        self.model = m.start()
        self.group = self.group_type()
        self.idle: dict[int, Continuation] = {}
        self.owner_log: list[str] = []
        self.child_logs: list[list[str]] = []
        self.children: list[Task[Any]] = []
        self.outside_log: list[str] = []
        self.past: list[tuple[list[str], str | None]] = []
        # Refusals that do not name the group and the call, misnamed
        # children, refused coroutines left open.
        self.unclear: list[str] = []
        self.owner: Task[Any] | None = None
        # Iterations a KeyboardInterrupt ended (task.finish).
        self.escaped = 0

    @initialize()
    def begin(self) -> None:
        self.owner = self.loop.spawn(self._owner())
        self._settle()

    def teardown(self) -> None:
        logs = (list(self.owner_log), [list(log) for log in self.child_logs])
        self.loop.close()
        # spec: cancel.scope.group, loop.close (closing is no failure: no
        # task's code goes on, nothing is recorded)
        after = (self.owner_log, self.child_logs)
        assert after == logs, f"close() let the tasks go on: {logs} then {after}"

    # ------------------------------------------------------------- tasks

    def _park(self, who: int, k: Continuation) -> None:
        self.idle[who] = k
        k.on_cancel = partial(self.idle.pop, who)

    async def _owner(self) -> None:
        while True:
            await self._block()
            while True:
                try:
                    op = await suspend(partial(self._park, m.OWNER))
                except Cancelled:
                    self.owner_log.append(m.IDLE_CANCELLED)
                    continue
                if op == m.AGAIN:
                    break
                assert op in SPAWNS, f"the owner after its block got {op!r}"
                refused = self._spawn(op == m.SPAWN_STUBBORN)
                self.owner_log.append(m.REFUSED if refused else m.OK)
            # A new group; the old one's children are all done.
            ends = map(self._end, self.children)
            self.past.extend(zip(self.child_logs, ends, strict=True))
            self.child_logs, self.children = [], []
            self.group = self.group_type()

    async def _block(self) -> None:
        log = self.owner_log
        try:
            async with self.group:
                while True:
                    op = await suspend(partial(self._park, m.OWNER))
                    if op == m.END:
                        break
                    if op == m.FAIL:
                        raise Boom("block")
                    if op == m.INTERRUPT:
                        raise KeyboardInterrupt
                    self._do(op)
                    log.append(m.OK)
            log.append(m.OK)
        except BaseExceptionGroup as group:
            log.append("group:" + ",".join(map(_named, group.exceptions)))
        except (Cancelled, Boom, KeyboardInterrupt) as err:
            log.append(type(err).__name__)

    async def _child(self, i: int, stubborn: bool) -> None:
        caught = False
        while True:
            try:
                op = await suspend(partial(self._park, i))
            except Cancelled:
                if stubborn and not caught:
                    caught = True
                    self.child_logs[i].append("caught")
                    continue
                raise
            if op == m.FINISH:
                return
            if op == m.FAIL:
                raise Boom(str(i))
            if op == m.INTERRUPT:
                raise KeyboardInterrupt
            self._do(op)
            self.child_logs[i].append(m.OK)

    def _do(self, op: str) -> None:
        if op == m.GROUP_CANCEL:
            self.group.cancel()
        elif op == m.OWNER_CANCEL:
            assert self.owner is not None
            self.owner.cancel()
        elif op in SPAWNS:
            refused = self._spawn(op == m.SPAWN_STUBBORN)
            assert not refused, "a spawn before the group exited was refused"
        else:
            raise AssertionError(f"unknown command {op!r}")

    def _spawn(self, stubborn: bool) -> bool:
        """`g.spawn` of a new child; whether it was refused."""
        i = len(self.children)
        coro = cast("CoroutineType[Any, Any, None]", self._child(i, stubborn))
        try:
            task = self.group.spawn(coro)
        except LoopError as err:
            self._names(err, "TaskGroup.spawn()", coro)
            if "has exited" not in str(err):
                # spec: cancel.scope.group-spawn (the reason is given)
                self.unclear.append(f"a late spawn refused without why: {err}")
            return True
        self.child_logs.append([])
        self.children.append(task)
        if task.name != coro.__qualname__:
            # spec: cancel.scope.group-spawn
            self.unclear.append(
                f"a child named {task.name!r}, not {coro.__qualname__!r}"
            )
        return False

    def _names(
        self, err: BaseException, call: str, coro: CoroutineType[Any, Any, Any] | None
    ) -> None:
        """A refusal names the group and the call, and closes the coroutine it
        was given (spec: cancel.scope.group-spawn)."""
        text = str(err)
        if "TaskGroup" not in text or call not in text:
            self.unclear.append(f"{call}: {type(err).__name__}({text!r})")
        if coro is not None and coro.cr_frame is not None:
            self.unclear.append(f"{call} refused and left its coroutine open")
            coro.close()

    def _settle(self) -> None:
        for _ in range(1000):
            if not self.loop.runnable():
                return
            self._iterate()
        raise AssertionError("the group did not settle")

    def _iterate(self) -> None:
        """One iteration; a KeyboardInterrupt a task raised ends it and is
        counted (spec: task.finish)."""
        try:
            self.loop.run_once(0)
        except KeyboardInterrupt:
            self.escaped += 1

    # ------------------------------------------------------------- rules

    def _draw_order(self, data: st.DataObject, g: m.Group, commands: bool) -> m.Order:
        """An order for the model's state `g` (after the orders drawn before
        it in the step): a command only for who is idle there."""
        idle = _idle(g)
        room = len(g.children) < MAX_CHILDREN
        after = g.owner.phase == m.AFTER
        kind = data.draw(st.integers(0, 19), label="kind")
        # After the block, mostly a new group: little is left to do there.
        again = after and m.OWNER in idle and 6 <= kind < 17
        if commands and idle and (kind < 12 or again):
            who = m.OWNER if again else data.draw(st.sampled_from(idle), label="who")
            if who != m.OWNER:
                ops = CHILD_OPS if room else CHILD_OPS[:-1]
            elif not after:
                ops = BLOCK_OPS if room else [o for o in BLOCK_OPS if o not in SPAWNS]
            else:
                ops = AFTER_OPS  # a spawn is refused: the block is over
            return m.Do(who, data.draw(st.sampled_from(ops), label="op"))
        running = [i for i, c in enumerate(g.children) if c.where != m.DONE]
        # A cancel: of a running child, or of the owner: always while it
        # waits at the block's end, else rarely but for an empty block.
        exiting = g.owner.phase == m.EXIT
        owner = [m.OWNER] if exiting or kind == 12 or not (after or running) else []
        if kind < 15 and owner + running:
            who = data.draw(st.sampled_from(owner + running), label="cancel")
            return m.CancelTask(who)
        if kind < 17 or not (room or kind == 19):
            return m.GroupCancel()
        return m.Spawn(data.draw(st.booleans(), label="stubborn"))

    def _give(self, order: m.Order) -> None:
        match order:
            case m.Do(who=who, op=op):
                self.idle.pop(who)(op)
            case m.CancelTask(who=who):
                target = self.owner if who == m.OWNER else self.children[who]
                assert target is not None
                target.cancel()
            case m.GroupCancel():
                self.group.cancel()
            case m.Spawn(stubborn=stubborn):
                refused = self._spawn(stubborn)
                self.outside_log.append(m.REFUSED if refused else m.OK)

    @rule(data=st.data())
    def orders(self, data: st.DataObject) -> None:
        """One to three orders from outside the loop, then the loop runs."""
        given: list[m.Order] = []
        for _ in range(data.draw(st.integers(1, 3), label="orders")):
            sim = m.deliver(self.model, tuple(given))
            order = self._draw_order(data, sim, commands=True)
            children = [i for i in _idle(sim) if i != m.OWNER]
            match order:
                case m.Do(who=m.OWNER, op=m.END | m.FAIL | m.INTERRUPT) if children:
                    # A child's failure queued before the block's end: the
                    # block meets the group's cancel as it leaves.
                    if data.draw(st.booleans(), label="a child fails first"):
                        failing = data.draw(st.sampled_from(children), label="first")
                        how = data.draw(st.sampled_from(FAILS), label="how")
                        given.append(m.Do(failing, how))
                        sim = m.deliver(self.model, tuple(given))
            given.append(order)
            if isinstance(order, m.Do) and order.op in FAILS:
                # Failures that meet: another child fails before the group's
                # cancellation reaches it.
                others = [i for i in _idle(sim) if i not in (m.OWNER, order.who)]
                meet = bool(others) and data.draw(st.booleans(), label="fails too")
                if meet:
                    partner = data.draw(st.sampled_from(others), label="partner")
                    how = data.draw(st.sampled_from(FAILS), label="how")
                    given.append(m.Do(partner, how))
        for order in given:
            self._give(order)
        self._settle()
        self.model = m.settle(m.deliver(self.model, tuple(given)))

    @rule(data=st.data())
    def from_a_callback(self, data: st.DataObject) -> None:
        """spec: cancel.scope.group-spawn, cancel.scope.group-cancel: a loop
        callback may cancel the group or a task, or spawn into the group."""
        order = self._draw_order(data, self.model, commands=False)
        ran: list[bool] = []

        def callback() -> None:
            self._give(order)
            ran.append(True)

        # spec: idle (run in an iteration with nothing runnable)
        self.loop.call_when_idle(callback)
        self._iterate()
        assert ran, "the idle call did not run"
        self._settle()
        self.model = m.settle(m.deliver(self.model, (order,)))

    @rule(call=st.sampled_from(["cancel", "spawn"]))
    def from_another_thread(self, call: str) -> None:
        """spec: cancel.scope.group-cancel, cancel.scope.group-spawn,
        thread.refused-unchanged: refused with LoopError, nothing changed."""
        before = repr(self.group)
        coro = cast(
            "CoroutineType[Any, Any, None]", self._child(len(self.children), False)
        )
        raised: list[BaseException] = []

        def call_it() -> None:
            try:
                if call == "cancel":
                    self.group.cancel()
                else:
                    self.group.spawn(coro)
            except BaseException as err:
                raised.append(err)

        thread = threading.Thread(target=call_it)
        thread.start()
        thread.join()
        if call == "cancel":
            coro.close()
        assert raised and isinstance(raised[0], LoopError), (
            f"{call}() from another thread: {raised or 'returned'}"
        )
        self._names(
            raised[0], "TaskGroup.spawn()" if call == "spawn" else ".cancel()", coro
        )
        assert repr(self.group) == before, (
            f"{call}() from another thread changed the group"
        )
        self._settle()

    @contextmanager
    def _raises(self, kind: type[BaseException], says: str) -> Iterator[None]:
        """The call in the block is refused with `kind`, saying `says`."""
        try:
            yield
        except kind as err:
            if says not in str(err):
                self.unclear.append(f"{type(err).__name__}({str(err)!r})")
        else:
            self.unclear.append(f"not refused, expected {kind.__name__}: {says}")

    @rule(call=st.sampled_from(["function", "spawn", "cancel"]))
    def refused_calls(self, call: str) -> None:
        """spec: cancel.scope.group-spawn: a function instead of a coroutine,
        or a group not entered, is refused at the call and nothing changes."""
        before = (repr(self.group), len(self.loop.tasks()))
        if call == "function":
            with self._raises(TypeError, "needs a coroutine object, got <bound"):
                self.group.spawn(self._child)  # type: ignore[arg-type]
        else:
            fresh = self.group_type()
            with self._raises(LoopError, "needs `async with TaskGroup() as g:`"):
                if call == "cancel":
                    fresh.cancel()
                else:
                    coro = cast("CoroutineType[Any, Any, None]", self._child(0, False))
                    try:
                        fresh.spawn(coro)
                    finally:
                        if coro.cr_frame is not None:
                            self.unclear.append(
                                "a refused spawn left its coroutine open"
                            )
                            coro.close()
            if repr(fresh) != "<refloop.TaskGroup children=0 running=0 not entered>":
                self.unclear.append(f"a refused {call} changed the group: {fresh!r}")
        after = (repr(self.group), len(self.loop.tasks()))
        assert after == before, f"a refused call changed: {before} -> {after}"

    # ------------------------------------------------------------ checks

    def _predicted_repr(self) -> str:
        g = self.model
        running = sum(c.where != m.DONE for c in g.children)
        state = " exited" if g.exited else " exiting" if g.exiting else ""
        flags = " cancelled" if g.cancel_called else ""
        n = len(g.children)
        return f"<refloop.TaskGroup children={n} running={running}{state}{flags}>"

    @staticmethod
    def _end(task: Task[Any]) -> str | None:
        if not task.done():
            return None
        if task.cancelled():
            return m.CANCELLED
        err = task.exception()
        if isinstance(err, KeyboardInterrupt):
            return m.INTERRUPTED
        return m.OK if err is None else m.BOOM if isinstance(err, Boom) else repr(err)

    @invariant()
    def agrees_with_the_model(self) -> None:
        if self.owner is None:
            return
        g = self.model
        assert not self.loop.runnable(), "a task is still runnable"
        assert not self.unclear, (
            f"refusals and names that do not say what: {self.unclear}"
        )
        found = {
            "owner": self.owner_log,
            "children": self.child_logs,
            "ends": [self._end(t) for t in self.children],
            "outside": self.outside_log,
            "past": [(tuple(log), end) for log, end in self.past],
            "idle": sorted(self.idle),
            "group": repr(self.group),
            "tasks": len(self.loop.tasks()),
            "escaped": self.escaped,
        }
        expected = {
            "owner": list(g.owner.log),
            "children": [list(c.log) for c in g.children],
            "ends": [c.outcome for c in g.children],
            "outside": list(g.outside_log),
            "past": list(g.past),
            "idle": _idle(g),
            "group": self._predicted_repr(),
            # spec: cancel.scope.group (nothing left behind)
            "tasks": 1 + sum(c.where != m.DONE for c in g.children),
            # spec: task.finish, cancel.scope.group-interrupt
            "escaped": g.escaped,
        }
        diff = {k: (found[k], expected[k]) for k in found if found[k] != expected[k]}
        assert not diff, f"real, model: {diff}"


def machine_with(group_type: type[TaskGroup]) -> type[GroupMachine]:
    """The machine with its TaskGroup class replaced (by a broken one, say)."""
    return variant(GroupMachine, "group_type", group_type, TaskGroup)
