"""Text: feed HTML -> plain text for the ear and sanitized HTML for notes; safe file slugs."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Literal

import nh3

from companion.layout import RESERVED_PREFIXES

MAX_SLUG_LENGTH = 60
EPISODE_PREFIX = "episode-"
# A web address in running text: never spoken, never evidence for a topic.
URL_IN_TEXT = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
# Symbols in feed text, as a listener should hear them (or not at all).
SYMBOL_WORDS = {
    "&": " and ",
    "%": " percent ",
    "+": " plus ",
    "=": " equals ",
    "@": " at ",
    "#": " number ",
    "/": " ",
    "|": " ",
    "~": " ",
    "*": " ",
    "<": " ",
    ">": " ",
    "\\": " ",
    "^": " ",
    "_": " ",
    "{": " ",
    "}": " ",
    "`": "",
}


# --- text -------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    _BLOCKS = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "ul",
            "ol",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "tr",
            "blockquote",
            "pre",
            "section",
            "article",
        }
    )
    _SKIP = frozenset({"script", "style", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


_ESCAPED_TAG = re.compile(
    r"</?(?:script|style|iframe|object|embed|svg|math|img|a|p|br|div|span|b|i|em|strong|ul|"
    r"ol|li|h[1-6]|table|tr|td|blockquote|pre|code|font|center)\b[^<>]*>",
    re.IGNORECASE,
)


def html_to_text(html: str) -> str:
    """Plain text from HTML: tags dropped, entities decoded, one line per block.

    HTML escaped twice (common in real feeds) is read again, so no tag survives as text.
    """
    text = html
    for _ in range(4):
        if "<" not in text and "&" not in text:
            break
        extractor = _TextExtractor()
        extractor.feed(text)
        extractor.close()
        text = "".join(extractor.parts)
        if not _ESCAPED_TAG.search(text.replace("&lt;", "<").replace("&gt;", ">")):
            break
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line and line != "-")


def plain_line(text: str) -> str:
    """Text from HTML on one line."""
    return " ".join(html_to_text(text or "").split())


def sanitize_html(html: str) -> str:
    """Safe HTML for show notes: a small allowlist, http(s) links only, no scripts."""
    return nh3.clean(
        html,
        tags={"p", "br", "ul", "ol", "li", "a", "strong", "em", "b", "i", "code", "blockquote"},
        attributes={"a": {"href"}},
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
    ).strip()


# --- slugs ------------------------------------------------------------------------------

_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)


def slugify(text: str) -> str:
    """Lower-case ASCII letters, digits and single hyphens; may be empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def episode_slug(title: str, guid: str) -> str:
    """A safe file name for an episode: its slugified title, or a hash of its guid.

    A title whose slug would start like a course or review lesson's ("Review 001",
    "Course: attention") is put under "episode-", so the three kinds can never share a folder.
    """
    slug = slugify(title)
    if slug.startswith(RESERVED_PREFIXES):
        slug = f"{EPISODE_PREFIX}{slug}"
    slug = slug[:MAX_SLUG_LENGTH].rstrip("-")
    if not slug:
        return f"{EPISODE_PREFIX}{_short_hash(guid)}"
    if slug in _WINDOWS_RESERVED:
        return f"{slug}-{_short_hash(guid)}"
    return slug


def unique_slug(slug: str, guid: str, used: set[str]) -> str:
    """`slug`, or `slug` plus a short hash of the guid when another episode has it."""
    if slug not in used:
        return slug
    candidate = f"{slug[: MAX_SLUG_LENGTH - 9]}-{_short_hash(guid)}"
    counter = 2
    while candidate in used:
        candidate = f"{slug[: MAX_SLUG_LENGTH - 12]}-{_short_hash(guid)}-{counter}"
        counter += 1
    return candidate


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def clock(seconds: float) -> str:
    """A time into an episode as people write it: `m:ss`, or `h:mm:ss` from an hour on."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# --- sentences ------------------------------------------------------------------------------

# What may begin the next sentence after a ".", "!" or "?" and white space. Each kind of text
# draws the line in its own place, on purpose:
SentenceStart = Literal["any", "capital", "not_lower", "line"]
_SENTENCE_BREAKS: dict[SentenceStart, re.Pattern[str]] = {
    # anything: a lesson's spoken text, where each sentence is one utterance and one cue
    "any": re.compile(r"(?<=[.!?])\s+(?=\S)"),
    # a capital: catalog prose, whose "e.g. the" and "i.e. a" do not end a sentence
    "capital": re.compile(r"(?<=[.!?])\s+(?=[A-Z])"),
    # anything but a lower-case letter: episode text for linking ("vs. the" runs on, while a
    # digit, a quote or a bracket may open a sentence)
    "not_lower": re.compile(r"(?<=[.!?])\s+(?=[^a-z])"),
    # also at every line break: an episode description, whose lines often end without a stop
    "line": re.compile(r"(?<=[.!?])\s+|\s*\n\s*"),
}


def split_sentences(text: str, start: SentenceStart, maxsplit: int = 0) -> list[str]:
    """`text` cut between sentences, a sentence `start` deciding where (see above)."""
    return _SENTENCE_BREAKS[start].split(text, maxsplit)


def sentence_breaks(text: str, start: SentenceStart) -> Iterator[re.Match[str]]:
    """The white space between the sentences of `text`, as for split_sentences."""
    return _SENTENCE_BREAKS[start].finditer(text)
