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
* *Where* it stands sets its weight (WEIGHTS): the title most, then a chapter title or a
  heading of the notes, a glossary line, a sentence, and least an item of an enumeration.
* A method counts in the title, a heading, or a sentence that goes on to explain it; named
  only in passing (a list, or sentences that do not explain it) its topic is dropped.
* A topic phrase that runs on into a capitalized name ending in a model word ("Bayesian
  Information Criterion") is part of that name.
* No evidence: sponsor reads, guest bios, link lists, notes about other episodes, negated
  mentions.
* Hints, branches and methods named in passing count only in an episode that names some
  topic clearly; an anchor (a training method) also counts alone in a sentence about training.
* A topic's mentions add up best first, each worth half the one before; the transcript adds
  a little per mention, at most TRANSCRIPT_CAP. Topics at MIN_SCORE or more are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from companion.linking.match import Entry, Found, Index, Place, find_mentions, vocabulary
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
    "MIN_SCORE",
    "Candidate",
    "Mention",
    "clock",
    "describe",
    "explain",
    "link",
    "normalize_tokens",
    "stem",
]

MIN_SCORE = 0.5
MAX_TOPICS = 8
TRANSCRIPT_CAP = 1.0  # the most a transcript alone adds to a topic
DECAY = 0.5  # each further mention is worth this much of the one before
MAX_EVIDENCE = 3
# The weight of one mention, by what the phrase is (rows) and where it stands (columns):
# an alias or term, a named method ("explained": in a sentence that goes on to explain it),
# an ambiguous hint, a branch of math.
_PLACES: tuple[Place, ...] = get_args(Place)
_TABLE: dict[ImplicationKind, tuple[float, ...]]
# fmt: off
_TABLE = {  #  title chapter heading glossary explained prose listed transcript
    "term":   (2.0,  1.5,    1.5,    1.25,    1.0,      1.0,  0.75,  0.2),
    "method": (2.0,  1.5,    1.5,    0.4,     1.0,      0.4,  0.0,   0.1),
    "hint":   (0.75, 0.6,    0.6,    0.5,     0.5,      0.5,  0.5,   0.1),
    "branch": (0.75, 0.6,    0.6,    0.5,     0.5,      0.5,  0.0,   0.05),
}
# fmt: on
WEIGHTS: dict[ImplicationKind, dict[Place, float]] = {
    kind: dict(zip(_PLACES, row, strict=True)) for kind, row in _TABLE.items()
}
# Where a mention of each kind makes an episode "about math" on its own; hints, branches and
# methods named in passing only count in an episode that has such a mention.
CLEAR = {
    "alias": frozenset(WEIGHTS["term"]),
    "term": frozenset(WEIGHTS["term"]),
    "anchor": frozenset(WEIGHTS["term"]),
    "method": frozenset({"title", "chapter", "heading", "explained"}),
}


# What a mention is: its entry's kind, or an anchor (a training method in a sentence about
# training, weighed as a term).
MentionKind = Literal["alias", "term", "method", "hint", "branch", "anchor"]


@dataclass(frozen=True, slots=True)
class Mention:
    """One phrase found for a topic, what it weighs, and why."""

    evidence: Evidence
    kind: MentionKind
    place: Place
    weight: float
    note: str  # why it does not count, or "" when it does


@dataclass(frozen=True, slots=True)
class Candidate:
    """A topic the episode's words touch, with the decision about it."""

    topic: Topic
    score: float
    kept: bool
    reason: str
    mentions: tuple[Mention, ...]


@dataclass(frozen=True, slots=True)
class _Compiled:
    catalog: Catalog
    index: Index
    cues: Cues


_COMPILED: dict[int, _Compiled] = {}


def _compiled(catalog: Catalog) -> _Compiled:
    cached = _COMPILED.get(id(catalog))
    if cached is not None and cached.catalog is catalog:
        return cached
    if len(_COMPILED) > 8:
        _COMPILED.clear()
    made = _Compiled(catalog, vocabulary(catalog), Cues.compile(catalog.cues))
    _COMPILED[id(catalog)] = made
    return made


def passages(
    episode: Episode, catalog: Catalog, words: EpisodeWords | None = None
) -> list[Passage]:
    """The episode's text as passages: title, description, chapter titles, transcript."""
    cues = _compiled(catalog).cues
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
    table = WEIGHTS[strength]
    weight = table.get(place, table.get("prose", 0.0))
    note = item.excluded
    if not note and weight == 0.0:
        note = (
            "a branch of math named in a list"
            if strength == "branch"
            else "named in passing (one item of a list)"
        )
    return Mention(item.evidence, kind, place, 0.0 if note else weight, note)


