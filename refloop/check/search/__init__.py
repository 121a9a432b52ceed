"""The search and its reductions: the breadth-first exploration (`bfs`,
`explore`), the graph it builds (`graph`), its memory of numbered states
and moves (`tables`), the macro-step and symmetry reductions (`reduce`,
`plans`), and the liveness instances it evaluates as it goes
(`instances`). Imports refloop.model and refloop.check.systems."""
