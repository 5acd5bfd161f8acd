"""The pipeline: feed -> episodes -> topic links -> scripts -> lessons -> published feed.

`build()` is the one place where the stages meet; read top to bottom, it is the pipeline.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from companion import artwork, ingest, publish, render, site, synth
from companion.config import Settings, sample_feed_path
from companion.episode_words import fetch_words
from companion.errors import CompanionError, ConfigError
from companion.files import (
    atomic_write,
    exclusive_lock,
    sha256_text,
    write_if_changed,
    write_json,
)
from companion.linking import MAX_TOPICS
from companion.models import (
    Catalog,
    Chapter,
    Episode,
    EpisodeWords,
    Lesson,
    Pronunciation,
    Script,
    Show,
    TopicLink,
    Voice,
)
from companion.topics import link, load_catalog

if TYPE_CHECKING:
    from companion.executors import Executor

log = logging.getLogger(__name__)

STAMP_NAME = "build.json"
STAMP_FORMAT = 1
FEED_PATH = "feeds/companion.xml"
COURSE_FEED_PATH = "feeds/course.xml"
COURSE_PREFIX = "course-"
COVER_PATH = "feeds/cover.jpg"
SOURCE_SNAPSHOT = "feeds/source.xml"
CACHE_DIR = ".cache/sections"
LOCK_PATH = ".cache/build.lock"
HTTP_CACHE_DIR = ".cache/http"  # ETag / Last-Modified of the source feed (conditional GET)


# --- events and report --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BuildEvent:
    kind: str  # "linked", "rendered", "started", "built", "unchanged", "failed", "feed"
    slug: str = ""
    message: str = ""
    done: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class Failure:
    slug: str
    message: str


@dataclass(slots=True)
class BuildReport:
    built: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    skipped_no_math: list[str] = field(default_factory=list)
    published: int = 0
    course_published: int = 0
    audio_seconds: float = 0.0
    sections_synthesized: int = 0
    sections_reused: int = 0
    seconds: float = 0.0
    feed_path: Path | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def summary(self) -> str:
        return (f"{len(self.built)} built, {len(self.unchanged)} unchanged, "
                f"{len(self.failed)} failed; {self.published} lessons published, "
                f"{self.audio_seconds / 60:.1f} audio minutes, in {self.seconds:.1f} s")


def _ignore(event: BuildEvent) -> None:
    del event


# --- the pipeline ---------------------------------------------------------------------------


def build(settings: Settings, *, force: bool = False, only: Collection[str] = (),
          prune: bool = False, on_event: Callable[[BuildEvent], None] = _ignore,
          clock: Callable[[], datetime] = lambda: datetime.now(UTC),
          executor: Executor | None = None) -> BuildReport:
    """Regenerate what changed in `settings.workdir`; see BuildReport for what happened.

    Lessons are synthesized by `executor`, or by one made from `settings.executor` (and
    closed) when it is None; a library passes one executor to each of its shows.
    """
    from companion import executors

    if settings.executor == "local":
        synth.require_tools(settings.voice.engine)
    if settings.executor == "local" or shutil.which("espeak-ng"):
        synth.check_voice(settings.voice)  # Dask workers check their own tools
    settings.workdir.mkdir(parents=True, exist_ok=True)
    with (exclusive_lock(settings.workdir / LOCK_PATH, str(settings.workdir)),
          executors.using(executor, settings) as runner):
        return _build(settings, force=force, only=only, prune=prune, on_event=on_event,
                      clock=clock, executor=runner)


def _build(settings: Settings, *, force: bool, only: Collection[str], prune: bool,
           on_event: Callable[[BuildEvent], None], clock: Callable[[], datetime],
           executor: Executor) -> BuildReport:
    started = time.monotonic()
    report = BuildReport()
    workdir = settings.workdir

    show, episodes = read_source(settings, clock())
    catalog = load_catalog(settings.catalog)
    _check_overrides(settings, catalog)
    lexicon = catalog.lexicon

    words = fetch_words(episodes, max_bytes=settings.max_feed_bytes,
                        cache_dir=workdir / HTTP_CACHE_DIR) if settings.transcripts else {}
    links = {episode.guid: link_episode(episode, catalog, settings, words.get(episode.guid))
             for episode in episodes}
    for episode in episodes:
        on_event(BuildEvent("linked", episode.slug,
                            ", ".join(link.topic.id for link in links[episode.guid])))
    scripts = render_scripts(settings, show, episodes, links, catalog)
    report.skipped_no_math = [e.slug for e in episodes if not links[e.guid]]
    for script in scripts.values():
        write_if_changed(workdir / "scripts" / f"{script.slug}.txt", script.to_text())

    companion_title = feed_title(settings, show)
    cover = workdir / COVER_PATH
    write_if_changed(cover, artwork.cover_jpeg(companion_title, "Spoken math lessons"))

    selected = [e for e in episodes if e.guid in scripts and _wanted(e, only)]
    if only and not selected:
        raise ConfigError(f"--only {', '.join(only)}: no episode with math has that guid or "
                          "slug")
    artist = feed_author(settings, show)

    now = clock().replace(microsecond=0)

    def job_for(script: Script, lesson: Lesson, undated: datetime) -> LessonJob:
        return LessonJob(script=script, voice=settings.voice, lexicon=lexicon, workdir=workdir,
                         cache=settings.section_cache, cover=cover,
                         lesson=_dated(workdir, lesson, undated), album=companion_title,
                         artist=artist)

    jobs = [job_for(scripts[e.guid], _episode_lesson(e, scripts[e.guid], show), now)
            for e in selected]
    course_scripts: list[Script] = []
    if settings.course and not only:
        course_scripts = render_course(settings, catalog, companion_title)
        total = len(course_scripts)
        jobs += [job_for(script, _course_lesson(script, number),
                         now - timedelta(minutes=total - number))  # lesson 1 is the oldest
                 for number, script in enumerate(course_scripts, start=1)]
    for script in course_scripts:
        write_if_changed(workdir / "scripts" / f"{script.slug}.txt", script.to_text())
    pending = []
    for job in jobs:
        if not force and job.is_current():
            report.unchanged.append(job.script.slug)
            on_event(BuildEvent("unchanged", job.script.slug))
        else:
            pending.append(job)
    _run_jobs(pending, executor, report, on_event)

    if prune:
        keep = {e.slug for e in episodes if e.guid in scripts}
        keep |= {script.slug for script in course_scripts} if settings.course else set()
        _prune(workdir, keep)
    lessons = read_lessons(workdir)
    report.audio_seconds = sum(lesson.duration for lesson in lessons)
    _check_lengths(lessons, report.built, settings.lesson_minutes)
    feeds = write_feeds(settings, show, lessons, catalog)
    for feed, items in feeds:
        on_event(BuildEvent("feed", message=str(workdir / feed.feed_path), total=len(items)))
    site.write_site(workdir, lessons, catalog,
                    [(feed.feed_path, feed.title) for feed, _ in feeds])
    report.published = len(feeds[0][1])
    report.course_published = len(feeds[1][1]) if len(feeds) > 1 else 0
    report.feed_path = workdir / FEED_PATH
    report.seconds = time.monotonic() - started
    return report


def write_feeds(settings: Settings, show: Show, lessons: Sequence[Lesson], catalog: Catalog
                ) -> list[tuple[publish.FeedSettings, list[Lesson]]]:
    """Write the episode feed and the course feed; call it after every lesson is complete."""
    title = feed_title(settings, show)
    author = feed_author(settings, show)
    episode_lessons = [item for item in lessons if not item.slug.startswith(COURSE_PREFIX)]
    if settings.max_items:
        episode_lessons = episode_lessons[: settings.max_items]  # lessons are newest first
    course_lessons = sorted((item for item in lessons if item.slug.startswith(COURSE_PREFIX)),
                            key=lambda item: item.episode_number or 0)
    feeds = [(publish.FeedSettings(
        title=title,
        description=(f"Short spoken math lessons for the episodes of {show.title}: every "
                     "equation read aloud in words, with chapters, transcripts and show notes."),
        base_url=settings.base_url, feed_path=FEED_PATH, author=author,
        owner_email=settings.email, image_path=COVER_PATH), episode_lessons)]
    if settings.course:
        feeds.append((publish.FeedSettings(
            title=f"{title}: the Course",
            description=("The whole math course behind the lessons, one topic per lesson, in an "
                         "order where every topic comes after the ones it builds on."),
            base_url=settings.base_url, feed_path=COURSE_FEED_PATH, author=author,
            owner_email=settings.email, image_path=COVER_PATH, episode_type="serial"),
            course_lessons))
    notes = {lesson.slug: publish.show_notes_html(lesson, catalog) for lesson in lessons}
    for feed, items in feeds:
        write_if_changed(settings.workdir / feed.feed_path, publish.feed_xml(feed, items, notes))
    return feeds


def _check_lengths(lessons: Sequence[Lesson], built: Collection[str], minutes: float) -> None:
    """Warn about freshly built episode lessons well over the time budget."""
    for lesson in lessons:
        over = lesson.duration / 60 - minutes
        if lesson.slug in built and not lesson.slug.startswith(COURSE_PREFIX) and over > 0.5:
            log.warning("%s: the lesson is %.1f minutes, over the %g-minute budget "
                        "(its topics are already shortened to their idea and one equation)",
                        lesson.slug, lesson.duration / 60, minutes)


def read_source(settings: Settings, now: datetime) -> tuple[Show, tuple[Episode, ...]]:
    """The source feed, snapshotted to feeds/source.xml, newest `limit` episodes."""
    source = settings.source or str(sample_feed_path())
    data = ingest.read_feed(source, max_bytes=settings.max_feed_bytes,
                            cache_dir=settings.workdir / HTTP_CACHE_DIR)
    show, episodes = ingest.parse_feed(data, settings.source or "bundled sample feed",
                                       now=now,
                                       max_episodes=settings.max_episodes)
    write_if_changed(settings.workdir / SOURCE_SNAPSHOT, data)
    if settings.limit:
        newest = sorted(episodes, key=ingest.date_key, reverse=True)[: settings.limit]
        episodes = tuple(e for e in episodes if e in newest)
    return show, episodes


def link_episode(episode: Episode, catalog: Catalog, settings: Settings,
                 words: EpisodeWords | None = None) -> tuple[TopicLink, ...]:
    """The linker's topics, with the workdir's pins and exclusions applied."""
    links = link(episode, catalog, words)
    override = settings.episodes.get(episode.guid)
    if override is None:
        return links
    kept = [item for item in links if item.topic.id not in override.exclude]
    present = {item.topic.id for item in kept}
    for topic_id in override.pin:
        if topic_id not in present:
            kept.insert(0, TopicLink(catalog.get(topic_id), 1.0, ()))
    return tuple(kept[:MAX_TOPICS])


def render_scripts(settings: Settings, show: Show, episodes: Sequence[Episode],
                   links: dict[str, tuple[TopicLink, ...]],
                   catalog: Catalog) -> dict[str, Script]:
    """Every lesson script, oldest episode first, so prerequisites met earlier count."""
    env = render.environment(settings.templates_dir)
    render_settings = render.RenderSettings(
        companion_title=feed_title(settings, show), lesson_minutes=settings.lesson_minutes,
        quiz_pause=settings.quiz_pause, words_per_minute=settings.voice.rate)
    known: set[str] = set()
    scripts: dict[str, Script] = {}
    for episode in sorted(episodes, key=ingest.date_key):
        episode_links = links[episode.guid]
        if not episode_links:
            continue
        plans = render.plan_topics(episode_links, catalog, frozenset(known))
        scripts[episode.guid] = render.render_lesson(env, show, episode, plans, render_settings)
        known.update(plan.topic.id for plan in plans)
    return scripts


def feed_title(settings: Settings, show: Show) -> str:
    return settings.title or f"{show.title} Math Companion"


def feed_author(settings: Settings, show: Show) -> str:
    return settings.author or show.author or "Companion"


def _wanted(episode: Episode, only: Collection[str]) -> bool:
    return not only or episode.guid in only or episode.slug in only


def _check_overrides(settings: Settings, catalog: Catalog) -> None:
    for guid, override in settings.episodes.items():
        for key, ids in (("pin", override.pin), ("exclude", override.exclude)):
            for topic_id in ids:
                if topic_id not in catalog:
                    raise ConfigError(f"companion.toml: episodes.{guid!r}.{key}: unknown topic "
                                      f"{topic_id!r}")


def _episode_lesson(episode: Episode, script: Script, show: Show) -> Lesson:
    """What the feed will say about an episode's lesson, before its audio exists."""
    topics = ", ".join(section.title for section in script.sections if section.kind == "topic")
    return Lesson(
        slug=script.slug, guid=publish.lesson_guid(episode.guid), title=script.title,
        summary=f"The math behind {episode.title} from {show.title}: {topics}.",
        published=episode.published, source_title=episode.title, source_link=episode.link,
        source_guid=episode.guid, episode_number=episode.number, topic_ids=script.topic_ids,
        duration=0.0, size=0, chapters=(), key="")


