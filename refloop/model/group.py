"""One TaskGroup: its owner's block and its children, cancelled from inside
and from outside (spec/09-cancel.md: cancel.scope.group,
cancel.scope.group-cancel, cancel.scope.group-spawn, cancel.merge,
cancel.runnable, cancel.waiting).

The owner is a task that enters the group, then waits, in the block, for a
command: spawn a child (plain, or one that catches its first Cancelled and
goes on), cancel the group, end the block, fail it, or raise
KeyboardInterrupt in it. Each child waits for a command too: finish, fail,
raise KeyboardInterrupt, cancel the group, cancel the owner, or spawn a
sibling. Orders come from outside the loop between iterations (a command
for whoever is idle, a task's `cancel()`, the group's `cancel()` or
`spawn()`); the loop then runs its queue to its end (`settle`). The model
keeps the run queue, so what happens between a wake and a run (a child
fails, another cancel comes) is predicted.

Rules this module keeps:

1. The state is pure data (`Group`), and every function returns a new one.
2. A task cancelled while it waits resumes with Cancelled, queued at the
   run queue's back; one cancelled while runnable keeps a pending request
   for its next suspension (cancel.waiting, cancel.runnable). For the
   owner a request is the task's (`TASK`, the widest) or the group's
   (`GROUP`); of two pending, the wider is kept (cancel.merge), and the
   group's exit drops a pending request of its own. For a child every
   request unwinds the whole task: a flag.
3. The owner's exit waits for the children in the order they were spawned,
   one `join` at a time (cancel.scope.group); the outcome is computed when
   none is left.
4. A KeyboardInterrupt is a failure; the group keeps the first, and its exit
   raises it alone (cancel.scope.group-interrupt). One a child raises ends
   the loop's iteration (task.finish), counted in `escaped`: the order in
   which the queue runs is the same, the next iteration goes on with it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

__all__ = [
    "AGAIN",
    "BOOM",
    "CANCELLED",
    "END",
    "FAIL",
    "FINISH",
    "GROUP",
    "GROUP_CANCEL",
    "IDLE_CANCELLED",
    "INTERRUPT",
    "INTERRUPTED",
    "OK",
    "OWNER",
    "OWNER_CANCEL",
    "REFUSED",
    "SPAWN",
    "SPAWN_STUBBORN",
    "TASK",
    "CancelTask",
    "Child",
    "Do",
    "Group",
    "GroupCancel",
    "Owner",
    "Spawn",
    "deliver",
    "outcome_of_failures",
    "settle",
    "start",
]

OWNER: Final = -1  # the owner's place in the run queue; children are 0, 1, ...
OK: Final = "ok"
BOOM: Final = "Boom"
CANCELLED: Final = "Cancelled"
REFUSED: Final = "LoopError"
IDLE_CANCELLED: Final = "idle-cancelled"
INTERRUPTED: Final = "KeyboardInterrupt"

# Commands. The owner's, in its block: SPAWN, SPAWN_STUBBORN, GROUP_CANCEL,
# END, FAIL, INTERRUPT; after the block: SPAWN (refused) or AGAIN (enter a
# new group). A child's: FINISH, FAIL, INTERRUPT, GROUP_CANCEL, OWNER_CANCEL,
# SPAWN.
AGAIN: Final = "again"
SPAWN: Final = "spawn"
SPAWN_STUBBORN: Final = "spawn_stubborn"
GROUP_CANCEL: Final = "group_cancel"
OWNER_CANCEL: Final = "owner_cancel"
END: Final = "end"
FAIL: Final = "fail"
FINISH: Final = "finish"
INTERRUPT: Final = "interrupt"  # raise KeyboardInterrupt

# Who a request of the owner comes from.
TASK: Final = "task"
GROUP: Final = "group"

# Where a task is.
IDLE: Final = "idle"  # waits for a command
RUNNABLE: Final = "runnable"
JOINING: Final = "joining"  # the owner, at the block's end
DONE: Final = "done"  # a child that finished

# The owner's phase.
BLOCK: Final = "block"
EXIT: Final = "exit"
AFTER: Final = "after"


@dataclass(frozen=True, slots=True)
class Owner:
    phase: str = BLOCK
    where: str = IDLE
    step: str = ""  # when runnable: "op", "thrown", "joined"
    op: str = ""
    pending: str | None = None  # TASK or GROUP, for its next suspension
    thrown: str | None = None  # what it resumes with, cancelled waiting
    joining: int | None = None
    log: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Child:
    stubborn: bool = False
    caught: bool = False  # a stubborn child caught its one Cancelled
    where: str = RUNNABLE
    step: str = "start"  # when runnable: "start", "op", "thrown"
    op: str = ""
    pending: bool = False
    outcome: str | None = None  # OK, BOOM, INTERRUPTED, CANCELLED once done
    log: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Group:
    owner: Owner
    children: tuple[Child, ...] = ()
    cancel_called: bool = False
    exiting: bool = False
    exited: bool = False
    # What the block's end was given: None, BOOM, INTERRUPTED, or
    # CANCELLED + TASK/GROUP.
    block_exc: str | None = None
    # Who raised the first KeyboardInterrupt: a child's number, or "block".
    interrupt: str | None = None
    # Failed children, in the order they failed; the owner's Cancelled from
    # outside while it waited counts how many there were.
    failures: tuple[int, ...] = ()
    outer: int = 0
    run_queue: tuple[int, ...] = ()
    outside_log: tuple[str, ...] = ()
    # The children of the groups before this one: each one's log and end.
    past: tuple[tuple[tuple[str, ...], str | None], ...] = ()
    # Iterations a child's KeyboardInterrupt ended, in every group so far.
    escaped: int = 0


def start() -> Group:
    """The owner has entered the group and waits in its block."""
    return Group(owner=Owner())


@dataclass(frozen=True, slots=True)
class Do:
    """Give idle `who` (OWNER or a child) the command `op`."""

    who: int
    op: str


@dataclass(frozen=True, slots=True)
class CancelTask:
    """`task.cancel()` of the owner (OWNER) or of a child."""

    who: int


@dataclass(frozen=True, slots=True)
class GroupCancel:
    """`g.cancel()` from outside the tasks."""


@dataclass(frozen=True, slots=True)
class Spawn:
    """`g.spawn(child)` from outside the tasks."""

    stubborn: bool = False


Order = Do | CancelTask | GroupCancel | Spawn


def deliver(g: Group, orders: tuple[Order, ...]) -> Group:
    """Each order in turn, between iterations; nothing runs until `settle`."""
    for order in orders:
        match order:
            case Do(who=who, op=op):
                g = _command(g, who, op)
            case CancelTask(who=who) if who == OWNER:
                g = _cancel_owner(g, TASK)
            case CancelTask(who=who):
                g = _cancel_child(g, who)
            case GroupCancel():
                g = group_cancel(g)
            case Spawn(stubborn=stubborn):
                g, refused = spawn(g, stubborn)
                g = replace(g, outside_log=(*g.outside_log, REFUSED if refused else OK))
    return g


def _command(g: Group, who: int, op: str) -> Group:
    q = (*g.run_queue, who)
    if who == OWNER:
        assert g.owner.where == IDLE, f"the owner is busy: {g.owner}"
        return replace(
            g, owner=replace(g.owner, where=RUNNABLE, step="op", op=op), run_queue=q
        )
    c = g.children[who]
    assert c.where == IDLE, f"child {who} is busy: {c}"
    return replace(
        _put(g, who, replace(c, where=RUNNABLE, step="op", op=op)), run_queue=q
    )


def group_cancel(g: Group) -> Group:
    """`g.cancel()`: every child and, unless it is at its end, the block
    (spec: cancel.scope.group-cancel); once, and nothing after the exit.

    pre: all(c.where in (IDLE, RUNNABLE, DONE) for c in g.children)
    pre: g.owner.where in (IDLE, RUNNABLE, JOINING)
    post: __return__.cancel_called == (g.cancel_called or not g.exited)
    post: g.exited or g.cancel_called or not _idle_children(__return__)
    post: len(__return__.children) == len(g.children)
    """
    if g.exited or g.cancel_called:
        return g
    g = replace(g, cancel_called=True)
    g = _cancel_children(g)
    return g if g.exiting else _cancel_owner(g, GROUP)


def spawn(g: Group, stubborn: bool) -> tuple[Group, bool]:
    """`g.spawn(child)`: a new child queued at the back (cancelled at once
    if the group was); refused after the exit (spec: cancel.scope.group-spawn).

    post: __return__[1] == g.exited
    post: len(__return__[0].children) == len(g.children) + (not g.exited)
    post: g.exited or __return__[0].run_queue[-1] == len(g.children)
    post: g.exited or __return__[0].children[-1].pending == g.cancel_called
    """
    if g.exited:
        return g, True
    i = len(g.children)
    g = replace(
        g, children=(*g.children, Child(stubborn=stubborn)), run_queue=(*g.run_queue, i)
    )
    if g.cancel_called:
        # spec: cancel.scope.group-cancel
        g = _cancel_child(g, i)
    return g, False


def _idle_children(g: Group) -> list[int]:
    return [i for i, c in enumerate(g.children) if c.where == IDLE]


def _cancel_children(g: Group) -> Group:
    for i in range(len(g.children)):
        g = _cancel_child(g, i)
    return g


def _cancel_child(g: Group, i: int) -> Group:
    c = g.children[i]
    if c.where == DONE:
        # spec: cancel.finished
        return g
    if c.where == RUNNABLE:
        # spec: cancel.runnable
        return _put(g, i, replace(c, pending=True))
    # spec: cancel.waiting
    c = replace(c, where=RUNNABLE, step="thrown")
    return replace(_put(g, i, c), run_queue=(*g.run_queue, i))


def _cancel_owner(g: Group, by: str) -> Group:
    o = g.owner
    if o.where == RUNNABLE:
        if o.pending == TASK:
            return g  # spec: cancel.merge (the task's is the widest)
        # spec: cancel.runnable
        return replace(g, owner=replace(o, pending=by))
    # spec: cancel.waiting
    o = replace(o, where=RUNNABLE, step="thrown", thrown=by, joining=None)
    return replace(g, owner=o, run_queue=(*g.run_queue, OWNER))


def settle(g: Group, limit: int = 10_000) -> Group:
    """Run the queue until nothing is runnable, oldest first."""
    for _ in range(limit):
        if not g.run_queue:
            return g
        who, rest = g.run_queue[0], g.run_queue[1:]
        g = replace(g, run_queue=rest)
        g = _run_owner(g) if who == OWNER else _run_child(g, who)
    raise AssertionError("the group did not settle")


# ----------------------------------------------------------------- children


def _run_child(g: Group, i: int) -> Group:
    c = g.children[i]
    match c.step:
        case "start":
            return _child_park(g, i)
        case "thrown":
            return _child_cancelled(g, i)
        case "op":
            return _child_op(g, i, c.op)
    raise AssertionError(f"unknown step {c.step!r}")


def _child_op(g: Group, i: int, op: str) -> Group:
    if op == FINISH:
        return _child_done(g, i, OK)
    if op in (FAIL, INTERRUPT):
        # spec: cancel.scope.group (the other children and the block)
        g = replace(g, failures=(*g.failures, i))
        g = _cancel_children(g)
        if not g.exiting:
            g = _cancel_owner(g, GROUP)
        if op == FAIL:
            return _child_done(g, i, BOOM)
        # spec: cancel.scope.group-interrupt, task.finish (ends the iteration)
        g = replace(g, interrupt=g.interrupt or str(i), escaped=g.escaped + 1)
        return _child_done(g, i, INTERRUPTED)
    if op == GROUP_CANCEL:
        g = group_cancel(g)
    elif op == OWNER_CANCEL:
        g = _cancel_owner(g, TASK)
    elif op == SPAWN:
        g, refused = spawn(g, False)
        assert not refused, "a child runs only before the group exits"
    else:
        raise AssertionError(f"unknown command {op!r}")
    return _child_park(_child_logged(g, i, OK), i)


def _child_park(g: Group, i: int) -> Group:
    """The child waits for a command; a pending request is raised there."""
    c = g.children[i]
    if c.pending:
        return _child_cancelled(_put(g, i, replace(c, pending=False)), i)
    return _put(g, i, replace(c, where=IDLE, step="", op=""))


def _child_cancelled(g: Group, i: int) -> Group:
    """Cancelled at its wait: a stubborn child catches the first and waits
    again; otherwise it ends cancelled."""
    c = g.children[i]
    if c.stubborn and not c.caught:
        c = replace(c, caught=True, log=(*c.log, "caught"))
        return _child_park(_put(g, i, c), i)
    return _child_done(g, i, CANCELLED)


def _child_done(g: Group, i: int, outcome: str) -> Group:
    c = replace(
        g.children[i], where=DONE, step="", op="", pending=False, outcome=outcome
    )
    g = _put(g, i, c)
    o = g.owner
    if o.where == JOINING and o.joining == i:
        # spec: task.join (the joiner is queued)
        o = replace(o, where=RUNNABLE, step="joined", joining=None)
        g = replace(g, owner=o, run_queue=(*g.run_queue, OWNER))
    return g


def _child_logged(g: Group, i: int, entry: str) -> Group:
    c = g.children[i]
    return _put(g, i, replace(c, log=(*c.log, entry)))


def _put(g: Group, i: int, c: Child) -> Group:
    return replace(g, children=(*g.children[:i], c, *g.children[i + 1 :]))


# -------------------------------------------------------------------- owner


def _run_owner(g: Group) -> Group:
    o = g.owner
    if o.phase == AFTER:
        return _owner_after(g)
    if o.phase == BLOCK:
        if o.step == "thrown":
            thrown = o.thrown
            g = replace(g, owner=replace(o, thrown=None))
            return _block_ends(g, f"{CANCELLED}:{thrown}")
        return _owner_op(g, o.op)
    # At the block's end.
    if o.step == "thrown":
        thrown = o.thrown
        g = replace(g, owner=replace(o, thrown=None))
        return _join_cancelled(g, thrown)
    return _join_next(g)


def _owner_op(g: Group, op: str) -> Group:
    if op == END:
        return _block_ends(g, None)
    if op == FAIL:
        return _block_ends(g, BOOM)
    if op == INTERRUPT:
        # spec: cancel.scope.group-interrupt
        g = replace(g, interrupt=g.interrupt or "block")
        return _block_ends(g, INTERRUPTED)
    if op in (SPAWN, SPAWN_STUBBORN):
        g, refused = spawn(g, op == SPAWN_STUBBORN)
        assert not refused, "the block runs only before the group exits"
    elif op == GROUP_CANCEL:
        g = group_cancel(g)
    else:
        raise AssertionError(f"unknown command {op!r}")
    return _block_waits(_owner_logged(g, OK))


def _block_waits(g: Group) -> Group:
    """The block waits for a command; a pending request is raised there."""
    o = g.owner
    if o.pending is not None:
        # spec: cancel.runnable (raised at the block's next wait)
        by = o.pending
        g = replace(g, owner=replace(o, pending=None))
        return _block_ends(g, f"{CANCELLED}:{by}")
    return replace(g, owner=replace(o, where=IDLE, step="", op=""))


def _again(g: Group) -> Group:
    """The owner enters a new group (its children so far are all done)."""
    past = tuple((c.log, c.outcome) for c in g.children)
    o = replace(g.owner, phase=BLOCK, step="", op="")
    new = Group(
        owner=o, past=(*g.past, *past), outside_log=g.outside_log, escaped=g.escaped
    )
    return _block_waits(replace(new, run_queue=g.run_queue))


def _block_ends(g: Group, exc: str | None) -> Group:
    """`__aexit__`: the children are cancelled unless the block ended
    normally or by the group's own cancel; then it waits for them."""
    g = replace(g, exiting=True, block_exc=exc, owner=replace(g.owner, phase=EXIT))
    if exc is not None and exc != f"{CANCELLED}:{GROUP}":
        g = _cancel_children(g)
    return _join_next(g)


