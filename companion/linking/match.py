"""Passages x catalog vocabulary -> mentions: each phrase found, how it is used, and why not.

The vocabulary is the catalog's: topic aliases (clear names of the math), and
``[[implications]]`` of four kinds: ``term`` (a clear phrase, often the math said in other
words: "average of the squared errors"), ``method`` (a named algorithm, model or product that
implies math: "LSTM", "k-means"), ``hint`` (an ambiguous word: "matrix", "calculus") and
blockers (``topics = []``: a name that contains a topic word but is not the topic: "gradient
boosting", "maximum entropy").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from companion.linking.text import (
    Cues,
    Passage,
    gerund_marked,
    match_at,
    phrase_key,
    stem,
    words_of,
)
from companion.models import Catalog, Evidence

__all__ = ["Entry", "Found", "find_mentions", "vocabulary"]

NEGATION_WINDOW = 5  # tokens before a mention that may hold a negation cue
NAME_RUN = 3  # words after a topic phrase that may finish a longer name ("... Learning Machine")
LISTED_EXTRA_WORDS = 3  # a list item is the mention and at most this many other words
LIST_ITEMS = 3  # short pieces that make a clause an enumeration
GLOSSARY_LEAD = 2  # words before a mention that still make it a line's label

_CLAUSE_BREAK = re.compile(r"[;:()\[\]{}!?|]|\*\*|->|=>|\s[-–—]\s|[-–—]\s")
_LIST_SEPARATOR = re.compile(r",|\s(?:and|or|nor|&|v|vs\.?|versus)\s|/", re.IGNORECASE)
_LABEL_END = re.compile(r"^\s*(?:\([^)]{0,40}\)\s*)?(?::|\s[-–—]\s|[-–—]\s)")
_RELATIVE = frozenset({"which", "that", "who", "whose", "where", "when", "because"})
_CLAUSE_WORDS = frozenset(
    stem(w) for w in ("but", "however", "although", "though", "whereas", "yet")
)


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str  # "alias", "term", "method", "hint" or "blocker"
    topics: tuple[str, ...]
    phrase: str  # as the catalog writes it
    anchor: bool = False


Index = dict[str, list[tuple[tuple[str, ...], Entry]]]
_STRENGTH = ("blocker", "alias", "term", "method", "hint", "branch")


def _keys(phrase: str) -> set[tuple[str, ...]]:
    """The stem sequences a phrase matches: as written, and written as one word."""
    keys = {phrase_key(phrase)} - {()}
    words = words_of(phrase)
    if "*" not in phrase.split() and len(words) > 1 and all(len(w) >= 3 for w in words):
        keys.add((stem("".join(words)),))  # "back propagation" -> "backpropagation"
    return {key for key in keys if key[0] != "*"}


def vocabulary(catalog: Catalog) -> Index:
    """Every catalog phrase, indexed by its first stem.

    An implication that repeats a topic's alias says how that alias counts: "LSTM" is an
    alias of recurrent networks, and an implication of kind "method" makes it a method.
    """
    index: Index = {}
    entries: list[tuple[tuple[str, ...], Entry]] = []
    declared: set[tuple[tuple[str, ...], str]] = set()
    for imp in catalog.implications:
        kind = imp.kind if imp.topics else "blocker"
        for key in _keys(imp.concept):
            entries.append((key, Entry(kind, imp.topics, imp.concept, imp.anchor)))
            declared.update((key, topic_id) for topic_id in imp.topics)
    for topic in catalog.topics:
        for alias in topic.aliases:
            for key in _keys(alias):
                if (key, topic.id) not in declared:
                    entries.append((key, Entry("alias", (topic.id,), alias)))
    for key, entry in entries:
        index.setdefault(key[0], []).append((key, entry))
    return index


@dataclass(frozen=True, slots=True)
class Found:
    """One vocabulary entry found in one passage, before it is weighed."""

    entry: Entry
    passage: Passage
    evidence: Evidence
    place: str  # "title", "heading", "glossary", "prose", "listed", "chapter", "transcript"
    explained: bool  # the sentence goes on to explain it ("... by", "..., which")
    excluded: str  # why it is no evidence ("" when it is)
    training: bool  # the sentence is about training a model with a method


def find_mentions(passages: Sequence[Passage], index: Index, cues: Cues) -> list[Found]:
    found: list[Found] = []
    for passage in passages:
        found.extend(_in_passage(passage, index, cues))
    return found


def _in_passage(passage: Passage, index: Index, cues: Cues) -> list[Found]:
    stems = [t[0] for t in passage.tokens]
    spans: dict[tuple[int, int], list[Entry]] = {}
    for i, word in enumerate(stems):
        for key, entry in index.get(word, ()):
            end = match_at(key, stems, i, len(stems))
            if end >= 0:
                spans.setdefault((i, end), []).append(entry)
    if not spans:
        return []
    taken: dict[int, tuple[int, int]] = {}
    out: list[Found] = []
    placed: list[tuple[int, int, Found]] = []
    for start, end in sorted(spans, key=lambda se: (se[0] - se[1], se[0])):
        owner = next((taken[i] for i in range(start, end) if i in taken), None)
        entries = spans[(start, end)]
        if owner is not None:  # inside a longer phrase: say so when that is a blocker
            outer = spans[owner]
            hidden = (
                [e for e in entries if e.topics] if all(o.kind == "blocker" for o in outer) else []
            )
            name = passage.text[passage.tokens[owner[0]][1] : passage.tokens[owner[1] - 1][2]]
            for entry in hidden:
                out.append(
                    _found(entry, passage, start, end, cues, f"part of the longer name {name!r}")
                )
            continue
        for i in range(start, end):
            taken[i] = (start, end)
        seen: set[str] = set()  # one mention per topic per span: the strongest entry's
        for entry in sorted(entries, key=lambda e: _STRENGTH.index(e.kind)):
            if entry.kind == "blocker" or set(entry.topics) <= seen:
                continue
            seen.update(entry.topics)
            placed.append((start, end, _found(entry, passage, start, end, cues, "")))
    return out + _without_bracketed_repeats(passage, placed)


def _without_bracketed_repeats(
    passage: Passage, placed: list[tuple[int, int, Found]]
) -> list[Found]:
    """ "recurrent neural networks (RNNs)": a name repeated in brackets is one mention."""
    text, tokens = passage.text, passage.tokens
    kept = []
    for start, _end, found in placed:
        gap = text[tokens[start - 1][2] : tokens[start][1]] if start else ""
        repeat = gap.strip().endswith("(") and any(
            e == start and set(f.entry.topics) & set(found.entry.topics) for _s, e, f in placed
        )
        if not repeat:
            kept.append(found)
    return kept


def _found(
    entry: Entry, passage: Passage, start: int, end: int, cues: Cues, excluded: str
) -> Found:
    tokens = passage.tokens
    text = passage.text
    words = text[tokens[start][1] : tokens[end - 1][2]]
    evidence = Evidence(
        passage.field, words, text, "" if entry.kind == "alias" else entry.phrase, passage.start
    )
    stems = [t[0] for t in tokens]
    if not excluded:
        excluded = _exclusion(passage, stems, start, end, entry, cues)
    place = _place(passage, stems, start, end, cues)
    explained = place in ("prose", "glossary") and (
        cues.explaining.find(stems, end) >= 0
        or cues.explaining.find(gerund_marked(passage.text, tokens), end) >= 0
    )
    training = entry.anchor and cues.training.find(stems) >= 0
    return Found(entry, passage, evidence, place, explained, excluded, training)


def _exclusion(
    passage: Passage, stems: list[str], start: int, end: int, entry: Entry, cues: Cues
) -> str:
    if passage.zone:
        return {
            "sponsor": "in a sponsor read",
            "bio": "in a guest bio",
            "links": "in a link list",
            "other episode": "about another episode",
        }.get(passage.zone, passage.zone)
    if cues.other_episodes.find(stems, 0, start) >= 0:
        return "about another episode"
    if _negated(passage, stems, start, cues):
        return "negated"
    head = _inside_name(passage, end, cues) if entry.kind != "method" else -1
    if head >= 0:
        name = passage.text[passage.tokens[start][1] : passage.tokens[head][2]]
        return f"part of a longer name of a model or method ({name!r})"
    return ""


def _negated(passage: Passage, stems: list[str], start: int, cues: Cues) -> bool:
    """A negation cue a few words before the mention, in the same clause."""
    tokens, text = passage.tokens, passage.text
    for j in range(start - 1, max(-1, start - 1 - NEGATION_WINDOW), -1):
        between = text[tokens[j][2] : tokens[j + 1][1]]
        if re.search(r"[,;:()\[\]{}!?]|\s[-–—]\s", between) or stems[j] in _CLAUSE_WORDS:
            return False
        if cues.negation.find(stems, j, start) == j:
            return True
    return False


def _inside_name(passage: Passage, end: int, cues: Cues) -> int:
    """The token that ends a capitalized name the topic phrase runs on into, ending in a model
    word ("Bayesian Information Criterion", "Policy Gradient Reinforcement Learning
    Machine"), or -1."""
    tokens, text = passage.tokens, passage.text

    def joined(i: int) -> bool:  # token i follows token i - 1 within one name
        return (
            i < len(tokens)
            and not text[tokens[i - 1][2] : tokens[i][1]].strip(" -")
            and text[tokens[i][1]].isupper()
        )

    for k in range(end, min(len(tokens), end + NAME_RUN + 1)):
        if not joined(k):
            return -1
        if k > end and tokens[k][0] in cues.name_heads and not joined(k + 1):
            return k
    return -1


def _place(passage: Passage, stems: list[str], start: int, end: int, cues: Cues) -> str:
    if passage.place != "line":
        return passage.place
    tokens, text = passage.tokens, passage.text
    if (
        passage.line_head
        and start <= GLOSSARY_LEAD
        and _LABEL_END.match(text[tokens[end - 1][2] :])
    ):
        return "glossary"
    return "listed" if _listed(passage, stems, start, end, cues) else "prose"


def _listed(passage: Passage, stems: list[str], start: int, end: int, cues: Cues) -> bool:
    """One item of an enumeration: "models like A, B, or C", "LSTM v CNN, hypers, ...".

    The clause around the mention is cut at commas, "and", "or", "vs" and slashes. It is an
    enumeration when the mention's piece is short and at least LIST_ITEMS pieces are short
    (a relative clause, ", which ...", is no item), or when two short pieces follow an
    examples cue ("such as", "like").
    """
    text, tokens = passage.text, passage.tokens
    a, b = tokens[start][1], tokens[end - 1][2]
    left = max((m.end() for m in _CLAUSE_BREAK.finditer(text, 0, a)), default=0)
    right_match = _CLAUSE_BREAK.search(text, b)
    right = right_match.start() if right_match else len(text)
    clause = text[left:right]
    cuts = [0] + [m.end() for m in _LIST_SEPARATOR.finditer(clause)] + [len(clause) + 1]
    parts = [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1)]
    parts = [(x, y) for x, y in parts if clause[x:y].strip(" ,/&")]
    rel = a - left
    here = next((n for n, (x, y) in enumerate(parts) if x <= rel < y), None)
    if len(parts) < 2 or here is None:
        return False

    clause_tokens = [t for t in tokens if left <= t[1] < right]
    first = tokens.index(clause_tokens[0]) if clause_tokens else start
    opener = cues.examples.find(stems, first, start)
    opener_at = tokens[opener][1] - left if opener >= 0 else -1

    def short(n: int) -> bool:
        x, y = parts[n]
        if n == here and x <= opener_at < y:  # "models like A": the item starts after "like"
            x = rel
        words = words_of(clause[x:y])
        extra = (end - start) if n == here else 0
        return (
            bool(words)
            and words[0].lower() not in _RELATIVE
            and len(words) <= extra + LISTED_EXTRA_WORDS + (0 if n == here else 2)
        )

    if not short(here):
        return False
    if opener >= 0 and sum(short(n) for n, p in enumerate(parts) if p[1] > opener_at) >= 2:
        return True
    return sum(short(n) for n in range(len(parts))) >= LIST_ITEMS
