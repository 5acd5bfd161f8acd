"""Library: a companion.toml with [[show]] entries -> shows/<slug>/ workdirs + index.html.

Each show builds with the ordinary single-show `build()` into `shows/<slug>/` (scripts/,
episodes/, feeds/ and its site); all shows share one content-addressed section cache,
`<workdir>/.cache/sections`, so a section with the same words and voice is synthesized once.
`refresh()` fetches every source with conditional GET and rebuilds only changed shows.
"""

from __future__ import annotations

import html
import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from companion import ingest, layout
from companion.build import build
from companion.config import (
    SETTINGS,
    Settings,
    load_settings,
    read_config,
    settings_from_table,
)
from companion.errors import CompanionError, ConfigError
from companion.events import (
    BuildEvent,
    BuildReport,
    EventHandler,
    Failed,
    Failure,
    FeedWritten,
    ignore,
)
from companion.executors import Executor, using
from companion.files import exclusive_lock, write_if_changed, write_json

EX_TEMPFAIL = 75  # sysexits.h: try again later (another refresh holds the lock)
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
LIBRARY_ONLY = frozenset({"jobs", "executor", "scheduler", "max_feed_bytes"})
SHOW_KEYS = frozenset({"slug"} | {s.name for s in SETTINGS} - LIBRARY_ONLY)


@dataclass(frozen=True, slots=True)
class ShowEntry:
    slug: str
    settings: Settings


@dataclass(frozen=True, slots=True)
class Library:
    workdir: Path
    settings: Settings  # the top-level settings (executor, scheduler, jobs, base_url)
    shows: tuple[ShowEntry, ...]


# --- configuration --------------------------------------------------------------------------


def load_workdir(workdir: Path, options: Mapping[str, Any] | None = None,
                 config_path: Path | None = None) -> Settings | Library:
    """A library when the config has [[show]] entries, otherwise one show's Settings."""
    workdir = workdir.resolve()
    path = config_path or workdir / layout.CONFIG_NAME
    table = read_config(path, required=config_path is not None)
    if "show" not in table:
        return load_settings(workdir, options, config_path)
    return _library(workdir, table, path, dict(options or {}))


def _library(workdir: Path, table: dict[str, Any], path: Path,
             options: dict[str, Any]) -> Library:
    entries = table.pop("show")
    where = path.name
    if not isinstance(entries, list) or not entries or not all(
            isinstance(entry, dict) for entry in entries):
        raise ConfigError(f"{where}: 'show' must be one or more [[show]] tables")
    if "source" in table or options.get("source") is not None:
        raise ConfigError(f"{where}: source: set it in each [[show]] entry of a library")
    top = settings_from_table(workdir, table, path, options)
    show_options = {k: v for k, v in options.items() if k not in ("base_url", "source")}
    cache = workdir / layout.SECTION_CACHE
    shows: list[ShowEntry] = []
    for number, entry in enumerate(entries, start=1):
        slug = entry.get("slug")
        label = f"{where}: show {number}"
        if not isinstance(slug, str) or not SLUG.match(slug):
            raise ConfigError(f"{label}: slug: {slug!r} must be lower-case letters, digits and "
                              "dashes (e.g. 'my-show')")
        label = f"{where}: show {slug!r}"
        unknown = sorted(set(entry) - SHOW_KEYS)
        if unknown:
            raise ConfigError(f"{label}: unknown key {unknown[0]!r} (a show takes "
                              f"{', '.join(sorted(SHOW_KEYS))})")
        if not isinstance(entry.get("source"), str) or not entry["source"].strip():
            raise ConfigError(f"{label}: source: required (a feed file path or http(s) URL)")
        if any(show.slug == slug for show in shows):
            raise ConfigError(f"{label}: slug: used by two shows")
        merged = {**table, **{k: v for k, v in entry.items() if k != "slug"}}
        merged["base_url"] = entry.get("base_url") or f"{top.base_url}{layout.show_path(slug)}/"
        try:
            settings = settings_from_table(workdir / layout.show_path(slug), merged, path,
                                           show_options, cache_dir=cache)
        except ConfigError as error:
            raise ConfigError(f"{label}: {error}") from None
        source = settings.source
        if not ingest.is_url(source) and not Path(source).is_absolute():
            settings = replace(settings, source=str((path.parent / source).resolve()))
        shows.append(ShowEntry(slug, replace(settings, executor=top.executor,
                                             scheduler=top.scheduler, jobs=top.jobs)))
    return Library(workdir, top, tuple(shows))


