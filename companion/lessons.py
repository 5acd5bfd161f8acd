"""Lessons: a Script becomes a finished lesson folder, recorded by its stamp.

`run_lesson_job` is the synthesize stage for one lesson: it synthesizes (or reuses) each
section, assembles the MP3, writes the transcript and chapters, and writes the stamp last.
It runs wherever an executor puts it (this process, a process pool, a Dask worker), so a
`LessonJob` carries everything it needs. The stamp, `episodes/<slug>/build.json`, holds the
content hash of everything the audio was made from and the `Lesson` the feeds publish;
`read_stamp` and `write_stamp` are its only reader and writer.

Published files never change in place: a lesson's MP3, transcript and chapters are named after
its content hash (layout.media_names), so a rebuilt lesson's files are written beside the old
ones, and `remove_unreferenced` deletes the old ones once the feeds name the new.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from companion import layout, publish, synth, voices
from companion.errors import CompanionError
from companion.files import atomic_write, sha256_text, write_json
from companion.models import (
    Chapter,
    Cue,
    Episode,
    Lesson,
    LessonKind,
    Pronunciation,
    Script,
    Season,
    Show,
    Voice,
)
from companion.review import ReviewPlan

log = logging.getLogger(__name__)

STAMP_FORMAT = 3  # part of every lesson key: raising it rebuilds every lesson


# --- stamps ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stamp:
    """What `build.json` records: the lesson's content hash and the published lesson."""

    key: str
    lesson: Lesson


def write_stamp(path: Path, stamp: Stamp) -> None:
    record: dict[str, Any] = asdict(stamp.lesson)
    record["published"] = stamp.lesson.published.isoformat() if stamp.lesson.published else None
    write_json(path, {"format": STAMP_FORMAT, "key": stamp.key, "lesson": record})


