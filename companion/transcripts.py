"""Transcripts and chapters: the bytes of a podcast:transcript or podcast:chapters file ->
cues and chapters. Pure parsers, one per format (WebVTT, SRT, Podcasting 2.0 JSON, HTML,
plain text; JSON chapters); fetching them is episode_words.py's job.
"""

from __future__ import annotations

import html
import json
import logging
import math
import re
import urllib.parse
from html.parser import HTMLParser
from typing import Any

from companion.models import Attachment, Chapter, Cue

log = logging.getLogger(__name__)

__all__ = [
    "TranscriptError",
    "parse_chapters",
    "parse_transcript",
    "rank",
    "transcript_format",
]

MAX_CUES = 50_000  # a transcript longer than this is read up to here
MAX_CUE_CHARS = 2_000
MAX_CHAPTERS = 500
MAX_SECONDS = 7 * 24 * 3600.0  # a time beyond a week into an episode is not a time
JSON_CUE_WORDS = 30  # word-level JSON segments are joined into cues up to this many words
JSON_CUE_GAP = 2.0  # ... or up to a pause this long (seconds)
# Transcript formats, best first, and the MIME types that name them.
FORMATS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("vtt", ("text/vtt", "text/webvtt")),
    ("json", ("application/json", "application/x-json", "text/json")),
    (
        "srt",
        ("application/x-subrip", "application/srt", "text/srt", "application/x-srt", "text/x-srt"),
    ),
    ("html", ("text/html", "application/xhtml+xml")),
    ("text", ("text/plain",)),
)
_EXTENSIONS = {
    ".vtt": "vtt",
    ".json": "json",
    ".srt": "srt",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
}


class TranscriptError(ValueError):
    """A transcript or chapters file that cannot be read; the message says why."""


# --- formats --------------------------------------------------------------------------------


def transcript_format(attachment: Attachment) -> str:
    """'vtt', 'json', 'srt', 'html' or 'text' from the type, else the URL's extension; ''."""
    for name, types in FORMATS:
        if attachment.type in types:
            return name
    path = urllib.parse.urlsplit(attachment.url).path.lower()
    return next((name for ext, name in _EXTENSIONS.items() if path.endswith(ext)), "")


def rank(attachment: Attachment) -> tuple[int, int]:
    """English (or unmarked) transcripts first, the catalog's phrases being English; then by
    format, best first."""
    language = attachment.language.lower()
    foreign = 0 if not language or language == "en" or language.startswith("en-") else 1
    name = transcript_format(attachment)
    order = [n for n, _ in FORMATS]
    return foreign, order.index(name) if name in order else len(order)


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


_CLOCK = re.compile(r"^(?:(\d{1,3}):)?([0-5]?\d):([0-5]\d)(?:[.,](\d{1,3}))?$")
_TIMING = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)")
_TAG = re.compile(r"<[^>]*>")


def _seconds(text: str) -> float | None:
    match = _CLOCK.match(text.strip())
    if not match:
        return None
    hours, minutes, seconds, fraction = match.groups()
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    if fraction:
        value += int(fraction) / 10 ** len(fraction)
    return float(value)


def _clean(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())[:MAX_CUE_CHARS]


def _timed_blocks(text: str, source: str, kind: str) -> tuple[Cue, ...]:
    """Cues of a WebVTT or SRT file: blocks with a 'start --> end' line."""
    cues: list[Cue] = []
    bad = 0
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [line for line in block.split("\n") if line.strip()]
        timing_at = next((i for i, line in enumerate(lines[:3]) if "-->" in line), None)
        if timing_at is None:
            continue
        match = _TIMING.match(lines[timing_at])
        start = _seconds(match.group(1)) if match else None
        end = _seconds(match.group(2)) if match else None
        if start is None or end is None or start > MAX_SECONDS:
            bad += 1
            continue
        words = _clean(" ".join(lines[timing_at + 1 :]))
        if words:
            cues.append(Cue(start, max(start, end), words))
            if len(cues) >= MAX_CUES:
                log.warning("%s: more than %d cues; read the first %d", source, MAX_CUES, MAX_CUES)
                break
    if not cues:
        raise TranscriptError(
            f"{source}: no {kind} cue could be read" + (f" ({bad} with a bad time)" if bad else "")
        )
    return tuple(cues)


