"""Ingest: a feed path or URL -> bytes -> (Show, tuple[Episode, ...]) with feedparser."""

from __future__ import annotations

import calendar
import codecs
import hashlib
import logging
import re
import unicodedata
import urllib.parse
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax import SAXException

import defusedxml
import defusedxml.expatreader
import feedparser

from companion.errors import FeedError
from companion.fetch import USER_AGENT, FetchResult, fetch_feed, too_big
from companion.models import Attachment, Episode, Show
from companion.text import episode_slug, html_to_text, sanitize_html, unique_slug
from companion.text import plain_line as _plain

log = logging.getLogger(__name__)

__all__ = [
    "USER_AGENT",
    "FetchResult",
    "defuse",
    "fetch_source",
    "load_feed",
    "parse_feed",
    "read_feed",
]

DEFAULT_MAX_FEED_BYTES = 20_000_000
MAX_TITLE_CHARS = 500
MAX_GUID_CHARS = 1000
MAX_DESCRIPTION_CHARS = 20_000  # plain text of one description
MAX_DESCRIPTION_HTML = 200_000  # raw HTML of one description, before it is read
MAX_DEPTH = 256  # elements nested deeper are dropped before feedparser reads the feed
MAX_ENCLOSURE_BYTES = 10_000_000_000  # a 10 GB episode is not plausible: length unknown

# --- reading bytes ----------------------------------------------------------------------


def is_url(source: str | Path) -> bool:
    return isinstance(source, str) and re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", source) is not None


def fetch_source(
    source: str | Path,
    *,
    max_bytes: int = DEFAULT_MAX_FEED_BYTES,
    timeout: float = 20.0,
    cache_dir: Path | None = None,
) -> FetchResult:
    """The bytes of a feed file or http(s) URL, at most `max_bytes`.

    For a URL with a `cache_dir`, a conditional GET: `not_modified` is True when the server
    answered 304, and `data` is then the remembered copy. A file is never `not_modified`.
    """
    if is_url(source):
        return fetch_feed(str(source), cache_dir=cache_dir, max_bytes=max_bytes, timeout=timeout)
    path = Path(source)
    if not path.is_file():
        raise FeedError(f"{source}: no such feed file")
    size = path.stat().st_size
    if size > max_bytes:
        raise too_big(str(source), max_bytes, size)
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_big(str(source), max_bytes)
    return FetchResult(data, False, str(source))


def read_feed(
    source: str | Path,
    *,
    max_bytes: int = DEFAULT_MAX_FEED_BYTES,
    timeout: float = 20.0,
    cache_dir: Path | None = None,
) -> bytes:
    """Read the raw bytes of a feed from a file path or an http(s) URL, at most `max_bytes`."""
    return fetch_source(source, max_bytes=max_bytes, timeout=timeout, cache_dir=cache_dir).data


# --- XML safety -------------------------------------------------------------------------


class _Scanner(defusedxml.expatreader.DefusedExpatParser):  # type: ignore[misc]  # untyped
    """defusedxml's expat reader, used to find the root element and over-deep elements.

    defusedxml raises at the first entity declaration, before anything is expanded or
    fetched; the external DTD subset is skipped (never loaded) rather than refused.
    """

    def __init__(self) -> None:
        super().__init__(forbid_dtd=False, forbid_entities=True, forbid_external=True)
        self.root: int | None = None
        self.depth = 0
        self.cuts: list[tuple[int, int]] = []  # [start, end-tag start) of over-deep elements
        self._cut_start = 0
        self.complete = False  # the whole document was read
        self.items: list[list[_Tagged]] = []  # podcast:transcript/chapters of each item
        self._podcast_prefixes: set[str] = set()
        self._item_depth = 0

    def reset(self) -> None:
        super().reset()
        parser = self._parser
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = None

    def defused_external_entity_ref_handler(
        self, context: str | None, base: str | None, sysid: str | None, pubid: str | None
    ) -> int:
        if context is None:  # the external DTD subset: declared entities are refused anyway
            return 1
        refused: int = super().defused_external_entity_ref_handler(context, base, sysid, pubid)
        return refused

    def _start(self, name: str, attrs: Any) -> None:
        self.depth += 1
        if self.root is None:
            self.root = self._parser.CurrentByteIndex
        elif self.depth == MAX_DEPTH + 1:
            self._cut_start = self._parser.CurrentByteIndex
        for key, value in attrs.items():  # the prefixes bound to the Podcasting 2.0 namespace
            if key.startswith("xmlns:") and "podcastindex" in value.lower():
                self._podcast_prefixes.add(key[6:])
        prefix, _, local = name.rpartition(":")
        if local in ("item", "entry") and not self._item_depth:
            self._item_depth = self.depth
            self.items.append([])
        elif (
            self._item_depth
            and local in ("transcript", "chapters")
            and prefix in self._podcast_prefixes
            and len(self.items[-1]) < 20
        ):
            attachment = _attachment(attrs)
            if attachment is not None:
                self.items[-1].append((local, attachment))

    def _end(self, name: str) -> None:
        if self.depth == MAX_DEPTH + 1:
            self.cuts.append((self._cut_start, self._parser.CurrentByteIndex))
        if self.depth == self._item_depth:
            self._item_depth = 0
        self.depth -= 1


