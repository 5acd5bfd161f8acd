"""Pronunciation: the words people read -> what each speech engine is given.

People read the lesson as written for people ("P of A given B", "ReLU", "MSE"). The
synthesizer gets the same words with pronunciations from the catalog's lexicon
(``[[lexicon]]`` in topics.toml) rendered in the form its engine understands:

    respell   a respelling ("eh", "ray loo"), for espeak-ng and pyttsx3
    ipa       IPA phonemes inline as ``[[ ... ]]``, for Piper (espeak-ng's IPA alphabet)
    misaki    phonemes inline as ``[word](/.../)``, for hibari (Kokoro's misaki alphabet)

Entries marked ``math = true`` (letter names) apply inside an equation's reading, which the
render stage records as character spans of each paragraph: there "a" is the letter, in prose
it is the article. In prose such an entry applies only to a capital letter standing alone
inside a sentence ("the chance of A given B"): a capital "A" there is never the article.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import get_args

from companion.models import Paragraph, Pronunciation
from companion.text import sentence_breaks
from companion.voices import PronunciationStyle

STYLES: tuple[PronunciationStyle, ...] = get_args(PronunciationStyle)

# Marker characters the render stage puts around an equation's reading; they never reach a
# file: parse_marked_text turns them into Paragraph.math spans.
MATH_OPEN = "\ue000"
MATH_CLOSE = "\ue001"

# IPA (as espeak-ng and Piper write it) -> misaki, the alphabet of Kokoro and hibari:
# diphthongs and affricates are single letters there.
_MISAKI = (
    ("eɪ", "A"),
    ("aɪ", "I"),
    ("oʊ", "O"),
    ("əʊ", "O"),
    ("aʊ", "W"),
    ("ɔɪ", "Y"),
    ("tʃ", "ʧ"),
    ("dʒ", "ʤ"),
    ("ɾ", "T"),
    ("ː", ""),
    ("ɚ", "əɹ"),
    ("ɝ", "ɜɹ"),
    ("g", "ɡ"),
    ("r", "ɹ"),
    ("ʲ", ""),
)


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a paragraph: its words and where equations are read in it."""

    text: str
    math: tuple[tuple[int, int], ...] = ()