def explain(
    episode: Episode,
    catalog: Catalog,
    words: EpisodeWords | None = None,
    *,
    max_topics: int = MAX_TOPICS,
) -> tuple[Candidate, ...]:
    """Every topic the episode's words touch, kept ones first, with scores and reasons."""
    compiled = _compiled(catalog)
    found = find_mentions(passages(episode, catalog, words), compiled.index, compiled.cues)
    by_topic: dict[str, list[Mention]] = {}
    for item in found:
        mention = _weigh(item)
        for topic_id in item.entry.topics:
            if topic_id in catalog:
                by_topic.setdefault(topic_id, []).append(mention)
    scores = {t: _score(ms) for t, ms in by_topic.items()}
    clear = {
        t: _score([m for m in ms if m.place in CLEAR.get(m.kind, ())]) for t, ms in by_topic.items()
    }
    mathy = any(s >= MIN_SCORE - 1e-9 for s in clear.values())
    position = {t.id: i for i, t in enumerate(catalog.topics)}
    ranked = sorted(by_topic, key=lambda t: (-scores[t], position[t]))
    candidates: list[Candidate] = []
    kept = 0
    for topic_id in ranked:
        score = round(scores[topic_id], 3)
        mentions = by_topic[topic_id]
        if not any(m.weight for m in mentions):
            reason = "dropped: no mention counts"
        elif score < MIN_SCORE - 1e-9:
            reason = f"dropped: score {score:g} is under {MIN_SCORE:g}"
        elif _only_named_in_passing(mentions):
            reason = "dropped: a method named in passing and never explained"
        elif not mathy:
            reason = (
                "dropped: only hints or mentions in passing; nothing in the episode "
                "names a topic clearly"
            )
        elif kept >= max_topics:
            reason = f"dropped: over the limit of {max_topics} topics"
        else:
            kept += 1
            reason = f"kept: score {score:g} reaches {MIN_SCORE:g}"
        ordered = sorted(mentions, key=lambda m: (-m.weight, _order(m)))
        candidates.append(
            Candidate(
                catalog.get(topic_id), score, reason.startswith("kept"), reason, tuple(ordered)
            )
        )
    candidates.sort(key=lambda c: not c.kept)
    return tuple(candidates)


def _only_named_in_passing(mentions: Sequence[Mention]) -> bool:
    """Every counted mention names a method in a sentence that does not explain it."""
    counted = [m for m in mentions if m.weight > 0]
    return all(m.kind == "method" and m.place == "prose" for m in counted)


def _order(mention: Mention) -> tuple[int, float]:
    field_rank = {"title": 0, "description": 1, "chapter": 2, "transcript": 3}
    start = mention.evidence.start
    return field_rank.get(mention.evidence.field, 4), start if start is not None else 0.0


def _score(mentions: Sequence[Mention]) -> float:
    notes = sorted((m.weight for m in mentions if m.evidence.field != "transcript"), reverse=True)
    spoken = sum(m.weight for m in mentions if m.evidence.field == "transcript")
    return sum(w * DECAY**i for i, w in enumerate(notes)) + min(TRANSCRIPT_CAP, spoken)


def evidence_of(candidate: Candidate) -> tuple[Evidence, ...]:
    """Up to MAX_EVIDENCE counted mentions, best first, and the earliest timed one."""
    chosen: list[Evidence] = []
    seen: set[tuple[str, str, str]] = set()  # one piece of evidence per sentence
    counted = [m for m in candidate.mentions if m.weight > 0]
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
    catalog: Catalog,
    words: EpisodeWords | None = None,
    *,
    max_topics: int = MAX_TOPICS,
) -> tuple[TopicLink, ...]:
    """The topics ``episode`` touches, best first, each with the evidence that justifies it."""
    if max_topics <= 0:
        return ()
    return tuple(
        TopicLink(c.topic, c.score, evidence_of(c))
        for c in explain(episode, catalog, words, max_topics=max_topics)
        if c.kept
    )


def describe(candidates: Sequence[Candidate], *, width: int = 100) -> list[str]:
    """Lines that show each candidate, its score, decision and every mention."""
    if not candidates:
        return ["  (no catalog phrase in the title, notes, chapters or transcript)"]
    lines: list[str] = []
    for c in candidates:
        verdict = "KEPT" if c.kept else "DROPPED"
        lines.append(f"  {verdict:<8}{c.topic.id:<30}{c.score:6.2f}  {c.reason}")
        for m in c.mentions:
            ev = m.evidence
            where = ev.field + (f" {clock(ev.start)}" if ev.start is not None else "")
            kind = m.kind + (f" via {ev.via!r}" if ev.via else "")
            status = f"not counted: {m.note}" if m.note else m.place
            lines.append(f"      {m.weight:5.2f}  {where:<18}{status:<12} {kind}: {ev.phrase!r}")
            sentence = " ".join(ev.sentence.split())
            if len(sentence) > width:
                sentence = sentence[: width - 3] + "..."
            lines.append(f"             in: {sentence}")
    return lines
