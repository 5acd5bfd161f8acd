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

from companion import layout, phrasing, pronounce
from companion.errors import MathSpeechError, RenderError
from companion.ingest import date_key
from companion.mathspeech import verbalize, verbalize_inline
from companion.mathspeech.vocabulary import ONES, TENS
from companion.models import (
    SECTION_KINDS,
    Catalog,
    Episode,
    Evidence,
    Paragraph,
    Script,
    Section,
    SectionKind,
    Show,
    Topic,
    TopicLink,
)
from companion.phrasing import Phrasebook, Quote
from companion.pronounce import MATH_CLOSE, MATH_OPEN, strip_math_markers
from companion.review import ReviewPlan
from companion.text import SYMBOL_WORDS, URL_IN_TEXT

SLOW_RATE = 0.85
LEFTOVER_TEX = re.compile(r"[\\$^_{}]")
_SYMBOL_WORDS = {**SYMBOL_WORDS, "$": " dollars "}


@dataclass(frozen=True, slots=True)
class RenderSettings:
    companion_title: str = "Math Companion"
    lesson_minutes: float = 6.0
    quiz_pause: float = 2.5  # seconds to think before the answer
    words_per_minute: int = 165
    equation_rate: float = SLOW_RATE  # equations are read at this times the voice's rate
    sentence_gap: float = 0.4  # seconds; the synthesizer's, for the length estimate
    section_gap: float = 1.0


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """One topic as it will be taught in a lesson."""

    topic: Topic
    number: int
    full: bool  # False: trimmed to the idea and one equation to fit the lesson's length
    mentions: tuple[str, ...]  # the phrases the episode used
    unmet_prerequisites: tuple[Topic, ...]  # not taught here or in an earlier lesson
    evidence: tuple[Evidence, ...] = ()  # where the episode names the topic
    listen_at: str = ""  # "About fourteen minutes into the episode", when a time is known
    listen_phrase: str = ""  # what the episode says there
    brief: bool = False  # trimmed further, to the idea's first sentence and one equation


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
    env.filters["first_sentence"] = first_sentence
    env.filters["spoken_list"] = spoken_list
    env.filters["spoken_number"] = spoken_number
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


def spoken_list(items: Iterable[str]) -> str:
    """'a', 'a and b', 'a, b and c'; 'a; b and c; and d' when an item holds its own 'and'."""
    words = [item for item in items if item]
    if any(" and " in word for word in words) and len(words) > 1:
        return "; ".join(words[:-1]) + "; and " + words[-1]
    if len(words) <= 2:
        return " and ".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def spoken_number(value: int) -> str:
    """0-10 in words ('three'); larger numbers as digits."""
    return ONES[value] if 0 <= value <= 10 else str(value)


