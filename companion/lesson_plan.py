"""Planning an episode lesson: what the episode is about, what the listener already heard,
and where the lesson's time goes. Pure functions; render.py turns a plan into words.

* **Centrality.** A linked topic is central when the episode's title names it, when the
  linker scored it high (many mentions, in clear places), when it comes early in the notes,
  and when no other linked topic builds on it (the most advanced topic is usually the
  subject; its prerequisites are the background). Chapters come in order of centrality.
* **Treatment.** The central topic, and a second one close to it or named in the title, get
  the ``full`` treatment: the explanation, each equation, a worked example and a quiz. Other
  topics are ``short`` (the idea's first sentence and one equation). A linked topic that a
  more central one builds on is a ``pointer``: one sentence in the introduction and the name
  of its course lesson. A topic the title names is never cut to one sentence.
* **Memory.** In publication order, a lesson never plays again what an earlier episode
  lesson of the feed played: an explanation, an equation, a worked example, a quiz question.
  A topic heard before is ``recall``: one sentence naming the lesson where the listener met
  it, then what of it is new (its next equation, another example, another question).
* **The member the episode names.** When the episode names a member of the topic's family
  (the chi-squared test of hypothesis testing, Adam of SGD; see companion.facets), the
  chapter teaches that member's facet (what sets it apart, its equations, its example and
  question) after the family's core in one or two sentences, never the family's stock
  example in its place. A member the catalog lacks gets one sentence saying so.
* **Budget.** `shrink` takes the least central chapter one step down (full to short, short
  to the idea alone, recall to its sentence), so the time left goes where the episode goes.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from companion import phrasing
from companion.facets import named_member
from companion.mathspeech import integer_words, verbalize
from companion.models import (
    Catalog,
    Episode,
    Equation,
    Evidence,
    Facet,
    Facets,
    NamedMember,
    Quiz,
    Topic,
    TopicLink,
    WorkedExample,
)
from companion.text import sentence_breaks
from companion.topics import bridge_for, choose_example

__all__ = [
    "Heard",
    "LessonPlan",
    "SourceQuote",
    "TopicPlan",
    "Treatment",
    "centrality",
    "plan_lesson",
    "promotable",
    "shrink",
]

Treatment = Literal["full", "short", "brief", "recall", "pointer"]
TITLE_BONUS = 2.0
SECOND_FULL = 0.7  # a second topic gets the full treatment at this share of the top centrality
CORE_SENTENCES = 2  # a family's core, said before the member the episode names


@dataclass(frozen=True, slots=True)
class SourceQuote:
    """A whole unit of the episode's cleaned show notes (see phrasing.quotable_units)."""

    lead: str  # the phrase slot that says where the words stand (see phrases.toml)
    text: str  # as spoken: the sentence, or a long one in its clauses
    unit: int  # its index among the quotable units; -1 for no quote


NO_QUOTE = SourceQuote("", "", -1)


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """One topic as a lesson will teach it: exactly the parts that will be spoken."""

    topic: Topic
    number: int  # chapter position from 1; 0 for a pointer (it has no chapter)
    treatment: Treatment
    explanation: str = ""  # the part of the explanation that is said ("" for none)
    equations: tuple[Equation, ...] = ()
    example: WorkedExample | None = None
    quiz: Quiz | None = None
    quiz_number: int = -1  # index into topic.quizzes; -1 for no quiz
    centrality: float = 0.0
    title_named: bool = False  # the episode's title names it
    central: bool = False  # planned for the full treatment (a recall of it plays more)
    mentions: tuple[str, ...] = ()  # the phrases the episode used, best first
    evidence: tuple[Evidence, ...] = ()
    met_in: str = ""  # the earlier lesson of the feed where the listener met it
    met_briefly: bool = False  # ... in a single sentence only
    rests_on: tuple[Topic, ...] = ()  # pointers of this lesson that this topic builds on
    quote: SourceQuote = NO_QUOTE
    bridge: str = ""  # the catalog's sentence tying the episode's wording to the math
    listen_at: str = ""  # "About fourteen minutes into the episode", when a time is known
    listen_phrase: str = ""  # what the episode says there
    unmet_prerequisites: tuple[Topic, ...] = ()  # course lessons: none (prerequisites first)
    member: NamedMember | None = None  # the member of the topic's family the episode names
    distinction: str = ""  # what sets the member apart, as said ("" for none)
    teaches_member: bool = False  # the chapter plays parts of the member's facet

    @property
    def full(self) -> bool:
        return self.treatment == "full"

    @property
    def facet(self) -> Facet | None:
        """The catalog's facet of the member the episode names, if it has one."""
        return self.member.facet if self.member is not None else None

    @property
    def name(self) -> str:
        """How the lesson names the topic: the episode's own phrase, else the title."""
        return self.mentions[0] if self.mentions else self.topic.title


