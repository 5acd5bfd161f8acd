"""Publish: (FeedSettings, [Lesson]) -> RSS bytes; show notes, WebVTT and JSON chapters.

The functions that make bytes are pure: the same lessons give the same bytes (no clock is
read). `write_feeds` is the one writer of the feeds and of `.cache/published.json`, the
record of what they publish (each feed's settings, its lessons in order, their show notes);
`read_published` is that record's one reader, so that `companion publish --base-url` can
make the feeds again for another URL and nothing parses a feed back.
"""

from __future__ import annotations

import html
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from latex2mathml.converter import convert as latex_to_mathml

from companion import __version__, layout
from companion.config import Settings
from companion.files import write_if_changed, write_json
from companion.mathspeech import verbalize_inline
from companion.models import Catalog, Chapter, Cue, Lesson, LessonKind, Show

NAMESPACES = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
}
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
LESSON_GUID_NAMESPACE = uuid.UUID("6f1d4b44-3c1a-5b0e-9a53-2f0c2c3d9e71")
MAX_DESCRIPTION = 4000

for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)


@dataclass(frozen=True, slots=True)
class FeedSettings:
    title: str
    description: str
    base_url: str  # ends with "/"; every URL in the feed starts with it
    feed_path: str  # e.g. "feeds/companion.xml"
    author: str
    owner_email: str
    language: str = "en"
    image_path: str = layout.COVER_PATH
    category: str = "Science"
    subcategory: str = "Mathematics"
    episode_type: Literal["episodic", "serial"] = "episodic"  # serial: the course feed

    @property
    def feed_url(self) -> str:
        return self.base_url + self.feed_path


def lesson_guid(source_guid: str) -> str:
    """The published guid of a lesson: stable for the same source episode."""
    return str(uuid.uuid5(LESSON_GUID_NAMESPACE, source_guid))


def podcast_guid(feed_url: str) -> str:
    """Podcasting 2.0 channel guid: UUIDv5 of the feed URL without scheme and trailing slash."""
    bare = feed_url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def media_url(base_url: str, slug: str, name: str) -> str:
    return base_url + layout.lesson_path(slug, name)


def feed_xml(feed: FeedSettings, lessons: Sequence[Lesson], notes: Mapping[str, str]) -> bytes:
    """The RSS document; `notes` maps a lesson slug to its HTML show notes. A lesson with a
    season (a course lesson: its area) gets itunes:season and a named podcast:season."""
    it, pc, atom = (f"{{{NAMESPACES[p]}}}" for p in ("itunes", "podcast", "atom"))
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    _text(channel, "title", feed.title)
    _text(channel, "link", feed.base_url)
    _text(channel, "description", feed.description[:MAX_DESCRIPTION])
    _text(channel, "language", feed.language)
    _text(channel, "generator", f"companion {__version__}")
    dates = [lesson.published for lesson in lessons if lesson.published]
    if dates:
        _text(channel, "lastBuildDate", format_datetime(max(dates)))
    ET.SubElement(
        channel,
        f"{atom}link",
        {"href": feed.feed_url, "rel": "self", "type": "application/rss+xml"},
    )
    _text(channel, f"{it}author", feed.author)
    owner = ET.SubElement(channel, f"{it}owner")
    _text(owner, f"{it}name", feed.author)
    _text(owner, f"{it}email", feed.owner_email)
    ET.SubElement(channel, f"{it}image", {"href": feed.base_url + feed.image_path})
    image = ET.SubElement(channel, "image")
    _text(image, "url", feed.base_url + feed.image_path)
    _text(image, "title", feed.title)
    _text(image, "link", feed.base_url)
    category = ET.SubElement(channel, f"{it}category", {"text": feed.category})
    ET.SubElement(category, f"{it}category", {"text": feed.subcategory})
    _text(channel, f"{it}explicit", "false")
    _text(channel, f"{it}type", feed.episode_type)
    _text(channel, f"{pc}guid", podcast_guid(feed.feed_url))
    _text(channel, f"{pc}locked", "no", owner=feed.owner_email)
    for lesson in lessons:
        _item(channel, feed, lesson, notes.get(lesson.slug, ""))
    ET.indent(rss, space="  ")
    document: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def _item(channel: ET.Element, feed: FeedSettings, lesson: Lesson, notes_html: str) -> None:
    season = lesson.season
    it, pc = (f"{{{NAMESPACES[p]}}}" for p in ("itunes", "podcast"))
    item = ET.SubElement(channel, "item")
    _text(item, "title", lesson.title)
    _text(item, "guid", lesson.guid, isPermaLink="false")
    if lesson.published:
        _text(item, "pubDate", format_datetime(lesson.published))
    _text(item, "link", media_url(feed.base_url, lesson.slug, layout.PAGE_NAME))
    description = notes_html if 0 < len(notes_html) <= MAX_DESCRIPTION else lesson.summary
    _text(item, "description", description[:MAX_DESCRIPTION])
    if notes_html:
        _text(item, f"{{{NAMESPACES['content']}}}encoded", notes_html)
    ET.SubElement(
        item,
        "enclosure",
        {
            "url": media_url(feed.base_url, lesson.slug, lesson.audio_file),
            "length": str(lesson.size),
            "type": "audio/mpeg",
        },
    )
    _text(item, f"{it}title", lesson.title)
    _text(item, f"{it}duration", str(round(lesson.duration)))
    _text(item, f"{it}explicit", "false")
    _text(item, f"{it}episodeType", "bonus" if lesson.kind is LessonKind.REVIEW else "full")
    if season is not None:
        _text(item, f"{it}season", str(season.number))
    if lesson.episode_number is not None:
        _text(item, f"{it}episode", str(lesson.episode_number))
    ET.SubElement(item, f"{it}image", {"href": feed.base_url + feed.image_path})
    ET.SubElement(
        item,
        f"{pc}transcript",
        {
            "url": media_url(feed.base_url, lesson.slug, lesson.transcript_file),
            "type": "text/vtt",
            "language": feed.language,
        },
    )
    ET.SubElement(
        item,
        f"{pc}chapters",
        {
            "url": media_url(feed.base_url, lesson.slug, lesson.chapters_file),
            "type": "application/json+chapters",
        },
    )
    if season is not None:
        _text(item, f"{pc}season", str(season.number), name=season.name)


