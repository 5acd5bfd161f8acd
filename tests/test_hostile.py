"""Hostile and messy feeds: each fixture is accepted with exact episodes or refused."""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import logging
import re
import threading
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion import fetch, ingest
from companion.cli import cli
from companion.errors import FeedError
from companion.text import MAX_SLUG_LENGTH
from tests.conftest import DATA

HOSTILE = DATA / "hostile"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
ENTITIES_REFUSED = "the feed declares XML entities in a DTD; refused"


def load(name: str | Path, **options: object) -> tuple[ingest.Show, tuple[ingest.Episode, ...]]:
    path = name if isinstance(name, Path) else HOSTILE / name
    return ingest.parse_feed(path.read_bytes(), path.name, now=NOW, **options)  # type: ignore[arg-type]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def topics_cli(*args: str) -> tuple[int, dict[str, list[str]] | None, str]:
    """`companion topics --json ARGS`: exit code, the JSON (or None), stderr."""
    result = CliRunner().invoke(cli, ["topics", "--json", *args])
    data = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, data, result.stderr


# --- a local server that counts requests (XXE must never reach it) -------------------------


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'<!ENTITY leak "LEAKED">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    hits: list[str] = []
    handler = type("Recorder", (_Recorder,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    server.server_close()


def with_port(name: str, port: int, tmp_path: Path) -> Path:
    target = tmp_path / name
    target.write_text((HOSTILE / name).read_text("utf-8").replace("{PORT}", str(port)), "utf-8")
    return target


# --- 1. hostile XML -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["billion_laughs.xml", "quadratic_blowup.xml", "xxe_file.xml", "utf16_bomb.xml"]
)
def test_entity_declarations_are_refused_quickly_in_bounded_memory(name: str) -> None:
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(FeedError) as caught:
        load(name)
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert str(caught.value).startswith(f"{name}: {ENTITIES_REFUSED}")
    assert elapsed < 1.0
    assert peak < 20_000_000


def test_cli_refuses_a_bomb_with_one_line_and_exit_1() -> None:
    code, data, stderr = topics_cli("--source", str(HOSTILE / "quadratic_blowup.xml"))
    assert (code, data) == (1, None)
    assert re.fullmatch(
        r"Error: \S+quadratic_blowup\.xml: the feed declares XML entities in a "
        r"DTD; refused \(.*\)\n",
        stderr,
    )


@pytest.mark.parametrize("name", ["xxe_http.xml", "xxe_parameter.xml"])
def test_external_entities_are_refused_and_never_fetched(
    name: str, listener: tuple[int, list[str]], tmp_path: Path
) -> None:
    port, hits = listener
    with pytest.raises(FeedError, match=ENTITIES_REFUSED):
        load(with_port(name, port, tmp_path))
    assert hits == []


def test_an_external_dtd_is_dropped_unread(listener: tuple[int, list[str]], tmp_path: Path) -> None:
    port, hits = listener
    _, episodes = load(with_port("external_dtd.xml", port, tmp_path))
    assert [e.guid for e in episodes] == ["h-1", "h-2"]
    assert hits == []


def test_old_netscape_doctype_feed_is_read() -> None:
    show, episodes = load("netscape_doctype.xml")
    assert show.title == "Old Show"
    assert len(episodes) == 2


def test_feedparser_never_sees_a_dtd() -> None:
    data = (HOSTILE / "netscape_doctype.xml").read_bytes()
    cleaned = ingest.defuse(data, "x")
    assert b"DOCTYPE" not in cleaned
    assert cleaned.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?><rss')


def test_entities_behind_a_malformed_prolog_are_refused() -> None:
    with pytest.raises(FeedError, match="declares XML entities in a DTD that is not well-formed"):
        load("malformed_prolog_entity.xml")


def test_deep_nesting_is_read_quickly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    depth = 100_000
    item = (
        '<item><title>Deep</title><guid>deep</guid><enclosure url="https://example.org/d.mp3"'
        ' length="1" type="audio/mpeg"/>' + "<x>" * depth + "deep" + "</x>" * depth + "</item>"
    )
    path = tmp_path / "deep.xml"
    path.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Deep</title>'
        f"{item}</channel></rss>",
        "utf-8",
    )
    started = time.monotonic()
    _, episodes = load(path)
    assert time.monotonic() - started < 5
    assert [e.guid for e in episodes] == ["deep"]
    assert warnings(caplog) == ["deep.xml: elements nested deeper than 256 levels dropped"]