@dataclass(frozen=True, slots=True)
class LessonPlan:
    episode: Episode
    chapters: tuple[TopicPlan, ...]  # most central first
    pointers: tuple[TopicPlan, ...]  # prerequisites said in one sentence each
    gist: SourceQuote = NO_QUOTE  # the opening of the show notes, when it is quotable

    @property
    def topic_ids(self) -> tuple[str, ...]:
        return tuple(plan.topic.id for plan in self.chapters)


@dataclass(frozen=True, slots=True)
class Heard:
    """What the earlier episode lessons of a feed played, by topic."""

    # topic id -> the latest lesson that played something of it, so each recall names
    # another lesson
    met: Mapping[str, str] = field(default_factory=dict)
    facets: frozenset[tuple[str, str]] = frozenset()  # (topic id, facet), see `facets_of`

    def has(self, topic: Topic, facet: str) -> bool:
        return (topic.id, facet) in self.facets

    def asked(self, questions: Iterable[tuple[str, int]]) -> Heard:
        """What has been heard once a review has asked ``questions`` (topic id, quiz number)."""
        return Heard(self.met, self.facets | {(t, f"quiz:{n}") for t, n in questions})

    def after(self, plan: LessonPlan, lesson_name: str) -> Heard:
        """What has been heard once ``plan`` has played too."""
        met = dict(self.met)
        facets = set(self.facets)
        for topic_plan in (*plan.chapters, *plan.pointers):
            topic = topic_plan.topic
            met[topic.id] = lesson_name
            facets |= facets_of(topic_plan)
            every = range(len(_sentences(topic.explanation)))
            if all((topic.id, f"sentence:{index}") in facets for index in every):
                facets.add((topic.id, "explanation"))
        return Heard(met, frozenset(facets))


def facets_of(plan: TopicPlan) -> set[tuple[str, str]]:
    """The parts of a topic a plan plays: sentence:N of its explanation, equation:N,
    example:TEXT, quiz:N, bridge:TEXT, and of a member's facet facet:ID:distinction,
    facet:ID:equation:N and facet:ID:quiz:N (and `Heard.after` adds "explanation" once every
    sentence has been played)."""
    topic = plan.topic
    found: set[tuple[str, str]] = set()
    facet = plan.facet
    if facet is not None:
        if plan.distinction:
            found.add((topic.id, f"facet:{facet.id}:distinction"))
        for index, equation in enumerate(facet.equations):
            if equation in plan.equations:
                found.add((topic.id, f"facet:{facet.id}:equation:{index}"))
        for index, quiz in enumerate(facet.quizzes):
            if quiz == plan.quiz:
                found.add((topic.id, f"facet:{facet.id}:quiz:{index}"))
    said = set(_sentences(plan.explanation)) if plan.explanation else set()
    for index, sentence in enumerate(_sentences(topic.explanation)):
        if sentence in said:
            found.add((topic.id, f"sentence:{index}"))
    for equation in plan.equations:
        found.add((topic.id, f"formula:{formula_shape(equation.latex)}"))
        if equation in topic.equations:
            found.add((topic.id, f"equation:{topic.equations.index(equation)}"))
    if plan.example is not None:
        found.add((topic.id, f"example:{plan.example.text}"))
    if plan.bridge:
        found.add((topic.id, f"bridge:{plan.bridge}"))
    if plan.quiz_number >= 0:
        found.add((topic.id, f"quiz:{plan.quiz_number}"))
    return found


