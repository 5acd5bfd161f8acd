"""Render: episode + topics -> a Script for the ear, through the Jinja2 templates."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pytest

from companion import phrasing, render
from companion.build import read_source, render_settings
from companion.config import load_settings
from companion.errors import RenderError
from companion.models import Episode, Evidence, Show, TopicLink
from companion.topics import link_episode, load_catalog
from tests.conftest import DATA, shared_path

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
        TopicLink(
            CATALOG.get(t),
            1.0,
            (Evidence("description", t.replace("-", " "), EPISODE.description),),
        )
        for t in topic_ids
    )


def lesson(
    *topic_ids: str,
    minutes: float = 6.0,
    known: frozenset[str] = frozenset(),
    equation_rate: float = render.SLOW_RATE,
):
    settings = render.RenderSettings(
        companion_title="Tiny Math", lesson_minutes=minutes, equation_rate=equation_rate
    )
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
    assert quiz.paragraphs[0].pause_after == render.RenderSettings().quiz_pause == 5
    assert quiz.paragraphs[0].text.endswith(CATALOG.get("gradient-descent").quiz.question)
    assert quiz.paragraphs[1].text.endswith(CATALOG.get("gradient-descent").quiz.answer)
    # the question is marked for the second voice, the answer stays with the narrator
    assert [p.second_voice for p in quiz.paragraphs] == [True, False]
    # and every equation's reading is marked as math for the synthesizer
    assert all(p.math == ((0, len(p.text) - 1),) for p in slow)


def test_equation_rate_sets_how_slowly_equations_are_read() -> None:
    script = lesson("gradient-descent", equation_rate=0.7)
    rates = {p.rate for s in script.sections for p in s.paragraphs}
    assert rates == {0.7, 1.0}


def test_inline_math_is_marked_and_the_markers_never_reach_the_text() -> None:
    from companion.pronounce import MATH_CLOSE, MATH_OPEN

    prose = render.speak_inline(r"A cost of $a$ is $P(A \mid B)$ here.")
    [section] = render.parse_marked_text(f"@section intro Intro\n{prose}\n", "x")
    [paragraph] = section.paragraphs
    assert paragraph.text == "A cost of a is P of A given B here."
    assert [paragraph.text[a:b] for a, b in paragraph.math] == ["a", "P of A given B"]
    script = lesson("bayes-theorem")
    for text in (script.to_text(), *(s.title for s in script.sections)):
        assert MATH_OPEN not in text and MATH_CLOSE not in text


def test_no_tex_or_symbols_left() -> None:
    text = lesson("bayes-theorem", "normal-distribution", "softmax").to_text()
    assert not set(text) & set("\\{}^_$=+*|~")


def test_unmet_prerequisites_get_one_sentence() -> None:
    script = lesson("gradient-descent")
    topic = next(s for s in script.sections if s.kind == "topic")
    sentence = next(p.text for p in topic.paragraphs if "Gradient and Loss Functions" in p.text)
    assert "course feed" in sentence and len(re.split(r"(?<=[.!?])\s+", sentence)) == 1
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
    assert short.to_text().count("course feed") > full.to_text().count("course feed")


def test_speakable_replaces_symbols_and_urls() -> None:
    assert (
        render.speakable("R&D: 50% of x+y, see https://x.org/a")
        == "R and D: 50 percent of x plus y, see"
    )
    assert render.spoken_list(["a", "b", "c"]) == "a, b and c"
    assert (
        render.spoken_list(["Gradient", "Markov Chains", "Bias and Variance"])
        == "Gradient; Markov Chains; and Bias and Variance"
    )


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


# --------------------------------------------------------------------------- quoting the episode

DESCRIPTION = (
    "How models learn, step by step.\n"
    "- Training uses gradient descent, which follows the slope downhill on the error "
    "(see https://example.org/gd), a method as old as Cauchy & used by every deep learning "
    "library, from the smallest research prototype to the biggest production system.\n"
    "The error is a mean squared error loss, averaged over 10,000 examples for $5 of compute."
)
RICH = Episode(
    guid="g-2",
    slug="ep-2-learning",
    title="Ep 2: How Models Learn",
    number=2,
    published=datetime(2024, 1, 2, tzinfo=UTC),
    duration=None,
    description=DESCRIPTION,
    link="",
    audio_url="",
)
WORD = re.compile(r"[a-z0-9]+")


def _grams(text: str, n: int) -> set[tuple[str, ...]]:
    words = WORD.findall(text.lower().replace("&", " and "))
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def quotes_source(section_text: str, episode: Episode) -> bool:
    """The issue's check: 5 words in a row of the description (or the whole short title)."""
    title_words = min(5, len(WORD.findall(episode.title.lower())))
    return bool(
        _grams(section_text, 5) & _grams(episode.description, 5)
        or _grams(section_text, title_words) & _grams(episode.title, title_words)
    )


