"""Frozen dataclasses passed between the stages: the contracts of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal, get_args

from companion import layout
from companion.settings_table import DEFAULT
from companion.voices import Engine, engine_name

SectionKind = Literal["intro", "topic", "quiz", "recap"]
SECTION_KINDS: tuple[SectionKind, ...] = get_args(SectionKind)
EvidenceField = Literal["title", "description", "chapter", "transcript"]
# What an implied concept is: a hint, a branch of math, a term (counts like an alias) or a
# method (counts where the text explains it).
ImplicationKind = Literal["hint", "branch", "term", "method"]
IMPLICATION_KINDS: tuple[ImplicationKind, ...] = get_args(ImplicationKind)

# --- ingest ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Show:
    """The source podcast, as its feed describes it."""

    title: str
    author: str


@dataclass(frozen=True, slots=True)
class Episode:
    """One episode of the source podcast."""

    guid: str
    slug: str  # safe, unique file name derived from the number or title
    title: str
    number: int | None
    published: datetime | None  # timezone-aware (UTC) when known
    duration: int | None  # seconds
    description: str  # plain text, HTML removed
    link: str
    audio_url: str
    description_html: str = ""  # sanitized HTML, for show notes
    transcript_files: tuple[Attachment, ...] = ()  # podcast:transcript, in feed order
    chapters_file: Attachment | None = None  # podcast:chapters


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file an episode's feed item points to (podcast:transcript, podcast:chapters)."""

    url: str
    type: str  # MIME type as the feed gives it, lower case
    language: str = ""
    rel: str = ""


@dataclass(frozen=True, slots=True)
class EpisodeWords:
    """The episode's own words, when its feed offers them: a timed transcript and chapters."""

    transcript: tuple[Cue, ...] = ()
    chapters: tuple[Chapter, ...] = ()
    transcript_url: str = ""
    chapters_url: str = ""
    untimed_text: str = ""  # transcript text without times (plain text or HTML without <time>)


# --- topic catalog --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Equation:
    latex: str  # math mode, no dollar signs
    meaning: str  # one or two sentences for the ear; may hold inline $...$ math


@dataclass(frozen=True, slots=True)
class WorkedExample:
    text: str  # spoken walk-through; may hold inline $...$ math
    expression: str  # Python arithmetic that computes the result (checked by a test)
    result: float  # the value the text states
    context: tuple[str, ...] = ()  # words of the setting it fits ("document", "query")


@dataclass(frozen=True, slots=True)
class Bridge:
    """A sentence that ties an episode's wording (an alias or concept) to a topic's math."""

    phrase: str  # an alias of the topic, or a concept of the catalog that implies it
    sentence: str  # "A weighted sum of the features is a dot product of ..."


@dataclass(frozen=True, slots=True)
class Quiz:
    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    title: str
    area: str
    aliases: tuple[str, ...]  # phrases that name the topic in episode descriptions
    prerequisites: tuple[str, ...]  # topic ids
    explanation: str  # one paragraph written for the ear; may hold inline $...$ math
    equations: tuple[Equation, ...]
    examples: tuple[WorkedExample, ...]  # at least one; the stock example first
    quizzes: tuple[Quiz, ...]  # at least one; lessons ask the first, reviews the others
    bridges: tuple[Bridge, ...] = ()

    @property
    def example(self) -> WorkedExample:
        """The stock worked example (the first); topics.choose_example fits one to an episode."""
        return self.examples[0]

    @property
    def quiz(self) -> Quiz:
        """The topic's first quiz question, the one its lessons ask."""
        return self.quizzes[0]


@dataclass(frozen=True, slots=True)
class Facet:
    """One named member of a topic's family (the t-test of hypothesis testing, Adam of
    stochastic gradient descent): what sets it apart, its equations, an example, questions."""

    id: str
    topic_id: str  # the family: a catalog topic id
    name: str  # as a sentence says it: "the t-test", "Adam"
    aliases: tuple[str, ...]  # what episodes call it ("Student's t-test", "t test")
    distinction: str  # one or two sentences for the ear on what sets it apart
    equations: tuple[Equation, ...]  # 0 to 3
    example: WorkedExample
    quizzes: tuple[Quiz, ...]  # at least one, each asking to apply the idea


