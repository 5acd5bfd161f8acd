"""Layout: where every file of a workdir lives, named once.

Paths are workdir-relative POSIX strings: they double as URL paths under the base URL, and
`workdir / FEED_PATH` makes the file's path. A library keeps one such layout per show under
`shows/<slug>/` and its own `index.html`, locks and shared section cache at the top.
"""

from __future__ import annotations

CONFIG_NAME = "companion.toml"

SCRIPTS_DIR = "scripts"
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

# The files of one lesson folder, episodes/<slug>/.
MP3_NAME = "lesson.mp3"
TRANSCRIPT_NAME = "transcript.vtt"
CHAPTERS_NAME = "chapters.json"
PAGE_NAME = "index.html"
STAMP_NAME = "build.json"
LESSON_FILES = (MP3_NAME, TRANSCRIPT_NAME, CHAPTERS_NAME, STAMP_NAME)  # as made; stamp last


def lesson_path(slug: str, name: str = "") -> str:
    """`episodes/<slug>/<name>` (or the folder itself when `name` is empty)."""
    return f"{EPISODES_DIR}/{slug}/{name}" if name else f"{EPISODES_DIR}/{slug}"


def script_path(slug: str) -> str:
    return f"{SCRIPTS_DIR}/{slug}.txt"


def show_path(slug: str) -> str:
    """A library show's folder, relative to the library."""
    return f"{SHOWS_DIR}/{slug}"
