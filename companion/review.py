"""Spaced review: after every fifth episode lesson, a short episode of questions on earlier ones.

The schedule is a pure function of the episode lessons in the order they were published.

* A review follows lessons 5, 10, 15 ... (``EVERY``).
* It asks about topics of earlier lessons at expanding distances: the lesson just before it
  (1 back), then 3, 8 and 20 lessons back, then 2, 5 and 13 to fill up. Memory research on
  spacing says a fact is best recalled again after growing gaps; the far questions revive
  old topics, the near ones settle new ones. The questions are then asked nearest first, so
  the review really goes further back with each question, as it says it does.
* From each of those lessons it takes one topic not yet asked in this review, turning through
  the lesson's topics from one review to the next; 4 to 6 questions in all, more from the
  nearest lessons if the far ones are missing (and a second question on a topic only when
  fewer than four topics were taught).
* A lesson asks a question of a topic that no earlier lesson asked (``LessonRecord.asked``);
  a review asks the question after the one last heard for that topic, in a lesson or a
  review (the first, second, third, first ...), so a listener never hears the same question
  twice in a row for a topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from companion import layout
from companion.models import Catalog, Quiz, Topic

__all__ = ["DISTANCES", "EVERY", "LessonRecord", "Question", "ReviewPlan", "plan_reviews"]

EVERY = 5  # a review after every fifth lesson
DISTANCES = (1, 3, 8, 20, 2, 5, 13)  # lessons back, in the order they are asked
MIN_QUESTIONS, MAX_QUESTIONS = 4, 6
GAP = timedelta(days=1)  # a review is dated this long after its lesson (or halfway to the next)


@dataclass(frozen=True, slots=True)
class LessonRecord:
    """An episode lesson as the schedule sees it."""

    slug: str
    source_guid: str  # the source episode's guid
    title: str  # the source episode's title
    published: datetime | None
    topic_ids: tuple[str, ...]  # in the order the lesson teaches them
    asked: tuple[tuple[str, int], ...] = ()  # (topic id, quiz number) the lesson asked


@dataclass(frozen=True, slots=True)
class Question:
    topic: Topic
    quiz: Quiz
    quiz_number: int  # index into topic.quizzes
    lessons_back: int  # 1: the lesson just before the review
    lesson_title: str  # the source episode of the lesson that taught the topic


@dataclass(frozen=True, slots=True)
class ReviewPlan:
    number: int  # 1 for the review after lesson 5
    after: LessonRecord  # the lesson it follows
    first_lesson: int  # the lessons it covers, 1-based positions in publishing order
    last_lesson: int
    questions: tuple[Question, ...]
    published: datetime | None

    @property
    def slug(self) -> str:
        return layout.review_slug(self.number)


def plan_reviews(
    lessons: Sequence[LessonRecord], catalog: Catalog, *, now: datetime | None = None
) -> tuple[ReviewPlan, ...]:
    """Every review of ``lessons`` (oldest first): one after each EVERY-th lesson."""
    last_asked: dict[str, int] = {}  # topic id -> the quiz number heard last for it
    turn: dict[str, int] = {}  # lesson slug -> how many times a review took a topic from it
    plans: list[ReviewPlan] = []
    for position, lesson in enumerate(lessons, start=1):
        last_asked.update(dict(lesson.asked))
        if position % EVERY:
            continue
        history = lessons[:position]
        questions = _questions(history, catalog, last_asked, turn)
        if not questions:
            continue
        following = lessons[position] if position < len(lessons) else None
        plans.append(
            ReviewPlan(
                number=position // EVERY,
                after=lesson,
                first_lesson=max(1, position - max(q.lessons_back for q in questions) + 1),
                last_lesson=position,
                questions=tuple(questions),
                published=_review_date(lesson, following, now),
            )
        )
    return tuple(plans)


def _questions(
    history: Sequence[LessonRecord],
    catalog: Catalog,
    last_asked: dict[str, int],
    turn: dict[str, int],
) -> list[Question]:
    chosen: list[Question] = []
    asked: set[str] = set()

    def take(back: int, again: bool = False) -> bool:
        """Ask one topic of the lesson ``back`` lessons back; False if it has none left.

        With ``again``, a topic already asked in this review may get another question."""
        lesson = history[len(history) - back]
        topics = [t for t in lesson.topic_ids if t in catalog and (again or t not in asked)]
        start = turn.get(lesson.slug, 0)
        for offset in range(len(topics)):
            topic = catalog.get(topics[(start + offset) % len(topics)])
            number = _next_quiz(topic, last_asked.get(topic.id))
            if number is None:
                continue
            turn[lesson.slug] = start + offset + 1
            asked.add(topic.id)
            last_asked[topic.id] = number
            chosen.append(Question(topic, topic.quizzes[number], number, back, lesson.title))
            return True
        return False

    for back in DISTANCES:
        if len(chosen) == MAX_QUESTIONS:
            break
        if back <= len(history):
            take(back)
    for again in (False, True):  # far lessons are missing, then too few topics were taught
        back = 1
        while len(chosen) < MIN_QUESTIONS and back <= len(history):
            if not take(back, again):
                back += 1
    return sorted(chosen, key=lambda question: question.lessons_back)


def _next_quiz(topic: Topic, last: int | None) -> int | None:
    """The question a review asks after ``last`` was heard (None: never): the next one in
    turn, or None when the topic has only one question."""
    count = len(topic.quizzes)
    if count == 1:
        return None
    if last is None:
        return 1
    return (last + 1) % count


def _review_date(
    lesson: LessonRecord, following: LessonRecord | None, now: datetime | None
) -> datetime | None:
    """A day after the lesson it follows, or halfway to the next lesson if that is sooner."""
    if lesson.published is None:
        return None
    gap = GAP
    if following is not None and following.published is not None:
        gap = min(gap, (following.published - lesson.published) / 2)
    date = lesson.published + max(gap, timedelta(seconds=1))
    return min(date, now) if now is not None and date > now else date