def parse_vtt(text: str, source: str) -> tuple[Cue, ...]:
    if not text.lstrip("\ufeff").startswith("WEBVTT"):
        raise TranscriptError(f"{source}: not WebVTT (no WEBVTT header)")
    return _timed_blocks(text, source, "WebVTT")


def parse_srt(text: str, source: str) -> tuple[Cue, ...]:
    return _timed_blocks(text, source, "SRT")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and 0 <= number <= MAX_SECONDS else None


def parse_json_transcript(text: str, source: str) -> tuple[Cue, ...]:
    """Podcasting 2.0 JSON: {"segments": [{"startTime", "endTime", "body", "speaker"}]}.

    Word-level segments are joined into cues at a sentence end, a pause, a new speaker or
    JSON_CUE_WORDS words.
    """
    try:
        data = json.loads(text)
    except ValueError as error:
        raise TranscriptError(f"{source}: not JSON ({error})") from None
    segments = data.get("segments") if isinstance(data, dict) else None
    if not isinstance(segments, list):
        raise TranscriptError(f"{source}: a JSON transcript needs a 'segments' list")
    cues: list[Cue] = []
    words: list[str] = []
    start = end = 0.0
    speaker: Any = None

    def flush() -> None:
        nonlocal words
        if words:
            cues.append(Cue(start, max(start, end), " ".join(words)[:MAX_CUE_CHARS]))
        words = []

    for segment in segments:
        if not isinstance(segment, dict) or len(cues) >= MAX_CUES:
            continue
        body = _clean(str(segment.get("body", "")))
        seg_start = _number(segment.get("startTime"))
        if not body or seg_start is None:
            continue
        seg_end = _number(segment.get("endTime")) or seg_start
        new_speaker = segment.get("speaker")
        if words and (
            seg_start - end > JSON_CUE_GAP or new_speaker != speaker or len(words) >= JSON_CUE_WORDS
        ):
            flush()
        if not words:
            start = seg_start
        speaker = new_speaker
        words.append(body)
        end = seg_end
        if body[-1] in ".!?":
            flush()
    flush()
    if not cues:
        raise TranscriptError(f"{source}: no segment with a body and a startTime")
    return tuple(cues)


class _HtmlTranscript(HTMLParser):
    """Podcasting 2.0 HTML transcripts: <time>0:00</time> opens a timed paragraph."""

    _SKIP = frozenset({"script", "style", "head", "template", "cite"})  # cite: a speaker

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cues: list[tuple[float | None, list[str]]] = [(None, [])]
        self._in_time = False
        self._time_text: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag == "time":
            self._in_time, self._time_text = True, []

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "time" and self._in_time:
            self._in_time = False
            when = _seconds("".join(self._time_text))
            if when is not None and len(self.cues) < MAX_CUES:
                self.cues.append((when, []))
            else:
                self.cues[-1][1].append("".join(self._time_text))
        elif tag in ("p", "br", "div", "li"):
            self.cues[-1][1].append("\n")

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        (self._time_text if self._in_time else self.cues[-1][1]).append(data)


def parse_html_transcript(text: str, source: str) -> tuple[tuple[Cue, ...], str]:
    """(timed cues, untimed text) of an HTML transcript."""
    parser = _HtmlTranscript()
    parser.feed(text)
    parser.close()
    timed = tuple(
        Cue(when, when, words)
        for when, parts in parser.cues
        if when is not None and (words := " ".join("".join(parts).split())[:MAX_CUE_CHARS])
    )
    untimed = "\n".join(
        " ".join(line.split()) for line in "".join(parser.cues[0][1]).split("\n") if line.strip()
    )
    if not timed and not untimed:
        raise TranscriptError(f"{source}: the HTML transcript has no text")
    return timed, untimed


