"""Summaries: medians with their range, and ratios paired round by round.

A ratio is never a ratio of medians. For peer P against baseline B it is
P's figure over B's figure in the same round and case, one per round; the
table shows the median of those ratios and their range. Figures from the
same round share whatever the machine was doing at that moment, so pairing
cancels drift that would otherwise swamp a 10% difference.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bench.runner import Record


@dataclass(frozen=True)
class Spread:
    """Median, min and max of some figures, and how many there were."""

    median: float
    low: float
    high: float
    n: int

    @staticmethod
    def of(values: Sequence[float]) -> Spread | None:
        if not values:
            return None
        return Spread(statistics.median(values), min(values), max(values), len(values))


def by_round(
    records: Iterable[Record], bench: str, config: str, peer: str, metric: str
) -> dict[int, float]:
    """One peer's figure for one metric, keyed by round."""
    return {
        r.round: r.metrics[metric]
        for r in records
        if r.bench == bench
        and r.config == config
        and r.peer == peer
        and metric in r.metrics
    }


def figures(
    records: Sequence[Record], bench: str, config: str, peer: str, metric: str
) -> Spread | None:
    return Spread.of(list(by_round(records, bench, config, peer, metric).values()))


def ratios(
    records: Sequence[Record],
    bench: str,
    metric: str,
    num: tuple[str, str],
    den: tuple[str, str],
) -> list[float]:
    """Ratios num/den, one per round that has both; num, den are (config, peer)."""
    top = by_round(records, bench, num[0], num[1], metric)
    bottom = by_round(records, bench, den[0], den[1], metric)
    return [top[r] / bottom[r] for r in sorted(top.keys() & bottom.keys()) if bottom[r]]


def paired(
    records: Sequence[Record],
    bench: str,
    metric: str,
    num: tuple[str, str],
    den: tuple[str, str],
) -> Spread | None:
    """The spread of `ratios`: what the tables call a paired ratio."""
    return Spread.of(ratios(records, bench, metric, num, den))
