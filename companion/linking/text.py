"""Episode text -> passages: sentences with the field, place and zone they come from.

A passage is one sentence of the title, the description, a chapter title or the transcript.
Its *place* says how it is written (a title, a heading, a line of notes, a transcript window)
and its *zone* says when it is no evidence at all (a sponsor read, a guest bio, a link list,
notes about another episode). Only the catalog's cue phrases decide zones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from companion.models import Cue, EvidenceField, LinkingCues
from companion.text import URL_IN_TEXT, split_sentences

__all__ = [
    "Passage",
    "Token",
    "description_passages",
    "normalize_tokens",
    "stem",
    "transcript_passages",
]

Token = tuple[str, int, int]  # (stem, start, end) in the passage text
# How a passage is written: a title, a heading, a line of notes, a chapter title, transcript
PassagePlace = Literal["title", "heading", "line", "chapter", "transcript"]

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|(?<=\d)%")
_BULLET = re.compile(r"^\s*(?:[-*•·–—>]+|\(?\d{1,2}[.)])\s+")
_TIMESTAMP = re.compile(r"^\s*[\[(]?((?:\d{1,2}:)?\d{1,2}:\d{2})[\])]?\s*(?:[-–—:|]\s*)?")
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
HEADING_MAX_WORDS = 6
CHAPTER_MAX_WORDS = 10  # a line of notes that starts with a time and is this short is a chapter
LIST_LINE_WORDS = 15  # a line this long, without a bullet, is prose, not an item of a list
TRANSCRIPT_WINDOW_WORDS = 45  # a transcript without punctuation is cut into windows this long
SPONSOR_SPAN_SECONDS = 75.0  # a sponsor read in a transcript lasts about this long
PROFILE_LINKS = 2  # profile words ("website", "github") that make a line a person's links
PROFILE_OTHER_WORDS = 5  # other words such a line may hold (the person's name)


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light, deterministic English stem: plurals, -ing/-ed, a final e, possessives."""
    word = word.lower().replace("’", "'")
    if word == "%":  # "30%" reads "30 percent"
        return "percent"
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