# --- centrality -----------------------------------------------------------------------------


def centrality(link: TopicLink, builds_on_it: bool, first_unit: float) -> float:
    """How central a linked topic is to its episode (higher is more central).

    ``builds_on_it``: another linked topic rests on this one; ``first_unit``: where in the
    show notes the topic is first named, from 0 (the start) to 1 (the end; also: not at all).
    """
    title = any(e.field == "title" for e in link.evidence)
    mentions = len({(e.field, e.sentence, e.phrase.lower()) for e in link.evidence})
    return (
        link.score
        + (TITLE_BONUS if title else 0.0)
        + 0.5 * math.log2(1 + mentions)
        + (0.0 if builds_on_it else 1.0)
        - 0.5 * first_unit
    )


def _prerequisite_closure(topic: Topic, catalog: Catalog) -> set[str]:
    seen: set[str] = set()
    stack = list(topic.prerequisites)
    while stack:
        topic_id = stack.pop()
        if topic_id in seen or topic_id not in catalog:
            continue
        seen.add(topic_id)
        stack.extend(catalog.get(topic_id).prerequisites)
    return seen


def _needles(evidence: Sequence[Evidence]) -> list[re.Pattern[str]]:
    """Patterns for the words that named a topic: the phrase found, and the alias or concept
    it matched (which may be the singular of the phrase: "RNN" for "RNNs")."""
    words = {
        phrasing.clean_for_speech(text).lower()
        for e in evidence
        if e.field != "transcript"
        for text in (e.phrase, e.via)
        if text and "*" not in text and "..." not in text
    }
    return [re.compile(r"(?<!\w)" + re.escape(word), re.IGNORECASE) for word in words if word]


def _first_unit(link: TopicLink, units: Sequence[str]) -> float:
    needles = _needles(link.evidence)
    for index, unit in enumerate(units):
        if any(needle.search(unit) for needle in needles):
            return index / max(1, len(units))
    return 1.0


# --- the plan -------------------------------------------------------------------------------