@dataclass(frozen=True, slots=True)
class Family:
    """How a topic's members are named, so a member the catalog lacks is still recognized:
    ("Mann-Whitney test" under hypothesis testing: a name before the head word "test")."""

    topic_id: str
    name: str  # as it reads before the word "family": "hypothesis testing"
    heads: tuple[str, ...]  # head words a member's name ends with: "test", "optimizer"
    generic: tuple[str, ...] = ()  # words before a head that name the family, not a member


@dataclass(frozen=True, slots=True)
class Facets:
    """The facet catalog (companion/data/facets.toml)."""

    facets: tuple[Facet, ...]
    families: tuple[Family, ...] = ()

    def of_topic(self, topic_id: str) -> tuple[Facet, ...]:
        return tuple(facet for facet in self.facets if facet.topic_id == topic_id)

    def family(self, topic_id: str) -> Family | None:
        return next((f for f in self.families if f.topic_id == topic_id), None)


@dataclass(frozen=True, slots=True)
class Season:
    """A season of the course feed: one area of the catalog."""

    number: int  # from 1, in the order the course reaches the areas
    name: str  # e.g. "Linear Algebra"


@dataclass(frozen=True, slots=True)
class Implication:
    """An ML concept whose mention implies math topics ("logistic regression" -> ...)."""

    concept: str  # phrase, matched like an alias
    topics: tuple[str, ...]
    anchor: bool = False  # counts on its own in a sentence about training ("trained with ...")
    kind: ImplicationKind = "hint"


@dataclass(frozen=True, slots=True)
class LinkingCues:
    """Phrases that tell the linker where a mention is no evidence, or how it is used.

    All come from the catalog's ``[linking]`` table; an empty tuple switches a rule off.
    """

    negation: tuple[str, ...] = ()  # "no", "without": a mention after one does not count
    other_episodes: tuple[str, ...] = ()  # "next episode": what follows is about another one
    # A sentence with a future cue ("we'll") and an episode word ("episodes", "season") is an
    # outline of other episodes, unless it speaks of this one ("this episode").
    future: tuple[str, ...] = ()
    episode_words: tuple[str, ...] = ()
    this_episode: tuple[str, ...] = ()
    sponsor: tuple[str, ...] = ()  # "sponsored by": the rest of the paragraph is an ad
    bio: tuple[str, ...] = ()  # "professor of", "PhD": a sentence about a person
    link_headings: tuple[str, ...] = ()  # "Resources", "Links": a heading over a link list
    examples: tuple[str, ...] = ()  # "such as", "like": a list of examples follows
    name_heads: tuple[str, ...] = ()  # "model", "machine": a topic word before one names a method
    explaining: tuple[str, ...] = ()  # "by", "which": the sentence goes on to explain
    training: tuple[str, ...] = ()  # "trained with": an anchor counts alone after one
    # "what are", "an intro to": a method after one, in its sentence, is what it explains
    introducing: tuple[str, ...] = ()
    # "website", "github": a line of these after a name is a person's links, no evidence
    profile_links: tuple[str, ...] = ()
    # "article", "newsletter": a capitalized topic word before one names a publication
    publications: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Pronunciation:
    """How the synthesizer says a word; people read the word itself (pronounce.py)."""

    word: str  # as written for people
    say: str  # a respelling, for engines that read words (espeak-ng, pyttsx3)
    ipa: str = ""  # IPA phonemes (espeak-ng's alphabet), for engines that take phonemes
    math: bool = False  # only inside an equation's reading (letter names)


@dataclass(frozen=True, slots=True)
class Catalog:
    topics: tuple[Topic, ...]  # in prerequisite (topological) order
    implications: tuple[Implication, ...] = ()
    lexicon: tuple[Pronunciation, ...] = ()
    cues: LinkingCues = LinkingCues()
    _by_id: dict[str, Topic] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({topic.id: topic for topic in self.topics})

    def get(self, topic_id: str) -> Topic:
        return self._by_id[topic_id]

    def __contains__(self, topic_id: object) -> bool:
        return topic_id in self._by_id


# --- linking --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a topic was linked: the phrase found and the sentence it came from."""

    field: EvidenceField  # where the phrase was found (a chapter title, the transcript, ...)
    phrase: str  # the text as it appears in the episode
    sentence: str  # the sentence around it
    via: str = ""  # the implying concept, when the link came through an implication
    start: float | None = None  # seconds into the episode (transcript, chapter, timestamp)