# --- building -------------------------------------------------------------------------------


@dataclass(slots=True)
class LibraryReport:
    shows: dict[str, BuildReport] = field(default_factory=dict)
    failed_shows: list[Failure] = field(default_factory=list)  # the whole show failed
    seconds: float = 0.0
    index_path: Path | None = None

    @property
    def failed(self) -> list[Failure]:
        return self.failed_shows + [Failure(f"{slug}/{f.slug}", f.message)
                                    for slug, report in self.shows.items() for f in report.failed]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def summary(self) -> str:
        reports = self.shows.values()
        built = sum(len(r.built) for r in reports)
        unchanged = sum(len(r.unchanged) for r in reports)
        published = sum(r.published for r in reports)
        minutes = sum(r.audio_seconds for r in reports) / 60
        count = len(self.shows) + len(self.failed_shows)
        return (f"{count} shows: {built} built, {unchanged} unchanged, {len(self.failed)} "
                f"failed; {published} lessons published, {minutes:.1f} audio minutes, "
                f"in {self.seconds:.1f} s")


def build_library(library: Library, *, force: bool = False, prune: bool = False,
                  slugs: Sequence[str] | None = None,
                  on_event: EventHandler = ignore,
                  clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                  executor: Executor | None = None) -> LibraryReport:
    """Build every show (or those in `slugs`) with one executor, then write index.html."""
    started = time.monotonic()
    report = LibraryReport()
    library.workdir.mkdir(parents=True, exist_ok=True)
    with (exclusive_lock(library.workdir / layout.BUILD_LOCK, str(library.workdir)),
          using(executor, library.settings) as runner):
        for show in library.shows:
            if slugs is not None and show.slug not in slugs:
                continue
            try:
                report.shows[show.slug] = build(
                    show.settings, force=force, prune=prune, clock=clock, executor=runner,
                    on_event=lambda event, slug=show.slug: on_event(_in_show(event, slug)))
            except CompanionError as error:
                report.failed_shows.append(Failure(show.slug, str(error)))
                on_event(Failed(show.slug, str(error)))
        report.index_path = write_index(library)
    report.seconds = time.monotonic() - started
    return report


def _in_show(event: BuildEvent, slug: str) -> BuildEvent:
    if isinstance(event, FeedWritten):
        return event
    return replace(event, slug=f"{slug}/{event.slug}")


# --- the library page -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShowLink:
    slug: str
    title: str
    feeds: tuple[tuple[str, str], ...]  # (library-relative path, title)
    lessons: int


def show_links(library: Library) -> list[ShowLink]:
    """Each show's title and published feeds, read back from the feeds on disk."""
    links = []
    for show in library.shows:
        folder = layout.show_path(show.slug)
        feeds: list[tuple[str, str]] = []
        lessons = 0
        for feed_path in layout.PUBLISHED_FEEDS:
            channel = _channel(show.settings.workdir / feed_path)
            if channel is None:
                continue
            feeds.append((f"{folder}/{feed_path}", channel.findtext("title") or feed_path))
            if feed_path == layout.FEED_PATH:
                lessons = len(channel.findall("item"))
        title = feeds[0][1] if feeds else (show.settings.title or show.slug)
        links.append(ShowLink(show.slug, title, tuple(feeds), lessons))
    return links


def _channel(path: Path) -> ET.Element | None:
    try:
        return ET.parse(path).getroot().find("channel")
    except (OSError, ET.ParseError):
        return None


def index_html(shows: Sequence[ShowLink], title: str = "Math Companion Library") -> str:
    """A plain page that links every show's page and feeds; every link is relative."""
    esc = html.escape
    rows = []
    for show in shows:
        feeds = "".join(f'<li><a href="{esc(path)}">{esc(name)}</a> (RSS)</li>'
                        for path, name in show.feeds) or "<li>not built yet</li>"
        page = f"{layout.show_path(show.slug)}/{layout.INDEX_PATH}"
        rows.append(f'<section id="{esc(show.slug)}">\n<h2><a href="{esc(page)}">'
                    f'{esc(show.title)}</a></h2>\n'
                    f"<p>{show.lessons} episode lessons</p>\n<ul>{feeds}</ul>\n</section>")
    body = "\n".join(rows)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(title)}</title>\n</head>\n<body>\n<h1>{esc(title)}</h1>\n"
            f"{body}\n</body>\n</html>\n")