def plan_lesson(
    episode: Episode,
    links: Sequence[TopicLink],
    catalog: Catalog,
    heard: Heard = Heard(),
    promoted: frozenset[str] = frozenset(),
    facets: Facets | None = None,
) -> LessonPlan:
    """The lesson of one episode: its chapters by centrality, each treated as it deserves.

    ``promoted``: pointers that get a short chapter after all (see `promotable`);
    ``facets``: the named members of the topics' families (None: teach families only).
    """
    units = phrasing.quote_units(episode.description)
    texts = [unit.text for unit in units]
    linked = {link.topic.id for link in links}
    needs = {link.topic.id: _prerequisite_closure(link.topic, catalog) & linked for link in links}
    built_on = {t for closure in needs.values() for t in closure}
    scores = {
        link.topic.id: centrality(link, link.topic.id in built_on, _first_unit(link, texts))
        for link in links
    }
    order = {topic.id: index for index, topic in enumerate(catalog.topics)}
    ranked = sorted(links, key=lambda link: (-scores[link.topic.id], order.get(link.topic.id, 0)))
    title_named = {
        link.topic.id for link in links if any(e.field == "title" for e in link.evidence)
    }

    # A linked topic that a more central chapter builds on is a pointer (unless the title
    # names it); the others are chapters. The central chapter, a close second and every
    # chapter the title names get the full treatment, the rest are short.
    chapter_ids: list[str] = []
    pointer_ids: list[str] = []
    for link in ranked:
        topic_id = link.topic.id
        if (
            topic_id not in title_named
            and topic_id not in promoted
            and any(topic_id in needs[c] for c in chapter_ids)
        ):
            pointer_ids.append(topic_id)
        else:
            chapter_ids.append(topic_id)
    top = scores[chapter_ids[0]] if chapter_ids else 0.0
    if chapter_ids and chapter_ids[0] in title_named:
        top -= TITLE_BONUS  # a second topic is close when it is close on everything else
    full = [
        topic_id
        for index, topic_id in enumerate(chapter_ids)
        if index == 0
        or (index == 1 and scores[topic_id] >= SECOND_FULL * top)
        or topic_id in title_named
    ]
    chapter_links = [link for link in ranked if link.topic.id in chapter_ids]

    pointers = tuple(
        _pointer(link, heard, scores[link.topic.id])
        for link in ranked
        if link.topic.id in pointer_ids
    )
    chapters: list[TopicPlan] = []
    for number, link in enumerate(chapter_links, start=1):
        topic = link.topic
        rests_on = tuple(p.topic for p in pointers if p.topic.id in needs[topic.id])
        treatment: Treatment = "full" if topic.id in full else "short"
        chapters.append(
            _chapter(
                link,
                number,
                treatment,
                heard,
                scores[topic.id],
                topic.id in title_named,
                episode.description + " " + episode.title,
                rests_on,
                named_member(link, facets) if facets is not None else None,
            )
        )
    chapters = list(_without_empty_recalls(chapters))
    # a pointer is said once, by the first chapter that rests on it
    claimed: set[str] = set()
    for index, chapter in enumerate(chapters):
        own = tuple(t for t in chapter.rests_on if t.id not in claimed)
        claimed.update(t.id for t in own)
        chapters[index] = replace(chapter, rests_on=own)
    orphans = tuple(p.topic for p in pointers if p.topic.id not in claimed)
    if orphans and chapters:
        chapters[0] = replace(chapters[0], rests_on=chapters[0].rests_on + orphans)
    return _with_quotes(LessonPlan(episode, tuple(chapters), pointers), units)


def promotable(plan: LessonPlan) -> tuple[str, ...]:
    """Pointers the episode names in their own right, most central first: a mention that is
    not part of a chapter's own mention ("Bellman equation" beside "policy gradient", where
    "gradient" is only part of the name). A lesson with time to spare teaches them."""
    taken = [e.phrase.lower() for c in plan.chapters for e in c.evidence if e.phrase]
    return tuple(
        pointer.topic.id
        for pointer in sorted(plan.pointers, key=lambda p: -p.centrality)
        if any(
            e.phrase and not e.via and not any(e.phrase.lower() in t for t in taken)
            for e in pointer.evidence
        )
    )


def _mentions(link: TopicLink) -> tuple[str, ...]:
    """The phrases that named the topic, the notes' own before the title's."""
    named = [e for e in link.evidence if e.phrase and not e.via]
    named.sort(key=lambda e: e.field == "title")
    return tuple(dict.fromkeys(e.phrase for e in named))


def _timing(link: TopicLink) -> tuple[str, str]:
    timed = [e for e in link.evidence if e.start is not None and e.start >= 0]
    if not timed:
        return "", ""
    first = min(timed, key=lambda e: e.start or 0.0)
    return where_to_listen(first.start or 0.0), first.phrase


def _pointer(link: TopicLink, heard: Heard, score: float) -> TopicPlan:
    """A prerequisite in one sentence: the bridge from the episode's words to it, else its
    idea's first sentence; nothing more when the listener has met it."""
    topic = link.topic
    met = heard.met.get(topic.id, "")
    bridge = _bridge(topic, link.evidence, heard)
    idea = "" if met or bridge else _sentences(topic.explanation)[0]
    return TopicPlan(
        topic,
        0,
        "pointer",
        explanation=idea,
        centrality=score,
        mentions=_mentions(link),
        evidence=link.evidence,
        met_in=met,
        bridge=bridge,
    )


