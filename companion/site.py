"""Site: the workdir as a static web site (show page + one page per lesson).

`index.html` at the workdir root lists the lessons with an HTML5 audio player each and links
every published feed; `episodes/<slug>/index.html` holds a lesson's chapters, show notes (with
MathML equations) and transcript. Every link is relative, so the same files work from file://,
`companion serve` and an object store. The page functions are pure (no clock is read): the
same lessons give the same HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path

import jinja2

from companion import layout
from companion.files import write_if_changed
from companion.models import Lesson, LessonKind
from companion.text import clock

DEFAULT_TITLE = "Math Companion"


@dataclass(frozen=True, slots=True)
class FeedLink:
    """A published feed the show page links: its workdir-relative path and its title."""

    path: str  # e.g. "feeds/companion.xml"
    title: str


@dataclass(frozen=True, slots=True)
class LessonGroup:
    id: str  # the section's HTML id
    title: str
    lessons: tuple[Lesson, ...]


# --- pure page functions --------------------------------------------------------------------


def index_html(
    lessons: Sequence[Lesson],
    feeds: Sequence[FeedLink],
    *,
    title: str = "",
    language: str = "en",
    has_cover: bool = True,
) -> str:
    """The show page: subscribe links for `feeds`, then the lessons with audio players.

    Episode lessons are listed newest first; course lessons follow in course order (their
    episode number).
    """
    episodes = tuple(
        sorted((item for item in lessons if item.kind is not LessonKind.COURSE), key=_newest_first)
    )
    course = tuple(
        sorted(
            (item for item in lessons if item.kind is LessonKind.COURSE),
            key=lambda item: (item.episode_number or 0, item.slug),
        )
    )
    groups = [LessonGroup("lessons", "Lessons", episodes)]
    if course:
        groups.append(LessonGroup("course", "The course", course))
    return (
        _environment()
        .get_template("index.html.j2")
        .render(
            site_title=title or _site_title(feeds),
            language=language,
            feeds=feeds,
            root="",
            css_path=layout.CSS_PATH,
            cover_path=layout.COVER_PATH,
            has_cover=has_cover,
            groups=groups,
        )
    )


def lesson_html(
    lesson: Lesson,
    notes_html: str,
    *,
    feeds: Sequence[FeedLink] = (),
    title: str = "",
    language: str = "en",
) -> str:
    """A lesson's page (at episodes/<slug>/index.html); `notes_html` must be safe HTML."""
    return (
        _environment()
        .get_template("lesson.html.j2")
        .render(
            lesson=lesson,
            notes_html=notes_html,
            cues=lesson.transcript,
            feeds=feeds,
            root="../../",
            css_path=layout.CSS_PATH,
            site_title=title or _site_title(feeds),
            language=language,
        )
    )


def lesson_page_path(slug: str) -> str:
    return layout.lesson_path(slug, layout.PAGE_NAME)


def stylesheet() -> str:
    return resources.files("companion").joinpath("data", "site.css").read_text("utf-8")


# --- writing --------------------------------------------------------------------------------


def write_site(
    workdir: Path,
    lessons: Sequence[Lesson],
    notes: Mapping[str, str],
    links: Sequence[FeedLink],
    *,
    title: str = "",
    language: str = "en",
) -> list[Path]:
    """Write index.html, the stylesheet and every lesson's page; return the files changed.

    `notes` maps a lesson slug to its show notes HTML; `links` are the feeds just written,
    the companion feed first; the show page is titled after the first one unless `title` is
    given. Each file is written atomically and only when its bytes change.
    """
    site_title = title or _site_title(links)
    changed: list[Path] = []

    def put(relative: str, text: str) -> None:
        target = workdir / relative
        if write_if_changed(target, text):
            changed.append(target)

    put(layout.CSS_PATH, stylesheet())
    for lesson in lessons:
        put(
            lesson_page_path(lesson.slug),
            lesson_html(
                lesson, notes.get(lesson.slug, ""), feeds=links, title=site_title, language=language
            ),
        )
    put(
        layout.INDEX_PATH,
        index_html(
            lessons,
            links,
            title=site_title,
            language=language,
            has_cover=(workdir / layout.COVER_PATH).is_file(),
        ),
    )
    return changed


# --- helpers --------------------------------------------------------------------------------


def _site_title(feeds: Sequence[FeedLink]) -> str:
    return feeds[0].title if feeds else DEFAULT_TITLE


def _newest_first(lesson: Lesson) -> tuple[float, str]:
    stamp = lesson.published.timestamp() if lesson.published else float("-inf")
    return (-stamp, lesson.slug)


def _day(moment: datetime) -> str:
    return f"{moment:%B} {moment.day}, {moment.year}"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("companion", "templates/site"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["clock"] = clock
    env.filters["day"] = _day
    return env
