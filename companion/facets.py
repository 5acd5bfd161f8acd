"""Facets: the named members of a topic's family, and which one an episode names.

The facet catalog (``companion/data/facets.toml``) holds one ``[[facets]]`` table per named
member of a family (the t-test and the chi-squared test of hypothesis testing; SGD, momentum
and Adam of stochastic gradient descent ...), attached to a catalog topic, and one
``[[families]]`` table per topic with members: its name for the ear and the head words a
member's name ends with ("Mann-Whitney test": a name before "test").

:func:`named_members` reads a topic link's evidence (the phrases and sentences that linked
the topic) and returns the members the episode names, best first: a catalog facet, or a
member the catalog lacks, with one honest sentence to say instead of teaching another member.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from companion.errors import CatalogError, MathSpeechError
from companion.models import (
    Catalog,
    Equation,
    Evidence,
    Facet,
    Facets,
    Family,
    NamedMember,
    Quiz,
    TopicLink,
    WorkedExample,
)
from companion.topics import string_list, text_field

__all__ = [
    "facets_for",
    "family_overview",
    "load_facets",
    "named_member",
    "named_members",
    "unknown_member_notice",
]

MAX_EQUATIONS = 3
# How much a mention weighs by where it stands, as in the linker: the title most.
FIELD_WEIGHTS = {"title": 2.0, "chapter": 1.5, "description": 1.0, "transcript": 0.5}
# A member named inside the very phrase that linked the topic is what the episode is about.
OWN_PHRASE_BONUS = 2.0
MAX_NAME_WORDS = 3  # words of a name before its head word ("Wilcoxon signed-rank test")
# Words that never name a member, however they are capitalized (a title's "Your First Test").
_NOT_NAMES_TEXT = """a an the this that these those its their our your my his her any some
    each every
    such own which what one two three first second third last final next new old simple
    basic classic classical standard common popular famous quick big small good better best
    real proper right wrong different same other another main key single multiple whole
    usual typical modern traditional and or of in on for to with by from vs versus why how
    when where is are was were be it we you they i"""
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())
_WORD = re.compile(r"[A-Za-z0-9]+")
_POSSESSIVE = re.compile(r"['’][sS]\b")
_ACRONYM = "^"  # marks a key that matches only a word in capitals


# --------------------------------------------------------------------------- loading


def load_facets(
    path: Path | None = None, catalog: Catalog | None = None, *, check_speech: bool = True
) -> Facets:
    """Load and validate a facet catalog; ``None`` means the packaged one.

    With ``catalog`` every facet's and family's topic must be one of its topics; with
    ``check_speech`` every equation must be read by the math speech engine strictly.
    Raises :class:`CatalogError` with a one-line message naming the file and the facet.
    """
    if path is None:
        name = "companion/data/facets.toml"
        try:
            raw = resources.files("companion").joinpath("data/facets.toml").read_bytes()
        except OSError as exc:
            raise CatalogError(f"{name}: cannot read the packaged facets: {exc}") from exc
    else:
        name = str(path)
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise CatalogError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{name}: not valid TOML: {exc}") from exc
    facets = _build(data, name, catalog)
    if check_speech:
        _check_speakable(facets, name)
    return facets


def facets_for(catalog: Catalog) -> Facets:
    """The packaged facets of the topics ``catalog`` has (a user's own catalog may lack some
    of the built-in topics; their members are then left out, not an error)."""
    packaged = load_facets()
    return Facets(
        facets=tuple(f for f in packaged.facets if f.topic_id in catalog),
        families=tuple(f for f in packaged.families if f.topic_id in catalog),
    )


def _build(data: Mapping[str, Any], name: str, catalog: Catalog | None) -> Facets:
    unknown = set(data) - {"facets", "families"}
    if unknown:
        raise CatalogError(f"{name}: unknown table {sorted(unknown)[0]!r} (use facets, families)")
    families = [
        _parse_family(entry, name, index)
        for index, entry in enumerate(_tables(data, "families", name))
    ]
    facets = [
        _parse_facet(entry, name, index)
        for index, entry in enumerate(_tables(data, "facets", name))
    ]
    if not facets:
        raise CatalogError(f"{name}: no [[facets]] tables")
    _check_unique([f.topic_id for f in families], f"{name}: family", "twice")
    _check_unique([f.id for f in facets], f"{name}: facet", "duplicate id")
    named = {f.topic_id for f in families}
    for facet in facets:
        if facet.topic_id not in named:
            raise CatalogError(
                f"{name}: facet {facet.id!r}: topic {facet.topic_id!r} has no [[families]] table"
            )
    if catalog is not None:
        for topic_id in sorted(named | {f.topic_id for f in facets}):
            if topic_id not in catalog:
                raise CatalogError(f"{name}: topic {topic_id!r}: not in the topic catalog")
    _check_aliases(facets, name)
    return Facets(facets=tuple(facets), families=tuple(families))


def _tables(data: Mapping[str, Any], key: str, name: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise CatalogError(f"{name}: {key!r} must be an array of tables")
    return value


def _check_unique(values: Sequence[str], what: str, problem: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise CatalogError(f"{what} {value!r}: {problem}")
        seen.add(value)


def _check_aliases(facets: Sequence[Facet], name: str) -> None:
    """Two members of one family must not share a name, or the episode's choice is lost."""
    owner: dict[tuple[str, tuple[str, ...]], str] = {}
    for facet in facets:
        for alias in facet.aliases:
            key = (facet.topic_id, _key(alias))
            if not key[1]:
                raise CatalogError(f"{name}: facet {facet.id!r}: alias {alias!r} has no words")
            if owner.setdefault(key, facet.id) != facet.id:
                raise CatalogError(
                    f"{name}: facet {facet.id!r}: alias {alias!r} also names {owner[key]!r}"
                )