def _bridge(topic: Topic, evidence: Sequence[Evidence], heard: Heard) -> str:
    """The first bridge for the words that named the topic, if not heard before."""
    for item in evidence:
        for phrase in (item.phrase, item.via):
            sentence = bridge_for(topic, phrase) if phrase else None
            if sentence and not heard.has(topic, f"bridge:{sentence}"):
                return sentence
    return ""


def _chapter(
    link: TopicLink,
    number: int,
    treatment: Treatment,
    heard: Heard,
    score: float,
    title_named: bool,
    episode_text: str,
    rests_on: tuple[Topic, ...],
    member: NamedMember | None = None,
) -> TopicPlan:
    topic = link.topic
    listen_at, listen_phrase = _timing(link)
    plan = TopicPlan(
        topic,
        number,
        treatment,
        centrality=score,
        title_named=title_named,
        central=treatment == "full",
        mentions=_mentions(link),
        evidence=link.evidence,
        met_in=heard.met.get(topic.id, ""),
        met_briefly=topic.id in heard.met and not heard.has(topic, "explanation"),
        rests_on=rests_on,
        bridge=_bridge(topic, link.evidence, heard),
        listen_at=listen_at,
        listen_phrase=listen_phrase,
        member=member,
    )
    if heard.has(topic, "explanation"):
        plan = replace(plan, treatment="recall")
    return _fill(plan, heard, episode_text)


def _fill(plan: TopicPlan, heard: Heard, episode_text: str) -> TopicPlan:
    """The parts a plan's treatment plays, leaving out whatever was heard before."""
    if plan.facet is not None and _facet_news(plan.facet, heard):
        return _fill_member(plan, plan.facet, heard)
    topic = plan.topic
    equations = tuple(
        eq
        for index, eq in enumerate(topic.equations)
        if not heard.has(topic, f"equation:{index}") and not _formula_heard(heard, topic.id, eq)
    )
    played = [e for e in topic.examples if heard.has(topic, f"example:{e.text}")]
    example = choose_example(topic, episode_text, exclude=played)
    quizzes = [i for i in range(len(topic.quizzes)) if not heard.has(topic, f"quiz:{i}")]
    quiz_number = quizzes[0] if quizzes else -1
    numbered = [
        (index, sentence)
        for index, sentence in enumerate(_sentences(topic.explanation))
        if not heard.has(topic, f"sentence:{index}")
    ]
    sentences = [sentence for _, sentence in numbered]
    treatment = plan.treatment
    if treatment == "full":
        return replace(
            plan,
            explanation=" ".join(sentences),
            equations=equations,
            example=example,
            quiz=topic.quizzes[quiz_number] if quiz_number >= 0 else None,
            quiz_number=quiz_number,
        )
    if treatment == "short":
        sentence, equation = one_thought(plan, numbered, equations)
        return replace(plan, explanation=sentence, equations=equation)
    if treatment == "brief":
        return replace(plan, explanation=one_thought(plan, numbered, ())[0], equations=())
    if treatment == "recall":
        # a central topic heard before plays everything of it that is new; another, one facet
        if plan.central or plan.title_named:
            return replace(
                plan,
                equations=equations,
                example=example,
                quiz=topic.quizzes[quiz_number] if quiz_number >= 0 else None,
                quiz_number=quiz_number,
            )
        if equations:
            return replace(plan, equations=closest_equations(equations, plan.evidence)[:1])
        if example is not None:
            return replace(plan, example=example)
        if quiz_number >= 0:
            return replace(plan, quiz=topic.quizzes[quiz_number], quiz_number=quiz_number)
        return plan
    return plan


