"""Phrasing for the ear: what the episode says, quoted cleanly, and sentences that vary.

Two pure helpers of the render stage.

* **Quotes.** A lesson opens each topic with the words of the source episode where the topic
  was found: the sentence of the description, cut to the clause around the mention when it
  is long, cleaned for speech (no URLs or markup, symbols as words, no list bullets).
* **Variants.** Connective sentences ("here is the key equation", the goodbye ...) come in
  several wordings, kept in ``templates/phrases.toml``. Which wording a lesson uses is a
  stable hash of the lesson's key and the slot, offset by the position in the lesson, so a
  rebuild says exactly the same thing and neighbouring uses of a slot differ.
"""

from __future__ import annotations

import hashlib
import re
import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from companion.errors import RenderError
from companion.models import Episode, Evidence
from companion.text import SYMBOL_WORDS, URL_IN_TEXT, split_sentences

__all__ = [
    "NO_QUOTE",
    "Phrasebook",
    "Quote",
    "clean_for_speech",
    "clip_clause",
    "episode_gist",
    "pick_variant",
    "quote_candidates",
    "spoken_quote",
]

QUOTE_WORDS = 30  # the most words of the episode a lesson quotes at once

_SYMBOL_WORDS = {
    **SYMBOL_WORDS,
    "$": " ",  # amounts were spoken as dollars before
    "(": ", ",
    ")": ", ",
    "[": ", ",
    "]": ", ",
    '"': "",
    "“": "",
    "”": "",
}
_ABBREVIATIONS = (
    (re.compile(r"\be\.g\.,?", re.IGNORECASE), "for example,"),
    (re.compile(r"\bi\.e\.,?", re.IGNORECASE), "that is,"),
    (re.compile(r"\betc\.", re.IGNORECASE), "and so on."),
    (re.compile(r"\bvs\.?(?=\s)", re.IGNORECASE), "versus"),
)
_MONEY = re.compile(r"\$\s?(\d[\d,]*(?:\.\d+)?)(\s?(?:[kKmMbB]n?|million|billion|thousand)\b)?")
_BULLET = re.compile(r"^\s*(?:[-*•·>#]+|\d+[.)])\s+")
_CLAUSE = re.compile(r"(?<=[,;:])\s+|\s+(?=\()|\s[-–—]\s")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_LEADING_CONJUNCTION = re.compile(r"^(?:and|or|but|so|also)\s+", re.IGNORECASE)
_RELATIVE = re.compile(r"(?:and\s+)?(?:which|who|whose|where|that|while)\b", re.IGNORECASE)


# --- quotes -----------------------------------------------------------------------------------


# Where a quote comes from: the episode's description or its title ("": nothing in the episode
# names the topic).
QuoteSource = Literal["description", "title", ""]


@dataclass(frozen=True, slots=True)
class Quote:
    """Where the episode names a topic, cleaned for speech; see :func:`spoken_quote`."""

    source: QuoteSource
    sentence: str  # the whole sentence (or the title), cleaned
    anchor: str = ""  # the words that named the topic, cleaned


NO_QUOTE = Quote("", "")


