"""Layout: where every file of a workdir lives, named once.

Paths are workdir-relative POSIX strings: they double as URL paths under the base URL, and
`workdir / FEED_PATH` makes the file's path. A library keeps one such layout per show under
`shows/<slug>/` and its own `index.html`, locks and shared section cache at the top.
"""

from __future__ import annotations

CONFIG_NAME = "companion.toml"

SCRIPTS_DIR = "scripts"
SPOKEN_DIR = "spoken"  # scripts as the speech engine is given them (companion build --scripts-only)
EPISODES_DIR = "episodes"
FEEDS_DIR = "feeds"
SITE_DIR = "site"
SHOWS_DIR = "shows"  # a library's shows: shows/<slug>/ each with this same layout

FEED_PATH = f"{FEEDS_DIR}/companion.xml"
COURSE_FEED_PATH = f"{FEEDS_DIR}/course.xml"
PUBLISHED_FEEDS = (FEED_PATH, COURSE_FEED_PATH)
COVER_PATH = f"{FEEDS_DIR}/cover.jpg"
SOURCE_SNAPSHOT = f"{FEEDS_DIR}/source.xml"
INDEX_PATH = "index.html"
CSS_PATH = f"{SITE_DIR}/site.css"

CACHE_DIR = ".cache"
SECTION_CACHE = f"{CACHE_DIR}/sections"  # content-addressed section audio
HTTP_CACHE = f"{CACHE_DIR}/http"  # ETag / Last-Modified of the source feed, transcripts, chapters
BUILD_LOCK = f"{CACHE_DIR}/build.lock"
REFRESH_LOCK = f"{CACHE_DIR}/refresh.lock"
REFRESH_STATE = f"{CACHE_DIR}/refresh.json"
PUBLISHED_RECORD = f"{CACHE_DIR}/published.json"  # what the feeds publish (publish.py)

# The files of one lesson folder, episodes/<slug>/. The media names carry the first hex
# digits of the lesson's content hash (media_names), so published files never change in place.
PAGE_NAME = "index.html"
STAMP_NAME = "build.json"
MEDIA_TAG_LENGTH = 8
# every media file a lesson folder may hold, including the fixed names of older versions
MEDIA_PATTERNS = ("lesson*.mp3", "transcript*.vtt", "chapters*.json")


def media_names(key: str) -> tuple[str, str, str]:
    """(MP3, transcript, chapters) names of a lesson whose content hash starts with `key`."""
    tag = key[:MEDIA_TAG_LENGTH]
    return f"lesson-{tag}.mp3", f"transcript-{tag}.vtt", f"chapters-{tag}.json"


def lesson_files(key: str) -> tuple[str, ...]:
    """The files a lesson job writes into its folder, in the order made: the stamp last."""
    return (*media_names(key), STAMP_NAME)


# Lesson slugs live in three namespaces that cannot meet: course lessons are "course-<topic id>",
# spaced reviews "review-<number>", and an episode's slug never starts with either prefix.
COURSE_PREFIX = "course-"
REVIEW_PREFIX = "review-"
RESERVED_PREFIXES = (COURSE_PREFIX, REVIEW_PREFIX)


def course_slug(topic_id: str) -> str:
    return f"{COURSE_PREFIX}{topic_id}"


def review_slug(number: int) -> str:
    return f"{REVIEW_PREFIX}{number:03d}"


def lesson_path(slug: str, name: str = "") -> str:
    """`episodes/<slug>/<name>` (or the folder itself when `name` is empty)."""
    return f"{EPISODES_DIR}/{slug}/{name}" if name else f"{EPISODES_DIR}/{slug}"


def script_path(slug: str) -> str:
    return f"{SCRIPTS_DIR}/{slug}.txt"


def spoken_script_path(slug: str) -> str:
    return f"{SPOKEN_DIR}/{slug}.txt"


def show_path(slug: str) -> str:
    """A library show's folder, relative to the library."""
    return f"{SHOWS_DIR}/{slug}"
