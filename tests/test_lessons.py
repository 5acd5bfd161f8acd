"""Lessons: the stamp's one reader and writer, and the lesson records a build starts from."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

from companion import layout
from companion.lessons import (
    STAMP_FORMAT,
    Stamp,
    course_lesson,
    read_lessons,
    read_stamp,
    write_stamp,
)
from companion.models import LessonKind, Paragraph, Script, Section
from tests.test_site import lesson

SCRIPT = Script(
    slug="course-variance",
    title="Lesson 3: Variance",
    sections=(Section("intro", "Introduction", (Paragraph("Hello."),)),),
    topic_ids=("variance",),
)


def stamp_file(workdir: Path, slug: str) -> Path:
    return workdir / layout.lesson_path(slug, layout.STAMP_NAME)


def test_stamp_round_trips(tmp_path: Path) -> None:
    stamp = Stamp("abc123", lesson("one", 1))
    write_stamp(tmp_path / "build.json", stamp)
    assert read_stamp(tmp_path / "build.json") == stamp
    record = json.loads((tmp_path / "build.json").read_text("utf-8"))
    assert record["format"] == STAMP_FORMAT and record["key"] == "abc123"
    assert record["lesson"]["kind"] == "episode"
    assert record["lesson"]["published"] == "2024-01-01T08:00:00+00:00"
    assert record["lesson"]["transcript"][0] == {
        "start": 0.0,
        "end": 2.5,
        "text": "Welcome to the lesson.",
    }


def test_a_stamp_of_the_previous_format_is_not_read(tmp_path: Path) -> None:
    """Format 1 had no kind and no transcript: such a lesson is made again from its sections."""
    record = asdict(lesson("ep-1", 1))
    del record["kind"], record["transcript"]
    record["published"] = None
    path = tmp_path / "build.json"
    path.write_text(json.dumps({"format": 1, "key": "k", "lesson": record}), "utf-8")
    assert read_stamp(path) is None


def test_unreadable_stamps_are_none(tmp_path: Path) -> None:
    path = tmp_path / "build.json"
    assert read_stamp(path) is None  # missing
    for text in (
        "{not json",
        "[]",
        '{"format": 99, "key": "k", "lesson": {}}',
        '{"format": 1, "key": "k", "lesson": {"slug": "x"}}',
    ):
        path.write_text(text, "utf-8")
        assert read_stamp(path) is None, text


def test_read_lessons_skips_an_mp3_that_does_not_match_its_stamp(tmp_path: Path) -> None:
    for slug, day, size in (("one", 1, 4), ("two", 2, 4), ("three", 3, 5)):
        write_stamp(stamp_file(tmp_path, slug), Stamp("k", replace(lesson(slug, day), size=4)))
        (tmp_path / layout.lesson_path(slug, layout.MP3_NAME)).write_bytes(b"x" * size)
    (tmp_path / layout.lesson_path("four")).mkdir()  # no stamp: still being built
    assert [item.slug for item in read_lessons(tmp_path)] == ["two", "one"]  # newest first


def test_course_lesson_is_of_the_course_kind() -> None:
    made = course_lesson(SCRIPT, 3)
    assert made.kind is LessonKind.COURSE
    assert made.episode_number == 3 and made.published is None
    assert made.summary == "Lesson 3 of the math course: Variance."
    assert made.chapters == ()


def test_executors_do_not_import_the_build() -> None:
    """No import cycle: the lesson job lives apart from the orchestration that runs it."""
    code = "import sys, companion.executors; sys.exit('companion.build' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_published_date_survives_the_stamp(tmp_path: Path) -> None:
    moment = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    write_stamp(tmp_path / "b.json", Stamp("k", replace(lesson("x", 1), published=moment)))
    stamp = read_stamp(tmp_path / "b.json")
    assert stamp is not None and stamp.lesson.published == moment
