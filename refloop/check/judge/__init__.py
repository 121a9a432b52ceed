"""The judgement of an explored graph: invariants and a system's own
properties, deadlock, and liveness under weak fairness (`verdict`,
`liveness`, `graphs`). Imports the search and the systems."""
