"""refloop's performance targets, checked against this run's figures.

Each target is a ratio of two figures from the same round (bench.stats.paired)
and a limit on its median. A target whose figures this run lacks (a peer not
installed, --quick's smaller grid) reads "n/a", never "met".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.runner import Results
from bench.stats import Spread, ratios
from bench.suite import Bench


@dataclass(frozen=True)
class Target:
    what: str
    bench: str
    metric: str
    num: tuple[int, str]
    """(case index, peer) on top of the ratio."""
    den: tuple[int, str]
    limit: float
    strict: bool = False
    """True: the ratio must be below the limit, not merely at most it."""

    def within(self, ratio: float) -> bool:
        return ratio < self.limit if self.strict else ratio <= self.limit


def _targets() -> list[Target]:
    out = [
        Target(
            "echo 100 B x 10: CPU/req vs uvloop streams",
            "echo",
            "us_cpu_per_req",
            (0, "refloop"),
            (0, "uvloop-streams"),
            1.0,
        ),
        Target(
            "echo 100 B x 10: CPU/req vs floor",
            "echo",
            "us_cpu_per_req",
            (0, "refloop"),
            (0, "floor"),
            1.3,
        ),
    ]
    for case, name in ((0, "many tasks"), (1, "one task")):
        out.append(
            Target(
                f"switch ({name}) vs floor",
                "switch",
                "ns_per_switch",
                (case, "refloop"),
                (case, "floor"),
                1.2,
            )
        )
        for peer in ("asyncio", "trio", "curio"):
            out.append(
                Target(
                    f"switch ({name}) vs {peer}",
                    "switch",
                    "ns_per_switch",
                    (case, "refloop"),
                    (case, peer),
                    1.0,
                    strict=True,
                )
            )
    out.append(
        Target(
            "timers: CPU/sleep (dense) vs floor",
            "timers",
            "us_cpu_per_sleep",
            (0, "refloop"),
            (0, "floor"),
            1.2,
        )
    )
    for metric, label in (
        ("ns_per_iteration", "iteration"),
        ("us_per_rtt", "round trip"),
    ):
        out.append(
            Target(
                f"idle scaling, {label}: most idle vs 10",
                "idle",
                metric,
                (-1, "refloop"),
                (0, "refloop"),
                1.2,
            )
        )
    out.append(
        Target(
            "memory per idle task vs asyncio",
            "memory",
            "bytes_per_item",
            (0, "refloop"),
            (0, "asyncio"),
            1.0,
            strict=True,
        )
    )
    return out


def check(benches: Sequence[Bench], results: Results) -> list[str]:
    """The targets section of the report, as Markdown lines."""
    by_name = {b.name: b for b in benches}
    lines = [
        "## refloop targets",
        "",
        "Median of the per-round ratios [min-max]. A target is met when the "
        "median is within the limit; `rounds` counts the rounds whose own "
        "ratio is within it, so 1/3 or 2/3 says the verdict is noise-sized.",
        "",
        "| target | cases | ratio | limit | met | rounds |",
        "|---|---|---:|---:|---|---:|",
    ]
    for t in _targets():
        bench = by_name.get(t.bench)
        if bench is None or (len(bench.cases) < 2 and t.num[0] != t.den[0]):
            continue
        top, bottom = bench.cases[t.num[0]].config, bench.cases[t.den[0]].config
        found = ratios(
            results.records, t.bench, t.metric, (top, t.num[1]), (bottom, t.den[1])
        )
        s = Spread.of(found)
        cases = top if top == bottom else f"{top} / {bottom}"
        limit = f"{'<' if t.strict else '<='} {t.limit:.2f}"
        if s is None:
            lines.append(f"| {t.what} | {cases} | - | {limit} | n/a | - |")
            continue
        within = sum(t.within(x) for x in found)
        verdict = "yes" if t.within(s.median) else "NO"
        ratio = f"{s.median:.2f} [{s.low:.2f}-{s.high:.2f}]"
        lines.append(
            f"| {t.what} | {cases} | {ratio} | {limit} | {verdict} "
            f"| {within}/{len(found)} |"
        )
    return lines