def strip_math_markers(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Text without the math markers, and the spans (start, end) they enclosed."""
    if MATH_OPEN not in text and MATH_CLOSE not in text:
        return text, ()
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start: int | None = None
    for char in text:
        if char == MATH_OPEN:
            start = length if start is None else start
        elif char == MATH_CLOSE:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            out.append(char)
            length += 1
    if start is not None and length > start:
        spans.append((start, length))
    return "".join(out), _merged(spans)


def _merged(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def sentences(paragraph: Paragraph) -> list[Sentence]:
    """The paragraph's sentences (one transcript cue each), with their equation spans."""
    text = paragraph.text
    found: list[Sentence] = []
    breaks = list(sentence_breaks(text, "any"))
    starts = [0] + [match.end() for match in breaks]
    ends = [match.start() for match in breaks] + [len(text)]
    for start, end in zip(starts, ends, strict=True):
        raw = text[start:end]
        lead = len(raw) - len(raw.lstrip())
        words = raw.strip()
        if not words:
            continue
        first = start + lead
        spans = tuple(
            (max(a, first) - first, min(b, first + len(words)) - first)
            for a, b in paragraph.math
            if a < first + len(words) and b > first
        )
        found.append(Sentence(words, spans))
    return found


_CLAUSE_BREAK = re.compile(r",\s+")


def clauses(sentence: Sentence) -> list[Sentence]:
    """The sentence cut after each comma inside an equation's reading (its clause breaks:
    "the square root of alpha bar t, times x zero, plus ..."); a comma of prose stays."""
    pieces: list[Sentence] = []
    start = 0
    for match in _CLAUSE_BREAK.finditer(sentence.text):
        if any(a <= match.start() < b for a, b in sentence.math):
            pieces.append(_piece(sentence, start, match.start() + 1))
            start = match.end()
    pieces.append(_piece(sentence, start, len(sentence.text)))
    return [piece for piece in pieces if piece.text]


def _piece(sentence: Sentence, start: int, end: int) -> Sentence:
    spans = tuple(
        (max(a, start) - start, min(b, end) - start)
        for a, b in sentence.math
        if a < end and b > start
    )
    return Sentence(sentence.text[start:end], spans)


# --- rendering for an engine ------------------------------------------------------------------


def render(
    sentence: Sentence | str, lexicon: Sequence[Pronunciation], style: PronunciationStyle
) -> str:
    """The sentence as the engine of `style` should be given it."""
    if isinstance(sentence, str):
        sentence = Sentence(sentence)
    if style not in STYLES:
        raise ValueError(f"pronunciation style {style!r}: not one of {', '.join(STYLES)}")
    text, spans = sentence.text, sentence.math
    matches = _matches(text, spans, lexicon)
    out: list[str] = []
    last = 0
    for start, end, entry in matches:
        out.append(unpadded(text[last:start]))
        out.append(_form(text[start:end], entry, style))
        last = end
    out.append(unpadded(text[last:]))
    return "".join(out)


# A whole number written with leading zeros ("MLG 005"), not a decimal, a time or a grouping
_ZERO_PADDED = re.compile(r"(?<![\d.,:])0+(?=\d)(\d+)(?![\d]|[.,:]\d)")


def unpadded(text: str) -> str:
    """Zero-padded numbers without their zeros: "MLG 005" is said "MLG five", not "zero zero
    five" (espeak-ng and Piper read every digit); "0.5", "007.5" and "07:30" stay."""
    return _ZERO_PADDED.sub(r"\1", text)


def _form(original: str, entry: Pronunciation, style: PronunciationStyle) -> str:
    if style == "misaki" and entry.ipa:
        return f"[{_link_text(original)}](/{to_misaki(entry.ipa)}/)"
    if style == "ipa" and entry.ipa:
        return f"[[ {entry.ipa} ]]"
    return entry.say


def _link_text(original: str) -> str:
    """The word inside hibari's [word](/phonemes/) link: brackets and parentheses removed."""
    return re.sub(r"[\[\]()]", "", original) or "x"


def to_misaki(ipa: str) -> str:
    """IPA phonemes (espeak-ng style) in the misaki alphabet that hibari reads."""
    for source, target in _MISAKI:
        ipa = ipa.replace(source, target)
    return ipa


def _matches(
    text: str, spans: Sequence[tuple[int, int]], lexicon: Sequence[Pronunciation]
) -> list[tuple[int, int, Pronunciation]]:
    """Non-overlapping lexicon matches, earliest first; longer words win at one position."""
    found: list[tuple[int, int, Pronunciation]] = []
    lowered = text.lower()
    for entry, pattern, word in _longest_first(tuple(lexicon)):
        if word not in lowered:  # most entries: no regex needed
            continue
        for match in pattern.finditer(text):
            start, end = match.span()
            inside = any(a <= start and end <= b for a, b in spans)
            if entry.math and not (
                (inside and not _is_article(text, start, end))
                or (not inside and _is_letter_in_prose(text, start, end))
            ):
                continue
            if any(start < e and s < end for s, e, _ in found):
                continue
            found.append((start, end, entry))
    return sorted(found, key=lambda item: item[0])


@cache
def _longest_first(
    lexicon: tuple[Pronunciation, ...],
) -> tuple[tuple[Pronunciation, re.Pattern[str], str], ...]:
    """The entries, longer words first, each with its pattern and its word in lower case."""
    ordered = sorted(lexicon, key=lambda e: -len(e.word))
    return tuple((entry, _pattern(entry.word), entry.word.lower()) for entry in ordered)


def _pattern(word: str) -> re.Pattern[str]:
    # whole words: not inside another word, nor glued to a dotted abbreviation ("i.i.d.")
    return re.compile(r"(?<![\w.\-])" + re.escape(word) + r"(?![\w\-]|\.\w)", re.IGNORECASE)


def _is_letter_in_prose(text: str, start: int, end: int) -> bool:
    """Whether prose names a letter here: a lone capital that does not start a clause."""
    word = text[start:end]
    if len(word) != 1 or not word.isupper():
        return False
    before = text[:start].rstrip()
    return bool(before) and before[-1] not in ".!?:;\"'“‘(["


def _is_article(text: str, start: int, end: int) -> bool:
    """Whether a lone "a" inside an equation's reading is the article of a math phrase."""
    if text[start:end] != "a":
        return False
    following = re.match(r"\s+([a-z]+)", text[end:])
    return following is not None and following.group(1) in article_nouns()


@cache
def article_nouns() -> frozenset[str]:
    """Words the math engine's own phrases put after the article "a" ("is a subset of")."""
    from companion.mathspeech import vocabulary

    nouns: set[str] = set()
    for phrase in _strings(vars(vocabulary).values()):
        words = phrase.split()
        nouns.update(words[i + 1] for i, word in enumerate(words[:-1]) if word == "a")
    return frozenset(nouns)


def _strings(values: Iterable[object]) -> Iterable[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            yield from _strings(value.values())
        elif isinstance(value, tuple | list | frozenset | set):
            yield from _strings(value)


# --- what people read -----------------------------------------------------------------------


def respellings(lexicon: Sequence[Pronunciation]) -> tuple[str, ...]:
    """The respellings of the lexicon that are not the word itself: never in human text.

    A respelling with the word's own letters, only spaced apart, is left out: an acronym
    spelled as its letters ("M S E" for MSE) and a name split into its parts ("arg max" for
    argmax) are how the math engine writes them inside equations for people too.
    """
    return tuple(
        sorted({entry.say for entry in lexicon if not _same_letters(entry.say, entry.word)})
    )


def _same_letters(say: str, word: str) -> bool:
    def letters(text: str) -> str:
        return "".join(char for char in text.lower() if char.isalpha())

    return letters(say) == letters(word)


def find_respellings(text: str, lexicon: Sequence[Pronunciation]) -> list[str]:
    """Respellings made for a synthesizer that appear in `text` (which people read)."""
    return [
        say
        for say in respellings(lexicon)
        if re.search(r"(?<![\w\-])" + re.escape(say) + r"(?![\w\-])", text)
    ]
