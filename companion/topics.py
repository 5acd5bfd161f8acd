"""The math topic catalog: loading, validation and prerequisite ordering.

The catalog lives in ``companion/data/topics.toml``. It holds one ``[[topics]]`` table per
math topic (aliases, a spoken explanation, 1-3 equations, a worked example and quiz questions), an
``[[implications]]`` table (ML concepts whose mention implies math topics, and ambiguous
words that only count next to a clear mention; ``topics = []`` marks a name that must not
link, such as the "maximum entropy" classifier) and a ``[[lexicon]]`` of pronunciation fixes.

Linking episodes to topics is done by :func:`companion.linking.link`, re-exported here.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from companion.errors import CatalogError, MathSpeechError
from companion.linking import MAX_TOPICS, Linker, link
from companion.linking.text import normalize_tokens, phrase_key
from companion.models import (
    IMPLICATION_KINDS,
    Bridge,
    Catalog,
    Episode,
    EpisodeWords,
    Equation,
    Implication,
    LinkingCues,
    Pronunciation,
    Quiz,
    Season,
    Topic,
    TopicLink,
    WorkedExample,
)

if TYPE_CHECKING:
    from companion.config import EpisodeOverride

__all__ = [
    "AREA_NAMES",
    "bridge_for",
    "choose_example",
    "course_seasons",
    "link",
    "link_episode",
    "load_catalog",
    "order_by_prerequisites",
    "string_list",
    "text_field",
    "topological_order",
]

_TOPIC_TEXT_KEYS = ("id", "title", "area", "explanation")
_EXTRA_KEYS = ("context", "examples", "bridges")
# Each area of the taxonomy and its name for listeners (a season of the course feed).
AREA_NAMES = {
    "discrete": "Discrete Math",
    "linear-algebra": "Linear Algebra",
    "calculus": "Calculus",
    "probability": "Probability",
    "statistics": "Statistics",
    "optimization": "Optimization",
    "information-theory": "Information Theory",
    "numerics": "Numerical Computing",
    "neural-networks": "Neural Networks",
    "learning-algorithms": "Learning Algorithms",
    "reinforcement-learning": "Reinforcement Learning",
    "generative-models": "Generative Models",
}


def load_catalog(path: Path | None = None, *, check_speech: bool = True) -> Catalog:
    """Load and validate a topic catalog; ``None`` means the packaged one.

    Raises :class:`CatalogError` with a one-line message naming the file and the offending
    topic or key. Topics come back in prerequisite-first order (ties keep file order).
    With ``check_speech`` every equation must be speakable by ``companion.mathspeech``.
    The examples and bridges come from ``examples.toml`` beside the catalog, when there is one.
    """
    if path is None:
        data = _read_packaged("topics.toml")
        extras = _read_packaged("examples.toml")
        name, extras_name = "companion/data/topics.toml", "companion/data/examples.toml"
    else:
        name = str(path)
        data = _read_toml(Path(path), name)
        beside = Path(path).with_name("examples.toml")
        extras_name = str(beside)
        extras = _read_toml(beside, extras_name) if beside.is_file() else {}
    catalog = _build(data, name, check_speech=check_speech)
    topics = _with_extras(catalog.topics, catalog.implications, extras, extras_name)
    return Catalog(
        topics=topics,
        implications=catalog.implications,
        lexicon=catalog.lexicon,
        cues=catalog.cues,
    )


def _read_packaged(file: str) -> dict[str, Any]:
    name = f"companion/data/{file}"
    try:
        raw = resources.files("companion").joinpath(f"data/{file}").read_bytes()
    except OSError as exc:
        raise CatalogError(f"{name}: cannot read the packaged catalog: {exc}") from exc
    return _parse_toml(raw, name)


def _read_toml(path: Path, name: str) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    return _parse_toml(raw, name)


def _parse_toml(raw: bytes, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{name}: not valid TOML: {exc}") from exc


def _build(data: Mapping[str, Any], name: str, *, check_speech: bool) -> Catalog:
    raw_topics = data.get("topics")
    if not isinstance(raw_topics, list) or not raw_topics:
        raise CatalogError(f"{name}: no [[topics]] tables")
    topics: list[Topic] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw_topics):
        topic = _parse_topic(entry, name, index)
        if topic.id in seen:
            raise CatalogError(f"{name}: topic {topic.id!r}: duplicate id")
        seen.add(topic.id)
        topics.append(topic)
    for topic in topics:
        for pre in topic.prerequisites:
            if pre not in seen:
                raise CatalogError(f"{name}: topic {topic.id!r}: unknown prerequisite {pre!r}")
            if pre == topic.id:
                raise CatalogError(f"{name}: topic {topic.id!r}: lists itself as a prerequisite")
    try:
        ordered = topological_order(topics)
    except ValueError as exc:
        raise CatalogError(f"{name}: {exc}") from None
    implications = tuple(
        implication
        for index, entry in enumerate(_table_list(data, "implications", name))
        for implication in _parse_implication(entry, name, index, seen)
    )
    lexicon = tuple(
        _parse_pronunciation(entry, name, index)
        for index, entry in enumerate(_table_list(data, "lexicon", name))
    )
    cues = _parse_cues(data.get("linking", {}), name)
    if check_speech:
        _check_speakable(ordered, name)
    return Catalog(topics=tuple(ordered), implications=implications, lexicon=lexicon, cues=cues)


def _table_list(data: Mapping[str, Any], key: str, name: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise CatalogError(f"{name}: {key!r} must be an array of tables")
    return value


def text_field(entry: Mapping[str, Any], key: str, where: str) -> str:
    """A catalog table's non-empty text `key`, stripped, or a one-line CatalogError."""
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: missing or empty {key!r}")
    return value.strip()


