"""Link an episode to the math topics its own words name or clearly explain.

Episode (title, notes, and its transcript and chapters when it has them) x catalog ->
ranked TopicLinks with evidence; ``explain`` gives every candidate and why it was kept or
dropped. The rules, each one a sentence a reader can check (the words they use are the
catalog's, ``companion/data/topics.toml``: aliases, ``[[implications]]``, ``[linking]`` cues):

* Text is normalized before matching (case, plurals, inflections, hyphens, possessives); web
  addresses are ignored; the longest phrase wins; a name repeated in brackets is one mention.
* *What* a phrase is: an alias or ``term`` names the math, in the catalog's words or plain
  ones ("averaging the squared errors"); a ``method`` is a named algorithm, model or product
  ("LSTM", "k-means"); a ``hint`` is an ambiguous word ("matrix"); a ``branch`` a branch of
  math ("calculus"); a blocker (no topics) a name that contains a topic word but is not it.
* *Where* it stands says what it feeds (a feature of the scorer, ``scorer.FEATURES``): a
  clear name in the title, a heading (or chapter title, glossary label), a sentence, or an
  item of a list; a method explained or named in passing; a hint; the transcript.
* A method counts in the title, a heading, or a sentence that goes on to explain it; named
  only in passing (a list, or sentences that do not explain it) it weighs little.
* A topic phrase that runs on into a capitalized name ending in a model word ("Bayesian
  Information Criterion") is part of that name.
* No evidence: sponsor reads, guest bios, link lists, notes about other episodes, negated
  mentions.
* The decision is learned: a small logistic regression (``companion/linking/scorer.py``)
  turns a topic's features (each count adds less than the one before; "alone" when nothing
  in the episode names a topic clearly) into a probability; topics at the threshold or
  above are kept, at most MAX_TOPICS. Its weights live in ``companion/data/link_scorer.toml``
  and ``benchmarks/score_linking.py --fit`` refits them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Literal

from companion.linking.match import Entry, Found, Index, Place, find_mentions, vocabulary
from companion.linking.scorer import FEATURES, Part, Scorer, count_value, load_scorer
from companion.linking.text import (
    Cues,
    Passage,
    chapter_passages,
    description_passages,
    normalize_tokens,
    stem,
    title_passages,
    transcript_passages,
    with_paper_names,
)
from companion.models import (
    Catalog,
    Episode,
    EpisodeWords,
    Evidence,
    ImplicationKind,
    Topic,
    TopicLink,
)
from companion.text import clock

__all__ = [
    "MAX_TOPICS",
    "Candidate",
    "Linker",
    "Mention",
    "clock",
    "describe",
    "explain",
    "link",
    "normalize_tokens",
    "stem",
]

MAX_TOPICS = 8
MAX_EVIDENCE = 3
# What one mention feeds (a feature of the scorer), by what the phrase is and where it stands:
# an alias or term names the math; a named method counts where it is explained; a hint or a
# branch of math is an ambiguous word.
_FEATURE_OF = {
    "term": {
        "title": "title",
        "chapter": "heading",
        "heading": "heading",
        "glossary": "heading",
        "explained": "sentence",
        "prose": "sentence",
        "listed": "listed",
    },
    "method": {
        "title": "method",
        "chapter": "method",
        "heading": "method",
        "explained": "method",
        "prose": "passing",
        "glossary": "passing",
        "listed": "passing",
    },
}
# A transcript mention adds this much to the "spoken" feature (at most 1 in all); a topic
# only the transcript names needs SPOKEN_ALONE of it.
SPOKEN = {"term": 0.2, "method": 0.1, "hint": 0.1, "branch": 0.05}
SPOKEN_ALONE = 0.5
# Mentions that name the math clearly: an episode with none is "alone" (only hints or
# methods in passing).
_BEST_FIRST = ("title", "heading", "sentence", "method", "listed")
_CLEAR = frozenset(_BEST_FIRST)


# What a mention is: its entry's kind, or an anchor (a training method in a sentence about
# training, weighed as a term).
MentionKind = Literal["alias", "term", "method", "hint", "branch", "anchor"]


@dataclass(frozen=True, slots=True)
class Mention:
    """One phrase found for a topic, the feature it feeds, and why it does not count."""

    evidence: Evidence
    kind: MentionKind
    place: Place
    feature: str  # the scorer's feature it adds to (scorer.FEATURES)
    note: str  # why it does not count, or "" when it does

    @property
    def counts(self) -> bool:
        return not self.note


@dataclass(frozen=True, slots=True)
class Candidate:
    """A topic the episode's words touch, with the decision about it."""

    topic: Topic
    score: float  # the scorer's probability that the topic is linked
    kept: bool
    reason: str
    mentions: tuple[Mention, ...]
    parts: tuple[Part, ...] = ()  # each feature's part in the score


