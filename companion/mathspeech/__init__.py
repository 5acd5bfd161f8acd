"""Math speech: LaTeX equations read aloud as natural English, the way a teacher says them."""

from __future__ import annotations

import re

from companion.errors import MathSpeechError

from . import vocabulary as V
from .lexer import fail
from .parser import Parser
from .reading import Reader
from .shapes import lower_letters

__all__ = ["VERBOSITIES", "MathSpeechError", "verbalize", "verbalize_inline"]

VERBOSITIES = ("brief", "normal", "verbose")
_INLINE = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$", re.DOTALL)
_SPACES = re.compile(r"\s+")
_COMMAS = re.compile(r"\s*,(\s*,)*\s*")


def _check_verbosity(verbosity: str) -> None:
    if verbosity not in VERBOSITIES:
        raise MathSpeechError(
            f"{verbosity}: unknown verbosity (use one of {', '.join(VERBOSITIES)})"
        )


def verbalize(latex: str, verbosity: str = "normal") -> str:
    """Read one LaTeX equation (math mode, no dollar signs) aloud as plain English words."""
    _check_verbosity(verbosity)
    if not latex.strip():
        raise MathSpeechError("(empty): no equation to read")
    parser = Parser(latex)
    tree = parser.parse()
    lowers = frozenset(lower_letters(tree))
    text = Reader(verbosity, lowers).read(tree)
    text = _COMMAS.sub(", ", _SPACES.sub(" ", text)).strip(" ,")
    if not text:
        raise fail(latex, "nothing to read")
    bad = sorted(set(text) & V.FORBIDDEN)
    if bad:  # a bug in the speech rules: never hand symbols to the TTS
        raise fail(latex, f"internal error: reading contains {''.join(bad)!r}")
    return text


def verbalize_inline(text: str, verbosity: str = "normal") -> str:
    """Replace each $...$ (or $$...$$) span of prose by its spoken form; keep the rest."""
    _check_verbosity(verbosity)

    def spoken(match: re.Match[str]) -> str:
        return verbalize(match.group(1) or match.group(2), verbosity)

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