def rich_lesson(evidence: dict[str, tuple[Evidence, ...]]):
    found = tuple(TopicLink(CATALOG.get(t), 1.0, ev) for t, ev in evidence.items())
    plans = render.plan_topics(found, CATALOG, frozenset())
    return render.render_lesson(
        render.environment(), SHOW, RICH, plans, render.RenderSettings(companion_title="Tiny Math")
    )


def test_each_topic_section_opens_with_the_episode_words() -> None:
    lines = DESCRIPTION.splitlines()
    script = rich_lesson(
        {
            "gradient-descent": (Evidence("description", "gradient descent", lines[1]),),
            "loss-functions": (Evidence("description", "mean squared error", lines[2]),),
        }
    )
    for section in (s for s in script.sections if s.kind == "topic"):
        opening = section.paragraphs[0].text
        assert quotes_source(opening, RICH), opening
        assert len(WORD.findall(opening.lower())) <= 30, opening
        assert not re.search(r"https?:|www\.|[\\&$%()]|^- ", opening), opening
    loss = next(s for s in script.sections if s.topic_id == "loss-functions")
    assert "10000 examples for 5 dollars of compute" in loss.paragraphs[0].text
    descent = next(s for s in script.sections if s.topic_id == "gradient-descent")
    assert "gradient descent" in descent.paragraphs[0].text  # 37 words cut to their clauses


def test_intro_says_what_the_episode_is_about_from_its_description() -> None:
    script = rich_lesson(
        {
            "gradient-descent": (
                Evidence("description", "gradient descent", DESCRIPTION.splitlines()[1]),
            )
        }
    )
    assert "How models learn, step by step." in script.sections[0].text
    bare = Episode(
        guid="g-3",
        slug="ep-3",
        title="Gradient Descent Explained",
        number=3,
        published=None,
        duration=None,
        description="",
        link="",
        audio_url="",
    )
    plans = render.plan_topics(
        (
            TopicLink(
                CATALOG.get("gradient-descent"),
                2.0,
                (Evidence("title", "Gradient Descent", bare.title),),
            ),
        ),
        CATALOG,
        frozenset(),
    )
    script = render.render_lesson(render.environment(), SHOW, bare, plans, render.RenderSettings())
    assert (
        "no description" in script.sections[0].text
        or "without a description" in script.sections[0].text
    )
    opening = script.sections[1].paragraphs[0].text
    assert "title" in opening and "Gradient Descent Explained" in opening  # said plainly
    assert quotes_source(opening, bare)


def test_a_title_mention_is_found_in_the_description_too() -> None:
    script = rich_lesson(
        {
            "loss-functions": (
                Evidence("title", "mean squared error", "Mean squared error, explained"),
            )
        }
    )
    opening = script.sections[1].paragraphs[0].text
    assert "title" not in opening and "averaged over 10000 examples" in opening


def test_a_topic_pinned_by_hand_says_so() -> None:
    script = rich_lesson({"entropy": ()})
    assert "by hand" in script.sections[1].paragraphs[0].text


def test_a_sentence_is_not_quoted_twice_in_full() -> None:
    line = DESCRIPTION.splitlines()[1]
    script = rich_lesson(
        {
            "gradient-descent": (Evidence("description", "gradient descent", line),),
            "vectorization": (Evidence("description", "deep learning library", line),),
        }
    )
    first, second = (s.paragraphs[0].text for s in script.sections if s.kind == "topic")
    assert quotes_source(first, RICH) and quotes_source(second, RICH)
    body = second.split(": ", 1)[1]
    assert body not in first and len(body.split()) <= phrasing.TIGHT_WORDS


def test_clean_for_speech_and_clip_clause() -> None:
    assert (
        phrasing.clean_for_speech("- **Bold** (i.e. strong) & 50% at https://x.org/a, e.g. $1,200")
        == "Bold, that is, strong, and 50 percent at for example, 1200 dollars"
    )
    text = (
        "Alpha beta gamma delta, epsilon zeta eta theta iota, kappa lambda mu nu xi, "
        "omicron pi rho sigma tau, upsilon phi chi psi omega."
    )
    clipped = phrasing.clip_clause(text, "mu nu", 10)
    assert "mu nu" in clipped and len(clipped.split()) <= 10
    assert phrasing.clip_clause("Short and sweet.", "sweet", 10) == "Short and sweet."


# --------------------------------------------------------------------------- varied phrasing


def test_variants_are_stable_and_neighbours_differ() -> None:
    variants = ("a", "b", "c", "d")
    picked = [phrasing.pick_variant(variants, "lesson-1", "slot", n) for n in range(4)]
    assert sorted(picked) == list(variants)  # consecutive positions never repeat
    code = (
        "from companion.phrasing import pick_variant as p; "
        "print(p(tuple('abcdefg'), 'lesson-1', 'slot'))"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": seed},
            check=True,
        ).stdout
        for seed in "12"
    }
    assert len(runs) == 1  # not Python's salted hash()
    assert lesson("gradient-descent").to_text() == lesson("gradient-descent").to_text()


