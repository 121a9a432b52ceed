"""Output: Markdown tables, the JSON of every figure, and the headline plot."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.runner import Metric, Results
from bench.stats import Spread, figures, paired
from bench.suite import HEADLINES, Bench, pick


def _num(x: float, digits: int) -> str:
    if math.isnan(x):
        return "nan"
    return f"{x:,.{digits}f}"


def _cell(s: Spread | None, digits: int) -> str:
    if s is None:
        return "-"
    if s.n == 1:
        return _num(s.median, digits)
    return f"{_num(s.median, digits)} [{_num(s.low, digits)}-{_num(s.high, digits)}]"


def _ratio(s: Spread | None) -> str:
    return _cell(s, 2)


def _ratio_to(s: Spread | None, peer: str, baseline: str) -> str:
    return "baseline" if peer == baseline and s is not None else _ratio(s)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _head(cells: Sequence[str], left: int) -> list[str]:
    rule = ["---"] * left + ["---:"] * (len(cells) - left)
    return [_row(cells), _row(rule)]


def bench_tables(
    bench: Bench, results: Results, baseline: str, rounds: int
) -> list[str]:
    """The Markdown section for one benchmark."""
    recs = [r for r in results.records if r.bench == bench.name]
    rounds = min(rounds, bench.max_rounds or rounds)
    lines = [f"## {bench.title}", "", bench.about, ""]
    lines.append(
        f"Median [min-max] over {rounds} rounds. `x {baseline}`: this peer's "
        f"figure over {baseline}'s in the same round, median [min-max] of those "
        "ratios. " + ", ".join(_direction(m) for m in bench.metrics) + "."
    )
    lines.append("")
    header = ["case", "peer"]
    for m in bench.metrics:
        header.append(m.label)
        if m.ratio:
            header.append(f"x {baseline}")
    lines += _head(header, 2)
    for case in bench.cases:
        for peer in bench.peers:
            if not any(r.config == case.config and r.peer == peer for r in recs):
                continue
            row = [case.config, peer]
            for m in bench.metrics:
                row.append(
                    _cell(figures(recs, bench.name, case.config, peer, m.key), m.digits)
                )
                if m.ratio:
                    ratio = paired(
                        recs,
                        bench.name,
                        m.key,
                        (case.config, peer),
                        (case.config, baseline),
                    )
                    row.append(_ratio_to(ratio, peer, baseline))
            lines.append(_row(row))
    if bench.scaling and len(bench.cases) > 1:
        lines += ["", _scaling_title(bench), ""]
        first = bench.cases[0].config
        header = ["peer"] + [
            f"{m.label}: {c.config} / {first}"
            for m in bench.metrics
            for c in bench.cases[1:]
        ]
        lines += _head(header, 1)
        for peer in bench.peers:
            row = [peer]
            for m in bench.metrics:
                for case in bench.cases[1:]:
                    ratio = paired(
                        recs, bench.name, m.key, (case.config, peer), (first, peer)
                    )
                    row.append(_ratio(ratio))
            if any(cell != "-" for cell in row[1:]):
                lines.append(_row(row))
    lines.append("")
    return lines


def _direction(m: Metric) -> str:
    return f"{m.label}: {'lower' if m.lower_is_better else 'higher'} is better"


def _scaling_title(bench: Bench) -> str:
    return (
        f"Scaling: each peer's figure in a case over its own in the first case "
        f"({bench.cases[0].config}), paired by round."
    )


def markdown(
    benches: Sequence[Bench],
    results: Results,
    baseline: str,
    rounds: int,
    header: Sequence[str],
    targets: Sequence[str],
) -> str:
    lines = [*header, ""]
    for bench in benches:
        lines += bench_tables(bench, results, baseline, rounds)
    if targets:
        lines += [*targets, ""]
    if results.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in results.notes] + [""]
    return "\n".join(lines)


def write_json(
    path: Path,
    meta: dict[str, Any],
    benches: Sequence[Bench],
    results: Results,
    baseline: str,
) -> None:
    summary = []
    for bench in benches:
        recs = [r for r in results.records if r.bench == bench.name]
        for case in bench.cases:
            for peer in bench.peers:
                for m in bench.metrics:
                    spread = figures(recs, bench.name, case.config, peer, m.key)
                    if spread is None:
                        continue
                    ratio = paired(
                        recs,
                        bench.name,
                        m.key,
                        (case.config, peer),
                        (case.config, baseline),
                    )
                    summary.append(
                        {
                            "bench": bench.name,
                            "config": case.config,
                            "peer": peer,
                            "metric": m.key,
                            "figures": asdict(spread),
                            f"ratio_to_{baseline}": asdict(ratio) if ratio else None,
                        }
                    )
    doc = {
        "meta": meta,
        "benchmarks": [
            {
                "name": b.name,
                "title": b.title,
                "peers": list(b.peers),
                "metrics": [asdict(m) for m in b.metrics],
                "cases": [
                    {"config": c.config, "params": dict(c.params)} for c in b.cases
                ],
            }
            for b in benches
        ],
        "records": [asdict(r) for r in results.records],
        "summary": summary,
        "notes": results.notes,
    }
    path.write_text(json.dumps(doc, indent=1) + "\n")


def plot(path: Path, benches: list[Bench], results: Results, baseline: str) -> str:
    """Draw each headline's ratios to the baseline; return what happened."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except Exception as exc:
        return f"no plot: matplotlib is not importable ({exc})"
    rows: list[tuple[str, dict[str, Spread]]] = []
    peers: list[str] = []
    for headline in HEADLINES:
        found = pick(benches, headline)
        if found is None:
            continue
        bench, case = found
        ratios = {}
        for peer in bench.peers:
            if peer == baseline:
                continue
            key = (case.config, peer)
            s = paired(
                results.records,
                bench.name,
                headline.metric,
                key,
                (case.config, baseline),
            )
            if s is not None:
                ratios[peer] = s
                if peer not in peers:
                    peers.append(peer)
        if ratios:
            rows.append((headline.label, ratios))
    if not rows:
        return "no plot: no headline figure has a baseline to compare with"
    total = sum(len(ratios) for _, ratios in rows) + len(rows)
    fig, ax = plt.subplots(figsize=(9, 1.0 + 0.16 * total))
    colours = {peer: plt.get_cmap("tab10")(j % 10) for j, peer in enumerate(peers)}
    y, ticks, labelled = 0.0, [], set()
    for label, ratios in rows:
        start = y
        for peer, spread in ratios.items():
            ax.barh(
                y,
                spread.median,
                height=0.85,
                xerr=[[spread.median - spread.low], [spread.high - spread.median]],
                color=colours[peer],
                label=None if peer in labelled else peer,
            )
            labelled.add(peer)
            y += 1
        ticks.append(((start + y - 1) / 2, label))
        y += 1
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_title(f"Headline figures against the {baseline}")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.set_yticks([t for t, _ in ticks], [label for _, label in ticks])
    ax.invert_yaxis()
    ax.set_xlabel(f"ratio to {baseline}, paired by round (lower is better, log scale)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"plot: {path}"
