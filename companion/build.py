"""The pipeline: feed -> episodes -> topic links -> scripts -> lessons -> published feed.

`build()` is the one place where the stages meet; read top to bottom, it is the pipeline.
The stages themselves live in their modules: ingest, topics (linking), render, lessons
(synthesis of one lesson, run by an executor), publish and site.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jinja2

from companion import (
    artwork,
    executors,
    ingest,
    layout,
    publish,
    render,
    review,
    site,
    synth,
    voices,
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
from companion.facets import facets_for
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
from companion.linking import Linker
from companion.models import Catalog, Episode, Lesson, Script, Show, TopicLink
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
    scripts_only: bool = False,
) -> BuildReport:
    """Regenerate what changed in `settings.workdir`; see BuildReport for what happened.

    Lessons are synthesized by `executor`, or by one made from `settings.executor` (and
    closed) when it is None; a library passes one executor to each of its shows. When the
    default engine is not installed, the build says so in one line and speaks with espeak-ng.
    With `scripts_only`, every lesson's script is written in both layers (scripts/ for
    people, spoken/ as the engine is given it) and nothing is synthesized or published.
    """
    voice, note = voices.prepare(
        settings.voice, where="here" if settings.executor == "local" else "client"
    )
    if note:
        log.warning("%s", note)
    settings = replace(settings, voice=voice)
    if scripts_only:
        settings.workdir.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(settings.workdir / layout.BUILD_LOCK, str(settings.workdir)):
            return write_scripts(settings, on_event=on_event, clock=clock)
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
    """The pipeline's steps in order: link, render, synthesize, publish."""
    started = time.monotonic()
    report = BuildReport()
    workdir = settings.workdir

    rendered = render_all(settings, on_event=on_event, now=clock())
    show, episodes, catalog = rendered.show, rendered.episodes, rendered.catalog
    scripts = rendered.scripts
    report.skipped_no_math = rendered.skipped_no_math
    check_one_writer_per_path(rendered.every_script())
    for script in rendered.every_script() if not only else scripts.values():
        write_if_changed(workdir / layout.script_path(script.slug), script.to_text())
    title = publish.feed_title(settings, show)
    cover = workdir / layout.COVER_PATH
    write_if_changed(cover, artwork.cover_jpeg(title, "Spoken math lessons"))

    selected = [e for e in episodes if e.guid in scripts and _wanted(e, only)]
    if only and not selected:
        raise ConfigError(f"--only {', '.join(only)}: no episode with math has that guid or slug")
    plan = LessonPlan(settings, catalog, cover, title, publish.feed_author(settings, show))
    now = clock().replace(microsecond=0)
    jobs = [
        plan.job(scripts[e.guid], episode_lesson(e, scripts[e.guid], show), now) for e in selected
    ]
    if not only:
        jobs += course_jobs(rendered.course, plan, now)
        jobs += [
            plan.job(script, review_lesson(review_plan, script), now)
            for review_plan, script in rendered.reviews
        ]
    run_changed(jobs, force=force, executor=executor, report=report, on_event=on_event)

    if prune:
        keep = {e.slug for e in episodes if e.guid in scripts}
        keep |= {script.slug for script in rendered.course}
        keep |= {script.slug for _, script in rendered.reviews}
        prune_lessons(workdir, keep)
    publish_lessons(settings, show, catalog, report, on_event)
    report.seconds = time.monotonic() - started
    return report


def link_episodes(
    settings: Settings, episodes: Sequence[Episode], catalog: Catalog, on_event: EventHandler
) -> dict[str, tuple[TopicLink, ...]]:
    """Each episode's topic links (on its transcript and chapters too, when fetched)."""
    words = (
        fetch_words(
            episodes,
            max_bytes=settings.max_feed_bytes,
            cache_dir=settings.workdir / layout.HTTP_CACHE,
        )
        if settings.transcripts
        else {}
    )
    linker = Linker.of(catalog)
    links = {
        episode.guid: link_episode(
            episode, linker, settings.episodes.get(episode.guid), words.get(episode.guid)
        )
        for episode in episodes
    }
    for episode in episodes:
        on_event(Linked(episode.slug, tuple(item.topic.id for item in links[episode.guid])))
    return links


@dataclass(frozen=True, slots=True)
class LessonPlan:
    """What every lesson job of a build shares: voice, lexicon, cover, album and artist."""

    settings: Settings
    catalog: Catalog
    cover: Path
    album: str
    artist: str

    def job(self, script: Script, lesson: Lesson, undated: datetime) -> LessonJob:
        workdir = self.settings.workdir
        return LessonJob(
            script=script,
            voice=self.settings.voice,
            lexicon=self.catalog.lexicon,
            workdir=workdir,
            cache=self.settings.section_cache,
            cover=self.cover,
            lesson=dated(workdir, lesson, undated),
            album=self.album,
            artist=self.artist,
        )


