"""Mutation testing of refloop's core with mutmut (docs/mutation.md).

    python tools/mutation.py run _ops [_sync ...]  # mutmut on those modules,
                                        # each in its own scratch tree, with
                                        # its test selection (SELECTIONS)
    python tools/mutation.py stateful [MODULE ...]  # re-run each checked
                                        # mutant against tests/test_stateful.py
                                        # alone
    python tools/mutation.py recheck [MODULE ...]   # survivors against the
                                        # tests added since (RECHECK_TESTS)
    python tools/mutation.py rest MODULE  # what a stopped run left, against
                                        # the selection less the stateful test
    python tools/mutation.py report     # the two figures, per module
    python tools/mutation.py sample     # CI: a fixed sample, in a scratch copy
    python tools/mutation.py alone [N]  # the stateful test alone against N
                                        # mutants drawn from the whole core
    python tools/mutation.py focus _serve serve_tcp _Server.accept_loop
                                        # the stateful test alone against
                                        # every mutant of those functions,
                                        # in a fresh copy of the work tree

`run MODULE` copies the tree (git's files, as they are in the work tree) to
.mutation/MODULE/ and runs `mutmut run --max-children 1` there with a
[tool.mutmut] that mutates refloop/MODULE.py only and selects the tests of
SELECTIONS[MODULE] (the module's own subjects and the stateful test): a
module takes minutes, where the whole suite's selection for every mutant
takes hours. The older whole-core run (`mutmut run` in the root, with
pyproject's selection) writes mutants/; both are read by `report`.

`mutmut run` mutates `refloop/_*.py` into mutants/ and records, per mutant,
the exit code of the suite selected in pyproject's [tool.mutmut]. `stateful`
runs the stateful test alone on every mutant that mutmut checked (forked from
one process that has imported the mutated tree, like mutmut's own workers)
and keeps its exit codes in mutants/stateful.json. `report` counts both,
leaving out the mutants EQUIVALENT names (no test can tell them from the
original; docs/mutation.md says why for each).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
SCRATCH = ROOT / ".mutation"  # one tree per module run (git-ignored)
STATEFUL_TESTS = ["tests/test_stateful.py"]
# The stateful test without its core pass (TestCoreAgainstModel): the figure
# before refloop/testing/core_machine.py, on the same mutants.
STATEFUL_BEFORE = ["tests/test_stateful.py", "-k", "not TestCoreAgainstModel"]
# How many mutants of a module `stateful` runs at most (the first of a fixed
# shuffle; 0: all), from MUTATION_SAMPLE.
SAMPLE_SIZE = int(os.environ.get("MUTATION_SAMPLE", "0"))
# The tests each module's run selects: its subjects' files and the stateful
# test. A survivor of a selection is then rechecked against the tests written
# for it (RECHECK_TESTS), so a module's figure never counts a kill by a test
# outside what was run. tests/test_sigint.py is in none: it runs its program
# in a child interpreter, which fails in mutmut's tree (its stats phase).
SELECTIONS: dict[str, list[str]] = {
    "_ops": [
        "tests/test_ops.py",
        "tests/test_tasks.py",
        "tests/test_run_once.py",
        "tests/test_lifecycle.py",
        "tests/test_limits.py",
        "tests/test_poll_cap.py",
        "tests/test_cancel.py",
        "tests/test_timers.py",
        "tests/test_stateful.py",
        "tests/test_mutants_ops.py",
    ],
    "_scopes": [
        "tests/test_cancel.py",
        "tests/test_cancelscope.py",
        "tests/test_tasks.py",
        "tests/test_run_once.py",
        "tests/test_lifecycle.py",
        "tests/test_ops.py",
        "tests/test_stateful.py",
        "tests/test_mutants_scopes.py",
        "tests/test_taskgroup_spawn.py",
        "tests/test_taskgroup_outside.py",
    ],
    "_sync": [
        "tests/test_sync.py",
        "tests/test_sync_props.py",
        "tests/test_channel.py",
        "tests/test_stateful.py",
        "tests/test_mutants_sync.py",
    ],
    "_channel": [
        "tests/test_channel.py",
        "tests/test_sync.py",
        "tests/test_stateful.py",
        "tests/test_mutants_channel.py",
    ],
    "_deadlock": [
        "tests/test_threads.py",
        "tests/test_tasks.py",
        "tests/test_run_once.py",
        "tests/test_lifecycle.py",
        "tests/test_timers.py",
        "tests/test_shutdown.py",
        "tests/test_stateful.py",
        "tests/test_mutants_deadlock.py",
    ],
    "_runtime": [
        "tests/test_tasks.py",
        "tests/test_run_once.py",
        "tests/test_lifecycle.py",
        "tests/test_ops.py",
        "tests/test_threads.py",
        "tests/test_cancel.py",
        "tests/test_stateful.py",
        "tests/test_mutants_runtime.py",
    ],
    "_shutdown": [
        "tests/test_shutdown.py",
        "tests/test_tasks.py",
        "tests/test_run_once.py",
        "tests/test_lifecycle.py",
        "tests/test_stateful.py",
        "tests/test_mutants_shutdown.py",
    ],
    "_loop": [
        "tests/test_waiters.py",
        "tests/test_continuations.py",
        "tests/test_tasks.py",
        "tests/test_run_once.py",
        "tests/test_lifecycle.py",
        "tests/test_ops.py",
        "tests/test_timers.py",
        "tests/test_threads.py",
        "tests/test_failing_callbacks.py",
        "tests/test_snapshot.py",
        "tests/test_stateful.py",
        "tests/test_mutants_loop.py",
    ],
    "_lifecycle": [
        "tests/test_shutdown.py",
        "tests/test_tasks.py",
        "tests/test_run_once.py",
        "tests/test_lifecycle.py",
        "tests/test_threads.py",
        "tests/test_stateful.py",
        "tests/test_mutants_lifecycle.py",
    ],
    "_task": [
        "tests/test_tasks.py",
        "tests/test_run_once.py",
        "tests/test_lifecycle.py",
        "tests/test_cancel.py",
        "tests/test_ops.py",
        "tests/test_failing_callbacks.py",
        "tests/test_stateful.py",
        "tests/test_mutants_task.py",
    ],
    "_cancelscope": [
        "tests/test_cancelscope.py",
        "tests/test_cancel.py",
        "tests/test_tasks.py",
        "tests/test_timers.py",
        "tests/test_stateful.py",
        "tests/test_mutants_cancelscope.py",
    ],
    "_threads": [
        "tests/test_threads.py",
        "tests/test_foreign_threads.py",
        "tests/test_lifecycle.py",
        "tests/test_stateful.py",
        "tests/test_mutants_threads.py",
    ],
    "_run": [
        "tests/test_shutdown.py",
        "tests/test_lifecycle.py",
        "tests/test_tasks.py",
        "tests/test_stateful.py",
        "tests/test_mutants_run.py",
    ],
    "_timers": [
        "tests/test_timers.py",
        "tests/test_timer_churn.py",
        "tests/test_run_once.py",
        "tests/test_failing_callbacks.py",
        "tests/test_lifecycle.py",
        "tests/test_stateful.py",
        "tests/test_mutants_timers.py",
    ],
    "_waiters": [
        "tests/test_waiters.py",
        "tests/test_ops.py",
        "tests/test_lifecycle.py",
        "tests/test_run_once.py",
        "tests/test_stateful.py",
        "tests/test_mutants_waiters.py",
    ],
    "_condition": [
        "tests/test_sync.py",
        "tests/test_sync_props.py",
        "tests/test_stateful.py",
        "tests/test_mutants_condition.py",
    ],
    "_suspend": [
        "tests/test_continuations.py",
        "tests/test_run_once.py",
        "tests/test_tasks.py",
        "tests/test_threads.py",
        "tests/test_stateful.py",
        "tests/test_mutants_suspend.py",
    ],
    "_framing": [
        "tests/test_framing.py",
        "tests/test_streams.py",
        "tests/test_stateful.py",
        "tests/test_mutants_framing.py",
    ],
    "_streams": [
        "tests/test_streams.py",
        "tests/test_framing.py",
        "tests/test_serve.py",
        "tests/test_tls.py",
        "tests/test_tls_flush.py",
        "tests/test_stateful.py",
        "tests/test_mutants_streams.py",
    ],
    "_stream_messages": [
        "tests/test_streams.py",
        "tests/test_framing.py",
        "tests/test_tls.py",
        "tests/test_stateful.py",
        "tests/test_mutants_streams.py",
    ],
    "_serve": [
        "tests/test_serve.py",
        "tests/test_faults.py",
        "tests/test_limits.py",
        "tests/test_explore_net.py",
        "tests/test_tls.py",
        "tests/test_stateful.py",
        "tests/test_mutants_serve.py",
    ],
    "_connect": [
        "tests/test_connect.py",
        "tests/test_ops.py",
        "tests/test_faults.py",
        "tests/test_serve.py",
        "tests/test_explore_net.py",
        "tests/test_stateful.py",
        "tests/test_mutants_connect.py",
    ],
    "_network": [
        "tests/test_explore_net.py",
        "tests/test_connect.py",
        "tests/test_serve.py",
        "tests/test_stateful.py",
        "tests/test_mutants_connect.py",
    ],
    "_tls": [
        "tests/test_tls.py",
        "tests/test_tls_flush.py",
        "tests/test_serve.py",
        "tests/test_stateful.py",
        "tests/test_mutants_tls.py",
    ],
    # The small modules (2026-12-03).
    "_acm": [
        "tests/test_sync.py",
        "tests/test_cancelscope.py",
        "tests/test_stateful.py",
    ],
    "_clock": [
        "tests/test_timers.py",
        "tests/test_limits.py",
        "tests/test_poll_cap.py",
        "tests/test_stop_and_close.py",
        "tests/test_stateful.py",
    ],
    "_errors": [
        "tests/test_cancel.py",
        "tests/test_streams.py",
        "tests/test_names.py",
        "tests/test_stateful.py",
    ],
    "_refuse": [
        "tests/test_foreign_threads.py",
        "tests/test_threads.py",
        "tests/test_lifecycle.py",
        "tests/test_tasks.py",
        "tests/test_stateful.py",
    ],
    "_sigint": ["tests/test_sigint_machine.py", "tests/test_stateful.py"],
    "_snapshot": [
        "tests/test_snapshot.py",
        "tests/test_view_checks.py",
        "tests/test_stateful.py",
    ],
    "_spawn": [
        "tests/test_tasks.py",
        "tests/test_cancelscope.py",
        "tests/test_stateful.py",
    ],
    "_tasktable": [
        "tests/test_tasks.py",
        "tests/test_snapshot.py",
        "tests/test_lifecycle.py",
        "tests/test_shutdown.py",
        "tests/test_stateful.py",
    ],
    "_wakeup": [
        "tests/test_threads.py",
        "tests/test_foreign_threads.py",
        "tests/test_stop_and_close.py",
        "tests/test_stateful.py",
    ],
    "_cli": ["tests/test_demo.py", "tests/test_check.py"],
    "_demo": ["tests/test_demo.py"],
}
# The tests written for the survivors (docs/mutation.md), by name.
RECHECK_TESTS = [
    "tests/test_timers.py",
    "tests/test_run_once.py",
    "tests/test_lifecycle.py",
    "-k",
    " or ".join(
        [
            "cancelled_timer_does_not_hide_a_deadlock",
            "reused_descriptor_leaves_no_registration",
            "continuations_repr",
            "closing_a_watched_socket_leaves_no_record",
            "posted_call_may_close_a_socket",
            "close_wakes_the_last_waiter_the_loop_skips",
            "withdrawn_by_an_earlier_one",
            "failing_idle_call_is_logged",
            "timer_handles_repr",
            "virtual_clock_names_its_bad_argument",
            "heap_is_rebuilt",
            "withdrawn_idle_call_no_longer",
            "idle_call_after_the_loop_closed",
            "descriptor_reused_behind_the_loops_back",
            "closing_a_socket_that_reuses_a_stale",
            "told_the_socket_was_closed",
            "logged_with_its_handle",
            "due_behind_a_live_one",
        ]
    ),
]
# Modules whose survivors' tests live in another module's file (they are
# the same doors: refloop.run and the shutdown are run()'s and close()'s).
RECHECK_SHARED = {
    "_run": ["tests/test_mutants_lifecycle.py"],
    "_shutdown": ["tests/test_mutants_lifecycle.py"],
    # The network door is what connecting and serving ask for a socket.
    "_network": ["tests/test_mutants_connect.py"],
    # A stream's message methods (FramedMessages) are Stream's.
    "_stream_messages": ["tests/test_mutants_streams.py"],
    "_demo": ["tests/test_demo.py"],
    "_cli": ["tests/test_cli.py"],
    # The small modules share one file.
    **{
        module: ["tests/test_mutants_small.py"]
        for module in ("_acm", "_clock", "_errors", "_refuse", "_spawn", "_wakeup")
    },
}
TIMEOUT = 60  # seconds per mutant for the stateful test alone

# Mutants no test can kill, by name, with the reason (docs/mutation.md).
EQUIVALENT: dict[str, str] = {
    "refloop._loop.xǁLoopǁ_iterate__mutmut_21": (
        "until <= wait for until < wait: when they are equal either is the wait"
    ),
    "refloop._loop.xǁLoopǁ_iterate__mutmut_26": (
        "None for the empty list: both are false, and only `if events:` reads it"
    ),
    "refloop._loop.xǁLoopǁ_iterate__mutmut_29": (
        "wait >= max_poll for wait > max_poll: clamping an equal wait keeps it"
    ),
    **dict.fromkeys(
        [f"refloop._loop.xǁLoopǁspawn__mutmut_{n}" for n in (17, 20, 23, 24)],
        "getattr's default: spawn takes only coroutine objects, which all have "
        "a __qualname__",
    ),
    **dict.fromkeys(
        ["refloop._demo.x__client__mutmut_5", "refloop._demo.x__main__mutmut_5"],
        "socket.socket(AF_INET) is SOCK_STREAM by default",
    ),
    **dict.fromkeys(
        [
            f"refloop._demo.x__main__mutmut_{n}"
            for n in (17, 19, 24, 25, 28, 30, 32, 33)
        ],
        "a task's name: the demo prints no repr nor snapshot, where it shows",
    ),
    "refloop._wakeup.xǁWakeupǁdrain__mutmut_2": (
        "any buffer size drains: it reads until the socket is empty"
    ),
    "refloop._wakeup.xǁWakeupǁnotify__mutmut_3": (
        "a wake-up is any byte: drain() discards them all, and a full "
        "buffer is already a wake-up"
    ),
    "refloop._serve.xǁ_Serverǁ__init____mutmut_5": (
        "None for False: closing is only ever tested for truth"
    ),
    "refloop._serve.xǁ_Serverǁ__init____mutmut_7": (
        "the group's first value: serve_listeners sets it before any accept "
        "loop runs, and only they read it"
    ),
    "refloop._serve.xǁ_Serverǁaccept_loop__mutmut_28": (
        "unreachable: closing is set only in the step that then closes every "
        "listener, so an accept that completes after it is on a closed "
        "listener and raises ClosedError instead"
    ),
    "refloop._serve.x_open_tcp_listeners__mutmut_58": (
        "SO_REUSEADDR 2 for 1: the kernel keeps a bool (any nonzero is on, "
        "getsockopt reads 1 either way)"
    ),
    "refloop._serve.x_open_tcp_listeners__mutmut_66": (
        "IPV6_V6ONLY 2 for 1: as open_tcp_listeners 58"
    ),
    "refloop._serve.x__serve__mutmut_10": (
        "the outer finally's closing: it runs after the task group waited for "
        "every accept loop, and nothing reads closing after them"
    ),
    "refloop._serve.x__serve__mutmut_11": ("as _serve 10"),
    "refloop._connect.xǁ_Failedǁ__init____mutmut_1": (
        "None for False: is_set is only ever tested for truth (wait)"
    ),
    "refloop._connect.x_race__mutmut_32": (
        "the winner cancels itself too: it returns without suspending again, "
        "and a request still pending when a task finishes goes with it "
        "(spec cancel.finished)"
    ),
    "refloop._connect.x_race__mutmut_47": (
        "sorting (index, error) pairs by the whole pair: the indexes are "
        "unique, so the order is the same and no error is compared"
    ),
    "refloop._connect.x_race__mutmut_49": ("as race 47"),
    "refloop._timers.xǁTimersǁfire__mutmut_15": (
        "a sleep's continuation then goes through k() instead of the shortcut; "
        "on the loop's thread both enqueue the same task"
    ),
    "refloop._timers.xǁTimersǁfire__mutmut_17": (
        "as fire 15: an unused continuation goes through k(); a used one is "
        "never a timer's (a sleep's timer is cancelled with its task)"
    ),
    "refloop._timers.xǁTimersǁrestore__mutmut_2": (
        "`fired` None for False on a timer put back: only tested for truth "
        "(cancel), as pop_idle 4"
    ),
    "refloop._timers.xǁTimersǁrestore_idle__mutmut_3": ("as restore 2"),
    "refloop._timers.xǁTimerHandleǁ__init____mutmut_11": (
        "`fired` None for False on a new handle: as restore 2"
    ),
    "refloop._timers.xǁTimersǁclose__mutmut_2": (
        "the cancelled count of a closed loop's empty heap: only len() and the "
        "rebuild read it, and a closed loop neither runs nor takes timers"
    ),
    "refloop._waiters.xǁWaitersǁclose_socket__mutmut_2": (
        "fd 0 is stdin in every test process: no socket gets it"
    ),
    "refloop._waiters.xǁWaitersǁclose_socket__mutmut_3": ("as close_socket 2"),
    "refloop._waiters.xǁWaitersǁclose_socket__mutmut_15": (
        "the fresh record made for the closing socket holds no waiter, so which"
        " socket it names is never read"
    ),
    "refloop._waiters.xǁWaitersǁclose_socket__mutmut_19": (
        "as close_socket 15: the message is for waiters, and that record has none"
    ),
    "refloop._timers.xǁTimersǁpush_idle__mutmut_3": (
        "an idle call's `when` is unspecified (spec idle gives it no deadline; "
        "nothing reads it)"
    ),
    "refloop._timers.xǁTimersǁpush_idle__mutmut_16": ("as push_idle 3"),
    "refloop._timers.xǁTimersǁpop_idle__mutmut_4": (
        "`fired` of a taken idle call: if it is False, a later cancel() also "
        "releases and withdraws it, which finds nothing; the outcome is the "
        "same"
    ),
    "refloop._timers.xǁTimersǁpop_idle__mutmut_5": ("as pop_idle 4"),
    "refloop._waiters.xǁWaitersǁview__mutmut_22": (
        "sorting (seq, Waiter) pairs by the whole pair: seqs are unique, so the"
        " order is the same"
    ),
    "refloop._waiters.xǁWaitersǁdrop__mutmut_3": (
        "what unregister() may raise: the loop unregisters only fds it "
        "registered, and the standard selectors swallow a closed fd's OSError "
        "themselves"
    ),
    "refloop._waiters.xǁWaitersǁdrop__mutmut_4": ("as drop 3"),
    "refloop._waiters.xǁWaitersǁdrop__mutmut_5": ("as drop 3"),
    "refloop._waiters.xǁWaitersǁdrop__mutmut_6": ("as drop 3"),
    "refloop._waiters.xǁWaitersǁdrop__mutmut_7": ("as drop 3"),
    "refloop._waiters.xǁWaitersǁdrop__mutmut_8": ("as drop 3"),
    "refloop._waiters.xǁWaitersǁclose_socket__mutmut_22": ("as close_socket 19"),
    "refloop._waiters.xǁWaitersǁclose_socket__mutmut_23": ("as close_socket 19"),
    "refloop._waiters.xǁWaitersǁknows__mutmut_4": (
        "a closed socket's fileno() -1 looked up: no slot has fd -1 (park "
        "refuses a closed socket), so the answer is the same"
    ),
    "refloop._waiters.xǁWaitersǁknows__mutmut_6": ("fd 0 is stdin: as close_socket 2"),
    "refloop._waiters.xǁWaitersǁknows__mutmut_7": ("as knows 6"),
    "refloop._waiters.xǁWaitersǁpark__mutmut_3": ("fd 0 is stdin: as close_socket 2"),
    "refloop._waiters.xǁWaitersǁpark__mutmut_2": ("as park 3"),
    "refloop._waiters.xǁWaitersǁsync__mutmut_36": ("as park 3"),
    "refloop._waiters.xǁWaitersǁsync__mutmut_35": ("as park 3"),
    "refloop._waiters.xǁWaitersǁpark__mutmut_4": (
        "park's own closed-socket message: every operation tries the socket "
        "first and refuses a closed one itself; only another thread's close "
        "between the try and the park (a race no test can order) reaches it"
    ),
    "refloop._waiters.xǁWaitersǁclose__mutmut_2": ("as close 3"),
    "refloop._waiters.xǁWaitersǁclose__mutmut_4": ("as close 3"),
    "refloop._waiters.xǁWaitersǁclose__mutmut_5": ("as close 3"),
    "refloop._waiters.xǁWaitersǁclose__mutmut_6": ("as close 3"),
    "refloop._waiters.xǁWaitersǁclose__mutmut_7": ("as close 3"),
    "refloop._waiters.xǁWaitersǁclose__mutmut_3": (
        "what unregister() may raise: as drop 3"
    ),
    "refloop._waiters.xǁWaitersǁpark__mutmut_34": (
        "registration numbers by twos: as __init__ 7, only their order is read"
    ),
    "refloop._waiters.xǁWaitersǁready__mutmut_20": (
        "one woken waiter sorted too: the same list (a cost, not a behaviour)"
    ),
    "refloop._waiters.xǁWaitersǁclose__mutmut_9": (
        "the waiter count of a closed loop: only the iteration reads it, and a"
        " closed loop neither runs nor takes waiters"
    ),
    "refloop._waiters.xǁWaitersǁclose__mutmut_10": ("as close 9"),
    "refloop._waiters.xǁWaitersǁ__init____mutmut_7": (
        "registration numbers from 1, not 0: only their order is read (sorting"
        " the waiters), and none is reported"
    ),
    "refloop._waiters.xǁWaitersǁdrop__mutmut_10": (
        "the mask of a dropped slot: it has left the table, and ready() reads "
        "only its reader and writer"
    ),
    "refloop._waiters.xǁWaitersǁdrop__mutmut_11": ("as drop 10"),
    "refloop._waiters.xǁWaitersǁdrop__mutmut_18": (
        "`_slot` of a continuation that is thrown into at once: only unpark() "
        "reads it, and only while the task is parked on it"
    ),
    "refloop._waiters.xǁWaitersǁunpark__mutmut_4": (
        "as drop 18: the continuation is thrown into right after"
    ),
    "refloop._waiters.xǁWaitersǁunpark__mutmut_9": (
        "unreachable branch: a slot's reader/writer is cleared together with "
        "the continuation's `_slot`"
    ),
    "refloop._waiters.xǁWaitersǁunpark__mutmut_14": (
        "returning False makes Loop._unpark call k.on_cancel, which no socket wait sets"
    ),
    "refloop._threads.xǁThreadBridgeǁsubmit__mutmut_1": (
        "the initial value is overwritten by fn's result whenever it is delivered"
    ),
    "refloop._threads.xǁThreadBridgeǁsubmit__mutmut_5": (
        "the error raised in the worker thread when the loop has closed ends up"
        " in the pool's future, which nobody reads"
    ),
    "refloop._threads.xǁThreadBridgeǁ__init____mutmut_9": (
        "_closed None for False: the flag is only ever tested for truth"
    ),
    "refloop._threads.xǁThreadBridgeǁ__init____mutmut_15": (
        "register() without its data argument: the default is None"
    ),
    "refloop._threads.xǁThreadBridgeǁsubmit__mutmut_15": (
        "ThreadPoolExecutor(None): its default is the same min(32, cpu_count()"
        " + 4) on Python 3.8-3.12 (3.13 counts the CPUs the process may use)"
    ),
    "refloop._threads.xǁThreadBridgeǁsubmit__mutmut_26": ("as submit 15"),
    "refloop._threads.xǁThreadBridgeǁsubmit__mutmut_28": ("as submit 15"),
    "refloop._threads.xǁThreadBridgeǁclose__mutmut_11": (
        "shutdown(wait=None): the pool only tests wait for truth"
    ),
    "refloop._cancelscope.xǁCancelScopeǁ__init____mutmut_7": (
        "_exited None for False: the flag is only ever tested for truth"
    ),
    "refloop._suspend.xǁContinuationǁ__init____mutmut_7": (
        "a continuation's first _seq: the waiters set it when it parks on a "
        "socket, before anything reads it"
    ),
    "refloop._suspend.xǁContinuationǁ__init____mutmut_8": ("as __init__ 7"),
    "refloop._framing.x_encode_message__mutmut_3": (
        "ensure_ascii=None for False: json tests it for truth"
    ),
    "refloop._framing.x_encode_message__mutmut_4": (
        "allow_nan=None for False: json tests it for truth"
    ),
    "refloop._framing.x_encode_message__mutmut_22": (
        "'UTF-8' and 'utf-8' name the same codec"
    ),
    "refloop._framing.x_decode_body__mutmut_9": ("as encode_message 22"),
    "refloop._framing.x_encode_message__mutmut_33": (
        "int.to_bytes() without a byte order: big-endian is the default since"
        " Python 3.11, the oldest refloop supports"
    ),
    "refloop._framing.x_recv_message__mutmut_17": (
        "int.from_bytes() without a byte order: as encode_message 33"
    ),
    "refloop._deadlock.x_held_outside__mutmut_18": (
        "continue -> break: unreachable, as run() asks only when nothing is "
        "runnable, and then every task the loop knows is parked (a finished "
        "task is forgotten), so no task has no continuation"
    ),
    "refloop._ops.x__failed__mutmut_3": (
        "sock.fileno() <= 0: fd 0 is stdin in every test process, as in close_socket 2"
    ),
    "refloop._ops.x__failed__mutmut_4": ("as _failed 3"),
    "refloop._ops.x_sendall__mutmut_8": (
        "bytes are also cast to a memoryview of bytes: the same bytes are sent"
    ),
    "refloop._ops.x_sendall__mutmut_9": ("as sendall 8"),
    "refloop._ops.x_sendall__mutmut_11": (
        "a bytearray is also cast to a memoryview of its bytes: as sendall 8"
    ),
    "refloop._ops.x_sendall__mutmut_17": (
        "cast('b') instead of 'B': signed or not, the view's items are the "
        "same bytes, and send() reads the buffer's bytes"
    ),
    "refloop._ops.x_sendall__mutmut_39": (
        "the view of the rest is made again after every partial send: the "
        "same bytes (a cost, not a behaviour)"
    ),
    "refloop._ops.x_sendall__mutmut_41": (
        "a view is made after the last send too, and never used"
    ),
    "refloop._ops.x_sleep__mutmut_9": (
        "every delay takes check_time's full check, which returns a finite "
        "float unchanged"
    ),
    "refloop._ops.x_sleep__mutmut_11": ("as sleep 9"),
    "refloop._ops.x_sleep__mutmut_13": ("as sleep 9"),
    "refloop._ops.x_sleep__mutmut_25": (
        "seconds >= 0.0: for 0.0 (and -0.0) both branches add zero"
    ),
    "refloop._scopes.xǁtimeoutǁ__init____mutmut_11": (
        "the handle's first value: __enter__ sets it before anything reads it"
    ),
    "refloop._scopes.xǁtimeoutǁ__exit____mutmut_1": (
        "`or` in the assert: entered, both are set; not entered, both are None"
    ),
    "refloop._scopes.xǁtimeoutǁ__aexit____mutmut_1": (
        "__exit__ reads neither the exception's type nor its traceback"
    ),
    "refloop._scopes.xǁtimeoutǁ__aexit____mutmut_3": ("as __aexit__ 1"),
    "refloop._scopes.xǁTaskGroupǁ__init____mutmut_4": (
        "None for False: the flag is only ever tested for truth"
    ),
    "refloop._scopes.xǁTaskGroupǁ__init____mutmut_6": ("as __init__ 4"),
    "refloop._scopes.xǁTaskGroupǁ__init____mutmut_8": ("as __init__ 4"),
    "refloop._scopes.xǁTaskGroupǁspawn__mutmut_21": (
        "getattr's default for __qualname__: spawn has checked that coro is a "
        "coroutine, and every coroutine has one"
    ),
    "refloop._scopes.xǁTaskGroupǁspawn__mutmut_24": ("as spawn 21"),
    "refloop._scopes.xǁTaskGroupǁspawn__mutmut_27": ("as spawn 21"),
    "refloop._scopes.xǁTaskGroupǁspawn__mutmut_28": ("as spawn 21"),
    "refloop._scopes.xǁTaskGroupǁ__aexit____mutmut_4": (
        "`or` for `and`: the block's code runs only on an open loop, and a "
        "closed loop reaches it only by closing the coroutine (GeneratorExit)"
    ),
    "refloop._scopes.xǁTaskGroupǁ__aexit____mutmut_6": (
        "leave_scope(parent, None) on a closed loop: the task is ending by "
        "close() and nothing reads its scopes or its request again"
    ),
    "refloop._scopes.xǁTaskGroupǁ__aexit____mutmut_23": (
        "break for continue: the child is done, so the while's test ends the "
        "loop either way"
    ),
    "refloop._task.xǁTaskǁ__init____mutmut_8": (
        "the first _result: result() returns it only once _finish has set it"
    ),
    "refloop._task.xǁTaskǁ__init____mutmut_11": (
        "None for False: _observed is only ever tested for truth"
    ),
    "refloop._task.xǁTaskǁresult__mutmut_3": (
        "_observed set on a failed task: it is read only by _finish, before "
        "any result() can be called (result() of an unfinished task raises)"
    ),
    "refloop._task.xǁTaskǁresult__mutmut_4": ("as result 3"),
    "refloop._task.xǁTaskǁexception__mutmut_3": ("as result 3"),
    "refloop._task.xǁTaskǁexception__mutmut_4": ("as result 3"),
    "refloop._task.xǁTaskǁ_finish__mutmut_9": (
        "_observed set once the task has finished: nothing reads it after "
        "_finish (as result 3)"
    ),
    "refloop._task.xǁTaskǁ_finish__mutmut_10": ("as _finish 9"),
    "refloop._task.xǁTaskǁ_abandon__mutmut_3": (
        "_observed of an abandoned task: it never reaches _finish, the only reader"
    ),
    "refloop._task.xǁTaskǁ_abandon__mutmut_4": ("as _abandon 3"),
    "refloop._task.xǁTaskǁ_step__mutmut_6": (
        "_send cleared to '' not None: a task enters the run queue only by "
        "spawn (a fresh task) or _enqueue, which sets _send before the next step"
    ),
    "refloop._task.xǁTaskǁ_step__mutmut_51": ("as _step 6"),
    "refloop._task.xǁTaskǁ_step__mutmut_9": (
        "_throw cleared to '' not None: as _step 6, _enqueue sets it before "
        "the next step reads it"
    ),
    "refloop._task.xǁTaskǁ_step__mutmut_52": ("as _step 9"),
    "refloop._task.xǁTaskǁ_step__mutmut_35": (
        "break -> return at the end of the while loop: nothing follows it in _step"
    ),
    "refloop._task.xǁTaskǁ_step__mutmut_43": ("as _step 35"),
    "refloop._lifecycle.x_run__mutmut_25": (
        "the name run() gives enter(): unreachable, run() refuses another "
        "thread (spawn's check) and nesting first, with its own words"
    ),
    "refloop._lifecycle.x_run__mutmut_28": ("as run 25"),
    "refloop._lifecycle.x_run__mutmut_29": ("as run 25"),
    "refloop._lifecycle.x_run__mutmut_30": (
        "None for False: _interrupted is only ever tested for truth"
    ),
    "refloop._lifecycle.x_run_forever__mutmut_12": (
        "break -> return as the last statement of a loop inside try/finally: "
        "the finally runs either way and nothing follows the loop"
    ),
    "refloop._lifecycle.x_run_forever__mutmut_13": (
        "None for False: _stopping is only ever tested for truth"
    ),
    "refloop._streams.xǁStreamǁ__init____mutmut_19": (
        "the first _searched: the first receive_until resets it (no delimiter "
        "equals the empty _searched_for), and nothing else reads it"
    ),
    "refloop._streams.xǁStreamǁ__init____mutmut_20": ("as __init__ 19"),
    "refloop._streams.xǁStreamǁ__init____mutmut_21": (
        "the first _searched_for: _searched is 0 until a search sets both, so "
        "whether the first receive_until resets it changes nothing"
    ),
    "refloop._streams.xǁStreamǁ__init____mutmut_22": ("as __init__ 21"),
    "refloop._streams.xǁStreamǁ__init____mutmut_23": (
        "None for False: _eof is only ever tested for truth"
    ),
    "refloop._streams.xǁStreamǁ_fill__mutmut_7": (
        "True at the end of stream, with nothing added: the caller searches the "
        "same bytes once more, and the next _fill() sees _eof and says False "
        "without receiving"
    ),
    "refloop._streams.xǁStreamǁ_until__mutmut_3": (
        "_searched_for never remembered: every receive_until searches from the "
        "buffer's start, which finds the same first delimiter (a cost)"
    ),
    "refloop._streams.xǁStreamǁ_until__mutmut_17": (
        "find(d, None, n) is find(d, 0, n)"
    ),
    "refloop._streams.xǁStreamǁ_until__mutmut_25": (
        "the shortcut refused when the receive is the delimiter alone: the "
        "buffer path returns the same bytes (a copy, not a behaviour)"
    ),
    "refloop._streams.xǁStreamǁ_until__mutmut_26": ("as _until 25"),
    "refloop._streams.xǁStreamǁ_until__mutmut_27": (
        "the shortcut never taken: with an empty buffer _searched is 0, so the "
        "buffer path finds the same delimiter and returns the same bytes"
    ),
    "refloop._streams.xǁStreamǁ_until__mutmut_32": (
        "searched from the start: no delimiter lies wholly in the bytes already "
        "searched, so the first found is the same (a cost)"
    ),
    "refloop._streams.xǁStreamǁ_until__mutmut_38": ("as _until 32: from further back"),
    "refloop._streams.xǁStreamǁ_until__mutmut_43": ("as _until 32"),
    "refloop._streams.xǁStreamǁ_incomplete__mutmut_4": (
        "_searched after an incomplete read: the stream has met its end, its "
        "buffer is empty and stays so (_fill adds nothing after EOF), and a "
        "search of an empty buffer finds nothing from anywhere"
    ),
    "refloop._stream_messages.xǁFramedMessagesǁrecv_message__mutmut_18": (
        "from_bytes without a byte order: big-endian is the default since "
        "3.11, refloop's oldest (as _framing's recv_message 17)"
    ),
    "refloop._stream_messages.xǁFramedMessagesǁrecv_message__mutmut_22": (
        "the receiver mark before close() on an oversized header: close() "
        "reads it only outside a loop, recv_message runs inside one, and the "
        "finally clears it before anything else can look"
    ),
    "refloop._tls.xǁTLSStreamǁ__init____mutmut_8": (
        "None for False: _flushing is only ever tested for truth"
    ),
    "refloop._tls.xǁTLSStreamǁ_flush__mutmut_18": ("as __init__ 8"),
    "refloop._tls.xǁTLSStreamǁ__init____mutmut_14": (
        "None for False: _shut is only ever tested for truth"
    ),
    "refloop._tls.xǁTLSStreamǁ_pump_in__mutmut_1": (
        "wait=None for False: _flush tests it for truth only"
    ),
    "refloop._tls.x_open_tls_connection__mutmut_4": (
        "server_side None for False: _check_context tests it for truth only"
    ),
    "refloop._tls.xǁTLSStreamǁ__init____mutmut_11": (
        "_unsent None before the first flush that sends: _flush reads it as "
        "`if not view`, the same as an empty view, and close(), its only other "
        "reader, reaches a TLSStream only after its handshake, whose first "
        "flight (ClientHello, the server's answer) sets it to a memoryview"
    ),
    "refloop._tls.xǁTLSStreamǁ_send_raw__mutmut_5": (
        "a memoryview cast to signed bytes: the same bytes, the same length, "
        "and SSLObject.write takes any contiguous buffer"
    ),
    "refloop._tls.xǁTLSStreamǁ_close_raw__mutmut_4": (
        "_shut after close(): the stream is closed, so close() returns before "
        "_close_raw and unwrap() refuses; nothing reads it again"
    ),
    "refloop._tls.xǁTLSStreamǁ_close_raw__mutmut_5": ("as _close_raw 4"),
}

# CI's sample (tools/mutation.py sample): mutants of _waiters.py that the
# stateful test alone must kill. Each stands for one thing it checks.
SAMPLE = [
    # a cancelled waiter stays registered (io.interest): the loop busy-polls.
    # It left the sample on 2026-12-02, when the full machine's new rules
    # diluted it, and came back with the core machine (TestCoreAgainstModel,
    # refloop/testing/core_machine.py), which draws more iterations and
    # cancels parked tasks.
    "refloop._waiters.xǁWaitersǁunpark__mutmut_13",
    # a write waiter is reported without its task (Loop.waiters() breaks
    # whenever a task waits to send).
    "refloop._waiters.xǁWaitersǁview__mutmut_19",
]


def _status(code: int | None) -> str:
    if code is None:
        return "not checked"
    if code in (1, 3):
        return "killed"
    if code == 0:
        return "survived"
    if code in (5, 33):
        return "no tests"
    if code in (24, -24, 36, 152, 255):
        return "timeout"
    if code < 0:
        return "killed"  # a crash (a signal) is a failing test run
    return "suspicious"


def _trees() -> list[Path]:
    """Every mutants/ directory: the root's whole-core run, then one per
    module run. A module run's figures replace the older run's."""
    trees = [MUTANTS] if MUTANTS.exists() else []
    # Not `alone`'s: its selection is the stateful test alone, not the suite.
    modules = [t for t in sorted(SCRATCH.glob("*/mutants")) if t.parent.name != "alone"]
    return trees + modules


def suite_results(mutants: Path | None = None) -> dict[str, int | None]:
    """Every mutant's exit code under mutmut's selection, by name."""
    found: dict[str, int | None] = {}
    for tree in [mutants] if mutants else _trees():
        for meta in sorted(tree.glob("refloop/_*.py.meta")):
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            module = meta.name.removesuffix(".py.meta")
            if tree == MUTANTS and (SCRATCH / module / "mutants").exists():
                continue  # run again on its own, with its selection
            found.update(codes)
            if (tree / "rest.json").exists():
                # What a stopped run left, checked by `rest`.
                rest = json.loads((tree / "rest.json").read_text())
                found.update({n: c for n, c in rest.items() if codes.get(n) is None})
    return found


def _tree_of(module: str | None) -> Path:
    return SCRATCH / module / "mutants" if module else MUTANTS


def _copy_tooling(tree: Path) -> None:
    """The tests, refloop/testing and the model they compare with as they
    are now, into a mutants tree (none is mutated): a rerun uses the tests
    written since mutmut's run, and the model transitions they call."""
    shutil.copytree(ROOT / "tests", tree / "tests", dirs_exist_ok=True)
    for package in ("refloop/testing", "refloop/model"):
        shutil.copytree(ROOT / package, tree / package, dirs_exist_ok=True)


