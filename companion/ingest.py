"""Ingest: a feed path or URL -> bytes -> (Show, tuple[Episode, ...]) with feedparser."""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import defusedxml
import defusedxml.ElementTree
import feedparser
import nh3

from companion import __version__
from companion.errors import FeedError
from companion.models import Episode, Show

log = logging.getLogger(__name__)

USER_AGENT = f"companion/{__version__} (+podcast math lessons; feed reader)"
DEFAULT_MAX_FEED_BYTES = 20_000_000
MAX_SLUG_LENGTH = 60
MAX_DESCRIPTION_CHARS = 20_000

# --- reading bytes ----------------------------------------------------------------------


def is_url(source: str | Path) -> bool:
    return isinstance(source, str) and re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", source) is not None


def read_feed(
    source: str | Path, *, max_bytes: int = DEFAULT_MAX_FEED_BYTES, timeout: float = 20.0
) -> bytes:
    """Read the raw bytes of a feed from a file path or an http(s) URL, at most `max_bytes`."""
    if is_url(source):
        return _fetch(str(source), max_bytes=max_bytes, timeout=timeout)
    path = Path(source)
    if not path.is_file():
        raise FeedError(f"{source}: no such feed file")
    size = path.stat().st_size
    if size > max_bytes:
        raise FeedError(
            f"{source}: feed is {size} bytes, over the limit of {max_bytes} "
            "(raise it with --max-feed-bytes)"
        )
    return path.read_bytes()


