"""Score the linker on every development set (python3 benchmarks/score_linking.py [-v]).

For each set: link every episode of its feed(s) on title and notes (as
``companion topics --source FEED --json --no-transcripts`` does), write the predictions, and
run ``../shared/tools/score_links.py GOLD PRED --taxonomy ../shared/topics/taxonomy_v2.json``.
Prints the scorer's summary line per set; ``-v`` adds every false positive and false negative.
Also counts episodes of the nine real non-ML feeds that got a topic (it must be 0).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TAXONOMY = SHARED / "topics" / "taxonomy_v2.json"
HELDOUT_A = ROOT / "tests" / "data" / "linking" / "heldout_a"
# name -> (gold file, feeds)
SETS = {
    "gold_dev_v2": (SHARED / "topics" / "gold_dev_v2.json", [SHARED / "topics" / "dev_feed.xml"]),
    "dev_other": (
        SHARED / "topics" / "dev_other" / "gold.json",
        [SHARED / "topics" / "dev_other" / "feed.xml"],
    ),
    "heldout_a": (HELDOUT_A / "gold.json", sorted(HELDOUT_A.glob("feed_*.xml"))),
}


def predictions(feeds: list[Path]) -> dict[str, list[str]]:
    from companion.ingest import load_feed
    from companion.topics import link, load_catalog

    catalog = load_catalog()
    found: dict[str, list[str]] = {}
    for feed in feeds:
        _show, episodes = load_feed(str(feed))
        for episode in episodes:
            found[episode.guid] = [item.topic.id for item in link(episode, catalog)]
    return found


def score(gold: Path, preds: dict[str, list[str]]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pred.json"
        path.write_text(json.dumps(preds), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(SHARED / "tools" / "score_links.py"), str(gold), str(path),
             "--json", "--taxonomy", str(TAXONOMY)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout)
    return result


def non_ml_linked() -> tuple[int, int, list[str]]:
    from companion.ingest import load_feed
    from companion.topics import link, load_catalog

    catalog = load_catalog()
    total, bad = 0, []
    for feed in sorted((SHARED / "feeds" / "real").glob("*.xml")):
        _show, episodes = load_feed(str(feed))
        for episode in episodes:
            total += 1
            found = link(episode, catalog)
            if found:
                bad.append(f"{feed.name}: {episode.title!r} -> {[t.topic.id for t in found]}")
    return total, len(bad), bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every error")
    parser.add_argument("sets", nargs="*", default=list(SETS), help="sets to score")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.WARNING)
    for name in args.sets:
        gold_path, feeds = SETS[name]
        result = score(gold_path, predictions(feeds))
        print(
            f"{name:<12} P {result['precision']:.3f}  R {result['recall']:.3f}  "
            f"F1 {result['f1']:.3f}  exact {result['exact_match']:.3f}  "
            f"no-math acc {result['no_math_accuracy']:.3f}  "
            f"(tp {result['tp']} fp {result['fp']} fn {result['fn']})"
        )
        if args.verbose:
            gold = json.loads(gold_path.read_text(encoding="utf-8"))
            episodes = result["per_episode"]
            assert isinstance(episodes, dict)
            for guid, row in episodes.items():
                if row["fp"] or row["fn"]:
                    title = gold[guid]["title"][:50]
                    print(f"    {guid[:14]:<14} {title:<50} FP {row['fp']}  FN {row['fn']}")
    total, bad, lines = non_ml_linked()
    print(f"real non-ML feeds: {total} episodes, {bad} with a topic")
    for line in lines[:20]:
        print("    " + line)


if __name__ == "__main__":
    main()