def stateful(module: str | None = None) -> int:
    """Run tests/test_stateful.py alone against each checked mutant."""
    wanted = ("killed", "survived", "timeout", "no tests")
    _copy_tooling(_tree_of(module))
    return _rerun(_tree_of(module), "stateful.json", STATEFUL_TESTS, wanted)


def stateful_before(module: str | None = None) -> int:
    """As `stateful`, without the core pass: the figure it is compared with."""
    wanted = ("killed", "survived", "timeout", "no tests")
    _copy_tooling(_tree_of(module))
    return _rerun(_tree_of(module), "stateful-before.json", STATEFUL_BEFORE, wanted)


def recheck(module: str | None = None) -> int:
    """Run the test files that kill survivors (RECHECK_TESTS) against each
    mutant that survived mutmut's run, after tests/ is copied again into
    mutants/: which survivors the tests added since then kill."""
    tree = _tree_of(module)
    _copy_tooling(tree)
    tests = RECHECK_TESTS
    if module:
        # The tests written for the module's survivors, alone: a survivor
        # they do not kill then costs seconds, not the whole selection, and
        # a timeout (TIMEOUT) is a hang, not a slow selection.
        tests = [f"tests/test_mutants_{module.lstrip('_')}.py"]
        tests = RECHECK_SHARED.get(module, tests)
    return _rerun(tree, "recheck.json", tests, ("survived", "no tests"))


