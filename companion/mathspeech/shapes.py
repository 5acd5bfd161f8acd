"""Shape tests on the math tree, shared by the parser and the speech rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields
from operator import attrgetter
from typing import Any

from . import vocabulary as V
from .lexer import NULL_LEFT
from .nodes import (
    Accent,
    Apply,
    BigOp,
    Binom,
    Cases,
    Deriv,
    Factorial,
    Fenced,
    Font,
    Frac,
    Lines,
    Matrix,
    Name,
    Node,
    Num,
    Prefix,
    Product,
    Relation,
    Root,
    Scripts,
    Seq,
    Sum,
    Sym,
    Text,
)


def is_plain(node: Node | None) -> bool:
    """A single letter or Greek letter, maybe bold or accented."""
    if isinstance(node, Font) and node.style in ("bold", ""):
        return is_plain(node.body)
    if isinstance(node, Accent):
        return is_plain(node.body)
    return isinstance(node, Sym) and node.kind in ("latin", "greek", "Greek")


def is_symbolic(node: Node | None) -> bool:
    """A number, or a letter with sub- or superscripts: juxtaposed without "times" in brief."""
    if isinstance(node, Scripts):
        return is_plain(node.base)
    return isinstance(node, Num) or is_plain(node)


def is_sum(node: Node | None) -> bool:
    """A sum or difference of two or more terms."""
    return isinstance(node, Sum) and len(node.terms) > 1


def is_minus_one(node: Node | None) -> bool:
    return (
        isinstance(node, Sum)
        and node.ops == ("-",)
        and isinstance(node.terms[0], Num)
        and node.terms[0].text == "1"
    )


def is_transpose(node: Node | None) -> bool:
    if isinstance(node, Font):
        node = node.body
    return isinstance(node, Sym) and (node.name in ("top", "intercal") or node.name == "T")


LABEL_SYMBOLS = frozenset({"+", "-", "star", "ast", "dagger", "perp", "prime"})


def is_label_sup(base: Node | None, sup: Node | None) -> bool:
    """A superscript that names rather than raises: W^O, theta^{old}, L^{CLIP}, z^*, x^+.

    Words and upright names are labels on any base; so are + - * dagger perp prime, and a sum
    of names (L^{CLIP+VF+S}). A capital letter (not T, the transpose; primes allowed) is a label
    on a letter other than e (W^Q, W^O, theta^{Q'}), and a Greek letter on a Greek letter
    (theta^mu, the parameters of mu).
    """
    if isinstance(sup, (Name, Text)):
        return True
    if isinstance(sup, Sym) and sup.kind == "symbol":
        return sup.name in LABEL_SYMBOLS
    if (
        isinstance(sup, Sum)
        and len(sup.terms) > 1
        and set(sup.ops[1:]) == {"+"}
        and all(isinstance(t, Name) or (isinstance(t, Sym) and t.name.isupper()) for t in sup.terms)
    ):
        return True
    sup = unprimed(sup)
    while isinstance(base, (Font, Accent)):
        base = base.body
    if not isinstance(base, Sym) or not isinstance(sup, Sym):
        return False
    if base.kind == "greek" and sup.kind == "greek":
        return True
    return (
        sup.kind == "latin"
        and sup.name.isupper()
        and sup.name != "T"
        and base.kind in ("latin", "greek")
        and base.name != "e"
    )


def unprimed(node: Node | None) -> Node | None:
    """Q' or Q^{\\prime} without its prime; any other node unchanged."""
    if (
        isinstance(node, Scripts)
        and node.sub is None
        and (
            (node.primes and node.sup is None)
            or (not node.primes and isinstance(node.sup, Sym) and node.sup.name == "prime")
        )
    ):
        return node.base
    return node


def is_index_sup(sup: Node | None) -> bool:
    """A parenthesized superscript that counts rather than raises: x^{(i)}, W^{(l)}, f^{(k)}."""
    if not isinstance(sup, Fenced) or sup.open != "(":
        return False
    body = sup.body
    if isinstance(body, Sum) and len(body.terms) == 2:  # (l+1), (t-1)
        return (
            _is_index(body.terms[0])
            and isinstance(body.terms[1], (Num, Sym))
            and (body.ops[0] == "")
        )
    return (
        _is_index(body)
        or isinstance(body, Num)
        or (
            isinstance(body, Seq)
            and all(_is_index(item) or isinstance(item, Num) for item in body.items)
        )
    )


def _is_index(node: Node | None) -> bool:
    return is_plain(node) or (isinstance(node, Sym) and node.name == "ell")


def is_compound(node: Node | None) -> bool:
    """A parenthesized expression of several symbols, spoken as "the quantity" under a power."""
    return (
        isinstance(node, Fenced)
        and node.open in ("(", "[")
        and isinstance(node.body, (Sum, Product, Relation, Frac, Prefix, BigOp))
    )


def is_quantity(node: Node | None) -> bool:
    """A parenthesized expression that needs "the quantity" when read."""
    if not isinstance(node, Fenced) or node.open not in ("(", "["):
        return False
    body = node.body
    return (
        is_sum(body)
        or isinstance(body, (Sum, Relation, Frac))
        or (isinstance(body, Product) and not is_change_product(body))
    )


_LEAVES = (Sym, Num, Name, Text)


def pauses_to_close(node: Node | None, opened: frozenset[int] | set[int] = frozenset()) -> int:
    """How many open constructs a reading ends in: one pause closes one of them, so more
    than one cannot be closed by a pause alone ("the square root of f of x and y," leaves the
    root open after the list closes). 0 when the reading ends closed."""
    if not ends_open(node, opened):
        return 0
    if isinstance(node, (Product, Sum)):
        return pauses_to_close(
            node.factors[-1] if isinstance(node, Product) else node.terms[-1], opened
        )
    if isinstance(node, Root):
        return 1 + pauses_to_close(node.body, opened)
    if isinstance(node, Fenced) and is_quantity(node):
        return 1 + pauses_to_close(node.body, opened)
    if isinstance(node, Apply) and id(node) in opened:
        body = node.arg.body  # a list of arguments or "the quantity ..."; a ratio is closed
        if isinstance(body, Seq):
            return 1 + pauses_to_close(body.items[-1], opened)
        if isinstance(body, Sum):
            return 1 + pauses_to_close(body.terms[-1], opened)
    if isinstance(node, BigOp) and node.body is not None and not node.differentials:
        if node.op in V.LIMIT_FUNCTIONS:  # "the max over a of ...": its body is one term
            return max(1, pauses_to_close(node.body, opened))
        return 1 + pauses_to_close(node.body, opened)
    if isinstance(node, Frac) and isinstance(node.den, (Sum, Product)):
        # "over the quantity ..." or "over the product of ... and ...": a group, then its end
        return 1 + pauses_to_close(node.den, opened)
    return 1


def ends_open(node: Node | None, opened: frozenset[int] | set[int] = frozenset()) -> bool:
    """Whether a reading ends in an open construct ("the quantity ...", "the sum ... of ...",
    a list of arguments), so that what follows needs a pause to close it.

    `opened` holds the ids of the applications and operators whose argument the reader read
    as "the quantity ..." or a list (known only once read)."""
    if isinstance(node, _LEAVES) or node is None:
        return False  # the commonest case, tested first
    if isinstance(node, BigOp):
        return node.body is not None or bool(node.differentials)
    if isinstance(node, (Prefix, Apply)):
        if isinstance(node, Apply) and isinstance(node.func, Fenced):
            return True  # ..., evaluated at t
        return id(node) in opened
    if isinstance(node, Scripts):
        if isinstance(node.base, Fenced) and (
            node.base.open == NULL_LEFT
            or (node.base.open == "[" and node.sub is not None and node.sup is not None)
        ):
            return True  # ..., evaluated at x equals a
        if isinstance(node.base, Fenced) and node.base.open in ("‖", "|"):
            return ends_open(node.base, opened)  # "the squared norm of the quantity ..."
        if node.sup is not None:  # "the transpose of the quantity ..." is open
            return is_compound(node.base) and (is_transpose(node.sup) or is_minus_one(node.sup))
        if isinstance(node.sub, Fenced) and isinstance(node.sub.body, Seq):
            return True  # PE_{(pos, 2i)}: "P E of pos and two i" is a list
        return is_sum(node.sub) or (ends_open(node.base, opened) and node.sub is None)
    if isinstance(node, Frac):
        return is_sum(node.den) or ends_open(node.den, opened)
    if isinstance(node, Fenced):
        if node.open in ("‖", "|"):
            return is_sum(node.body) or ends_open(node.body, opened)
        return is_quantity(node) or (node.open in "([" and isinstance(node.body, Seq))
    if isinstance(node, Product):
        return ends_open(node.factors[-1], opened)
    if isinstance(node, Sum):
        return ends_open(node.terms[-1], opened)
    if isinstance(node, Root):
        return True  # "the square root of" takes all that follows, up to a pause
    return isinstance(node, (Matrix, Cases, Lines))


def _child_fields(cls: type) -> tuple[str, ...]:
    """The fields of a node class that may hold nodes (not its names and flags)."""
    return tuple(
        f.name for f in fields(cls) if f.type not in ("str", "int", "bool", "tuple[str, ...]")
    )


_CHILDREN = {
    cls: _child_fields(cls)
    for cls in (
        Accent,
        Apply,
        BigOp,
        Binom,
        Cases,
        Deriv,
        Factorial,
        Fenced,
        Font,
        Frac,
        Lines,
        Matrix,
        Prefix,
        Product,
        Relation,
        Root,
        Scripts,
        Seq,
        Sum,
    )
}

# each class's children: a tuple of its child fields, or its only child field
_CHILD_GETTERS: dict[type, Callable[[Any], object]] = {
    cls: attrgetter(*names) for cls, names in _CHILDREN.items()
}


def latin_letters(node: object) -> set[str]:
    """Latin letters used anywhere in the equation, in the case they are written."""
    found: set[str] = set()
    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is Sym:
            if item.kind == "latin":
                found.add(item.name)
        elif kind is tuple:
            stack.extend(item)
        else:
            children = _CHILD_GETTERS.get(kind)
            if children is not None:
                stack.append(children(item))
    return found


def plain_letters(node: object) -> set[str]:
    """Latin letters in plain type anywhere, lower-cased: they make \\mathcal{L} "script L"."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(item)
        elif isinstance(item, Sym):
            if item.kind == "latin":
                found.add(item.name.lower())
        elif isinstance(item, Font) and item.style in ("script", "blackboard", "fraktur"):
            continue
        elif item is not None and hasattr(item, "__slots__"):
            stack.extend(getattr(item, f) for f in item.__slots__)
    return found


_VOWELS = frozenset("aeiou")
# English consonant clusters that may start or end a syllable (pronounceability test)
_ONSETS = frozenset(
    (
        "bl",
        "br",
        "ch",
        "cl",
        "cr",
        "dr",
        "fl",
        "fr",
        "gl",
        "gr",
        "kn",
        "ph",
        "pl",
        "pr",
        "sc",
        "sh",
        "sk",
        "sl",
        "sm",
        "sn",
        "sp",
        "st",
        "sw",
        "th",
        "tr",
        "tw",
        "wh",
        "wr",
        "str",
        "spr",
        "scr",
        "spl",
        "thr",
        "shr",
        "sch",
    )
)
_CODAS = frozenset(
    (
        "ld",
        "lt",
        "nd",
        "nt",
        "st",
        "rt",
        "rd",
        "rm",
        "rn",
        "ck",
        "ct",
        "ft",
        "lf",
        "lk",
        "lm",
        "lp",
        "mp",
        "nk",
        "ng",
        "ns",
        "ps",
        "pt",
        "rk",
        "rs",
        "sk",
        "sp",
        "ts",
        "xt",
        "th",
        "sh",
        "ch",
        "ss",
        "ll",
        "ff",
        "nc",
        "rc",
        "rg",
        "rb",
        "mb",
        "ls",
        "ms",
        "ds",
        "gs",
        "ks",
        "rl",
        "rp",
        "wn",
        "wl",
        "ws",
        "lb",
        "lc",
        "sc",
    )
)


def pronounceable(word: str) -> bool:
    """Whether letters read as a word ("clip", "bleu", "min") rather than spelled ("lstm")."""
    low = word.lower()
    if not low.isalpha() or not _VOWELS & set(low):
        return False
    clusters: list[str] = []
    run = ""
    for ch in low:
        if ch in _VOWELS:
            clusters.append(run)
            run = ""
        else:
            run += ch
    first, last = clusters[0], run
    if len(first) > 1 and first not in _ONSETS:
        return False
    if (len(last) > 1 and last not in _CODAS) or last in ("j", "q"):
        return False
    return all(len(middle) <= 3 for middle in clusters[1:])


def is_label_word(letters: str) -> bool:
    """Letters in a sub- or superscript that form a name (old, max, CLIP), not indices (ijk)."""
    if len(letters) < 2 or not letters.isalpha():
        return False
    upper = sum(c.isupper() for c in letters)
    if upper >= 2:
        return True
    if upper == 1:
        return len(letters) >= 3 and letters[0].isupper() and letters[1:].islower()
    return len(letters) >= 3 and pronounceable(letters)


def script_word(node: Node | None, sup: bool = False) -> str:
    """The word spelled by juxtaposed single letters in a script ({old}, {CLIP}), else "".

    In a superscript three lower-case letters with a vowel are a word too (x^{adv}): a power
    is rarely a product of three letters, while subscripts are often indices (ijk)."""
    if not isinstance(node, Product) or any(node.ops):
        return ""
    letters = []
    for factor in node.factors:
        if not (isinstance(factor, Sym) and factor.kind == "latin" and len(factor.name) == 1):
            return ""
        letters.append(factor.name)
    word = "".join(letters)
    if sup and len(word) >= 3 and word.islower() and _VOWELS & set(word) - {"i"}:
        return word
    return word if is_label_word(word) else ""


def and_list(items: list[str]) -> str:
    """x; x and y; x, y, and z."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + ", and " + items[-1]


_NAME_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def name_words(name: str) -> str:
    """A multi-letter name: a known word, an acronym said as people say it, or spelled out.

    CamelCase splits into parts (InfoNCE: "info N C E"); an upper-case part is said as a word
    when it is pronounceable and has four letters or more (CLIP: "clip"), else spelled (KL).
    """
    if name in V.WORDS:
        return V.WORDS[name]
    if name in V.FUNCTIONS:
        return V.FUNCTIONS[name][0]
    out: list[str] = []
    for part in _NAME_PARTS.findall(name):
        if part in V.WORDS:
            out.append(V.WORDS[part])
        elif part.isdigit():
            out.append(V.number_words(part))
        elif part.isupper() and not (len(part) >= 4 and pronounceable(part)):
            out.append(" ".join(part))
        else:
            out.append(part.lower())
    return " ".join(out)


def _is_d(node: Node | None) -> str:
    if isinstance(node, Sym) and (
        (node.kind == "latin" and node.name == "d") or node.name == "partial"
    ):
        return node.name
    return ""


def _split_d(node: Node) -> tuple[str, Node | None]:
    """d or d^n -> (kind, order)."""
    if isinstance(node, Scripts) and node.sub is None and not node.primes and _is_d(node.base):
        return _is_d(node.base), node.sup
    return _is_d(node), None


def derivative(num: Node, den: Node) -> Deriv | None:
    """Recognize d/dx, dy/dx, d^2y/dx^2, the partial forms; None if num/den is no derivative."""
    factors = num.factors if isinstance(num, Product) else (num,)
    if isinstance(num, Product) and any(num.ops):
        return None
    kind, order = _split_d(factors[0])
    if not kind:
        return None
    rest = factors[1:]
    func: Node | None = None
    if len(rest) == 1:
        func = rest[0]
    elif rest:
        func = Product(tuple(rest), ("",) * (len(rest) - 1))
    dens = den.factors if isinstance(den, Product) and not any(den.ops) else (den,)
    if len(dens) % 2:
        return None
    variables: list[Node] = []
    powers: list[Node | None] = []
    for k in range(0, len(dens), 2):
        if _is_d(dens[k]) != kind:
            return None
        var = dens[k + 1]
        power = None
        if isinstance(var, Scripts) and var.sup is not None and not var.primes:
            power = var.sup
            var = var.base if var.sub is None else Scripts(var.base, var.sub, None)
        variables.append(var)
        powers.append(power)
    return Deriv(kind == "partial", order, func, tuple(variables), tuple(powers))


def is_tight(text: str) -> bool:
    """A reading heard as one term: no operator word outside a closed group."""
    words = text.replace(",", " ,").split()
    return not any(w in _LOOSE_WORDS for w in words)


_LOOSE_WORDS = frozenset(
    {
        "times",
        "plus",
        "minus",
        "over",
        "dot",
        "element-wise",
        "convolved",
        "composed",
        "equals",
        "is",
        ",",
        "union",
        "intersect",
        "divided",
    }
)


def is_parameter(node: Node | None) -> bool:
    """What follows a semicolon in p(x; theta): parameters are Greek letters (theta, phi k)."""
    while isinstance(node, (Scripts, Font, Accent)):
        node = node.base if isinstance(node, Scripts) else node.body
    return isinstance(node, Sym) and node.kind in ("greek", "Greek")


def is_change_product(node: Product) -> bool:
    """(Delta x): "the change in x" needs no "the quantity"."""
    first = node.factors[0]
    return len(node.factors) == 2 and isinstance(first, Sym) and first.name == "Delta"
