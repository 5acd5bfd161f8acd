"""Spoken arithmetic as a listener hears it: find it in prose, work it out, compare.

A lesson says "0.3 divided by 0.3 plus 0.1, which is 0.75". Read on a page the grouping is
obvious from the example's intent; heard, it is 0.3 / 0.3 + 0.1 = 1.1. This module finds every
such phrase in a text (digits and number words joined by spoken operators) and the result the
text states for it, and works the phrase out the way it is heard:

* standard precedence, left to right: "times", "divided by", "over" and "out of" before "plus"
  and "minus"; "squared", "cubed" and "to the power" bind to the number just before them;
* "the square root of", "the natural log of", "the log base B of" and "half of" take the number
  (with its power) just after them: "the square root of 9 plus 16" is 3 plus 16;
* explicit groups: "the sum of A and B", "the product of A and B", "the quantity A, ..." (the
  comma closes it), "..., all squared" (everything so far), and an intermediate result named in
  passing, "divided by the sum, 0.4,";
* a comma inside a phrase is a pause. A listener may hear it as closing everything said so far
  ("8 minus 6, divided by 2" as (8 - 6) / 2) or may not hear it at all (8 - 6 / 2), so a phrase
  is heard right only when both hearings give the stated result.

The result is stated after the phrase ("is 16", ", which is about 0.88", ", or 100", ". That is
4 plus 3 plus 1, which is 8", whose own result is taken) or before it ("5, the square root of
25", "15 million, which is 50000 times 300", "10. That is 5 times 4, divided by 2.").
A phrase next to a letter ("2 times 3 x") is algebra, not arithmetic, and is left alone.

The catalog's test runs this over every text of every topic (the reviews ask the same quizzes
and recall the explanations' first sentences, so they are covered too), and `companion check`
runs it over the catalog a build uses (:func:`misheard_in_catalog`), a user's own included.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from companion.models import Catalog, Facets

__all__ = [
    "NotArithmetic",
    "Phrase",
    "catalog_texts",
    "find_phrases",
    "hear",
    "misheard",
    "misheard_in_catalog",
]


class NotArithmetic(ValueError):
    """The words are not a complete spoken arithmetic phrase."""


@dataclass(frozen=True, slots=True)
class Phrase:
    """One arithmetic phrase found in a text, as a listener hears it."""

    words: str  # the phrase as written in the text
    with_pauses: float  # heard with each comma closing what was said before it
    without_pauses: float  # heard with the commas ignored
    stated: float | None  # the result the text states for it (None: it states none)
    approximate: bool  # stated with "about", so it is right to the digits given
    digits: int  # decimal places of the stated result

    def heard_right(self) -> bool:
        """Both hearings give the stated result (a phrase without one is never wrong)."""
        if self.stated is None:
            return True
        return all(self._agrees(value) for value in (self.with_pauses, self.without_pauses))

    def _agrees(self, value: float) -> bool:
        stated = self.stated
        assert stated is not None
        if self.approximate:
            return abs(value - stated) <= 0.5 * 10.0**-self.digits + 1e-12
        return math.isclose(value, stated, rel_tol=1e-9, abs_tol=1e-12)


# ----------------------------------------------------------------------------- words


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # NUM, ADD, SUB, MUL, DIV, POW, SQ, CUBE, ALLSQ, SQRT, LN, LOG, HALFOF,
    # SUMOF, PRODOF, AND, QTY, REF, E, COMMA, STOP, WORD
    start: int  # character offsets in the text
    end: int
    value: float = 0.0  # NUM: the number; LOG: the base
    word: str = ""  # WORD: the word, lower case
    digits: int = 0  # NUM: decimal places as written


_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9}
_FRACTIONS = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4,
    "fourth": 4, "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6,
    "eighth": 8, "eighths": 8, "tenth": 10, "tenths": 10, "sixteenth": 16, "sixteenths": 16,
    "hundredth": 100, "hundredths": 100, "thousandth": 1000, "thousandths": 1000,
}  # fmt: skip
# Word sequences that are one operator, longest first where they share a start.
_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("the", "square", "root", "of"), "SQRT"),
    (("the", "natural", "log", "of"), "LN"),
    (("the", "sum", "of"), "SUMOF"),
    (("the", "product", "of"), "PRODOF"),
    (("the", "quantity"), "QTY"),
    (("divided", "by"), "DIV"),
    (("out", "of"), "DIV"),
    (("to", "the", "power"), "POW"),
    (("all", "squared"), "ALLSQ"),
    (("half", "of"), "HALFOF"),
    (("plus",), "ADD"),
    (("minus",), "SUB"),
    (("times",), "MUL"),
    (("over",), "DIV"),
    (("squared",), "SQ"),
    (("cubed",), "CUBE"),
    (("and",), "AND"),
)
# "the sum, 0.4," names an intermediate result in passing.
_REFERENCES = (("the", "sum"), ("their", "sum"), ("the", "product"), ("the", "total"))
_RAW = re.compile(r"\d+(?:\.\d+)?|[A-Za-z]+(?:'[a-z]+)?|[,.;:?!]")
_VERBS = {"is", "are", "be", "was"}  # "is divided by 100": a verb, not a left operand
_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "theta", "lambda", "mu", "pi", "rho",
    "sigma", "eta", "tau", "phi", "psi", "omega",
}  # fmt: skip
_STARTS = {"NUM", "SUB", "SQRT", "LN", "LOG", "HALFOF", "SUMOF", "PRODOF", "QTY", "E", "REF"}
_BINARY = {"ADD": 1, "SUB": 1, "MUL": 2, "DIV": 2}


def _tokens(text: str) -> list[_Token]:
    raw = [(m.group(), m.start(), m.end()) for m in _RAW.finditer(text)]
    words = [r[0].lower() for r in raw]
    out: list[_Token] = []
    i = 0
    while i < len(raw):
        number = _number(raw, words, i)
        if number is not None:
            out.append(number[0])
            i = number[1]
            continue
        token, i = _operator(raw, words, i)
        out.append(token)
    return out


def _number(
    raw: Sequence[tuple[str, int, int]], words: Sequence[str], i: int
) -> tuple[_Token, int] | None:
    """A number of digits or words at ``i`` ("0.3", "15 million", "two thirds", "a quarter")."""
    word = words[i]
    j = i
    digits = 0
    if word[0].isdigit():
        value = float(word)
        digits = len(word.split(".")[1]) if "." in word else 0
        j += 1
    elif word in _UNITS:
        value = float(_UNITS[word])
        j += 1
        if value >= 20 and j < len(words) and words[j] in _UNITS and _UNITS[words[j]] < 10:
            value += _UNITS[words[j]]  # "ninety five"
            j += 1
    elif (
        word == "a"
        and words[j + 1 : j + 2]
        and (words[j + 1] in _SCALES or words[j + 1] in _FRACTIONS)
    ):
        value = 1.0
        j += 1
    else:
        return None
    if j < len(words) and words[j] in _SCALES:
        value *= _SCALES[words[j]]
        j += 1
    elif (
        j < len(words)
        and words[j] in _FRACTIONS
        and not (j + 1 < len(words) and words[j] == "half" and words[j + 1] == "of")
    ):
        value /= _FRACTIONS[words[j]]
        digits = 3
        j += 1
    return _Token("NUM", raw[i][1], raw[j - 1][2], value=value, digits=digits), j


def _operator(
    raw: Sequence[tuple[str, int, int]], words: Sequence[str], i: int
) -> tuple[_Token, int]:
    word = words[i]
    if word == "e" and i + 2 < len(words) and words[i + 1 : i + 3] == ["to", "the"]:
        return _Token("E", raw[i][1], raw[i][2]), i + 1
    if words[i : i + 3] == ["the", "log", "base"] and i + 4 < len(words):
        base = _number(raw, words, i + 3)
        if base is not None and base[1] < len(words) and words[base[1]] == "of":
            end = base[1] + 1
            return _Token("LOG", raw[i][1], raw[end - 1][2], value=base[0].value), end
    if (
        words[i : i + 2] == ["to", "the"]
        and i + 2 < len(words)
        and (_number(raw, words, i + 2) is not None or words[i + 2] == "minus")
    ):
        return _Token("POW", raw[i][1], raw[i + 1][2]), i + 2  # "e to the 2"
    for pair in _REFERENCES:
        if tuple(words[i : i + 2]) == pair and words[i + 2 : i + 3] == [","]:
            return _Token("REF", raw[i][1], raw[i + 1][2]), i + 2
    for sequence, kind in _PHRASES:
        if tuple(words[i : i + len(sequence)]) == sequence:
            end = i + len(sequence)
            return _Token(kind, raw[i][1], raw[end - 1][2]), end
    if word == ",":
        return _Token("COMMA", raw[i][1], raw[i][2]), i + 1
    if word in ".;:?!":
        return _Token("STOP", raw[i][1], raw[i][2]), i + 1
    return _Token("WORD", raw[i][1], raw[i][2], word=word), i + 1


# ----------------------------------------------------------------------------- hearing


class _Hearing:
    """Recursive descent over the tokens from ``start``; ``pauses``: commas close groups."""

    def __init__(self, tokens: Sequence[_Token], start: int, *, pauses: bool) -> None:
        self.tokens = tokens
        self.at = start
        self.pauses = pauses
        self.groups = 0  # open "the quantity" / "the sum of" groups
        self.operations = 0

    def peek(self, ahead: int = 0) -> _Token | None:
        index = self.at + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def kind(self, ahead: int = 0) -> str:
        token = self.peek(ahead)
        return token.kind if token is not None else "END"

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise NotArithmetic("the phrase ends too early")
        self.at += 1
        return token

    def phrase(self) -> float:
        value = self.expression(0)
        while self.kind() == "COMMA" and self._continues():
            self.at += 1  # a pause that closes everything said so far
            value = self.expression(0, left=value)
        return value

    def _continues(self) -> bool:
        """After a comma: an operator that carries the phrase on."""
        return self.kind(1) in _BINARY or self.kind(1) in {"ALLSQ", "SQ", "CUBE", "POW"}

    def expression(self, floor: int, left: float | None = None) -> float:
        value = self.unary() if left is None else self._postfix(left)
        while True:
            kind = self.kind()
            pause = False
            if kind == "COMMA" and self._continues():
                if self.kind(1) == "ALLSQ" and self.groups == 0 and floor == 0:
                    self.at += 2  # ", all squared": everything said so far
                    self.operations += 1
                    value = value**2
                    continue
                if self.groups or self.pauses:
                    return value  # the pause closes a group; the caller goes on
                kind, pause = self.kind(1), True
            if kind == "ALLSQ" and self.groups == 0 and floor == 0:
                self.at += 1
                self.operations += 1
                value = value**2
                continue
            precedence = _BINARY.get(kind)
            if precedence is None or precedence < floor:
                return value
            self.at += 2 if pause else 1
            right = self.expression(precedence + 1)
            value = _apply(kind, value, right)
            self.operations += 1

    def unary(self) -> float:
        if self.kind() == "SUB":
            self.take()
            return -self.unary()
        return self._postfix(self.primary())

    def _postfix(self, value: float) -> float:
        while True:
            kind = self.kind()
            if kind == "SQ":
                self.take()
                value = value**2
            elif kind == "CUBE":
                self.take()
                value = value**3
            elif kind == "POW":
                self.take()
                negative = self.kind() == "SUB"
                if negative:
                    self.take()
                exponent = self.number()
                value = value ** (-exponent if negative else exponent)
            else:
                return value
            self.operations += 1

    def number(self) -> float:
        token = self.take()
        if token.kind != "NUM":
            raise NotArithmetic(f"a number was expected, not {token.kind}")
        return token.value

    def primary(self) -> float:
        token = self.take()
        kind = token.kind
        if kind == "NUM":
            return token.value
        if kind == "E":
            if self.kind() != "POW":
                raise NotArithmetic("e without a power")
            return math.e
        if kind in {"SQRT", "LN", "LOG", "HALFOF"}:
            operand = self._postfix(self.primary())
            self.operations += 1
            return _function(kind, operand, token.value)
        if kind == "QTY":
            return self.group(lambda: self.expression(0))
        if kind in {"SUMOF", "PRODOF"}:
            first = self.group(lambda: self.expression(0), close=False)
            if self.take().kind != "AND":
                raise NotArithmetic("'the sum of' needs 'and'")
            second = self.group(lambda: self.expression(0))
            self.operations += 1
            return first + second if kind == "SUMOF" else first * second
        if kind == "REF":  # "the sum, 0.4,"
            if self.take().kind != "COMMA":
                raise NotArithmetic("a named result needs a comma")
            value = self.number()
            if self.kind() == "COMMA":
                self.take()
            return value
        raise NotArithmetic(f"unexpected {token.word or kind}")

    def group(self, inside: Callable[[], float], *, close: bool = True) -> float:
        self.groups += 1
        try:
            value = inside()
        finally:
            self.groups -= 1
        if close and self.kind() == "COMMA" and (self._continues() or self.kind(1) == "WORD"):
            self.take()  # the pause that closes the group
        return value


def _apply(kind: str, left: float, right: float) -> float:
    if kind == "ADD":
        return left + right
    if kind == "SUB":
        return left - right
    if kind == "MUL":
        return left * right
    if right == 0:
        raise NotArithmetic("division by zero")
    return left / right


def _function(kind: str, operand: float, base: float) -> float:
    if kind == "SQRT":
        if operand < 0:
            raise NotArithmetic("the square root of a negative number")
        return math.sqrt(operand)
    if kind == "HALFOF":
        return operand / 2
    if operand <= 0:
        raise NotArithmetic("the log of a number that is not positive")
    return math.log(operand) if kind == "LN" else math.log(operand, base)


def hear(words: str, *, pauses: bool = True) -> float:
    """The value of a whole spoken phrase, heard with or without its commas as group ends.

    Raises :class:`NotArithmetic` when the words are not one complete phrase.
    """
    tokens = _tokens(words)
    hearing = _Hearing(tokens, 0, pauses=pauses)
    value = hearing.phrase()
    if hearing.at != len(tokens):
        raise NotArithmetic(f"{words!r}: not arithmetic from {tokens[hearing.at].start}")
    return value


# ----------------------------------------------------------------------------- finding


@dataclass(frozen=True, slots=True)
class _Span:
    start: int  # token indexes, end exclusive
    end: int
    with_pauses: float
    without_pauses: float


def _span_at(tokens: Sequence[_Token], start: int) -> _Span | None:
    """The arithmetic phrase that starts at token ``start``, if one does."""
    if tokens[start].kind not in _STARTS or _after_operator(tokens, start):
        return None
    values: list[float] = []
    ends: set[int] = set()
    for pauses in (True, False):
        hearing = _Hearing(tokens, start, pauses=pauses)
        try:
            values.append(hearing.phrase())
        except (NotArithmetic, OverflowError):
            return None
        if hearing.operations == 0:
            return None
        ends.add(hearing.at)
    if len(ends) != 1:
        return None
    end = ends.pop()
    if end < len(tokens) and _is_symbol(tokens[end]):
        return None  # "2 times 3 x" is algebra
    if end < len(tokens) and tokens[end].kind in {*_BINARY, "POW", "SQ", "CUBE"}:
        return None  # "50 plus 2 times the size": an operand is not a number
    return _Span(start, end, values[0], values[1])


def _after_operator(tokens: Sequence[_Token], start: int) -> bool:
    """``start`` is the right operand of something that is not a number ("x plus 1")."""
    if start == 0 or tokens[start - 1].kind not in _BINARY:
        return False
    before = tokens[start - 2] if start >= 2 else None
    return not (before is not None and before.kind == "WORD" and before.word in _VERBS)


def _is_symbol(token: _Token) -> bool:
    return token.kind == "WORD" and (
        (len(token.word) == 1 and token.word != "a") or token.word in _GREEK
    )


def _words(tokens: Sequence[_Token], start: int, end: int, *, text: str) -> str:
    return text[tokens[start].start : tokens[end - 1].end]


def _result_before(tokens: Sequence[_Token], start: int) -> _Token | None:
    """The result stated before a phrase: "R, EXPR", "R, which is EXPR", "R. That is EXPR"."""
    kinds = [t.kind for t in tokens[:start]]
    words = [t.word for t in tokens[:start]]
    if words[-2:] == ["which", "is"] and kinds[-4:-2] == ["NUM", "COMMA"]:
        return tokens[start - 4]  # "15 million, which is 50000 times 300"
    if kinds[-2:] == ["NUM", "COMMA"] and _opens_sentence(tokens, start - 2):
        return tokens[start - 2]  # "5, the square root of 25"
    if (
        words[-2:] == ["that", "is"]
        and kinds[-4:-2] == ["NUM", "STOP"]
        and _opens_sentence(tokens, start - 4)
    ):
        return tokens[start - 4]  # "10. That is 5 times 4, divided by 2."
    return None


def _opens_sentence(tokens: Sequence[_Token], index: int) -> bool:
    """The token at ``index`` starts its sentence, or follows one word of it ("By 0.6,")."""
    for back in (1, 2):
        if index - back < 0 or tokens[index - back].kind == "STOP":
            return True
        if tokens[index - back].kind != "WORD":
            return False
    return False


_MARKERS: tuple[tuple[str, ...], ...] = (
    (",", "which", "is", "about"),
    (",", "which", "is"),
    ("which", "is"),
    (".", "that", "is", "about"),
    (".", "that", "is"),
    (".", "the", "total", "is"),
    (",", "about"),
    (",", "or"),
    (",", "is", "about"),
    (",", "is"),
    ("is", "about"),
    ("is",),
    ("gives",),
    ("equals",),
)


def _result_after(tokens: Sequence[_Token], end: int) -> tuple[int, bool] | None:
    """Where the result stated after a phrase starts, and whether it is "about" it."""
    for marker in _MARKERS:
        here = [_marker_word(t) for t in tokens[end : end + len(marker)]]
        if tuple(here) == marker:
            at = end + len(marker)
            if at < len(tokens) and tokens[at].kind in {"NUM", "SUB"}:
                return at, marker[-1] == "about"
    return None


def _marker_word(token: _Token) -> str:
    if token.kind == "COMMA":
        return ","
    if token.kind == "STOP":
        return "."
    return token.word


def _stated(tokens: Sequence[_Token], at: int) -> _Token | None:
    """A number, or "minus" and a number, at ``at``."""
    if tokens[at].kind == "NUM":
        return tokens[at]
    if at + 1 < len(tokens) and tokens[at + 1].kind == "NUM":
        token = tokens[at + 1]
        return _Token("NUM", tokens[at].start, token.end, value=-token.value, digits=token.digits)
    return None


def find_phrases(text: str) -> tuple[Phrase, ...]:
    """Every arithmetic phrase of ``text``, in order, with the result the text states."""
    tokens = _tokens(text)
    spans: dict[int, _Span] = {}
    index = 0
    while index < len(tokens):
        span = _span_at(tokens, index)
        if span is None:
            index += 1
            continue
        spans[span.start] = span
        index = span.end
    phrases = []
    for span in spans.values():
        stated, about = _stated_for(tokens, span, spans)
        phrases.append(
            Phrase(
                words=_words(tokens, span.start, span.end, text=text),
                with_pauses=span.with_pauses,
                without_pauses=span.without_pauses,
                stated=stated.value if stated is not None else None,
                approximate=about,
                digits=stated.digits if stated is not None else 0,
            )
        )
    return tuple(phrases)


def _stated_for(
    tokens: Sequence[_Token], span: _Span, spans: dict[int, _Span]
) -> tuple[_Token | None, bool]:
    before = _result_before(tokens, span.start)
    if before is not None and not _running_total(tokens, span.start):
        return before, False  # ("3 times 2, which is 6, plus 1": the 2 is no result of 6 + 1)
    after = _result_after(tokens, span.end)
    if after is None:
        return None, False
    at, about = after
    if at in spans and not _running_total(tokens, at):
        return _stated_for(tokens, spans[at], spans)  # "..., which is 4 plus 3": its result
    return _stated(tokens, at), about


def _running_total(tokens: Sequence[_Token], at: int) -> bool:
    """A result said and then added to: "3 times 2, which is 6, plus 1"."""
    return tokens[at].kind == "NUM" and at + 1 < len(tokens) and tokens[at + 1].kind == "COMMA"


def misheard(texts: Iterable[str]) -> list[tuple[str, Phrase]]:
    """Each phrase of ``texts`` that a listener would not hear as its stated result."""
    return [
        (text, phrase)
        for text in texts
        for phrase in find_phrases(text)
        if not phrase.heard_right()
    ]


def catalog_texts(
    catalog: Catalog, facets: Facets | None = None, every_example: bool = False
) -> Iterator[tuple[str, str]]:
    """(topic or facet id, text) for the texts a lesson or a review speaks from the catalog:
    each topic's explanation, equation meanings, stock example (with ``every_example``, all
    its worked examples) and questions, and with ``facets`` each member's distinction,
    meanings, example and questions. `companion check` reads the stock examples only: the
    finder misreads a few phrases of the others (tests/data/spoken_arithmetic_unread.txt).

    A review asks a topic's quiz questions and recalls the first sentence of its explanation,
    so it says nothing that is not here."""
    for topic in catalog.topics:
        yield topic.id, topic.explanation
        for equation in topic.equations:
            yield topic.id, equation.meaning
        for example in dict.fromkeys((topic.example, *(topic.examples if every_example else ()))):
            yield topic.id, example.text
        for quiz in topic.quizzes:
            yield topic.id, quiz.question
            yield topic.id, quiz.answer
    for facet in facets.facets if facets is not None else ():
        yield facet.id, facet.distinction
        for equation in facet.equations:
            yield facet.id, equation.meaning
        yield facet.id, facet.example.text
        for quiz in facet.quizzes:
            yield facet.id, quiz.question
            yield facet.id, quiz.answer


def misheard_in_catalog(
    catalog: Catalog, facets: Facets | None = None, every_example: bool = False
) -> list[str]:
    """One line per catalog phrase a listener hears as another number than the one stated
    (the texts of `catalog_texts`)."""
    lines = []
    for topic_id, text in catalog_texts(catalog, facets, every_example):
        for phrase in find_phrases(text):
            if phrase.heard_right() or phrase.stated is None:
                continue
            heard = f"{phrase.with_pauses:g}"
            if not math.isclose(phrase.with_pauses, phrase.without_pauses):
                heard += f" (or {phrase.without_pauses:g} if the pause is not heard)"
            lines.append(
                f"topic {topic_id!r}: {phrase.words!r} is heard as {heard}, "
                f"not the stated {phrase.stated:g}"
            )
    return lines
