"""The search's memory: model states and process states numbered once, and
every move worked out once, as numbers.

A world (refloop.check.systems.system.World) is coded as one int: the number of its
model state, its phase, and the number of each environment process's own
state, each in a 32-bit field (`WIDTH`). Everything the search asks of a
world is a function of a few of those fields, so it is worked out once per
distinct value of them and remembered:

- the loop's step, by (state, phase), as the difference it makes to the
  code (so the next world is `code + delta`);
- process i's moves, by (state, process i's own state), likewise as
  differences; its moves themselves by its `view` (refloop.check.systems.process,
  rule 3), and a move's model state by (state, actions);
- the invariants and liveness predicates, by state (they read nothing
  else), when the state is first numbered;
- a process's facets, by its own state.

Model states are compared without their tasks' numbers and programs, which
never change (hashing programs, tuples of dataclasses, is slow); a state is
hashed in full once, when it is numbered.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from ...model import (
    INVARIANTS,
    STATE_KEY,
    TASK_FIXED,
    TASK_KEY,
    Action,
    State,
    Task,
    step,
)
from ..systems.env import Facet
from ..systems.policy import Policy
from ..systems.system import READY_WAKES, System, World
from .instances import ended, exits_of, predicates
from .plans import ALL, Decisions, LoopStep, Plan
from .reduce import touches, waited

__all__ = ["MASK", "PHASED", "WIDTH", "Tables", "state_key"]

WIDTH = 32
MASK = (1 << WIDTH) - 1
# The fields of a code that say its model state and phase.
PHASED = MASK | MASK << WIDTH

# A state's key: each task's TASK_KEY fields, and the state's STATE_KEY
# fields (refloop.model.state names them next to the fields), taken as
# slices, which is what numbering a state costs most. The slices are the
# named fields, or this module does not load.
_TASK_KEY = slice(len(TASK_FIXED), None)
_STATE_KEY = slice(1, None)
if Task._fields[len(TASK_FIXED) :] != TASK_KEY or State._fields[1:] != STATE_KEY:
    raise ImportError("Task or State changed: update TASK_KEY and STATE_KEY")


def state_key(s: State) -> Hashable:
    """What tells `s` apart from the other states of one search: all but
    its tasks' numbers and programs, which never change (hashing programs,
    tuples of dataclasses, is slow)."""
    return (tuple([t[_TASK_KEY] for t in s.tasks]), s[_STATE_KEY])


class Tables:
    """The numbers and remembered moves of one search (see above)."""

    def __init__(
        self,
        system: System,
        policy: Policy,
        post: Callable[[State], State],
        macro: bool,
    ) -> None:
        self.system = system
        self.policy = policy
        self.post = post
        self.macro = macro
        self.wakes = READY_WAKES in system.liveness
        self.procs = system.env
        self.fair = [i for i, p in enumerate(system.env) if p.fair]
        self._pmask = predicates(system)
        self._always = [(p.id, p.holds) for p in system.always]
        # Per model state number.
        self.states: list[State] = []
        self.rules: list[list[str]] = []
        self.pmasks: list[int] = []
        self.done: list[bool] = []
        self._numbers: dict[Hashable, int] = {}
        # Per process: its own states, and their facets.
        self.locals: list[list[Hashable]] = [[] for _ in system.env]
        self._lnumbers: list[dict[Hashable, int]] = [{} for _ in system.env]
        # Each process state's facet set, by its number in decisions.
        self.decisions = Decisions()
        self._facet: list[list[int]] = [[] for _ in system.env]
        self._facet_fields = [
            (facet, WIDTH * (i + 2)) for i, facet in enumerate(self._facet)
        ]
        # Remembered moves.
        self.steps: dict[int, LoopStep] = {}
        # Per model state, per process: own state number -> moves.
        self.succs: list[list[dict[int, tuple[int, ...]]]] = []
        self.shifts = [WIDTH * (i + 2) for i in range(len(self.procs))]
        self._choices: dict[tuple[int, Hashable], tuple[tuple[int, int], ...]] = {}
        self._actions: list[tuple[Action, ...]] = []
        self._anumbers: dict[tuple[Action, ...], int] = {}
        self._applied: dict[int, int] = {}
        self._plans: dict[int, Plan] = {}
        self._waited: dict[int, frozenset[Facet]] = {}

    # ------------------------------------------------------------ numbers

    def number(self, s: State) -> int:
        """The number of a model state; a new one is judged at once."""
        k = state_key(s)
        found = self._numbers.get(k)
        if found is None:
            found = self._numbers[k] = len(self.states)
            assert found <= MASK, "too many states to number"
            self.states.append(s)
            # spec: prop.invariants
            self.rules.append([r for r, holds in INVARIANTS.items() if not holds(s)])
            self.pmasks.append(self._pmask(s))
            self.done.append(ended(s))
            self.succs.append([{} for _ in self.procs])
        return found

    def local(self, i: int, me: Hashable) -> int:
        """The number of process i's own state `me`."""
        numbers = self._lnumbers[i]
        found = numbers.get(me)
        if found is None:
            found = numbers[me] = len(self.locals[i])
            assert found <= MASK, "too many process states to number"
            self.locals[i].append(me)
            facets = self.procs[i].facets(me)
            self._facet[i].append(self.decisions.number(facets))
        return found

    def code(self, w: World) -> int:
        code = self.number(w.state) | w.phase << WIDTH
        for i, me in enumerate(w.env):
            code |= self.local(i, me) << (WIDTH * (i + 2))
        return code

    def world(self, code: int) -> World:
        env = tuple(
            self.locals[i][code >> (WIDTH * (i + 2)) & MASK]
            for i in range(len(self.procs))
        )
        return World(self.states[code & MASK], code >> WIDTH & MASK, env)

    # ------------------------------------------------------------ judgements

    def broken(self, code: int) -> list[str]:
        """The invariants and `always` properties the world breaks."""
        rules = self.rules[code & MASK]
        if self._always:
            w = self.world(code)
            # spec: prop.system
            return rules + [r for r, holds in self._always if not holds(w)]
        return rules

    def enabled(self, code: int) -> int:
        """Fair processes enabled in the world, as bits (the loop always is)."""
        mask = 1
        for i in self.fair:
            if self.succ(i, code):
                mask |= 1 << (i + 1)
        return mask

    # ------------------------------------------------------------ moves

    def loop(self, code: int) -> LoopStep:
        """The loop's step from the world."""
        low = code & PHASED
        found = self.steps.get(low)
        if found is None:
            before = self.states[code & MASK]
            s, phase, events = self.policy.step(before, low >> WIDTH)
            touch = touches(before, s, events) if self.macro else None
            if touch is not None:
                touch = self.decisions.same(touch)
            after = self.number(self.post(s)) | phase << WIDTH
            exits, ran = exits_of(events)
            found = self.steps[low] = LoopStep(after - low, events, exits, ran, touch)
        return found

    def succ(self, i: int, code: int) -> tuple[int, ...]:
        """What each move of process i adds to the code, in choice order."""
        shift = WIDTH * (i + 2)
        sid = code & MASK
        lid = code >> shift & MASK
        table = self.succs[sid][i]
        found = table.get(lid)
        if found is None:
            deltas = []
            for aid, after in self.choices(i, sid, lid):
                sid2 = self._applied.get(sid | aid << WIDTH)
                if sid2 is None:
                    sid2 = self.applied(sid, aid)
                deltas.append(sid2 - sid + ((after - lid) << shift))
            found = table[lid] = tuple(deltas)
        return found

    def choices(self, i: int, sid: int, lid: int) -> tuple[tuple[int, int], ...]:
        """Process i's moves, as (actions number, own state number after),
        remembered by its view."""
        proc = self.procs[i]
        s, me = self.states[sid], self.locals[i][lid]
        k = (i, proc.view(s, me))
        found = self._choices.get(k)
        if found is None:
            found = self._choices[k] = tuple(
                [
                    (self._action(m.actions), self.local(i, m.after))
                    for m in proc.moves(s, me)
                ]
            )
        return found

    def _action(self, actions: tuple[Action, ...]) -> int:
        found = self._anumbers.get(actions)
        if found is None:
            found = self._anumbers[actions] = len(self._actions)
            self._actions.append(actions)
        return found

    def applied(self, sid: int, aid: int) -> int:
        """The number of the state actions number aid lead to from state sid."""
        k = sid | aid << WIDTH
        found = self._applied.get(k)
        if found is None:
            s = self.states[sid]
            for action in self._actions[aid]:
                s, _ = step(s, action)
            found = self._applied[k] = self.number(self.post(s))
        return found

    # spec: prop.reduce.macro
    def plan(self, code: int, step: LoopStep) -> Plan:
        """See Plan. It reads the step, the waiters and each process's
        facets: remembered per world (see also Decisions)."""
        if step.touch is None:
            return ALL
        found = self._plans.get(code)
        if found is None:
            sid = code & MASK
            wait = self._waited.get(sid)
            if wait is None:
                wait = waited(self.states[sid]) if self.wakes else frozenset()
                wait = self._waited[sid] = self.decisions.same(wait)
            facets = tuple(
                [facet[code >> shift & MASK] for facet, shift in self._facet_fields]
            )
            found = self.decisions.plan(step, wait, facets)
            self._plans[code] = found
        return found
