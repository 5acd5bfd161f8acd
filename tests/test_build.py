"""Build: the whole pipeline on a tiny feed; incremental rules counted in synthesis calls."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from companion.build import build
from companion.config import load_settings
from companion.errors import ConfigError
from companion.lessons import JobResult, LessonJob, read_lessons
from companion.models import LessonKind
from tests.conftest import DATA, as_another_kind_of_machine, media, require_audio_tools

TINY_FEED = DATA / "feeds" / "two_episodes.xml"
FIXED_CLOCK = lambda: datetime(2025, 1, 1, tzinfo=UTC)  # noqa: E731


def settings_for(workdir: Path, **options: object):
    defaults = {"source": str(TINY_FEED), "jobs": 1, "course": False}
    return load_settings(workdir, {**defaults, **options})


def run(workdir: Path, **kwargs: object):
    options = kwargs.pop("options", {})
    clock = kwargs.pop("clock", FIXED_CLOCK)
    return build(settings_for(workdir, **options), clock=clock, **kwargs)


@pytest.fixture(scope="module")
def cold_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cold build of the tiny feed; each test gets its own copy (synthesis is the cost)."""
    require_audio_tools()
    workdir = tmp_path_factory.mktemp("cold")
    report = run(workdir)
    assert report.exit_code == 0, report.failed
    return workdir


@pytest.fixture
def built(cold_build: Path, tmp_path: Path, audio_tools: None) -> Path:
    shutil.copytree(cold_build, tmp_path, dirs_exist_ok=True)  # copy2: times kept
    return tmp_path


def test_first_build_makes_one_lesson_for_the_math_episode(built: Path) -> None:
    lessons = read_lessons(built)
    assert [lesson.slug for lesson in lessons] == ["ep-2-gradient-descent-friends"]
    folder = built / "episodes" / "ep-2-gradient-descent-friends"
    for name in ("lesson.mp3", "transcript.vtt", "chapters.json"):
        assert media(folder, name).is_file(), name
    assert (folder / "build.json").is_file()
    script = (built / "scripts" / "ep-2-gradient-descent-friends.txt").read_text("utf-8")
    assert "Ep 2: Gradient Descent and Friends" in script
    assert "Tiny ML Show" in script
    assert not set(script) & set("\\{}^_$")
    assert not (built / "scripts" / "ep-1-welcome.txt").exists()
    chapters = json.loads(media(folder, "chapters.json").read_text("utf-8"))["chapters"]
    titles = [c["title"] for c in chapters]
    assert titles[0] == "Introduction" and titles[-1] == "Recap"
    assert "Gradient Descent" in titles
    assert any(t.startswith("Quiz: ") for t in titles)
    vtt = media(folder, "transcript.vtt").read_text("utf-8")
    assert vtt.startswith("WEBVTT")
    parsed = feedparser.parse((built / "feeds" / "companion.xml").read_bytes())
    assert len(parsed.entries) == 1
    assert parsed.feed.title == "Tiny ML Show Math Companion"
    enclosure = parsed.entries[0].enclosures[0]
    assert int(enclosure.length) == media(folder).stat().st_size


def test_second_build_is_a_no_op(built: Path) -> None:
    feed_before = (built / "feeds" / "companion.xml").read_bytes()
    mp3_before = media(built / "episodes" / "ep-2-gradient-descent-friends").stat()
    report = run(built)
    assert report.built == []
    assert report.unchanged == ["ep-2-gradient-descent-friends"]
    assert report.sections_synthesized == 0
    assert (built / "feeds" / "companion.xml").read_bytes() == feed_before
    after = media(built / "episodes" / "ep-2-gradient-descent-friends").stat()
    assert after.st_mtime_ns == mp3_before.st_mtime_ns


def test_force_rebuilds_from_cached_sections(built: Path) -> None:
    report = run(built, force=True)
    assert report.built == ["ep-2-gradient-descent-friends"]
    assert report.sections_synthesized == 0
    assert report.sections_reused > 0


def test_voice_change_resynthesizes_everything(built: Path) -> None:
    report = run(built, options={"rate": 150})
    assert report.built == ["ep-2-gradient-descent-friends"]
    assert report.sections_reused == 0
    assert report.sections_synthesized > 3


def test_editing_one_topic_resynthesizes_only_its_section(built: Path) -> None:
    from companion import topics

    packaged = Path(topics.__file__).parent / "data" / "topics.toml"
    edited = built / "my-topics.toml"
    text = packaged.read_text("utf-8")
    marker = 'id = "gradient-descent"'
    assert marker in text
    head, tail = text.split(marker, 1)
    tail = re.sub(r"(explanation = (?:\"\"\"|'''|\"|'))", r"\1Listen closely. ", tail, count=1)
    edited.write_text(head + marker + tail, "utf-8")
    # the catalog's examples and bridges come along unchanged (examples.toml beside it)
    shutil.copy(packaged.with_name("examples.toml"), built / "examples.toml")
    report = run(built, options={"catalog": str(edited)})
    assert report.built == ["ep-2-gradient-descent-friends"]
    assert report.sections_synthesized == 1
    assert report.sections_reused >= 3


