"""Timing, medians, the printed table and the JSON file: what every benchmark shares.

A benchmark returns `Figure`s: lashtui's samples, the peer's samples measured in the same
run (interleaved with lashtui's where the module can, so drift on a noisy machine hits
both), and the target. Quoted numbers are medians; min-max shows the spread.

A figure says which registry store it measured when that is not the SQLite file (`store`,
shown after its id: "P1 (PostgreSQL)"). A figure that could not be measured here (no
PostgreSQL server) is still reported, with no samples and its one-line reason in
`not_measured`: the table shows "not measured" and the reason, the JSON `measured: false`,
and it neither holds nor fails its target.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

N = TypeVar("N", int, float)


@dataclass
class Mode:
    quick: bool
    repeats: int
    # `--smoke` (what the test suite runs): quick, at the smallest sizes that still measure
    # every figure, where a module gives one; its numbers are no figures, only proof that
    # each is still measured.
    smoke: bool = False

    def size(self, quick: N, full: N, smoke: N | None = None) -> N:
        if self.smoke and smoke is not None:
            return smoke
        return quick if self.quick else full

    @property
    def name(self) -> str:
        return "smoke" if self.smoke else "quick" if self.quick else "full"


@dataclass
class Figure:
    id: str
    figure: str
    unit: str  # e.g. "ops/s" (higher is better) or "s" (lower is better)
    lashtui: list[float]
    peer_name: str | None = None
    peer: list[float] = field(default_factory=list)
    target: str = ""
    # "ratio>=X": lashtui/peer median ratio; "max<=X": lashtui median at most X;
    # "all<=X": every lashtui sample at most X (a bound that must hold in every run).
    rule: str = ""
    notes: list[str] = field(default_factory=list)
    compare: bool = True  # False: the peer is context only, no ratio
    store: str = ""  # the registry store measured, when not SQLite: "PostgreSQL"
    not_measured: str | None = None  # why there are no samples (one line), if there are none

    @classmethod
    def unmeasured(cls, id: str, figure: str, unit: str, reason: str, **fields: Any) -> Figure:
        """The figure, reported with `reason` instead of samples (neither side measured)."""
        return cls(id=id, figure=figure, unit=unit, lashtui=[], not_measured=reason, **fields)

    @property
    def label(self) -> str:
        """The id as the table shows it: with the store, when it is not SQLite."""
        return f"{self.id} ({self.store})" if self.store else self.id

    @property
    def median(self) -> float | None:
        return statistics.median(self.lashtui) if self.lashtui else None

    @property
    def peer_median(self) -> float | None:
        return statistics.median(self.peer) if self.peer else None

    @property
    def ratio(self) -> float | None:
        peer, median = self.peer_median, self.median
        if not peer or not median or not self.compare:
            return None
        if self.unit.endswith("/s"):
            return median / peer
        return peer / median  # a time: how many times faster than the peer

    @property
    def holds(self) -> bool | None:
        if not self.rule or self.median is None:
            return None  # no target, or nothing measured to hold it to
        kind, _, bound = self.rule.partition(":")
        if kind == "ratio>=":
            return self.ratio is not None and self.ratio >= float(bound)
        if kind == "max<=":
            return self.median <= float(bound)
        if kind == "all<=":
            return max(self.lashtui) <= float(bound)
        raise ValueError(self.rule)

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data.update(
            median=self.median,
            peer_median=self.peer_median,
            ratio=self.ratio,
            holds=self.holds,
            runs=len(self.lashtui),
            measured=self.not_measured is None,
        )
        return data


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@contextmanager
def scratch(prefix: str) -> Iterator[str]:
    """A temp directory for registry files, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"lashtui-bench-{prefix}-") as path:
        yield path


def stdlib_connect(path: str) -> sqlite3.Connection:
    """A stdlib connection set up as the store sets up its own: autocommit (explicit
    BEGIN IMMEDIATE), WAL, synchronous=NORMAL, foreign keys on."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 15000")
    conn.execute("PRAGMA journal_mode=WAL").fetchone()
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 10 else f"{value:.1f} s"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def spread(samples: list[float], unit: str) -> str:
    if not samples:
        return "-"
    text = f"{fmt(statistics.median(samples), unit)}"
    if len(samples) > 1:
        text += f" ({fmt(min(samples), unit)}-{fmt(max(samples), unit)}, n={len(samples)})"
    return text


def print_table(figures: list[Figure]) -> None:
    head = ("id", "figure", "unit", "lashtui median (min-max)", "peer median (min-max)",
            "ratio", "target", "holds")
    rows = [head]
    for f in figures:
        peer = f"{f.peer_name}: {spread(f.peer, f.unit)}" if f.peer_name else "-"
        holds = {None: "-", True: "yes", False: "NO"}[f.holds]
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "-"
        unit = "ms" if f.unit == "s" else f.unit
        ours = spread(f.lashtui, f.unit) if f.not_measured is None else "not measured"
        rows.append((f.label, f.figure, unit, ours, peer, ratio, f.target, holds))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for n, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    for f in figures:
        for note in f.notes:
            print(f"  {f.label} {f.figure}: {note}")
    unmeasured: dict[str, list[str]] = {}  # reason -> the labels it kept from being measured
    for f in figures:
        if f.not_measured is not None and f.label not in unmeasured.get(f.not_measured, []):
            unmeasured.setdefault(f.not_measured, []).append(f.label)
    for reason, labels in unmeasured.items():
        print(f"  {', '.join(labels)}: not measured: {reason}")


def machine() -> dict[str, object]:
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
    }


def write_json(path: str, figures: list[Figure], mode: Mode) -> None:
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "mode": mode.name,
        "repeats": mode.repeats,
        "figures": [f.as_json() for f in figures],
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