def _known_keys(entry: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(entry) - allowed
    if unknown:
        raise CatalogError(
            f"{where}: unknown key {sorted(unknown)[0]!r} (use {', '.join(sorted(allowed))})"
        )


def _parse_family(entry: Any, name: str, index: int) -> Family:
    where = f"{name}: families[{index}]"
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{where} is not a table")
    topic_id = text_field(entry, "topic", where)
    where = f"{name}: family {topic_id!r}"
    _known_keys(entry, {"topic", "name", "heads", "generic"}, where)
    return Family(
        topic_id=topic_id,
        name=text_field(entry, "name", where),
        heads=string_list(entry, "heads", where, allow_empty=True),
        generic=string_list(entry, "generic", where, allow_empty=True),
    )


def _parse_facet(entry: Any, name: str, index: int) -> Facet:
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{name}: facets[{index}] is not a table")
    ident = entry.get("id")
    where = f"{name}: facet {ident!r}" if isinstance(ident, str) else f"{name}: facets[{index}]"
    allowed = {"id", "topic", "name", "aliases", "distinction", "equations", "example", "quiz"}
    _known_keys(entry, allowed, where)
    raw_equations = entry.get("equations", [])
    if not isinstance(raw_equations, list) or len(raw_equations) > MAX_EQUATIONS:
        raise CatalogError(f"{where}: needs 0 to {MAX_EQUATIONS} [[facets.equations]]")
    equations = []
    for number, table in enumerate(raw_equations, start=1):
        eq_where = f"{where}: equation {number}"
        if not isinstance(table, Mapping):
            raise CatalogError(f"{eq_where} is not a table")
        equations.append(
            Equation(text_field(table, "latex", eq_where), text_field(table, "meaning", eq_where))
        )
    example = entry.get("example")
    if not isinstance(example, Mapping):
        raise CatalogError(f"{where}: missing table 'example'")
    result = example.get("result")
    if isinstance(result, bool) or not isinstance(result, int | float):
        raise CatalogError(f"{where}: example 'result' must be a number")
    raw_quizzes = entry.get("quiz")
    if not isinstance(raw_quizzes, list) or not raw_quizzes:
        raise CatalogError(f"{where}: needs at least one [[facets.quiz]]")
    quizzes = []
    for number, table in enumerate(raw_quizzes, start=1):
        quiz_where = f"{where}: quiz {number}"
        if not isinstance(table, Mapping):
            raise CatalogError(f"{quiz_where} is not a table")
        quizzes.append(
            Quiz(text_field(table, "question", quiz_where), text_field(table, "answer", quiz_where))
        )
    return Facet(
        id=text_field(entry, "id", where),
        topic_id=text_field(entry, "topic", where),
        name=text_field(entry, "name", where),
        aliases=string_list(entry, "aliases", where, allow_empty=False),
        distinction=text_field(entry, "distinction", where),
        equations=tuple(equations),
        example=WorkedExample(
            text=text_field(example, "text", f"{where}: example"),
            expression=text_field(example, "expression", f"{where}: example"),
            result=float(result),
        ),
        quizzes=tuple(quizzes),
    )


def _check_speakable(facets: Facets, name: str) -> None:
    from companion.mathspeech import verbalize

    for facet in facets.facets:
        for number, equation in enumerate(facet.equations, start=1):
            try:
                words = verbalize(equation.latex, strict=True)
            except MathSpeechError as exc:
                raise CatalogError(
                    f"{name}: facet {facet.id!r}: equation {number} {equation.latex!r} "
                    f"cannot be spoken: {exc}"
                ) from exc
            if not words.strip():
                raise CatalogError(
                    f"{name}: facet {facet.id!r}: equation {number} is spoken as nothing"
                )


# --------------------------------------------------------------------------- which member


@dataclass(frozen=True, slots=True)
class _Word:
    key: str  # lower case, a plural's final s dropped
    text: str  # as written
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Found:
    name: str  # as the episode writes it
    facet: Facet | None
    evidence: Evidence
    weight: float
    order: int  # position of the first mention over all the evidence


def _key_of(word: str) -> str:
    word = word.lower()
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _words(text: str) -> list[_Word]:
    """The words of ``text`` with their places; a possessive's 's and hyphens split off."""
    text = _POSSESSIVE.sub("  ", text)  # same length, so places still point into the text
    return [
        _Word(_key_of(m.group(0)), m.group(0), m.start(), m.end()) for m in _WORD.finditer(text)
    ]


def _acronym(text: str) -> bool:
    """ "GRU", "GRUs", "F1": written in capitals (a plural's s aside)."""
    if len(text) > 2 and text.endswith("s") and text[-2].isupper():
        text = text[:-1]
    return len(text) >= 2 and text.isupper()


def _key(phrase: str) -> tuple[str, ...]:
    """A phrase as word keys; an acronym is marked, since it matches only capitals ("GRU",
    not the name Grus), as the linker does."""
    return tuple(
        _ACRONYM + word.key if _acronym(word.text) else word.key for word in _words(phrase)
    )


def _matches(key: str, word: _Word) -> bool:
    if key.startswith(_ACRONYM):
        return key[1:] == word.key and _acronym(word.text)
    return key == word.key


def _find(
    words: Sequence[_Word], phrases: Sequence[tuple[tuple[str, ...], Any]]
) -> list[tuple[int, int, Any]]:
    """Longest-first, non-overlapping matches of phrase keys: (first word, end word, value)."""
    ordered = sorted(phrases, key=lambda item: -len(item[0]))
    taken = [False] * len(words)
    found: list[tuple[int, int, Any]] = []
    for key, value in ordered:
        size = len(key)
        for i in range(len(words) - size + 1):
            if any(taken[i : i + size]):
                continue
            if all(_matches(part, w) for part, w in zip(key, words[i : i + size], strict=True)):
                found.append((i, i + size, value))
                for j in range(i, i + size):
                    taken[j] = True
    return sorted(found, key=lambda item: item[0])


def _title_case(words: Sequence[_Word]) -> bool:
    letters = [w.text for w in words if w.text[0].isalpha()]
    capitals = [t for t in letters if t[0].isupper()]
    return len(letters) >= 3 and len(capitals) >= 0.6 * len(letters)


def _is_name_word(word: _Word, text: str, title_case: bool, generic: frozenset[str]) -> bool:
    """A word that can be part of a member's name: capitalized, an acronym, a number or a
    hyphenated name; in Title Case text only a word marked some other way than its capital."""
    if word.key in _NOT_NAMES or word.key in generic:
        return False
    hyphenated = text[word.end : word.end + 1] == "-" or text[word.start - 1 : word.start] == "-"
    possessive = bool(_POSSESSIVE.match(text, word.end))
    marked = (
        any(c.isdigit() for c in word.text)
        or (len(word.text) > 1 and word.text.isupper())
        or any(c.isupper() for c in word.text[1:])
        or (word.text[0].isupper() and (hyphenated or possessive))
    )
    if title_case:
        return marked
    return marked or word.text[0].isupper()


def _unknown_members(
    words: Sequence[_Word], text: str, taken: set[int], family: Family
) -> list[tuple[int, int]]:
    """Spans (first word, end word) of names before a family head word that no facet or
    topic alias covers: "Mann-Whitney test", "Fisher's exact test", "the Lion optimizer".

    Up to MAX_NAME_WORDS words before the head, none of them a common word or a word of the
    family's own name, the first of them a name (see _is_name_word); a capital that only
    starts the sentence is no sign of a name.
    """
    heads = [(_key(head), head) for head in family.heads]
    generic = frozenset(word.key for phrase in family.generic for word in _words(phrase))
    title_case = _title_case(words)
    spans: list[tuple[int, int]] = []
    for start, end, _head in _find(words, heads):
        if any(j in taken for j in range(start, end)):
            continue
        first = start
        while (
            first > 0
            and start - first < MAX_NAME_WORDS
            and first - 1 not in taken
            and words[first - 1].key not in _NOT_NAMES
            and words[first - 1].key not in generic
        ):
            first -= 1
        while first < start and not _is_name_word(
            words[first], text, title_case or first == 0, generic
        ):
            first += 1
        if first < start:
            spans.append((first, end))
    return spans


def named_members(link: TopicLink, facets: Facets) -> tuple[NamedMember, ...]:
    """The members of the linked topic's family that the link's evidence names, best first.

    A member weighs by where it is named (the title most) and twice as much inside the very
    phrase that linked the topic; ties go to the first named. A name before one of the
    family's head words that no facet covers ("Mann-Whitney test") is a member the catalog
    lacks: its ``facet`` is None and its ``notice`` says so in one sentence.
    """
    topic = link.topic
    family = facets.family(topic.id)
    members = facets.of_topic(topic.id)
    if family is None and not members:
        return ()
    facet_phrases = [(_key(alias), facet) for facet in members for alias in facet.aliases]
    topic_phrases = [(_key(alias), None) for alias in topic.aliases if _key(alias)]
    found: dict[str, _Found] = {}
    order = 0
    seen: set[tuple[str, str]] = set()
    for evidence in link.evidence:
        text = evidence.sentence or evidence.phrase
        if (evidence.field, text) in seen:
            continue
        seen.add((evidence.field, text))
        words = _words(text)
        own = _phrase_span(text, evidence.phrase)
        weight = FIELD_WEIGHTS.get(evidence.field, 1.0)
        matches = _find(words, facet_phrases + topic_phrases)
        taken = {j for start, end, _ in matches for j in range(start, end)}
        spans: list[tuple[int, int, Facet | None]] = [
            (start, end, value) for start, end, value in matches if value is not None
        ]
        if family is not None:
            spans += [(s, e, None) for s, e in _unknown_members(words, text, taken, family)]
        for start, end, facet in sorted(spans, key=lambda item: item[0]):
            begin, stop = words[start].start, words[end - 1].end
            name = text[begin:stop]
            inside = own is not None and begin < own[1] and stop > own[0]
            gain = weight * (OWN_PHRASE_BONUS if inside else 1.0)
            ident = facet.id if facet is not None else " ".join(_key(name))
            before = found.get(ident)
            if before is None:
                found[ident] = _Found(name, facet, evidence, gain, order)
            else:
                found[ident] = _Found(
                    before.name, facet, before.evidence, before.weight + gain, before.order
                )
            order += 1
    ranked = sorted(found.values(), key=lambda f: (-f.weight, f.order))
    family_name = family.name if family is not None else topic.title.lower()
    return tuple(
        NamedMember(
            topic_id=topic.id,
            name=item.name,
            facet=item.facet,
            evidence=item.evidence,
            notice="" if item.facet is not None else unknown_member_notice(item.name, family_name),
        )
        for item in ranked
    )


def named_member(link: TopicLink, facets: Facets) -> NamedMember | None:
    """The member the episode names most clearly, or None when it names none."""
    members = named_members(link, facets)
    return members[0] if members else None


def family_overview(topic_id: str, facets: Facets) -> tuple[str, ...]:
    """Sentences that name a family's members and give each one sentence (for the family's
    course lesson): "The hypothesis testing family has 4 well-known members: the z-test, ..."
    and then the first sentence of each member's distinction. Empty without members."""
    members = facets.of_topic(topic_id)
    family = facets.family(topic_id)
    if not members or family is None:
        return ()
    names = [facet.name for facet in members]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    count = "one well-known member" if len(names) == 1 else f"{len(names)} well-known members"
    opening = f"The {family.name} family has {count}: {listed}."
    return (opening, *(_first_sentence(facet.distinction) for facet in members))


def _first_sentence(text: str) -> str:
    match = re.search(r"(?<=[.!?])\s", text)
    return text[: match.start()] if match else text


def unknown_member_notice(name: str, family_name: str) -> str:
    """One plain sentence for a member the catalog lacks."""
    article = "" if name[:4].lower() == "the " else "the "
    return (
        f"The episode uses {article}{name}; this lesson covers the {family_name} family "
        "it belongs to."
    )


def _phrase_span(text: str, phrase: str) -> tuple[int, int] | None:
    """Where the phrase that linked the topic stands in its sentence."""
    if not phrase:
        return None
    at = text.lower().find(phrase.lower())
    return (at, at + len(phrase)) if at >= 0 else None
