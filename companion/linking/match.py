"""Passages x catalog vocabulary -> mentions: each phrase found, how it is used, and why not.

The vocabulary is the catalog's: topic aliases (clear names of the math), and
``[[implications]]`` of four kinds: ``term`` (a clear phrase, often the math said in other
words: "average of the squared errors"), ``method`` (a named algorithm, model or product that
implies math: "LSTM", "k-means"), ``hint`` (an ambiguous word: "matrix", "calculus") and
blockers (``topics = []``: a name that contains a topic word but is not the topic: "gradient
boosting", "maximum entropy").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Literal

from companion.linking.text import (
    SPREAD,
    WILDCARDS,
    Cues,
    Passage,
    gerund_marked,
    match_words,
    phrase_key,
    stem,
    surface_words,
    words_of,
)
from companion.models import Catalog, Evidence

__all__ = ["Entry", "Found", "find_mentions", "vocabulary"]

NEGATION_WINDOW = 5  # tokens before a mention that may hold a negation cue
NAME_RUN = 3  # words after a topic phrase that may finish a longer name ("... Learning Machine")
LISTED_EXTRA_WORDS = 3  # a list item is the mention and at most this many other words
LIST_ITEMS = 3  # short pieces that make a clause an enumeration
GLOSSARY_LEAD = 2  # words before a mention that still make it a line's label
MEASURE_WINDOW = 5  # words after a phrase that may hold "of # percent"
INTRODUCING_WINDOW = 10  # tokens before a named method that may hold an introducing cue

_CLAUSE_BREAK = re.compile(r"[;:\[\]{}!?|]|\*\*|->|=>|\s[-–—]\s|[-–—]\s")
_BRACKETED = re.compile(r"\([^()]*\)")
_LIST_SEPARATOR = re.compile(r",|\s(?:and|or|nor|&|v|vs\.?|versus)\s|/", re.IGNORECASE)
_LABEL_END = re.compile(r"^\s*(?:\([^)]{0,40}\)\s*)?(?::|\s[-–—]\s|[-–—]\s)")
_RELATIVE = frozenset({"which", "that", "who", "whose", "where", "when", "because"})
_CLAUSE_WORDS = frozenset(
    stem(w) for w in ("but", "however", "although", "though", "whereas", "yet")
)


# What a vocabulary entry is: a topic's alias, or an implication's kind, or a blocker (a
# longer phrase that hides the mentions inside it).
EntryKind = Literal["alias", "term", "method", "hint", "branch", "blocker"]
# Where a mention stands, as it is weighed (linking.WEIGHTS): "explained" is a method's place
# in a sentence that goes on to explain it.
Place = Literal[
    "title", "chapter", "heading", "glossary", "explained", "prose", "listed", "transcript"
]


@dataclass(frozen=True, slots=True)
class Entry:
    kind: EntryKind
    topics: tuple[str, ...]
    phrase: str  # as the catalog writes it
    anchor: bool = False
    spread: bool = False  # "exponentiate ... divide by the total": parts anywhere in a sentence
    capitals: tuple[int, ...] = ()  # words of the key written in capitals ("MAE"): so in the text
    own: tuple[str, ...] = ()  # topics the phrase is a name of (an alias): "GAN" of GANs


Index = dict[str, list[tuple[tuple[str, ...], Entry]]]
_STRENGTH = ("blocker", "alias", "term", "method", "hint", "branch")


def _keys(phrase: str) -> set[tuple[str, ...]]:
    """The stem sequences a phrase matches: as written, and written as one word."""
    keys = {phrase_key(phrase)} - {()}
    words = words_of(phrase)
    plain = not WILDCARDS & set(phrase.split())
    if plain and len(words) > 1 and all(len(w) >= 3 for w in words):
        keys.add((stem("".join(words)),))  # "back propagation" -> "backpropagation"
    return {key for key in keys if key[0] not in WILDCARDS}


def _capitals(phrase: str, key: tuple[str, ...]) -> tuple[int, ...]:
    """The words of ``phrase`` that are acronyms ("MAE", "GAN"): the text must write them in
    capitals too, so that "Mae" and "gan" are not them."""
    if key != phrase_key(phrase) or WILDCARDS & set(phrase.split()):
        return ()
    words = words_of(phrase)
    return tuple(j for j, w in enumerate(words) if sum(c.isalpha() for c in w) >= 2 and _acronym(w))


def _acronym(word: str) -> bool:
    """ "MAE", "GRUs", "CNNs": capitals, perhaps with a plural s."""
    return word.isupper() or (len(word) > 2 and word.endswith("s") and word[:-1].isupper())


def _in_capitals(word: str) -> bool:
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    elif word.endswith("s") and len(word) > 2:  # "GANs", "CNNs"
        word = word[:-1]
    return word.isupper()


def vocabulary(catalog: Catalog) -> Index:
    """Every catalog phrase, indexed by its first stem.

    An implication that repeats a topic's alias says how that alias counts: "LSTM" is an
    alias of recurrent networks, and an implication of kind "method" makes it a method.
    """
    index: Index = {}
    entries: list[tuple[tuple[str, ...], Entry]] = []
    declared: set[tuple[tuple[str, ...], str]] = set()
    names = {(key, topic.id) for topic in catalog.topics for a in topic.aliases for key in _keys(a)}
    for imp in catalog.implications:
        kind: EntryKind = imp.kind if imp.topics else "blocker"
        spread = SPREAD in imp.concept.split()
        for key in _keys(imp.concept):
            caps = _capitals(imp.concept, key)
            own = tuple(t for t in imp.topics if (key, t) in names)
            entries.append(
                (key, Entry(kind, imp.topics, imp.concept, imp.anchor, spread, caps, own))
            )
            declared.update((key, topic_id) for topic_id in imp.topics)
    for topic in catalog.topics:
        for alias in topic.aliases:
            for key in _keys(alias):
                if (key, topic.id) not in declared:
                    caps = _capitals(alias, key)
                    entry = Entry("alias", (topic.id,), alias, capitals=caps, own=(topic.id,))
                    entries.append((key, entry))
    for key, entry in entries:
        index.setdefault(key[0], []).append((key, entry))
    return index


@dataclass(frozen=True, slots=True)
class Found:
    """One vocabulary entry found in one passage, before it is weighed."""

    entry: Entry
    passage: Passage
    evidence: Evidence
    place: Place
    explained: bool  # the sentence goes on to explain it ("... by", "..., which")
    excluded: str  # why it is no evidence ("" when it is)
    training: bool  # the sentence is about training a model with a method


def find_mentions(passages: Sequence[Passage], index: Index, cues: Cues) -> list[Found]:
    found: list[Found] = []
    for passage in passages:
        found.extend(_in_passage(passage, index, cues))
    return found


def _in_passage(passage: Passage, index: Index, cues: Cues) -> list[Found]:
    stems = [t[0] for t in passage.tokens]
    spans: dict[tuple[int, int], list[Entry]] = {}
    own: dict[tuple[int, int], tuple[int, ...]] = {}  # the words a span's phrase matched
    spread: dict[str, tuple[int, int, Entry]] = {}  # the first match of each spread topic set
    for i, word in enumerate(stems):
        for key, entry in index.get(word, ()):
            match = match_words(key, stems, i, len(stems))
            if match is None:
                continue
            end, words = match
            if entry.capitals and not all(
                _in_capitals(passage.text[passage.tokens[i + j][1] : passage.tokens[i + j][2]])
                for j in entry.capitals
            ):
                continue
            if entry.spread:
                spread.setdefault(" ".join(entry.topics), (i, end, entry))
            else:
                spans.setdefault((i, end), []).append(entry)
                own.setdefault((i, end), words)
    # A phrase in parts ("exponentiate ... divide by the total") takes no words from other
    # phrases: what stands between its parts is matched as usual.
    described = [
        (start, end, _found(entry, passage, start, end, cues, ""))
        for start, end, entry in spread.values()
    ]
    if not spans:
        return _contrasts_kept(described)
    # A phrase in parts that covers the same words as a whole phrase of the same topics
    # ("the probability of * given" and "probability ... given") is that one mention.
    described = [
        (start, end, found)
        for start, end, found in described
        if not any(
            s <= start < e and set(found.entry.topics) <= {t for x in entries for t in x.topics}
            for (s, e), entries in spans.items()
        )
    ]
    taken: dict[int, tuple[int, int]] = {}
    out: list[Found] = []
    placed: list[tuple[int, int, Found]] = []
    for start, end in sorted(spans, key=lambda se: (se[0] - se[1], se[0])):
        # The longest phrase wins over a phrase inside it, over the words it matched itself:
        # the words in its gaps ("from pure * noise": "Gaussian") are free for other phrases,
        # and so are phrases that only overlap it ("downhill on the cost function").
        owners = {taken.get(i) for i in own[(start, end)]}
        owner = owners.pop() if len(owners) == 1 else None
        entries = spans[(start, end)]
        if owner is not None:  # inside a longer phrase: say so when that is a blocker
            outer = spans[owner]
            hidden = (
                [e for e in entries if e.topics] if all(o.kind == "blocker" for o in outer) else []
            )
            name = passage.text[passage.tokens[owner[0]][1] : passage.tokens[owner[1] - 1][2]]
            for entry in hidden:
                out.append(
                    _found(entry, passage, start, end, cues, f"part of the longer name {name!r}")
                )
            continue
        for i in own[(start, end)]:
            taken.setdefault(i, (start, end))
        seen: set[str] = set()  # one mention per topic per span: the strongest entry's
        for entry in sorted(entries, key=lambda e: _STRENGTH.index(e.kind)):
            fresh = tuple(t for t in entry.topics if t not in seen)
            if entry.kind == "blocker" or not fresh:
                continue
            seen.update(fresh)
            entry = replace(entry, topics=fresh) if fresh != entry.topics else entry
            placed.append((start, end, _found(entry, passage, start, end, cues, "")))
    return out + _contrasts_kept(_without_bracketed_repeats(passage, placed) + described)


def _contrasts_kept(placed: list[tuple[int, int, Found]]) -> list[Found]:
    """ "P(A given B) is not P(B given A)": a negation between two mentions of one topic is a
    contrast, and the second mention counts too."""
    kept = []
    for start, _end, found in placed:
        if found.excluded == "negated" and any(
            s < start and not f.excluded and set(f.entry.topics) & set(found.entry.topics)
            for s, _e, f in placed
        ):
            found = replace(found, excluded="")
        kept.append(found)
    return kept


def _without_bracketed_repeats(
    passage: Passage, placed: list[tuple[int, int, Found]]
) -> list[tuple[int, int, Found]]:
    """ "recurrent neural networks (RNNs)": a name repeated in brackets is one mention."""
    text, tokens = passage.text, passage.tokens
    kept = []
    for start, end, found in placed:
        gap = text[tokens[start - 1][2] : tokens[start][1]] if start else ""
        repeat = gap.strip().endswith("(") and any(
            e == start and set(f.entry.topics) & set(found.entry.topics) for _s, e, f in placed
        )
        if not repeat:
            kept.append((start, end, found))
    return kept


def _found(
    entry: Entry, passage: Passage, start: int, end: int, cues: Cues, excluded: str
) -> Found:
    tokens = passage.tokens
    text = passage.text
    words = text[tokens[start][1] : tokens[end - 1][2]]
    evidence = Evidence(
        passage.field, words, text, "" if entry.kind == "alias" else entry.phrase, passage.start
    )
    stems = [t[0] for t in tokens]
    a, b = tokens[start][1], tokens[end - 1][2]
    in_paper = any(x <= a and b <= y for x, y in passage.papers)
    if not excluded:
        excluded = _exclusion(passage, stems, start, end, entry, cues, in_paper)
    place = _place(passage, stems, start, end, cues)
    if entry.spread and place in ("listed", "glossary"):
        place = "prose"
    if in_paper and place != "listed":  # the paper is what the episode is about
        place = "title"
    if place == "listed" and entry.kind == "method" and _introduced(stems, start, cues):
        place = "prose"  # "we explore three topics: A, B and C": each is what it explains
    explained = place in ("prose", "glossary") and _explained(passage, start, end, cues)
    training = entry.anchor and cues.training.find(stems) >= 0
    return Found(entry, passage, evidence, place, explained, excluded, training)


# Right after a named method: a colon or a dash and words ("X: shallow trees ..."), a
# bracketed gloss in lower case ("X (randomly zeroing ...)"), or an apposition ("X, a way ...").
_GLOSS = re.compile(
    r"""^\s*(?:
        (?::|\s[-–—]\s|[-–—]\s)\s*[^\W\d_]
      | \(\s*[a-z][^()]*?\s[^()]*\)
      | ,\s+(?:a|an)\s
    )""",
    re.VERBOSE,
)


def _introduced(stems: Sequence[str], start: int, cues: Cues) -> bool:
    """An introducing cue ("what are", "the basics of") a few words before ``start``."""
    return cues.introducing.find(stems, max(0, start - INTRODUCING_WINDOW), start) >= 0


def _explained(passage: Passage, start: int, end: int, cues: Cues) -> bool:
    """The sentence goes on to say what the named method does: an explaining cue after it
    ("which", "by *ing", "is a"), or right after the name a colon or dash and words, a
    bracketed gloss, or an apposition (", a ..."); or an introducing cue stands a few words
    before it ("what are", "the basics of", "an intro to")."""
    tokens, text = passage.tokens, passage.text
    if _introduced([t[0] for t in tokens], start, cues):
        return True
    if _GLOSS.match(text[tokens[end - 1][2] :]) and not _title_case(passage):
        return True  # in a title ("Language Models: A Survey") a colon opens a subtitle
    words = surface_words(text, tokens)
    return (
        cues.explaining.find(words, end) >= 0
        or cues.explaining.find(gerund_marked(words), end) >= 0
    )


def _exclusion(
    passage: Passage,
    stems: list[str],
    start: int,
    end: int,
    entry: Entry,
    cues: Cues,
    in_paper: bool = False,
) -> str:
    if passage.zone:
        return {
            "sponsor": "in a sponsor read",
            "bio": "in a guest bio",
            "links": "in a link list",
            "other episode": "about another episode",
        }.get(passage.zone, passage.zone)
    if cues.other_episodes.find(stems, 0, start) >= 0:
        return "about another episode"
    if _negated(passage, stems, start, cues):
        return "negated"
    if _a_percentage(stems, start, end):
        return "a measure in percent (a road's gradient, a budget's variance)"
    if in_paper:  # a paper's name names its subject; an ambiguous word in it does not
        ambiguous = entry.kind in ("hint", "branch")
        return "an ambiguous word in the name of a paper" if ambiguous else ""
    head = _inside_name(passage, end, cues) if entry.kind != "method" else -1
    if head >= 0:
        name = passage.text[passage.tokens[start][1] : passage.tokens[head][2]]
        return f"part of a longer name of a model or method ({name!r})"
    return _proper_name(passage, start, end, entry, cues)


def _capitalized(word: str) -> bool:
    return word[:1].isupper() and not _in_capitals(word)


def _title_case(passage: Passage) -> bool:
    """Most longer words start with a capital: a title or a heading, where every word does."""
    words = [passage.text[a:b] for _s, a, b in passage.tokens if b - a > 3]
    return bool(words) and sum(w[:1].isupper() for w in words) * 2 > len(words)


def _proper_name(passage: Passage, start: int, end: int, entry: Entry, cues: Cues) -> str:
    """A one-word phrase the catalog writes in lower case ("perplexity", "tensor") but the
    text writes with a capital inside a sentence ("the CTO at Perplexity", "Tensor Cores")
    or before a word for a publication ("Gradient article"), or a capitalized ambiguous word
    followed by another capitalized word ("Adam Stacoviak"), names a company, a product, a
    publication or a person, not the math. Not in titles and headings, where every word has
    a capital."""
    tokens, text = passage.tokens, passage.text
    if tokens[start][0] == "the" and end - start == 2:  # "The Gradient"
        start += 1
    if end - start != 1 or passage.place in ("title", "heading", "chapter"):
        return ""
    word = text[tokens[start][1] : tokens[start][2]]
    lower_name = entry.phrase[:1].islower() and len(words_of(entry.phrase)) <= 2
    if (
        lower_name
        and _capitalized(word)
        and end < len(tokens)
        and tokens[end][0] in cues.publications
    ):
        return f"the name of a publication ({word!r})"
    if not _capitalized(word) or _title_case(passage):
        return ""
    before = text[: tokens[start][1]].rstrip()
    mid_sentence = start > 0 and not before.endswith((":", ".", "!", "?", "-", "–", "—", "•"))
    if mid_sentence and lower_name:
        return f"a name written with a capital ({word!r})"
    following = text[tokens[start][2] : tokens[end][1]] if end < len(tokens) else ""
    if (
        entry.kind == "hint"
        and end < len(tokens)
        and following == " "
        and _capitalized(text[tokens[end][1] : tokens[end][2]])
    ):
        return f"part of a person's or product's name ({word!r})"
    return ""


def _a_percentage(stems: Sequence[str], start: int, end: int) -> bool:
    """ "a 9% gradient", "a gradient of 9%", "a variance of up to 5 percent": a number in
    percent right before the phrase, or a few words after it, measures something else."""
    if start >= 2 and stems[start - 1] == "percent" and stems[start - 2].isdigit():
        return True
    after = stems[start + 1 : end + MEASURE_WINDOW]
    if "of" not in after:
        return False
    after = after[after.index("of") :]
    return any(a.isdigit() and b == "percent" for a, b in pairwise(after))


def _negated(passage: Passage, stems: list[str], start: int, cues: Cues) -> bool:
    """A negation cue a few words before the mention, in the same clause."""
    tokens, text = passage.tokens, passage.text
    for j in range(start - 1, max(-1, start - 1 - NEGATION_WINDOW), -1):
        between = text[tokens[j][2] : tokens[j + 1][1]]
        if re.search(r"[,;:()\[\]{}!?]|\s[-–—]\s", between) or stems[j] in _CLAUSE_WORDS:
            return False
        if cues.negation.find(stems, j, start) == j:
            return True
    return False


def _inside_name(passage: Passage, end: int, cues: Cues) -> int:
    """The token that ends a capitalized name the topic phrase runs on into, ending in a model
    word ("Bayesian Information Criterion", "Policy Gradient Reinforcement Learning
    Machine"), or -1."""
    tokens, text = passage.tokens, passage.text

    def joined(i: int) -> bool:  # token i follows token i - 1 within one name
        return (
            i < len(tokens)
            and not text[tokens[i - 1][2] : tokens[i][1]].strip(" -")
            and text[tokens[i][1]].isupper()
        )

    for k in range(end, min(len(tokens), end + NAME_RUN + 1)):
        if not joined(k):
            return -1
        if k > end and tokens[k][0] in cues.name_heads and not joined(k + 1):
            return k
    return -1


def _place(passage: Passage, stems: list[str], start: int, end: int, cues: Cues) -> Place:
    if passage.place == "title":  # a title that lists several stories is a list
        return "listed" if _listed(passage, stems, start, end, cues) else "title"
    if passage.place != "line":
        return passage.place
    tokens, text = passage.tokens, passage.text
    if (
        passage.line_head
        and start <= GLOSSARY_LEAD
        and _LABEL_END.match(text[tokens[end - 1][2] :])
    ):
        return "glossary"
    return "listed" if _listed(passage, stems, start, end, cues) else "prose"


def _listed(passage: Passage, stems: list[str], start: int, end: int, cues: Cues) -> bool:
    """One item of an enumeration: "models like A, B, or C", "LSTM v CNN, hypers, ...".

    The clause around the mention (or the brackets it stands in) is cut at commas, "and",
    "or", "vs" and slashes; a bracketed gloss stays with its item. It is an
    enumeration when the mention's piece is short and at least LIST_ITEMS pieces are short
    (a relative clause, ", which ...", is no item), or when two short pieces follow an
    examples cue ("such as", "like").
    """
    text, tokens = passage.text, passage.tokens
    a, b = tokens[start][1], tokens[end - 1][2]
    inside = [(x, y) for x, y in (m.span() for m in _BRACKETED.finditer(text)) if x < a < y]
    if inside:  # a mention in brackets: the brackets are its clause
        left, right = inside[0][0] + 1, inside[0][1] - 1
    else:
        left = max((m.end() for m in _CLAUSE_BREAK.finditer(text, 0, a)), default=0)
        right_match = _CLAUSE_BREAK.search(text, b)
        right = right_match.start() if right_match else len(text)
    clause = text[left:right]
    glosses = [m.span() for m in _BRACKETED.finditer(clause)]
    separators = [
        m.end()
        for m in _LIST_SEPARATOR.finditer(clause)
        if not any(x < m.start() < y for x, y in glosses)  # a gloss belongs to its item
    ]
    cuts = [0, *separators, len(clause) + 1]
    parts = [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1)]
    parts = [(x, y) for x, y in parts if clause[x:y].strip(" ,/&")]
    rel = a - left
    here = next((n for n, (x, y) in enumerate(parts) if x <= rel < y), None)
    if len(parts) < 2 or here is None:
        return False

    clause_tokens = [t for t in tokens if left <= t[1] < right]
    first = tokens.index(clause_tokens[0]) if clause_tokens else start
    opener = cues.examples.find(stems, first, start)
    opener_at = tokens[opener][1] - left if opener >= 0 else -1

    def short(n: int) -> bool:
        x, y = parts[n]
        if n == here and x <= opener_at < y:  # "models like A": the item starts after "like"
            x = rel
        words = words_of(clause[x:y])
        extra = (end - start) if n == here else 0
        return (
            bool(words)
            and words[0].lower() not in _RELATIVE
            and len(words) <= extra + LISTED_EXTRA_WORDS + (0 if n == here else 1)
        )

    if not short(here):
        return False
    if opener >= 0 and sum(short(n) for n, p in enumerate(parts) if p[1] > opener_at) >= 2:
        return True
    return sum(short(n) for n in range(len(parts))) >= LIST_ITEMS
