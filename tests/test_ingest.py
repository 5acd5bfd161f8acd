"""Ingest: feeds from files and URLs become Show and Episode dataclasses."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from companion import ingest
from companion.errors import FeedError
from companion.text import MAX_SLUG_LENGTH
from tests.conftest import DATA, shared_path

FEEDS = DATA / "feeds"


def test_two_episode_feed_gives_typed_episodes() -> None:
    show, episodes = ingest.load_feed(FEEDS / "two_episodes.xml")
    assert show.title == "Tiny ML Show"
    assert show.author == "Test Host"
    first, _second = episodes
    assert first.guid == "tiny-2"
    assert first.title == "Ep 2: Gradient Descent & Friends"
    assert first.slug == "ep-2-gradient-descent-friends"
    assert first.number == 2
    assert first.published == datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    assert first.duration == 754
    assert first.audio_url == "https://example.org/show/2.mp3"
    assert first.link == "https://example.org/show/2"
    assert "gradient descent" in first.description
    assert "<" not in first.description and "alert" not in first.description
    assert first.description.splitlines() == [
        "We train a model with gradient descent on a mean squared error loss.",
        "Second paragraph.",
    ]
    assert "<script" not in first.description_html
    assert "<b>gradient descent</b>" in first.description_html


def test_item_without_guid_gets_a_stable_derived_guid() -> None:
    _, first_read = ingest.load_feed(FEEDS / "two_episodes.xml")
    _, second_read = ingest.load_feed(FEEDS / "two_episodes.xml")
    derived = first_read[1].guid
    assert derived.startswith("companion-")
    assert derived == second_read[1].guid


def test_slugs_are_safe_unique_and_stable() -> None:
    path = DATA / "hostile" / "evil_titles.xml"
    _, episodes = ingest.load_feed(path)
    slugs = [episode.slug for episode in episodes]
    assert len(set(slugs)) == len(slugs)
    for slug in slugs:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug), slug
        assert len(slug) <= MAX_SLUG_LENGTH
        assert slug not in ("con", "", ".", "..")
    assert slugs[0] == "etc-passwd"
    assert slugs[1].startswith("con-")
    assert slugs[5] == "same-title"
    assert slugs[6].startswith("same-title-")
    assert slugs == [e.slug for e in ingest.load_feed(path)[1]]


def test_items_without_audio_are_skipped() -> None:
    with pytest.raises(FeedError, match=r"colliding_titles\.xml: the feed has no usable items"):
        ingest.load_feed(FEEDS / "colliding_titles.xml")


@pytest.mark.parametrize("path", ["topics/dev_feed.xml", "sample"])
def test_dev_and_sample_feeds_keep_every_item(path: str, sample_feed: Path) -> None:
    feed = sample_feed if path == "sample" else shared_path(*path.split("/"))
    items = feed.read_bytes().count(b"<item>") + feed.read_bytes().count(b"<item ")
    _, episodes = ingest.load_feed(feed)
    assert len(episodes) == items


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not_a_feed.html", "not_a_feed.html: not an RSS or Atom feed"),
        ("no_items.xml", "no_items.xml: the feed has no items"),
        ("entity_bomb.xml", "entity_bomb.xml: the feed declares XML entities"),
        ("missing.xml", "missing.xml: no such feed file"),
    ],
)
def test_bad_sources_are_one_line_errors_naming_the_source(name: str, message: str) -> None:
    with pytest.raises(FeedError) as caught:
        ingest.load_feed(FEEDS / name)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text


def test_feed_over_the_size_limit_is_refused() -> None:
    with pytest.raises(FeedError, match="--max-feed-bytes"):
        ingest.load_feed(FEEDS / "two_episodes.xml", max_bytes=100)


def test_duration_formats() -> None:
    assert ingest.parse_duration("754") == 754
    assert ingest.parse_duration("12:34") == 754
    assert ingest.parse_duration("1:02:03") == 3723
    assert ingest.parse_duration("abc") is None
    assert ingest.parse_duration(None) is None


def test_bundled_sample_feed(sample_feed: Path) -> None:
    show, episodes = ingest.load_feed(sample_feed)
    assert show.title == "Machine Learning Guide"
    assert len(episodes) >= 12
    titles = [episode.title for episode in episodes]
    assert "MLG 008 Math for Machine Learning" in titles
    assert all(episode.published is not None for episode in episodes)
    assert len({episode.slug for episode in episodes}) == len(episodes)


def test_repo_sample_link_points_at_packaged_feed(sample_feed: Path) -> None:
    repo_copy = Path(__file__).resolve().parents[1] / "feeds" / "mlg.xml"
    assert repo_copy.read_bytes() == sample_feed.read_bytes()


@pytest.mark.parametrize(
    "name",
    [
        "anchor_basuke.xml",
        "megaphone_tokyo_pod_kyokakyoku.xml",
        "libsyn_bilingual_news.xml",
        "buzzsprout_peapod.xml",
        "soundcloud_nextstepfm.xml",
        "art19_1865.xml",
        "acast_sentimental_garbage.xml",
        "dw_langsam_gesprochene_nachrichten.xml",
        "freedomcontroller_no_agenda.xml",
    ],
)
def test_real_world_feeds_parse(name: str) -> None:
    path = shared_path("feeds", "real", name)
    show, episodes = ingest.load_feed(path)
    assert show.title
    assert episodes
    assert len({e.guid for e in episodes}) == len(episodes)
    assert len({e.slug for e in episodes}) == len(episodes)
    assert all("<" not in e.title for e in episodes)


def test_dw_item_without_guid_is_kept_with_derived_guid() -> None:
    path = shared_path("feeds", "real", "dw_langsam_gesprochene_nachrichten.xml")
    _, episodes = ingest.load_feed(path)
    assert len(episodes) == 59
    assert sum(e.guid.startswith("companion-") for e in episodes) == 1


class _FeedHandler(BaseHTTPRequestHandler):
    body = (FEEDS / "two_episodes.xml").read_bytes()

    def do_GET(self) -> None:
        if self.path == "/feed.xml":
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)
        else:
            self.send_response(500)
            self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed_server() -> str:
    server = HTTPServer(("127.0.0.1", 0), _FeedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_reads_a_feed_over_http(feed_server: str) -> None:
    show, episodes = ingest.load_feed(f"{feed_server}/feed.xml")
    assert show.title == "Tiny ML Show"
    assert next(e.guid for e in episodes) == "tiny-2"


def test_http_error_names_the_url(feed_server: str, retry_waits: list[float]) -> None:
    with pytest.raises(FeedError, match=r"/broken\.xml: HTTP 500"):
        ingest.load_feed(f"{feed_server}/broken.xml")
    assert retry_waits == [1.0, 2.0]  # retried with backoff, without waiting in the test


def test_non_http_url_schemes_are_refused() -> None:
    with pytest.raises(FeedError, match="only http and https"):
        ingest.load_feed("file:///etc/passwd")