def test_not_xml_at_all_is_refused() -> None:
    with pytest.raises(FeedError, match=r"^not_xml\.bin: not an RSS or Atom feed"):
        load("not_xml.bin")


# --- 2. limits -----------------------------------------------------------------------------


def test_feed_over_max_feed_bytes_is_refused_naming_limit_and_option() -> None:
    path = HOSTILE / "five_episodes.xml"
    code, data, stderr = topics_cli("--source", str(path), "--max-feed-bytes", "1000")
    assert (code, data) == (1, None)
    size = path.stat().st_size
    assert stderr == (
        f"Error: {path}: feed is {size} bytes, over the limit of 1000 bytes "
        "(raise it with --max-feed-bytes)\n"
    )


def test_max_episodes_keeps_the_newest_with_a_warning() -> None:
    code, data, stderr = topics_cli(
        "--source", str(HOSTILE / "five_episodes.xml"), "--max-episodes", "2"
    )
    assert code == 0
    assert data is not None and list(data) == ["h-5", "h-4"]  # newest two, in feed order
    assert "kept the newest 2 of 5 episodes (--max-episodes 2)" in stderr


def test_huge_description_is_truncated_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    body = "<p>gradient descent " + "word " * 1_000_000 + "</p>"  # 5 MB
    path = tmp_path / "big.xml"
    path.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>'
        "<item><title>Huge notes</title><guid>big</guid><enclosure "
        'url="https://example.org/b.mp3" type="audio/mpeg"/><description><![CDATA['
        f"{body}]]></description></item></channel></rss>",
        "utf-8",
    )
    started = time.monotonic()
    _, (episode,) = load(path)
    assert time.monotonic() - started < 5
    assert len(episode.description) == ingest.MAX_DESCRIPTION_CHARS
    assert len(episode.description_html) < ingest.MAX_DESCRIPTION_HTML + 100
    assert "big.xml: description of episode 'Huge notes' truncated to 20000 characters" in warnings(
        caplog
    )


# --- 3. messy real-world content -----------------------------------------------------------


def test_html_is_reduced_to_safe_text_and_sanitized_notes() -> None:
    _, episodes = load("html.xml")
    assert [e.title for e in episodes] == ["Gradient descent", "Bayes", "Bold title"]
    first, second, _ = episodes
    assert first.description.splitlines() == ["We cover gradient descent.", "click notesx"]
    assert (
        '<a href="https://example.org/ok" rel="noopener noreferrer nofollow">notes</a>'
        in first.description_html
    )
    assert second.description == "d Matrices."
    tags = (
        "<script",
        "<iframe",
        "<style",
        "<svg",
        "<form",
        "<img",
        "javascript:",
        "data:",
        " onerror",
        " onclick",
        " onload",
        " onmouseover",
    )
    for episode in episodes:
        for text in (episode.title, episode.description):
            for bad in (*tags, "alert(", "&lt;", "script"):
                assert bad not in text.lower(), (bad, text)
        for bad in tags:  # escaped text such as &lt;script&gt; is inert and may stay
            assert bad not in episode.description_html.lower(), (bad, episode.description_html)


@pytest.mark.parametrize("name", ["utf16.xml", "utf16be_nobom.xml"])
def test_utf16_feeds(name: str) -> None:
    _, episodes = load(name)
    assert [e.title for e in episodes] == ["Gradient descent — été", "Episode 2"]
    assert episodes[0].slug == "gradient-descent-ete"


def test_latin1_declared_utf8_is_read_as_windows_1252(caplog: pytest.LogCaptureFixture) -> None:
    _, episodes = load("latin1_declared_utf8.xml")
    assert [e.title for e in episodes] == ["Régression linéaire", "Café"]
    assert any("declared as utf-8, but parsed as windows-1252" in w for w in warnings(caplog))


