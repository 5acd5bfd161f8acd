"""Math speech: LaTeX equations read aloud as natural English, the way a teacher says them."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from companion.errors import MathSpeechError

from . import vocabulary as V
from .lexer import fail
from .parser import Parser
from .reading import SMALL_MARK, Reader
from .shapes import latin_letters
from .vocabulary import integer_words

__all__ = [
    "VERBOSITIES",
    "MathSpeechError",
    "MathSpeechWarning",
    "Spoken",
    "integer_words",
    "speak",
    "verbalize",
    "verbalize_inline",
]

VERBOSITIES = ("brief", "normal", "verbose")
_INLINE = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$", re.DOTALL)
_COMMAS = re.compile(r"\s*,(\s*,)*\s*")
_FORBIDDEN = re.compile("[" + re.escape("".join(sorted(V.FORBIDDEN))) + "]")
_NO_FUNCTIONS: frozenset[str] = frozenset()


class MathSpeechWarning(UserWarning):
    """An unsupported command or environment read leniently (its argument, or its name)."""


def _check_verbosity(verbosity: str) -> None:
    if verbosity not in VERBOSITIES:
        raise MathSpeechError(
            f"{verbosity}: unknown verbosity (use one of {', '.join(VERBOSITIES)})"
        )


@dataclass(frozen=True, slots=True)
class Spoken:
    """An equation's reading and the warnings of a lenient parse (each one line)."""

    text: str
    warnings: tuple[str, ...] = ()


def speak(
    latex: str, verbosity: str = "normal", *, strict: bool = False, functions: Iterable[str] = ()
) -> Spoken:
    """Read one LaTeX equation aloud; return the words and any warnings (see verbalize)."""
    _check_verbosity(verbosity)
    if not latex.strip():
        raise MathSpeechError("(empty): no equation to read")
    parser = Parser(latex, strict, frozenset(functions) if functions else _NO_FUNCTIONS)
    tree = parser.parse()
    letters = latin_letters(tree)
    lowers = frozenset(filter(str.islower, letters))
    # small letters whose capital is used too: marked by the reader, "small k" if said first
    both = frozenset(c for c in lowers if c.upper() in letters)
    text = " ".join(Reader(verbosity, lowers, tree, both).read(tree).split())
    if both:
        text = _say_small_first(text, both)
    if "," in text:
        text = _COMMAS.sub(", ", text)
    text = text.strip(" ,")
    if not text:
        raise fail(latex, "nothing to read")
    if _FORBIDDEN.search(text):  # a bug in the speech rules: never hand symbols to the TTS
        bad = "".join(sorted(set(text) & V.FORBIDDEN))
        raise fail(latex, f"internal error: reading contains {bad!r}")
    return Spoken(text, tuple(parser.warnings))


def _say_small_first(text: str, small: frozenset[str]) -> str:
    """Say "small k" where k is heard before "capital K" (if the capital is said at all);
    after it the case is known, since a capital is always said "capital K". The marks the
    reader left on such letters are dropped."""
    for letter in sorted(small):
        first_small = text.find(SMALL_MARK + letter)
        capital = re.search(rf"\bcapital {letter.upper()}\b", text)
        if first_small != -1 and capital is not None and first_small < capital.start():
            text = text.replace(SMALL_MARK + letter, "small " + letter, 1)
    return text.replace(SMALL_MARK, "")


def verbalize(
    latex: str, verbosity: str = "normal", *, strict: bool = False, functions: Iterable[str] = ()
) -> str:
    """Read one LaTeX equation (math mode, no dollar signs) aloud as plain English words.

    An unsupported command is read as its argument (or its name) and reported with a
    MathSpeechWarning; with ``strict=True`` it raises MathSpeechError instead. ``functions``
    names letters to read as functions before parentheses ("W of x", not "W times x").
    """
    spoken = speak(latex, verbosity, strict=strict, functions=functions)
    for message in spoken.warnings:
        warnings.warn(message, MathSpeechWarning, stacklevel=2)
    return spoken.text


def verbalize_inline(
    text: str,
    verbosity: str = "normal",
    *,
    strict: bool = False,
    around: tuple[str, str] = ("", ""),
) -> str:
    """Replace each $...$ (or $$...$$) span of prose by its spoken form; keep the rest.

    `around` is put before and after each spoken form (the render stage marks equations).
    """
    _check_verbosity(verbosity)
    before, after = around

    def spoken(match: re.Match[str]) -> str:
        words = verbalize(match.group(1) or match.group(2), verbosity, strict=strict)
        return f"{before}{words}{after}"

    out = _INLINE.sub(spoken, text)
    stray = re.search(r"(?<!\\)\$", out)
    if stray:
        raise MathSpeechError(f"{text[:60]}: unmatched '$' at position {_position_of_stray(text)}")
    return out.replace("\\$", "$")


def _position_of_stray(text: str) -> int:
    """Position of the first dollar sign that no span closes."""
    last = 0
    for match in _INLINE.finditer(text):
        last = match.end()
    found = re.search(r"(?<!\\)\$", text[last:])
    return last + (found.start() if found else 0)
