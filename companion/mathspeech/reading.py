"""Speech rules: a math tree to the words a teacher says aloud."""

from __future__ import annotations

from . import vocabulary as V
from .calculus import CalculusReader
from .nodes import (
    Accent,
    Apply,
    BigOp,
    Binom,
    Deriv,
    Empty,
    Factorial,
    Fenced,
    Font,
    Frac,
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
from .shapes import (
    and_list,
    ends_open,
    is_compound,
    is_minus_one,
    is_plain,
    is_quantity,
    is_sum,
    is_symbolic,
    is_transpose,
    name_words,
)
from .structures import StructureReader

_GIVEN = frozenset({"|", "mid", "vert"})
_SUCH_THAT = frozenset({":", "|", "mid", "colon", "vert"})


class Reader(CalculusReader, StructureReader):
    """Reads one tree; state: verbosity, letters used in lower case, script depth."""

    def __init__(self, verbosity: str, lower_letters: frozenset[str]) -> None:
        self.verbosity = verbosity
        self.brief = verbosity == "brief"
        self.verbose = verbosity == "verbose"
        self.lowers = lower_letters
        self.script = 0
        self.in_set = 0

    # ------------------------------------------------------------- dispatch
    def read(self, node: Node | None) -> str:
        if node is None or isinstance(node, Empty):
            return ""
        method = getattr(self, "read_" + type(node).__name__.lower())
        text: str = method(node)
        return text

    def read_script(self, node: Node | None) -> str:
        self.script += 1
        try:
            return self.read(node)
        finally:
            self.script -= 1

    # ------------------------------------------------------------- atoms
    def read_num(self, node: Num) -> str:
        return V.number_words(node.text)

    def read_sym(self, node: Sym) -> str:
        if node.kind == "latin":
            say = V.LETTER_SAY.get(node.name, node.name)
            if node.name.isupper() and self.capital(node.name):
                return "capital " + say
            return say
        if node.kind == "greek":
            return V.GREEK[node.name]
        if node.kind == "Greek":
            return ("" if self.script and not self.verbose else "capital ") + V.GREEK_UPPER[
                node.name
            ]
        if node.kind == "bigop":
            return V.BIG_OPS[node.name]
        return V.SYMBOLS[node.name]

    def capital(self, letter: str) -> bool:
        if self.verbose:
            return True
        if self.script:
            return False
        if letter.lower() in self.lowers:
            return True
        return not self.brief and letter in V.ALWAYS_CAPITAL

    def read_name(self, node: Name) -> str:
        if node.name in V.FUNCTIONS:
            return V.FUNCTIONS[node.name][0]
        return name_words(node.name)

    def read_text(self, node: Text) -> str:
        cleaned = "".join(c if c.isalnum() or c in " ,.'-" else " " for c in node.text)
        return " ".join(cleaned.replace("-", " ").split())

    def read_font(self, node: Font) -> str:
        body = node.body
        letter = body.name if isinstance(body, Sym) and body.kind == "latin" else ""
        if node.style == "blackboard":
            if letter in V.BLACKBOARD and not self.script:
                return V.BLACKBOARD[letter]
            return ("blackboard " if self.verbose else "") + self.read(body)
        if node.style == "script":
            if letter in V.CALLIGRAPHIC:
                return V.CALLIGRAPHIC[letter]
            return "script " + self.read(body)
        if node.style == "fraktur":
            return "fraktur " + self.read(body)
        if node.style == "bold" and self.verbose:
            return "bold " + self.read(body)
        return self.read(body)

    def read_accent(self, node: Accent) -> str:
        body = self.read(node.body)
        if node.accent == "vector":
            return body if self.brief else "vector " + body
        return f"{body} {node.accent}"

    def read_factorial(self, node: Factorial) -> str:
        if is_quantity(node.body):
            return f"{self.read(node.body)}, factorial"
        return f"{self.read(node.body)} factorial"

    def read_binom(self, node: Binom) -> str:
        return f"{self.read(node.n)} choose {self.read(node.k)}"

    def read_root(self, node: Root) -> str:
        body = self.read(node.body)
        if node.index is None:
            return f"the square root of {body}"
        if isinstance(node.index, Num) and node.index.text.isdigit():
            k = int(node.index.text)
            if k == 3:
                return f"the cube root of {body}"
            if k in V.ORDINALS:
                return f"the {V.ORDINALS[k]} root of {body}"
        return f"the {self.read_script(node.index)} th root of {body}"

    # ------------------------------------------------------------- scripts
    def read_scripts(self, node: Scripts) -> str:
        base = node.base
        if isinstance(base, Fenced) and base.open == "‖" and node.sub is not None:
            text = self.norm(base, node.sub)
            return self.power(text, base, node.sup, True) if node.sup is not None else text
        if isinstance(base, Name | Font) and self.is_function_head(base):
            return self.head(node)
        text = self.read(base)
        if node.primes:
            text += (
                " "
                + {1: "prime", 2: "double prime", 3: "triple prime"}.get(
                    node.primes, "prime " * node.primes
                ).strip()
            )
        if node.sub is not None:
            sub = self.read_script(node.sub)
            if isinstance(base, Apply | Fenced):
                text = f"component {sub} of {text}"
            elif self.verbose or isinstance(base, Num):
                text = f"{text} sub {sub}"
            else:
                text = f"{text} {sub}"
        if node.sup is not None:
            text = self.power(text, base, node.sup, False)
        return text

    def norm(self, base: Fenced, sub: Node) -> str:
        key = sub.text if isinstance(sub, Num) else sub.name if isinstance(sub, Sym) else ""
        name = V.NORM_NAMES.get(key) or f"L {self.read_script(sub)} norm"
        return f"the {name} of {self.quantity(base.body)}"

    def power(self, text: str, base: Node, sup: Node, closed: bool) -> str:
        quantity = is_compound(base) or closed or isinstance(base, Apply | BigOp | Frac | Root)
        body = self.read(base.body) if isinstance(base, Fenced) and is_compound(base) else ""
        if isinstance(sup, Sym) and sup.name == "prime":
            return text + " prime"
        if isinstance(base, Matrix) and (is_transpose(sup) or is_minus_one(sup)):
            return ("the transpose of " if is_transpose(sup) else "the inverse of ") + text
        if is_transpose(sup) and not isinstance(base, Num):
            return f"the transpose of the quantity {body}" if body else text + " transpose"
        if is_minus_one(sup) and not isinstance(base, Num):
            return f"the inverse of the quantity {body}" if body else text + " inverse"
        if (
            isinstance(base, Fenced)
            and base.open in "(["
            and isinstance(base.body, Apply | Prefix | BigOp)
            and isinstance(sup, Num)
            and (sup.text in ("2", "3"))
        ):
            return ("the square of " if sup.text == "2" else "the cube of ") + self.read(base.body)
        if isinstance(sup, Fenced) and sup.open == "(":
            middle = " superscript " if self.verbose else " "
            return f"{text}{middle}{self.read_script(sup.body)}"
        if isinstance(sup, Fenced) and sup.open == "[":
            return f"{text} of layer {self.read_script(sup.body)}"
        if isinstance(sup, Sym) and sup.name in ("ast", "star"):
            return text + " star"
        if isinstance(sup, Sym) and sup.name == "circ":
            return text + " degrees"
        if isinstance(sup, Sym) and sup.name == "dagger":
            return text + " dagger"
        if isinstance(base, Font) and base.style == "blackboard":
            return f"{self.read_script(base)} {self.read_script(sup)}"
        pause = ", " if quantity else " "
        if isinstance(sup, Num) and sup.text in V.SQUARED:
            return text + pause + V.SQUARED[sup.text]
        exponent = self.read_script(sup)
        if quantity:
            return f"{text}, raised to the power {exponent}"
        if isinstance(sup, Num) and sup.text.isdigit() and int(sup.text) in V.ORDINALS:
            return f"{text} to the {V.ORDINALS[int(sup.text)]}"
        if self.verbose:
            return f"{text} to the power {exponent}" + (", end power" if is_sum(sup) else "")
        if is_sum(sup) or isinstance(sup, Num):
            return f"{text} to the {exponent} power"
        if exponent.startswith("the "):  # "e to the log of x", not "e to the the log of x"
            return f"{text} to {exponent}"
        return f"{text} to the {exponent}"

    # ------------------------------------------------------------- functions
    def is_function_head(self, node: Node) -> bool:
        if isinstance(node, Name) or is_plain_expectation(node):
            return True
        return (
            isinstance(node, Font)
            and node.style == "blackboard"
            and isinstance(node.body, Sym)
            and node.body.name in V.BLACKBOARD_FUNCTIONS
        )

    def head(self, node: Node) -> str:
        """The spoken name of an applied function, e.g. "the log base two", "h theta"."""
        sub = node.sub if isinstance(node, Scripts) else None
        sup = node.sup if isinstance(node, Scripts) else None
        base = node.base if isinstance(node, Scripts) else node
        if isinstance(base, Name):
            words, article = V.FUNCTIONS.get(base.name, (name_words(base.name), False))
        elif is_plain_expectation(base):
            words, article = V.BLACKBOARD_FUNCTIONS["E"], True
        elif self.is_function_head(base):
            assert isinstance(base, Font) and isinstance(base.body, Sym)
            words, article = V.BLACKBOARD_FUNCTIONS[base.body.name], True
        else:
            return self.read(node)
        text = ("the " if article else "") + words
        if isinstance(node, Scripts) and node.primes:
            text += " prime"
        if sub is not None:
            joiner = " base " if isinstance(base, Name) and base.name in ("log", "lg") else " over "
            text += joiner + self.read_script(sub)
        if sup is not None:
            text = self.power(text, base, sup, False)
        return text

    def read_apply(self, node: Apply) -> str:
        func, arg = node.func, node.arg
        base = func.base if isinstance(func, Scripts) else func
        if isinstance(base, Font) and base.style == "script" and isinstance(base.body, Sym):
            special = self.distribution(base.body.name, arg, False)
            if special:
                return special
        if isinstance(base, Sym) and base.name == "O" and func is base:
            head = "big O"
        elif self.is_function_head(base):
            head = self.head(func)
        else:
            head = self.read(func)
        if (isinstance(func, Scripts) and isinstance(func.sub, Name) and func.sub.name == "KL") or (
            isinstance(func, Name) and func.name == "KL"
        ):
            return f"the K L divergence between {self.arguments(arg.body)}"
        if arg.body is None:
            return head
        return f"{head} of {self.arguments(arg.body)}"

    def arguments(self, body: Node | None) -> str:
        if isinstance(body, Seq):
            groups: list[list[str]] = [[]]
            for k, item in enumerate(body.items):
                if k and body.seps[k - 1] in _GIVEN:
                    groups.append([])
                groups[-1].append(self.read(item))
            return " given ".join(and_list(g) for g in groups)
        if isinstance(body, Sum) and len(body.terms) > 1 and set(body.ops[1:]) <= {"+", "-"}:
            return "the quantity " + self.read(body)
        return self.read(body)

    def distribution(self, letter: str, arg: Fenced, relation: bool) -> str:
        """N(mu, sigma^2): the normal distribution, spoken with its parameters."""
        body = arg.body
        if letter != "N" or not isinstance(body, Seq) or len(body.items) not in (2, 3):
            return ""
        items = [self.read(i) for i in body.items]
        if len(items) == 3:
            return (
                f"the normal density of {items[0]} with mean {items[1]} and covariance {items[2]}"
            )
        start = "is normally distributed" if relation else "the normal distribution"
        return f"{start} with mean {items[0]} and variance {items[1]}"

    def read_sum(self, node: Sum) -> str:
        parts: list[str] = []
        for k, (op, term) in enumerate(zip(node.ops, node.terms, strict=True)):
            text = self.read(term)
            if k == 0:
                parts.append((V.ADD_OPS[op] + " " if op == "-" else "") + text)
                continue
            word = V.ADD_OPS.get(op, op)
            sep = ", " if ends_open(node.terms[k - 1]) else " "
            parts.append(f"{sep}{word} {text}")
        return "".join(parts)

    def read_product(self, node: Product) -> str:
        factors = node.factors
        if len(factors) > 1 and not any(node.ops) and all(is_quantity(f) for f in factors):
            inner = [self.read(f.body) for f in factors if isinstance(f, Fenced)]
            return "the product of " + ", and ".join(inner)
        parts = [self.read(factors[0])]
        for k, op in enumerate(node.ops):
            left, right = factors[k], factors[k + 1]
            word = self.joiner(left, right, op)
            text = self.read(right)
            if not word:
                parts.append(" " + text)
                continue
            numeric = (
                isinstance(left, Frac) and isinstance(left.num, Num) and isinstance(left.den, Num)
            )
            sep = (
                ", "
                if word == "times"
                and (
                    ends_open(left) or (isinstance(left, Frac) and not self.verbose and not numeric)
                )
                else " "
            )
            parts.append(f"{sep}{word} {text}")
        return "".join(parts)

    def joiner(self, left: Node, right: Node, op: str) -> str:
        if op:
            if self.script and op in V.MUL_IN_SCRIPT:
                return V.MUL_IN_SCRIPT[op]
            if op == "cdot" and is_plain(left) and is_plain(right):
                return "dot"
            return V.MUL_OPS.get(op, "times")
        if (
            isinstance(left, Text)
            or isinstance(right, Text)
            or (isinstance(right, Sym) and right.name in ("forall", "exists", "nexists"))
        ):
            return ""
        if (
            isinstance(left, Sym)
            and left.name in ("partial", "nabla", "forall", "exists", "neg", "lnot", "nexists")
        ) or (isinstance(left, Sym) and left.name == "d" and is_plain(right)):
            return ""
        if (
            isinstance(right, Fenced | Frac | Num | Deriv)
            or isinstance(left, Fenced)
            or (isinstance(right, Sum))
        ):
            return "times"
        if self.verbose:
            return "times"
        if isinstance(left, Num) or self.script:
            return ""
        if is_plain(left) and (
            is_plain(right)
            or (
                isinstance(right, Scripts)
                and is_plain(right.base)
                and is_transpose(right.sup)
                and right.sub is None
            )
        ):
            return ""
        if (
            isinstance(left, Scripts)
            and is_transpose(left.sup)
            and (is_plain(right) or (isinstance(right, Scripts) and is_plain(right.base)))
        ):
            return ""
        if self.brief and is_symbolic(left) and is_symbolic(right):
            return ""
        return "times"

    # ------------------------------------------------------------- relations and lists
    def read_relation(self, node: Relation) -> str:
        first = node.parts[0]
        lead = first.factors[0] if isinstance(first, Product) else first
        quantified = isinstance(lead, Sym) and lead.name in ("forall", "exists", "nexists")
        self.in_set += quantified
        try:
            return self.relation_chain(node)
        finally:
            self.in_set -= quantified

    def relation_chain(self, node: Relation) -> str:
        text = self.read(node.parts[0])
        for k, rel in enumerate(node.rels):
            right = node.parts[k + 1]
            words, chain = self.relation_words(rel)
            if rel == "sim" and isinstance(right, Apply):
                base = right.func
                if isinstance(base, Font) and base.style == "script" and isinstance(base.body, Sym):
                    special = self.distribution(base.body.name, right.arg, True)
                    if special:
                        text = f"{text} {special}"
                        continue
            if k and chain and self.relation_words(node.rels[k - 1])[1] and not self.script:
                words = "which " + ("equals" if words == "equals" else words)
                text += ","
            elif text and ends_open(node.parts[k]):
                text += ","
            text = f"{text} {words} {self.read(right)}".strip()
        return text

    def relation_words(self, rel: str) -> tuple[str, bool]:
        key = rel[3:] if rel.startswith("not") and rel != "notin" else rel
        if rel.startswith("not") and rel != "notin":
            return V.NOT_RELATIONS.get(key, "is not " + V.RELATIONS[key][0]), True
        if (self.script or self.in_set) and key in V.SCRIPT_RELATIONS:
            return V.SCRIPT_RELATIONS[key], False
        return V.RELATIONS[key]

    def read_seq(self, node: Seq) -> str:
        out = self.read(node.items[0])
        for sep, item in zip(node.seps, node.items[1:], strict=True):
            text = self.read(item)
            if sep in _GIVEN:
                out += f" given {text}"
            elif sep in ("‖", "Vert"):
                out += f" and {text}"
            elif (
                sep in (":", "colon")
                and isinstance(item, Relation)
                and item.rels in (("to",), ("rightarrow",))
            ):
                domain, codomain = (self.read(p) for p in item.parts)
                out += f" maps {domain} to {codomain}"
            elif sep in (":", "colon"):
                out += f", such that {text}"
            elif sep == "":
                out += f" {text}"
            else:
                out += f", {text}"
        return out

    def read_fenced(self, node: Fenced) -> str:
        body = node.body
        if node.open == "|":
            return "the absolute value of " + self.quantity(body)
        if node.open == "‖":
            return "the norm of " + self.quantity(body)
        if node.open == "\\{":
            return self.set_reading(body)
        if node.open == "langle":
            return "the inner product of " + self.arguments(body) if body else ""
        if node.open in ("lfloor", "lceil"):
            return ("the floor of " if node.open == "lfloor" else "the ceiling of ") + (
                self.read(body)
            )
        if isinstance(body, Seq) and len(body.items) == 2 and "[" in node.open + node.close:
            low, high = (self.read(i) for i in body.items)
            return f"the interval from {low} to {high}"
        if isinstance(body, Seq) and set(body.seps) <= {","}:
            kind = "pair" if len(body.items) == 2 else "tuple"
            return f"the {kind} " + and_list([self.read(i) for i in body.items])
        text = self.read(body)
        if is_quantity(node):
            return "the quantity " + text
        return text

    def quantity(self, body: Node | None) -> str:
        """Read a sum as "the quantity ..." where an operator name precedes it."""
        return ("the quantity " if is_sum(body) else "") + self.read(body)

    def set_reading(self, body: Node | None) -> str:
        if body is None:
            return "the empty set"
        if isinstance(body, Seq) and body.seps and body.seps[0] in _SUCH_THAT:
            self.in_set += 1
            try:
                member = self.read(body.items[0])
            finally:
                self.in_set -= 1
            rest = Seq(body.items[1:], body.seps[1:]) if len(body.items) > 2 else body.items[1]
            return f"the set of {member} such that {self.read(rest)}"
        if isinstance(body, Seq):
            return "the set containing " + and_list([self.read(i) for i in body.items])
        return "the set containing " + self.read(body)


def is_plain_expectation(node: Node) -> bool:
    """E in plain type applied with brackets or parentheses: E[X], E_{x}[f(x)], E(X)."""
    return isinstance(node, Sym) and node.kind == "latin" and node.name == "E"