_LINE_CLOCK = re.compile(r"^\s*[\[(]?((?:\d{1,3}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?)[\])]?\s+")


def parse_text_transcript(text: str, source: str) -> tuple[tuple[Cue, ...], str]:
    """Plain text: lines that open with a time ("00:14:10 Speaker: ...") are timed."""
    timed: list[Cue] = []
    untimed: list[str] = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        match = _LINE_CLOCK.match(line)
        when = _seconds(match.group(1)) if match else None
        if match and when is not None and len(timed) < MAX_CUES:
            timed.append(Cue(when, when, line[match.end() :][:MAX_CUE_CHARS]))
        elif timed:
            timed[-1] = Cue(
                timed[-1].start, timed[-1].end, (timed[-1].text + " " + line)[:MAX_CUE_CHARS]
            )
        else:
            untimed.append(line)
    if not timed and not untimed:
        raise TranscriptError(f"{source}: the transcript is empty")
    return tuple(timed), "\n".join(untimed)


def _sniff(text: str) -> str:
    head = text.lstrip("\ufeff \t\r\n")[:200]
    if head.startswith("WEBVTT"):
        return "vtt"
    if head.startswith(("{", "[")):
        return "json"
    if head.startswith("<"):
        return "html"
    if re.search(r"\d\d:\d\d:\d\d,\d{3}\s+-->", head):
        return "srt"
    return "text"


def parse_transcript(data: bytes, fmt: str, source: str) -> tuple[tuple[Cue, ...], str]:
    """(timed cues, untimed text) of a transcript in format ``fmt`` ('' to sniff it).

    A file that does not start like its declared format is sniffed (a WebVTT file served
    as text/plain is read as WebVTT). Raises TranscriptError naming ``source``.
    """
    text = _decode(data)
    if not text.strip():
        raise TranscriptError(f"{source}: the transcript is empty")
    sniffed = _sniff(text)
    if (
        not fmt
        or (fmt in ("text", "html", "srt") and sniffed in ("vtt", "json"))
        or (fmt == "text" and sniffed == "srt")
    ):
        fmt = sniffed
    if fmt == "vtt":
        return parse_vtt(text, source), ""
    if fmt == "srt":
        return parse_srt(text, source), ""
    if fmt == "json":
        return parse_json_transcript(text, source), ""
    if fmt == "html":
        return parse_html_transcript(text, source)
    return parse_text_transcript(text, source)


def parse_chapters(data: bytes, source: str) -> tuple[Chapter, ...]:
    """Podcasting 2.0 JSON chapters: {"chapters": [{"startTime", "title"}, ...]}."""
    try:
        parsed = json.loads(_decode(data))
    except ValueError as error:
        raise TranscriptError(f"{source}: chapters are not JSON ({error})") from None
    items = parsed.get("chapters") if isinstance(parsed, dict) else None
    if not isinstance(items, list):
        raise TranscriptError(f"{source}: JSON chapters need a 'chapters' list")
    marks: list[tuple[float, str]] = []
    for item in items[:MAX_CHAPTERS]:
        if not isinstance(item, dict):
            continue
        start = _number(item.get("startTime"))
        title = item.get("title")
        if start is None or not isinstance(title, str) or not title.strip():
            continue
        marks.append((start, " ".join(title.split())[:300]))
    if not marks:
        raise TranscriptError(f"{source}: no chapter with a startTime and a title")
    marks.sort(key=lambda mark: mark[0])
    ends = [s for s, _ in marks[1:]] + [marks[-1][0]]
    return tuple(
        Chapter(start, end, title) for (start, title), end in zip(marks, ends, strict=True)
    )