def _course_lesson(script: Script, number: int) -> Lesson:
    topic_id = script.topic_ids[0]
    return Lesson(
        slug=script.slug, guid=publish.lesson_guid(f"course:{topic_id}"), title=script.title,
        summary=f"Lesson {number} of the math course: {script.title.split(': ', 1)[-1]}.",
        published=None, source_title="", source_link="", source_guid="",
        episode_number=number, topic_ids=script.topic_ids, duration=0.0, size=0, chapters=(),
        key="")


def _dated(workdir: Path, lesson: Lesson, undated: datetime) -> Lesson:
    """A lesson without a source date keeps the date it was first published with."""
    if lesson.published is not None:
        return lesson
    stamp = _read_stamp(workdir / "episodes" / lesson.slug / STAMP_NAME)
    old = stamp.get("lesson", {}).get("published") if stamp else None  # type: ignore[union-attr]
    return replace(lesson, published=publish.parse_timestamp(str(old)) if old else undated)


def render_course(settings: Settings, catalog: Catalog, companion_title: str) -> list[Script]:
    """One course script per catalog topic, prerequisites first."""
    env = render.environment(settings.templates_dir)
    render_settings = render.RenderSettings(
        companion_title=companion_title, lesson_minutes=settings.lesson_minutes,
        quiz_pause=settings.quiz_pause, words_per_minute=settings.voice.rate)
    topics = catalog.topics[: settings.course_topics or None]
    return [render.render_course_script(env, topic, number, len(topics), catalog,
                                        render_settings)
            for number, topic in enumerate(topics, start=1)]


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
    def folder(self) -> Path:
        return self.workdir / "episodes" / self.script.slug

    @property
    def key(self) -> str:
        sections = [synth.section_key(s, self.voice, self.lexicon) for s in self.script.sections]
        titles = [s.title for s in self.script.sections]
        return sha256_text(str(synth.SYNTH_FORMAT), str(STAMP_FORMAT), json.dumps(sections),
                           json.dumps(titles), self.lesson.title, self.album, self.artist,
                           self.cover.read_bytes().hex() if self.cover.is_file() else "")

    def is_current(self) -> bool:
        stamp = _read_stamp(self.folder / STAMP_NAME)
        return (stamp is not None and stamp.get("key") == self.key
                and (self.folder / "lesson.mp3").is_file()
                and stamp.get("lesson", {}).get("title") == self.lesson.title)