def _formula_heard(heard: Heard, topic_id: str, equation: Equation) -> bool:
    return (topic_id, f"formula:{formula_shape(equation.latex)}") in heard.facets


@functools.cache
def formula_shape(latex: str) -> str:
    """An equation as heard with its letters renamed in order of appearance: the same formula
    written with other letters (a topic's cosine in a and b, its member's in x and y) has
    one shape, so a listener never hears it twice."""
    names: dict[str, str] = {}
    words = re.findall(r"[\w']+|,", verbalize(latex))
    return " ".join(
        names.setdefault(word, f"#{len(names)}") if len(word) == 1 and word.isalpha() else word
        for word in words
    )


def _facet_news(facet: Facet, heard: Heard) -> bool:
    """Whether anything of a member's facet is left to play."""
    return any(_facet_parts(facet, heard))


def _facet_parts(facet: Facet, heard: Heard) -> tuple[bool, bool, bool, bool]:
    """Which parts of a facet have not been heard: distinction, equations, example, quiz."""
    topic_id = facet.topic_id

    def new(part: str) -> bool:
        return (topic_id, part) not in heard.facets

    return (
        new(f"facet:{facet.id}:distinction"),
        any(
            new(f"facet:{facet.id}:equation:{i}") and not _formula_heard(heard, topic_id, eq)
            for i, eq in enumerate(facet.equations)
        ),
        new(f"example:{facet.example.text}"),
        any(new(f"facet:{facet.id}:quiz:{i}") for i in range(len(facet.quizzes))),
    )


def _fill_member(plan: TopicPlan, facet: Facet, heard: Heard) -> TopicPlan:
    """A chapter on the member the episode names: the family's core in one or two sentences
    (none for a recall), then the member's distinction, equations, example and question, each
    left out when heard before. The family's own example and questions are not played."""
    topic = plan.topic

    def new(part: str) -> bool:
        return (topic.id, part) not in heard.facets

    # the family's core is its opening; later sentences may be about other members
    core = [
        sentence
        for index, sentence in enumerate(_sentences(topic.explanation)[:CORE_SENTENCES])
        if new(f"sentence:{index}")
    ]
    distinction = facet.distinction if new(f"facet:{facet.id}:distinction") else ""
    equations = tuple(
        eq
        for index, eq in enumerate(facet.equations)
        if new(f"facet:{facet.id}:equation:{index}") and not _formula_heard(heard, topic.id, eq)
    )
    example = facet.example if new(f"example:{facet.example.text}") else None
    quiz = next(
        (q for index, q in enumerate(facet.quizzes) if new(f"facet:{facet.id}:quiz:{index}")), None
    )
    member = replace(plan, distinction=distinction, quiz_number=-1, teaches_member=True)
    if plan.treatment == "full":
        return replace(
            member,
            explanation=" ".join(core),
            equations=equations,
            example=example,
            quiz=quiz,
        )
    if plan.treatment in ("short", "brief"):
        return replace(
            member,
            explanation=" ".join(core[:1]),
            distinction=_first_of(distinction),
            equations=equations[:1] if plan.treatment == "short" else (),
        )
    # a recall: everything new of the member for a central topic, else one part of it
    if plan.central or plan.title_named:
        return replace(member, equations=equations, example=example, quiz=quiz)
    if distinction or equations:
        return replace(member, equations=equations[:1])
    return replace(member, example=example) if example else replace(member, quiz=quiz)