@pytest.mark.parametrize("name", ["truncated.xml", "truncated_before_enclosure.xml"])
def test_truncated_feed_keeps_complete_items_only(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    _, episodes = load(name)
    assert [e.guid for e in episodes] == ["h-1", "h-2"]
    assert f"{name}: episode 'Episode 3' is cut off (the feed is truncated); skipped" in warnings(
        caplog
    )


def test_atom_podcast(caplog: pytest.LogCaptureFixture) -> None:
    show, episodes = load("atom.xml")
    assert show.title == "Atom Show"
    assert [(e.guid, e.audio_url) for e in episodes] == [
        ("urn:atom:2", "https://example.org/a2.mp3"),
        ("urn:atom:1", "https://example.org/a1.m4a"),
    ]
    assert episodes[0].description == "Bayes theorem and priors."
    assert warnings(caplog) == [
        "atom.xml: episode 'Atom Text Only' has no http(s) audio enclosure (no enclosure); skipped"
    ]


def test_enclosure_urls_must_be_http_audio(caplog: pytest.LogCaptureFixture) -> None:
    _, episodes = load("bad_enclosures.xml")
    assert [(e.guid, e.audio_url) for e in episodes] == [
        ("h-8", "https://example.org/8.mp3"),
        ("h-9", "https://example.org/v.mp4"),
        ("h-10", "https://example.org/m.mp3"),
    ]
    reasons = [
        "its enclosure is a javascript: URL",
        "its enclosure is a data: URL",
        "its enclosure is a file: URL",
        "its enclosure is a ftp: URL",
        "its enclosure has no URL",
        "no enclosure",
        "its enclosure is image/jpeg, not audio",
    ]
    assert warnings(caplog) == [
        f"bad_enclosures.xml: episode 'Episode {n}' has no http(s) audio enclosure ({why}); skipped"
        for n, why in enumerate(reasons, 1)
    ]


def test_bad_enclosure_lengths_mean_unknown_length(caplog: pytest.LogCaptureFixture) -> None:
    _, episodes = load("bad_lengths.xml")
    assert [e.guid for e in episodes] == [f"h-{n}" for n in range(1, 7)]
    assert warnings(caplog) == [
        "bad_lengths.xml: episode 'Episode 3': enclosure length '-5' is not a number; "
        "length unknown",
        "bad_lengths.xml: episode 'Episode 4': enclosure length 'abc' is not a number; "
        "length unknown",
        "bad_lengths.xml: episode 'Episode 5': enclosure length 99999999999999999999... is "
        "absurdly large; length unknown",
    ]


def test_missing_and_duplicate_guids(caplog: pytest.LogCaptureFixture) -> None:
    _, episodes = load("guids.xml")
    assert [e.title for e in episodes] == ["Episode 1", "Episode 3", "Episode 4", "Episode 5"]
    assert episodes[0].guid == "same"
    derived = [e.guid for e in episodes[1:]]
    assert all(re.fullmatch(r"companion-[0-9a-f]{16}", guid) for guid in derived)
    assert derived == [e.guid for e in load("guids.xml")[1][1:]]  # stable
    messages = warnings(caplog)
    assert "guids.xml: episode 'Episode 2' repeats guid 'same'; kept the first" in messages
    assert f"guids.xml: episode 'Episode 6' repeats guid {derived[1]!r}; kept the first" in messages


def test_future_and_unreadable_dates_become_unknown(caplog: pytest.LogCaptureFixture) -> None:
    _, episodes = load("dates.xml")
    dates = {e.guid: e.published for e in episodes}
    assert dates == {
        "h-1": datetime(2024, 1, 1, 10, tzinfo=UTC),
        "h-2": None,
        "h-3": None,
        "h-4": None,
        "h-5": datetime(2024, 3, 5, 4, 40, 39, tzinfo=UTC),
        "h-6": datetime(2024, 1, 2, 10, tzinfo=UTC),
    }
    assert warnings(caplog) == [
        "dates.xml: episode 'Episode 2' is dated in the future (2999-01-01T10:00:00+00:00); "
        "date unknown",
        "dates.xml: episode 'Episode 3' has a date that cannot be read ('not a date at all'); "
        "date unknown",
    ]


def test_evil_titles_and_guids_give_safe_unique_stable_slugs(tmp_path: Path) -> None:
    _, episodes = load("evil_titles.xml")
    slugs = [e.slug for e in episodes]
    assert len(episodes) == 13
    assert len(set(slugs)) == len(slugs)
    for slug in slugs:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug), slug
        assert len(slug) <= MAX_SLUG_LENGTH
        assert (tmp_path / "episodes" / slug).resolve().parent == tmp_path / "episodes"
    assert slugs[:3] == ["etc-passwd", slugs[1], "a-b-c"]
    assert re.fullmatch(r"con-[0-9a-f]{8}", slugs[1])
    assert slugs[5] == "same-title" and slugs[6].startswith("same-title-")  # oldest keeps it
    assert slugs[12] == "episode-course-1"  # course- is the course feed's prefix
    assert slugs == [e.slug for e in load("evil_titles.xml")[1]]