def course_jobs(course: Sequence[Script], plan: LessonPlan, now: datetime) -> list[LessonJob]:
    """The course lessons' jobs, dated so that lesson 1 is the oldest."""
    total = len(course)
    seasons = course_seasons(plan.catalog.topics[:total])
    return [
        plan.job(
            script,
            course_lesson(script, number, seasons[script.topic_ids[0]]),
            now - timedelta(minutes=total - number),
        )
        for number, script in enumerate(course, start=1)
    ]


def run_changed(
    jobs: Sequence[LessonJob],
    *,
    force: bool,
    executor: executors.Executor,
    report: BuildReport,
    on_event: EventHandler,
) -> None:
    """Run the jobs whose lesson changed (all with `force`); the others are unchanged."""
    pending = []
    for job in jobs:
        if not force and job.is_current():
            report.unchanged.append(job.slug)
            on_event(Unchanged(job.slug))
        else:
            pending.append(job)
    executors.run_jobs(pending, executor, report, on_event)


def publish_lessons(
    settings: Settings, show: Show, catalog: Catalog, report: BuildReport, on_event: EventHandler
) -> None:
    """The feeds and the site from every finished lesson; then unreferenced files go."""
    workdir = settings.workdir
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


@dataclass(frozen=True, slots=True)
class Rendered:
    """Every script of a build, before any audio."""

    show: Show
    episodes: tuple[Episode, ...]
    catalog: Catalog
    scripts: dict[str, Script]  # episode guid -> its lesson
    course: list[Script]
    reviews: list[tuple[review.ReviewPlan, Script]]
    skipped_no_math: list[str]

    def every_script(self) -> list[Script]:
        return [*self.scripts.values(), *self.course, *(script for _, script in self.reviews)]


def render_all(settings: Settings, *, on_event: EventHandler, now: datetime) -> Rendered:
    """Read the source, link every episode and render every lesson's script."""
    show, episodes = read_source(settings, now)
    catalog = load_catalog(settings.catalog)
    _check_overrides(settings, catalog)
    links = link_episodes(settings, episodes, catalog, on_event)
    env, wording = render.environment(settings.templates_dir), render_settings(settings, show)
    facets = facets_for(catalog)
    scripts = render.render_episodes(env, show, episodes, links, catalog, wording, facets)
    course: list[Script] = []
    if settings.course:
        topics = catalog.topics[: settings.course_topics or None]
        course = render.render_course(env, topics, catalog, wording, facets)
    reviews = (
        render_reviews(env, episodes, scripts, catalog, wording, now.replace(microsecond=0))
        if settings.review
        else []
    )
    return Rendered(
        show,
        episodes,
        catalog,
        scripts,
        course,
        reviews,
        [e.slug for e in episodes if not links[e.guid]],
    )


def write_scripts(
    settings: Settings,
    *,
    on_event: EventHandler = ignore,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BuildReport:
    """Every lesson's script in both layers, without synthesizing: `scripts/<slug>.txt` as
    people read it and `spoken/<slug>.txt` as the speech engine is given it (one sentence a
    line, the lexicon's pronunciations applied), so an author can read and edit the words
    before spending minutes on audio."""
    started = time.monotonic()
    report = BuildReport()
    rendered = render_all(settings, on_event=on_event, now=clock())
    workdir = settings.workdir
    for script in rendered.every_script():
        write_if_changed(workdir / layout.script_path(script.slug), script.to_text())
        write_if_changed(
            workdir / layout.spoken_script_path(script.slug),
            spoken_text(script, rendered.catalog, settings.voice.engine),
        )
        report.scripts.append(script.slug)
    report.skipped_no_math = rendered.skipped_no_math
    report.seconds = time.monotonic() - started
    return report


def spoken_text(script: Script, catalog: Catalog, engine: voices.Engine) -> str:
    """The script as the engine is given it: one sentence a line, chapters apart."""
    return (
        "\n\n".join(
            "\n".join(
                spoken
                for paragraph in section.paragraphs
                for _, spoken in synth.spoken_sentences(paragraph, catalog.lexicon, engine)
            )
            for section in script.sections
        )
        + "\n"
    )


def read_source(settings: Settings, now: datetime) -> tuple[Show, tuple[Episode, ...]]:
    """The source feed, snapshotted to feeds/source.xml, newest `max_episodes` episodes."""
    source = settings.source or str(sample_feed_path())
    data = ingest.read_feed(
        source, max_bytes=settings.max_feed_bytes, cache_dir=settings.workdir / layout.HTTP_CACHE
    )
    show, episodes = ingest.parse_feed(
        data, settings.source or "bundled sample feed", now=now, max_episodes=settings.max_episodes
    )
    write_if_changed(settings.workdir / layout.SOURCE_SNAPSHOT, data)
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
            scripts[e.guid].slug,
            e.guid,
            e.title,
            e.published,
            scripts[e.guid].topic_ids,
            scripts[e.guid].asked,
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
        review_pause=settings.review_pause,
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
