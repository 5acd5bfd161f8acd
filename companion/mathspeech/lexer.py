"""LaTeX math source to a flat list of positioned tokens."""

from __future__ import annotations

import re
import string

from companion.errors import MathSpeechError
from companion.mathspeech.vocabulary import FUNCTIONS

# token kinds
CMD = "cmd"  # \name (value: name without backslash)
LETTER = "letter"  # one Latin letter
NUM = "num"  # digits, maybe with one decimal point
SYM = "sym"  # one punctuation symbol, or a normalized delimiter such as "‖"
LBRACE = "{"
RBRACE = "}"
SUB = "_"
SUP = "^"
AMP = "&"
NEWLINE = "newline"  # \\ (row separator)
PRIME = "prime"  # '
TEXT = "text"  # raw content of \text{...} and friends
EOF = "eof"

# commands that only change spacing or size: dropped by the lexer
_IGNORED = frozenset(
    {
        "quad",
        "qquad",
        "thinspace",
        "enspace",
        "medspace",
        "thickspace",
        "negthinspace",
        "displaystyle",
        "textstyle",
        "scriptstyle",
        "scriptscriptstyle",
        "limits",
        "nolimits",
        "left",
        "right",
        "middle",
        "big",
        "Big",
        "bigg",
        "Bigg",
        "bigl",
        "bigr",
        "Bigl",
        "Bigr",
        "biggl",
        "biggr",
        "Biggl",
        "Biggr",
        "bigm",
        "Bigm",
        "nonumber",
        "notag",
        "hfill",
        "mathstrut",
        "strut",
        "allowbreak",
        "relax",
    }
)
# commands whose argument is raw text
TEXT_COMMANDS = frozenset(
    {
        "text",
        "textrm",
        "textit",
        "textbf",
        "textsf",
        "textnormal",
        "mbox",
        "textsc",
        "textup",
        "textmd",
        "texttt",
        "textsl",
        "emph",
        "hbox",
    }
)
# null delimiters: \left. opens a group that any \right closes, \right. closes any \left
NULL_LEFT = "left."
NULL_RIGHT = "right."
# delimiter commands normalized to one symbol
_DELIMS = {
    "|": "|",
    "vert": "|",
    "lvert": "|",
    "rvert": "|",
    "Vert": "‖",
    "lVert": "‖",
    "rVert": "‖",
    "{": "\\{",
    "}": "\\}",
    "lbrace": "\\{",
    "rbrace": "\\}",
    "lbrack": "[",
    "rbrack": "]",
}
_DIGITS = frozenset(string.digits)  # ASCII only: "²" is not a number token
# characters that are a token by themselves, whatever follows (not ":" and ".", which may
# start := or a number)
_ONE_CHARACTER = (
    dict.fromkeys(string.ascii_letters, LETTER)
    | dict.fromkeys("+-=<>()[],;!|/*?", SYM)
    | {"_": SUB, "^": SUP, "&": AMP, "'": PRIME}
)
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")  # 3, 3.14, .5 (ASCII digits only)
_ASCII_NAME = re.compile("[a-zA-Z]*")  # a command's name (isalpha() letters may follow)
_ESCAPED = {
    ",": None,
    ";": None,
    ":": None,
    "!": None,
    " ": None,
    ">": None,
    "%": "%",
    "#": "#",
    "&": "&",
    "_": "_",
    "$": "$",
}
_UNICODE = {
    "θ": "theta",
    "α": "alpha",
    "β": "beta",
    "λ": "lambda",
    "μ": "mu",
    "σ": "sigma",
    "π": "pi",
    "∞": "infty",
    "≤": "leq",
    "≥": "geq",
    "≠": "neq",
    "×": "times",
    "·": "cdot",
    "∑": "sum",
    "∫": "int",
    "∂": "partial",
    "∇": "nabla",
    "∈": "in",
    "→": "to",
    "≈": "approx",
    "−": "-",
}


class Token:
    """One token; a plain slotted class, not a frozen dataclass, as it is made 20 times an
    equation (a frozen dataclass's __init__ is three times as slow). Never changed once made."""

    __slots__ = ("kind", "pos", "value")

    def __init__(self, kind: str, value: str, pos: int) -> None:
        self.kind = kind
        self.value = value
        self.pos = pos  # index of the token's first character in the source

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.value!r}, {self.pos})"