def test_deleted_stamp_rebuilds_that_lesson(built: Path) -> None:
    (built / "episodes" / "ep-2-gradient-descent-friends" / "build.json").unlink()
    report = run(built)
    assert report.built == ["ep-2-gradient-descent-friends"]


def test_lessons_of_departed_episodes_stay_until_prune(built: Path) -> None:
    stale = built / "episodes" / "old-episode"
    shutil.copytree(built / "episodes" / "ep-2-gradient-descent-friends", stale)
    stamp = json.loads((stale / "build.json").read_text("utf-8"))
    stamp["lesson"]["slug"] = "old-episode"
    stamp["lesson"]["guid"] = "old-guid"
    (stale / "build.json").write_text(json.dumps(stamp), "utf-8")
    run(built)
    assert len(feedparser.parse((built / "feeds" / "companion.xml").read_bytes()).entries) == 2
    run(built, prune=True)
    assert not stale.exists()
    assert len(feedparser.parse((built / "feeds" / "companion.xml").read_bytes()).entries) == 1


def test_only_unknown_episode_is_an_error(built: Path) -> None:
    with pytest.raises(ConfigError, match="--only nothing"):
        run(built, only=["nothing"])


@pytest.mark.slow
def test_jobs_output_is_byte_identical(tmp_path: Path, audio_tools: None) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    source = str(DATA / "feeds" / "two_math.xml")
    first = run(one, options={"jobs": 1, "source": source})
    second = run(two, options={"jobs": 2, "source": source})
    assert sorted(first.built) == sorted(second.built) == ["dot-products", "sigmoid"]
    assert (one / "feeds/companion.xml").read_bytes() == (two / "feeds/companion.xml").read_bytes()
    for slug in first.built:
        for name in ("lesson.mp3", "transcript.vtt", "chapters.json"):
            mine = media(one / "episodes" / slug, name)
            theirs = media(two / "episodes" / slug, name)
            assert mine.name == theirs.name and mine.read_bytes() == theirs.read_bytes(), name


@pytest.mark.slow
def test_course_feed_in_prerequisite_order(tmp_path: Path, audio_tools: None) -> None:
    report = run(tmp_path, options={"course": True, "course_topics": 2})
    assert report.exit_code == 0, report.failed
    assert report.course_published == 2
    parsed = feedparser.parse((tmp_path / "feeds" / "course.xml").read_bytes())
    assert parsed.feed.itunes_type == "serial"
    titles = [entry.title for entry in parsed.entries]
    assert titles == ["Lesson 1: Sets and Functions", "Lesson 2: Summation Notation"]
    assert [entry.itunes_season for entry in parsed.entries] == ["1", "1"]  # Discrete Math
    for slug in ("course-sets-and-functions", "course-summation-notation"):
        assert (tmp_path / "scripts" / f"{slug}.txt").is_file()
        assert media(tmp_path / "episodes" / slug).is_file()
    episode_feed = feedparser.parse((tmp_path / "feeds" / "companion.xml").read_bytes())
    assert [e.title for e in episode_feed.entries] == ["Math for Ep 2: Gradient Descent & Friends"]
    dates = [entry.published_parsed for entry in parsed.entries]
    assert dates == sorted(dates)
    before = (tmp_path / "feeds" / "course.xml").read_bytes()
    again = run(
        tmp_path,
        options={"course": True, "course_topics": 2},
        clock=lambda: datetime(2030, 1, 1, tzinfo=UTC),
    )
    assert again.built == []
    assert (tmp_path / "feeds" / "course.xml").read_bytes() == before


@pytest.mark.slow
def test_max_items_caps_the_feed_at_the_newest(tmp_path: Path, audio_tools: None) -> None:
    source = str(DATA / "feeds" / "two_math.xml")
    report = run(tmp_path, options={"source": source, "max_items": 1})
    assert sorted(report.built) == ["dot-products", "sigmoid"]
    parsed = feedparser.parse((tmp_path / "feeds" / "companion.xml").read_bytes())
    assert [entry.title for entry in parsed.entries] == ["Math for Sigmoid"]
    assert media(tmp_path / "episodes" / "dot-products").is_file()


def test_a_changed_lesson_keeps_its_guid_and_gets_new_files(built: Path) -> None:
    folder = built / "episodes" / "ep-2-gradient-descent-friends"
    before = feedparser.parse((built / "feeds" / "companion.xml").read_bytes()).entries[0]
    old = {name: media(folder, name) for name in ("lesson.mp3", "transcript.vtt", "chapters.json")}
    report = run(built, options={"title": "Renamed Companion"})  # a new album tag
    assert report.built == ["ep-2-gradient-descent-friends"]
    after = feedparser.parse((built / "feeds" / "companion.xml").read_bytes()).entries[0]
    assert after.id == before.id
    new = {name: media(folder, name) for name in old}  # one of each: the old ones are gone
    assert all(new[name].name != old[name].name for name in old)
    assert after.enclosures[0].href.endswith("/" + new["lesson.mp3"].name)
    assert before.enclosures[0].href.endswith("/" + old["lesson.mp3"].name)
    assert int(after.enclosures[0].length) == new["lesson.mp3"].stat().st_size


