"""Render: (Episode, [TopicLink]) -> Script, through Jinja2 templates written for the ear.

Templates print plain spoken text plus four kinds of marker lines, which this module
turns into the Script's sections and pauses:

    @section KIND[:TOPIC_ID] TITLE   starts a chapter (intro, topic, quiz, recap)
    @pause SECONDS                   silence after the paragraph before it
    @slow                            the next paragraph is read more slowly (equations)
    @ask                             the next paragraph is asked by the second voice, if any

The `speak` filters mark each equation's reading for the synthesizer (pronounce.MATH_OPEN
... MATH_CLOSE); the markers become Paragraph.math spans and never reach a file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import jinja2

from companion import layout, pronounce
from companion.errors import MathSpeechError, RenderError
from companion.facets import family_overview
from companion.ingest import date_key
from companion.lesson_plan import (
    Heard,
    LessonPlan,
    TopicPlan,
    closest_equations,
    plan_lesson,
    promotable,
    shrink,
)
from companion.mathspeech import integer_words, verbalize, verbalize_inline
from companion.models import (
    SECTION_KINDS,
    Catalog,
    Episode,
    Equation,
    Facets,
    Paragraph,
    Script,
    Section,
    SectionKind,
    Show,
    Topic,
    TopicLink,
)
from companion.phrasing import Phrasebook
from companion.pronounce import MATH_CLOSE, MATH_OPEN, strip_math_markers
from companion.review import LessonRecord, ReviewPlan, plan_reviews
from companion.settings_table import DEFAULT
from companion.text import SYMBOL_WORDS, URL_IN_TEXT, sentence_breaks, split_sentences

LEFTOVER_TEX = re.compile(r"[\\$^_{}]")
_SYMBOL_WORDS = {**SYMBOL_WORDS, "$": " dollars "}


@dataclass(frozen=True, slots=True)
class RenderSettings:
    companion_title: str = "Math Companion"
    lesson_minutes: float = DEFAULT["lesson_minutes"]
    quiz_pause: float = DEFAULT["quiz_pause"]  # seconds to think before a quiz answer
    review_pause: float = DEFAULT["review_pause"]  # seconds to think before a review's answer
    words_per_minute: int = DEFAULT["rate"]
    equation_rate: float = DEFAULT["equation_rate"]  # this times the voice's rate
    sentence_gap: float = DEFAULT["sentence_gap"]  # the synthesizer's, for the length estimate
    section_gap: float = DEFAULT["section_gap"]


def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment: package templates, optionally overridden from a folder."""
    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("companion", "templates")]
    if templates_dir is not None:
        loaders.insert(0, jinja2.FileSystemLoader(str(templates_dir)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["speak"] = speak
    env.filters["speak_inline"] = speak_inline
    env.filters["speakable"] = speakable
    env.filters["spoken_title"] = spoken_title
    env.filters["first_sentence"] = first_sentence
    env.filters["spoken_list"] = spoken_list
    env.filters["spoken_number"] = spoken_number
    env.filters["upper_first"] = upper_first
    phrases = load_phrases(env)
    env.globals["phrases"] = phrases

    @jinja2.pass_context
    def say(context: jinja2.runtime.Context, slot: str, position: int = 0, **fields: object) -> str:
        """A connective sentence: the wording the lesson's key and the position pick."""
        return phrases.say(str(context["lesson_key"]), slot, position, **fields)

    env.globals["say"] = say
    return env


def load_phrases(env: jinja2.Environment) -> Phrasebook:
    """The phrasebook of templates/phrases.toml (a templates_dir may override it)."""
    try:
        source, filename, _ = env.loader.get_source(env, "phrases.toml")  # type: ignore[union-attr]
    except jinja2.TemplateNotFound:
        raise RenderError("phrases.toml: not found among the templates") from None
    return Phrasebook.from_toml(source, filename or "phrases.toml")


# --- small pure helpers used by templates ---------------------------------------------------


@lru_cache(maxsize=4096)  # a lesson is rendered again as it is fitted to its time budget
def speak(latex: str) -> str:
    """An equation in words, marked as an equation's reading for the synthesizer."""
    return f"{MATH_OPEN}{verbalize(latex)}{MATH_CLOSE}"


@lru_cache(maxsize=4096)
def speak_inline(text: str) -> str:
    """Prose with each $...$ replaced by its reading, marked as in `speak`."""
    return verbalize_inline(text, around=(MATH_OPEN, MATH_CLOSE))


def speakable(text: str) -> str:
    """Text from a feed made safe to speak: no URLs, symbols as words, no markup residue."""
    text = URL_IN_TEXT.sub(" ", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = "".join(_SYMBOL_WORDS.get(ch, ch) for ch in text)
    return " ".join(text.split())


def spoken_title(title: str) -> str:
    """A topic's title as a lesson says it: no bracketed aside ("Logistic Function")."""
    return speakable(re.sub(r"\s*\([^)]*\)", "", title))


def spoken_list(items: Iterable[str]) -> str:
    """'a', 'a and b', 'a, b and c'; 'a; b and c; and d' when an item holds its own 'and'."""
    words = [item for item in items if item]
    if any(" and " in word for word in words) and len(words) > 1:
        return "; ".join(words[:-1]) + "; and " + words[-1]
    if len(words) <= 2:
        return " and ".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def upper_first(text: str) -> str:
    """The text with its first letter in capitals, the rest as it is."""
    return text[:1].upper() + text[1:]


def spoken_number(value: int) -> str:
    """0-10 in words ('three'); larger numbers as digits."""
    return integer_words(value) if 0 <= value <= 10 else str(value)


# --- planning -------------------------------------------------------------------------------


def script_sentences(script: Script) -> list[str]:
    """The sentences a script speaks, in order."""
    return [
        sentence
        for section in script.sections
        for paragraph in section.paragraphs
        for sentence in split_sentences(paragraph.text, "capital")
        if sentence
    ]


def repeated_sentences(scripts: Sequence[Script], share: float = 0.5) -> list[tuple[str, int]]:
    """Distinct sentences spoken in more than ``share`` of the scripts, most common first.

    A listener who hears several lessons notices these; the phrasing test keeps them few.
    """
    counts: dict[str, int] = {}
    for script in scripts:
        for sentence in set(script_sentences(script)):
            counts[sentence] = counts.get(sentence, 0) + 1
    limit = share * len(scripts)
    return sorted(((s, n) for s, n in counts.items() if n > limit), key=lambda sn: (-sn[1], sn[0]))


def spoken_seconds(
    script: Script, words_per_minute: int, sentence_gap: float = 0.4, section_gap: float = 1.0
) -> float:
    """Estimated length of a script when spoken: words at the voice's rate, plus pauses.

    The gaps are the synthesizer's: one between the sentences of a paragraph, one between
    sections.
    """
    seconds = 0.0
    for section in script.sections:
        for paragraph in section.paragraphs:
            words = len(paragraph.text.split())
            gaps = max(len(pronounce.sentences(paragraph)) - 1, 0)
            seconds += words * 60 / (words_per_minute * paragraph.rate) + paragraph.pause_after
            seconds += gaps * sentence_gap
        seconds += section_gap
    return seconds


def first_sentence(text: str) -> str:
    """The first sentence of a paragraph of catalog prose (its $...$ math left whole)."""
    text = text.strip()
    for match in sentence_breaks(text, "capital"):
        if text.count("$", 0, match.start()) % 2 == 0:  # not inside inline math
            return text[: match.start()]
    return text


# --- rendering ------------------------------------------------------------------------------


def render_lesson(
    env: jinja2.Environment, show: Show, plan: LessonPlan, settings: RenderSettings
) -> Script:
    """The lesson of one planned episode, within its time budget (see `fit_lesson`)."""
    return fit_lesson(env, show, plan, settings)[1]


def fit_lesson(
    env: jinja2.Environment, show: Show, plan: LessonPlan, settings: RenderSettings
) -> tuple[LessonPlan, Script]:
    """The plan as it fits the budget, and its script.

    While the lesson is too long, its least central chapter gives up a step (a full chapter
    becomes short, a short one its idea alone, a recall its sentence; see lesson_plan.shrink),
    so the time left goes where the episode goes. The central chapter stays whole.
    """
    script = render_script(env, show, plan, settings)
    budget = settings.lesson_minutes * 60
    while seconds_of(script, settings) > budget:
        smaller = shrink(plan)
        if smaller is None:
            break
        plan = smaller
        script = render_script(env, show, plan, settings)
    return plan, script


def seconds_of(script: Script, settings: RenderSettings) -> float:
    return spoken_seconds(
        script, settings.words_per_minute, settings.sentence_gap, settings.section_gap
    )


def lesson_name(title: str) -> str:
    """How a lesson refers to an earlier one: its episode's title up to a colon or dash."""
    name = re.split(r":|\s[-–—]\s", speakable(title), maxsplit=1)[0].strip()
    return " ".join(name.split()[:6])


_STOP_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "and",
        "or",
        "to",
        "is",
        "are",
        "in",
        "on",
        "for",
        "with",
        "by",
        "as",
        "at",
        "its",
        "it",
        "this",
        "that",
        "be",
        "from",
        "than",
    ]
)


def restates(reading: str, meaning: str) -> bool:
    """Whether a gloss only says again what the equation's reading said (most of its words)."""

    def stems(text: str) -> set[str]:
        words = re.findall(r"[a-z]+", strip_math_markers(text)[0].lower())
        return {word[:5] for word in words if word not in _STOP_WORDS}

    gloss = stems(meaning)
    return bool(gloss) and len(gloss & stems(reading)) / len(gloss) >= 0.6


@dataclass(frozen=True, slots=True)
class SpokenEquation:
    reading: str  # marked for the synthesizer (speak)
    gloss: str  # what it means, "" when the meaning would only restate the reading


def spoken_equations(equations: Sequence[Equation]) -> list[SpokenEquation]:
    found = []
    for equation in equations:
        reading = speak(equation.latex)
        meaning = speak_inline(equation.meaning)
        found.append(SpokenEquation(reading, "" if restates(reading, meaning) else meaning))
    return found


def takeaway(plan: TopicPlan) -> str:
    """One line a recap keeps of a chapter: what sets the member the episode names apart,
    else the bridge from the episode's words to the math, else its first equation's meaning,
    else its idea."""
    if plan.distinction:
        return speak_inline(first_sentence(plan.distinction))
    if plan.bridge:
        return speak_inline(plan.bridge)
    for equation in spoken_equations(closest_equations(plan.equations, plan.evidence)):
        if equation.gloss:
            return equation.gloss
    return speak_inline(first_sentence(plan.explanation or plan.topic.explanation))


def recap_line(plan: TopicPlan) -> dict[str, str]:
    """A recap's line for a chapter: the episode's name for the topic and its takeaway (the
    name left out when the takeaway starts with it)."""
    name, line = speakable(plan.name), takeaway(plan)
    return {"name": "" if line.lower().startswith(name.lower()) else name, "line": line}


def render_script(
    env: jinja2.Environment, show: Show, plan: LessonPlan, settings: RenderSettings
) -> Script:
    """The lesson for one episode, with the chapters as planned."""
    episode = plan.episode
    companion_title = speakable(settings.companion_title)
    show_title = speakable(show.title)
    count = len(plan.chapters)
    chapters = [
        {
            "plan": chapter,
            "title": spoken_title(chapter.topic.title),
            "position": "first" if index == 0 else "last" if index == count - 1 else "next",
            "met_in": lesson_name(chapter.met_in) if chapter.met_in else "",
            "rests_on": [
                {
                    "title": spoken_title(p.topic.title),
                    "idea": speak_inline(p.explanation) if p.explanation else "",
                    "bridge": speak_inline(p.bridge) if p.bridge else "",
                    "met_in": lesson_name(p.met_in) if p.met_in else "",
                    "also": number > 0,
                }
                for number, p in enumerate(p for p in plan.pointers if p.topic in chapter.rests_on)
            ],
            "equations": spoken_equations(chapter.equations),
        }
        for index, chapter in enumerate(plan.chapters)
    ]
    full = [c for c in plan.chapters if c.full]
    returning = [c for c in plan.chapters if c.treatment == "recall" and c.central]
    news = any(c.equations or c.example or c.quiz for c in returning)
    others = [c for c in plan.chapters if not c.full and c not in returning]
    elsewhere = [c.topic for c in plan.chapters if c.treatment in ("short", "brief")]
    elsewhere += [p.topic for p in plan.pointers if not p.met_in]
    context = {
        "lesson_key": episode.slug,
        "companion_title": companion_title,
        "episode_title": speakable(episode.title),
        "from_show": "" if show_title.lower() in companion_title.lower() else show_title,
        "gist": plan.gist,
        "centre": spoken_list(spoken_title(c.topic.title) for c in full),
        "returning": spoken_list(spoken_title(c.topic.title) for c in returning),
        "news": news,
        "others": spoken_list(spoken_title(c.topic.title) for c in others),
        "chapters": chapters,
        "recap": [recap_line(c) for c in full if c.equations],
        "elsewhere": spoken_list(spoken_title(t.title) for t in elsewhere[:4]),
        "quiz_pause": settings.quiz_pause,
    }
    text = _render(env, "lesson.txt.j2", context, episode.slug)
    sections = parse_marked_text(text, episode.slug, settings.equation_rate)
    return Script(
        slug=episode.slug,
        title=f"Math for {episode.title}",
        sections=sections,
        topic_ids=plan.topic_ids,
        asked=tuple((c.topic.id, c.quiz_number) for c in plan.chapters if c.quiz is not None),
    )


def render_review_script(
    env: jinja2.Environment, plan: ReviewPlan, settings: RenderSettings
) -> Script:
    """A spaced review episode: each planned question, a pause to think, the answer."""
    questions = [
        {
            "title": spoken_title(q.topic.title),
            "text": q.quiz.question,
            "answer": q.quiz.answer,
            "meaning": split_sentences(q.topic.explanation, "capital", maxsplit=1)[0],
            "topic": q.topic,
            "episode": speakable(q.lesson_title),
            "when": lessons_back(q.lessons_back),
        }
        for q in plan.questions
    ]
    context = {
        "lesson_key": plan.slug,
        "companion_title": speakable(settings.companion_title),
        "number": plan.number,
        "questions": questions,
        "review_pause": settings.review_pause,
    }
    text = _render(env, "review.txt.j2", context, plan.slug)
    return Script(
        slug=plan.slug,
        title=review_title(plan),
        sections=parse_marked_text(text, plan.slug, settings.equation_rate),
        topic_ids=tuple(q.topic.id for q in plan.questions),
    )


def review_title(plan: ReviewPlan) -> str:
    return f"Review {plan.number}: lessons {plan.first_lesson} to {plan.last_lesson}"


def lessons_back(count: int) -> str:
    """'the last lesson', 'two lessons back' ..."""
    if count <= 1:
        return "the last lesson"
    return f"{spoken_number(count)} lessons back"


def render_course_script(
    env: jinja2.Environment,
    topic: Topic,
    number: int,
    total: int,
    catalog: Catalog,
    settings: RenderSettings,
    facets: Facets | None = None,
) -> Script:
    """The course lesson that teaches one catalog topic in full, and names the members of its
    family (one sentence each) when the facets have any."""
    prerequisites = tuple(catalog.get(p) for p in topic.prerequisites if p in catalog)
    plan = TopicPlan(
        topic,
        1,
        "full",
        explanation=topic.explanation,
        equations=topic.equations,
        example=topic.example,
        quiz=topic.quiz,
        quiz_number=0,
    )
    context = {
        "lesson_key": layout.course_slug(topic.id),
        "prerequisites": prerequisites,
        "companion_title": speakable(settings.companion_title),
        "chapter": {
            "plan": plan,
            "title": spoken_title(topic.title),
            "rests_on": [],
            "equations": spoken_equations(topic.equations),
        },
        "recap": takeaway(plan),
        "family": family_overview(topic.id, facets) if facets is not None else (),
        "number": number,
        "total": total,
        "quiz_pause": settings.quiz_pause,
    }
    slug = layout.course_slug(topic.id)
    text = _render(env, "course.txt.j2", context, slug)
    sections = parse_marked_text(text, slug, settings.equation_rate)
    return Script(
        slug=slug, title=f"Lesson {number}: {topic.title}", sections=sections, topic_ids=(topic.id,)
    )


def _render(env: jinja2.Environment, name: str, context: dict[str, object], slug: str) -> str:
    try:
        return env.get_template(name).render(**context)
    except MathSpeechError as error:
        raise RenderError(f"{slug}: an equation cannot be spoken ({error})") from None
    except jinja2.TemplateError as error:
        raise RenderError(f"{slug}: template {name}: {error}") from None


def parse_marked_text(
    text: str, slug: str, equation_rate: float = DEFAULT["equation_rate"]
) -> tuple[Section, ...]:
    """Sections and paragraphs from a rendered template's marker text."""
    sections: list[Section] = []
    kind: SectionKind | None = None
    topic_id, title = "", ""
    paragraphs: list[Paragraph] = []
    lines: list[str] = []
    slow = ask = False

    def flush_paragraph() -> None:
        nonlocal lines, slow, ask
        if lines:
            paragraph, math = strip_math_markers(" ".join(" ".join(lines).split()))
            _reject_leftover_tex(paragraph, slug, title)
            paragraphs.append(
                Paragraph(
                    paragraph, rate=equation_rate if slow else 1.0, math=math, second_voice=ask
                )
            )
            lines, slow, ask = [], False, False

    def flush_section() -> None:
        nonlocal paragraphs
        flush_paragraph()
        if paragraphs and kind is not None:
            sections.append(Section(kind, title, tuple(paragraphs), topic_id))
        elif kind:
            raise RenderError(f"{slug}: section {title!r} has no text")
        paragraphs = []

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("@section "):
            flush_section()
            parts = line.split(maxsplit=2)
            if len(parts) < 3:
                raise RenderError(f"{slug}: marker {line!r} needs a kind and a title")
            name, _, topic_id = parts[1].partition(":")
            kind = _section_kind(name, slug)
            title = strip_math_markers(parts[2])[0]
        elif line.startswith("@pause "):
            flush_paragraph()
            if not paragraphs:
                raise RenderError(f"{slug}: {line!r} before any paragraph")
            paragraphs[-1] = replace(paragraphs[-1], pause_after=float(line.split()[1]))
        elif line == "@slow":
            flush_paragraph()
            slow = True
        elif line == "@ask":
            flush_paragraph()
            ask = True
        elif not line:
            flush_paragraph()
        else:
            if not kind:
                raise RenderError(f"{slug}: text before the first @section marker")
            lines.append(line)
    flush_section()
    if not sections:
        raise RenderError(f"{slug}: the template produced no sections")
    return tuple(sections)


def _section_kind(name: str, slug: str) -> SectionKind:
    for kind in SECTION_KINDS:
        if kind == name:
            return kind
    raise RenderError(
        f"{slug}: unknown section kind {name!r} (use one of {', '.join(SECTION_KINDS)})"
    )


def _reject_leftover_tex(paragraph: str, slug: str, title: str) -> None:
    match = LEFTOVER_TEX.search(paragraph)
    if match:
        start = max(0, match.start() - 20)
        fragment = paragraph[start : match.end() + 20]
        raise RenderError(f"{slug}: section {title!r} still holds TeX near {fragment!r}")


# --- a show's scripts -----------------------------------------------------------------------


def render_episodes(
    env: jinja2.Environment,
    show: Show,
    episodes: Sequence[Episode],
    links: Mapping[str, Sequence[TopicLink]],
    catalog: Catalog,
    settings: RenderSettings,
    facets: Facets | None = None,
) -> dict[str, Script]:
    """The lesson of every episode with topics, keyed by guid.

    Episodes are planned oldest first, each knowing what the lessons before it played
    (lesson_plan.Heard), so nothing is played twice and a topic heard before is recalled.
    ``facets``: the named members of the topics' families, taught when an episode names one.
    """
    heard = Heard()
    scripts: dict[str, Script] = {}
    records: list[LessonRecord] = []
    for episode in sorted(episodes, key=date_key):
        episode_links = links[episode.guid]
        if not episode_links:
            continue
        plan, script = plan_and_fit(
            env, show, episode, episode_links, catalog, heard, settings, facets
        )
        scripts[episode.guid] = script
        heard = heard.after(plan, episode.title)
        records.append(
            LessonRecord(
                script.slug,
                episode.guid,
                episode.title,
                episode.published,
                script.topic_ids,
                script.asked,
            )
        )
        # the spaced review after this lesson (if one follows it) asks questions that the
        # lessons after it then leave to the next review
        for review in plan_reviews(records, catalog)[-1:]:
            if review.after is records[-1]:
                heard = heard.asked((q.topic.id, q.quiz_number) for q in review.questions)
    return scripts


GROW_BELOW = 0.7  # a lesson shorter than this share of its budget teaches a pointer more


def plan_and_fit(
    env: jinja2.Environment,
    show: Show,
    episode: Episode,
    links: Sequence[TopicLink],
    catalog: Catalog,
    heard: Heard,
    settings: RenderSettings,
    facets: Facets | None = None,
) -> tuple[LessonPlan, Script]:
    """An episode's lesson planned and fitted to its budget; a lesson with time to spare
    gives a chapter to a prerequisite the episode names in its own right."""
    budget = settings.lesson_minutes * 60
    promoted: frozenset[str] = frozenset()
    plan, script = fit_lesson(
        env, show, plan_lesson(episode, links, catalog, heard, facets=facets), settings
    )
    for topic_id in promotable(plan):
        if seconds_of(script, settings) >= GROW_BELOW * budget:
            break
        promoted |= {topic_id}
        bigger = plan_lesson(episode, links, catalog, heard, promoted, facets)
        grown, longer = fit_lesson(env, show, bigger, settings)
        if seconds_of(longer, settings) <= budget:
            plan, script = grown, longer
    return plan, script


def render_course(
    env: jinja2.Environment,
    topics: Sequence[Topic],
    catalog: Catalog,
    settings: RenderSettings,
    facets: Facets | None = None,
) -> list[Script]:
    """One course script per topic of `topics`, in their order (prerequisites first)."""
    return [
        render_course_script(env, topic, number, len(topics), catalog, settings, facets)
        for number, topic in enumerate(topics, start=1)
    ]
