"""Score the linker on every development set (python3 benchmarks/score_linking.py [-v]).

For each set: link every episode of its feed(s) on title and notes (as
``companion topics --source FEED --json --no-transcripts`` does), write the predictions, and
run ``../shared/tools/score_links.py GOLD PRED --taxonomy ../shared/topics/taxonomy_v2.json``.
Prints the scorer's summary line per set; ``-v`` adds every false positive and false negative.
Also counts episodes of the nine real non-ML feeds that got a topic (it must be 0).

``--loso`` (leave one show out): for each real development show, fit the linker's weights and
threshold (companion/linking/scorer.py) on the other shows only (the other real shows and the
invented heldout_a) and score the show left out with them. ``--fit`` fits them on every set
and rewrites companion/data/link_scorer.toml.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TOPICS = SHARED / "topics"
TAXONOMY = TOPICS / "taxonomy_v2.json"
HELDOUT_A = ROOT / "tests" / "data" / "linking" / "heldout_a"
SCORER_FILE = ROOT / "companion" / "data" / "link_scorer.toml"
FIT_COMMAND = "python benchmarks/score_linking.py --fit"
# name -> (gold file, feeds). The first three are real shows; heldout_a is invented.
SETS = {
    "gold_dev_v2": (TOPICS / "gold_dev_v2.json", [TOPICS / "dev_feed.xml"]),
    "dev_other": (TOPICS / "dev_other" / "gold_v2.json", [TOPICS / "dev_other" / "feed.xml"]),
    "dev_third": (TOPICS / "dev_third" / "gold_v2.json", [TOPICS / "dev_third" / "feed.xml"]),
    "heldout_a": (HELDOUT_A / "gold.json", sorted(HELDOUT_A.glob("feed_*.xml"))),
}
REAL_SHOWS = ("gold_dev_v2", "dev_other", "dev_third")
NON_ML = sorted((SHARED / "feeds" / "real").glob("*.xml"))

if TYPE_CHECKING:
    from companion.linking import Linker
    from companion.linking.scorer import Row, Scorer
    from companion.models import Catalog, Episode


@dataclass(frozen=True)
class LabelledSet:
    name: str
    gold_path: Path
    gold: dict[str, set[str]]
    episodes: list[Episode]


def load_set(name: str) -> LabelledSet:
    from companion.ingest import load_feed

    gold_path, feeds = SETS[name]
    raw = json.loads(gold_path.read_text(encoding="utf-8"))
    episodes = [e for feed in feeds for e in load_feed(str(feed))[1]]
    return LabelledSet(name, gold_path, {g: set(v["topics"]) for g, v in raw.items()}, episodes)


def rows_of(labelled: LabelledSet, linker: Linker) -> tuple[list[Row], int]:
    """Every candidate topic with a counted mention, as a fitting row, and how many gold links
    have no such candidate."""
    from companion.linking import candidate_mentions, features
    from companion.linking.scorer import Row

    rows: list[Row] = []
    missed = 0
    for episode in labelled.episodes:
        gold = labelled.gold.get(episode.guid, set())
        by_topic = candidate_mentions(episode, linker)
        counted = {t: ms for t, ms in by_topic.items() if any(m.counts for m in ms)}
        values = features(counted)
        rows += [Row(values[t], t in gold) for t in counted]
        missed += len(gold - set(counted))
    return rows, missed


def predictions(labelled: LabelledSet, linker: Linker) -> dict[str, list[str]]:
    from companion.linking import link

    return {e.guid: [item.topic.id for item in link(e, linker)] for e in labelled.episodes}


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


def summary(name: str, result: dict[str, object]) -> str:
    return (
        f"{name:<12} P {result['precision']:.3f}  R {result['recall']:.3f}  "
        f"F1 {result['f1']:.3f}  exact {result['exact_match']:.3f}  "
        f"no-math acc {result['no_math_accuracy']:.3f}  "
        f"(tp {result['tp']} fp {result['fp']} fn {result['fn']})"
    )


def errors(labelled: LabelledSet, result: dict[str, object]) -> list[str]:
    titles = {e.guid: e.title for e in labelled.episodes}
    episodes = result["per_episode"]
    assert isinstance(episodes, dict)
    return [
        f"    {titles.get(guid, guid)[:56]:<56} FP {row['fp']}  FN {row['fn']}"
        for guid, row in episodes.items()
        if row["fp"] or row["fn"]
    ]


def non_ml_set() -> LabelledSet:
    """The nine real non-ML shows: every episode has no math."""
    from companion.ingest import load_feed

    episodes = [e for feed in NON_ML for e in load_feed(str(feed))[1]]
    return LabelledSet("non-ML", Path(), {}, episodes)


def fit_on(names: Sequence[str], sets: dict[str, LabelledSet], linker: Linker) -> Scorer:
    """Fit on the named sets and the real non-ML shows (all no math)."""
    from companion.linking.scorer import fit

    rows, missed = rows_of(sets["non-ML"], linker) if "non-ML" in sets else ([], 0)
    for name in names:
        more, lost = rows_of(sets[name], linker)
        rows += more
        missed += lost
    return fit(rows, missed)


def leave_one_show_out(catalog: Catalog, verbose: bool) -> None:
    from companion.linking import Linker

    sets = {name: load_set(name) for name in SETS} | {"non-ML": non_ml_set()}
    linker = Linker.of(catalog)
    print("leave one show out: weights fit on the other sets, scored on the show left out")
    for held in REAL_SHOWS:
        scorer = fit_on([n for n in SETS if n != held], sets, linker)
        result = score(sets[held].gold_path, predictions(sets[held], Linker.of(catalog, scorer)))
        print(summary(held, result))
        weights = " ".join(f"{w:+.1f}" for w in scorer.weights)
        print(f"{'':<12} bias {scorer.bias:+.2f}  weights {weights}  threshold {scorer.threshold}")
        if verbose:
            print("\n".join(errors(sets[held], result)))


def refit(catalog: Catalog) -> None:
    from companion.linking import Linker
    from companion.linking.scorer import FEATURES, write_scorer

    sets = {name: load_set(name) for name in SETS} | {"non-ML": non_ml_set()}
    scorer = fit_on(list(SETS), sets, Linker.of(catalog))
    write_scorer(scorer, SCORER_FILE, FIT_COMMAND)
    where = SCORER_FILE.relative_to(ROOT)
    print(f"wrote {where}: bias {scorer.bias:+.3f}, threshold {scorer.threshold}")
    for name, weight in zip(FEATURES, scorer.weights, strict=True):
        print(f"    {name:<10}{weight:+.3f}")


def non_ml_linked(linker: Linker) -> tuple[int, int, list[str]]:
    from companion.ingest import load_feed
    from companion.linking import link

    total, bad = 0, []
    for feed in NON_ML:
        _show, episodes = load_feed(str(feed))
        for episode in episodes:
            total += 1
            found = link(episode, linker)
            if found:
                bad.append(f"{feed.name}: {episode.title!r} -> {[t.topic.id for t in found]}")
    return total, len(bad), bad


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every error")
    parser.add_argument("--loso", action="store_true", help="leave one show out")
    parser.add_argument("--fit", action="store_true", help="refit the packaged weights")
    parser.add_argument("sets", nargs="*", default=list(SETS), help="sets to score")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.WARNING)
    from companion.linking import Linker
    from companion.topics import load_catalog

    catalog = load_catalog()
    if args.fit:
        refit(catalog)
        return
    if args.loso:
        leave_one_show_out(catalog, args.verbose)
        return
    linker = Linker.of(catalog)
    for name in args.sets:
        if name not in SETS:
            sys.exit(f"unknown set {name!r}: one of {', '.join(SETS)}")
        labelled = load_set(name)
        result = score(labelled.gold_path, predictions(labelled, linker))
        print(summary(name, result))
        if args.verbose:
            print("\n".join(errors(labelled, result)))
    total, bad, lines = non_ml_linked(linker)
    print(f"real non-ML feeds: {total} episodes, {bad} with a topic")
    for line in lines[:20]:
        print("    " + line)


if __name__ == "__main__":
    main()
