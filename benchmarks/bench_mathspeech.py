"""Benchmark: how fast verbalize speaks 1,000 equations (python3 benchmarks/bench_mathspeech.py)."""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion.mathspeech import verbalize  # noqa: E402

CORPUS = ROOT.parent / "shared" / "math" / "dev_equations.jsonl"
DATA = ROOT / "tests" / "data" / "mathspeech"
PAPERS = DATA / "paper_equations.jsonl"
CASES = [DATA / "cases.txt", DATA / "paper_cases.txt"]
SRE_MS_PER_EQUATION = 7.9  # SRE ClearSpeak median, from ../shared/math/README.md
N = 1000
RUNS = 9


def equations() -> list[str]:
    """1,000 equations: the dev corpora and the rule cases, with varied letters, repeated."""
    base: list[str] = []
    for corpus in (CORPUS, PAPERS):
        if corpus.is_file():
            base += [json.loads(line)["latex"] for line in corpus.read_text().splitlines() if line]
    for cases in CASES:
        for line in cases.read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                latex = line.split("  =>  ")[0]
                base.append(re.sub(r"^\[(brief|normal|verbose)\] ", "", latex))
    out: list[str] = []
    swaps = [("x", "x"), ("x", "u"), ("y", "v"), ("n", "N"), ("i", "k")]
    while len(out) < N:
        for latex in base:
            old, new = swaps[(len(out) // len(base)) % len(swaps)]
            out.append(re.sub(rf"(?<![\\a-zA-Z]){old}(?![a-zA-Z])", new, latex))
    return out[:N]


def main() -> None:
    eqs = equations()
    walls, cpus = [], []
    for _ in range(RUNS):
        wall, cpu = time.perf_counter(), time.process_time()
        for latex in eqs:
            verbalize(latex)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    wall_median, cpu_median = statistics.median(walls), statistics.median(cpus)
    ms = wall_median / len(eqs) * 1000
    print(
        f"equations: {len(eqs)}  runs: {RUNS}  (load average {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} cores)"
    )
    print(
        f"time for {len(eqs)} equations: median {wall_median:.3f} s wall "
        f"(best {min(walls):.3f} s), median {cpu_median:.3f} CPU s"
    )
    print(
        f"equations per second: {len(eqs) / wall_median:,.0f} (wall), "
        f"{len(eqs) / cpu_median:,.0f} (CPU: what a machine of its own would give)"
    )
    print(
        f"per equation: {ms:.3f} ms; SRE ClearSpeak median {SRE_MS_PER_EQUATION} ms "
        f"-> {SRE_MS_PER_EQUATION / ms:.0f}x faster"
    )


if __name__ == "__main__":
    main()