def test_a_newer_episode_with_the_same_title_does_not_take_the_old_slug() -> None:
    data = (HOSTILE / "evil_titles.xml").read_bytes()
    newer = (
        b"<item><title>Same Title</title><guid>new</guid><pubDate>Mon, 01 Jul 2024 "
        b'10:00:00 +0000</pubDate><enclosure url="https://example.org/new.mp3" '
        b'type="audio/mpeg"/></item>'
    )
    grown = data.replace(b"<item>", newer + b"<item>", 1)
    before = {e.guid: e.slug for e in ingest.parse_feed(data, "x", now=NOW)[1]}
    after = {e.guid: e.slug for e in ingest.parse_feed(grown, "x", now=NOW)[1]}
    assert {guid: after[guid] for guid in before} == before


def test_cli_lists_exactly_the_episodes_ingested() -> None:
    code, data, stderr = topics_cli("--source", str(HOSTILE / "bad_enclosures.xml"))
    assert code == 0
    assert data is not None and list(data) == ["h-8", "h-9", "h-10"]
    assert stderr.count("has no http(s) audio enclosure") == 7


def test_a_feed_with_no_usable_item_is_refused() -> None:
    data = (HOSTILE / "bad_enclosures.xml").read_bytes()
    data = re.sub(rb"<item><title>Episode (8|9|10)</title>.*?</item>\n", b"", data)
    with pytest.raises(FeedError, match=r"^x: the feed has no usable items \(none has an "):
        ingest.parse_feed(data, "x", now=NOW)


# --- 4. network ------------------------------------------------------------------------------

FEED = (HOSTILE / "five_episodes.xml").read_bytes()


@functools.cache
def gzip_bomb() -> bytes:
    """50 MB of spaces, gzipped to about 50 kB."""
    return gzip.compress(b" " * 50_000_000, 9)


