"""Library: building a companion.toml with [[show]] entries -> shows/<slug>/ + index.html.

The [[show]] entries are read by config.load_workdir.

Each show builds with the ordinary single-show `build()` into `shows/<slug>/` (scripts/,
episodes/, feeds/ and its site); all shows share one content-addressed section cache,
`<workdir>/.cache/sections`, so a section with the same words and voice is synthesized once.
`refresh()` fetches every source with conditional GET and rebuilds only changed shows.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from companion import ingest, layout
from companion.build import build
from companion.config import Library, Settings, ShowEntry, load_workdir
from companion.errors import CompanionError
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
from companion.publish import read_published

EX_TEMPFAIL = 75  # sysexits.h: try again later (another refresh holds the lock)


# --- building -------------------------------------------------------------------------------


@dataclass(slots=True)
class LibraryReport:
    shows: dict[str, BuildReport] = field(default_factory=dict)
    failed_shows: list[Failure] = field(default_factory=list)  # the whole show failed
    seconds: float = 0.0
    index_path: Path | None = None

    @property
    def failed(self) -> list[Failure]:
        return self.failed_shows + [
            Failure(f"{slug}/{f.slug}", f.message)
            for slug, report in self.shows.items()
            for f in report.failed
        ]

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
        return (
            f"{count} shows: {built} built, {unchanged} unchanged, {len(self.failed)} "
            f"failed; {published} lessons published, {minutes:.1f} audio minutes, "
            f"in {self.seconds:.1f} s"
        )


def build_library(
    library: Library,
    *,
    force: bool = False,
    prune: bool = False,
    slugs: Sequence[str] | None = None,
    on_event: EventHandler = ignore,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    executor: Executor | None = None,
) -> LibraryReport:
    """Build every show (or those in `slugs`) with one executor, then write index.html."""
    started = time.monotonic()
    report = LibraryReport()
    library.workdir.mkdir(parents=True, exist_ok=True)
    with (
        exclusive_lock(library.workdir / layout.BUILD_LOCK, str(library.workdir)),
        using(executor, library.settings) as runner,
    ):
        for show in library.shows:
            if slugs is not None and show.slug not in slugs:
                continue
            try:
                report.shows[show.slug] = build(
                    show.settings,
                    force=force,
                    prune=prune,
                    clock=clock,
                    executor=runner,
                    on_event=partial(_report_in_show, on_event, show.slug),
                )
            except CompanionError as error:
                report.failed_shows.append(Failure(show.slug, str(error)))
                on_event(Failed(show.slug, str(error)))
        report.index_path = write_index(library)
    report.seconds = time.monotonic() - started
    return report


def _report_in_show(on_event: EventHandler, slug: str, event: BuildEvent) -> None:
    on_event(_in_show(event, slug))


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
    """Each show's title and the feeds its last build published."""
    links = []
    for show in library.shows:
        folder = layout.show_path(show.slug)
        published = read_published(show.settings.workdir)
        feeds = published.feeds if published else ()
        paths = tuple(
            (f"{folder}/{feed.settings.feed_path}", feed.settings.title) for feed in feeds
        )
        lessons = sum(
            len(feed.slugs) for feed in feeds if feed.settings.feed_path == layout.FEED_PATH
        )
        title = paths[0][1] if paths else (show.settings.title or show.slug)
        links.append(ShowLink(show.slug, title, paths, lessons))
    return links


def index_html(shows: Sequence[ShowLink], title: str = "Math Companion Library") -> str:
    """A plain page that links every show's page and feeds; every link is relative."""
    esc = html.escape
    rows = []
    for show in shows:
        feeds = (
            "".join(
                f'<li><a href="{esc(path)}">{esc(name)}</a> (RSS)</li>' for path, name in show.feeds
            )
            or "<li>not built yet</li>"
        )
        page = f"{layout.show_path(show.slug)}/{layout.INDEX_PATH}"
        rows.append(
            f'<section id="{esc(show.slug)}">\n<h2><a href="{esc(page)}">'
            f"{esc(show.title)}</a></h2>\n"
            f"<p>{show.lessons} episode lessons</p>\n<ul>{feeds}</ul>\n</section>"
        )
    body = "\n".join(rows)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n</head>\n<body>\n<h1>{esc(title)}</h1>\n"
        f"{body}\n</body>\n</html>\n"
    )


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
        return (
            f"refresh: {self.shows} shows, {len(self.changed)} changed, "
            f"{len(self.rebuilt)} rebuilt, {len(self.failed)} failed in "
            f"{self.seconds:.1f} s"
        )


def refresh(
    workdir: Path,
    config_path: Path | None = None,
    *,
    on_event: EventHandler = ignore,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RefreshReport:
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
        shows = list(loaded.shows) if isinstance(loaded, Library) else [ShowEntry("", loaded)]
        report.shows = len(shows)
        changed: dict[str, str] = {}
        for show in shows:
            try:
                fetched = ingest.fetch_source(
                    show.settings.source or _sample(),
                    cache_dir=show.settings.workdir / layout.HTTP_CACHE,
                    max_bytes=show.settings.max_feed_bytes,
                )
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


def _rebuild(
    loaded: Settings | Library,
    changed: dict[str, str],
    state: dict[str, str],
    report: RefreshReport,
    on_event: EventHandler,
    clock: Callable[[], datetime],
) -> None:
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
            library = build_library(loaded, slugs=list(changed), on_event=on_event, clock=clock)
        except CompanionError as error:  # e.g. a `companion build` holds the library
            report.failed.append(Failure(str(loaded.workdir), str(error)))
            return
        outcome = {slug: result.failed for slug, result in library.shows.items()}
        report.failed.extend(library.failed_shows)
    for slug, failures in outcome.items():
        report.failed.extend(
            Failure(f"{slug}/{f.slug}" if slug else f.slug, f.message) for f in failures
        )
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
