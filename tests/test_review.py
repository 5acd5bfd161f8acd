"""Spaced review: the schedule (pure) and the review episode's script."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from companion import render, review
from companion.models import Catalog
from companion.review import LessonRecord, plan_reviews
from companion.topics import load_catalog

CATALOG = load_catalog()
TOPIC_IDS = [t.id for t in CATALOG.topics]
START = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


def lessons(count: int, per_lesson: int = 2) -> list[LessonRecord]:
    """``count`` weekly lessons, each on ``per_lesson`` topics, cycling through the catalog;
    each asks its topics' first question."""
    records = []
    for n in range(1, count + 1):
        topic_ids = tuple(
            TOPIC_IDS[(n * per_lesson + k) % len(TOPIC_IDS)] for k in range(per_lesson)
        )
        records.append(
            LessonRecord(
                slug=f"ep-{n}",
                source_guid=f"g-{n}",
                title=f"Episode {n}",
                published=START + timedelta(weeks=n),
                topic_ids=topic_ids,
                asked=tuple((topic_id, 0) for topic_id in topic_ids),
            )
        )
    return records


def test_a_review_after_every_fifth_lesson() -> None:
    plans = plan_reviews(lessons(12), CATALOG)
    assert [(p.number, p.after.slug, p.slug) for p in plans] == [
        (1, "ep-5", "review-001"),
        (2, "ep-10", "review-002"),
    ]
    assert plan_reviews(lessons(4), CATALOG) == ()


def test_questions_come_from_expanding_distances() -> None:
    history = lessons(25)
    plans = plan_reviews(history, CATALOG)
    for plan in plans:
        assert review.MIN_QUESTIONS <= len(plan.questions) <= review.MAX_QUESTIONS
        assert len({q.topic.id for q in plan.questions}) == len(plan.questions)
        for question in plan.questions:  # the topic was taught that many lessons back
            taught = history[plan.last_lesson - question.lessons_back]
            assert question.topic.id in taught.topic_ids
            assert question.lesson_title == taught.title
    last = plans[-1]
    # chosen at 1, 3, 8, 20, 2, 5 lessons back, asked nearest first: the distance grows
    assert [q.lessons_back for q in last.questions] == [1, 2, 3, 5, 8, 20]
    assert (last.first_lesson, last.last_lesson) == (6, 25)
    assert [q.lessons_back for q in plans[0].questions] == [1, 2, 3, 5]


def test_never_the_same_question_twice_in_a_row_for_a_topic() -> None:
    history = lessons(60, per_lesson=1)  # few topics, so they come back often
    plans = {p.after.slug: p for p in plan_reviews(history, CATALOG)}
    heard: dict[str, list[str]] = {}
    for lesson in history:
        for topic_id in lesson.topic_ids:  # the lesson asks the first question
            heard.setdefault(topic_id, []).append(CATALOG.get(topic_id).quizzes[0].question)
        if lesson.slug in plans:
            for question in plans[lesson.slug].questions:
                heard.setdefault(question.topic.id, []).append(question.quiz.question)
    repeats = {t: qs for t, qs in heard.items() if any(a == b for a, b in pairwise(qs))}
    assert not repeats
    assert any(len(qs) >= 4 for qs in heard.values())


def test_a_review_asks_the_question_after_the_one_a_lesson_asked() -> None:
    history = lessons(5)
    topic_id = history[-1].topic_ids[0]
    history[-1] = replace(history[-1], asked=((topic_id, 1),))
    [plan] = plan_reviews(history, CATALOG)
    question = next(q for q in plan.questions if q.topic.id == topic_id)
    assert question.quiz_number == 2


def test_the_schedule_is_deterministic_and_stable_as_lessons_arrive() -> None:
    early = plan_reviews(lessons(10), CATALOG)
    assert early == plan_reviews(lessons(10), CATALOG)
    assert plan_reviews(lessons(17), CATALOG)[:2] == early  # new lessons change no old review


def test_a_review_is_dated_between_its_lesson_and_the_next() -> None:
    history = lessons(6)
    history[5] = LessonRecord(
        "ep-6", "g-6", "Episode 6", history[4].published + timedelta(hours=4), history[5].topic_ids
    )
    plan = plan_reviews(history, CATALOG)[0]
    assert plan.published == history[4].published + timedelta(hours=2)
    alone = plan_reviews(lessons(5), CATALOG, now=START + timedelta(weeks=5, hours=1))[0]
    assert alone.published == START + timedelta(weeks=5, hours=1)  # never in the future