_Tagged = tuple[str, Attachment]  # ("transcript" or "chapters", the file)


def _attachment(attrs: Any) -> Attachment | None:
    """The file a podcast:transcript or podcast:chapters tag points to (http(s) only)."""
    url = str(attrs.get("url", "")).strip()
    if not _is_http_url(url):
        return None
    return Attachment(
        url,
        str(attrs.get("type", "")).split(";")[0].strip().lower()[:100],
        str(attrs.get("language", "")).strip()[:35],
        str(attrs.get("rel", "")).strip()[:35],
    )


def _scan(data: bytes, source: str) -> _Scanner:
    scanner = _Scanner()
    try:
        scanner.feed(data)
        scanner.close()
        scanner.complete = True
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise FeedError(
            f"{source}: the feed declares XML entities in a DTD; refused "
            "(entity expansion and external entities are a known attack)"
        ) from None
    except (SAXException, ValueError, LookupError):
        pass  # not well-formed: feedparser reads what it can; the scan so far stands
    return scanner


def _without(data: bytes, cuts: list[tuple[int, int]]) -> bytes:
    pieces: list[bytes] = []
    position = 0
    for start, end_tag in cuts:
        end = data.find(b">", end_tag)
        if start < position or end < 0:
            continue
        pieces.append(data[position:start])
        position = end + 1
    pieces.append(data[position:])
    return b"".join(pieces)


_WIDE = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00r\x00", "utf-16-le"),
    (b"\x00<\x00r", "utf-16-be"),
)
_DECLARATION = re.compile(rb"^<\?xml[^>]*\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["'][^"']*["']""")


def _as_utf8(data: bytes, source: str) -> bytes:
    """UTF-16 and UTF-32 feeds re-encoded as UTF-8 (declaration updated); others as they are."""
    for mark, codec in _WIDE:
        if data.startswith(mark):
            text = data.decode(codec, errors="replace").lstrip("\ufeff")
            log.info("%s: %s feed re-encoded as UTF-8", source, codec.upper())
            encoded = text.encode("utf-8")
            declaration = _DECLARATION.match(encoded)
            if declaration:
                fixed = _ENCODING.sub(b'encoding="utf-8"', declaration.group(0))
                encoded = fixed + encoded[declaration.end() :]
            return encoded
    return data


def defuse(data: bytes, source: str) -> bytes:
    """Refuse entity declarations; drop any other DTD before feedparser sees the bytes."""
    return _defuse(data, source)[0]


