"""Shape tests on the math tree, shared by the parser and the speech rules."""

from __future__ import annotations

from . import vocabulary as V
from .nodes import (
    Accent,
    Apply,
    BigOp,
    Cases,
    Deriv,
    Fenced,
    Font,
    Frac,
    Lines,
    Matrix,
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


def is_compound(node: Node | None) -> bool:
    """A parenthesized expression of several symbols, spoken as "the quantity" under a power."""
    return (
        isinstance(node, Fenced)
        and node.open in ("(", "[")
        and isinstance(node.body, Sum | Product | Relation | Frac | Prefix | BigOp)
    )


def is_quantity(node: Node | None) -> bool:
    """A parenthesized expression that needs "the quantity" when read."""
    if not isinstance(node, Fenced) or node.open not in ("(", "["):
        return False
    body = node.body
    return (
        is_sum(body)
        or isinstance(body, Sum | Relation)
        or (isinstance(body, Product) and any(body.ops))
    )


def ends_open(node: Node | None) -> bool:
    """Whether a reading ends in an open construct, so a following operator needs a pause."""
    if isinstance(node, BigOp):
        return node.body is not None or bool(node.differentials)
    if isinstance(node, Prefix):
        return isinstance(node.op, Deriv) or ends_open(node.operand)
    if isinstance(node, Scripts):
        if node.sup is not None:
            return (
                (isinstance(node.base, Fenced) and not is_transpose(node.sup))
                or isinstance(node.base, Apply)
                or (isinstance(node.sup, Fenced) and is_sum(node.sup.body))
            )
        return is_sum(node.sub) or (ends_open(node.base) and node.sub is None)
    if isinstance(node, Frac):
        return is_sum(node.den) or ends_open(node.den)
    if isinstance(node, Fenced):
        return is_quantity(node)
    if isinstance(node, Product):
        return ends_open(node.factors[-1])
    if isinstance(node, Sum):
        return ends_open(node.terms[-1])
    if isinstance(node, Apply):
        return (
            node.arg.body is not None
            and not isinstance(node.arg.body, Seq | Num | Apply)
            and not is_plain(node.arg.body)
        )
    if isinstance(node, Root):
        return is_sum(node.body)
    return isinstance(node, Matrix | Cases | Lines)


def lower_letters(node: object) -> set[str]:
    """Lower-case Latin letters used outside sub- and superscripts (x makes X "capital X")."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(item)
        elif isinstance(item, Sym):
            if item.kind == "latin" and item.name.islower():
                found.add(item.name)
        elif isinstance(item, Scripts | BigOp):
            stack.append(item.base if isinstance(item, Scripts) else item.body)
        elif item is not None and hasattr(item, "__slots__"):
            stack.extend(getattr(item, f) for f in item.__slots__)
    return found


def and_list(items: list[str]) -> str:
    """x; x and y; x, y, and z."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + ", and " + items[-1]


def name_words(name: str) -> str:
    """A multi-letter name: a known word, an abbreviation spelled out, or the word itself."""
    if name in V.WORDS:
        return V.WORDS[name]
    if name in V.FUNCTIONS:
        return V.FUNCTIONS[name][0]
    out: list[str] = []
    run = ""
    for ch in name + " ":
        if run and (ch.isdigit() != run[-1].isdigit() or not ch.isalnum()):
            out.append(
                V.number_words(run)
                if run.isdigit()
                else (" ".join(run) if run.isupper() and len(run) <= 5 else run.lower())
            )
            run = ""
        if ch.isalnum():
            run += ch
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