def test_few_topics_still_make_four_questions_and_one_question_topics_are_skipped() -> None:
    history = [
        LessonRecord(
            f"ep-{n}",
            f"g-{n}",
            f"Episode {n}",
            START + timedelta(days=n),
            ("vectors", "dot-product"),
        )
        for n in range(1, 6)
    ]
    plan = plan_reviews(history, CATALOG)[0]
    asked = [(q.topic.id, q.quiz_number) for q in plan.questions]
    assert len(asked) == 4 and len(set(asked)) == 4  # two topics: two questions each
    assert {number for _, number in asked} == {1, 2}
    topic = CATALOG.get("vectors")
    single = Catalog(
        topics=(
            type(topic)(
                **{**{f: getattr(topic, f) for f in topic.__slots__}, "quizzes": topic.quizzes[:1]}
            ),
        )
    )
    assert (
        plan_reviews(
            [LessonRecord(f"e{n}", "g", "E", None, ("vectors",)) for n in range(5)], single
        )
        == ()
    )


@pytest.fixture(scope="module")
def review_script():
    plan = plan_reviews(lessons(10), CATALOG)[1]
    settings = render.RenderSettings(companion_title="Tiny Math", quiz_pause=2.5, review_pause=7.5)
    return plan, render.render_review_script(render.environment(), plan, settings)


def test_review_script_has_chapters_pauses_and_answers(review_script) -> None:
    plan, script = review_script
    assert script.slug == "review-002"
    assert script.title == f"Review 2: lessons {plan.first_lesson} to 10"
    kinds = [s.kind for s in script.sections]
    assert kinds == ["intro"] + ["quiz"] * len(plan.questions) + ["recap"]
    for section, question in zip(script.sections[1:-1], plan.questions, strict=True):
        assert (
            section.title == f"Question {plan.questions.index(question) + 1}: "
            f"{question.topic.title}"
        )
        texts = [p.text for p in section.paragraphs]
        assert question.quiz.question in texts
        thinking = texts.index(question.quiz.question)
        assert section.paragraphs[thinking].pause_after == 7.5  # the review's, not the quiz's
        assert texts[thinking + 1].endswith(question.quiz.answer)
        assert any(t.endswith(question.quiz.answer) for t in texts)
        assert question.lesson_title in section.text
    assert script.topic_ids == tuple(q.topic.id for q in plan.questions)
    minutes = render.spoken_seconds(script, 165) / 60
    assert 2.0 <= minutes <= 4.0, minutes


def test_review_script_is_plain_speech(review_script) -> None:
    _, script = review_script
    text = script.to_text()
    assert not re.search(r"[\\{}^_$=+*/|~<>#%&]", text)
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        assert len(re.findall(r"[A-Za-z0-9']+", sentence)) <= 30, sentence


# --------------------------------------------------------------------------- in the build


def test_the_sample_gets_a_review_after_lessons_five_and_ten(tmp_path) -> None:
    from companion.build import read_source, render_reviews, render_settings
    from companion.config import load_settings
    from companion.topics import link_episode

    settings = load_settings(tmp_path, {})
    assert settings.review is True
    show, episodes = read_source(settings, START)
    links = {e.guid: link_episode(e, CATALOG) for e in episodes}
    env = render.environment()
    wording = render_settings(settings, show)
    scripts = render.render_episodes(env, show, episodes, links, CATALOG, wording)
    reviews = render_reviews(
        env, episodes, scripts, CATALOG, wording, datetime(2030, 1, 1, tzinfo=UTC)
    )
    assert [script.slug for _, script in reviews] == ["review-001", "review-002"]
    assert render_reviews(env, episodes, scripts, CATALOG, wording, START) == render_reviews(
        env, episodes, scripts, CATALOG, wording, START
    )  # deterministic


def test_review_false_leaves_reviews_out_of_the_feed(tmp_path) -> None:
    from companion import publish
    from companion.config import load_settings
    from companion.lessons import review_lesson
    from companion.models import Lesson, LessonKind, Show
    from companion.publish import plan_feeds

    plan = plan_reviews(lessons(5), CATALOG)[0]
    script = render.render_review_script(render.environment(), plan, render.RenderSettings())
    reviewed = review_lesson(plan, script)
    assert reviewed.kind is LessonKind.REVIEW and reviewed.questions == tuple(
        q.quiz_number for q in plan.questions
    )
    assert reviewed.guid == publish.lesson_guid("review:g-5")
    episode = Lesson(
        slug="ep-5",
        guid="g",
        kind=LessonKind.EPISODE,
        title="Math for 5",
        summary="s",
        published=START,
        source_title="Episode 5",
        source_link="",
        source_guid="g-5",
        episode_number=5,
        topic_ids=("vectors",),
        duration=60.0,
        size=1,
        chapters=(),
    )
    show = Show(title="Show", author="Host")
    for review_on, titles in ((True, {"Math for 5", script.title}), (False, {"Math for 5"})):
        settings = load_settings(tmp_path, {"review": review_on, "course": False})
        feeds = plan_feeds(settings, show, [reviewed, episode])
        assert {item.title for item in feeds[0].lessons} == titles
    notes = publish.show_notes_html(reviewed, CATALOG)
    for question in plan.questions:
        assert question.quiz.question.split(",")[0] in notes
