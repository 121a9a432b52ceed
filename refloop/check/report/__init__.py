"""What `refloop check` prints: summaries and tables (`summary`), paths
followed step by step and printed as numbered steps (`trace`), and each
counterexample as Python that replays it on the model and on the real
loop (`snippets`)."""
