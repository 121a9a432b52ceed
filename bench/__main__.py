"""``python -m bench``: run the suite, print the tables, write the files.

Writes into --out: results.md (the tables printed at the end), results.json
(every figure of every round, plus the summaries), headline.png (ratios to
the baseline, if matplotlib imports) and logs/ (the echo servers' stderr).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import report, suite, targets
from bench.runner import ROOT, Results, interleave

REQUIRES = {"refloop": "refloop", "uvloop": "uvloop", "trio": "trio", "curio": "curio"}
"""Peer name prefix -> the module it needs."""


def _log(message: str) -> None:
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()


def _installed(module: str) -> bool:
    if module == "refloop":
        return (ROOT / "refloop" / "__init__.py").exists() or bool(
            importlib.util.find_spec("refloop")
        )
    return importlib.util.find_spec(module) is not None


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for dist in ("uvloop", "trio", "curio", "matplotlib"):
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = "not installed"
    try:
        found["refloop"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        found["refloop"] = "unknown commit"
    return found


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark refloop against asyncio, uvloop, trio, curio "
        "and a pure-Python floor, interleaved round by round.",
    )
    p.add_argument("--quick", action="store_true", help="smoke run, under a minute")
    p.add_argument(
        "--rounds", type=int, help="rounds per benchmark (default 3, quick 2)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("bench/results"),
        help="output folder (default bench/results)",
    )
    p.add_argument(
        "--only", help="comma-separated benchmarks: echo,switch,timers,idle,sync,memory"
    )
    p.add_argument(
        "--peers", help="comma-separated peers to keep (the baseline always runs)"
    )
    p.add_argument("--baseline", default="floor", help="the peer ratios are taken to")
    p.add_argument("--seconds", type=float, help="echo measuring window per run")
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = _parse(argv)
    rounds = args.rounds or (2 if args.quick else 3)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    results = Results()
    benches = suite.build(args.quick, args.seconds, out.resolve() / "logs")
    if args.only:
        wanted = set(args.only.split(","))
        benches = [b for b in benches if b.name in wanted]
    keep = set(args.peers.split(",")) | {args.baseline} if args.peers else None
    missing = {m for m in set(REQUIRES.values()) if not _installed(m)}
    for m in sorted(missing):
        results.notes.append(f"{m} is not installed: its peers were skipped")
    benches = [
        replace(
            b,
            peers=tuple(
                peer
                for peer in b.peers
                if (keep is None or peer in keep)
                and REQUIRES.get(peer.split("-")[0]) not in missing
            ),
        )
        for b in benches
    ]
    started = time.monotonic()
    for bench in benches:
        n = min(rounds, bench.max_rounds or rounds)
        shape = f"{len(bench.cases)} cases x {len(bench.peers)} peers x {n} rounds"
        _log(f"{bench.name}: {shape}")
        interleave(
            bench.name,
            bench.cases,
            bench.peers,
            n,
            bench.open_round,
            results,
            _log,
        )
    elapsed = time.monotonic() - started
    for bench in benches:
        if not any(
            r.bench == bench.name and r.peer == args.baseline for r in results.records
        ):
            results.failures += 1
            results.notes.append(f"{bench.name}: no figures for {args.baseline}")
    meta: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "argv": argv,
        "mode": "quick" if args.quick else "default",
        "rounds": rounds,
        "baseline": args.baseline,
        "elapsed_s": round(elapsed, 1),
        "machine": f"{os.cpu_count()} cores, {platform.platform()}",
        "versions": _versions(),
    }
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    header = [
        "# refloop benchmarks",
        "",
        f"{meta['date']}, {meta['mode']} mode, {rounds} rounds, {elapsed:.0f} s. "
        f"{meta['machine']}. {versions}.",
    ]
    lines = targets.check(benches, results) if any(b.name for b in benches) else []
    text = report.markdown(benches, results, args.baseline, rounds, header, lines)
    (out / "results.md").write_text(text)
    report.write_json(out / "results.json", meta, benches, results, args.baseline)
    plotted = report.plot(out / "headline.png", benches, results, args.baseline)
    sys.stdout.write(text + "\n")
    _log(plotted)
    _log(f"wrote {out / 'results.md'} and {out / 'results.json'} in {elapsed:.0f} s")
    if results.failures:
        _log(f"{results.failures} peer runs failed: see the notes")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