class _Misbehaving(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log: list[tuple[str, dict[str, str]]]

    def log_message(self, *args: object) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # the client gave up on purpose
            super().handle()

    def send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        headers.setdefault("Content_Type", "application/rss+xml")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if "Content_Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.log.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        count = sum(1 for path, _ in self.log if path == self.path)
        if self.path == "/feed.xml":
            self.send(200, FEED)
        elif self.path == "/etag.xml":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.send_header("ETag", '"v1"')
                self.end_headers()
            else:
                self.send(200, FEED, ETag='"v1"', Last_Modified="Mon, 01 Jan 2024 10:00:00 GMT")
        elif self.path == "/always500.xml":
            self.send(500, b"oops")
        elif self.path == "/flaky.xml":
            self.send(503, b"busy") if count == 1 else self.send(200, FEED)
        elif self.path == "/loop.xml":
            self.send(302, Location="/loop.xml")
        elif self.path == "/to-file.xml":
            self.send(301, Location="file:///etc/passwd")
        elif self.path == "/redirect.xml":
            self.send(307, Location="/feed.xml")
        elif self.path == "/html-type.xml":
            self.send(200, FEED, Content_Type="text/html")
        elif self.path == "/declared-huge.xml":
            self.send(200, b"", Content_Length="900000000")
        elif self.path == "/endless.xml":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"<x>" * 20000
            try:
                for _ in range(1000):  # 60 MB if nobody stops reading
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                return
        elif self.path == "/gzip-bomb.xml":
            self.send(200, gzip_bomb(), Content_Encoding="gzip")
        elif self.path == "/gzip.xml":
            self.send(200, gzip.compress(FEED), Content_Encoding="gzip")
        elif self.path == "/drip.xml":
            self.send_response(200)
            self.send_header("Content-Length", str(len(FEED)))
            self.end_headers()
            try:
                for byte in FEED:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                return
        elif self.path == "/silent.xml":
            time.sleep(2)
            self.send(200, FEED)
        else:
            self.send(404, b"no")


@pytest.fixture
def bad_server() -> Iterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    gzip_bomb()  # compressed before the clock of a 1-second request runs (slow on a busy CPU)
    log: list[tuple[str, dict[str, str]]] = []
    handler = type("Handler", (_Misbehaving,), {"log": log})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", log
    server.shutdown()
    server.server_close()


def quick(url: str, **options: object) -> fetch.FetchResult:
    settings: dict[str, object] = {"timeout": 1.0, "total_timeout": 2.0, "retries": 2}
    settings.update(options)
    return fetch.fetch_feed(url, **settings)  # type: ignore[arg-type]


def test_fetch_sends_a_user_agent_naming_the_project(bad_server: tuple[str, list]) -> None:
    base, log = bad_server
    result = quick(f"{base}/feed.xml")
    assert result.data == FEED and not result.not_modified
    assert log[0][1]["user-agent"].startswith("companion/")


def test_conditional_get_costs_one_304(bad_server: tuple[str, list], tmp_path: Path) -> None:
    base, log = bad_server
    cache = tmp_path / ".cache" / "http"
    first = quick(f"{base}/etag.xml", cache_dir=cache)
    second = quick(f"{base}/etag.xml", cache_dir=cache)
    assert (first.not_modified, second.not_modified) == (False, True)
    assert second.data == FEED and second.sha256 == first.sha256
    assert len(log) == 2
    assert log[1][1]["if-none-match"] == '"v1"'
    assert log[1][1]["if-modified-since"] == "Mon, 01 Jan 2024 10:00:00 GMT"
    assert "if-none-match" not in log[0][1]


def test_5xx_is_retried_with_backoff(
    bad_server: tuple[str, list], retry_waits: list[float]
) -> None:
    base, log = bad_server
    assert quick(f"{base}/flaky.xml").data == FEED
    assert len(log) == 2 and retry_waits == [1.0]
    with pytest.raises(
        FeedError,
        match=r"/always500\.xml: HTTP 500 Internal Server Error "
        r"\(after 3 attempts\)$",
    ):
        quick(f"{base}/always500.xml")
    assert len(log) == 5 and retry_waits == [1.0, 1.0, 2.0]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/loop.xml", r"/loop\.xml: more than 5 redirects; refused$"),
        ("/to-file.xml", r"/to-file\.xml: redirected to a non-http\(s\) URL; refused$"),
        (
            "/declared-huge.xml",
            r"/declared-huge\.xml: feed is 900000000 bytes, over the limit of "
            r"1000000 bytes \(raise it with --max-feed-bytes\)$",
        ),
        (
            "/endless.xml",
            r"/endless\.xml: feed is over the limit of 1000000 bytes \(raise it with "
            r"--max-feed-bytes\)$",
        ),
        ("/gzip-bomb.xml", r"/gzip-bomb\.xml: feed is over the limit of 1000000 bytes"),
        ("/drip.xml", r"/drip\.xml: took longer than 1 s; gave up$"),
        ("/nothing.xml", r"/nothing\.xml: HTTP 404 Not Found$"),
    ],
)
def test_misbehaving_servers_are_refused(
    bad_server: tuple[str, list], path: str, message: str
) -> None:
    base, _ = bad_server
    started = time.monotonic()
    with pytest.raises(FeedError, match=message):
        quick(f"{base}{path}", max_bytes=1_000_000, total_timeout=1.0)
    assert time.monotonic() - started < 3


def test_a_silent_server_times_out(bad_server: tuple[str, list]) -> None:
    base, log = bad_server
    with pytest.raises(FeedError, match=r"no answer within 0\.3 s \(after 2 attempts\)$"):
        quick(f"{base}/silent.xml", timeout=0.3, retries=1)
    assert len(log) == 2


def test_redirects_gzip_and_wrong_types_are_followed(
    bad_server: tuple[str, list], caplog: pytest.LogCaptureFixture
) -> None:
    base, _ = bad_server
    redirected = quick(f"{base}/redirect.xml")
    assert (redirected.data, redirected.url) == (FEED, f"{base}/feed.xml")
    assert quick(f"{base}/gzip.xml").data == FEED
    assert quick(f"{base}/html-type.xml").data == FEED
    assert (
        f"{base}/html-type.xml: served as 'text/html', not as a feed; reading it anyway"
        in warnings(caplog)
    )


def test_cli_reads_a_url(bad_server: tuple[str, list]) -> None:
    base, _ = bad_server
    code, data, _ = topics_cli("--source", f"{base}/feed.xml")
    assert code == 0 and data is not None and len(data) == 5


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/feed.xml", "javascript:alert(1)//x"]
)
def test_only_http_sources_are_fetched(url: str) -> None:
    with pytest.raises(FeedError):
        ingest.read_feed(url)