def clean_for_speech(text: str) -> str:
    """Feed text made safe to speak: no URLs, bullets or markup residue; symbols as words."""
    text = URL_IN_TEXT.sub(" ", text)
    text = _BULLET.sub("", text)
    text = _MONEY.sub(lambda m: f"{m.group(1)}{m.group(2) or ''} dollars", text)
    for pattern, words in _ABBREVIATIONS:
        text = pattern.sub(words, text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = "".join(_SYMBOL_WORDS.get(ch, ch) for ch in text)
    text = re.sub(r"\s+([,;:.!?])", r"\1", " ".join(text.split()))
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)  # ", ," left by brackets
    return text.strip(" ,;:-–—")


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def clip_clause(
    text: str, anchor: str, max_words: int, *, min_words: int = 0, after_first: bool = False
) -> str:
    """The clauses of ``text`` around ``anchor``: at most ``max_words`` words.

    A text that fits is kept whole, unless ``min_words`` asks for just the clause of the
    anchor, grown to that many words. Otherwise the clause holding the anchor grows by whole
    neighbouring clauses, the one before first (it usually holds the subject; ``after_first``
    prefers the one after), while it fits;
    a clause that is too long, or too short to grow by a whole clause, is cut to the words
    around the anchor.
    """
    if not min_words and _words(text) <= max_words:
        return _trim(text)
    clauses = [c for c in _CLAUSE.split(text) if c.strip()]
    first = last = _clause_index(text, clauses, anchor)

    def joined(lo: int, hi: int) -> str:
        return _trim(" ".join(clauses[lo : hi + 1]))

    def weak_start(lo: int) -> bool:  # a relative clause makes a poor opening
        return bool(_RELATIVE.match(clauses[lo].strip()))

    while not min_words or _words(joined(first, last)) < min_words:
        steps = [(first, last + 1), (first - 1, last)]
        if not after_first:
            steps.reverse()
        steps.sort(key=lambda step: step[0] >= 0 and weak_start(step[0]))  # stable
        for lo, hi in steps:
            if lo >= 0 and hi < len(clauses) and _words(joined(lo, hi)) <= max_words:
                first, last = lo, hi
                break
        else:
            break
    chosen = joined(first, last)
    if _words(chosen) > max_words or _words(chosen) < min_words:
        chosen = _trim(
            _word_window(
                text if _words(chosen) < min_words else chosen,
                anchor,
                max_words if _words(chosen) > max_words else min_words + 1,
            )
        )
    return chosen


def _trim(text: str) -> str:
    return _LEADING_CONJUNCTION.sub("", text.strip(" ,;:-–—")).strip(" ,;:-–—")