def spoken_cardinal(value: int) -> str:
    """0-999 in words: 'fourteen', 'forty-two', 'one hundred and five'."""
    if not 0 <= value < 1000:
        return str(value)
    if value < 20:
        return ONES[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return TENS[tens] + (f"-{ONES[ones]}" if ones else "")
    hundreds, rest = divmod(value, 100)
    return f"{ONES[hundreds]} hundred" + (f" and {spoken_cardinal(rest)}" if rest else "")


def where_to_listen(seconds: float) -> str:
    """'About fourteen minutes into the episode', 'About one hour and five minutes ...'."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "Right at the start of the episode"
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{spoken_cardinal(hours)} hour{'s' if hours > 1 else ''}")
    if rest:
        parts.append(f"{spoken_cardinal(rest)} minute{'s' if rest > 1 else ''}")
    return f"About {' and '.join(parts)} into the episode"


# --- planning -------------------------------------------------------------------------------


def plan_topics(
    links: Sequence[TopicLink], catalog: Catalog, known: frozenset[str]
) -> tuple[TopicPlan, ...]:
    """Order linked topics prerequisites-first, each taught in full, each with its quote."""
    order = {topic.id: index for index, topic in enumerate(catalog.topics)}
    ordered = sorted(links, key=lambda link: order.get(link.topic.id, len(order)))
    taught: set[str] = set(known)
    plans: list[TopicPlan] = []
    for number, link in enumerate(ordered, start=1):
        topic = link.topic
        unmet = tuple(
            catalog.get(p) for p in topic.prerequisites if p not in taught and p in catalog
        )
        mentions = tuple(dict.fromkeys(e.phrase for e in link.evidence if e.phrase))
        timed = [e for e in link.evidence if e.start is not None and e.start >= 0]
        first = min(timed, key=lambda e: e.start or 0.0) if timed else None
        plans.append(
            TopicPlan(
                topic,
                number,
                True,
                mentions[:2],
                unmet,
                link.evidence,
                where_to_listen(first.start or 0.0) if first else "",
                first.phrase if first else "",
            )
        )
        taught.add(topic.id)
    return tuple(plans)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def script_sentences(script: Script) -> list[str]:
    """The sentences a script speaks, in order."""
    return [
        sentence
        for section in script.sections
        for paragraph in section.paragraphs
        for sentence in _SENTENCE_END.split(paragraph.text)
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


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def first_sentence(text: str) -> str:
    """The first sentence of a paragraph of catalog prose (its $...$ math left whole)."""
    text = text.strip()
    for match in _SENTENCE_END.finditer(text):
        if text.count("$", 0, match.start()) % 2 == 0:  # not inside inline math
            return text[: match.start()]
    return text


# --- rendering ------------------------------------------------------------------------------


def render_lesson(
    env: jinja2.Environment,
    show: Show,
    episode: Episode,
    plans: Sequence[TopicPlan],
    settings: RenderSettings,
) -> Script:
    """The lesson for one episode within its time budget.

    Topics are shortened from the last one back (to their idea and one equation; the rest
    is in the course feed) until the lesson fits. An episode that touches many topics may
    still be too long with only the first topic whole: then the topics after the first are
    cut further, again from the last one back, to the idea's first sentence and one equation.
    """
    plans = list(plans)
    script = render_script(env, show, episode, plans, settings)
    budget = settings.lesson_minutes * 60
    for brief in (False, True):
        for index in range(len(plans) - 1, 0, -1):
            seconds = spoken_seconds(
                script, settings.words_per_minute, settings.sentence_gap, settings.section_gap
            )
            if seconds <= budget:
                return script
            plans[index] = replace(plans[index], full=False, brief=brief)
            script = render_script(env, show, episode, plans, settings)
    return script


def render_script(
    env: jinja2.Environment,
    show: Show,
    episode: Episode,
    plans: Sequence[TopicPlan],
    settings: RenderSettings,
) -> Script:
    """The lesson for one episode, with the topics as planned."""
    phrases: Phrasebook = env.globals["phrases"]  # type: ignore[assignment]
    gist = phrasing.spoken_quote(phrasing.episode_gist(episode), phrases.room("gist", "gist"))
    context = {
        "lesson_key": episode.slug,
        "companion_title": speakable(settings.companion_title),
        "show_title": speakable(show.title),
        "episode_title": speakable(episode.title),
        "gist": gist,
        "quotes": topic_quotes(gist, plans, episode, phrases),
        "topics": plans,
        "quiz_pause": settings.quiz_pause,
        "slow": SLOW_RATE,
    }
    text = _render(env, "lesson.txt.j2", context, episode.slug)
    sections = parse_marked_text(text, episode.slug, settings.equation_rate)
    return Script(
        slug=episode.slug,
        title=f"Math for {episode.title}",
        sections=sections,
        topic_ids=tuple(plan.topic.id for plan in plans),
    )


@dataclass(frozen=True, slots=True)
class SpokenQuote:
    slot: str  # the phrase that attributes it: quote, quote_again, quote_same, quote_title or
    # quote_none (see phrases.toml)
    text: str


def topic_quotes(
    gist_text: str, plans: Sequence[TopicPlan], episode: Episode, phrases: Phrasebook
) -> dict[str, SpokenQuote]:
    """How each topic section opens: the episode's words where the topic was found.

    A topic is quoted from a sentence the listener has not heard yet in this lesson (in the
    introduction or for an earlier topic) when it can be; otherwise by just the clause that
    names it, so no sentence is heard twice.
    """
    heard = _shingles(gist_text)
    spoken = {gist_text}
    quotes: dict[str, SpokenQuote] = {}
    for plan in plans:
        candidates = phrasing.quote_candidates(plan.evidence, episode.description)
        chosen = _choose_quote(candidates, heard, spoken, phrases)
        quotes[plan.topic.id] = chosen
        spoken.add(chosen.text)
        heard |= _shingles(chosen.text)
    return quotes


_SHINGLE = 6  # words in a row that make a sentence "already heard"


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i : i + _SHINGLE]) for i in range(max(1, len(words) - _SHINGLE + 1))}


def _choose_quote(
    candidates: Sequence[Quote], heard: set[tuple[str, ...]], spoken: set[str], phrases: Phrasebook
) -> SpokenQuote:
    descriptions = [c for c in candidates if c.source == "description"]
    for quote in descriptions:
        if not _shingles(quote.sentence) & heard:
            return SpokenQuote(
                "quote", phrasing.spoken_quote(quote, phrases.room("quote", "quote"))
            )
    room = phrases.room("quote_again", "quote")
    again = [
        SpokenQuote("quote_again", phrasing.spoken_quote(quote, room, tight=tight))
        for tight in (1, 2)
        for quote in descriptions
    ]
    for candidate in again:
        if candidate.text not in spoken:
            return candidate
    titles = [c for c in candidates if c.source == "title"]
    if titles and not descriptions:
        text = phrasing.spoken_quote(titles[0], phrases.room("quote_title", "quote"))
        return SpokenQuote("quote_title", text.rstrip("."))
    if descriptions:
        return SpokenQuote("quote_same", phrasing.spoken_quote(descriptions[0], tight=3))
    return SpokenQuote("quote_none", "")


def render_review_script(
    env: jinja2.Environment, plan: ReviewPlan, settings: RenderSettings
) -> Script:
    """A spaced review episode: each planned question, a pause to think, the answer."""
    questions = [
        {
            "title": speakable(q.topic.title),
            "text": q.quiz.question,
            "answer": q.quiz.answer,
            "meaning": _SENTENCE_END.split(q.topic.explanation, maxsplit=1)[0],
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
        "quiz_pause": settings.quiz_pause,
        "nudge_pause": NUDGE_PAUSE,
        "slow": SLOW_RATE,
    }
    text = _render(env, "review.txt.j2", context, plan.slug)
    return Script(
        slug=plan.slug,
        title=review_title(plan),
        sections=parse_marked_text(text, plan.slug, settings.equation_rate),
        topic_ids=tuple(q.topic.id for q in plan.questions),
    )


# A review question gets a longer time to think than a lesson's: the quiz pause, a short nudge
# ("take another moment"), and this many seconds more; no silence passes 3 seconds.
NUDGE_PAUSE = 1.5


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
) -> Script:
    """The course lesson that teaches one catalog topic in full."""
    prerequisites = tuple(catalog.get(p) for p in topic.prerequisites if p in catalog)
    plan = TopicPlan(topic, 1, True, (), ())  # the course teaches prerequisites first
    context = {
        "lesson_key": layout.course_slug(topic.id),
        "prerequisites": prerequisites,
        "companion_title": speakable(settings.companion_title),
        "topic": plan,
        "number": number,
        "total": total,
        "quiz_pause": settings.quiz_pause,
        "slow": SLOW_RATE,
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


def parse_marked_text(text: str, slug: str, slow_rate: float = SLOW_RATE) -> tuple[Section, ...]:
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
                Paragraph(paragraph, rate=slow_rate if slow else 1.0, math=math, second_voice=ask)
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
) -> dict[str, Script]:
    """The lesson of every episode with topics, keyed by guid.

    Episodes are rendered oldest first, so a prerequisite taught in an earlier lesson counts
    as met.
    """
    known: set[str] = set()
    scripts: dict[str, Script] = {}
    for episode in sorted(episodes, key=date_key):
        episode_links = links[episode.guid]
        if not episode_links:
            continue
        plans = plan_topics(episode_links, catalog, frozenset(known))
        scripts[episode.guid] = render_lesson(env, show, episode, plans, settings)
        known.update(plan.topic.id for plan in plans)
    return scripts


def render_course(
    env: jinja2.Environment, topics: Sequence[Topic], catalog: Catalog, settings: RenderSettings
) -> list[Script]:
    """One course script per topic of `topics`, in their order (prerequisites first)."""
    return [
        render_course_script(env, topic, number, len(topics), catalog, settings)
        for number, topic in enumerate(topics, start=1)
    ]