def _defuse(data: bytes, source: str) -> tuple[bytes, _Scanner]:
    """Refuse entity declarations; drop any other DTD before feedparser sees the bytes.

    feedparser's lenient fallback parser expands internal entities itself (a few hundred
    kB can expand to gigabytes), so no DTD may reach it: the feed is read with defusedxml,
    and everything between the XML declaration and the root element goes. Elements nested
    deeper than MAX_DEPTH (feedparser is slow on them) go too.
    """
    data = _as_utf8(data, source)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    data = data.lstrip(b"\r\n\t ")
    declaration = _DECLARATION.match(data)
    keep = declaration.group(0) if declaration else b""
    scan = _scan(data, source)
    root = scan.root
    if root is None:  # the prolog is not readable XML: cut it where feedparser's head ends
        first_element = re.search(rb"<\w", data)
        root = first_element.start() if first_element else 0
        if re.search(rb"<!\s*ENTITY", data[:root], re.IGNORECASE):
            raise FeedError(
                f"{source}: the feed declares XML entities in a DTD that is not "
                "well-formed; refused"
            )
    if scan.cuts:
        log.warning("%s: elements nested deeper than %d levels dropped", source, MAX_DEPTH)
        data = _without(data, scan.cuts)
    if root <= len(keep):
        return data, scan
    return keep + data[root:], scan


# --- parsing ----------------------------------------------------------------------------


def parse_feed(
    data: bytes,
    source: str,
    *,
    now: datetime | None = None,
    max_episodes: int = 0,
) -> tuple[Show, tuple[Episode, ...]]:
    """Parse feed bytes into a Show and its usable episodes (in feed order).

    Items without an http(s) audio enclosure, repeated guids and items cut off by a
    truncated feed are skipped with a warning; dates after `now` become unknown (None).
    `max_episodes` > 0 keeps only the newest that many, with a warning.
    """
    clean, scan = _defuse(data, source)
    parsed = feedparser.parse(clean, resolve_relative_uris=False, sanitize_html=True)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        detail = f" ({_one_line(str(reason))})" if reason else ""
        raise FeedError(f"{source}: not an RSS or Atom feed{detail}")
    entries = list(parsed.entries)
    if parsed.bozo:
        log.warning(
            "%s: feed is not well-formed (%s); reading what can be read",
            source,
            _one_line(str(parsed.get("bozo_exception"))),
        )
        entries = _complete_entries(entries, clean, source)
    if not entries:
        raise FeedError(f"{source}: the feed has no items")
    show = _show(parsed.feed)
    attachments = scan.items if scan.complete and len(scan.items) == len(parsed.entries) else None
    episodes = _episodes(entries, source, now, attachments)
    if not episodes:
        raise FeedError(
            f"{source}: the feed has no usable items (none has an http(s) audio enclosure)"
        )
    if 0 < max_episodes < len(episodes):
        newest = sorted(episodes, key=date_key, reverse=True)[:max_episodes]
        log.warning(
            "%s: kept the newest %d of %d episodes (--max-episodes %d)",
            source,
            max_episodes,
            len(episodes),
            max_episodes,
        )
        episodes = tuple(e for e in episodes if e in newest)
    return show, episodes


def load_feed(
    source: str | Path,
    *,
    max_bytes: int = DEFAULT_MAX_FEED_BYTES,
    max_episodes: int = 0,
    now: datetime | None = None,
    cache_dir: Path | None = None,
) -> tuple[Show, tuple[Episode, ...]]:
    """read_feed + parse_feed; `now` defaults to the current time."""
    data = read_feed(source, max_bytes=max_bytes, cache_dir=cache_dir)
    return parse_feed(data, str(source), now=now or datetime.now(UTC), max_episodes=max_episodes)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


def date_key(episode: Episode) -> tuple[float, str]:
    """Sorts episodes oldest first; undated ones first of all, then by guid."""
    return (episode.published.timestamp() if episode.published else float("-inf"), episode.guid)


_ITEM_END = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.IGNORECASE)


def _complete_entries(entries: list[Any], data: bytes, source: str) -> list[Any]:
    """Drop the trailing entries of a truncated feed that were never closed."""
    closed = len(_ITEM_END.findall(data))
    if closed >= len(entries):
        return entries
    for entry in entries[closed:]:
        log.warning(
            "%s: episode %r is cut off (the feed is truncated); skipped",
            source,
            _plain(entry.get("title", ""))[:80] or "(untitled)",
        )
    return entries[:closed]


def _show(feed: Any) -> Show:
    return Show(
        title=_plain(feed.get("title", ""))[:MAX_TITLE_CHARS] or "Untitled podcast",
        author=_plain(feed.get("author", "") or feed.get("itunes_author", ""))[:MAX_TITLE_CHARS],
    )


