"""Render: episode + topics -> a Script for the ear, through the Jinja2 templates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pytest

from companion import render
from companion.errors import RenderError
from companion.models import Episode, Evidence, Show, TopicLink
from companion.topics import load_catalog
from tests.conftest import DATA

CATALOG = load_catalog()
SHOW = Show("Tiny ML Show", "Host")
EPISODE = Episode(
    guid="g-1",
    slug="ep-1-descent",
    title="Ep 1: Descent & Losses",
    number=1,
    published=datetime(2024, 1, 1, tzinfo=UTC),
    duration=None,
    description="We use gradient descent on a mean squared error loss.",
    link="https://example.org/1",
    audio_url="https://example.org/1.mp3",
)
GOLDEN = DATA / "golden" / "scripts" / "ep-1-descent.txt"


def links(*topic_ids: str) -> tuple[TopicLink, ...]:
    return tuple(
        TopicLink(CATALOG.get(t), 1.0, (Evidence("description", t.replace("-", " "), "sentence"),))
        for t in topic_ids
    )


def lesson(*topic_ids: str, minutes: float = 6.0, known: frozenset[str] = frozenset()):
    settings = render.RenderSettings(companion_title="Tiny Math", lesson_minutes=minutes)
    plans = render.plan_topics(links(*topic_ids), CATALOG, known)
    return render.render_lesson(render.environment(), SHOW, EPISODE, plans, settings)


def test_script_matches_golden(request: pytest.FixtureRequest) -> None:
    text = lesson("gradient-descent", "loss-functions").to_text()
    if request.config.getoption("--update-golden"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, "utf-8")
    assert text == GOLDEN.read_text("utf-8")


def test_sections_are_chapters_in_prerequisite_order() -> None:
    script = lesson("gradient-descent", "loss-functions")
    assert [(s.kind, s.title) for s in script.sections] == [
        ("intro", "Introduction"),
        ("topic", "Loss Functions"),
        ("quiz", "Quiz: Loss Functions"),
        ("topic", "Gradient Descent"),
        ("quiz", "Quiz: Gradient Descent"),
        ("recap", "Recap"),
    ]
    assert script.topic_ids == ("loss-functions", "gradient-descent")
    assert script.title == "Math for Ep 1: Descent & Losses"


def test_intro_names_episode_and_show_speakably() -> None:
    intro = lesson("gradient-descent").sections[0].text
    assert "Ep 1: Descent and Losses" in intro
    assert "Tiny ML Show" in intro


def test_equations_are_read_slowly_and_quiz_pauses() -> None:
    script = lesson("gradient-descent")
    topic = next(s for s in script.sections if s.kind == "topic")
    slow = [p for p in topic.paragraphs if p.rate < 1]
    assert len(slow) == len(CATALOG.get("gradient-descent").equations)
    quiz = next(s for s in script.sections if s.kind == "quiz")
    assert quiz.paragraphs[0].pause_after == 2.5
    assert quiz.paragraphs[1].text.startswith("Here is the answer.")


def test_no_tex_or_symbols_left() -> None:
    text = lesson("bayes-theorem", "normal-distribution", "softmax").to_text()
    assert not set(text) & set("\\{}^_$=+*|~")


def test_unmet_prerequisites_get_one_sentence() -> None:
    script = lesson("gradient-descent")
    topic = next(s for s in script.sections if s.kind == "topic")
    assert "This idea builds on Gradient and Loss Functions." in topic.text
    known = frozenset({"gradient", "loss-functions"})
    topic = next(s for s in lesson("gradient-descent", known=known).sections if s.kind == "topic")
    assert "builds on" not in topic.text


def test_long_lessons_shorten_later_topics() -> None:
    ids = ("vectors", "dot-product", "matrices", "derivatives", "gradient-descent")
    full = lesson(*ids, minutes=60)
    short = lesson(*ids, minutes=3)
    assert render.spoken_seconds(short, 165) < render.spoken_seconds(full, 165)
    assert sum(s.kind == "quiz" for s in short.sections) < 5
    assert short.sections[2].kind == "quiz"  # the first topic stays whole
    assert "is in its own lesson in the course feed" in short.to_text()


def test_speakable_replaces_symbols_and_urls() -> None:
    assert (
        render.speakable("R&D: 50% of x+y, see https://x.org/a")
        == "R and D: 50 percent of x plus y, see"
    )
    assert render.spoken_list(["a", "b", "c"]) == "a, b and c"


def test_template_override_comes_first(tmp_path: Path) -> None:
    (tmp_path / "lesson.txt.j2").write_text(
        "@section intro Hello\nCustom intro for {{ episode_title }}.\n", "utf-8"
    )
    env = render.environment(tmp_path)
    plans = render.plan_topics(links("gradient-descent"), CATALOG, frozenset())
    script = render.render_script(env, SHOW, EPISODE, plans, render.RenderSettings())
    assert script.to_text() == "Custom intro for Ep 1: Descent and Losses.\n"


def test_undefined_variable_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "lesson.txt.j2").write_text("@section intro Hi\n{{ nothing }}\n", "utf-8")
    plans = render.plan_topics(links("gradient-descent"), CATALOG, frozenset())
    with pytest.raises(RenderError, match=r"ep-1-descent: template lesson\.txt\.j2: 'nothing'"):
        render.render_script(
            render.environment(tmp_path), SHOW, EPISODE, plans, render.RenderSettings()
        )


def test_leftover_tex_is_rejected_naming_the_fragment(tmp_path: Path) -> None:
    (tmp_path / "lesson.txt.j2").write_text("@section intro Hi\nSee x^2 here.\n", "utf-8")
    plans = render.plan_topics(links("gradient-descent"), CATALOG, frozenset())
    with pytest.raises(RenderError, match=r"section 'Hi' still holds TeX near 'See x\^2 here.'"):
        render.render_script(
            render.environment(tmp_path), SHOW, EPISODE, plans, render.RenderSettings()
        )


def test_unknown_section_kind_is_rejected_naming_it(tmp_path: Path) -> None:
    (tmp_path / "lesson.txt.j2").write_text("@section outro Bye\nThat is all.\n", "utf-8")
    plans = render.plan_topics(links("gradient-descent"), CATALOG, frozenset())
    with pytest.raises(RenderError, match=r"ep-1-descent: unknown section kind 'outro'"):
        render.render_script(
            render.environment(tmp_path), SHOW, EPISODE, plans, render.RenderSettings()
        )


def test_course_script_teaches_one_topic() -> None:
    topic = CATALOG.get("variance")
    script = render.render_course_script(
        render.environment(), topic, 3, 40, CATALOG, render.RenderSettings()
    )
    assert script.slug == "course-variance"
    assert script.title == "Lesson 3: Variance and Standard Deviation"
    assert [s.kind for s in script.sections] == ["intro", "topic", "quiz", "recap"]
    assert "lesson three of 40" in script.sections[0].text


def test_environment_is_strict() -> None:
    assert render.environment().undefined is jinja2.StrictUndefined