def fragment(latex: str, limit: int = 60) -> str:
    """The source as it is quoted at the start of an error message."""
    flat = " ".join(latex.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def fail(latex: str, message: str) -> MathSpeechError:
    """A one-line error that starts with the input it concerns."""
    return MathSpeechError(f"{fragment(latex)}: {message}")


_LETTERS = frozenset(string.ascii_letters)
_LETTER_RUN = re.compile(r"[A-Za-z]+")
# Function names of three letters or more that papers also type as plain letters, as in
# softmax(x) or exp(x): read as the function, never as "s times o times f ...".
_TYPED_FUNCTIONS = frozenset(name for name in FUNCTIONS if len(name) >= 3 and name.isalpha())


def _typed_function(latex: str, i: int, tokens: list[Token], braces: list[int]) -> str:
    """The function name spelled by the whole run of letters starting at i, or "". A run
    right after a brace, a subscript or a superscript, or inside a command's braces, is left
    as letters (x_{max}, \\mathrm{softmax} and \\operatorname*{arg\\,max} keep their own
    readings)."""
    if i and latex[i - 1] in _LETTERS:
        return ""
    if tokens and tokens[-1].kind in (LBRACE, SUB, SUP):
        return ""
    run = _LETTER_RUN.match(latex, i)
    name = run.group() if run else ""
    if name not in _TYPED_FUNCTIONS:
        return ""
    if braces and _COMMAND_BEFORE.search(latex, 0, braces[-1]):
        return ""
    return name


_COMMAND_BEFORE = re.compile(r"\\[A-Za-z]+\*?\s*$")


def tokenize(latex: str) -> list[Token]:
    """Split LaTeX math into tokens; check brace balance; raise MathSpeechError on bad input."""
    tokens: list[Token] = []
    append = tokens.append
    braces: list[int] = []
    i, n = 0, len(latex)
    while i < n:
        c = latex[i]
        kind = _ONE_CHARACTER.get(c)
        if kind is LETTER and i + 2 < n and latex[i + 1] in _LETTERS:
            name = _typed_function(latex, i, tokens, braces)
            if name:
                append(Token(CMD, name, i))
                i += len(name)
                continue
        if kind is not None:  # the commonest tokens first
            append(Token(kind, c, i))
            i += 1
        elif c == "\\":
            j = _ASCII_NAME.match(latex, i + 1).end()  # type: ignore[union-attr]  # [a-zA-Z]*
            while j < n and latex[j].isalpha():  # a non-ASCII letter goes on the name
                j += 1
            if j == i + 1:  # \ followed by one non-letter
                if j >= n:
                    raise fail(latex, f"lone backslash at position {i}")
                ch = latex[j]
                if ch == "\\":
                    append(Token(NEWLINE, "\\\\", i))
                elif ch == "|":
                    append(Token(SYM, "‖", i))
                elif ch in _DELIMS:
                    append(Token(SYM, _DELIMS[ch], i))
                elif ch in _ESCAPED:
                    escaped = _ESCAPED[ch]
                    if escaped is not None:
                        append(Token(SYM, escaped, i))
                else:
                    raise fail(latex, f"unsupported command \\{ch} at position {i}")
                i = j + 1
                continue
            name = latex[i + 1 : j]
            if name in TEXT_COMMANDS:
                k = j
                while k < n and latex[k].isspace():
                    k += 1
                if k >= n or latex[k] != "{":
                    raise fail(latex, f"\\{name} needs a braced argument (at position {k})")
                depth, m = 0, k
                while m < n:
                    if latex[m] == "{" and latex[m - 1] != "\\":
                        depth += 1
                    elif latex[m] == "}" and latex[m - 1] != "\\":
                        depth -= 1
                        if depth == 0:
                            break
                    m += 1
                if m >= n:
                    raise fail(latex, f"unbalanced braces: '{{' at position {k} is never closed")
                append(Token(TEXT, latex[k + 1 : m], i))
                i = m + 1
                continue
            if name in ("left", "right") and j < n and latex[j] == ".":
                append(Token(SYM, NULL_LEFT if name == "left" else NULL_RIGHT, i))
                i = j + 1
                continue
            if name not in _IGNORED:
                if name in _DELIMS:
                    append(Token(SYM, _DELIMS[name], i))
                else:
                    append(Token(CMD, name, i))
            i = j
        elif c in _DIGITS or (c == "." and i + 1 < n and latex[i + 1] in _DIGITS):
            j = _NUMBER.match(latex, i).end()  # type: ignore[union-attr]  # a digit is here
            append(Token(NUM, latex[i:j], i))
            i = j
        elif c == "{":
            braces.append(i)
            append(Token(LBRACE, c, i))
            i += 1
        elif c == "}":
            if not braces:
                raise fail(latex, f"unbalanced braces: unexpected '}}' at position {i}")
            braces.pop()
            append(Token(RBRACE, c, i))
            i += 1
        elif c.isspace() or c == "~":
            i += 1
        elif c == ":" and i + 1 < n and latex[i + 1] == "=":
            append(Token(SYM, ":=", i))
            i += 2
        elif c == "." and latex.startswith("...", i):  # typed dots: \ldots
            append(Token(CMD, "ldots", i))
            i += 3
        elif c in ":.":
            append(Token(SYM, c, i))
            i += 1
        elif c in _UNICODE:
            name = _UNICODE[c]
            append(Token(SYM, name, i) if name == "-" else Token(CMD, name, i))
            i += 1
        elif c == "$":
            raise fail(latex, f"unexpected '$' at position {i} (give math without dollar signs)")
        else:
            raise fail(latex, f"unsupported character {c!r} at position {i}")
    if braces:
        raise fail(latex, f"unbalanced braces: '{{' at position {braces[-1]} is never closed")
    append(Token(EOF, "", n))
    return tokens
