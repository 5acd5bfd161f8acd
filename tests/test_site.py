"""Site: the static show page and lesson pages, checked as HTML and in headless Chromium."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from companion import publish, site
from companion.models import (
    Chapter,
    Cue,
    Lesson,
    LessonKind,
)
from companion.serve import make_server
from tests.test_publish import CATALOG

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
FEEDS = [
    site.FeedLink("feeds/companion.xml", "Test Companion"),
    site.FeedLink("feeds/course.xml", "Test Course"),
]
CUES = [
    Cue(0.0, 2.5, "Welcome to the lesson."),
    Cue(2.5, 6.0, "Sigma squared equals one over n times the sum."),
]


def lesson(slug: str, day: int, title: str = "") -> Lesson:
    return Lesson(
        slug=slug,
        guid=publish.lesson_guid(f"source-{slug}"),
        title=title or f"Math for {slug}",
        summary=f"The math of {slug}.",
        published=datetime(2024, 1, day, 8, 0, tzinfo=UTC),
        source_title=f"Episode {slug}",
        source_link=f"https://example.org/{slug}",
        source_guid=f"source-{slug}",
        episode_number=day,
        topic_ids=("variance",),
        duration=123.4,
        size=4,
        chapters=(Chapter(0.0, 10.0, "Introduction"), Chapter(10.0, 123.4, "Variance")),
        transcript=tuple(CUES),
        kind=LessonKind.COURSE if slug.startswith("course-") else LessonKind.EPISODE,
    )


LESSONS = [lesson("two", 2), lesson("one", 1), lesson("course-variance", 3, "Course: Variance")]
NOTES = {item.slug: publish.show_notes_html(item, CATALOG) for item in LESSONS}


class Links(HTMLParser):
    """Every href/src, the html lang, the headings and the elements seen."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append((tag, values))
        for name in ("href", "src"):
            if values.get(name):
                self.urls.append(str(values[name]))

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [values for name, values in self.tags if name == tag]


def parse(text: str) -> Links:
    parser = Links()
    parser.feed(text)
    return parser


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    for item in LESSONS:
        folder = root / "episodes" / item.slug
        folder.mkdir(parents=True)
        (folder / "lesson.mp3").write_bytes(b"\xff\xfb\x90\x00")
        (folder / "transcript.vtt").write_text(publish.webvtt(CUES), "utf-8")
        (folder / "chapters.json").write_text("{}", "utf-8")
    (root / "feeds").mkdir()
    for feed in FEEDS:
        (root / feed.path).write_text("<rss/>", "utf-8")
    site.write_site(root, LESSONS, NOTES, FEEDS)
    return root


def test_index_links_both_feeds_and_every_lesson(workdir: Path) -> None:
    text = (workdir / "index.html").read_text("utf-8")
    page = parse(text)
    assert page.find("html")[0]["lang"] == "en"
    assert [h for h in page.find("h1")], "the show page has a title heading"
    assert "<title>Test Companion</title>" in text
    subscribe = [a["href"] for a in page.find("a") if a.get("class") == "subscribe"]
    assert subscribe == ["feeds/companion.xml", "feeds/course.xml"]
    alternates = [link["href"] for link in page.find("link") if link.get("rel") == "alternate"]
    assert alternates == ["feeds/companion.xml", "feeds/course.xml"]
    audios = page.find("audio")
    assert [a["src"] for a in audios] == [
        "episodes/two/lesson.mp3",
        "episodes/one/lesson.mp3",
        "episodes/course-variance/lesson.mp3",
    ]
    assert all("controls" in a and a["preload"] == "none" for a in audios)
    assert text.index("Math for two") < text.index("Math for one") < text.index("The course")
    assert 'href="episodes/one/index.html"' in text


def test_lesson_page_has_notes_mathml_chapters_and_transcript(workdir: Path) -> None:
    text = (workdir / "episodes" / "one" / "index.html").read_text("utf-8")
    page = parse(text)
    assert page.find("html")[0]["lang"] == "en"
    assert [a["src"] for a in page.find("audio")] == ["lesson.mp3"]
    assert len(page.find("math")) == 2  # the inline mu and the equation
    assert "<mfrac>" in text
    assert "\\frac" not in text and "$" not in text
    assert "0:10</time> Variance" in text
    assert "Sigma squared equals one over n times the sum." in text
    assert [h for h in page.find("h1")] and len(page.find("h2")) == 3


