"""Link an episode to the math topics its title and description name or clearly imply.

How it decides, in words a reader can check:

* Text is normalized before matching: case, plurals and simple inflections ("matrices",
  "vectorized"), hyphens versus spaces versus one word ("back-propagation"), possessives
  ("Bayes'", "Bayes's"). Web addresses are ignored.
* A topic alias ("gradient descent", "cosine similarity") is a *clear mention*.
  An implication concept ("logistic regression", "backpropagation") or an ambiguous word
  ("matrix", "std", "calculus"), both declared as ``[[implications]]``, is a *hint*.
  The longest phrase wins where phrases overlap, so "stochastic gradient descent" is not
  also "gradient descent", and "maximum entropy" (a classifier, declared with no topics)
  is not "entropy".
* Mentions in a negated or dismissive clause ("without any calculus", "we won't cover
  ...", "next episode: ...") do not count.
* Hints only count in an episode that also has at least one clear mention: an algorithm
  named in passing, or a branch of math named in a list, does not make an episode mathy.
  The exception is an *anchor* implication (a training method such as backpropagation or
  SGD) in a sentence about training a model: "a network trained with backpropagation".
* Each topic gets a score (clear mentions weigh more, title more than description, repeats
  add a little); topics at or over the threshold are returned, best first, at most five.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from companion.models import Catalog, Episode, Evidence, EvidenceField, TopicLink
from companion.text import URL_IN_TEXT

__all__ = ["MIN_SCORE", "link", "normalize_tokens", "stem"]

MIN_SCORE = 0.5
_WEIGHTS = {  # (kind, field) -> weight of the first mention; repeats add _REPEAT[kind]
    ("alias", "title"): 2.0,
    ("alias", "description"): 1.0,
    ("hint", "title"): 0.75,
    ("hint", "description"): 0.5,
}
_REPEAT = {"alias": (0.25, 1.0), "hint": (0.1, 0.3)}  # (per repeat, cap)
_MAX_EVIDENCE = 3
_NEGATION_WINDOW = 5  # tokens before a mention that may hold a negation cue

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_CLAUSE_BREAK = re.compile(r"[,;:()\[\]{}!?]|\s[-–—]\s")
# A sentence about training a model with a method ("trained with backpropagation"), not one
# that names it in passing ("2006: optimized back propagation").
_TRAINING = re.compile(
    r"\b(?:train(?:s|ed|ing)?|fit(?:s|ted|ting)?|"
    r"(?:learn|optimi[sz]e|minimi[sz]e|update)(?:s|d|ed|ing)?\s+"
    r"(?:\w+\s+){0,2}(?:with|by|using|via|through))\b",
    re.IGNORECASE,
)
_CLAUSE_WORDS = frozenset({"but", "however", "although", "though", "whereas", "yet"})
_NEGATIONS = frozenset(
    [
        "no",
        "not",
        "without",
        "never",
        "nor",
        "neither",
        "skip",
        "skipping",
        "skips",
        "skipped",
        "avoid",
        "avoiding",
        "avoids",
        "won't",
        "don't",
        "doesn't",
        "didn't",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "can't",
        "cannot",
        "shouldn't",
        "wont",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "cant",
    ]
)
_DISMISSIVE = re.compile(
    r"\b(?:next episode|next time|future episodes?|upcoming episodes?|coming up next"
    r"|in a later episode|no math|math[- ]free)\b",
    re.IGNORECASE,
)
_IRREGULAR = {
    "matrices": "matrix",
    "indices": "index",
    "vertices": "vertex",
    "maxima": "maximum",
    "minima": "minimum",
    "hypotheses": "hypothesis",
    "analyses": "analysis",
}
_VOWELS = frozenset("aeiouy")


def stem(word: str) -> str:
    """A light, deterministic English stem: plurals, -ing/-ed, a final e, possessives."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    word = word.strip("'")
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if "'" in word:  # won't, don't: keep as they are
        return word
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix, keep in (("ing", 3), ("ed", 3)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            base = word[: -len(suffix)]
            if any(c in _VOWELS for c in base):
                word = base
                if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "lsz" + "aeiou":
                    word = word[:-1]
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


_NEGATIONS = frozenset(stem(w) for w in _NEGATIONS)
# A sentence about training a model with a method ("trained with backpropagation"), not one
# that names it in passing ("2006: optimized back propagation").
_TRAINING = re.compile(
    r"\b(?:train(?:s|ed|ing)?|fit(?:s|ted|ting)?|"
    r"(?:learn|optimi[sz]e|minimi[sz]e|update)(?:s|d|ed|ing)?\s+"
    r"(?:\w+\s+){0,2}(?:with|by|using|via|through))\b",
    re.IGNORECASE,
)
_CLAUSE_WORDS = frozenset(stem(w) for w in _CLAUSE_WORDS)


def normalize_tokens(text: str) -> list[tuple[str, int, int]]:
    """(stem, start, end) for each word of ``text``; hyphens and slashes split words."""
    return [(stem(m.group(0)), m.start(), m.end()) for m in _TOKEN.finditer(text)]


@dataclass(frozen=True, slots=True)
class _Phrase:
    kind: str  # "alias" or "hint"
    topics: tuple[str, ...]
    concept: str  # the implication concept ("" for an alias)
    anchor: bool = False  # a hint that counts alone in a sentence about training


_Index = dict[str, list[tuple[tuple[str, ...], _Phrase]]]
_INDEX_CACHE: dict[int, tuple[Catalog, _Index]] = {}


def _phrase_keys(phrase: str) -> set[tuple[str, ...]]:
    """The token sequences a phrase matches: as written, and written as one word."""
    words = [m.group(0) for m in _TOKEN.finditer(phrase)]
    keys = {tuple(stem(w) for w in words)} if words else set()
    if len(words) > 1 and all(len(w) >= 3 for w in words):  # "back propagation"
        keys.add((stem("".join(words)),))
    return keys


def _index(catalog: Catalog) -> _Index:
    cached = _INDEX_CACHE.get(id(catalog))
    if cached is not None and cached[0] is catalog:
        return cached[1]
    index: _Index = {}
    entries: list[tuple[str, _Phrase]] = []
    for topic in catalog.topics:
        for alias in topic.aliases:
            entries.append((alias, _Phrase("alias", (topic.id,), "")))
    for imp in catalog.implications:
        entries.append((imp.concept, _Phrase("hint", imp.topics, imp.concept, imp.anchor)))
    for text, phrase in entries:
        for key in _phrase_keys(text):
            index.setdefault(key[0], []).append((key, phrase))
    if len(_INDEX_CACHE) > 8:
        _INDEX_CACHE.clear()
    _INDEX_CACHE[id(catalog)] = (catalog, index)
    return index


@dataclass(frozen=True, slots=True)
class _Hit:
    topic: str
    kind: str
    field: EvidenceField
    evidence: Evidence
    order: int  # position in the episode text, for stable evidence order
    anchor: bool = False


def _sentences(text: str) -> list[str]:
    text = URL_IN_TEXT.sub(" ", text)
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def _negated(sentence: str, tokens: list[tuple[str, int, int]], start: int) -> bool:
    """Whether the mention starting at token ``start`` sits in a negated/dismissive clause."""
    begin = tokens[start][1]
    if any(m.start() < begin for m in _DISMISSIVE.finditer(sentence)):
        return True
    for j in range(start - 1, max(-1, start - 1 - _NEGATION_WINDOW), -1):
        between = sentence[tokens[j][2] : tokens[j + 1][1]]
        if _CLAUSE_BREAK.search(between) or tokens[j][0] in _CLAUSE_WORDS:
            return False
        if tokens[j][0] in _NEGATIONS:
            return True
    return False


def _scan(field: EvidenceField, text: str, index: _Index, base: int) -> list[_Hit]:
    hits: list[_Hit] = []
    for s_no, sentence in enumerate(_sentences(text)):
        tokens = normalize_tokens(sentence)
        stems = [t[0] for t in tokens]
        found: list[tuple[int, int, _Phrase]] = []  # (start, end) token span
        for i, word in enumerate(stems):
            for key, phrase in index.get(word, ()):
                if tuple(stems[i : i + len(key)]) == key:
                    found.append((i, i + len(key), phrase))
        spans: dict[tuple[int, int], list[_Phrase]] = {}
        for start, end, phrase in found:
            spans.setdefault((start, end), []).append(phrase)
        taken: set[int] = set()
        for start, end in sorted(spans, key=lambda se: (se[0] - se[1], se[0])):
            span = set(range(start, end))
            if span & taken:  # inside a longer phrase already matched
                continue
            taken |= span
            if _negated(sentence, tokens, start):
                continue
            words = sentence[tokens[start][1] : tokens[end - 1][2]]
            for phrase in spans[(start, end)]:
                for topic_id in phrase.topics:
                    hits.append(
                        _Hit(
                            topic_id,
                            phrase.kind,
                            field,
                            Evidence(field, words, sentence, phrase.concept),
                            base + s_no * 1000 + start,
                            phrase.anchor,
                        )
                    )
    return hits


def link(episode: Episode, catalog: Catalog, *, max_topics: int = 5) -> tuple[TopicLink, ...]:
    """The topics ``episode`` touches, best first, each with the evidence that justifies it."""
    if max_topics <= 0:
        return ()
    index = _index(catalog)
    hits = _scan("title", episode.title, index, 0) + _scan(
        "description", episode.description, index, 10**9
    )
    if not any(
        h.kind == "alias" or (h.anchor and _TRAINING.search(h.evidence.sentence)) for h in hits
    ):
        return ()  # hints alone never make an episode mathy, but for a method used to train
    scores: dict[str, float] = {}
    extras: dict[tuple[str, str], float] = {}  # repeat bonus so far, per (topic, kind)
    evidence: dict[str, list[Evidence]] = {}
    for hit in sorted(hits, key=lambda h: (h.kind != "alias", h.order)):
        key = (hit.topic, hit.kind)
        if key not in extras:
            extras[key] = 0.0
            scores[hit.topic] = scores.get(hit.topic, 0.0) + _WEIGHTS[(hit.kind, hit.field)]
        else:
            step, cap = _REPEAT[hit.kind]
            if extras[key] + step <= cap + 1e-9:
                extras[key] += step
                scores[hit.topic] += step
        bucket = evidence.setdefault(hit.topic, [])
        seen = {(e.phrase.lower(), e.via) for e in bucket}
        if (
            len(bucket) < _MAX_EVIDENCE
            and (hit.evidence.phrase.lower(), hit.evidence.via) not in seen
        ):
            bucket.append(hit.evidence)
    position = {t.id: i for i, t in enumerate(catalog.topics)}
    ranked = sorted(
        (t for t in scores if t in catalog and scores[t] >= MIN_SCORE - 1e-9),
        key=lambda t: (-scores[t], position[t]),
    )
    return tuple(
        TopicLink(catalog.get(t), round(scores[t], 3), tuple(evidence[t]))
        for t in ranked[:max_topics]
    )