def string_list(
    entry: Mapping[str, Any], key: str, where: str, *, allow_empty: bool
) -> tuple[str, ...]:
    """A catalog table's list of non-empty strings `key` (absent: empty when allowed)."""
    value = entry.get(key, [] if allow_empty else None)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogError(f"{where}: {key!r} must be a list of non-empty strings")
    if not value and not allow_empty:
        raise CatalogError(f"{where}: {key!r} is empty")
    return tuple(v.strip() for v in value)


def _table(entry: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = entry.get(key)
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where}: missing table {key!r}")
    return value


def _parse_topic(entry: Any, name: str, index: int) -> Topic:
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{name}: topics[{index}] is not a table")
    ident = entry.get("id")
    where = f"{name}: topic {ident!r}" if isinstance(ident, str) else f"{name}: topics[{index}]"
    for key in _TOPIC_TEXT_KEYS:
        text_field(entry, key, where)
    if entry["area"] not in AREA_NAMES:
        raise CatalogError(f"{where}: unknown area {entry['area']!r}")
    equations_raw = entry.get("equations")
    if not isinstance(equations_raw, list) or not 1 <= len(equations_raw) <= 3:
        raise CatalogError(f"{where}: needs 1 to 3 [[topics.equations]]")
    equations = []
    for number, eq in enumerate(equations_raw, start=1):
        if not isinstance(eq, Mapping):
            raise CatalogError(f"{where}: equation {number} is not a table")
        eq_where = f"{where}: equation {number}"
        equations.append(
            Equation(text_field(eq, "latex", eq_where), text_field(eq, "meaning", eq_where))
        )
    example = _worked_example(_table(entry, "example", where), f"{where}: example")
    quizzes = _quizzes(entry, where)
    return Topic(
        id=entry["id"].strip(),
        title=entry["title"].strip(),
        area=entry["area"].strip(),
        aliases=string_list(entry, "aliases", where, allow_empty=False),
        prerequisites=string_list(entry, "prerequisites", where, allow_empty=True),
        explanation=entry["explanation"].strip(),
        equations=tuple(equations),
        examples=(example,),
        quizzes=quizzes,
    )


def _worked_example(
    table: Mapping[str, Any], where: str, context: tuple[str, ...] = ()
) -> WorkedExample:
    result = table.get("result")
    if isinstance(result, bool) or not isinstance(result, int | float):
        raise CatalogError(f"{where}: 'result' must be a number")
    return WorkedExample(
        text=text_field(table, "text", where),
        expression=text_field(table, "expression", where),
        result=float(result),
        context=context,
    )