@dataclass(frozen=True, slots=True)
class Linker:
    """A catalog made ready for linking: its vocabulary indexed, its cues compiled, and the
    scorer's weights. Make one per run (a build, a command) and link every episode with it."""

    catalog: Catalog
    index: Index
    cues: Cues
    scorer: Scorer

    @classmethod
    def of(cls, catalog: Catalog, scorer: Scorer | None = None) -> Linker:
        return cls(
            catalog,
            vocabulary(catalog),
            Cues.compile(catalog.cues),
            scorer if scorer is not None else default_scorer(),
        )


@cache
def default_scorer() -> Scorer:
    """The packaged weights (companion/data/link_scorer.toml)."""
    return load_scorer()


def _linker(linker: Linker | Catalog) -> Linker:
    return linker if isinstance(linker, Linker) else Linker.of(linker)


def passages(
    episode: Episode, linker: Linker | Catalog, words: EpisodeWords | None = None
) -> list[Passage]:
    """The episode's text as passages: title, description, chapter titles, transcript."""
    cues = _linker(linker).cues
    found = title_passages(episode.title) + description_passages(episode.description, cues)
    if words is not None:
        found += chapter_passages([(c.start, c.title) for c in words.chapters], cues)
        found += transcript_passages(words.transcript, cues, words.untimed_text)
    return with_paper_names(found)


def _weigh(item: Found) -> Mention:
    entry: Entry = item.entry
    if entry.kind == "blocker":  # find_mentions never finds one
        raise ValueError(f"{entry.phrase!r}: a blocker is no mention")
    kind: MentionKind = entry.kind
    strength: ImplicationKind = "term" if entry.kind == "alias" else entry.kind
    if item.training:  # an anchor (a training method) in a sentence about training
        kind, strength = "anchor", "term"
    place = item.place
    if strength == "method" and place in ("prose", "glossary"):  # what matters is whether
        place = "explained" if item.explained else "prose"  # the text explains the method
    if place == "transcript":
        feature = "spoken"
    elif strength in _FEATURE_OF:
        feature = _FEATURE_OF[strength].get(place, "sentence")
    else:
        feature = "hint"
    note = item.excluded
    if not note and strength == "branch" and place == "listed":
        note = "a branch of math named in a list"
    return Mention(item.evidence, kind, place, feature, note)


def _for_topic(mention: Mention, entry: Entry, topic_id: str) -> Mention:
    """A method named in passing whose name is the topic's own ("GANs" for GANs) feeds
    "named": the episode names that topic, if not the math it implies."""
    if mention.feature == "passing" and topic_id in entry.own:
        return replace(mention, feature="named")
    return mention


def features(
    by_topic: Mapping[str, Sequence[Mention]],
) -> dict[str, dict[str, float]]:
    """Each candidate topic's feature values (scorer.FEATURES) from its counted mentions."""
    values: dict[str, dict[str, float]] = {}
    for topic_id, mentions in by_topic.items():
        counts: dict[str, int] = {}
        for m in mentions:
            if m.counts and m.feature != "spoken":
                counts[m.feature] = counts.get(m.feature, 0) + 1
        spoken = _spoken_value([m for m in mentions if m.counts and m.feature == "spoken"])
        best = next((name for name in _BEST_FIRST if name in counts), "")
        if best:  # the best clear mention, and how many more: weaker ones add nothing
            more = sum(n for name, n in counts.items() if name in _CLEAR) - 1
            row = {best: 1.0} | ({"more": count_value(more)} if more else {})
        else:
            row = {name: count_value(n) for name, n in counts.items()}
        if spoken:
            row["spoken"] = spoken
        values[topic_id] = row
    clear = any(
        m.counts
        and (m.feature in _CLEAR or (m.feature == "spoken" and m.kind in ("alias", "term")))
        for mentions in by_topic.values()
        for m in mentions
    )
    for row in values.values():
        if not clear:  # hints count only in an episode that names some topic clearly
            row.pop("hint", None)
            row["alone"] = 1.0
    return values


def candidate_mentions(
    episode: Episode, linker: Linker | Catalog, words: EpisodeWords | None = None
) -> dict[str, list[Mention]]:
    """Every mention the episode's words make of each catalog topic, in order found."""
    made = _linker(linker)
    found = find_mentions(passages(episode, made, words), made.index, made.cues)
    by_topic: dict[str, list[Mention]] = {}
    for item in found:
        mention = _weigh(item)
        for topic_id in item.entry.topics:
            if topic_id in made.catalog:
                by_topic.setdefault(topic_id, []).append(_for_topic(mention, item.entry, topic_id))
    return {t: _spoken_enough(ms) for t, ms in by_topic.items()}


def _spoken_enough(mentions: list[Mention]) -> list[Mention]:
    """A topic only the transcript names counts when it is discussed again and again: its
    spoken mentions add up to SPOKEN_ALONE (three of a term); fewer are in passing."""
    counted = [m for m in mentions if m.counts]
    if not counted or any(m.feature != "spoken" for m in counted):
        return mentions
    if _spoken_value(counted) >= SPOKEN_ALONE - 1e-9:
        return mentions
    note = "said in the transcript in passing (too few times to count alone)"
    return [replace(m, note=note) if m.counts else m for m in mentions]


