"""Benchmark: how fast verbalize speaks 1,000 equations (python3 benchmarks/bench_mathspeech.py)."""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion.mathspeech import verbalize  # noqa: E402

CORPUS = ROOT.parent / "shared" / "math" / "dev_equations.jsonl"
CASES = ROOT / "tests" / "data" / "mathspeech" / "cases.txt"
SRE_MS_PER_EQUATION = 7.9  # SRE ClearSpeak median, from ../shared/math/README.md
N = 1000


def equations() -> list[str]:
    """1,000 equations: the dev corpus and the rule cases, with varied letters, repeated."""
    base: list[str] = []
    if CORPUS.is_file():
        base += [json.loads(line)["latex"] for line in CORPUS.read_text().splitlines() if line]
    for line in CASES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            latex = line.split("  =>  ")[0]
            base.append(latex.split("] ", 1)[1] if latex.startswith("[") else latex)
    out: list[str] = []
    swaps = [("x", "x"), ("x", "u"), ("y", "v"), ("n", "N"), ("i", "k")]
    while len(out) < N:
        for latex in base:
            old, new = swaps[(len(out) // len(base)) % len(swaps)]
            out.append(re.sub(rf"(?<![\\a-zA-Z]){old}(?![a-zA-Z])", new, latex))
    return out[:N]


def main() -> None:
    eqs = equations()
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for latex in eqs:
            verbalize(latex)
        runs.append(time.perf_counter() - start)
    best, median = min(runs), statistics.median(runs)
    ms = median / len(eqs) * 1000
    print(f"equations: {len(eqs)}  runs: {len(runs)}")
    print(f"time for {len(eqs)} equations: median {median:.3f} s, best {best:.3f} s")
    print(f"equations per second: {len(eqs) / median:,.0f}")
    print(
        f"per equation: {ms:.3f} ms; SRE ClearSpeak median {SRE_MS_PER_EQUATION} ms "
        f"-> {SRE_MS_PER_EQUATION / ms:.0f}x faster"
    )


if __name__ == "__main__":
    main()