def _with_extras(
    topics: Sequence[Topic],
    implications: Sequence[Implication],
    extras: Mapping[str, Any],
    name: str,
) -> tuple[Topic, ...]:
    """The topics with the context tags, extra examples and bridges of ``examples.toml``."""
    known = {topic.id for topic in topics}
    for topic_id in extras:
        if topic_id not in known:
            raise CatalogError(f"{name}: [{topic_id}]: not a topic of the catalog")
    return tuple(
        _topic_with_extras(topic, implications, extras.get(topic.id, {}), f"{name}: [{topic.id}]")
        for topic in topics
    )


def _topic_with_extras(
    topic: Topic, implications: Sequence[Implication], entry: Any, where: str
) -> Topic:
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{where} is not a table")
    unknown = set(entry) - set(_EXTRA_KEYS)
    if unknown:
        raise CatalogError(
            f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(_EXTRA_KEYS)})"
        )
    stock = topic.examples[0]
    examples = [
        WorkedExample(
            stock.text,
            stock.expression,
            stock.result,
            string_list(entry, "context", where, allow_empty=True),
        )
    ]
    for number, table in enumerate(_table_list(entry, "examples", where), start=2):
        example_where = f"{where}: example {number}"
        if not isinstance(table, Mapping):
            raise CatalogError(f"{example_where} is not a table")
        unknown = set(table) - {"text", "expression", "result", "context"}
        if unknown:
            raise CatalogError(f"{example_where}: unknown key {sorted(unknown)[0]!r}")
        context = string_list(table, "context", example_where, allow_empty=False)
        examples.append(_worked_example(table, example_where, context))
    texts = [example.text for example in examples]
    if len(set(texts)) < len(texts):
        raise CatalogError(f"{where}: the same worked example twice")
    bridges = _bridges(topic, implications, entry.get("bridges", {}), where)
    return replace(topic, examples=tuple(examples), bridges=bridges)


def _bridges(
    topic: Topic, implications: Sequence[Implication], table: Any, where: str
) -> tuple[Bridge, ...]:
    """Bridge sentences, each for an alias of the topic or a concept that implies it."""
    if not isinstance(table, Mapping):
        raise CatalogError(f"{where}: 'bridges' must be a table of phrase = sentence")
    matched = {phrase_key(alias) for alias in topic.aliases} | {
        phrase_key(item.concept) for item in implications if topic.id in item.topics
    }
    bridges = []
    for phrase, sentence in table.items():
        if not isinstance(sentence, str) or not sentence.strip():
            raise CatalogError(f"{where}: bridge {phrase!r}: the sentence is empty")
        if phrase_key(phrase) not in matched:
            raise CatalogError(
                f"{where}: bridge {phrase!r} is neither an alias of the topic "
                "nor a concept that implies it"
            )
        bridges.append(Bridge(phrase.strip(), sentence.strip()))
    return tuple(bridges)


def choose_example(
    topic: Topic, episode_text: str, exclude: Collection[WorkedExample] = ()
) -> WorkedExample | None:
    """The topic's worked example whose context words the episode's text uses most.

    Scored by how many distinct context tags occur in the text (words compared by stem,
    so "documents" matches "document"), then by how often they occur; ties go to the
    earlier example, so an episode that fits none gets the stock example. Examples in
    ``exclude`` (already played) are skipped; ``None`` when every example is excluded.
    """
    words = _stem_line(episode_text)
    best: WorkedExample | None = None
    best_fit = (-1, -1)
    for example in topic.examples:
        if example in exclude:
            continue
        counts = [_occurrences(tag, words) for tag in example.context]
        fit = (sum(1 for count in counts if count), sum(counts))
        if fit > best_fit:
            best, best_fit = example, fit
    return best


def bridge_for(topic: Topic, phrase: str) -> str | None:
    """The bridge sentence for a phrase the linker matched (compared by stems), if any."""
    key = phrase_key(phrase)
    return next((b.sentence for b in topic.bridges if phrase_key(b.phrase) == key), None)


