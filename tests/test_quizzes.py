"""Quiz questions make the listener think: none is answered by the chapter just heard.

A question "repeats its chapter" when three quarters or more of its answer's key words were already
said in the chapter before it (the topic's explanation, its equations' meanings and its
worked example; for a facet, its distinction, meanings and example and the family's
explanation). Key words are the answer's content words: lower case, a plural's s dropped,
without stop words, the words of
spoken arithmetic ("times", "divided") and the words of the question itself (an answer may
repeat what was asked). An answer that gives a new number, a choice with its reason or a prediction
passes; "What is the Markov property?" answered with the sentence just said does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest

from companion.facets import load_facets
from companion.models import Catalog, Facet, Facets, Quiz, Topic
from companion.topics import load_catalog

REPEAT_SHARE = 0.75  # this share of an answer's key words, or more, already said: a repeat
_STOP_WORDS_TEXT = """a an the and or but if then so of to in on at by for with from as is
    are was were be
    been being it its this that these those there here what which who whom whose why how
    when where do does did done can could would should will shall may might must not no yes
    than you your we our they their he she his her i me my one about into over under more
    most less least very much many each every some any all because since while also just
    only same other another both either neither per up down out off too
    time plus minus divided equal"""  # and the words of spoken arithmetic
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    return [_stem(w) for w in _TOKEN.findall(text.lower().replace("$", " "))]


def key_words(quiz: Quiz) -> list[str]:
    """The answer's content words that the question does not already say, in order."""
    asked = set(words(quiz.question))
    return [w for w in dict.fromkeys(words(quiz.answer)) if w not in STOP_WORDS | asked]


def repeated_words(quiz: Quiz, chapter: Iterable[str]) -> list[str]:
    said = {w for text in chapter for w in words(text)}
    return [w for w in key_words(quiz) if w in said]


def repeats_chapter(quiz: Quiz, chapter: Iterable[str]) -> bool:
    keys = key_words(quiz)
    return bool(keys) and len(repeated_words(quiz, chapter)) >= REPEAT_SHARE * len(keys)


def topic_chapter(topic: Topic) -> list[str]:
    return [topic.explanation, *(eq.meaning for eq in topic.equations), topic.example.text]


def facet_chapter(facet: Facet, catalog: Catalog) -> list[str]:
    return [
        catalog.get(facet.topic_id).explanation,
        facet.distinction,
        *(eq.meaning for eq in facet.equations),
        facet.example.text,
    ]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def facets(catalog: Catalog) -> Facets:
    return load_facets(catalog=catalog)


def test_the_check_finds_a_repeated_sentence_and_passes_an_applied_one() -> None:
    chapter = [
        "A Markov chain moves between states. The next state depends only on the current "
        "state, not on the path that led there. That is the Markov property."
    ]
    recall = Quiz("What is the Markov property?", "The next state depends only on the current one.")
    applied = Quiz(
        "A chain stays in its state with probability 0.9. What is the chance it stays twice?",
        "0.81, that is 0.9 times 0.9.",
    )
    assert key_words(recall) == ["next", "state", "depend", "current"]
    assert repeats_chapter(recall, chapter)
    assert key_words(applied) == ["0.81"]
    assert not repeats_chapter(applied, chapter)


def test_no_topic_quiz_repeats_its_chapter(catalog: Catalog) -> None:
    repeats = [
        f"{topic.id}: {quiz.question} -> {quiz.answer} "
        f"(already said: {', '.join(repeated_words(quiz, topic_chapter(topic)))})"
        for topic in catalog.topics
        for quiz in topic.quizzes
        if repeats_chapter(quiz, topic_chapter(topic))
    ]
    assert not repeats, f"{len(repeats)} quiz questions repeat their chapter:\n" + "\n".join(
        repeats
    )


def test_no_facet_quiz_repeats_its_chapter(catalog: Catalog, facets: Facets) -> None:
    repeats = [
        f"{facet.id}: {quiz.question} -> {quiz.answer}"
        for facet in facets.facets
        for quiz in facet.quizzes
        if repeats_chapter(quiz, facet_chapter(facet, catalog))
    ]
    assert not repeats, "\n".join(repeats)


def test_each_topic_has_three_questions_and_each_facet_one(
    catalog: Catalog, facets: Facets
) -> None:
    for topic in catalog.topics:
        assert len(topic.quizzes) >= 3, topic.id
    for facet in facets.facets:
        assert facet.quizzes, facet.id
        for quiz in facet.quizzes:
            assert quiz.question.endswith("?") and quiz.answer, (facet.id, quiz.question)
