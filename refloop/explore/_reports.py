"""What ends a run that cannot end by itself (spec: explore.deadlock,
explore.closed-world)."""

__all__ = ["Deadlock", "Livelock", "OutsideWorld"]


class Deadlock(Exception):
    """No task can make progress: nothing is ready, no timer is pending."""


class Livelock(Exception):
    """The run did not finish within the explorer's budget of polls."""


class OutsideWorld(Exception):
    """The test reached outside the closed world (a real thread, a socket to
    elsewhere, a blocking call) while virtual time was in charge."""