@dataclass(frozen=True, slots=True)
class JobResult:
    slug: str
    duration: float = 0.0
    synthesized: int = 0
    reused: int = 0
    error: str = ""


def run_lesson_job(job: LessonJob) -> JobResult:
    """Synthesize (or reuse) each section, assemble the MP3, write transcript, chapters, stamp."""
    try:
        speaker = synth.make_speaker(job.voice)
        cache = job.cache
        audios = []
        synthesized = 0
        for section in job.script.sections:
            audio, made = synth.synthesize_section(section, job.voice, job.lexicon, cache,
                                                   speaker)
            audios.append(audio)
            synthesized += made
        tags = synth.LessonTags(title=job.lesson.title, artist=job.artist, album=job.album,
                                comment=job.lesson.summary)
        result = synth.assemble_lesson(job.script.sections, audios, tags, job.cover,
                                       job.folder / "lesson.mp3")
        atomic_write(job.folder / "transcript.vtt", publish.webvtt(result.cues))
        write_json(job.folder / "chapters.json",
                   publish.chapters_json(result.chapters, job.lesson.title))
        lesson = _with_audio(job.lesson, result, job.key)
        write_json(job.folder / STAMP_NAME, _stamp(lesson))
        return JobResult(job.script.slug, result.duration, synthesized,
                         len(audios) - synthesized)
    except CompanionError as error:
        return JobResult(job.script.slug, error=str(error))