@dataclass(frozen=True, slots=True)
class TopicLink:
    topic: Topic
    score: float
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class NamedMember:
    """The member of a linked topic's family that an episode names, from the link's evidence.

    ``facet`` is the catalog's facet for it, or None when the catalog lacks the member: then
    the lesson says so (``notice``) and teaches the family instead of another member.
    """

    topic_id: str
    name: str  # as the episode writes it: "chi-squared test", "Mann-Whitney test"
    facet: Facet | None
    evidence: Evidence  # where the name was found
    notice: str = ""  # one honest sentence when facet is None


# --- render ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str  # spoken words only, no LaTeX
    pause_after: float = 0.7  # seconds of silence after it
    rate: float = 1.0  # speaking rate relative to the voice's (equations are read slower)
    math: tuple[tuple[int, int], ...] = ()  # character spans of `text` that read an equation
    second_voice: bool = False  # asked by the second voice when there is one (quiz questions)


@dataclass(frozen=True, slots=True)
class Section:
    """One chapter of a lesson."""

    kind: SectionKind
    title: str  # the chapter title
    paragraphs: tuple[Paragraph, ...]
    topic_id: str = ""

    @property
    def text(self) -> str:
        return "\n\n".join(paragraph.text for paragraph in self.paragraphs)


@dataclass(frozen=True, slots=True)
class Script:
    """A lesson as text for the ear, in chapters."""

    slug: str
    title: str
    sections: tuple[Section, ...]
    topic_ids: tuple[str, ...]
    asked: tuple[tuple[str, int], ...] = ()  # (topic id, index into its quizzes) it asks

    def to_text(self) -> str:
        """The spoken text, one paragraph per block, sections separated by two blank lines."""
        return "\n\n\n".join(section.text for section in self.sections) + "\n"


# --- synthesize and publish -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Voice:
    """How lessons are spoken; part of every audio stamp."""

    name: str = DEFAULT["voice"]  # the engine's voice ("": its default, see voices.ENGINES)
    rate: int = DEFAULT["rate"]  # words per minute
    pitch: int = DEFAULT["pitch"]
    engine: Engine = DEFAULT["engine"]
    sentence_gap: float = DEFAULT["sentence_gap"]  # seconds (each utterance trimmed first)
    section_gap: float = DEFAULT["section_gap"]  # seconds between chapters
    second: str = DEFAULT["second_voice"]  # a Piper voice that asks the quiz questions

    def __post_init__(self) -> None:
        engine_name(self.engine)  # the engines are found at import: a one-line error on others


@dataclass(frozen=True, slots=True)
class Chapter:
    start: float  # seconds
    end: float
    title: str


@dataclass(frozen=True, slots=True)
class Cue:
    """One transcript cue: a sentence and when it is spoken."""

    start: float
    end: float
    text: str


class LessonKind(StrEnum):
    """What a lesson teaches, and so which feed publishes it."""

    EPISODE = "episode"  # the math of one source episode (the companion feed)
    COURSE = "course"  # one catalog topic in full (the course feed)
    REVIEW = "review"  # spaced review of earlier lessons (the companion feed)


@dataclass(frozen=True, slots=True)
class Lesson:
    """A finished lesson on disk, as recorded in its build.json stamp."""

    slug: str
    guid: str  # the published guid; never changes for the same source episode
    kind: LessonKind
    title: str
    summary: str  # plain text
    published: datetime | None
    source_title: str
    source_link: str
    source_guid: str
    episode_number: int | None
    topic_ids: tuple[str, ...]
    # Known once the audio exists:
    duration: float = 0.0  # seconds
    size: int = 0  # bytes of its MP3
    chapters: tuple[Chapter, ...] = ()
    transcript: tuple[Cue, ...] = ()  # one cue per spoken sentence
    questions: tuple[int, ...] = ()  # a review: the quiz question asked for each topic_ids entry
    season: Season | None = None  # a course lesson: the season (area) it belongs to
    # The first hex digits of the lesson's content hash, in the names of its files: published
    # files never change in place, a changed lesson gets new files (and a new enclosure) under
    # the same guid.
    media_tag: str = ""

    @property
    def audio_file(self) -> str:
        return layout.media_names(self.media_tag)[0]

    @property
    def transcript_file(self) -> str:
        return layout.media_names(self.media_tag)[1]

    @property
    def chapters_file(self) -> str:
        return layout.media_names(self.media_tag)[2]