def write_index(library: Library) -> Path:
    """Write the library's index.html (only when its bytes change)."""
    target = library.workdir / layout.INDEX_PATH
    write_if_changed(target, index_html(show_links(library)))
    return target


# --- refresh --------------------------------------------------------------------------------


@dataclass(slots=True)
class RefreshReport:
    shows: int = 0
    changed: list[str] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    locked: str = ""  # the lock's error when another refresh was running

    @property
    def exit_code(self) -> int:
        if self.locked:
            return EX_TEMPFAIL
        return 1 if self.failed else 0

    def summary(self) -> str:
        if self.locked:
            return f"refresh: skipped, {self.locked}"
        return (f"refresh: {self.shows} shows, {len(self.changed)} changed, "
                f"{len(self.rebuilt)} rebuilt, {len(self.failed)} failed in "
                f"{self.seconds:.1f} s")


def refresh(workdir: Path, config_path: Path | None = None, *,
            on_event: EventHandler = ignore,
            clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> RefreshReport:
    """Fetch every show's source (conditional GET) and rebuild the shows whose feed changed.

    The sha256 of each source last built without failures is kept in .cache/refresh.json,
    so a failed rebuild is tried again next time. Holds .cache/refresh.lock throughout.
    """
    started = time.monotonic()
    report = RefreshReport()
    workdir = workdir.resolve()
    loaded = load_workdir(workdir, {}, config_path)
    top = loaded.workdir
    with ExitStack() as stack:
        try:
            stack.enter_context(exclusive_lock(top / layout.REFRESH_LOCK, str(top)))
        except CompanionError as error:
            report.locked = str(error).replace("companion build", "companion refresh")
            return report
        state_path = top / layout.REFRESH_STATE
        state = _read_state(state_path)
        shows = (list(loaded.shows) if isinstance(loaded, Library)
                 else [ShowEntry("", loaded)])
        report.shows = len(shows)
        changed: dict[str, str] = {}
        for show in shows:
            try:
                fetched = ingest.fetch_source(
                    show.settings.source or _sample(), cache_dir=show.settings.workdir /
                    layout.HTTP_CACHE, max_bytes=show.settings.max_feed_bytes)
            except CompanionError as error:
                report.failed.append(Failure(show.slug or str(top), str(error)))
                continue
            if state.get(show.slug) != fetched.sha256:
                changed[show.slug] = fetched.sha256
        report.changed = sorted(changed)
        if changed:
            _rebuild(loaded, changed, state, report, on_event, clock)
            write_json(state_path, state)
        if isinstance(loaded, Library):
            write_index(loaded)
    report.seconds = time.monotonic() - started
    return report


def _rebuild(loaded: Settings | Library, changed: dict[str, str], state: dict[str, str],
             report: RefreshReport, on_event: EventHandler,
             clock: Callable[[], datetime]) -> None:
    """Build the changed shows; record the source hash of each that built cleanly."""
    if isinstance(loaded, Settings):
        try:
            result = build(loaded, on_event=on_event, clock=clock)
        except CompanionError as error:
            report.failed.append(Failure(str(loaded.workdir), str(error)))
            return
        outcome = {"": result.failed}
    else:
        try:
            library = build_library(loaded, slugs=list(changed), on_event=on_event,
                                    clock=clock)
        except CompanionError as error:  # e.g. a `companion build` holds the library
            report.failed.append(Failure(str(loaded.workdir), str(error)))
            return
        outcome = {slug: result.failed for slug, result in library.shows.items()}
        report.failed.extend(library.failed_shows)
    for slug, failures in outcome.items():
        report.failed.extend(Failure(f"{slug}/{f.slug}" if slug else f.slug, f.message)
                             for f in failures)
        report.rebuilt.append(slug or ".")
        if not failures:
            state[slug] = changed[slug]


def _read_state(path: Path) -> dict[str, str]:
    try:
        value = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _sample() -> str:
    from companion.config import sample_feed_path

    return str(sample_feed_path())