def _with_audio(lesson: Lesson, audio: synth.LessonAudio, key: str) -> Lesson:
    return replace(lesson, duration=round(audio.duration, 3), size=audio.size,
                   chapters=audio.chapters, key=key)


def _run_jobs(jobs: Sequence[LessonJob], executor: Executor, report: BuildReport,
              on_event: Callable[[BuildEvent], None]) -> None:
    total = len(jobs)
    for index, job in enumerate(jobs):
        on_event(BuildEvent("started", job.script.slug, done=index, total=total))
    if not jobs:
        return
    _collect(executor.run(jobs), report, on_event, total)


def _collect(results: Iterable[JobResult], report: BuildReport,
             on_event: Callable[[BuildEvent], None], total: int) -> None:
    for done, result in enumerate(results, start=1):
        report.sections_synthesized += result.synthesized
        report.sections_reused += result.reused
        if result.error:
            report.failed.append(Failure(result.slug, result.error))
            on_event(BuildEvent("failed", result.slug, result.error, done, total))
        else:
            report.built.append(result.slug)
            on_event(BuildEvent("built", result.slug, f"{result.duration / 60:.1f} min",
                                done, total))


# --- stamps ---------------------------------------------------------------------------------


def _stamp(lesson: Lesson) -> dict[str, object]:
    record = asdict(lesson)
    record["published"] = lesson.published.isoformat() if lesson.published else None
    return {"format": STAMP_FORMAT, "key": lesson.key, "lesson": record}


