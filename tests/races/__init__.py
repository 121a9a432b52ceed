"""A catalogue of concurrency bugs, each with its fix.

Every module has `buggy()` and `fixed()`: async test functions that pass on
the loop's default schedule and on a plain loop almost always (asyncio's
own for the asyncio ones, which import nothing from refloop; `refloop.run`
for the native ones, which use only refloop's own API). The buggy one fails
under a schedule the spec allows (spec/14-explore.md); the fixed one passes
every schedule.
"""

NAMES = [
    "lost_update",
    "lock_cancel",
    "swallowed_cancel",
    "event_pulse",
    "queue_drop",
    "pool_double",
    "stampede",
    "shutdown",
    "native_lost_update",
    "native_stale_reply",
    "framing",
    "native_framing",
]

# Written for refloop's own API (explore detects it: kind="native").
NATIVE = ["native_lost_update", "native_stale_reply", "native_framing"]

# Only a partial read exposes these: loopback runs never find them.
PARTIAL = ["framing", "native_framing"]
