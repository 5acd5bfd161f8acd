"""Benchmark: link every episode of the nine real feeds and the three dev sets
(python3 benchmarks/bench_linking.py).

Measures, in a fresh child process, the whole job as a user runs it: start Python, import
companion, load the catalog, read and parse the 17 feeds (9 real, the 2 shared dev feeds and
heldout_a's 6), link every episode on its title and notes (no transcripts: they are network
I/O, not linking). Then, in this process, the
parts: parsing, linking, and linking per episode. Also counts the episodes of the nine
non-ML shows that got a topic (it must be 0).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REAL = SHARED / "feeds" / "real"
DEV = [SHARED / "topics" / "dev_feed.xml", SHARED / "topics" / "dev_other" / "feed.xml"]
HELDOUT_A = sorted((ROOT / "tests" / "data" / "linking" / "heldout_a").glob("feed_*.xml"))
RUNS = 5

CHILD = """
import json, logging, sys, time
start = time.perf_counter()
logging.disable(logging.WARNING)
from companion.ingest import read_feed, parse_feed
from companion.linking import Linker, link
from companion.topics import load_catalog
linker = Linker.of(load_catalog())
episodes = linked = 0
non_ml_linked = 0
for path, non_ml in json.loads(sys.argv[1]):
    _show, found = parse_feed(read_feed(path), path)
    for episode in found:
        topics = link(episode, linker)
        episodes += 1
        linked += bool(topics)
        non_ml_linked += bool(topics) and non_ml
print(json.dumps({"seconds": time.perf_counter() - start, "episodes": episodes,
                  "linked": linked, "non_ml_linked": non_ml_linked}))
"""


def feeds() -> list[tuple[str, bool]]:
    real = sorted(REAL.glob("*.xml"))
    if len(real) != 9 or not all(path.is_file() for path in DEV):
        sys.exit(f"need ../shared/feeds/real/*.xml (9 feeds) and the dev feeds under {SHARED}")
    dev = DEV + HELDOUT_A
    return [(str(path), True) for path in real] + [(str(path), False) for path in dev]


def child_run(paths: list[tuple[str, bool]]) -> dict[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    result["wall"] = time.perf_counter() - started
    return result


def main() -> None:
    sys.path.insert(0, str(ROOT))
    import logging

    from companion.ingest import parse_feed, read_feed
    from companion.linking import Linker, link
    from companion.topics import load_catalog

    logging.disable(logging.WARNING)
    paths = feeds()
    runs = [child_run(paths) for _ in range(RUNS)]
    first = runs[0]
    print(
        f"feeds: {len(paths)} (9 real non-ML shows + {len(paths) - 9} dev feeds), episodes: "
        f"{first['episodes']:.0f}, linked: {first['linked']:.0f}, "
        f"non-ML episodes linked: {first['non_ml_linked']:.0f}"
    )
    walls = [run["wall"] for run in runs]
    inner = [run["seconds"] for run in runs]
    print(
        f"whole job in a fresh process (start Python, import, catalog, parse, link), "
        f"{RUNS} runs: median {statistics.median(walls):.2f} s, best {min(walls):.2f} s "
        f"(inside the process: median {statistics.median(inner):.2f} s)"
    )

    linker = Linker.of(load_catalog())
    parse_times, link_times = [], []
    episodes = []
    for _ in range(RUNS):
        started = time.perf_counter()
        episodes = [e for path, _ in paths for e in parse_feed(read_feed(path), path)[1]]
        parse_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        for episode in episodes:
            link(episode, linker)
        link_times.append(time.perf_counter() - started)
    link_median = statistics.median(link_times)
    print(
        f"parts, median of {RUNS}: parse {statistics.median(parse_times):.2f} s, "
        f"link {link_median:.2f} s ({link_median / len(episodes) * 1000:.2f} ms per "
        "episode)"
    )
    dev = [e for path, non_ml in paths if not non_ml for e in parse_feed(read_feed(path), path)[1]]
    words = long_transcript(dev)
    started = time.perf_counter()
    found = link(dev[0], linker, words)
    print(
        f"a three-hour transcript ({sum(len(c.text.split()) for c in words.transcript):,} words "
        f"in {len(words.transcript):,} cues) links in {time.perf_counter() - started:.2f} s "
        f"({len(found)} topics)"
    )


def long_transcript(episodes: list[Any], target_words: int = 36_000) -> Any:
    """A transcript of about ``target_words`` words, cue by cue, made of the notes' words."""
    from companion.models import Cue, EpisodeWords

    pieces = [
        " ".join(words[i : i + 12])
        for episode in episodes
        if (words := episode.description.split())
        for i in range(0, len(words), 12)
    ]
    cues, total, start = [], 0, 0.0
    while total < target_words:
        text = pieces[len(cues) % len(pieces)]
        cues.append(Cue(start, start + 3.0, text))
        total += len(text.split())
        start += 3.0
    return EpisodeWords(transcript=tuple(cues))


if __name__ == "__main__":
    main()
