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
from companion.text import SYMBOL_WORDS, URL_IN_TEXT

__all__ = [
    "Phrasebook",
    "QuoteUnit",
    "clean_for_speech",
    "pick_variant",
    "quotable_units",
    "quote_units",
]

QUOTE_WORDS = 30  # the most words of the episode a lesson quotes at once

_SYMBOL_WORDS = {
    **SYMBOL_WORDS,
    "$": " ",  # amounts were spoken as dollars before
    "(": ", ",  # a parenthesis that holds a list is set off by dashes first (_BRACKETED_LIST)
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
# "(tokenization, stemming, stop words)": flattened into commas, the list would read as peers
# of the words around it, so it is set off by dashes instead.
_BRACKETED_LIST = re.compile(r"\s*[(\[]([^()\[\]]*,[^()\[\]]*)[)\]]")
# "zero-, one- and few-shot": each dangling prefix takes the suffix of the compound after it
_SUSPENDED_HYPHEN = re.compile(r"\b(\w+)-(?=,?\s)")
_COMPOUND_SUFFIX = re.compile(r"[^.;:]*?\b\w+-(\w+)")
_CALL = re.compile(r"\b(\w+)\(\)")  # describe() -> describe
_CLAUSE_JOIN = re.compile(r"(?<=[;:])\s+")
_CONJUNCTION_JOIN = re.compile(r"(?<=,)\s+(?=(?:and|but|or|while|whereas|so)\s)")
_UNIT_END = re.compile(r"(?<=[.!?])\s+(?=[\"“‘(]?[A-Z0-9])")
# A stop before a lower-case word also ends a sentence in show notes ("Gensim: topic modeling.
# spaCy: linguistics."), unless it ends an abbreviation: one of these words, a single letter,
# or a word with a stop inside ("U.S."). e.g., i.e., etc. and vs. are spelled out before.
_LOWER_UNIT_END = re.compile(r"(?<=[.!?])\s+(?=[a-z])")
_ABBREVIATED_TEXT = """al approx ca cf ch dept dr ed eds eq eqs esp est fig figs incl jr mr mrs
    ms no nos p pp resp sec sr st vol"""
_ABBREVIATED = frozenset(_ABBREVIATED_TEXT.split())
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
    text = _CALL.sub(r"\1", text)
    text = _BRACKETED_LIST.sub(lambda m: f" — {m.group(1).strip()} —", text)
    text = _distribute_hyphens(text)
    text = _MONEY.sub(lambda m: f"{m.group(1)}{m.group(2) or ''} dollars", text)
    for pattern, words in _ABBREVIATIONS:
        text = pattern.sub(words, text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = "".join(_SYMBOL_WORDS.get(ch, ch) for ch in text)
    text = re.sub(r"\s+([,;:.!?])", r"\1", " ".join(text.split()))
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)  # ", ," left by brackets
    text = re.sub(r"\s*—\s*([;:.!?])", r"\1", text)  # a closing dash at a clause's end
    text = re.sub(r"\s*—\s*,", " —", text)  # ... or before a comma, which it replaces
    return text.strip(" ,;:-–—")


def _distribute_hyphens(text: str) -> str:
    def whole(match: re.Match[str]) -> str:
        compound = _COMPOUND_SUFFIX.match(text, match.end())
        return f"{match.group(1)}-{compound.group(1)}" if compound else match.group(0)

    return _SUSPENDED_HYPHEN.sub(whole, text)


QUOTE_WORDS_LIMIT = 30  # the longest sentence a listener hears; a longer quote is said in clauses


@dataclass(frozen=True, slots=True)
class QuoteUnit:
    """A whole sentence (or list item) of the cleaned show notes, and how it is spoken: in
    one breath, or a long one in the clauses its semicolons, colons and joining conjunctions
    separate, each said as a sentence of its own, all of them in order."""

    text: str
    breaths: tuple[str, ...]

    @property
    def spoken(self) -> str:
        return " ".join(self.breaths)

    @property
    def longest_breath(self) -> int:
        return max(_words(breath) for breath in self.breaths)


def quote_units(description: str) -> tuple[QuoteUnit, ...]:
    """The whole sentences of an episode's show notes, in order, as a lesson may quote them.

    Each line of the cleaned notes (a paragraph or a list item) splits into its sentences.
    Nothing is ever clipped: a lesson quotes a sentence whole, or not at all.
    """
    units: list[QuoteUnit] = []
    for line in description.splitlines():
        cleaned = clean_for_speech(line)
        for sentence in _unit_sentences(cleaned):
            sentence = sentence.strip()
            if _words(sentence):
                units.append(QuoteUnit(_sentence(sentence), _breaths(_sentence(sentence))))
    return tuple(units)


def _unit_sentences(line: str) -> list[str]:
    """A cleaned line of show notes cut into its sentences (see _UNIT_END, _LOWER_UNIT_END)."""
    cuts = [match.span() for match in _UNIT_END.finditer(line)]
    for match in _LOWER_UNIT_END.finditer(line):
        before = line[: match.start() - 1].rsplit(None, 1)[-1] if match.start() > 1 else ""
        if len(before) > 1 and "." not in before and before.lower() not in _ABBREVIATED:
            cuts.append(match.span())
    sentences, start = [], 0
    for begin, end in sorted(cuts):
        sentences.append(line[start:begin])
        start = end
    return [*sentences, line[start:]]


def _breaths(sentence: str) -> tuple[str, ...]:
    """A sentence longer than QUOTE_WORDS_LIMIT in its clauses: split at semicolons and
    colons, then (where still too long) before a conjunction that joins two clauses."""
    if _words(sentence) <= QUOTE_WORDS_LIMIT:
        return (sentence,)
    parts = [p for p in _CLAUSE_JOIN.split(sentence) if _words(p)]
    clauses: list[str] = []
    for part in parts:
        if _words(part) > QUOTE_WORDS_LIMIT:
            clauses += [c for c in _CONJUNCTION_JOIN.split(part) if _words(c)]
        else:
            clauses.append(part)
    return tuple(_as_sentence(clause) for clause in clauses)


def _as_sentence(clause: str) -> str:
    clause = clause.strip().rstrip(",;:")
    clause = clause[:1].upper() + clause[1:]
    return clause if clause.endswith((".", "!", "?")) else clause + "."


def quotable_units(description: str) -> tuple[str, ...]:
    """The whole sentences of `quote_units`."""
    return tuple(unit.text for unit in quote_units(description))


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _sentence(text: str) -> str:
    """A clause or sentence ending as a spoken sentence does."""
    text = text.rstrip(" ,;:-–—")
    return text if text.endswith((".", "!", "?")) else text + "."


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
