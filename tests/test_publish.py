"""Publish: lessons become an RSS feed with itunes: and podcast: tags, notes, VTT, chapters."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import feedparser

from companion import publish
from companion.ingest import parse_feed
from companion.models import (
    Catalog,
    Chapter,
    Cue,
    Equation,
    Lesson,
    LessonKind,
    Quiz,
    Topic,
    WorkedExample,
)
from tests.conftest import shared_path

NS = publish.NAMESPACES
TOPIC = Topic(
    id="variance",
    title="Variance",
    area="statistics",
    aliases=("variance",),
    prerequisites=(),
    explanation="Variance measures spread around the mean $\\mu$.",
    equations=(
        Equation(
            "\\sigma^2 = \\frac{1}{n}\\sum_{i=1}^{n}(x_i - \\mu)^2",
            "The average squared distance from the mean.",
        ),
    ),
    examples=(
        WorkedExample(
            "For 1 and 3 the mean is 2 and the variance is 1.", "((1-2)**2 + (3-2)**2) / 2", 1.0
        ),
    ),
    quizzes=(Quiz("Can variance be negative?", "No, it is an average of squares."),),
)
CATALOG = Catalog(topics=(TOPIC,))
FEED = publish.FeedSettings(
    title="Test Companion",
    description="Lessons.",
    base_url="http://localhost:8000/",
    feed_path="feeds/companion.xml",
    author="Tester",
    owner_email="owner@example.org",
)


def lesson(slug: str, day: int, size: int = 1000) -> Lesson:
    return Lesson(
        slug=slug,
        guid=publish.lesson_guid(f"source-{slug}"),
        title=f"Math for {slug}",
        summary=f"The math of {slug}.",
        published=datetime(2024, 1, day, 8, 0, tzinfo=UTC),
        source_title=f"Episode {slug}",
        source_link=f"https://example.org/{slug}",
        source_guid=f"source-{slug}",
        episode_number=day,
        topic_ids=("variance",),
        duration=123.4,
        size=size,
        chapters=(Chapter(0.0, 10.0, "Introduction"), Chapter(10.0, 123.4, "Variance")),
        kind=LessonKind.EPISODE,
        media_tag="k",
    )


LESSONS = [lesson("two", 2), lesson("one", 1)]


def make_feed() -> bytes:
    notes = {item.slug: publish.show_notes_html(item, CATALOG) for item in LESSONS}
    return publish.feed_xml(FEED, LESSONS, notes)


def test_feed_is_deterministic() -> None:
    assert make_feed() == make_feed()


def test_feed_reads_back_with_feedparser_and_our_ingest() -> None:
    data = make_feed()
    parsed = feedparser.parse(data)
    assert not parsed.bozo
    assert [entry.title for entry in parsed.entries] == ["Math for two", "Math for one"]
    enclosure = parsed.entries[0].enclosures[0]
    assert enclosure.href == "http://localhost:8000/episodes/two/lesson-k.mp3"
    assert enclosure.length == "1000"
    assert enclosure.type == "audio/mpeg"
    show, episodes = parse_feed(data, "companion.xml")
    assert show.title == "Test Companion"
    assert [e.guid for e in episodes] == [item.guid for item in LESSONS]
    assert episodes[0].duration == 123


def test_channel_and_item_tags() -> None:
    root = ET.fromstring(make_feed())
    channel = root.find("channel")
    assert channel is not None
    assert channel.findtext("language") == "en"
    assert channel.findtext(f"{{{NS['itunes']}}}explicit") == "false"
    assert (
        channel.find(f"{{{NS['itunes']}}}image").get("href")
        == "http://localhost:8000/feeds/cover.jpg"
    )
    assert (
        channel.find(f"{{{NS['atom']}}}link").get("href")
        == "http://localhost:8000/feeds/companion.xml"
    )
    assert channel.findtext(f"{{{NS['podcast']}}}guid") == publish.podcast_guid(
        "http://localhost:8000/feeds/companion.xml"
    )
    assert channel.findtext("lastBuildDate") == "Tue, 02 Jan 2024 08:00:00 +0000"
    item = channel.find("item")
    assert item.findtext("guid") == publish.lesson_guid("source-two")
    assert item.findtext(f"{{{NS['itunes']}}}duration") == "123"
    assert item.findtext(f"{{{NS['itunes']}}}episode") == "2"
    transcript = item.find(f"{{{NS['podcast']}}}transcript")
    assert transcript.get("type") == "text/vtt"
    assert transcript.get("url").endswith("/episodes/two/transcript-k.vtt")
    chapters = item.find(f"{{{NS['podcast']}}}chapters")
    assert chapters.get("type") == "application/json+chapters"


def test_podcast_guid_matches_the_specification_example() -> None:
    assert (
        publish.podcast_guid("https://mp3s.nashownotes.com/pc20rss.xml/")
        == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    )


def test_lesson_guid_is_stable_and_distinct() -> None:
    assert publish.lesson_guid("a") == publish.lesson_guid("a")
    assert publish.lesson_guid("a") != publish.lesson_guid("b")


def test_show_notes_have_mathml_and_no_raw_latex() -> None:
    notes = publish.show_notes_html(LESSONS[0], CATALOG)
    assert '<a href="https://example.org/two">Episode two</a>' in notes
    assert "<math" in notes and "<msup>" in notes
    assert "\\frac" not in notes and "$" not in notes
    assert "Can variance be negative?" in notes


def test_webvtt_and_chapters() -> None:
    vtt = publish.webvtt([Cue(0.0, 1.5, "Hello."), Cue(61.25, 3661.0, "Later.")])
    assert vtt.splitlines()[:4] == ["WEBVTT", "", "1", "00:00:00.000 --> 00:00:01.500"]
    assert "00:01:01.250 --> 01:01:01.000" in vtt
    document = publish.chapters_json(LESSONS[0].chapters, "T")
    assert document["version"] == "1.2.0"
    assert [c["startTime"] for c in document["chapters"]] == [0.0, 10.0]


def test_feed_rules_checker_reports_no_errors(tmp_path: Path) -> None:
    checker = shared_path("tools", "podcast_feed_rules.py")
    feed_file = tmp_path / "companion.xml"
    feed_file.write_bytes(make_feed())
    result = subprocess.run(
        [sys.executable, str(checker), str(feed_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("0 errors")


def course_feed_v2() -> tuple[bytes, Catalog]:
    """The course feed of the whole packaged catalog, as the build makes it (fake audio)."""
    from companion.lessons import course_lesson
    from companion.models import Script
    from companion.topics import course_seasons, load_catalog

    catalog = load_catalog()
    seasons = course_seasons(catalog.topics)
    lessons = [
        replace(
            course_lesson(
                Script(f"course-{topic.id}", f"Lesson {number}: {topic.title}", (), (topic.id,)),
                number,
                seasons[topic.id],
            ),
            published=datetime(2024, 1, 1, 0, number % 60, tzinfo=UTC),
            duration=100.0,
            size=1000,
        )
        for number, topic in enumerate(catalog.topics, start=1)
    ]
    course = publish.FeedSettings(
        title="Course",
        description="The course.",
        base_url="http://localhost:8000/",
        feed_path="feeds/course.xml",
        author="Tester",
        owner_email="owner@example.org",
        episode_type="serial",
    )
    return publish.feed_xml(course, lessons, {}), catalog


def test_course_feed_v2_has_every_topic_in_order_with_seasons_by_area(tmp_path: Path) -> None:
    data, catalog = course_feed_v2()
    items = ET.fromstring(data).findall("channel/item")
    assert len(items) == len(catalog.topics) == 74
    taught: set[str] = set()
    season_of_area: dict[str, str] = {}
    names: dict[str, str] = {}
    for number, item in enumerate(items, start=1):
        topic = catalog.topics[number - 1]
        assert item.findtext(f"{{{NS['itunes']}}}episode") == str(number)
        assert set(topic.prerequisites) <= taught, topic.id  # prerequisite order
        taught.add(topic.id)
        season = item.findtext(f"{{{NS['itunes']}}}season")
        named = item.find(f"{{{NS['podcast']}}}season")
        assert named is not None and named.text == season
        assert season_of_area.setdefault(topic.area, season) == season  # one season per area
        assert names.setdefault(season, named.get("name")) == named.get("name")
    assert items[0].findtext(f"{{{NS['itunes']}}}season") == "1"
    assert sorted(map(int, season_of_area.values())) == list(range(1, 13))
    assert set(names.values()) >= {"Linear Algebra", "Neural Networks", "Generative Models"}
    parsed = feedparser.parse(data)
    assert parsed.entries[0].itunes_season == "1"
    checker = shared_path("tools", "podcast_feed_rules.py")
    (tmp_path / "course.xml").write_bytes(data)
    result = subprocess.run(
        [sys.executable, str(checker), str(tmp_path / "course.xml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip().splitlines()[-1] == "0 errors, 0 warnings", result.stdout


def test_episode_feed_has_no_seasons() -> None:
    assert b"season" not in make_feed()