# --- one writer per path ------------------------------------------------------------------

MATH_DESCRIPTIONS = (
    "We train a model with gradient descent on a loss.",
    "The sigmoid function squashes a score into a probability.",
    "Attention scores are a dot product between query and key vectors.",
    "Bayes theorem updates a prior with the likelihood of the evidence.",
    "Matrix multiplication composes two linear maps.",
)
# Titles whose plain slugs are those of the first spaced review and a course lesson.
COLLIDING_TITLES = ("Review 001", "Course: attention")


def colliding_feed(folder: Path) -> Path:
    """Five math episodes (so the first review is planned) plus two with colliding titles."""
    titles = [f"Episode {n}" for n in range(1, 6)] + list(COLLIDING_TITLES)
    descriptions = [*MATH_DESCRIPTIONS, *MATH_DESCRIPTIONS[:2]]
    items = "".join(
        f"<item><title>{title}</title><guid>c-{n}</guid>"
        f"<pubDate>Mon, {n:02d} Jan 2024 10:00:00 +0000</pubDate>"
        f'<enclosure url="https://example.org/{n}.mp3" length="1" type="audio/mpeg"/>'
        f"<description>{text}</description></item>"
        for n, (title, text) in enumerate(zip(titles, descriptions, strict=True), start=1)
    )
    path = folder / "colliding.xml"
    path.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Clash</title>'
        f"<link>https://example.org/</link><description>d</description>{items}</channel></rss>",
        "utf-8",
    )
    return path


class RecordingExecutor:
    """Records the lesson jobs a build plans and fails each one (no audio is made)."""

    def __init__(self) -> None:
        self.jobs: list[LessonJob] = []

    def run(self, jobs: Sequence[LessonJob]) -> Iterator[JobResult]:
        self.jobs += jobs
        for job in jobs:
            yield JobResult(job.slug, error=f"{job.slug}: not run")

    def close(self) -> None:
        return None


def test_titles_like_review_and_course_lessons_get_their_own_folders(tmp_path: Path) -> None:
    recorder = RecordingExecutor()
    options = {"source": str(colliding_feed(tmp_path)), "course_topics": 0, "engine": "espeak-ng"}
    build(settings_for(tmp_path / "work", **options, course=True), executor=recorder)
    by_slug = {job.slug: job.lesson for job in recorder.jobs}
    assert len(by_slug) == len(recorder.jobs)  # one job per folder
    assert by_slug["episode-review-001"].title.endswith("Review 001")
    assert by_slug["review-001"].kind is LessonKind.REVIEW
    assert by_slug["episode-course-attention"].title.endswith("Course: attention")
    assert by_slug["course-attention"].kind is LessonKind.COURSE
    assert len({job.folder for job in recorder.jobs}) == len(recorder.jobs)


def test_a_build_that_would_write_one_folder_twice_stops_naming_both_lessons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from companion import ingest, text

    monkeypatch.setattr(ingest, "episode_slug", lambda title, guid: text.slugify(title))
    recorder = RecordingExecutor()
    options = {"source": str(colliding_feed(tmp_path)), "engine": "espeak-ng"}
    with pytest.raises(ConfigError) as raised:
        build(settings_for(tmp_path / "work", **options), executor=recorder)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("episodes/review-001: two lessons would write it")
    assert "'Math for Review 001'" in message and "'Review 1: lessons 1 to 5'" in message
    assert recorder.jobs == []
    assert not (tmp_path / "work" / "scripts").exists()


# --- machines of another CPU kind ---------------------------------------------------------


def test_a_lesson_is_never_made_of_two_kinds_of_machine(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = built / "episodes" / "ep-2-gradient-descent-friends"
    first = media(folder).read_bytes()
    sections = len(read_lessons(built)[0].chapters)
    cache = built / ".cache" / "sections"
    ours = {path.name.split(".")[1] for path in cache.glob("*.wav")}
    assert len(ours) == 1 and len(list(cache.glob("*.wav"))) == sections

    other = as_another_kind_of_machine(monkeypatch)
    report = run(built, force=True)  # every section is in the cache, made by the other kind
    assert (report.sections_synthesized, report.sections_reused) == (sections, 0)
    assert media(folder).read_bytes() != first
    kernels = sorted(path.name.split(".")[1] for path in cache.glob("*.wav"))
    assert kernels == sorted([*ours] * sections + [other] * sections)

    monkeypatch.undo()  # back on the first kind: its own sections, its own bytes again
    report = run(built, force=True)
    assert (report.sections_synthesized, report.sections_reused) == (0, sections)
    assert media(folder).read_bytes() == first