def _episodes(
    entries: Sequence[Any],
    source: str,
    now: datetime | None,
    attachments: Sequence[Sequence[_Tagged]] | None = None,
) -> tuple[Episode, ...]:
    episodes: list[Episode] = []
    seen_guids: set[str] = set()
    for number, entry in enumerate(entries):
        title = _plain(entry.get("title", ""))
        if len(title) > MAX_TITLE_CHARS:
            log.warning(
                "%s: title of episode %r truncated to %d characters",
                source,
                title[:80],
                MAX_TITLE_CHARS,
            )
            title = title[:MAX_TITLE_CHARS]
        audio_url, length, why_not = _enclosure(entry)
        if not audio_url:
            log.warning(
                "%s: episode %r has no http(s) audio enclosure (%s); skipped",
                source,
                title,
                why_not,
            )
            continue
        problem = _length_problem(length)
        if problem:
            log.warning(
                "%s: episode %r: enclosure length %s; length unknown", source, title, problem
            )
        guid = _guid(entry, audio_url, title, source)
        if guid in seen_guids:
            log.warning("%s: episode %r repeats guid %r; kept the first", source, title, guid)
            continue
        seen_guids.add(guid)
        description, html = _description(entry, title, source)
        found = attachments[number] if attachments is not None else _fallback_files(entry)
        episodes.append(
            Episode(
                guid=guid,
                slug=episode_slug(title, guid),  # made unique below
                title=title or "Untitled episode",
                number=_episode_number(entry, title),
                published=_published(entry, title, source, now),
                duration=parse_duration(entry.get("itunes_duration")),
                description=description,
                link=_http_or_empty(entry.get("link", "")),
                audio_url=audio_url,
                description_html=html,
                transcript_files=tuple(a for kind, a in found if kind == "transcript"),
                chapters_file=next((a for kind, a in found if kind == "chapters"), None),
            )
        )
    return _with_slugs(episodes)


def _fallback_files(entry: Any) -> list[_Tagged]:
    """feedparser's view of podcast:transcript/chapters (the last tag of each kind only),
    for a feed that is not well-formed enough to scan."""
    found = []
    for kind in ("transcript", "chapters"):
        attrs = entry.get(f"podcast_{kind}")
        if isinstance(attrs, dict):
            attachment = _attachment(attrs)
            if attachment is not None:
                found.append((kind, attachment))
    return found


def _with_slugs(episodes: list[Episode]) -> tuple[Episode, ...]:
    """Unique slugs given oldest first, so a new episode never takes an old one's slug."""
    order = sorted(range(len(episodes)), key=lambda i: (date_key(episodes[i]), -i))
    used: set[str] = set()
    slugs: dict[int, str] = {}
    for i in order:
        slugs[i] = unique_slug(episodes[i].slug, episodes[i].guid, used)
        used.add(slugs[i])
    return tuple(replace(episode, slug=slugs[i]) for i, episode in enumerate(episodes))


def _guid(entry: Any, audio_url: str, title: str, source: str) -> str:
    guid = (entry.get("id") or "").strip()
    if len(guid) > MAX_GUID_CHARS:
        derived = "companion-" + hashlib.sha256(guid.encode("utf-8")).hexdigest()[:16]
        log.warning(
            "%s: episode %r has a guid of %d characters; using %s",
            source,
            title,
            len(guid),
            derived,
        )
        return derived
    if guid:
        return guid
    derived = "companion-" + hashlib.sha256(audio_url.encode("utf-8")).hexdigest()[:16]
    log.warning("%s: episode %r has no guid; using %s (from its audio URL)", source, title, derived)
    return derived


def _description(entry: Any, title: str, source: str) -> tuple[str, str]:
    candidates = [c.get("value", "") for c in entry.get("content", []) or []]
    candidates.append(entry.get("summary", "") or "")
    html = max(candidates, key=len)
    cut = len(html) > MAX_DESCRIPTION_HTML
    html = html[:MAX_DESCRIPTION_HTML]
    text = html_to_text(html)
    if cut or len(text) > MAX_DESCRIPTION_CHARS:
        log.warning(
            "%s: description of episode %r truncated to %d characters",
            source,
            title,
            MAX_DESCRIPTION_CHARS,
        )
        text = text[:MAX_DESCRIPTION_CHARS]
    return text, sanitize_html(html)


