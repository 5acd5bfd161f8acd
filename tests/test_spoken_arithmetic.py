"""Tests for companion/spoken_arithmetic.py, and the catalog's arithmetic as a listener hears it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from companion.facets import facets_for
from companion.models import Catalog
from companion.spoken_arithmetic import (
    NotArithmetic,
    catalog_texts,
    find_phrases,
    hear,
    misheard,
    misheard_in_catalog,
)
from companion.topics import load_catalog
from tests.conftest import DATA


@pytest.mark.parametrize(
    ("words", "value"),
    [
        # heard with standard precedence, left to right
        ("0.3 divided by 0.3 plus 0.1", 1.1),
        ("1 divided by 1 minus 0.9", 0.1),
        ("6 divided by 2 times 3", 9),
        ("5 minus 0.1 times 2", 4.8),
        ("0.1 times 3 squared", 0.9),
        ("1 plus 2 squared", 5),
        ("two cubed", 8),
        ("10 to the power 3", 1000),
        ("100 to the power minus 0.5", 0.1),
        ("e to the power zero", 1),
        ("7 out of 10", 0.7),
        ("8 over 9", 8 / 9),
        # a function takes the number just after it
        ("the square root of 9 plus 16", 19),
        ("one over the square root of 16", 0.25),
        ("10 divided by the square root of 100", 1),
        ("the log base 2 of one half", -1),
        ("minus the natural log of 0.5", math.log(2)),
        ("half of 4", 2),
        # explicit groups
        ("the square root of the sum of 9 and 16", 5),
        ("0.3 divided by the sum of 0.3 and 0.1", 0.75),
        ("0.3 divided by the sum, 0.4", 0.75),
        ("1 divided by the quantity 1 minus 0.9", 10),
        ("the quantity 1 plus 2, squared", 9),
        ("3 plus 1, all squared", 16),
        ("the product of 3 and 0.5", 1.5),
        # number words
        ("one half times one half", 0.25),
        ("ninety five plus five", 100),
        ("50000 times 300", 15e6),
        ("15 million divided by a thousand", 15000),
        ("two thirds times three", 2),
    ],
)
def test_hear_works_out_a_phrase_as_heard(words: str, value: float) -> None:
    assert hear(words) == pytest.approx(value)


@pytest.mark.parametrize(
    ("words", "with_pauses", "without_pauses"),
    [
        ("8 minus 6, divided by 2", 1, 5),
        ("1 plus 2, times 3", 9, 7),
        ("0.9 times 0.2, divided by 0.3", 0.6, 0.6),
        ("2 squared, plus 3, plus 1", 8, 8),
        ("0.9 times 0.9, plus 0.1 times 0.5", 0.86, 0.86),
        ("1 divided by the quantity 1 minus 0.5, times 3", 6, 6),
    ],
)
def test_a_comma_is_a_pause_that_may_or_may_not_be_heard(
    words: str, with_pauses: float, without_pauses: float
) -> None:
    assert hear(words, pauses=True) == pytest.approx(with_pauses)
    assert hear(words, pauses=False) == pytest.approx(without_pauses)


@pytest.mark.parametrize(
    "words",
    [
        "50 plus 2 times the size",  # an operand is not a number
        "10 times",
        "e plus 1",
        "the sum of 2",
        "1 divided by 0",
        "the square root of minus 4",
        "4 plus 4 apples plus 2",
    ],
)
def test_hear_refuses_what_is_not_arithmetic(words: str) -> None:
    with pytest.raises(NotArithmetic):
        hear(words)


def _only(text: str):  # type: ignore[no-untyped-def]
    phrases = find_phrases(text)
    assert len(phrases) == 1, phrases
    return phrases[0]


@pytest.mark.parametrize(
    ("text", "words", "stated"),
    [
        # the review's phrases, each heard as something else than the text states
        (
            "The best discriminator says 0.3 divided by 0.3 plus 0.1, which is 0.75.",
            "0.3 divided by 0.3 plus 0.1",
            0.75,
        ),
        ("10, since 1 divided by 1 minus 0.9 is 10.", "1 divided by 1 minus 0.9", 10),
        ("5, the square root of 9 plus 16.", "the square root of 9 plus 16", 5),
        ("1, because 6 divided by 2 times 3 is 1.", "6 divided by 2 times 3", 1),
        # right only when the pause is heard as a bracket
        ("1. The mean is 6, and 8 minus 6, divided by 2, is 1.", "8 minus 6, divided by 2", 1),
        ("E to the 2 is about 7.3, and that is all.", "E to the 2", 7.3),
    ],
)
def test_a_misheard_phrase_is_found_with_its_stated_result(
    text: str, words: str, stated: float
) -> None:
    phrase = _only(text)
    assert (phrase.words, phrase.stated) == (words, stated)
    assert not phrase.heard_right()
    assert misheard([text]) == [(text, phrase)]


@pytest.mark.parametrize(
    ("text", "stated"),
    [
        ("The best discriminator says 0.3 divided by the sum, 0.4, which is 0.75.", [0.75]),
        ("10. One minus 0.9 is 0.1, and 1 divided by 0.1 is 10.", [0.1, 10]),
        ("5, the square root of 25, which is 9 plus 16.", [5, 25]),
        ("15 million, which is 50000 times 300.", [15e6]),
        ("10. That is 5 times 4, divided by 2.", [10]),
        ("2 squared, plus 3, plus 1. That is 4 plus 3 plus 1, which is 8.", [8, 8]),
        ("28, because 32 minus 5, plus 1, is 28.", [28]),
        ("So their cosine similarity is 8 over 9, about 0.89.", [0.89]),
        ("The log base 2 of one half is minus 1.", [-1]),
        ("The loss is divided by 100 to the power 0.5, which is 10.", [10]),
        ("5, because their sum, 25, divided by 5 is 5.", [5]),
        ("The chance is 4 out of 12. That is one third, about 0.33.", [1 / 3]),
        ("What is the log base 10 of one thousand?", [None]),
    ],
)
def test_phrases_heard_right_are_found_with_their_results(
    text: str, stated: list[float | None]
) -> None:
    phrases = find_phrases(text)
    assert [p.stated for p in phrases] == pytest.approx(stated)
    assert all(p.heard_right() for p in phrases)
    assert misheard([text]) == []


@pytest.mark.parametrize(
    "text",
    [
        "The outer derivative is 2 times 3 x, and the inner derivative is 3.",  # algebra
        "Let y be 3 x plus 1, all squared.",
        "A model predicts a price of 50 plus 2 times the size.",
        "The outer loop runs 10 times, and the inner loop runs 10 times for each.",
        "Nine times in ten it plays the best machine so far.",
        "Take the vectors 1, 2, 3 and 4, 5, 6.",
        "Its slope is the output times one minus the output.",
        "The error shrinks like one over the square root of the number of samples.",
    ],
)
def test_words_that_are_not_arithmetic_are_not_phrases(text: str) -> None:
    assert find_phrases(text) == ()


# --------------------------------------------------------------------------- the catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


UNREAD = DATA / "spoken_arithmetic_unread.txt"


def test_catalog_arithmetic_is_heard_as_the_result_it_states(catalog: Catalog) -> None:
    """Every topic's and every facet's texts: explanations, meanings, all worked examples and
    questions. The phrases the finder itself reads wrong are listed with why (each checked by
    hand as heard right); the list only shrinks, and a new misheard phrase fails."""
    wrong = misheard_in_catalog(catalog, facets_for(catalog), every_example=True)
    known = [
        line.split("\t")[0]
        for line in UNREAD.read_text("utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert sorted(set(wrong) - set(known)) == [], "\n".join(sorted(set(wrong) - set(known)))
    assert sorted(set(known) - set(wrong)) == []


def test_catalog_arithmetic_is_found(catalog: Catalog) -> None:
    phrases = [p for _, text in catalog_texts(catalog) for p in find_phrases(text)]
    checked = [p for p in phrases if p.stated is not None]
    # 128 phrases, 122 of them with a stated result, when this was written: the finder must
    # keep finding the catalog's arithmetic, worked examples and quiz answers alike.
    assert len(phrases) >= 120 and len(checked) >= 115, (len(phrases), len(checked))
    examples = {topic.id for topic in catalog.topics}
    with_arithmetic = {topic_id for topic_id, text in catalog_texts(catalog) if find_phrases(text)}
    assert len(with_arithmetic) >= 0.8 * len(examples)


MISHEARD_TOPIC = """
[[topics]]
id = "gan"
title = "GAN"
area = "generative-models"
prerequisites = []
aliases = ["gan"]
explanation = "Some words. More words. Even more words. Last words."
[[topics.equations]]
latex = 'x + 1'
meaning = "Meaning."
[topics.example]
text = "The best discriminator says 0.3 divided by 0.3 plus 0.1, which is 0.75."
expression = "0.3 / (0.3 + 0.1)"
result = 0.75
[topics.quiz]
question = "The values 4 and 8 are normalized. What does 8 become?"
answer = "1, because 8 minus 6, divided by 2, is 1."
"""


def test_a_catalog_names_each_misheard_phrase(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(MISHEARD_TOPIC, "utf-8")
    assert misheard_in_catalog(load_catalog(path)) == [
        "topic 'gan': '0.3 divided by 0.3 plus 0.1' is heard as 1.1, not the stated 0.75",
        "topic 'gan': '8 minus 6, divided by 2' is heard as 1 (or 5 if the pause is not heard), "
        "not the stated 1",
    ]


def test_a_running_total_is_the_result_of_the_phrase_before_it() -> None:
    """'3 times 2, which is 6, plus 1': 6 is what 3 times 2 makes, and no result of 6 plus 1."""
    first, second = find_phrases("It gets 3 times 2, which is 6, plus 1. So the price is 7.")
    assert (first.words, first.stated) == ("3 times 2", 6)
    assert first.heard_right()
    assert second.words == "6, plus 1" and second.stated is None