def _read_stamp(path: Path) -> dict[str, object] | None:
    try:
        value = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) and value.get("format") == STAMP_FORMAT else None


def read_lessons(workdir: Path) -> list[Lesson]:
    """Every finished lesson in the workdir (stamp and MP3 present), newest first."""
    lessons = []
    for stamp_path in sorted((workdir / "episodes").glob(f"*/{STAMP_NAME}")):
        stamp = _read_stamp(stamp_path)
        mp3 = stamp_path.parent / "lesson.mp3"
        if stamp is None or not mp3.is_file():
            continue
        record = dict(stamp["lesson"])  # type: ignore[call-overload]
        if mp3.stat().st_size != record["size"] or record.get("slug") != stamp_path.parent.name:
            log.warning("%s: does not match its stamp; left out of the feed", mp3)
            continue
        record["published"] = publish.parse_timestamp(record["published"])
        record["topic_ids"] = tuple(record["topic_ids"])
        record["chapters"] = tuple(Chapter(**c) for c in record["chapters"])
        lessons.append(Lesson(**record))
    lessons.sort(key=lambda lesson: (lesson.published or datetime.min.replace(tzinfo=UTC),
                                     lesson.slug), reverse=True)
    return lessons


def _prune(workdir: Path, keep: set[str]) -> None:
    for folder in sorted((workdir / "episodes").glob("*")):
        if folder.is_dir() and folder.name not in keep and not folder.name.startswith("course-"):
            shutil.rmtree(folder)
            (workdir / "scripts" / f"{folder.name}.txt").unlink(missing_ok=True)
