"""Benchmarks that compare refloop with its peers in one interleaved run.

Run the whole suite with ``python -m bench`` from the repository root
(``--quick`` for the one-minute smoke run, ``--help`` for the rest).

Rules this package keeps:

- Every measurement runs in a fresh child process (a server, the load client,
  or one ``python -m bench.<name> PEER PARAMS`` child), so one peer's imports,
  heap and garbage never colour another's figures.
- Peers are interleaved round by round (A B C, then B C A, ...), and every
  ratio is taken between two figures of the same round before it is
  summarised, so drift on a shared machine hits every peer alike.
- A peer that does not import, or lacks an API, is skipped with a note;
  nothing in the suite needs more than the standard library to run.
"""