@lru_cache(maxsize=16)
def _stem_line(text: str) -> str:
    """The text's words as stems, space-separated and padded, for whole-phrase search."""
    return " " + " ".join(stem for stem, _start, _end in normalize_tokens(text)) + " "


def _occurrences(tag: str, words: str) -> int:
    return words.count(" " + " ".join(phrase_key(tag)) + " ")


def _quizzes(entry: Mapping[str, Any], where: str) -> tuple[Quiz, ...]:
    """``[[topics.quiz]]`` tables (or one ``[topics.quiz]`` table), each a question and answer."""
    raw = entry.get("quiz")
    tables = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(tables, list) or not tables:
        raise CatalogError(f"{where}: needs at least one [[topics.quiz]]")
    quizzes = []
    for number, table in enumerate(tables, start=1):
        quiz_where = f"{where}: quiz {number}"
        if not isinstance(table, Mapping):
            raise CatalogError(f"{quiz_where} is not a table")
        question = text_field(table, "question", quiz_where)
        quizzes.append(Quiz(question, text_field(table, "answer", quiz_where)))
    questions = [quiz.question.lower() for quiz in quizzes]
    if len(set(questions)) < len(questions):
        raise CatalogError(f"{where}: the same quiz question twice")
    return tuple(quizzes)


def _parse_implication(entry: Any, name: str, index: int, known: set[str]) -> list[Implication]:
    """One [[implications]] table: a `concept`, or a list of `concepts` that share the rest."""
    where = f"{name}: implications[{index}]"
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{where} is not a table")
    if ("concept" in entry) == ("concepts" in entry):
        raise CatalogError(f"{where}: needs either 'concept' or 'concepts'")
    concepts = (
        (text_field(entry, "concept", where),)
        if "concept" in entry
        else string_list(entry, "concepts", where, allow_empty=False)
    )
    where = f"{name}: implication {concepts[0]!r}"
    topics = string_list(entry, "topics", where, allow_empty=True)
    for topic_id in topics:
        if topic_id not in known:
            raise CatalogError(f"{where}: unknown topic {topic_id!r}")
    anchor = entry.get("anchor", False)
    if not isinstance(anchor, bool):
        raise CatalogError(f"{where}: anchor must be true or false")
    kind = entry.get("kind", "hint")
    if kind not in IMPLICATION_KINDS:
        raise CatalogError(f"{where}: kind must be one of {', '.join(IMPLICATION_KINDS)}")
    unknown = set(entry) - {"concept", "concepts", "topics", "anchor", "kind"}
    if unknown:
        raise CatalogError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    return [Implication(concept=c, topics=topics, anchor=anchor, kind=kind) for c in concepts]


def _parse_cues(entry: Any, name: str) -> LinkingCues:
    where = f"{name}: [linking]"
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{where} must be a table")
    known = LinkingCues.__dataclass_fields__
    for key in entry:
        if key not in known:
            raise CatalogError(f"{where}: unknown key {key!r} (known: {', '.join(known)})")
    return LinkingCues(
        **{key: string_list(entry, key, where, allow_empty=True) for key in known if key in entry}
    )


def _parse_pronunciation(entry: Any, name: str, index: int) -> Pronunciation:
    where = f"{name}: lexicon[{index}]"
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{where} is not a table")
    word = text_field(entry, "word", where)
    where = f"{name}: lexicon {word!r}"
    unknown = set(entry) - {"word", "say", "ipa", "math"}
    if unknown:
        raise CatalogError(
            f"{where}: unknown key {sorted(unknown)[0]!r} (use word, say, ipa, math)"
        )
    ipa = entry.get("ipa", "")
    if not isinstance(ipa, str) or any(mark in ipa for mark in "[]/"):
        raise CatalogError(f"{where}: 'ipa' must be a string of phonemes without [ ] or /")
    math = entry.get("math", False)
    if not isinstance(math, bool):
        raise CatalogError(f"{where}: 'math' must be true or false")
    return Pronunciation(word=word, say=text_field(entry, "say", where), ipa=ipa.strip(), math=math)