def one_thought(
    plan: TopicPlan, numbered: Sequence[tuple[int, str]], equations: Sequence[Equation]
) -> tuple[str, tuple[Equation, ...]]:
    """A short chapter's sentence and equation, chosen to say one thing. A sentence that
    mostly says again what the chapter's bridge just said is left out. The equation is the
    one closest to the episode's mentions; the sentence is the topic's opening idea when it
    is new (it fits every equation of the topic), else the one sharing most words with the
    equation's meaning. When neither fits (the sentences left are about other members), only
    one of them plays: the equation if the episode mentions what it means, else the sentence
    closest to the mentions ("Cosine similarity ignores length" is never followed by "As an
    equation:" and the Euclidean distance). Words of the topic's title match everything, so
    they count for nothing."""
    title = _stems(plan.topic.title)

    def words(text: str) -> set[str]:
        return _stems(text) - title

    bridge = words(plan.bridge)
    numbered = [
        (index, sentence)
        for index, sentence in numbered
        if not bridge or len(words(sentence) & bridge) * 2 < max(len(words(sentence)), 1)
    ]
    first = numbered[0][1] if numbered else ""
    if not equations:
        return first, ()
    equation = closest_equations(equations, plan.evidence)[0]
    if not numbered or numbered[0][0] == 0:
        return first, (equation,)
    meaning = words(equation.meaning)
    overlap = [len(words(sentence) & meaning) for _, sentence in numbered]
    if max(overlap) > 0:
        return numbered[overlap.index(max(overlap))][1], (equation,)
    said = words(" ".join(f"{e.phrase} {e.via}" for e in plan.evidence))
    if meaning & said:
        return "", (equation,)
    closeness = [len(words(sentence) & said) for _, sentence in numbered]
    return numbered[closeness.index(max(closeness))][1], ()


def _stems(text: str) -> set[str]:
    """Content words, cut to five letters so that "estimate" meets "estimates"."""
    return {word[:5] for word in _WORD.findall(text.lower()) if len(word) > 3}


def closest_equations(
    equations: Sequence[Equation], evidence: Sequence[Evidence]
) -> tuple[Equation, ...]:
    """The equations, those whose meaning shares most words with the episode's mentions first
    (a short chapter on MDPs for an episode about the Bellman equation reads that one)."""
    said = {w for e in evidence for w in _WORD.findall(f"{e.phrase} {e.via}".lower()) if len(w) > 3}

    def shared(equation: Equation) -> int:
        return len(said & {w for w in _WORD.findall(equation.meaning.lower())})

    return tuple(sorted(equations, key=lambda equation: -shared(equation)))


def shrink(plan: LessonPlan) -> LessonPlan | None:
    """The plan one step shorter, taken from its least central chapter that can give time;
    None when nothing can be cut any more. The first chapter stays as it is. A recall left
    with nothing to play goes, its pointers to the first chapter."""
    for index in range(len(plan.chapters) - 1, 0, -1):
        chapter = plan.chapters[index]
        smaller = _smaller(chapter)
        if smaller is not None:
            chapters = list(plan.chapters)
            chapters[index] = smaller
            kept = _without_empty_recalls(chapters)
            if len(kept) == len(chapters):
                return replace(plan, chapters=kept)
            units = phrasing.quote_units(plan.episode.description)
            return _with_quotes(replace(plan, chapters=kept), units)
    return None


def _plays_something(chapter: TopicPlan) -> bool:
    notice = chapter.member.notice if chapter.member is not None else ""
    return bool(
        chapter.explanation
        or chapter.equations
        or chapter.example
        or chapter.quiz
        or chapter.distinction
        or notice
    )


def _without_empty_recalls(chapters: Sequence[TopicPlan]) -> tuple[TopicPlan, ...]:
    """The chapters but a recall with nothing new to play ("Back to Embeddings, last heard
    in ...", and then the next chapter); what it rested on moves to the first chapter. A
    lesson keeps at least its first chapter."""
    kept = [
        c
        for i, c in enumerate(chapters)
        if i == 0 or c.treatment != "recall" or _plays_something(c)
    ]
    if len(kept) == len(chapters):
        return tuple(chapters)
    moved = tuple(t for c in chapters if c not in kept for t in c.rests_on)
    first = kept[0]
    kept[0] = replace(
        first, rests_on=first.rests_on + tuple(t for t in moved if t not in first.rests_on)
    )
    return tuple(replace(c, number=number) for number, c in enumerate(kept, start=1))