# --- the published feeds and their record -------------------------------------------------

PUBLISHED_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Feed:
    """One feed to publish: its settings and its lessons, in feed order."""

    settings: FeedSettings
    lessons: tuple[Lesson, ...]


@dataclass(frozen=True, slots=True)
class PublishedFeed:
    """A feed as the last build published it: the lessons are named by slug."""

    settings: FeedSettings
    slugs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Published:
    """What the last build of a workdir published (`.cache/published.json`)."""

    feeds: tuple[PublishedFeed, ...]
    notes: Mapping[str, str]  # lesson slug -> show notes HTML

    @property
    def base_url(self) -> str:
        """The base URL the feeds were written with ("" when nothing is published)."""
        return self.feeds[0].settings.base_url if self.feeds else ""

    def feed_xml(
        self, feed: PublishedFeed, lessons: Mapping[str, Lesson], base_url: str | None = None
    ) -> bytes:
        """The feed's bytes again, under `base_url` when given; `lessons` are by slug."""
        missing = [slug for slug in feed.slugs if slug not in lessons]
        if missing:
            raise KeyError(missing[0])
        settings = feed.settings if base_url is None else replace(feed.settings, base_url=base_url)
        return feed_xml(settings, [lessons[slug] for slug in feed.slugs], self.notes)


def write_feeds(workdir: Path, feeds: Sequence[Feed], notes: Mapping[str, str]) -> None:
    """Write every feed, then the record of what they publish (only when bytes change)."""
    for feed in feeds:
        write_if_changed(
            workdir / feed.settings.feed_path, feed_xml(feed.settings, feed.lessons, notes)
        )
    slugs = [lesson.slug for feed in feeds for lesson in feed.lessons]
    write_json(
        workdir / layout.PUBLISHED_RECORD,
        {
            "format": PUBLISHED_FORMAT,
            "feeds": [
                {
                    "settings": asdict(feed.settings),
                    "slugs": [lesson.slug for lesson in feed.lessons],
                }
                for feed in feeds
            ],
            "notes": {slug: notes.get(slug, "") for slug in slugs},
        },
    )


