"""`refloop fuzz`: run a Hypothesis state machine as a fuzzing campaign.

A campaign runs the machine (by default refloop's model-versus-loop test,
refloop.testing.LoopMachine) on several worker processes, each with its own
seed, all sharing one Hypothesis example database, for a time or a number of
examples; it shows progress live and ends with a report of what ran, which
spec rules the examples exercised, and every failure found, shrunk, with the
command that replays it.

Modules: `cli` (the command), `campaign` (workers, stopping, restarts),
`worker` (one process), `instrument` (counting), `probe` (spec coverage),
`database` (the shared database and its views), `replay`, `display`,
`report`, `target`, `messages` (what is counted, and the messages), and
`seams` (what we use of Hypothesis beyond its documented API).

This package imports nothing itself, so that the `refloop` command line
starts without Hypothesis; import the modules.
"""