def _check_speakable(topics: Iterable[Topic], name: str) -> None:
    try:
        from companion.mathspeech import verbalize
    except ImportError as exc:  # pragma: no cover - a broken install
        raise CatalogError(f"{name}: cannot check the equations: {exc}") from exc
    for topic in topics:
        for number, equation in enumerate(topic.equations, start=1):
            try:
                words = verbalize(equation.latex, strict=True)
            except MathSpeechError as exc:
                raise CatalogError(
                    f"{name}: topic {topic.id!r}: equation {number} {equation.latex!r} "
                    f"cannot be spoken: {exc}"
                ) from exc
            if not words.strip():
                raise CatalogError(
                    f"{name}: topic {topic.id!r}: equation {number} is spoken as nothing"
                )


def topological_order(topics: Iterable[Topic]) -> list[Topic]:
    """Order topics prerequisite-first; ties keep the given order.

    Prerequisites outside ``topics`` are ignored. Raises ``ValueError`` naming a cycle.
    """
    items = list(topics)
    position = {t.id: i for i, t in enumerate(items)}
    pending = {t.id: {p for p in t.prerequisites if p in position} for t in items}
    done: set[str] = set()
    ordered: list[Topic] = []
    while len(ordered) < len(items):
        ready = [t for t in items if t.id not in done and not pending[t.id] - done]
        if not ready:
            raise ValueError(f"prerequisite cycle: {_find_cycle(pending, done)}")
        first = ready[0]  # lowest original position among the ready ones
        done.add(first.id)
        ordered.append(first)
    return ordered


def _find_cycle(pending: Mapping[str, set[str]], done: set[str]) -> str:
    """Describe one cycle among the unfinished topics as 'a -> b -> a'."""
    start = next(t for t in pending if t not in done)
    path: list[str] = []
    node = start
    while node not in path:
        path.append(node)
        node = sorted(p for p in pending[node] if p not in done)[0]
    cycle = path[path.index(node) :]
    cycle.reverse()  # prerequisite-first reading: a is needed by b ...
    return " -> ".join([*cycle, cycle[0]])


def order_by_prerequisites(topic_ids: Iterable[str], catalog: Catalog) -> list[Topic]:
    """The catalog topics named by ``topic_ids``, prerequisite-first, stable by catalog order.

    Unknown ids raise :class:`CatalogError`; duplicates are dropped.
    """
    wanted: set[str] = set()
    for topic_id in topic_ids:
        if topic_id not in catalog:
            raise CatalogError(f"topic {topic_id!r}: not in the catalog")
        wanted.add(topic_id)
    return topological_order(t for t in catalog.topics if t.id in wanted)


def course_seasons(topics: Sequence[Topic]) -> dict[str, Season]:
    """A season per area for the course's topics in course order: topic id -> Season.

    Seasons are numbered by the area's first lesson, so season 1 holds lesson 1, and podcast
    apps can group a 74-lesson course by area while the lessons keep prerequisite order.
    """
    numbers: dict[str, int] = {}
    for topic in topics:
        numbers.setdefault(topic.area, len(numbers) + 1)
    return {
        topic.id: Season(numbers[topic.area], AREA_NAMES.get(topic.area, topic.area))
        for topic in topics
    }


def link_episode(
    episode: Episode,
    linker: Linker | Catalog,
    override: EpisodeOverride | None = None,
    words: EpisodeWords | None = None,
) -> tuple[TopicLink, ...]:
    """The linker's topics (on the episode's own `words` too, when there are some), with a
    workdir's pins and exclusions for the episode applied."""
    links = link(episode, linker, words)
    catalog = linker.catalog if isinstance(linker, Linker) else linker
    if override is None:
        return links
    kept = [item for item in links if item.topic.id not in override.exclude]
    present = {item.topic.id for item in kept}
    for topic_id in override.pin:
        if topic_id not in present:
            kept.insert(0, TopicLink(catalog.get(topic_id), 1.0, ()))
    return tuple(kept[:MAX_TOPICS])