def _join_next(g: Group) -> Group:
    """Wait for the first child not done, or leave the group."""
    left = [i for i, c in enumerate(g.children) if c.where != DONE]
    if not left:
        return _exit(g)
    o = g.owner
    if o.pending is not None:
        # spec: cancel.runnable (raised at the join)
        by = o.pending
        g = replace(g, owner=replace(o, pending=None))
        return _join_cancelled(g, by)
    o = replace(o, where=JOINING, step="", joining=left[0])
    return replace(g, owner=o)


def _join_cancelled(g: Group, by: str | None) -> Group:
    """The wait was cancelled: the group's own keeps it waiting; one from
    outside is passed on to the children and raised at the end (spec:
    cancel.scope.group)."""
    if by == TASK:
        g = _cancel_children(g)
        g = replace(g, outer=g.outer + 1)
    return _join_next(g)


def _exit(g: Group) -> Group:
    o = g.owner
    if o.pending == GROUP:
        o = replace(o, pending=None)  # spec: cancel.merge (the scope closes)
    o = replace(o, phase=AFTER, step="", thrown=None, joining=None)
    g = replace(g, exited=True, owner=o)
    g = _owner_logged(g, outcome_of_failures(g))
    return _owner_after(g)


def outcome_of_failures(g: Group) -> str:
    """What `async with` raises, by name: "group:" and the failures (the
    children's by number, the block's as "block"), INTERRUPTED, CANCELLED,
    BOOM or OK."""
    if g.interrupt is not None:
        # spec: cancel.scope.group-interrupt (alone, whatever else failed)
        return INTERRUPTED
    failures = [str(i) for i in g.failures]
    if failures and g.block_exc == BOOM:
        # spec: cancel.scope.group (the block's comes last)
        failures.append("block")
    if failures:
        return "group:" + ",".join(failures)
    if g.outer:
        return CANCELLED
    if g.block_exc == f"{CANCELLED}:{TASK}":
        return CANCELLED
    if g.block_exc == BOOM:
        return BOOM
    return OK


def _owner_after(g: Group) -> Group:
    """After the block the owner waits for commands; a cancellation is
    logged there (a pending one first)."""
    o = g.owner
    if o.step == "thrown":
        o = replace(o, thrown=None, log=(*o.log, IDLE_CANCELLED))
    if o.step == "op" and o.op == AGAIN:
        return _again(g)
    if o.step == "op":
        # spec: cancel.scope.group-spawn (refused after the exit)
        o = replace(o, log=(*o.log, REFUSED))
    if o.pending is not None:
        o = replace(o, pending=None, log=(*o.log, IDLE_CANCELLED))
    return replace(g, owner=replace(o, where=IDLE, step="", op=""))


def _owner_logged(g: Group, entry: str) -> Group:
    return replace(g, owner=replace(g.owner, log=(*g.owner.log, entry)))