def test_every_relative_link_resolves(workdir: Path) -> None:
    for page in [workdir / "index.html", *workdir.glob("episodes/*/index.html")]:
        for url in parse(page.read_text("utf-8")).urls:
            if url.startswith(("http://", "https://", "data:")):
                continue
            assert not url.startswith("/"), f"{page}: {url} is not relative"
            assert (page.parent / url).resolve().is_file(), f"{page}: {url} is missing"


def test_text_is_escaped() -> None:
    evil = lesson("evil", 4, title="<script>alert(1)</script> & more")
    text = site.lesson_html(replace(evil, transcript=(Cue(0, 1, "a < b"),)), "")
    assert "<script>alert" not in text
    assert "&lt;script&gt;" in text and "a &lt; b" in text
    assert "<script>alert" not in site.index_html([evil], [])


def test_write_site_is_deterministic_and_incremental(workdir: Path) -> None:
    before = {path: path.read_bytes() for path in workdir.rglob("*.html")}
    assert site.write_site(workdir, LESSONS, NOTES, FEEDS) == []
    assert {path: path.read_bytes() for path in workdir.rglob("*.html")} == before
    changed = site.write_site(workdir, LESSONS, NOTES, FEEDS[:1])
    assert workdir / "index.html" in changed
    assert "feeds/course.xml" not in (workdir / "index.html").read_text("utf-8")


def test_clock() -> None:
    assert site.clock(3661.5) == "1:01:01" and site.clock(70) == "1:10"


# --- in a real browser ----------------------------------------------------------------------


def require_chromium() -> tuple[str, str]:
    """Debian's chromium and chromium-driver; in CI their absence is a failure, not a skip."""
    browser = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    missing = [
        name for name, path in (("chromium", browser), ("chromium-driver", driver)) if not path
    ]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        message = f"{', '.join(missing)} not installed (run ./bootstrap.sh --test)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    assert browser and driver
    return browser, driver


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    binary, driver_path = require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1000,1400",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def served(workdir: Path) -> Iterator[str]:
    server = make_server(workdir, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/"
    server.shutdown()
    server.server_close()


def test_lesson_page_renders_mathml_in_chromium(browser: Any, served: str) -> None:
    driver = browser
    driver.get(served + "episodes/one/index.html")
    run = driver.execute_script
    assert run("return document.querySelectorAll('math').length") > 0
    box = run(
        "const r = document.querySelector('ul math').getBoundingClientRect();"
        "return [r.width, r.height];"
    )
    assert box[0] > 0 and box[1] > 0, f"MathML has no box: {box}"
    display = run("return getComputedStyle(document.querySelector('math')).display")
    assert "math" in display, f"math is not laid out as MathML (display: {display})"
    top, bottom = run(
        "const f = document.querySelector('mfrac');"
        "return [f.firstElementChild.getBoundingClientRect().bottom,"
        "        f.lastElementChild.getBoundingClientRect().top];"
    )
    assert top <= bottom + 1, "the fraction's numerator is laid out above its denominator"
    visible = run("return document.body.innerText")
    for raw in ("\\", "\\frac", "$"):
        assert raw not in visible, f"raw LaTeX {raw!r} is visible"
    assert "Sigma squared equals" in visible
    ARTIFACTS.mkdir(exist_ok=True)
    assert driver.save_screenshot(str(ARTIFACTS / "lesson-page.png"))
    logs = driver.get_log("browser")
    assert [entry for entry in logs if entry["level"] == "SEVERE"] == []


def test_show_page_in_chromium(browser: Any, served: str) -> None:
    driver = browser
    driver.get(served)
    run = driver.execute_script
    assert run("return document.querySelectorAll('audio[controls]').length") == 3
    urls = run("return [...document.querySelectorAll('input.feed-url')].map(i => i.value)")
    assert urls == [served + "feeds/companion.xml", served + "feeds/course.xml"]
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "show-page.png"))
    logs = driver.get_log("browser")
    assert [entry for entry in logs if entry["level"] == "SEVERE"] == []
