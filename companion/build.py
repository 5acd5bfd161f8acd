"""The pipeline: feed -> episodes -> topic links -> scripts -> lessons -> published feed.

`build()` is the one place where the stages meet; read top to bottom, it is the pipeline.
The stages themselves live in their modules: ingest, topics (linking), render, lessons
(synthesis of one lesson, run by an executor), publish and site.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jinja2

from companion import (
    artwork,
    engines,
    executors,
    ingest,
    layout,
    publish,
    render,
    review,
    site,
    synth,
)
from companion.config import Settings, sample_feed_path
from companion.episode_words import fetch_words
from companion.errors import ConfigError
from companion.events import (
    BuildReport,
    EventHandler,
    FeedWritten,
    Linked,
    Unchanged,
    ignore,
)
from companion.files import exclusive_lock, write_if_changed
from companion.lessons import (
    LessonJob,
    course_lesson,
    dated,
    episode_lesson,
    prune_lessons,
    read_lessons,
    remove_unreferenced,
    review_lesson,
    warn_over_budget,
)
from companion.models import Catalog, Episode, Lesson, Script, Show
from companion.topics import course_seasons, link_episode, load_catalog

log = logging.getLogger(__name__)


def build(
    settings: Settings,
    *,
    force: bool = False,
    only: Collection[str] = (),
    prune: bool = False,
    on_event: EventHandler = ignore,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    executor: executors.Executor | None = None,
) -> BuildReport:
    """Regenerate what changed in `settings.workdir`; see BuildReport for what happened.

    Lessons are synthesized by `executor`, or by one made from `settings.executor` (and
    closed) when it is None; a library passes one executor to each of its shows. When the
    default engine is not installed, the build says so in one line and speaks with espeak-ng.
    """
    voice, note = engines.resolve(settings.voice)
    if note:
        log.warning("%s", note)
    settings = replace(settings, voice=voice)
    if settings.executor == "local":
        synth.require_tools(settings.voice.engine)
    if settings.executor == "local" or shutil.which("espeak-ng"):
        synth.check_voice(settings.voice)  # Dask workers check their own tools
    settings.workdir.mkdir(parents=True, exist_ok=True)
    with (
        exclusive_lock(settings.workdir / layout.BUILD_LOCK, str(settings.workdir)),
        executors.using(executor, settings) as runner,
    ):
        return _build(
            settings,
            force=force,
            only=only,
            prune=prune,
            on_event=on_event,
            clock=clock,
            executor=runner,
        )


def _build(
    settings: Settings,
    *,
    force: bool,
    only: Collection[str],
    prune: bool,
    on_event: EventHandler,
    clock: Callable[[], datetime],
    executor: executors.Executor,
) -> BuildReport:
    started = time.monotonic()
    report = BuildReport()
    workdir = settings.workdir

    show, episodes = read_source(settings, clock())
    catalog = load_catalog(settings.catalog)
    _check_overrides(settings, catalog)

    words = (
        fetch_words(
            episodes, max_bytes=settings.max_feed_bytes, cache_dir=workdir / layout.HTTP_CACHE
        )
        if settings.transcripts
        else {}
    )
    links = {
        episode.guid: link_episode(
            episode, catalog, settings.episodes.get(episode.guid), words.get(episode.guid)
        )
        for episode in episodes
    }
    for episode in episodes:
        on_event(Linked(episode.slug, tuple(item.topic.id for item in links[episode.guid])))
    title = publish.feed_title(settings, show)
    env, wording = render.environment(settings.templates_dir), render_settings(settings, show)
    scripts = render.render_episodes(env, show, episodes, links, catalog, wording)
    report.skipped_no_math = [e.slug for e in episodes if not links[e.guid]]

    cover = workdir / layout.COVER_PATH
    write_if_changed(cover, artwork.cover_jpeg(title, "Spoken math lessons"))

    selected = [e for e in episodes if e.guid in scripts and _wanted(e, only)]
    if only and not selected:
        raise ConfigError(f"--only {', '.join(only)}: no episode with math has that guid or slug")
    artist = publish.feed_author(settings, show)
    now = clock().replace(microsecond=0)

    def job_for(script: Script, lesson: Lesson, undated: datetime) -> LessonJob:
        return LessonJob(
            script=script,
            voice=settings.voice,
            lexicon=catalog.lexicon,
            workdir=workdir,
            cache=settings.section_cache,
            cover=cover,
            lesson=dated(workdir, lesson, undated),
            album=title,
            artist=artist,
        )

    jobs = [
        job_for(scripts[e.guid], episode_lesson(e, scripts[e.guid], show), now) for e in selected
    ]
    course_scripts: list[Script] = []
    if settings.course and not only:
        topics = catalog.topics[: settings.course_topics or None]
        course_scripts = render.render_course(env, topics, catalog, wording)
        total = len(course_scripts)
        seasons = course_seasons(topics)
        jobs += [
            job_for(
                script,
                course_lesson(script, number, seasons[script.topic_ids[0]]),
                now - timedelta(minutes=total - number),
            )  # lesson 1 is the oldest
            for number, script in enumerate(course_scripts, start=1)
        ]
    review_scripts: list[Script] = []
    if settings.review and not only:
        for plan, script in render_reviews(env, episodes, scripts, catalog, wording, now):
            review_scripts.append(script)
            jobs.append(job_for(script, review_lesson(plan, script), now))
    every_script = [*scripts.values(), *course_scripts, *review_scripts]
    check_one_writer_per_path(every_script)
    for script in every_script:
        write_if_changed(workdir / layout.script_path(script.slug), script.to_text())
    pending = []
    for job in jobs:
        if not force and job.is_current():
            report.unchanged.append(job.slug)
            on_event(Unchanged(job.slug))
        else:
            pending.append(job)
    executors.run_jobs(pending, executor, report, on_event)

    if prune:
        keep = {e.slug for e in episodes if e.guid in scripts}
        keep |= {script.slug for script in course_scripts} if settings.course else set()
        keep |= {script.slug for script in review_scripts}
        prune_lessons(workdir, keep)
    lessons = read_lessons(workdir)
    report.audio_seconds = sum(lesson.duration for lesson in lessons)
    warn_over_budget(lessons, report.built, settings.lesson_minutes)
    feeds = publish.plan_feeds(settings, show, lessons)
    notes = {lesson.slug: publish.show_notes_html(lesson, catalog) for lesson in lessons}
    publish.write_feeds(workdir, feeds, notes)
    for feed in feeds:
        on_event(FeedWritten(workdir / feed.settings.feed_path, len(feed.lessons)))
    site.write_site(
        workdir,
        lessons,
        notes,
        [site.FeedLink(feed.settings.feed_path, feed.settings.title) for feed in feeds],
    )
    remove_unreferenced(workdir, lessons)  # only now: the feeds name the new files
    report.published = len(feeds[0].lessons)
    report.course_published = len(feeds[1].lessons) if len(feeds) > 1 else 0
    report.feed_path = workdir / layout.FEED_PATH
    report.seconds = time.monotonic() - started
    return report


def read_source(settings: Settings, now: datetime) -> tuple[Show, tuple[Episode, ...]]:
    """The source feed, snapshotted to feeds/source.xml, newest `limit` episodes."""
    source = settings.source or str(sample_feed_path())
    data = ingest.read_feed(
        source, max_bytes=settings.max_feed_bytes, cache_dir=settings.workdir / layout.HTTP_CACHE
    )
    show, episodes = ingest.parse_feed(
        data, settings.source or "bundled sample feed", now=now, max_episodes=settings.max_episodes
    )
    write_if_changed(settings.workdir / layout.SOURCE_SNAPSHOT, data)
    if settings.limit:
        newest = sorted(episodes, key=ingest.date_key, reverse=True)[: settings.limit]
        episodes = tuple(e for e in episodes if e in newest)
    return show, episodes


def render_reviews(
    env: jinja2.Environment,
    episodes: Sequence[Episode],
    scripts: Mapping[str, Script],
    catalog: Catalog,
    wording: render.RenderSettings,
    now: datetime,
) -> list[tuple[review.ReviewPlan, Script]]:
    """The spaced review episodes of the episode lessons, in publishing order."""
    records = [
        review.LessonRecord(
            scripts[e.guid].slug, e.guid, e.title, e.published, scripts[e.guid].topic_ids
        )
        for e in sorted(episodes, key=ingest.date_key)
        if e.guid in scripts
    ]
    return [
        (plan, render.render_review_script(env, plan, wording))
        for plan in review.plan_reviews(records, catalog, now=now)
    ]


def check_one_writer_per_path(scripts: Sequence[Script]) -> None:
    """Stop before anything is written when two lessons would write the same path.

    A lesson writes its script and its folder (layout.script_path, layout.lesson_path), both
    named by its slug; the error names both lessons and the path.
    """
    owner: dict[str, Script] = {}
    for script in scripts:
        for path in (layout.lesson_path(script.slug), layout.script_path(script.slug)):
            first = owner.setdefault(path, script)
            if first is not script:
                raise ConfigError(
                    f"{path}: two lessons would write it, {first.title!r} and "
                    f"{script.title!r}; nothing was built"
                )


def render_settings(settings: Settings, show: Show) -> render.RenderSettings:
    return render.RenderSettings(
        companion_title=publish.feed_title(settings, show),
        lesson_minutes=settings.lesson_minutes,
        quiz_pause=settings.quiz_pause,
        words_per_minute=settings.voice.rate,
        equation_rate=settings.equation_rate,
        sentence_gap=settings.voice.sentence_gap,
        section_gap=settings.voice.section_gap,
    )


def _wanted(episode: Episode, only: Collection[str]) -> bool:
    return not only or episode.guid in only or episode.slug in only


def _check_overrides(settings: Settings, catalog: Catalog) -> None:
    for guid, override in settings.episodes.items():
        for key, ids in (("pin", override.pin), ("exclude", override.exclude)):
            for topic_id in ids:
                if topic_id not in catalog:
                    raise ConfigError(
                        f"companion.toml: episodes.{guid!r}.{key}: unknown topic {topic_id!r}"
                    )