def _fetch(url: str, *, max_bytes: int, timeout: float) -> bytes:
    if not url.lower().startswith(("http://", "https://")):
        raise FeedError(f"{url}: only http and https URLs can be fetched")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            chunks: list[bytes] = []
            total = 0
            while block := response.read(65536):
                total += len(block)
                if total > max_bytes:
                    raise FeedError(
                        f"{url}: feed is over the limit of {max_bytes} bytes "
                        "(raise it with --max-feed-bytes)"
                    )
                chunks.append(block)
            return b"".join(chunks)
    except urllib.error.HTTPError as error:
        raise FeedError(f"{url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise FeedError(f"{url}: cannot fetch the feed ({reason})") from None


# --- XML safety -------------------------------------------------------------------------

_DOCTYPE = re.compile(rb"<!DOCTYPE\b(?:[^\[>]*\[.*?\]\s*>|[^>]*>)", re.IGNORECASE | re.DOTALL)


def defuse(data: bytes, source: str) -> bytes:
    """Refuse entity declarations; drop any other DOCTYPE before feedparser sees the bytes.

    feedparser's lenient fallback parser expands internal entities itself (a few
    hundred kB can expand to gigabytes), so no DTD may reach it.
    """
    data = data.lstrip(b"\xef\xbb\xbf\r\n\t ")
    if not re.search(rb"<!DOCTYPE", data[:65536], re.IGNORECASE):
        return data
    try:
        defusedxml.ElementTree.fromstring(data, forbid_dtd=False, forbid_entities=True)
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise FeedError(
            f"{source}: the feed declares XML entities in a DTD; refused "
            "(entity expansion and external entities are a known attack)"
        ) from None
    except Exception:  # not well-formed: feedparser copes; the DTD is dropped below
        pass
    if re.search(rb"<!ENTITY", data[:65536], re.IGNORECASE):
        raise FeedError(f"{source}: the feed declares XML entities in a DTD; refused")
    return _DOCTYPE.sub(b"", data, count=1)


# --- parsing ----------------------------------------------------------------------------


def parse_feed(data: bytes, source: str) -> tuple[Show, tuple[Episode, ...]]:
    """Parse feed bytes into a Show and its episodes (newest first)."""
    parsed = feedparser.parse(
        defuse(data, source), resolve_relative_uris=False, sanitize_html=True
    )
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        detail = f" ({_one_line(str(reason))})" if reason else ""
        raise FeedError(f"{source}: not an RSS or Atom feed{detail}")
    if parsed.bozo:
        log.warning("%s: feed is not well-formed (%s); reading what can be read",
                    source, _one_line(str(parsed.get("bozo_exception"))))
    if not parsed.entries:
        raise FeedError(f"{source}: the feed has no items")
    show = _show(parsed.feed)
    episodes = _episodes(parsed.entries, source)
    if not episodes:
        raise FeedError(f"{source}: the feed has no usable items")
    return show, episodes


def load_feed(
    source: str | Path, *, max_bytes: int = DEFAULT_MAX_FEED_BYTES
) -> tuple[Show, tuple[Episode, ...]]:
    """read_feed + parse_feed."""
    return parse_feed(read_feed(source, max_bytes=max_bytes), str(source))


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


def _show(feed: Any) -> Show:
    image = feed.get("image") or {}
    return Show(
        title=_plain(feed.get("title", "")) or "Untitled podcast",
        link=_http_or_empty(feed.get("link", "")),
        description=html_to_text(feed.get("subtitle", "") or feed.get("summary", "")),
        language=(feed.get("language") or "en").strip(),
        image_url=_http_or_empty(image.get("href", "") if hasattr(image, "get") else ""),
        author=_plain(feed.get("author", "") or feed.get("itunes_author", "")),
    )


def _episodes(entries: Iterable[Any], source: str) -> tuple[Episode, ...]:
    episodes: list[Episode] = []
    seen_guids: set[str] = set()
    used_slugs: set[str] = set()
    for index, entry in enumerate(entries):
        title = _plain(entry.get("title", "")) or f"Episode {index + 1}"
        audio_url = _audio_url(entry)
        guid = (entry.get("id") or "").strip() or _derived_guid(entry, audio_url, title)
        if guid in seen_guids:
            log.warning("%s: episode %r repeats guid %r; kept the first", source, title, guid)
            continue
        seen_guids.add(guid)
        html = _entry_html(entry)
        description = html_to_text(html)
        if len(description) > MAX_DESCRIPTION_CHARS:
            log.warning("%s: description of %r truncated to %d characters",
                        source, title, MAX_DESCRIPTION_CHARS)
            description = description[:MAX_DESCRIPTION_CHARS]
        slug = unique_slug(episode_slug(title, guid), guid, used_slugs)
        used_slugs.add(slug)
        episodes.append(
            Episode(
                guid=guid,
                slug=slug,
                title=title,
                number=_episode_number(entry, title),
                published=_published(entry),
                duration=parse_duration(entry.get("itunes_duration")),
                description=description,
                link=_http_or_empty(entry.get("link", "")),
                audio_url=audio_url,
                description_html=sanitize_html(html),
            )
        )
    return tuple(episodes)


def _entry_html(entry: Any) -> str:
    candidates = [c.get("value", "") for c in entry.get("content", []) or []]
    candidates.append(entry.get("summary", "") or "")
    return max(candidates, key=len)


def _derived_guid(entry: Any, audio_url: str, title: str) -> str:
    basis = audio_url or entry.get("link", "") or f"{title}|{entry.get('published', '')}"
    return "companion-" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


def _audio_url(entry: Any) -> str:
    for enclosure in entry.get("enclosures", []) or []:
        href = (enclosure.get("href") or "").strip()
        if href.lower().startswith(("http://", "https://")):
            return href
    return ""


def _http_or_empty(url: str) -> str:
    url = (url or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else ""


def _published(entry: Any) -> datetime | None:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    if not stamp:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(stamp), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _episode_number(entry: Any, title: str) -> int | None:
    raw = str(entry.get("itunes_episode") or "").strip()
    if raw.isdigit():
        return int(raw)
    match = re.search(r"(?:\b[A-Z]{2,4}\s*|#|\bepisode\s*|\bep\.?\s*)(\d{1,4})\b", title, re.I)
    return int(match.group(1)) if match else None


def parse_duration(value: Any) -> int | None:
    """itunes:duration as whole seconds: '754', '12:34', '1:02:03'; None if unreadable."""
    text = str(value or "").strip()
    if not text:
        return None
    parts = text.split(":")
    if len(parts) > 3 or not all(p.strip().replace(".", "", 1).isdigit() for p in parts):
        return None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return int(seconds)


# --- text -------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5",
                         "h6", "tr", "blockquote", "pre", "section", "article"})
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


def html_to_text(html: str) -> str:
    """Plain text from HTML: tags dropped, entities decoded, one line per block."""
    if "<" not in html and "&" not in html:
        text = html
    else:
        extractor = _TextExtractor()
        extractor.feed(html)
        extractor.close()
        text = "".join(extractor.parts)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line and line != "-")


def _plain(text: str) -> str:
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
    """A safe file name for an episode: its slugified title, or a hash of its guid."""
    slug = slugify(title)[:MAX_SLUG_LENGTH].rstrip("-")
    if not slug or slug in _WINDOWS_RESERVED or slug.startswith("course-"):
        slug = f"episode-{_short_hash(guid)}" if not slug else f"{slug}-{_short_hash(guid)}"
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
