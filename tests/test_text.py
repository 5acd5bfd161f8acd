"""Text helpers shared by the stages: times as people write them, and where sentences end."""

from __future__ import annotations

import pytest

from companion.lesson_plan import spoken_cardinal
from companion.mathspeech import integer_words
from companion.render import spoken_number
from companion.text import clock, split_sentences


def test_clock_writes_minutes_and_hours() -> None:
    assert (clock(0), clock(70), clock(3661.5), clock(-3)) == ("0:00", "1:10", "1:01:01", "0:00")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("any", ["See e.g.", "the rule.", "It holds.", "3 cases.", "A line\nB."]),
        ("capital", ["See e.g. the rule.", "It holds. 3 cases.", "A line\nB."]),
        ("not_lower", ["See e.g. the rule.", "It holds.", "3 cases.", "A line\nB."]),
        ("line", ["See e.g.", "the rule.", "It holds.", "3 cases.", "A line", "B."]),
    ],
)
def test_each_kind_of_text_ends_its_sentences_in_its_own_place(
    start: str, expected: list[str]
) -> None:
    text = "See e.g. the rule. It holds. 3 cases. A line\nB."
    assert split_sentences(text, start) == expected  # type: ignore[arg-type]


def test_one_number_to_words_in_two_styles() -> None:
    assert integer_words(42) == "forty two" and integer_words(105) == "one hundred five"
    assert integer_words(42, prose=True) == "forty-two"
    assert integer_words(105, prose=True) == "one hundred and five"
    assert integer_words(2_042, prose=True) == "two thousand forty-two"
    assert (spoken_cardinal(999), spoken_cardinal(1000)) == ("nine hundred and ninety-nine", "1000")
    assert (spoken_number(7), spoken_number(11)) == ("seven", "11")