def rest(module: str) -> int:
    """The mutants a stopped `run` did not check, against the module's
    selection without the stateful test (a survivor of it costs seconds, not
    the stateful test's minute): kept in rest.json, which `report` reads as
    mutmut's verdict; `stateful MODULE` then gives the stateful test's."""
    tree = _tree_of(module)
    _copy_tooling(tree)
    tests = [t for t in SELECTIONS[module] if t not in STATEFUL_TESTS]
    tests = [t for t in tests if (ROOT / t).exists()]
    return _rerun(tree, "rest.json", tests, ("not checked",))


def _rerun(
    tree: Path, results_name: str, tests: list[str], wanted: tuple[str, ...]
) -> int:
    results = tree / results_name
    done: dict[str, int] = {}
    if results.exists():
        done = json.loads(results.read_text())
    todo = sorted(
        name for name, code in suite_results(tree).items() if _status(code) in wanted
    )
    if results_name == "stateful-before.json" and (tree / "stateful.json").exists():
        # The same mutants as the stateful pass, whatever was checked since;
        # only those it killed, as the pass without its core part runs a
        # subset of the same derandomized tests.
        after = json.loads((tree / "stateful.json").read_text())
        todo = sorted(n for n, code in after.items() if _status(code) == "killed")
    # In an order fixed but mixed across modules: a run stopped early (or a
    # sample, MUTATION_SAMPLE) is still a fair sample, the same for every
    # selection.
    random.Random(14).shuffle(todo)
    if SAMPLE_SIZE:
        todo = todo[:SAMPLE_SIZE]
    todo = [name for name in todo if name not in done]
    os.chdir(tree)
    sys.path.insert(0, str(tree))
    os.environ["PY_IGNORE_IMPORTMISMATCH"] = "1"
    os.environ.setdefault("REFLOOP_PROFILE", "mutation")
    import pytest

    import refloop

    assert Path(refloop.__file__).is_relative_to(tree), refloop.__file__
    for i, name in enumerate(todo, 1):
        pid = os.fork()
        if pid == 0:
            os.environ["MUTANT_UNDER_TEST"] = name
            signal.alarm(TIMEOUT)
            with open(os.devnull, "w") as quiet:
                os.dup2(quiet.fileno(), 1)
                os.dup2(quiet.fileno(), 2)
            code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", *tests])
            os._exit(int(code))
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code == -signal.SIGALRM:
            code = 36
        done[name] = code
        print(f"{i}/{len(todo)} {name}: {_status(code)}", flush=True)
        results.write_text(json.dumps(done, indent=1, ensure_ascii=False))
    return 0