def normalize_tokens(text: str) -> list[Token]:
    """(stem, start, end) for each word of ``text``; hyphens and slashes split words."""
    return [(stem(m.group(0)), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def words_of(phrase: str) -> list[str]:
    return [m.group(0) for m in _TOKEN.finditer(phrase)]


def phrase_key(phrase: str) -> tuple[str, ...]:
    """A phrase as stems. A lone '*' stays a gap of one to three words, '...' a gap of any
    length within the sentence, '#' any number, and '*ing' any word ending in -ing ("by
    *ing": "by splitting", "by applying")."""
    key: list[str] = []
    for part in phrase.split():
        key.extend([part] if part in WILDCARDS else [stem(w) for w in words_of(part)])
    return tuple(key)


GERUND = "*ing"
GAP = "*"  # one to three words
SPREAD = "..."  # any number of words, in the same sentence
NUMBER = "#"  # a number: "a list of # numbers"
WILDCARDS = frozenset({GAP, SPREAD, NUMBER, GERUND})


def surface_words(text: str, tokens: Sequence[Token]) -> list[str]:
    """The words of ``tokens`` as written (lower case), every word in -ing also as '*ing'."""
    return [text[a:b].lower().replace("’", "'") for _stem, a, b in tokens]


def gerund_marked(words: Sequence[str]) -> list[str]:
    """``words`` with every word that ends in -ing written as '*ing'."""
    return [GERUND if len(w) > 4 and w.endswith("ing") else w for w in words]


@dataclass(frozen=True, slots=True)
class Passage:
    field: EvidenceField  # "title", "description", "chapter" or "transcript"
    text: str  # one sentence, as written
    place: PassagePlace
    zone: str  # "" (evidence) or why it is not: "sponsor", "bio", "links", "other episode"
    line_head: bool  # the first sentence of its line (a glossary label may start it)
    start: float | None  # seconds into the episode, when known
    order: int  # position in the episode, for a stable evidence order
    tokens: tuple[Token, ...]
    papers: tuple[tuple[int, int], ...] = ()  # where the name of a cited paper stands in text


class CueSet:
    """Cue phrases as stem sequences; '*' in a phrase stands for up to three words. With
    ``exact`` the phrases are whole words as written ("means" is not "mean"), matched against
    ``surface_words``."""

    def __init__(self, phrases: Iterable[str], *, exact: bool = False) -> None:
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        for phrase in phrases:
            key = _exact_key(phrase) if exact else phrase_key(phrase)
            if key and key[0] not in WILDCARDS:
                self._by_first.setdefault(key[0], []).append(key)

    def __bool__(self) -> bool:
        return bool(self._by_first)

    def find(self, stems: Sequence[str], begin: int = 0, end: int | None = None) -> int:
        """The token index where a cue first starts in stems[begin:end], or -1."""
        stop = len(stems) if end is None else end
        for i in range(begin, stop):
            for key in self._by_first.get(stems[i], ()):
                if match_at(key, stems, i, stop) >= 0:
                    return i
        return -1

    def ends(self, stems: Sequence[str], begin: int = 0) -> list[tuple[int, int]]:
        """Every (start, end) token span where a cue matches."""
        found = []
        for i in range(begin, len(stems)):
            for key in self._by_first.get(stems[i], ()):
                end = match_at(key, stems, i, len(stems))
                if end >= 0:
                    found.append((i, end))
        return found


def _exact_key(phrase: str) -> tuple[str, ...]:
    key: list[str] = []
    for part in phrase.lower().split():
        key.extend([part] if part in WILDCARDS else words_of(part))
    return tuple(key)


def match_at(key: Sequence[str], stems: Sequence[str], i: int, stop: int) -> int:
    """Match ``key`` at token ``i`` ('*': a gap of 1-3 words, '...': a gap of any length,
    '#': a number); the end index, or -1."""
    found = match_words(key, stems, i, stop)
    return found[0] if found is not None else -1


def match_words(
    key: Sequence[str], stems: Sequence[str], i: int, stop: int
) -> tuple[int, tuple[int, ...]] | None:
    """Like ``match_at``: the end index and the tokens the key's own words matched (not the
    words in its gaps), or None."""
    if not key:
        return i, ()
    if key[0] == GAP or key[0] == SPREAD:
        gaps = range(1, 4) if key[0] == GAP else range(0, stop - i)
        for gap in gaps:
            found = match_words(key[1:], stems, i + gap, stop)
            if found is not None:
                return found
        return None
    if i >= stop:
        return None
    if key[0] == NUMBER:
        if not stems[i].isdigit():
            return None
    elif stems[i] != key[0]:
        return None
    found = match_words(key[1:], stems, i + 1, stop)
    return None if found is None else (found[0], (i, *found[1]))


@dataclass(frozen=True, slots=True)
class Cues:
    """The catalog's cue phrases, compiled once per catalog."""

    negation: CueSet
    other_episodes: CueSet
    future: CueSet
    episode_words: CueSet
    this_episode: CueSet
    sponsor: CueSet
    bio: CueSet
    link_headings: CueSet
    examples: CueSet
    name_heads: frozenset[str]
    explaining: CueSet
    training: CueSet
    introducing: CueSet
    profile_links: frozenset[str]
    publications: frozenset[str]

    def outline(self, stems: Sequence[str]) -> bool:
        """A plan of other episodes in the future tense ("we'll spend three episodes on",
        "coming in season 4"), and no word of this episode."""
        return (
            self.future.find(stems) >= 0
            and self.episode_words.find(stems) >= 0
            and self.this_episode.find(stems) < 0
        )

    @classmethod
    def compile(cls, cues: LinkingCues) -> Cues:
        return cls(
            negation=CueSet(cues.negation),
            other_episodes=CueSet(cues.other_episodes),
            future=CueSet(cues.future),
            episode_words=CueSet(cues.episode_words),
            this_episode=CueSet(cues.this_episode),
            sponsor=CueSet(cues.sponsor),
            bio=CueSet(cues.bio),
            link_headings=CueSet(cues.link_headings),
            examples=CueSet(cues.examples),
            name_heads=frozenset(stem(w) for w in cues.name_heads),
            explaining=CueSet(cues.explaining, exact=True),
            training=CueSet(cues.training),
            introducing=CueSet(cues.introducing),
            profile_links=frozenset(stem(w) for w in cues.profile_links),
            publications=frozenset(stem(w) for w in cues.publications),
        )

    def profile_line(self, stems: Sequence[str]) -> bool:
        """A person's links: "Ada Lovelace – Website, GitHub, LinkedIn": the line holds
        PROFILE_LINKS or more profile words and little else."""
        hits = sum(s in self.profile_links for s in stems)
        return hits >= PROFILE_LINKS and len(stems) - hits <= PROFILE_OTHER_WORDS


def _sentences(line: str) -> list[str]:
    return [s.strip() for s in split_sentences(line, "not_lower") if s.strip()]


def _passage(
    field: EvidenceField,
    text: str,
    place: PassagePlace,
    zone: str,
    line_head: bool,
    start: float | None,
    order: int,
) -> Passage:
    return Passage(field, text, place, zone, line_head, start, order, tuple(normalize_tokens(text)))


def parse_clock(text: str) -> float:
    """'1:02:03' or '14:10' as seconds."""
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def title_passages(title: str) -> list[Passage]:
    text = URL_IN_TEXT.sub(" ", title).strip()
    return [_passage("title", text, "title", "", True, None, 0)] if text else []


def _is_heading(line: str, has_bullet: bool, is_last: bool) -> bool:
    if has_bullet or is_last:
        return False
    words = line.rstrip(":").split()
    return 0 < len(words) <= HEADING_MAX_WORDS and line[-1] not in ".!?;," and line[0].isupper()


def description_passages(description: str, cues: Cues, *, base: int = 10**6) -> list[Passage]:
    """Passages of a plain-text description: one per sentence, with place and zone.

    A heading over a link list, a sponsor read or a guest bio puts the lines under it (up to
    the next heading) in that zone; a sponsor cue puts the rest of its paragraph there; a
    bio cue its sentence; a line that opens with an other-episode cue ("Next episode: ...")
    the whole line. A line that starts with a timestamp ("[14:10] ...") gets that start time;
    when it is short, with no sentence end ("12:05 Why it works"), it is a chapter title.
    """
    lines = [URL_IN_TEXT.sub(" ", line).strip() for line in description.split("\n")]
    lines = [line for line in lines if line]
    passages: list[Passage] = []
    section_zone = ""
    for number, raw in enumerate(lines):
        bullet = _BULLET.match(raw)
        line = raw[bullet.end() :] if bullet else raw
        start = None
        stamp = _TIMESTAMP.match(line)
        if stamp and ":" in stamp.group(1):
            start = parse_clock(stamp.group(1))
            line = line[stamp.end() :]
        if not line:
            continue
        order = base + number * 1000
        if _is_heading(line, bool(bullet) or start is not None, number == len(lines) - 1):
            stems = [t[0] for t in normalize_tokens(line)]
            if cues.profile_line(stems):  # "Ada Lovelace – Website, GitHub": no heading
                passages.append(_passage("description", line, "line", "links", True, start, order))
                continue
            section_zone = _heading_zone(stems, cues)
            passages.append(
                _passage("description", line, "heading", section_zone, True, start, order)
            )
            continue
        line_stems = [t[0] for t in normalize_tokens(line)]
        if start is not None and len(line_stems) <= CHAPTER_MAX_WORDS and line[-1] not in ".!?":
            zone = section_zone or _chapter_zone(line_stems, cues)  # "12:05 Why it works"
            passages.append(_passage("description", line, "chapter", zone, True, start, order))
            continue
        if (
            section_zone in ("links", "other episode")
            and not bullet
            and len(line_stems) >= LIST_LINE_WORDS
        ):
            section_zone = ""  # a paragraph of prose ends a list of links or episodes
        zone = section_zone
        if cues.other_episodes.find(line_stems, 0, min(3, len(line_stems))) == 0:
            zone = zone or "other episode"
        if cues.profile_line(line_stems):
            zone = zone or "links"
        for s_no, sentence in enumerate(_sentences(line)):
            stems = [t[0] for t in normalize_tokens(sentence)]
            sentence_zone = zone
            if not zone and cues.sponsor.find(stems) >= 0:
                zone = sentence_zone = "sponsor"  # the rest of the paragraph is the ad
            elif not zone and cues.bio.find(stems) >= 0:
                sentence_zone = "bio"
            elif not zone and cues.outline(stems):
                sentence_zone = "other episode"
            passages.append(
                _passage(
                    "description", sentence, "line", sentence_zone, s_no == 0, start, order + s_no
                )
            )
    return passages


def _heading_zone(stems: Sequence[str], cues: Cues) -> str:
    if cues.link_headings.find(stems) >= 0:
        return "links"
    if cues.sponsor.find(stems) >= 0:
        return "sponsor"
    if cues.bio.find(stems) >= 0:
        return "bio"
    if cues.other_episodes.find(stems) >= 0:
        return "other episode"
    return ""


def _chapter_zone(stems: Sequence[str], cues: Cues) -> str:
    if cues.sponsor.find(stems) >= 0:
        return "sponsor"
    if cues.other_episodes.find(stems) >= 0:
        return "other episode"
    return ""


def chapter_passages(
    chapters: Sequence[tuple[float, str]], cues: Cues, base: int = 2 * 10**9
) -> list[Passage]:
    passages = []
    for number, (start, title) in enumerate(chapters):
        text = URL_IN_TEXT.sub(" ", title).strip()
        if not text:
            continue
        zone = _chapter_zone([t[0] for t in normalize_tokens(text)], cues)
        passages.append(
            _passage("chapter", text, "chapter", zone, True, start, base + number * 1000)
        )
    return passages


def transcript_passages(
    cues_in: Sequence[Cue], cues: Cues, untimed: str = "", base: int = 3 * 10**9
) -> list[Passage]:
    """Transcript windows: cues joined up to a sentence end (or a window of words).

    A sponsor cue makes the next SPONSOR_SPAN_SECONDS of the transcript a sponsor read (the
    rest of its paragraph in text without times). ``untimed`` is transcript text without
    times: its passages have no start.
    """
    passages: list[Passage] = []
    texts: list[str] = []
    window_start: float | None = None
    sponsor_until = -1.0

    def flush() -> None:
        nonlocal texts, window_start, sponsor_until
        if not texts or window_start is None:
            return
        text = " ".join(texts)
        stems = [t[0] for t in normalize_tokens(text)]
        if cues.sponsor.find(stems) >= 0:
            sponsor_until = window_start + SPONSOR_SPAN_SECONDS
        zone = "sponsor" if window_start <= sponsor_until else ""
        if not zone and cues.outline(stems):
            zone = "other episode"
        passages.append(
            _passage(
                "transcript", text, "transcript", zone, True, window_start, base + len(passages)
            )
        )
        texts, window_start = [], None

    words = 0
    for cue in cues_in:
        text = " ".join(URL_IN_TEXT.sub(" ", cue.text).split())
        if not text:
            continue
        for piece in _sentences(text):
            if window_start is None:
                window_start, words = cue.start, 0
            texts.append(piece)
            words += len(piece.split())
            if piece[-1] in ".!?" or words >= TRANSCRIPT_WINDOW_WORDS:
                flush()
    flush()
    for number, line in enumerate(untimed.split("\n")):
        zone = ""
        for sentence in _sentences(URL_IN_TEXT.sub(" ", line)):
            stems = [t[0] for t in normalize_tokens(sentence)]
            if cues.sponsor.find(stems) >= 0:
                zone = "sponsor"
            sentence_zone = zone or ("other episode" if cues.outline(stems) else "")
            passages.append(
                _passage(
                    "transcript",
                    sentence,
                    "transcript",
                    sentence_zone,
                    True,
                    None,
                    base + 10**8 + number * 1000 + len(passages),
                )
            )
    return passages


# A citation after a paper's name: "(Hoffmann et al., 2022)", "(Kingma & Welling, 2013)".
_CITATION = re.compile(
    r"\(\s*[A-Z][\w'’-]+(?:\s+et\s+al\.?|(?:\s*(?:,|&|\band\b)\s*[A-Z][\w'’-]+)*)"
    r"\s*,?\s*(?:19|20)\d\d[a-z]?\s*\)"
)
_TITLE_WORD = re.compile(
    r"[A-Z0-9][\w'’-]*|of|for|is|all|you|a|an|the|and|with|to|in|on|by|via|from|as"
)
PAPER_MIN_WORDS = 2


def paper_name(text: str, bracket: int) -> str:
    """The capitalized run of words (a title may hold small words and a colon) that ends just
    before the citation bracket at ``bracket``, or ""."""
    words = list(re.finditer(r"[^\s]+", text[:bracket]))
    begin = bracket
    count = 0
    for match in reversed(words):
        word = match.group(0).rstrip(":,")
        if not _TITLE_WORD.fullmatch(word) or (match.group(0).endswith(",") and count):
            break
        begin, count = match.start(), count + 1
    while count and not text[begin].isupper() and not text[begin].isdigit():
        nxt = re.search(r"\s+\S", text[begin:bracket])  # a name starts with a capital
        if not nxt:
            return ""
        begin += nxt.end() - 1
        count -= 1
    name = text[begin:bracket].strip().rstrip(":,")
    return name if len(name.split()) >= PAPER_MIN_WORDS else ""


def with_paper_names(passages: Sequence[Passage]) -> list[Passage]:
    """Mark, in every passage, the names of the papers the notes cite with their authors and
    year: a paper's name is what the episode is about."""
    names = {
        name.lower()
        for passage in passages
        for match in _CITATION.finditer(passage.text)
        if (name := paper_name(passage.text, match.start()))
    }
    if not names:
        return list(passages)
    marked = []
    for passage in passages:
        low = passage.text.lower()
        spans = tuple(
            (m.start(), m.start() + len(name))
            for name in names
            for m in re.finditer(re.escape(name), low)
        )
        marked.append(replace(passage, papers=spans) if spans else passage)
    return marked
