"""Library: several [[show]]s in one workdir, one shared section cache, and `refresh`."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from companion.cli import cli
from companion.config import Library, load_workdir
from companion.errors import ConfigError
from companion.files import exclusive_lock
from companion.library import build_library, refresh
from tests.conftest import DATA, media

TINY = DATA / "feeds" / "two_episodes.xml"
TWO = DATA / "feeds" / "two_math.xml"
LESSON = "ep-2-gradient-descent-friends"
FIXED_CLOCK = lambda: datetime(2025, 1, 1, tzinfo=UTC)  # noqa: E731


def write_config(workdir: Path, shows: str, top: str = "course = false\njobs = 1\n") -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "companion.toml").write_text(top + shows, "utf-8")


def show(slug: str, source: Path | str, extra: str = "") -> str:
    return f'\n[[show]]\nslug = "{slug}"\nsource = "{source}"\n{extra}'


def load_library(workdir: Path) -> Library:
    loaded = load_workdir(workdir)
    assert isinstance(loaded, Library)
    return loaded


# --- configuration --------------------------------------------------------------------------


def test_single_show_workdir_is_not_a_library(tmp_path: Path) -> None:
    (tmp_path / "companion.toml").write_text('voice = "en-gb"\n', "utf-8")
    loaded = load_workdir(tmp_path)
    assert not isinstance(loaded, Library)
    assert loaded.section_cache == tmp_path.resolve() / ".cache" / "sections"


def test_show_settings_inherit_and_override(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        show("a", TINY) + show("b-2", "feeds/b.xml", 'voice = "en-gb"\n'),
        top='course = false\nvoice = "en-us"\nbase_url = "https://x.org/lib/"\nexecutor = "dask"\n',
    )
    library = load_library(tmp_path)
    a, b = (entry.settings for entry in library.shows)
    assert [entry.slug for entry in library.shows] == ["a", "b-2"]
    assert a.workdir == tmp_path.resolve() / "shows" / "a"
    assert a.base_url == "https://x.org/lib/shows/a/"
    assert (a.voice.name, b.voice.name) == ("en-us", "en-gb")
    assert b.source == str(tmp_path.resolve() / "feeds" / "b.xml")
    assert a.section_cache == b.section_cache == tmp_path.resolve() / ".cache" / "sections"
    assert a.executor == b.executor == "dask" and not a.course


@pytest.mark.parametrize(
    ("shows", "message"),
    [
        (show("Bad Slug", TINY), r"show 1: slug: 'Bad Slug' must be lower-case"),
        ('\n[[show]]\nslug = "a"\n', r"show 'a': source: required"),
        (show("a", TINY, 'voise = "en"\n'), r"show 'a': unknown key 'voise'"),
        (show("a", TINY, "jobs = 2\n"), r"show 'a': unknown key 'jobs'"),
        (show("a", TINY) + show("a", TWO), r"show 'a': slug: used by two shows"),
        (show("a", TINY, "rate = 5\n"), r"show 'a': rate: 5 is out of range"),
        (show("a", TINY, 'course = "no"\n'), r"show 'a': .*'course' must be bool"),
    ],
)
def test_show_errors_name_the_show_and_key(tmp_path: Path, shows: str, message: str) -> None:
    write_config(tmp_path, shows)
    with pytest.raises(ConfigError, match=message):
        load_workdir(tmp_path)


def test_source_at_top_of_a_library_is_an_error(tmp_path: Path) -> None:
    write_config(tmp_path, show("a", TINY), top=f'source = "{TWO}"\n')
    with pytest.raises(ConfigError, match="source: set it in each"):
        load_workdir(tmp_path)


# --- building -------------------------------------------------------------------------------


@pytest.mark.slow
def test_library_layout_index_and_shared_cache(tmp_path: Path, audio_tools: None) -> None:
    write_config(
        tmp_path,
        show("tiny", TINY)
        + show("tiny-copy", TINY)
        + show("renamed", TINY, 'title = "Renamed <Math> Hour"\n'),
    )
    report = build_library(load_library(tmp_path), clock=FIXED_CLOCK)
    assert report.exit_code == 0, report.failed
    first, copy, renamed = (report.shows[s] for s in ("tiny", "tiny-copy", "renamed"))
    assert first.built == copy.built == renamed.built == [LESSON]
    # Same words, same voice: the second show synthesizes nothing, it reuses every section.
    assert first.sections_synthesized > 3
    assert copy.sections_synthesized == 0
    assert copy.sections_reused == first.sections_synthesized
    # Another title changes the words of some sections only: the topics are reused.
    assert 0 < renamed.sections_synthesized < first.sections_synthesized
    assert renamed.sections_reused > 0
    cache = sorted((tmp_path / ".cache" / "sections").glob("*.wav"))
    assert len(cache) == first.sections_synthesized + renamed.sections_synthesized

    for slug in ("tiny", "tiny-copy", "renamed"):
        folder = tmp_path / "shows" / slug
        for name in (
            "feeds/companion.xml",
            "index.html",
            f"scripts/{LESSON}.txt",
            f"episodes/{LESSON}/build.json",
        ):
            assert (folder / name).is_file(), f"{slug}/{name}"
        mp3 = media(folder / "episodes" / LESSON)
        assert not (folder / ".cache" / "sections").exists()
        feed = feedparser.parse((folder / "feeds" / "companion.xml").read_bytes())
        enclosure = feed.entries[0].enclosures[0].href
        assert enclosure == f"http://localhost:8000/shows/{slug}/episodes/{LESSON}/{mp3.name}"
    assert not (tmp_path / "episodes").exists() and not (tmp_path / "feeds").exists()

    index = (tmp_path / "index.html").read_text("utf-8")
    assert 'href="shows/tiny/feeds/companion.xml"' in index
    assert 'href="shows/renamed/index.html"' in index
    assert "Renamed &lt;Math&gt; Hour" in index and "<Math>" not in index
    assert index.count("Tiny ML Show Math Companion</a></h2>") == 2

    again = build_library(load_library(tmp_path), clock=FIXED_CLOCK)
    assert [r.built for r in again.shows.values()] == [[], [], []]
    assert sum(r.sections_synthesized for r in again.shows.values()) == 0
    assert again.summary().startswith("3 shows: 0 built, 3 unchanged, 0 failed")


@pytest.mark.slow
def test_cli_builds_a_library(tmp_path: Path, audio_tools: None) -> None:
    write_config(tmp_path, show("one", TWO, "max_episodes = 1\n"))
    result = CliRunner().invoke(cli, ["build", "--workdir", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "one/sigmoid" in result.stderr
    assert "1 shows: 1 built, 0 unchanged, 0 failed" in result.stderr
    assert media(tmp_path / "shows" / "one" / "episodes" / "sigmoid").is_file()
    only = CliRunner().invoke(cli, ["build", "--workdir", str(tmp_path), "--only", "x"])
    assert only.exit_code == 2 and "--only" in only.stderr


# --- refresh --------------------------------------------------------------------------------


class FeedServer:
    """A feed on 127.0.0.1 with an ETag; answers If-None-Match with 304."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.statuses: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                etag = f'"{hashlib.sha256(outer.body).hexdigest()[:16]}"'
                if self.headers.get("If-None-Match") == etag:
                    outer.statuses.append(304)
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                outer.statuses.append(200)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(outer.body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: object) -> None:
                del args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer(TINY.read_bytes())
    try:
        yield server
    finally:
        server.close()