def report() -> int:
    """Print both figures, per module, as a Markdown table."""
    suite = suite_results()
    alone: dict[str, int] = {}
    for tree in _trees():
        if (tree / "stateful.json").exists():
            codes = json.loads((tree / "stateful.json").read_text())
            alone.update({n: c for n, c in codes.items() if n in suite})
        if (tree / "recheck.json").exists():
            # Survivors that a test added since mutmut's run kills count as
            # killed (docs/mutation.md names each test).
            for name, code in json.loads((tree / "recheck.json").read_text()).items():
                # A timeout here is a hang: these tests take a second.
                if _status(code) in ("killed", "timeout") and name in suite:
                    suite[name] = code
    for name, code in alone.items():
        # The stateful test is part of the suite.
        if _status(code) == "killed" and name in suite:
            suite[name] = code
    rows: dict[str, Counter[str]] = {}
    for name, code in suite.items():
        module = name.split(".")[1]
        row = rows.setdefault(module, Counter())
        status = "equivalent" if name in EQUIVALENT else _status(code)
        row[status] += 1
        if status in ("killed", "survived", "timeout", "no tests"):
            # A mutant no test reaches is one the suite does not kill.
            row["counted"] += 1
            if name in alone:
                row["alone checked"] += 1
                # A timeout here is not a kill: under load the stateful
                # test alone can outrun TIMEOUT (a repr mutant did).
                row["alone killed"] += _status(alone[name]) == "killed"
    cols = ["killed", "timeout", "survived", "equivalent", "no tests"]
    print("| module | " + " | ".join(cols) + " | suite | stateful alone |")
    print("|---" * (len(cols) + 3) + "|")
    total: Counter[str] = Counter()
    for module, row in sorted(rows.items()):
        if not row["counted"]:
            continue
        total.update(row)
        print(_row(module, row, cols))
    print(_row("**all**", total, cols))
    left = ("survived", "no tests")
    for name in sorted(n for n, c in suite.items() if _status(c) in left):
        if name not in EQUIVALENT:
            print(f"{_status(suite[name])}: {name}")
    return 0


