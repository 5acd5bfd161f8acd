"""End to end: the bundled sample feed becomes real MP3 lessons and a valid podcast feed.

One cold build of the sample (the session's `sample_build`: every episode lesson and review,
the course's first lessons; the golden test compares it byte for byte), then every output
is checked with the shared checkers: podcast_feed_rules.py, check_mp3.py and check_script.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import pytest
from click.testing import CliRunner

from companion.build import build
from companion.cli import cli
from companion.config import SETTING, load_settings
from companion.lessons import read_lessons
from companion.synth import SECTION_GAP, probe_duration
from companion.topics import load_catalog
from tests.conftest import SAMPLE_CLOCK, SAMPLE_COURSE_TOPICS, SampleBuild, shared_path

pytestmark = pytest.mark.slow  # builds the sample's lessons

PRODUCED = [
    *("--dual-mono", "--lufs", "-16", "--lufs-tolerance", "1", "--max-true-peak", "-1"),
    *("--require-tags", "--require-cover", "--min-chapters", "3", "--jobs", "2"),
]
# The longest silence a lesson may hold is its think pause: a quiz's in a lesson, a review's
# in a review, and the check allows exactly that plus the utterances' trimmed silent edges
# (0.11 s, synth.TAIL and synth.LEAD_IN; measured 5.02 s around a 5 s pause).
QUIZ_PAUSE = SETTING["quiz_pause"].default
REVIEW_PAUSE = SETTING["review_pause"].default
PAUSE_EDGES = 0.2


def test_sample_builds_a_lesson_per_math_episode(sample_build: SampleBuild) -> None:
    workdir, report = sample_build.workdir, sample_build.report
    assert report.exit_code == 0, report.failed
    episode_lessons = [slug for slug in report.built if not slug.startswith("course-")]
    assert len(episode_lessons) >= 8
    reviews = [slug for slug in episode_lessons if slug.startswith("review-")]
    assert reviews == ["review-001", "review-002"]  # after lessons 5 and 10
    assert len(report.skipped_no_math) >= 2
    assert report.published == len(episode_lessons)
    assert report.course_published == SAMPLE_COURSE_TOPICS
    scripts = sorted(p.stem for p in (workdir / "scripts").glob("*.txt"))
    assert scripts == sorted(report.built)
    assert "mlg-008-math-for-machine-learning" in scripts


def test_every_mp3_decodes_with_the_length_of_its_sections(
    sample_build: SampleBuild,
) -> None:
    workdir = sample_build.workdir
    for lesson in read_lessons(workdir):
        mp3 = workdir / "episodes" / lesson.slug / lesson.audio_file
        # Chapters tile the lesson: each spans its section's audio and the gap after it.
        expected = sum(c.end - c.start for c in lesson.chapters)
        assert expected == pytest.approx(lesson.chapters[-1].end, abs=0.01)
        assert all(c.end - c.start > SECTION_GAP for c in lesson.chapters)
        decoded = probe_duration(mp3)
        assert decoded == pytest.approx(expected, rel=0.10), lesson.slug
        assert 60 < decoded < 60 * 10, lesson.slug


def test_feed_enclosures_point_at_existing_files_of_the_stated_length(
    sample_build: SampleBuild,
) -> None:
    workdir, report = sample_build.workdir, sample_build.report
    parsed = feedparser.parse((workdir / "feeds" / "companion.xml").read_bytes())
    assert not parsed.bozo
    assert len(parsed.entries) == report.published
    for entry in parsed.entries:
        enclosure = entry.enclosures[0]
        local = workdir / urlsplit(enclosure.href).path.lstrip("/")
        assert local.is_file()
        assert int(enclosure.length) == local.stat().st_size
        assert enclosure.type == "audio/mpeg"


@pytest.mark.parametrize("feed", ["companion.xml", "course.xml"])
def test_feed_rules_checker_finds_no_errors_or_warnings(
    sample_build: SampleBuild, feed: str
) -> None:
    workdir = sample_build.workdir
    checker = shared_path("tools", "podcast_feed_rules.py")
    result = subprocess.run(
        [sys.executable, str(checker), str(workdir / "feeds" / feed), "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().splitlines()[-1] == "0 errors, 0 warnings"


def test_check_mp3_passes_on_every_lesson(sample_build: SampleBuild) -> None:
    """Podcast loudness (-16 LUFS dual-mono, -1 dBTP), tags, cover and chapters on every
    lesson (stricter on each point than the pipeline issue's floor), and no dead air: no
    silence longer than the think pause, which each lesson with a question really holds."""
    folders = sorted(path for path in (sample_build.workdir / "episodes").iterdir())
    reviews = [path for path in folders if path.name.startswith("review-")]
    lessons = [path for path in folders if path not in reviews]
    assert reviews and lessons
    for group, pause in ((lessons, QUIZ_PAUSE), (reviews, REVIEW_PAUSE)):
        assert isinstance(pause, float)
        files = _check_mp3(group, "--max-silence", str(pause + PAUSE_EDGES))
        longest = max(record["longest_silence"] for record in files)
        assert longest >= pause, f"the think pause of {pause} s is not in {group[0].parent}"
        if group is reviews:
            assert all(record["longest_silence"] >= pause for record in files)


def _check_mp3(folders: list[Path], *options: str) -> list[dict[str, Any]]:
    checker = shared_path("tools", "check_mp3.py")
    result = subprocess.run(
        [sys.executable, str(checker), *map(str, folders), *PRODUCED, *options, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    failed = [(item["file"], item["problems"]) for item in report["files"] if not item["pass"]]
    assert result.returncode == 0 and report["failed"] == 0, failed
    files: list[dict[str, Any]] = report["files"]
    return files


def test_lesson_scripts_are_written_for_the_ear(sample_build: SampleBuild) -> None:
    workdir = sample_build.workdir
    checker = shared_path("tools", "check_script.py")
    result = subprocess.run(
        [sys.executable, str(checker), str(workdir / "scripts"), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_review_episodes_are_short_quizzes_with_chapters(
    sample_build: SampleBuild,
) -> None:
    workdir = sample_build.workdir
    lessons = {lesson.slug: lesson for lesson in read_lessons(workdir)}
    parsed = feedparser.parse((workdir / "feeds" / "companion.xml").read_bytes())
    entries = {entry.title: entry for entry in parsed.entries}
    guids = [entry.id for entry in parsed.entries]
    assert len(set(guids)) == len(guids)
    for slug in ("review-001", "review-002"):
        lesson = lessons[slug]
        folder = workdir / "episodes" / slug
        assert 2 * 60 <= probe_duration(folder / lesson.audio_file) <= 4 * 60
        questions = [c.title for c in lesson.chapters if c.title.startswith("Question ")]
        assert 4 <= len(questions) <= 6 and len(lesson.chapters) == len(questions) + 2
        assert (folder / lesson.transcript_file).is_file()
        chapters = json.loads((folder / lesson.chapters_file).read_text("utf-8"))
        assert [c["title"] for c in chapters["chapters"]] == [c.title for c in lesson.chapters]
        entry = entries[lesson.title]
        assert entry.itunes_episodetype == "bonus"
        assert "Answer:" in entry.summary
    order = [entry.title.split(":")[0] for entry in reversed(parsed.entries)]  # oldest first
    assert order.index("Review 1") == 5 and order.index("Review 2") == 11


def test_dev_gold_linking_f1(tmp_path: Path) -> None:
    feed = shared_path("topics", "dev_feed.xml")
    gold = shared_path("topics", "gold_dev_v2.json")
    scorer = shared_path("tools", "score_links.py")
    result = CliRunner().invoke(
        cli, ["topics", "--source", str(feed), "--json"], catch_exceptions=False
    )
    predictions = tmp_path / "predictions.json"
    predictions.write_text(result.stdout, "utf-8")
    scored = subprocess.run(
        [
            sys.executable,
            str(scorer),
            str(gold),
            str(predictions),
            "--json",
            "--taxonomy",
            str(shared_path("topics", "taxonomy_v2.json")),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    scores = json.loads(scored.stdout)
    micro = scores.get("micro", scores)
    assert micro["f1"] >= 0.7, scores


def test_second_build_of_the_sample_does_nothing(sample_build: SampleBuild) -> None:
    workdir, first = sample_build.workdir, sample_build.report
    feed_before = (workdir / "feeds" / "companion.xml").read_bytes()
    settings = load_settings(workdir, {"jobs": 2, "course_topics": SAMPLE_COURSE_TOPICS})
    again = build(settings, clock=lambda: SAMPLE_CLOCK)
    assert again.built == []
    assert sorted(again.unchanged) == sorted(first.built)
    assert again.sections_synthesized == 0
    assert (workdir / "feeds" / "companion.xml").read_bytes() == feed_before


def test_no_synthesizer_respelling_in_any_file_people_read(
    sample_build: SampleBuild,
) -> None:
    from companion.pronounce import MATH_CLOSE, MATH_OPEN, find_respellings

    workdir = sample_build.workdir
    lexicon = load_catalog(check_speech=False).lexicon
    files = [
        *workdir.glob("scripts/*.txt"),
        *workdir.glob("episodes/*/transcript-*.vtt"),
        *workdir.glob("episodes/*/chapters-*.json"),
        *workdir.glob("episodes/*/index.html"),
        *workdir.glob("feeds/*.xml"),
        workdir / "index.html",
    ]
    assert len(files) > 20
    letters_read = 0
    for path in files:
        text = path.read_text("utf-8")
        if path.name == "source.xml":
            continue
        assert find_respellings(text, lexicon) == [], path
        assert MATH_OPEN not in text and MATH_CLOSE not in text, path
        letters_read += len(re.findall(r"\bP of [A-Za-z] given [A-Za-z]\b", text))
    assert letters_read > 0  # letters are written as letters where a probability is read