def _word_window(text: str, anchor: str, size: int) -> str:
    """``size`` words of ``text`` that hold ``anchor``: the last ones when they do (a clause
    ends naturally), else the first ones, else those around it."""
    tokens = text.split()
    keys = anchor.lower().split()
    hit = next(
        (
            i
            for i in range(len(tokens))
            if keys
            and all(k in t.lower() for k, t in zip(keys, tokens[i : i + len(keys)], strict=False))
        ),
        0,
    )
    end = hit + max(1, len(keys))
    if end >= len(tokens) - size + 1 or not keys:
        begin = max(0, len(tokens) - size) if keys else 0
    elif end <= size:
        begin = 0
    else:
        begin = max(0, hit - size // 3)
    window = " ".join(tokens[begin : begin + size])
    while _words(window) > size and " " in window:
        window = window.rsplit(" ", 1)[0]
    return window


def _clause_index(text: str, clauses: Sequence[str], anchor: str) -> int:
    at = text.lower().find(anchor.lower()) if anchor else 0
    offset = 0
    for number, clause in enumerate(clauses):
        start = text.find(clause, offset)
        if at < start + len(clause):
            return number
        offset = start + len(clause)
    return 0


def _sentence(text: str) -> str:
    """A clause or sentence ending as a spoken sentence does."""
    text = text.rstrip(" ,;:-–—")
    return text if text.endswith((".", "!", "?")) else text + "."


def quote_candidates(evidence: Sequence[Evidence], description: str) -> tuple[Quote, ...]:
    """Where the episode names a topic, best first: description sentences, then the title.

    A topic found in the title is looked for in the description too (the linker keeps one
    piece of evidence per phrase), so a lesson says "only the title" only when that is true.
    """
    sentences = [
        c for c in (clean_for_speech(s) for s in split_sentences(description, "line")) if c
    ]
    found: list[Quote] = []
    titles: list[Quote] = []
    for item in evidence:
        cleaned, anchor = clean_for_speech(item.sentence), clean_for_speech(item.phrase)
        if not _words(cleaned):
            continue
        if item.field == "description" and _words(cleaned) < 5 and cleaned in sentences:
            following = sentences.index(cleaned) + 1  # a heading: quote what it heads too
            if following < len(sentences):
                cleaned = f"{cleaned.rstrip('.:')}: {sentences[following]}"
        if item.field == "title":
            titles.append(Quote("title", cleaned, anchor))
            pattern = re.compile(r"(?<!\w)" + re.escape(anchor) + r"(?!\w)", re.IGNORECASE)
            found += [
                Quote("description", s, anchor) for s in sentences if anchor and pattern.search(s)
            ]
        else:
            found.append(Quote("description", cleaned, anchor))
    found.sort(key=lambda quote: _words(quote.sentence) < 5)  # a bare heading quotes poorly
    unique = dict.fromkeys(found + titles)  # keeps the first of equal quotes
    return tuple(unique)


TIGHT_WORDS = 16  # a sentence heard before is quoted again by at most this many words


def spoken_quote(quote: Quote, max_words: int = QUOTE_WORDS, *, tight: int = 0) -> str:
    """The quote as one spoken sentence, at most ``max_words`` words.

    Normally the whole sentence, or the clauses around the mention when it is too long.
    For a sentence the listener has already heard, ``tight=1`` keeps just the clause of the
    mention, grown by whole clauses to five words or more (at most TIGHT_WORDS), the clause
    before first; ``tight=2`` grows by the clause after first; ``tight=3`` keeps just the
    eight words around the mention.
    """
    if not quote.sentence:
        return ""
    if quote.source == "title":
        return _sentence(" ".join(quote.sentence.split()[:max_words]))
    if tight >= 3:
        return _sentence(_trim(_word_window(quote.sentence, quote.anchor, 8)))
    if tight:
        return _sentence(
            clip_clause(
                quote.sentence,
                quote.anchor,
                min(max_words, TIGHT_WORDS),
                min_words=5,
                after_first=tight >= 2,
            )
        )
    return _sentence(clip_clause(quote.sentence, quote.anchor, max_words))


def episode_gist(episode: Episode) -> Quote:
    """What the episode is about in its own words: its first sentence of four words or more."""
    for sentence in split_sentences(episode.description, "line"):
        cleaned = clean_for_speech(sentence)
        if _words(cleaned) >= 4:
            return Quote("description", cleaned)
    return NO_QUOTE


# --- variants ---------------------------------------------------------------------------------


def pick_variant(variants: Sequence[str], key: str, slot: str, position: int = 0) -> str:
    """One of ``variants``: a stable hash of (key, slot), offset by ``position``."""
    digest = hashlib.sha256(f"{key}\x00{slot}".encode()).digest()
    return variants[(int.from_bytes(digest[:8], "big") + position) % len(variants)]


@dataclass(frozen=True, slots=True)
class Phrasebook:
    """Named slots, each with the wordings a lesson may use; see ``templates/phrases.toml``."""

    slots: Mapping[str, tuple[str, ...]]
    name: str = "phrases.toml"

    @classmethod
    def from_toml(cls, text: str, name: str = "phrases.toml") -> Phrasebook:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise RenderError(f"{name}: not valid TOML: {error}") from None
        slots: dict[str, tuple[str, ...]] = {}
        for slot, variants in data.items():
            if (
                not isinstance(variants, list)
                or not variants
                or not all(isinstance(v, str) and v.strip() for v in variants)
            ):
                raise RenderError(f"{name}: {slot!r} must be a list of non-empty strings")
            slots[slot] = tuple(" ".join(v.split()) for v in variants)
        return cls(slots, name)

    def room(self, slot: str, field: str, sentence_words: int = 30) -> int:
        """How many words ``{field}`` may take so that no wording of ``slot`` passes
        ``sentence_words`` words (the listener's limit for one sentence)."""
        variants = self.slots.get(slot, ())
        others = max((_words(v.replace("{" + field + "}", " ")) for v in variants), default=0)
        return max(5, sentence_words - others)

    def say(self, key: str, slot: str, position: int = 0, **fields: object) -> str:
        """The wording of ``slot`` for lesson ``key`` at ``position``, fields filled in."""
        variants = self.slots.get(slot)
        if variants is None:
            raise RenderError(f"{self.name}: no phrase {slot!r}")
        for variant in variants:  # every wording, not just the one picked, so errors show early
            missing = _fields(variant) - fields.keys()
            if missing:
                raise RenderError(
                    f"{self.name}: {slot!r}: no value for {{{sorted(missing)[0]}}} in {variant!r}"
                )
        try:
            return pick_variant(variants, key, slot, position).format(**fields)
        except (IndexError, ValueError) as error:
            raise RenderError(f"{self.name}: {slot!r}: {error}") from None


def _fields(wording: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(wording) if name)
