"""A catalogue of asyncio concurrency bugs, each with its fix.

Every module has `buggy()` and `fixed()`: async test functions (asyncio
only, no refloop import) that pass on the loop's default schedule and on
asyncio's own loop almost always. The buggy one fails under a schedule the
spec allows (spec/14-explore.md); the fixed one passes every schedule.
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
]
