"""Tests for companion.episode_words: podcast:transcript and podcast:chapters as evidence.

Every format is read from a fixture in tests/data/transcripts/, fetched from a server on
127.0.0.1 with the feed fetcher's limits and conditional GET; broken and oversized files
are warnings, never errors.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion.cli import cli
from companion.episode_words import fetch_words
from companion.fetch import FetchResult, fetch_feed
from companion.ingest import parse_feed
from companion.lesson_plan import plan_lesson
from companion.linking import explain, link
from companion.models import Attachment, Cue, Episode, EpisodeWords, Evidence, Show, TopicLink
from companion.render import RenderSettings, environment, render_lesson
from companion.topics import load_catalog
from companion.transcripts import (
    TranscriptError,
    parse_chapters,
    parse_transcript,
    transcript_format,
)

DATA = Path(__file__).resolve().parent / "data" / "transcripts"
BIG_BYTES = 300_000  # /big.vtt is this long; tests fetch with a smaller limit
LIMIT = 100_000


@dataclass
class Server:
    base: str
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, If-None-Match)


class _Handler(BaseHTTPRequestHandler):
    server_state: Server

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        del format, args

    def do_GET(self) -> None:
        state = self.server_state
        state.requests.append((self.path, self.headers.get("If-None-Match", "")))
        if self.path == "/big.vtt":
            body = b"WEBVTT\n\n" + b"00:00:01.000 --> 00:00:02.000\nwords words\n\n" * (
                BIG_BYTES // 40
            )
            self._send(200, body, "text/vtt")
            return
        path = DATA / self.path.lstrip("/")
        if "/" in self.path.lstrip("/") or not path.is_file():
            self._send(404, b"not found", "text/plain")
            return
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        kinds = {
            ".vtt": "text/vtt",
            ".srt": "application/x-subrip",
            ".json": "application/json",
            ".html": "text/html",
            ".txt": "text/plain",
        }
        self._send(200, body, kinds.get(path.suffix, "application/octet-stream"), etag)

    def _send(self, status: int, body: bytes, kind: str, etag: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[Server]:
    handler = type("Handler", (_Handler,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state = Server(f"http://127.0.0.1:{httpd.server_address[1]}")
    handler.server_state = state
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def feed(server: Server, tmp_path: Path) -> Path:
    path = tmp_path / "feed.xml"
    path.write_text((DATA / "feed.xml").read_text("utf-8").replace("{BASE}", server.base), "utf-8")
    return path


def episodes_of(feed: Path) -> dict[str, Episode]:
    _show, episodes = parse_feed(feed.read_bytes(), str(feed))
    return {episode.guid: episode for episode in episodes}


quick_fetch = functools.partial(fetch_feed, retries=0)


# --- formats ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["episode.vtt", "episode.srt", "episode.html", "episode.txt"])
def test_every_format_gives_timed_cues(name: str) -> None:
    fmt = transcript_format(Attachment(f"https://example.org/{name}", ""))
    cues, untimed = parse_transcript((DATA / name).read_bytes(), fmt, name)
    assert untimed.startswith("Transcript of") if name.endswith(".txt") else untimed == ""
    said = [cue for cue in cues if "gradient descent" in cue.text and cue.start > 600]
    assert [round(cue.start) for cue in said][:2] == [842, 849], name
    assert all("<" not in cue.text and "::cue" not in cue.text for cue in cues), name
    assert not any("not transcript text" in cue.text for cue in cues)  # <script> skipped


def test_json_words_are_joined_into_cues() -> None:
    cues, _ = parse_transcript((DATA / "episode.json").read_bytes(), "json", "episode.json")
    assert [(cue.start, cue.text) for cue in cues] == [
        (5.0, "Welcome back."),
        (842.25, "We use gradient descent."),
        (849.0, "Gradient descent follows the slope."),
        (1300.0, "And gradient descent again."),
    ]


def test_text_without_times_is_kept_untimed() -> None:
    cues, untimed = parse_transcript((DATA / "untimed.txt").read_bytes(), "text", "u.txt")
    assert cues == ()
    assert untimed.count("gradient descent") == 3


def test_a_file_is_read_as_what_it_is_not_what_it_is_called() -> None:
    data = (DATA / "episode.vtt").read_bytes()
    cues, _ = parse_transcript(data, "text", "served-as-text.txt")
    assert cues[0].text.startswith("Welcome back")


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [
        ("broken.vtt", "vtt", "broken.vtt: no WebVTT cue could be read (1 with a bad time)"),
        ("broken.srt", "srt", "broken.srt: no SRT cue could be read (1 with a bad time)"),
        ("broken.json", "json", "broken.json: not JSON ("),
        ("empty.vtt", "vtt", "empty.vtt: the transcript is empty"),
        ("chapters.json", "vtt", "chapters.json: not WebVTT (no WEBVTT header)"),
    ],
)
def test_broken_transcripts_raise_one_line_errors(name: str, fmt: str, message: str) -> None:
    with pytest.raises(TranscriptError) as caught:
        parse_transcript((DATA / name).read_bytes(), fmt, name)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_chapters_are_sorted_and_bad_entries_skipped() -> None:
    chapters = parse_chapters((DATA / "chapters.json").read_bytes(), "chapters.json")
    assert [(c.start, c.end, c.title) for c in chapters] == [
        (0.0, 130.0, "Introduction"),
        (130.0, 842.25, "Sponsor: Acme Cloud"),
        (842.25, 1300.0, "Gradient descent, step by step"),
        (1300.0, 1300.0, "The learning rate"),
    ]
    with pytest.raises(TranscriptError, match=r"^bad\.json: JSON chapters need a 'chapters'"):
        parse_chapters((DATA / "broken_chapters.json").read_bytes(), "bad.json")


# --- the feed and fetching ----------------------------------------------------------------


def test_feed_items_carry_their_transcripts_and_chapters(feed: Path, server: Server) -> None:
    found = episodes_of(feed)
    first = found["ep-vtt"]
    assert [(a.url.rsplit("/", 1)[1], a.type, a.language) for a in first.transcript_files] == [
        ("episode.srt", "application/x-subrip", ""),
        ("episode.vtt", "text/vtt", "en"),
    ]
    assert first.chapters_file == Attachment(
        f"{server.base}/chapters.json", "application/json+chapters"
    )
    assert found["ep-none"].transcript_files == ()  # a file: URL is never fetched
    assert found["ep-json"].chapters_file is None


def test_best_type_first_then_the_next_one(
    feed: Path, server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    found = episodes_of(feed)
    words = fetch_words([found["ep-vtt"], found["ep-fallback"]], fetcher=quick_fetch, jobs=1)
    assert words["ep-vtt"].transcript_url.endswith("/episode.vtt")  # VTT beats SRT
    assert [c.title for c in words["ep-vtt"].chapters][2] == "Gradient descent, step by step"
    fallback = words["ep-fallback"]
    assert fallback.transcript_url.endswith("/episode.srt")
    assert fallback.chapters == ()
    assert [path for path, _ in server.requests] == [
        "/episode.vtt",
        "/chapters.json",  # the SRT is never needed
        "/broken.vtt",
        "/episode.srt",
        "/broken_chapters.json",
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "'A broken caption file': transcript " in w and "/broken.vtt: no WebVTT cue" in w
        for w in warnings
    ), warnings
    assert any(
        "chapters " in w and "/broken_chapters.json: JSON chapters need" in w for w in warnings
    ), warnings


@pytest.mark.parametrize("guid", ["ep-json", "ep-html", "ep-text"])
def test_each_format_over_http(feed: Path, guid: str) -> None:
    words = fetch_words([episodes_of(feed)[guid]], fetcher=quick_fetch)[guid]
    assert any(
        round(cue.start) == 842 and "gradient descent" in cue.text for cue in words.transcript
    )


def test_oversized_and_missing_transcripts_are_warnings(
    feed: Path, caplog: pytest.LogCaptureFixture
) -> None:
    found = episodes_of(feed)
    words = fetch_words(
        [found["ep-big"], found["ep-missing"]], fetcher=quick_fetch, max_bytes=LIMIT
    )
    assert words == {}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "/big.vtt: transcript is" in w and f"over the limit of {LIMIT} bytes" in w for w in warnings
    ), warnings
    assert any("/missing.vtt: HTTP 404" in w for w in warnings), warnings


def test_conditional_get_with_the_feed_cache(feed: Path, server: Server, tmp_path: Path) -> None:
    episode = episodes_of(feed)["ep-vtt"]
    cache = tmp_path / "http"
    first = fetch_words([episode], fetcher=quick_fetch, cache_dir=cache)
    second = fetch_words([episode], fetcher=quick_fetch, cache_dir=cache)
    assert first == second
    conditional = [(path, tag) for path, tag in server.requests if path == "/episode.vtt"]
    assert len(conditional) == 2 and conditional[0][1] == "" and conditional[1][1]


def test_an_unreachable_host_is_tried_once(caplog: pytest.LogCaptureFixture) -> None:
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    episodes = [
        Episode(
            f"g{n}",
            f"s{n}",
            f"Episode {n}",
            None,
            None,
            None,
            "",
            "",
            "",
            transcript_files=(Attachment(f"{closed}/{n}.vtt", "text/vtt"),),
        )
        for n in range(3)
    ]
    assert fetch_words(episodes, fetcher=quick_fetch, jobs=1) == {}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("cannot fetch the transcript" in w for w in warnings) == 1, warnings
    assert any("127.0.0.1: could not be reached; skipped 2 more" in w for w in warnings)


# --- linking and the lesson ---------------------------------------------------------------


def test_a_transcript_links_a_topic_with_its_time(feed: Path) -> None:
    catalog = load_catalog()
    episode = episodes_of(feed)["ep-vtt"]
    assert link(episode, catalog) == ()  # the notes say nothing about math
    words = fetch_words([episode], fetcher=quick_fetch)["ep-vtt"]
    links = {item.topic.id: item for item in link(episode, catalog, words)}
    assert list(links) == ["gradient-descent"]
    evidence = links["gradient-descent"].evidence
    assert evidence[0] == Evidence(
        "chapter", "Gradient descent", "Gradient descent, step by step", "", 842.25
    )
    assert any(e.field == "transcript" and e.start == 842.25 for e in evidence)
    mentions = next(
        c for c in explain(episode, catalog, words) if c.topic.id == "gradient-descent"
    ).mentions
    sponsor = [m for m in mentions if m.note == "in a sponsor read"]
    assert [m.evidence.start for m in sponsor] == [135.0]  # "...runs your gradient descent"


def test_transcript_mentions_alone_need_repetition() -> None:
    catalog = load_catalog()
    episode = Episode("g", "s", "A chat", None, None, None, "We chat.", "", "")
    once = EpisodeWords(transcript=(Cue(60.0, 62.0, "I once used gradient descent."),))
    assert link(episode, catalog, once) == ()
    thrice = EpisodeWords(
        transcript=tuple(
            Cue(60.0 * n, 60.0 * n + 2, f"Gradient descent, part {n}.") for n in (1, 2, 3)
        )
    )
    assert [item.topic.id for item in link(episode, catalog, thrice)] == ["gradient-descent"]


def test_the_lesson_says_where_to_listen() -> None:
    catalog = load_catalog()
    topic = catalog.get("gradient-descent")
    links = [
        TopicLink(
            topic,
            1.0,
            (
                Evidence("description", "gradient descent", "..."),
                Evidence("transcript", "gradient descent", "...", "", 842.25),
            ),
        )
    ]
    episode = Episode("g", "ep", "How models learn", None, None, None, "", "", "")
    plan = plan_lesson(episode, links, catalog)
    assert plan.chapters[0].listen_at == "About fourteen minutes into the episode"
    show = Show("Learning Out Loud", "")
    script = render_lesson(environment(), show, plan, RenderSettings())
    assert (
        "About fourteen minutes into the episode, you can hear it: gradient descent."
        in script.to_text()
    )


def test_cli_explain_and_json_with_transcripts(feed: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["topics", "--source", str(feed), "--explain", "ep-vtt"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "KEPT    gradient-descent" in result.stdout
    assert "chapter 14:02" in result.stdout and "transcript 14:02" in result.stdout
    assert "not counted: in a sponsor read" in result.stdout
    result = runner.invoke(
        cli, ["topics", "--source", str(feed), "--json", "--no-transcripts"], catch_exceptions=False
    )
    assert json.loads(result.stdout)["ep-vtt"] == []
    result = runner.invoke(cli, ["topics", "--source", str(feed), "--json"], catch_exceptions=False)
    linked = json.loads(result.stdout)
    assert linked["ep-vtt"] == ["gradient-descent"] and linked["ep-big"] == []
    result = runner.invoke(cli, ["topics", "--source", str(feed), "--explain", "nope"])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {feed}: no episode with the guid 'nope'"


def test_english_first_then_the_best_format() -> None:
    asked: list[str] = []
    files = {
        "https://example.org/es.vtt": b"WEBVTT\n\n00:01.000 --> 00:02.000\nhola\n",
        "https://example.org/en.srt": (DATA / "episode.srt").read_bytes(),
        "https://example.org/en.txt": b"plain words",
    }

    def fetcher(url: str, **_: object) -> FetchResult:
        asked.append(url)
        return FetchResult(files[url], False, url)

    episode = Episode(
        "g",
        "s",
        "T",
        None,
        None,
        None,
        "",
        "",
        "",
        transcript_files=(
            Attachment("https://example.org/es.vtt", "text/vtt", "es"),
            Attachment("https://example.org/en.txt", "text/plain", "en-US"),
            Attachment("https://example.org/en.srt", "application/srt", "en"),
        ),
    )
    words = fetch_words([episode], fetcher=fetcher)["g"]
    assert asked == ["https://example.org/en.srt"]
    assert words.transcript_url == "https://example.org/en.srt"