def read_stamp(path: Path) -> Stamp | None:
    """The stamp at `path`; None when it is missing, unreadable or of another format."""
    try:
        value = json.loads(path.read_text("utf-8"))
        if not isinstance(value, dict) or value.get("format") != STAMP_FORMAT:
            return None
        return Stamp(key=str(value["key"]), lesson=_lesson(value["lesson"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _lesson(record: dict[str, Any]) -> Lesson:
    published = record["published"]
    return Lesson(
        slug=str(record["slug"]),
        guid=str(record["guid"]),
        kind=LessonKind(record["kind"]),
        title=str(record["title"]),
        summary=str(record["summary"]),
        published=publish.parse_timestamp(str(published)) if published else None,
        source_title=str(record["source_title"]),
        source_link=str(record["source_link"]),
        source_guid=str(record["source_guid"]),
        episode_number=(
            None if record["episode_number"] is None else int(record["episode_number"])
        ),
        topic_ids=tuple(str(topic_id) for topic_id in record["topic_ids"]),
        duration=float(record["duration"]),
        size=int(record["size"]),
        chapters=tuple(
            Chapter(float(c["start"]), float(c["end"]), str(c["title"])) for c in record["chapters"]
        ),
        transcript=tuple(
            Cue(float(c["start"]), float(c["end"]), str(c["text"])) for c in record["transcript"]
        ),
        questions=tuple(int(number) for number in record.get("questions", ())),
        season=(
            Season(int(record["season"]["number"]), str(record["season"]["name"]))
            if record.get("season")
            else None
        ),
        media_tag=str(record["media_tag"]),
    )


def read_lessons(workdir: Path) -> list[Lesson]:
    """Every finished lesson in the workdir (stamp and MP3 present), newest first."""
    lessons = []
    for stamp_path in sorted((workdir / layout.EPISODES_DIR).glob(f"*/{layout.STAMP_NAME}")):
        stamp = read_stamp(stamp_path)
        if stamp is None:
            continue
        lesson = stamp.lesson
        mp3 = stamp_path.parent / lesson.audio_file
        if not mp3.is_file():
            continue
        if mp3.stat().st_size != lesson.size or lesson.slug != stamp_path.parent.name:
            log.warning("%s: does not match its stamp; left out of the feed", mp3)
            continue
        lessons.append(lesson)
    lessons.sort(
        key=lambda lesson: (lesson.published or datetime.min.replace(tzinfo=UTC), lesson.slug),
        reverse=True,
    )
    return lessons


# --- what a lesson will be, before its audio exists -------------------------------------------


def episode_lesson(episode: Episode, script: Script, show: Show) -> Lesson:
    """What the feed will say about an episode's lesson."""
    topics = ", ".join(section.title for section in script.sections if section.kind == "topic")
    return Lesson(
        slug=script.slug,
        guid=publish.lesson_guid(episode.guid),
        kind=LessonKind.EPISODE,
        title=script.title,
        summary=f"The math behind {episode.title} from {show.title}: {topics}.",
        published=episode.published,
        source_title=episode.title,
        source_link=episode.link,
        source_guid=episode.guid,
        episode_number=episode.number,
        topic_ids=script.topic_ids,
    )


def course_lesson(script: Script, number: int, season: Season | None = None) -> Lesson:
    """What the course feed will say about its lesson `number` (undated), in `season`."""
    topic_id = script.topic_ids[0]
    return Lesson(
        slug=script.slug,
        guid=publish.lesson_guid(f"course:{topic_id}"),
        kind=LessonKind.COURSE,
        title=script.title,
        summary=f"Lesson {number} of the math course: {script.title.split(': ', 1)[-1]}.",
        published=None,
        source_title="",
        source_link="",
        source_guid="",
        episode_number=number,
        topic_ids=script.topic_ids,
        season=season,
    )


def review_lesson(plan: ReviewPlan, script: Script) -> Lesson:
    """What the companion feed will say about a spaced review episode."""
    topics = ", ".join(question.topic.title for question in plan.questions)
    return Lesson(
        slug=script.slug,
        guid=publish.lesson_guid(f"review:{plan.after.source_guid}"),
        kind=LessonKind.REVIEW,
        title=script.title,
        summary=(
            f"A short spaced review of lessons {plan.first_lesson} to {plan.last_lesson}: "
            f"{len(plan.questions)} questions, on {topics}."
        ),
        published=plan.published,
        source_title="",
        source_link="",
        source_guid="",
        episode_number=None,
        topic_ids=script.topic_ids,
        duration=0.0,
        size=0,
        chapters=(),
        questions=tuple(question.quiz_number for question in plan.questions),
    )


# --- lesson jobs (run in worker processes) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class LessonJob:
    script: Script
    voice: Voice
    lexicon: tuple[Pronunciation, ...]
    workdir: Path
    cache: Path  # the content-addressed section cache (shared by a library's shows)
    cover: Path
    lesson: Lesson
    album: str
    artist: str

    @property
    def slug(self) -> str:
        return self.script.slug

    @property
    def folder(self) -> Path:
        return self.workdir / layout.lesson_path(self.slug)

    @property
    def files(self) -> tuple[str, str, str]:
        """The names of this lesson's MP3, transcript and chapters (content-hashed)."""
        return layout.media_names(self.key)

    @property
    def key(self) -> str:
        """The content hash of everything the lesson's files are made from."""
        sections = [synth.section_key(s, self.voice, self.lexicon) for s in self.script.sections]
        titles = [s.title for s in self.script.sections]
        return sha256_text(
            str(synth.SYNTH_FORMAT),
            str(STAMP_FORMAT),
            json.dumps(sections),
            json.dumps(titles),
            self.lesson.title,
            self.album,
            self.artist,
            self.cover.read_bytes().hex() if self.cover.is_file() else "",
        )

    def is_current(self) -> bool:
        stamp = read_stamp(self.folder / layout.STAMP_NAME)
        return (
            stamp is not None
            and stamp.key == self.key
            and all((self.folder / name).is_file() for name in layout.media_names(stamp.key))
            and stamp.lesson.title == self.lesson.title
            and stamp.lesson.season == self.lesson.season
        )


@dataclass(frozen=True, slots=True)
class JobResult:
    slug: str
    duration: float = 0.0
    synthesized: int = 0
    reused: int = 0
    error: str = ""  # one line; the lesson failed when it is set


def failed_job(slug: str, error: BaseException, where: str = "lesson job") -> JobResult:
    """The result of a lesson whose job raised: recorded, and the build goes on.

    A CompanionError carries its own one-line message; anything else (a bug, a lost worker
    process) is named by its type. Every executor reports failures through this function.
    """
    if isinstance(error, CompanionError):
        return JobResult(slug, error=str(error))
    return JobResult(slug, error=f"{slug}: {where} failed ({type(error).__name__}: {error})")


def run_lesson_job(job: LessonJob) -> JobResult:
    """Synthesize (or reuse) each section, assemble the MP3, write transcript, chapters, stamp."""
    try:
        speaker = voices.speaker(job.voice)
        second = voices.second_speaker(job.voice)
        kernel = voices.kernel_fingerprint(job.voice)  # every section from this machine's kind
        audios = []
        synthesized = 0
        for section in job.script.sections:
            audio, made = synth.synthesize_section(
                section, job.voice, job.lexicon, job.cache, speaker, second, kernel
            )
            audios.append(audio)
            synthesized += made
        tags = synth.LessonTags(
            title=job.lesson.title, artist=job.artist, album=job.album, comment=job.lesson.summary
        )
        key = job.key
        audio_file, transcript_file, chapters_file = layout.media_names(key)
        result = synth.assemble_lesson(
            job.script.sections,
            audios,
            tags,
            job.cover,
            job.folder / audio_file,
            job.voice.section_gap,
        )
        lesson = replace(
            job.lesson,
            duration=round(result.duration, 3),
            size=result.size,
            chapters=result.chapters,
            transcript=result.cues,
            media_tag=key[: layout.MEDIA_TAG_LENGTH],
        )
        atomic_write(job.folder / transcript_file, publish.webvtt(lesson.transcript))
        write_json(job.folder / chapters_file, publish.chapters_json(lesson.chapters, lesson.title))
        write_stamp(job.folder / layout.STAMP_NAME, Stamp(key, lesson))
        return JobResult(job.slug, result.duration, synthesized, len(audios) - synthesized)
    except Exception as error:  # recorded as the lesson's failure; the build goes on
        log.debug("%s: lesson job failed", job.slug, exc_info=True)
        return failed_job(job.slug, error)


# --- old files ------------------------------------------------------------------------------


def remove_unreferenced(workdir: Path, lessons: Sequence[Lesson]) -> list[Path]:
    """Delete the lesson media no stamp names any more; call it after the feeds are written.

    A rebuilt lesson's new files are written beside the old ones and the feeds are rewritten
    to name them; only then do the old files go, so a feed never names a missing file.
    """
    episodes = workdir / layout.EPISODES_DIR
    named = {
        (lesson.slug, name)
        for lesson in lessons
        for name in (lesson.audio_file, lesson.transcript_file, lesson.chapters_file)
    }
    for folder in sorted(episodes.glob("*")):
        stamp = read_stamp(folder / layout.STAMP_NAME)
        if stamp is not None:  # a lesson on disk but not published keeps its files too
            named.update((folder.name, name) for name in layout.media_names(stamp.key))
    removed = []
    for pattern in layout.MEDIA_PATTERNS:
        for path in sorted(episodes.glob(f"*/{pattern}")):
            if (path.parent.name, path.name) not in named:
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def dated(workdir: Path, lesson: Lesson, undated: datetime) -> Lesson:
    """A lesson without a source date keeps the date it was first published with."""
    if lesson.published is not None:
        return lesson
    stamp = read_stamp(workdir / layout.lesson_path(lesson.slug, layout.STAMP_NAME))
    old = stamp.lesson.published if stamp else None
    return replace(lesson, published=old or undated)


def warn_over_budget(lessons: Sequence[Lesson], built: Collection[str], minutes: float) -> None:
    """Warn about freshly built episode lessons well over the time budget."""
    for lesson in lessons:
        over = lesson.duration / 60 - minutes
        if lesson.slug in built and lesson.kind is LessonKind.EPISODE and over > 0.5:
            log.warning(
                "%s: the lesson is %.1f minutes, over the %g-minute budget "
                "(all but its first topic are already cut to a sentence and one equation)",
                lesson.slug,
                lesson.duration / 60,
                minutes,
            )


def prune_lessons(workdir: Path, keep: set[str]) -> None:
    """Remove episode lessons not in `keep` (course lessons stay), with their scripts."""
    for folder in sorted((workdir / layout.EPISODES_DIR).glob("*")):
        if not folder.is_dir() or folder.name in keep:
            continue
        stamp = read_stamp(folder / layout.STAMP_NAME)
        if stamp is None or stamp.lesson.kind is not LessonKind.COURSE:
            shutil.rmtree(folder)
            (workdir / layout.script_path(folder.name)).unlink(missing_ok=True)