def _spoken_value(mentions: Sequence[Mention]) -> float:
    total = 0.0
    for m in mentions:
        strength = "term" if m.kind in ("alias", "term", "anchor") else m.kind
        total += SPOKEN.get(strength, 0.1)
    return min(1.0, total)


def explain(
    episode: Episode,
    linker: Linker | Catalog,
    words: EpisodeWords | None = None,
    *,
    max_topics: int = MAX_TOPICS,
) -> tuple[Candidate, ...]:
    """Every topic the episode's words touch, kept ones first, with scores and reasons."""
    made = _linker(linker)
    catalog, scorer = made.catalog, made.scorer
    by_topic = candidate_mentions(episode, made, words)
    values = features(by_topic)
    scores = {t: scorer.probability(values[t]) for t in by_topic}
    position = {t.id: i for i, t in enumerate(catalog.topics)}
    ranked = sorted(by_topic, key=lambda t: (-scores[t], position[t]))
    candidates: list[Candidate] = []
    kept = 0
    for topic_id in ranked:
        score = round(scores[topic_id], 3)
        mentions = by_topic[topic_id]
        if not any(m.counts for m in mentions):
            reason = "dropped: no mention counts"
        elif scores[topic_id] < scorer.threshold:
            reason = f"dropped: score {score:g} is under {scorer.threshold:g}"
        elif kept >= max_topics:
            reason = f"dropped: over the limit of {max_topics} topics"
        else:
            kept += 1
            reason = f"kept: score {score:g} reaches {scorer.threshold:g}"
        ordered = sorted(mentions, key=lambda m: (not m.counts, _rank(m), _order(m)))
        candidates.append(
            Candidate(
                catalog.get(topic_id),
                score,
                reason.startswith("kept"),
                reason,
                tuple(ordered),
                scorer.parts(values[topic_id]),
            )
        )
    candidates.sort(key=lambda c: not c.kept)
    return tuple(candidates)


def _rank(mention: Mention) -> int:
    order = list(FEATURES)
    return order.index(mention.feature) if mention.feature in order else len(order)


def _order(mention: Mention) -> tuple[int, float]:
    field_rank = {"title": 0, "description": 1, "chapter": 2, "transcript": 3}
    start = mention.evidence.start
    return field_rank.get(mention.evidence.field, 4), start if start is not None else 0.0


def evidence_of(candidate: Candidate) -> tuple[Evidence, ...]:
    """Up to MAX_EVIDENCE counted mentions, best first, and the earliest timed one."""
    chosen: list[Evidence] = []
    seen: set[tuple[str, str, str]] = set()  # one piece of evidence per sentence
    counted = [m for m in candidate.mentions if m.counts]
    for mention in counted:
        ev = mention.evidence
        key = (ev.field, ev.sentence, ev.via)
        if key not in seen and len(chosen) < MAX_EVIDENCE:
            seen.add(key)
            chosen.append(ev)
    timed = [m.evidence for m in counted if m.evidence.start is not None]
    if timed and not any(ev.start is not None for ev in chosen):
        chosen.append(min(timed, key=lambda ev: ev.start or 0.0))
    return tuple(chosen)


def link(
    episode: Episode,
    linker: Linker | Catalog,
    words: EpisodeWords | None = None,
    *,
    max_topics: int = MAX_TOPICS,
) -> tuple[TopicLink, ...]:
    """The topics ``episode`` touches, best first, each with the evidence that justifies it.
    Pass a :class:`Linker` made once when linking many episodes (a catalog is compiled anew)."""
    if max_topics <= 0:
        return ()
    return tuple(
        TopicLink(c.topic, c.score, evidence_of(c))
        for c in explain(episode, linker, words, max_topics=max_topics)
        if c.kept
    )


def describe(candidates: Sequence[Candidate], *, width: int = 100) -> list[str]:
    """Lines that show each candidate, its score, decision, each feature's part in the score
    and every mention."""
    if not candidates:
        return ["  (no catalog phrase in the title, notes, chapters or transcript)"]
    lines: list[str] = []
    for c in candidates:
        verdict = "KEPT" if c.kept else "DROPPED"
        lines.append(f"  {verdict:<8}{c.topic.id:<30}{c.score:6.2f}  {c.reason}")
        if c.parts:  # each feature's part in the score: value x weight, and the bias
            shares = "  ".join(
                f"bias {p.weight:+.2f}"
                if p.feature == "bias"
                else f"{p.feature} {p.value:g} x {p.weight:+.2f}"
                for p in c.parts
            )
            lines.append(f"      parts: {shares}")
        for m in c.mentions:
            ev = m.evidence
            where = ev.field + (f" {clock(ev.start)}" if ev.start is not None else "")
            kind = m.kind + (f" via {ev.via!r}" if ev.via else "")
            status = f"not counted: {m.note}" if m.note else m.feature
            lines.append(f"      {where:<18}{status:<12} {kind}: {ev.phrase!r}")
            sentence = " ".join(ev.sentence.split())
            if len(sentence) > width:
                sentence = sentence[: width - 3] + "..."
            lines.append(f"             in: {sentence}")
    return lines
