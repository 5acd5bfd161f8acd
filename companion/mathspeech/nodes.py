"""The math tree: small dataclasses built by the parser and read by the reader.

A tree is never changed once built. Its nodes are not frozen=True only for speed: a frozen
dataclass sets each field through object.__setattr__, which makes building a node three
times as slow, and the parser builds a dozen an equation. unsafe_hash=True hashes a node by
its fields, as a frozen one is hashed (nodes are set members and dictionary keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# A symbol's kind: a Latin letter, a lower-case or capital Greek letter (\alpha, \Gamma),
# a symbol command, or a big operator (\sum, \prod).
SymKind = Literal["latin", "greek", "Greek", "symbol", "bigop"]


@dataclass(slots=True, unsafe_hash=True)
class Empty:
    """An empty group such as {}."""


@dataclass(slots=True, unsafe_hash=True)
class Num:
    text: str


@dataclass(slots=True, unsafe_hash=True)
class Sym:
    name: str  # the letter, the Greek command, or the symbol command
    kind: SymKind


@dataclass(slots=True, unsafe_hash=True)
class Name:
    """A multi-letter name: a named function (log, softmax) or a word (MSE, Recall)."""

    name: str


@dataclass(slots=True, unsafe_hash=True)
class Text:
    text: str


@dataclass(slots=True, unsafe_hash=True)
class Font:
    style: str  # "bold", "blackboard", "script", "fraktur", ""
    body: Node


@dataclass(slots=True, unsafe_hash=True)
class Accent:
    accent: str  # "hat", "bar", ...
    body: Node


@dataclass(slots=True, unsafe_hash=True)
class Scripts:
    base: Node
    sub: Node | None
    sup: Node | None
    primes: int = 0


@dataclass(slots=True, unsafe_hash=True)
class Factorial:
    body: Node


@dataclass(slots=True, unsafe_hash=True)
class Frac:
    num: Node
    den: Node


@dataclass(slots=True, unsafe_hash=True)
class Deriv:
    """d/dx, dy/dx, the partial derivatives; func is None for the bare operator."""

    partial: bool
    order: Node | None
    func: Node | None
    variables: tuple[Node, ...]
    powers: tuple[Node | None, ...]


@dataclass(slots=True, unsafe_hash=True)
class Root:
    body: Node
    index: Node | None


@dataclass(slots=True, unsafe_hash=True)
class Binom:
    n: Node
    k: Node


@dataclass(slots=True, unsafe_hash=True)
class Fenced:
    open: str
    close: str
    body: Node | None


@dataclass(slots=True, unsafe_hash=True)
class Apply:
    func: Node
    arg: Fenced


@dataclass(slots=True, unsafe_hash=True)
class BigOp:
    op: str  # key of vocabulary.BIG_OPS or a limit function name (max, argmin, ...)
    sub: Node | None
    sup: Node | None
    body: Node | None
    differentials: tuple[Node, ...] = ()


@dataclass(slots=True, unsafe_hash=True)
class Prefix:
    """An operator applied to what follows: a named function without parentheses, nabla, d/dx."""

    op: Node
    operand: Node


@dataclass(slots=True, unsafe_hash=True)
class Sum:
    terms: tuple[Node, ...]
    ops: tuple[str, ...]  # ops[k] precedes terms[k]; ops[0] is "" or a sign


@dataclass(slots=True, unsafe_hash=True)
class Product:
    factors: tuple[Node, ...]
    ops: tuple[str, ...]  # between factors; "" is juxtaposition


@dataclass(slots=True, unsafe_hash=True)
class Relation:
    parts: tuple[Node | None, ...]
    rels: tuple[str, ...]
    labels: tuple[Node | None, ...] = ()  # a label set over a relation: \overset{def}{=}


@dataclass(slots=True, unsafe_hash=True)
class Seq:
    items: tuple[Node | None, ...]
    seps: tuple[str, ...]


@dataclass(slots=True, unsafe_hash=True)
class Matrix:
    env: str
    rows: tuple[tuple[Node | None, ...], ...]


@dataclass(slots=True, unsafe_hash=True)
class Cases:
    rows: tuple[tuple[Node | None, ...], ...]


@dataclass(slots=True, unsafe_hash=True)
class Lines:
    rows: tuple[Node, ...]


Node = (
    Empty
    | Num
    | Sym
    | Name
    | Text
    | Font
    | Accent
    | Scripts
    | Factorial
    | Frac
    | Deriv
    | Root
    | Binom
    | Fenced
    | Apply
    | BigOp
    | Prefix
    | Sum
    | Product
    | Relation
    | Seq
    | Matrix
    | Cases
    | Lines
)