_PLAYABLE = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def _enclosure(entry: Any) -> tuple[str, Any, str]:
    """(http(s) URL, raw length, "") of the audio, or ("", None, why there is none)."""
    candidates = list(entry.get("enclosures") or [])
    candidates += [
        {"href": m.get("url"), "type": m.get("type"), "length": m.get("filesize")}
        for m in entry.get("media_content") or []
        if hasattr(m, "get")
    ]
    fallback: tuple[str, Any] | None = None
    why = "no enclosure"
    for enclosure in candidates:
        href = str(enclosure.get("href") or "").strip()
        kind = str(enclosure.get("type") or "").split(";")[0].strip().lower()
        if not _is_http_url(href):
            scheme = href.split(":", 1)[0].lower()[:20] if ":" in href else ""
            why = f"its enclosure is a {scheme}: URL" if scheme else "its enclosure has no URL"
            continue
        if kind.startswith("audio/"):
            return href, enclosure.get("length"), ""
        if fallback is None and (kind in _PLAYABLE or kind.startswith("video/")):
            fallback = (href, enclosure.get("length"))
        else:
            why = f"its enclosure is {kind[:40]}, not audio"
    if fallback is not None:
        return fallback[0], fallback[1], ""
    return "", None, why


def _is_http_url(url: str) -> bool:
    if not url.lower().startswith(("http://", "https://")) or len(url) > 4000:
        return False
    if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in url):
        return False
    return bool(urllib.parse.urlsplit(url).hostname)


def _length_problem(raw: Any) -> str:
    """Why an enclosure length is unusable ('' when fine, 0 or missing: unknown, as usual)."""
    text = str(raw if raw is not None else "").strip()
    if not text or text == "0":
        return ""  # dynamic ad insertion publishes 0; apps treat it as unknown, silently
    if not text.isdigit():
        return f"{text[:40]!r} is not a number"
    if len(text) > 15 or int(text) > MAX_ENCLOSURE_BYTES:
        return f"{text[:20]}{'...' if len(text) > 20 else ''} is absurdly large"
    return ""


def _http_or_empty(url: str) -> str:
    url = (url or "").strip()
    return url if _is_http_url(url) else ""


def _published(entry: Any, title: str, source: str, now: datetime | None) -> datetime | None:
    stamp = entry.get("published_parsed") or dict.get(entry, "updated_parsed")
    raw = entry.get("published") or dict.get(entry, "updated") or ""
    when = None
    if stamp:
        try:
            when = datetime.fromtimestamp(calendar.timegm(stamp), tz=UTC)
        except (OverflowError, ValueError, OSError):
            when = None
    if when is None:
        if raw:
            log.warning(
                "%s: episode %r has a date that cannot be read (%r); date unknown",
                source,
                title,
                _one_line(str(raw))[:60],
            )
        return None
    if now is not None and when > now:
        log.warning(
            "%s: episode %r is dated in the future (%s); date unknown",
            source,
            title,
            when.isoformat(),
        )
        return None
    return when


def _episode_number(entry: Any, title: str) -> int | None:
    raw = str(entry.get("itunes_episode") or "").strip()
    if raw.isdigit() and len(raw) <= 6:
        return int(raw)
    match = re.search(r"(?:\b[A-Z]{2,4}\s*|#|\bepisode\s*|\bep\.?\s*)(\d{1,4})\b", title, re.I)
    return int(match.group(1)) if match else None


def parse_duration(value: Any) -> int | None:
    """itunes:duration as whole seconds: '754', '12:34', '1:02:03'; None if unreadable."""
    text = str(value or "").strip()
    if not text or len(text) > 20:
        return None
    parts = text.split(":")
    if len(parts) > 3 or not all(p.strip().replace(".", "", 1).isdigit() for p in parts):
        return None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return int(seconds)
