"""The pipeline: feed -> episodes -> topic links -> scripts -> lessons -> published feed.

`build()` is the one place where the stages meet; read top to bottom, it is the pipeline.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from companion import artwork, ingest, publish, render, synth
from companion.config import Settings, sample_feed_path
from companion.errors import CompanionError, ConfigError
from companion.files import atomic_write, sha256_text, write_if_changed, write_json
from companion.models import (
    Catalog,
    Chapter,
    Episode,
    Lesson,
    Pronunciation,
    Script,
    Show,
    TopicLink,
    Voice,
)
from companion.topics import link, load_catalog

log = logging.getLogger(__name__)

STAMP_NAME = "build.json"
STAMP_FORMAT = 1
FEED_PATH = "feeds/companion.xml"
COVER_PATH = "feeds/cover.jpg"
SOURCE_SNAPSHOT = "feeds/source.xml"
CACHE_DIR = ".cache/sections"


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
    audio_seconds: float = 0.0
    sections_synthesized: int = 0
    sections_reused: int = 0
    seconds: float = 0.0
    feed_path: Path | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def summary(self) -> str:
        minutes = self.audio_seconds / 60
        text = (f"{len(self.built)} built, {len(self.unchanged)} unchanged, "
                f"{len(self.failed)} failed; {self.published} lessons published, "
                f"{minutes:.1f} audio minutes, in {self.seconds:.1f} s")
        return text


def _ignore(event: BuildEvent) -> None:
    del event


# --- the pipeline ---------------------------------------------------------------------------


def build(settings: Settings, *, force: bool = False, only: Collection[str] = (),
          prune: bool = False, on_event: Callable[[BuildEvent], None] = _ignore,
          clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> BuildReport:
    """Regenerate what changed in `settings.workdir`; see BuildReport for what happened."""
    started = time.monotonic()
    report = BuildReport()
    workdir = settings.workdir
    synth.require_tools(settings.voice.engine)
    synth.check_voice(settings.voice)
    workdir.mkdir(parents=True, exist_ok=True)

    show, episodes = read_source(settings)
    catalog = load_catalog(settings.catalog)
    _check_overrides(settings, catalog)
    lexicon = catalog.lexicon

    links = {episode.guid: link_episode(episode, catalog, settings) for episode in episodes}
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
    jobs = []
    for episode in selected:
        script = scripts[episode.guid]
        job = LessonJob(script=script, voice=settings.voice, lexicon=lexicon,
                        workdir=workdir, cover=cover,
                        lesson=_lesson_record(episode, script, show, companion_title, clock),
                        album=companion_title, artist=feed_author(settings, show))
        if not force and job.is_current():
            report.unchanged.append(episode.slug)
            on_event(BuildEvent("unchanged", episode.slug))
        else:
            jobs.append(job)
    _run_jobs(jobs, settings.jobs, report, on_event)

    if prune:
        _prune(workdir, {e.slug for e in episodes if e.guid in scripts})
    lessons = read_lessons(workdir)
    report.audio_seconds = sum(lesson.duration for lesson in lessons)
    notes = {lesson.slug: publish.show_notes_html(lesson, catalog) for lesson in lessons}
    feed = publish.FeedSettings(
        title=companion_title,
        description=(f"Short spoken math lessons for the episodes of {show.title}: every "
                     "equation read aloud in words, with chapters, transcripts and show notes."),
        base_url=settings.base_url, feed_path=FEED_PATH, author=feed_author(settings, show),
        owner_email=settings.email, language=_language(show), image_path=COVER_PATH)
    feed_file = workdir / FEED_PATH
    write_if_changed(feed_file, publish.feed_xml(feed, lessons, notes))  # last: all files exist
    report.published = len(lessons)
    report.feed_path = feed_file
    on_event(BuildEvent("feed", message=str(feed_file), total=len(lessons)))
    report.seconds = time.monotonic() - started
    return report


def read_source(settings: Settings) -> tuple[Show, tuple[Episode, ...]]:
    """The source feed, snapshotted to feeds/source.xml, newest `limit` episodes."""
    source = settings.source or str(sample_feed_path())
    data = ingest.read_feed(source, max_bytes=settings.max_feed_bytes)
    show, episodes = ingest.parse_feed(data, settings.source or "bundled sample feed")
    write_if_changed(settings.workdir / SOURCE_SNAPSHOT, data)
    if settings.limit:
        newest = sorted(episodes, key=_date_key, reverse=True)[: settings.limit]
        episodes = tuple(e for e in episodes if e in newest)
    return show, episodes


def link_episode(episode: Episode, catalog: Catalog, settings: Settings) -> tuple[TopicLink, ...]:
    """The linker's topics, with the workdir's pins and exclusions applied."""
    links = link(episode, catalog)
    override = settings.episodes.get(episode.guid)
    if override is None:
        return links
    kept = [item for item in links if item.topic.id not in override.exclude]
    present = {item.topic.id for item in kept}
    for topic_id in override.pin:
        if topic_id not in present:
            kept.insert(0, TopicLink(catalog.get(topic_id), 1.0, ()))
    return tuple(kept[:5])


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
    for episode in sorted(episodes, key=_date_key):
        episode_links = links[episode.guid]
        if not episode_links:
            continue
        plans = render.plan_topics(episode_links, catalog, frozenset(known), render_settings)
        scripts[episode.guid] = render.render_script(env, show, episode, plans, render_settings)
        known.update(plan.topic.id for plan in plans)
    return scripts


def feed_title(settings: Settings, show: Show) -> str:
    return settings.title or f"{show.title} Math Companion"


def feed_author(settings: Settings, show: Show) -> str:
    return settings.author or show.author or "Companion"


def _language(show: Show) -> str:
    return "en"


def _date_key(episode: Episode) -> tuple[float, str]:
    return (episode.published.timestamp() if episode.published else 0.0, episode.guid)


def _wanted(episode: Episode, only: Collection[str]) -> bool:
    return not only or episode.guid in only or episode.slug in only


def _check_overrides(settings: Settings, catalog: Catalog) -> None:
    for guid, override in settings.episodes.items():
        for key, ids in (("pin", override.pin), ("exclude", override.exclude)):
            for topic_id in ids:
                if topic_id not in catalog:
                    raise ConfigError(f"companion.toml: episodes.{guid!r}.{key}: unknown topic "
                                      f"{topic_id!r}")


def _lesson_record(episode: Episode, script: Script, show: Show, companion_title: str,
                   clock: Callable[[], datetime]) -> Lesson:
    """What the feed will say about a lesson, before its audio exists."""
    topics = ", ".join(section.title for section in script.sections if section.kind == "topic")
    return Lesson(
        slug=script.slug, guid=publish.lesson_guid(episode.guid), title=script.title,
        summary=f"The math behind {episode.title} from {show.title}: {topics}.",
        published=episode.published or clock().replace(microsecond=0),
        source_title=episode.title, source_link=episode.link, source_guid=episode.guid,
        episode_number=episode.number, topic_ids=script.topic_ids, duration=0.0, size=0,
        chapters=(), key="")


# --- lesson jobs (run in worker processes) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class LessonJob:
    script: Script
    voice: Voice
    lexicon: tuple[Pronunciation, ...]
    workdir: Path
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
        cache = job.workdir / CACHE_DIR
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
        write_json(job.folder / STAMP_NAME, _stamp(lesson, _first_built(job, lesson)))
        return JobResult(job.script.slug, result.duration, synthesized,
                         len(audios) - synthesized)
    except CompanionError as error:
        return JobResult(job.script.slug, error=str(error))


def _with_audio(lesson: Lesson, audio: synth.LessonAudio, key: str) -> Lesson:
    return Lesson(**{**{f: getattr(lesson, f) for f in Lesson.__dataclass_fields__},
                     "duration": round(audio.duration, 3), "size": audio.size,
                     "chapters": audio.chapters, "key": key})


def _first_built(job: LessonJob, lesson: Lesson) -> str:
    old = _read_stamp(job.folder / STAMP_NAME)
    if old and old.get("first_built"):
        return str(old["first_built"])
    return lesson.published.isoformat() if lesson.published else ""


def _run_jobs(jobs: Sequence[LessonJob], workers: int, report: BuildReport,
              on_event: Callable[[BuildEvent], None]) -> None:
    total = len(jobs)
    for index, job in enumerate(jobs):
        on_event(BuildEvent("started", job.script.slug, done=index, total=total))
    if not jobs:
        return
    if workers <= 1 or total == 1:
        results = (run_lesson_job(job) for job in jobs)
        _collect(results, report, on_event, total)
        return
    with ProcessPoolExecutor(max_workers=min(workers, total)) as pool:
        _collect(pool.map(run_lesson_job, jobs), report, on_event, total)


def _collect(results: object, report: BuildReport, on_event: Callable[[BuildEvent], None],
             total: int) -> None:
    for done, result in enumerate(results, start=1):  # type: ignore[call-overload]
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


def _stamp(lesson: Lesson, first_built: str) -> dict[str, object]:
    record = asdict(lesson)
    record["published"] = lesson.published.isoformat() if lesson.published else None
    return {"format": STAMP_FORMAT, "key": lesson.key, "first_built": first_built,
            "lesson": record}


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