def read_published(workdir: Path) -> Published | None:
    """The record the last build wrote; None when there is none or it cannot be read."""
    try:
        value: Any = json.loads((workdir / layout.PUBLISHED_RECORD).read_text("utf-8"))
        if not isinstance(value, dict) or value.get("format") != PUBLISHED_FORMAT:
            return None
        feeds = tuple(
            PublishedFeed(
                FeedSettings(**item["settings"]), tuple(str(slug) for slug in item["slugs"])
            )
            for item in value["feeds"]
        )
        notes = {str(slug): str(text) for slug, text in value["notes"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return Published(feeds, notes)


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element


# --- show notes, chapters, transcripts ------------------------------------------------------


def show_notes_html(lesson: Lesson, catalog: Catalog) -> str:
    """HTML show notes: the source episode, then each topic's equations as MathML."""
    if lesson.kind is LessonKind.REVIEW:
        return _review_notes_html(lesson, catalog)
    parts: list[str] = []
    if lesson.source_title:
        source = html.escape(lesson.source_title)
        if lesson.source_link:
            source = f'<a href="{html.escape(lesson.source_link)}">{source}</a>'
        parts.append(f"<p>A spoken math lesson for the episode {source}.</p>")
    for topic_id in lesson.topic_ids:
        if topic_id not in catalog:
            continue
        topic = catalog.get(topic_id)
        parts.append(f"<h3>{html.escape(topic.title)}</h3>")
        parts.append(f"<p>{_prose_html(topic.explanation)}</p>")
        parts.append("<ul>")
        for equation in topic.equations:
            parts.append(
                f"<li>{mathml(equation.latex, 'block')}{_prose_html(equation.meaning)}</li>"
            )
        parts.append("</ul>")
        parts.append(f"<p><strong>Worked example.</strong> {_prose_html(topic.example.text)}</p>")
        parts.append(
            f"<p><strong>Quiz.</strong> {_prose_html(topic.quiz.question)} "
            f"<em>Answer:</em> {_prose_html(topic.quiz.answer)}</p>"
        )
    return "\n".join(parts)


def _review_notes_html(lesson: Lesson, catalog: Catalog) -> str:
    """A review's notes: each question with its answer, and the topic's key equation."""
    parts = [f"<p>{html.escape(lesson.summary)}</p>", "<ol>"]
    for topic_id, number in zip(lesson.topic_ids, lesson.questions, strict=False):
        if topic_id not in catalog:
            continue
        topic = catalog.get(topic_id)
        quiz = topic.quizzes[number] if number < len(topic.quizzes) else topic.quiz
        key = topic.equations[0]
        parts.append(
            f"<li><strong>{html.escape(topic.title)}.</strong> "
            f"{_prose_html(quiz.question)} <em>Answer:</em> {_prose_html(quiz.answer)}"
            f"{mathml(key.latex, 'block')}{_prose_html(key.meaning)}</li>"
        )
    parts.append("</ol>")
    return "\n".join(parts)


@lru_cache(maxsize=4096)  # a build writes every lesson's show notes, its equations repeat
def mathml(latex: str, display: str = "inline") -> str:
    return str(latex_to_mathml(latex, display=display))


def _prose_html(text: str) -> str:
    """Catalog prose with its inline $...$ math as MathML, everything else escaped."""
    pieces = text.split("$")
    if len(pieces) % 2 == 0:  # unbalanced dollars: speak it instead of guessing
        return html.escape(verbalize_inline(text))
    out = []
    for index, piece in enumerate(pieces):
        out.append(mathml(piece) if index % 2 else html.escape(piece))
    return "".join(out)


def chapters_json(chapters: Sequence[Chapter], title: str) -> dict[str, object]:
    """Podcasting 2.0 JSON chapters."""
    return {
        "version": "1.2.0",
        "title": title,
        "chapters": [{"startTime": c.start, "endTime": c.end, "title": c.title} for c in chapters],
    }


def webvtt(cues: Sequence[Cue]) -> str:
    lines = ["WEBVTT", ""]
    for index, cue in enumerate(cues, start=1):
        lines += [str(index), f"{_vtt_time(cue.start)} --> {_vtt_time(cue.end)}", cue.text, ""]
    return "\n".join(lines)


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def parse_timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def plan_feeds(settings: Settings, show: Show, lessons: Sequence[Lesson]) -> list[Feed]:
    """The episode feed (episode and review lessons, newest first) and the course feed."""
    title = feed_title(settings, show)
    episode_lessons = [
        item
        for item in lessons
        if item.kind is LessonKind.EPISODE or (item.kind is LessonKind.REVIEW and settings.review)
    ]
    if settings.max_items:
        episode_lessons = episode_lessons[: settings.max_items]  # lessons are newest first
    course_lessons = sorted(
        (item for item in lessons if item.kind is LessonKind.COURSE),
        key=lambda item: item.episode_number or 0,
    )
    episode_feed = FeedSettings(
        title=title,
        description=(
            f"Short spoken math lessons for the episodes of {show.title}: every "
            "equation read aloud in words, with chapters, transcripts and show notes."
        ),
        base_url=settings.base_url,
        feed_path=layout.FEED_PATH,
        author=feed_author(settings, show),
        owner_email=settings.email,
        image_path=layout.COVER_PATH,
    )
    feeds = [Feed(episode_feed, tuple(episode_lessons))]
    if settings.course:
        course_feed = replace(
            episode_feed,
            title=f"{title}: the Course",
            description=(
                "The whole math course behind the lessons, one topic per lesson, in an "
                "order where every topic comes after the ones it builds on."
            ),
            feed_path=layout.COURSE_FEED_PATH,
            episode_type="serial",
        )
        feeds.append(Feed(course_feed, tuple(course_lessons)))
    return feeds


def feed_title(settings: Settings, show: Show) -> str:
    return settings.title or f"{show.title} Math Companion"


def feed_author(settings: Settings, show: Show) -> str:
    return settings.author or show.author or "Companion"