def run_refresh(workdir: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["refresh", "--workdir", str(workdir)], catch_exceptions=False)
    return result.exit_code, result.stdout.strip()


SUMMARY = re.compile(
    r"^refresh: (\d+) shows, (\d+) changed, (\d+) rebuilt, (\d+) failed in "
    r"\d+\.\d s$"
)


@pytest.mark.slow
def test_refresh_rebuilds_only_changed_shows(
    tmp_path: Path, feed_server: FeedServer, audio_tools: None
) -> None:
    write_config(tmp_path, show("web", feed_server.url) + show("local", TINY))
    code, line = run_refresh(tmp_path)
    assert code == 0, line
    assert SUMMARY.match(line).groups() == ("2", "2", "2", "0"), line  # type: ignore[union-attr]
    web_mp3 = media(tmp_path / "shows" / "web" / "episodes" / LESSON)
    local_stamp = tmp_path / "shows" / "local" / "episodes" / LESSON / "build.json"
    assert web_mp3.is_file() and local_stamp.is_file()
    assert "shows/web/feeds/companion.xml" in (tmp_path / "index.html").read_text("utf-8")
    assert feed_server.statuses == [200, 304]  # the build's own fetch is a 304 too

    code, line = run_refresh(tmp_path)
    assert (code, SUMMARY.match(line).groups()) == (0, ("2", "0", "0", "0")), line  # type: ignore[union-attr]
    assert feed_server.statuses == [200, 304, 304]

    before = local_stamp.stat().st_mtime_ns
    changed = feed_server.body.replace(
        b"Gradient Descent &amp; Friends", b"Gradient Descent, Revisited"
    )
    assert changed != feed_server.body
    feed_server.body = changed
    code, line = run_refresh(tmp_path)
    assert (code, SUMMARY.match(line).groups()) == (0, ("2", "1", "1", "0")), line  # type: ignore[union-attr]
    assert feed_server.statuses == [200, 304, 304, 200, 304]
    assert local_stamp.stat().st_mtime_ns == before
    script = (tmp_path / "shows" / "web" / "scripts").glob("*.txt")
    assert any("Revisited" in path.read_text("utf-8") for path in script)


@pytest.mark.slow
def test_refresh_of_a_single_show_workdir(tmp_path: Path, audio_tools: None) -> None:
    (tmp_path / "companion.toml").write_text(
        f'source = "{TINY}"\ncourse = false\njobs = 1\n', "utf-8"
    )
    first = refresh(tmp_path, clock=FIXED_CLOCK)
    assert (first.exit_code, first.changed, first.rebuilt) == (0, [""], ["."])
    assert media(tmp_path / "episodes" / LESSON).is_file()
    second = refresh(tmp_path, clock=FIXED_CLOCK)
    assert (second.exit_code, second.changed, second.rebuilt) == (0, [], [])
    assert second.summary().startswith("refresh: 1 shows, 0 changed, 0 rebuilt, 0 failed in")


def test_refresh_while_another_runs_is_skipped_with_status_75(tmp_path: Path) -> None:
    write_config(tmp_path, show("a", TINY))
    with exclusive_lock(tmp_path / ".cache" / "refresh.lock", str(tmp_path)):
        code, line = run_refresh(tmp_path)
    assert code == 75
    assert line.startswith("refresh: skipped,") and "another companion refresh" in line


def test_refresh_reports_a_failed_fetch(tmp_path: Path) -> None:
    write_config(tmp_path, show("gone", tmp_path / "missing.xml"))
    code, line = run_refresh(tmp_path)
    assert code == 1
    assert SUMMARY.match(line).groups() == ("1", "0", "0", "1"), line  # type: ignore[union-attr]