def test_phrasebook_errors_name_the_slot(tmp_path: Path) -> None:
    book = phrasing.Phrasebook.from_toml('greet = ["Hi {name}.", "Hello {who}."]')
    with pytest.raises(RenderError, match=r"'greet': no value for \{who\}"):
        book.say("k", "greet", name="x")
    with pytest.raises(RenderError, match=r"no phrase 'nope'"):
        book.say("k", "nope")
    with pytest.raises(RenderError, match=r"'greet' must be a list"):
        phrasing.Phrasebook.from_toml('greet = "Hi."')
    with pytest.raises(RenderError, match="not valid TOML"):
        phrasing.Phrasebook.from_toml("greet = [")
    assert book.room("greet", "name") == 28


def test_phrases_can_be_overridden(tmp_path: Path) -> None:
    packaged = (Path(render.__file__).parent / "templates" / "phrases.toml").read_text("utf-8")
    (tmp_path / "phrases.toml").write_text(
        re.sub(r"(?m)^goodbye = \[.*?\]", 'goodbye = ["So long."]', packaged, flags=re.S), "utf-8"
    )
    plans = render.plan_topics(links("gradient-descent"), CATALOG, frozenset())
    script = render.render_lesson(
        render.environment(tmp_path), SHOW, EPISODE, plans, render.RenderSettings()
    )
    assert script.to_text().rstrip().endswith("So long.")


def sample_scripts(tmp_path: Path, source: str = "") -> list:
    settings = load_settings(tmp_path, {"source": source} if source else {})
    show, episodes = read_source(settings, datetime(2025, 1, 1, tzinfo=UTC))
    found = {e.guid: link_episode(e, CATALOG) for e in episodes}
    scripts = render.render_episodes(
        render.environment(), show, episodes, found, CATALOG, render_settings(settings, show)
    )
    return [(e, scripts[e.guid]) for e in episodes if e.guid in scripts]


def test_sample_lessons_quote_their_episode_and_rarely_repeat(tmp_path: Path) -> None:
    pairs = sample_scripts(tmp_path)
    assert len(pairs) >= 8
    for episode, script in pairs:
        for section in (s for s in script.sections if s.kind == "topic"):
            assert quotes_source(section.text, episode), (script.slug, section.topic_id)
    repeated = render.repeated_sentences([script for _, script in pairs])
    assert len(repeated) <= 4, repeated


def test_sample_scripts_pass_check_script(tmp_path: Path) -> None:
    tool = shared_path("tools", "check_script.py")
    folder = tmp_path / "scripts"
    folder.mkdir()
    for _, script in sample_scripts(tmp_path):
        (folder / f"{script.slug}.txt").write_text(script.to_text(), "utf-8")
    done = subprocess.run(
        [sys.executable, str(tool), str(folder), "--json"], capture_output=True, text=True
    )
    report = json.loads(done.stdout)
    failed = {name: r for name, r in report["files"].items() if not r["pass"]}
    assert done.returncode == 0 and not failed, failed


def test_real_show_notes_are_quoted_cleanly(tmp_path: Path) -> None:
    """The dev feed's real MLG show notes (markdown lists, URLs, arrows): every topic section
    still opens with at least five words of its episode, and reads as plain speech."""
    pairs = sample_scripts(tmp_path, str(shared_path("topics", "dev_feed.xml")))
    assert len(pairs) >= 9
    for episode, script in pairs:
        for section in (s for s in script.sections if s.kind == "topic"):
            assert quotes_source(section.text, episode), (script.slug, section.topic_id)
            opening = section.paragraphs[0].text
            assert len(WORD.findall(opening.lower())) <= 30, opening
            assert not re.search(r"https?:|www\.|[*#|<>=]", opening), opening


def test_lessons_with_many_topics_cut_later_topics_to_one_sentence() -> None:
    ids = ("vectors", "dot-product", "matrices", "derivatives", "gradient-descent", "entropy")

    def explanations_whole(script: render.Script) -> list[bool]:
        topics = [s for s in script.sections if s.kind == "topic"]
        pairs = zip(ids, topics, strict=True)
        return [CATALOG.get(t).explanation[-30:] in s.text for t, s in pairs]

    assert explanations_whole(lesson(*ids, minutes=60)) == [True] * 6
    # a middle budget cuts from the last topic back; the floor keeps only the first whole
    middle = explanations_whole(lesson(*ids, minutes=7))
    assert middle[0] and not middle[-1] and middle == sorted(middle, reverse=True)
    floor = lesson(*ids, minutes=1)
    assert explanations_whole(floor) == [True] + [False] * 5
    last = [s for s in floor.sections if s.kind == "topic"][-1]
    assert render.first_sentence(CATALOG.get("entropy").explanation)[:-1] in last.text
    assert sum(s.kind == "quiz" for s in floor.sections) == 1


def test_first_sentence_keeps_inline_math_and_abbreviations_together() -> None:
    assert render.first_sentence("Take $x. Y$ here. Then more.") == "Take $x. Y$ here."
    assert render.first_sentence("One idea. Two ideas.") == "One idea."
    assert render.first_sentence("No full stop") == "No full stop"