def _row(module: str, row: Counter[str], cols: list[str]) -> str:
    killed = row["killed"] + row["timeout"]
    suite = (
        f"{killed}/{row['counted']} = {100 * killed / row['counted']:.1f}%"
        if row["counted"]
        else "-"
    )
    alone = "-"
    if row["alone checked"]:
        alone = (
            f"{row['alone killed']}/{row['alone checked']} = "
            f"{100 * row['alone killed'] / row['alone checked']:.1f}%"
        )
    counts = " | ".join(str(row[c]) for c in cols)
    return f"| {module} | {counts} | {suite} | {alone} |"


def _copy_tree(scratch: Path, only_mutate: str, tests: list[str]) -> None:
    """Git's files as they are in the work tree, into scratch, with a
    [tool.mutmut] that mutates one file and selects the given tests."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in files:
        target = scratch / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    pyproject = scratch / "pyproject.toml"
    text = pyproject.read_text()
    start = text.index("[tool.mutmut]")
    pyproject.write_text(
        text[:start]
        + "[tool.mutmut]\n"
        + 'source_paths = ["refloop/"]\n'
        + f"only_mutate = {json.dumps([only_mutate])}\n"
        + 'also_copy = ["models/", "spec/", "README.md", "examples/", "bench/"]\n'
        + f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        + "use_setproctitle = false\n"
        + "timeout_multiplier = 3.0\n"
    )


def _source_id() -> str:
    """The commit and the work tree's changes to refloop/: a module run whose
    tree was made from another source starts again."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    diff = subprocess.run(
        ["git", "diff", "HEAD", "--", "refloop/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    return f"{head} {hash(diff) if diff else 0}"


def run(modules: list[str]) -> int:
    """mutmut on each module in its own scratch tree (.mutation/MODULE), one
    worker, with the module's test selection (SELECTIONS)."""
    for module in modules:
        if module not in SELECTIONS:
            sys.exit(f"no test selection for {module!r}: add it to SELECTIONS")
        scratch = SCRATCH / module
        stamp = scratch / "source"
        if stamp.exists() and stamp.read_text() != _source_id():
            # mutmut keeps the copies it made; a changed source needs new ones.
            shutil.rmtree(scratch)
        scratch.mkdir(parents=True, exist_ok=True)
        tests = [t for t in SELECTIONS[module] if (ROOT / t).exists()]
        _copy_tree(scratch, f"refloop/{module}.py", tests)
        stamp.write_text(_source_id())
        env = dict(os.environ, REFLOOP_PROFILE="mutation")
        mutmut = Path(sys.executable).with_name("mutmut")
        print(f"== {module}: {' '.join(tests)}", flush=True)
        code = subprocess.run(
            [str(mutmut), "run", "--max-children", "1"], cwd=scratch, env=env
        ).returncode
        if code:
            print(f"mutmut run failed for {module} ({code})")
            return code
    return 0


def _stateful_on(
    module: str, patterns: list[str], show: bool = False
) -> dict[str, str] | None:
    """mutmut itself, in a scratch copy of the work tree, on the mutants of
    refloop/MODULE.py that match the patterns, with the stateful test alone as
    the selection: each mutant's status, or None if mutmut failed. With
    `show`, the diff of each one not killed is printed (the copy is gone
    afterwards)."""
    with tempfile.TemporaryDirectory() as scratch:
        _copy_tree(Path(scratch), f"refloop/{module}.py", STATEFUL_TESTS)
        env = dict(os.environ, REFLOOP_PROFILE="mutation")
        mutmut = Path(sys.executable).with_name("mutmut")
        done = subprocess.run(
            [str(mutmut), "run", "--max-children", "1", *patterns],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
        )
        meta = Path(scratch, f"mutants/refloop/{module}.py.meta")
        if done.returncode != 0 or not meta.exists():
            print(done.stdout[-3000:], done.stderr[-3000:])
            print("mutmut run failed")
            return None
        import fnmatch

        codes = json.loads(meta.read_text())["exit_code_by_key"]
        found = {
            name: _status(code)
            for name, code in sorted(codes.items())
            if any(fnmatch.fnmatch(name, pattern) for pattern in patterns)
        }
        for name, status in found.items():
            if show and status not in ("killed", "timeout") and name not in EQUIVALENT:
                diff = subprocess.run(
                    [str(mutmut), "show", name],
                    cwd=scratch,
                    capture_output=True,
                    text=True,
                ).stdout
                print(f"== {status} {name}\n{diff}")
        return found


def sample() -> int:
    """CI: SAMPLE, against the stateful test alone; fails unless every one
    is killed."""
    sampled = _stateful_on("_waiters", SAMPLE)
    if sampled is None:
        return 1
    bad = {n: status for n, status in sampled.items() if status != "killed"}
    print(f"mutation sample: {len(sampled) - len(bad)}/{len(sampled)} killed")
    for name, status in bad.items():
        print(f"  {name}: {status}")
    return 1 if bad or not sampled else 0


def focus(module: str, functions: list[str]) -> int:
    """Every mutant of the named functions of refloop/MODULE.py (as mutmut
    names them: `serve_tcp`, `_Server.accept_loop`), in a fresh copy of the
    work tree, against the stateful test alone: the diff of each one not
    killed, each mutant's status and the count, with the equivalent ones
    (EQUIVALENT) left out."""
    patterns = []
    for function in functions:
        owner, _, name = function.rpartition(".")
        mangled = f"xǁ{owner}ǁ{name}" if owner else f"x_{name}"
        patterns.append(f"refloop.{module}.{mangled}__mutmut_*")
    found = _stateful_on(module, patterns, show=True)
    if found is None:
        return 1
    counted = {n: status for n, status in found.items() if n not in EQUIVALENT}
    for name, status in counted.items():
        print(f"{status:9} {name}")
    killed = sum(status in ("killed", "timeout") for status in counted.values())
    print(f"stateful alone: {killed}/{len(counted)} non-equivalent killed", end="")
    print(f" ({len(found) - len(counted)} equivalent left out)")
    return 0 if counted else 1


def alone(count: int) -> int:
    """The stateful test alone against a fixed sample of `count` mutants of
    the whole core (refloop/_*.py, the equivalent ones left out), drawn
    evenly: mutmut in a scratch tree (.mutation/alone) whose selection is
    tests/test_stateful.py. First a run that checks one mutant (mutmut then
    makes them all and records which functions the stateful test reaches),
    then the sample; a mutant in a function it never reaches is "no tests",
    counted as not killed. Prints the figure per module and in all."""
    scratch = SCRATCH / "alone"
    stamp = scratch / "core"
    if stamp.exists() and stamp.read_text() != _core_id():
        shutil.rmtree(scratch)
    elif (scratch / "source").exists() and not stamp.exists():
        shutil.rmtree(scratch)  # made before the core's stamp: unknown core
    scratch.mkdir(parents=True, exist_ok=True)
    _copy_tree(scratch, "refloop/_*.py", STATEFUL_TESTS)
    stamp.write_text(_core_id())
    env = dict(os.environ, REFLOOP_PROFILE="mutation")
    mutmut = [str(Path(sys.executable).with_name("mutmut")), "run"]
    mutmut += ["--max-children", "1"]
    for _ in range(3):
        # mutmut checks at least one mutant: CI's second one. Its stats
        # phase, with every module's trampolines, crashed once in three
        # (a segfault, as in docs/mutation.md's first attempts): again.
        made = subprocess.run([*mutmut, SAMPLE[1]], cwd=scratch, env=env)
        if made.returncode == 0:
            break
    metas = sorted((scratch / "mutants/refloop").glob("_*.py.meta"))
    if made.returncode or not metas:
        print("mutmut could not make the mutants")
        return 1
    names = sorted(
        name
        for meta in metas
        for name in json.loads(meta.read_text())["exit_code_by_key"]
        if name not in EQUIVALENT
    )
    random.Random(14).shuffle(names)
    chosen = names[:count]
    # The same core makes the same mutants: one the stateful test killed
    # stays killed (the tests only grow), and the rest are run again with
    # the stateful test as it is now (mutmut reruns every mutant it is named).
    before = _codes(metas)
    todo = [n for n in chosen if _status(before.get(n)) not in ("killed", "timeout")]
    print(f"{len(chosen) - len(todo)} of the sample killed before; running {len(todo)}")
    if todo:
        subprocess.run([*mutmut, *todo], cwd=scratch, env=env, capture_output=True)
    codes = _codes(metas)
    rows: dict[str, Counter[str]] = {}
    for name in chosen:
        row = rows.setdefault(name.split(".")[1], Counter())
        row[_status(codes.get(name))] += 1
    (scratch / "alone.json").write_text(
        json.dumps({n: codes.get(n) for n in chosen}, indent=1, ensure_ascii=False)
    )
    cols = ["killed", "timeout", "survived", "no tests", "not checked"]
    print(f"of {len(names)} non-equivalent mutants, a sample of {len(chosen)}")
    print("| module | " + " | ".join(cols) + " | stateful alone |")
    print("|---" * (len(cols) + 2) + "|")
    total: Counter[str] = Counter()
    for module, row in sorted(rows.items()):
        total.update(row)
        print(_alone_row(module, row, cols))
    print(_alone_row("**all**", total, cols))
    return 0


def _codes(metas: list[Path]) -> dict[str, int | None]:
    codes: dict[str, int | None] = {}
    for meta in metas:
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    return codes


def _core_id() -> str:
    """What the core's mutants depend on: the core's files as they are."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "refloop").glob("_*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _alone_row(module: str, row: Counter[str], cols: list[str]) -> str:
    killed = row["killed"] + row["timeout"]
    counted = sum(row.values())
    figure = f"{killed}/{counted} = {100 * killed / counted:.1f}%"
    return f"| {module} | {' | '.join(str(row[c]) for c in cols)} | {figure} |"


if __name__ == "__main__":
    usage = "usage: python tools/mutation.py {run MODULE...,stateful [MODULE],"
    usage += "recheck [MODULE],report,sample,alone [N],focus MODULE FUNCTION...}"
    command, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command == "run" and args:
        sys.exit(run(args))
    if command == "focus" and len(args) >= 2:
        sys.exit(focus(args[0], args[1:]))
    if command == "alone" and len(args) <= 1:
        sys.exit(alone(int(args[0]) if args else 150))
    reruns: dict[str, Callable[..., int]] = {
        "stateful": stateful,
        "stateful-before": stateful_before,
    }
    reruns["recheck"] = recheck
    reruns["rest"] = rest
    if command in reruns and len(args) <= 1:
        sys.exit(reruns[command](*args))
    if command in ("report", "sample") and not args:
        sys.exit(report() if command == "report" else sample())
    sys.exit(usage)