def _smaller(chapter: TopicPlan) -> TopicPlan | None:
    if chapter.treatment == "full":
        return replace(
            chapter,
            treatment="short",
            example=None,
            quiz=None,
            quiz_number=-1,
            explanation=" ".join(_sentences(chapter.explanation)[:1]),
            equations=chapter.equations[:1],
            distinction=_first_of(chapter.distinction),
        )
    if chapter.treatment == "short" and not chapter.title_named and chapter.equations:
        return replace(chapter, treatment="brief", equations=())
    if chapter.treatment == "recall" and (chapter.example or chapter.quiz):
        return replace(chapter, example=None, quiz=None, quiz_number=-1)
    if chapter.treatment == "recall" and chapter.distinction and chapter.equations:
        return replace(chapter, equations=())
    if chapter.treatment == "recall" and chapter.equations and not chapter.title_named:
        return replace(chapter, equations=())
    return None


# --- quotes ---------------------------------------------------------------------------------

QUOTE_ROOM = phrasing.QUOTE_WORDS_LIMIT  # the most words of a quote (its own sentence)


def _with_quotes(plan: LessonPlan, units: Sequence[phrasing.QuoteUnit]) -> LessonPlan:
    """The introduction's and each chapter's quote: whole sentences of the show notes, each
    at most once, with a lead-in that says where the words stand relative to the last quote."""
    used: set[int] = set()
    last = -1
    gist = NO_QUOTE
    if units and _words(units[0].text) >= 3 and units[0].longest_breath <= QUOTE_ROOM:
        gist = SourceQuote("quote_opens", units[0].spoken, 0)
        used.add(0)
        last = 0
    chapters = []
    for chapter in plan.chapters:
        unit = _quote_unit(chapter, units, used)
        if unit is None:
            lead = "quote_none" if not chapter.evidence else ""
            if lead == "" and all(e.field == "title" for e in chapter.evidence):
                lead = "quote_title"
            chapters.append(replace(chapter, quote=SourceQuote(lead, "", -1)))
            continue
        if last < 0:
            lead = "quote_opens" if unit == 0 else "quote_first"
        elif unit == last + 1:
            lead = "quote_next"
        elif unit > last:
            lead = "quote_later"
        else:
            lead = "quote_earlier"
        used.add(unit)
        last = unit
        chapters.append(replace(chapter, quote=SourceQuote(lead, units[unit].spoken, unit)))
    return replace(plan, gist=gist, chapters=tuple(chapters))


def _quote_unit(
    chapter: TopicPlan, units: Sequence[phrasing.QuoteUnit], used: set[int]
) -> int | None:
    """The first sentence not quoted yet that names the chapter's topic and fits the ear."""
    needles = _needles(chapter.evidence)
    for index, unit in enumerate(units):
        if index in used or unit.longest_breath > QUOTE_ROOM:
            continue
        if any(needle.search(unit.text) for needle in needles):
            return index
    return None


# --- small helpers --------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _first_of(text: str) -> str:
    """The first sentence of catalog prose; "" for none."""
    return _sentences(text)[0] if text else ""


def _sentences(text: str) -> list[str]:
    """Sentences of catalog prose, its $...$ math left whole."""
    text = text.strip()
    found: list[str] = []
    start = 0
    for match in sentence_breaks(text, "capital"):
        if text.count("$", 0, match.start()) % 2 == 0:
            found.append(text[start : match.start()])
            start = match.end()
    found.append(text[start:])
    return [s for s in found if s] or [""]


def spoken_cardinal(value: int) -> str:
    """0-999 in words: 'fourteen', 'forty-two', 'one hundred and five'."""
    return integer_words(value, prose=True) if 0 <= value < 1000 else str(value)


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
