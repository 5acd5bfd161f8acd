"""Speech rules: a math tree to the words a teacher says aloud."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, get_args

from . import vocabulary as V
from .calculus import CalculusReader, holds_application
from .lexer import NULL_LEFT
from .nodes import (
    Accent,
    Apply,
    BigOp,
    Binom,
    Cases,
    Deriv,
    Empty,
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
from .shapes import (
    and_list,
    ends_open,
    is_compound,
    is_index_sup,
    is_label_sup,
    is_minus_one,
    is_parameter,
    is_plain,
    is_quantity,
    is_sum,
    is_symbolic,
    is_tight,
    is_transpose,
    name_words,
    pauses_to_close,
    plain_letters,
    unprimed,
)
from .structures import StructureReader

_PROBABILITY = frozenset({"P", "Pr"})
# marks a small letter whose capital is said too; speak() says "small" at its first mark
SMALL_MARK = "\u2063"

_GIVEN = frozenset({"|", "mid", "vert"})
_SUCH_THAT = frozenset({":", "|", "mid", "colon", "vert"})


class Reader(CalculusReader, StructureReader):
    """Reads one tree; state: verbosity, letters used in lower case, script depth."""

    def __init__(
        self,
        verbosity: str,
        lower_letters: frozenset[str],
        tree: Node | None = None,
        small: frozenset[str] = frozenset(),
    ) -> None:
        self.small = small  # letters whose capital is said too: "small k" the first time
        self.verbosity = verbosity
        self.brief = verbosity == "brief"
        self.verbose = verbosity == "verbose"
        self.lowers = lower_letters
        self.tree = tree
        self._plain: set[str] | None = None
        self._superscripted: frozenset[Node] | None = None
        self.script = 0
        self.in_set = 0
        self.interval = 0  # inside the right side of "in": [a, b] is an interval
        # the whole side of a relation: only there may "all over" take everything before it
        self.side: Node | None = tree
        self.open = 0  # open constructs ("the sum of ...", "the quantity ..."): a pause closes one
        self.opened: set[int] = set()  # applications read with an open argument (see ends_open)
        self.exponent = -1  # the script depth of a power's exponent: there "a b" is a product

    def superscripted_bases(self) -> frozenset[Node]:
        """Bases read "x superscript t plus one," somewhere in the equation: their other
        parenthesized indices are read the same way, never "the t th x" beside it."""
        if self._superscripted is None:
            self._superscripted = superscripted_bases(self.tree)
        return self._superscripted

    def plain_letters(self) -> set[str]:
        """Latin letters of the whole tree in plain type, lower-cased (computed once, lazily)."""
        if self._plain is None:
            self._plain = plain_letters(self.tree)
        return self._plain

    # ------------------------------------------------------------- dispatch
    def read(self, node: Node | None) -> str:
        if node is None:
            return ""
        return _READ_METHODS[type(node)](self, node)

    def read_empty(self, node: Empty) -> str:
        return ""

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
            # a letter is written as itself ("a", not "ay"): how it is pronounced is the
            # synthesizer's lexicon's business (companion/pronounce.py)
            if node.name.isupper() and self.capital(node.name):
                return "capital " + node.name
            if node.name in self.small:
                return SMALL_MARK + node.name  # k beside K: "small k" where first said
            return node.name
        if node.kind == "greek":
            return V.GREEK[node.name]
        if node.kind == "Greek":
            return "capital " + V.GREEK_UPPER[node.name]
        if node.kind == "bigop":
            return V.BIG_OPS[node.name]
        return V.SYMBOLS[node.name]

    def capital(self, letter: str) -> bool:
        if self.verbose:
            return True
        if letter.lower() in self.lowers:
            return True  # k and K in one equation: "capital K", in a script too
        if self.script:
            return False
        return not self.brief and letter in V.ALWAYS_CAPITAL

    def read_name(self, node: Name) -> str:
        if node.name in V.FUNCTIONS:
            return V.FUNCTIONS[node.name][0]
        return name_words(node.name)

    def read_text(self, node: Text) -> str:
        cleaned = "".join(c if c.isalnum() or c in " ,.'-" else " " for c in node.text)
        words = cleaned.replace("-", " ").split()
        return " ".join(
            name_words(w) if sum(c.isupper() for c in w) >= 2 or w in V.WORDS else w for w in words
        )

    def read_font(self, node: Font) -> str:
        body = node.body
        letter = body.name if isinstance(body, Sym) and body.kind == "latin" else ""
        if node.style == "blackboard":
            if letter in V.BLACKBOARD and not self.script:
                return V.BLACKBOARD[letter]
            return ("blackboard " if self.verbose else "") + self.read(body)
        if node.style == "script":
            if letter == "O":
                return V.CALLIGRAPHIC[letter]
            if self.verbose or not letter or letter.lower() in self.plain_letters():
                return V.CALLIGRAPHIC.get(letter) or "script " + self.read(body)
            return self.read(body)
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
        self.open += 1
        try:
            body = self.read(node.body)
        finally:
            self.open -= 1
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
        base, sub, sup = node.base, node.sub, node.sup
        if isinstance(base, Fenced):
            special = self.fenced_scripts(base, sub, sup)
            if special:
                return special
        if isinstance(base, (Name, Font, Accent)) and self.is_function_head(base):
            return self.head(node)
        text = self.read(base)
        if node.primes:
            text += (
                " "
                + {1: "prime", 2: "double prime", 3: "triple prime"}.get(
                    node.primes, "prime " * node.primes
                ).strip()
            )
        plain = base.body if isinstance(base, Accent) else base
        label = sup is not None and is_label_sup(plain, sup)
        delimited = label and is_delimited_label(sup)
        if isinstance(sup, Sym) and sup.name in ("+", "-") and not self.brief:
            text += f" superscript {V.SYMBOLS[sup.name]}"  # x^+: "x plus" sounds like a sum
        elif sup is not None and label and not delimited:
            text += " " + self.label(sup)
        if sub is not None:
            if isinstance(sub, Fenced) and sub.open == "(" and isinstance(sub.body, Seq):
                text += " of " + self.arguments(sub.body)  # PE_{(pos, 2i)}
            elif (
                isinstance(base, Font)
                and base.style == "blackboard"
                and isinstance(sub, Sym)
                and sub.name in ("+", "-")
            ):
                if sup is not None and not label:  # R^n_+: "R n plus"
                    return f"{self.power(text, base, sup, False)} {V.SYMBOLS[sub.name]}"
                text = {"+": "the positive ", "-": "the negative "}[sub.name] + text.removeprefix(
                    "the "
                )
            else:
                sub_text = self.read_script(sub)
                if isinstance(sub, Seq) and is_compound_index(sub):  # x_{i+m, j+n}
                    sub_text = " and ".join(self.read_script(i) for i in sub.items)
                if is_range_index(sub):  # x_{1:T}: "x one through T" is heard as x_1, ..., T
                    text = f"{text} sub {sub_text},"
                elif isinstance(base, (Apply, Fenced)):
                    body = base.body if isinstance(base, Fenced) and base.body is not None else base
                    text = f"component {sub_text} of {self.operand(body)}"
                elif is_compound_index(sub):
                    text = f"{text} sub {sub_text},"  # "theta sub t plus one," then a pause
                elif self.verbose or isinstance(base, Num):
                    text = f"{text} sub {sub_text}"
                else:
                    text = f"{text} {sub_text}"
        if sup is not None and delimited:  # "L superscript clip plus V F plus S,"
            text += f" superscript {self.label(sup)},"
        if sup is not None and not label:
            bars = isinstance(base, Fenced) and base.open == "|"  # "the determinant of A, ..."
            text = self.power(text, base, sup, bars)
        return text

    def fenced_scripts(self, base: Fenced, sub: Node | None, sup: Node | None) -> str:
        """Scripts on a fence: evaluation bars, norms, the positive part; "" if none applies."""
        if base.open == NULL_LEFT or (base.open == "[" and sub is not None and sup is not None):
            body = self.read(base.body)
            if sub is not None and sup is not None:
                return f"{body}, evaluated from {self.read_script(sub)} to {self.read_script(sup)}"
            return f"{body}, evaluated at {self.read_script(sub if sub is not None else sup)}"
        if base.open == "‖":
            squared = isinstance(sup, Num) and sup.text == "2"
            text = self.norm(base, sub, squared)
            return text if sup is None or squared else self.power(text, base, sup, True)
        if base.open == "\\{" and sub is not None and sup is not None:  # {x_i}_{i=1}^N
            member = self.read(base.body)
            return f"the set of {member}, for {self.read_script(sub)} to {self.read_script(sup)}"
        if base.open in "([" and isinstance(sub, Sym) and sub.name in ("+", "-") and sup is None:
            part = "positive" if sub.name == "+" else "negative"
            return f"the {part} part of {self.operand(base.body) if base.body else ''}"
        return ""

    def label(self, sup: Node) -> str:
        """A superscript read as a name: W^O "W O", theta^{old} "theta old", x^+ "x plus"."""
        self.script += 1
        try:
            if isinstance(sup, Name):
                return name_words(sup.name)
            if isinstance(sup, Sym) and sup.kind == "symbol":
                return V.SYMBOLS[sup.name]
            return self.read(sup)
        finally:
            self.script -= 1

    def norm(self, base: Fenced, sub: Node | None, squared: bool = False) -> str:
        key = sub.text if isinstance(sub, Num) else sub.name if isinstance(sub, Sym) else ""
        name = "norm"
        if sub is not None:
            name = V.NORM_NAMES.get(key) or f"L {self.read_script(sub)} norm"
        return f"the {'squared ' if squared else ''}{name} of {self.quantity(base.body)}"

    def power(self, text: str, base: Node, sup: Node, closed: bool) -> str:
        quantity = is_compound(base) or closed or isinstance(base, (Apply, BigOp, Frac, Root))
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
            and isinstance(base.body, (Apply, Prefix, BigOp))
            and isinstance(sup, Num)
            and (sup.text in ("2", "3"))
        ):
            return ("the square of " if sup.text == "2" else "the cube of ") + self.read(base.body)
        if isinstance(sup, Fenced) and sup.open == "(":
            if not is_index_sup(sup) or is_exponential_base(base):
                return self.power(text, base, sup.body or Empty(), closed)  # e^{(...)}
            if is_layer_index(sup.body):
                return f"{text} of layer {self.read_script(sup.body)},"
            if isinstance(base, Sym) and base.name in ("f", "g"):
                return f"the {self.ordinal(sup.body)} derivative of {text}"  # f^{(n)}
            if (
                is_plain(base)
                and (is_plain(sup.body) or isinstance(sup.body, Num))
                and base not in self.superscripted_bases()
            ):
                return f"the {self.ordinal(sup.body)} {text}"  # x^{(i)}: "the i th x"
            return f"{text} superscript {self.read_script(sup.body)},"  # never a power
        if isinstance(sup, Fenced) and sup.open == "[":
            return f"{text} of layer {self.read_script(sup.body)},"
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
        saved, self.exponent = self.exponent, self.script + 1
        try:
            exponent = self.read_script(sup)
        finally:
            self.exponent = saved
        if quantity:
            if isinstance(sup, (Frac, Sum, Product)):
                return f"{text}, raised to the {exponent} power"
            return f"{text}, raised to the power {exponent}"
        if isinstance(sup, Num) and sup.text.isdigit() and int(sup.text) in V.ORDINALS:
            return f"{text} to the {V.ORDINALS[int(sup.text)]}"
        if self.verbose:
            return f"{text} to the power {exponent}" + (", end power" if is_sum(sup) else "")
        if (
            is_sum(sup)
            or isinstance(sup, (Num, Frac))
            or (isinstance(sup, Product) and " " in exponent)
            or is_negated_group(sup)  # 10000^{-2i/d}: "to the minus two i over d power"
        ):
            return f"{text} to the {exponent} power"
        if exponent.startswith("the "):  # "e to the log of x", not "e to the the log of x"
            return f"{text} to {exponent}"
        return f"{text} to the {exponent}"

    def ordinal(self, node: Node | None) -> str:
        """n-th, second: the order of a derivative."""
        if isinstance(node, Num) and node.text.isdigit() and int(node.text) in V.ORDINALS:
            return V.ORDINALS[int(node.text)]
        return f"{self.read_script(node)} th"

    # ------------------------------------------------------------- functions
    def is_function_head(self, node: Node) -> bool:
        if isinstance(node, Name) or is_plain_expectation(node):
            return True
        if isinstance(node, Accent) and node.accent == "hat":
            return is_expectation(node.body)  # the empirical expectation
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
        operator = True
        if isinstance(base, Name):
            words, article = V.FUNCTIONS.get(base.name, (name_words(base.name), False))
            operator = base.name in V.FUNCTIONS
        elif is_plain_expectation(base):
            words, article = V.BLACKBOARD_FUNCTIONS["E"], True
        elif isinstance(base, Accent) and self.is_function_head(base):
            words, article = "empirical " + V.BLACKBOARD_FUNCTIONS["E"], True
        elif self.is_function_head(base):
            assert isinstance(base, Font) and isinstance(base.body, Sym)
            words, article = V.BLACKBOARD_FUNCTIONS[base.body.name], True
        else:
            return self.read(node)
        text = ("the " if article else "") + words
        if isinstance(node, Scripts) and node.primes:
            text += " prime"
        if sup is not None and is_label_sup(base, sup):
            text += " " + self.label(sup)
            sup = None
        if sub is not None and words == "indicator":  # 1_{[k != i]}: the indicator that ...
            condition = sub.body if isinstance(sub, Fenced) else sub
            return f"{text} that {self.read(condition)}"
        if is_expectation(base) and isinstance(sub, Fenced) and is_tuple(sub):
            sub = sub.body  # E_{(x, y)}: "the expected value over x and y", as E_{x, y}
        if sub is not None:
            if isinstance(base, Name) and base.name in ("log", "lg"):
                text += " base " + self.read_script(sub)
            elif isinstance(sub, Fenced) and sub.open == "(" and isinstance(sub.body, Seq):
                text += " of " + self.arguments(sub.body)
            elif not operator and isinstance(sub, Seq):  # BN_{gamma, beta}
                text += " sub " + " and ".join(self.read_script(i) for i in sub.items) + ","
            else:
                bound = (
                    and_list([self.read_script(i) for i in sub.items])
                    if isinstance(sub, Seq) and operator
                    else self.read_script(sub)
                )
                if operator and not article:  # softmax_i: "the softmax over i of"
                    text = "the " + text  # "softmax over i" would divide
                text += (" over " if operator else " ") + bound
                if operator and holds_application(sub):
                    text += ","  # "over q of z given x, of ...": the bound ends at a pause
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
        if isinstance(func, Fenced):  # (f * g)(t)
            return (
                f"{self.read(func.body)}, evaluated at {self.arguments(arg.body)}"
                if (arg.body is not None)
                else self.read(func.body)
            )
        if is_probability(func) and holds_relation(arg.body) and arg.body is not None:
            self.opened.add(id(node))
            return "the probability that " + self.event(arg.body)
        divergence = self.divergence_name(func, arg)
        if divergence and arg.body is not None:
            self.opened.add(id(node))
            return f"the {divergence} divergence between {self.arguments(arg.body)}"
        if isinstance(base, Sym) and base.name == "O" and func is base:
            head = "big O"
        elif self.is_function_head(base):
            head = self.head(func)
        elif (
            isinstance(func, Scripts)
            and func.sup is not None
            and not is_label_sup(base, func.sup)
            and isinstance(func.sup, Sym)
            and func.sup.kind in ("greek", "Greek")
        ):
            head = f"{self.read(Scripts(base, func.sub, None, func.primes))} {self.label(func.sup)}"
        else:
            head = self.read(func)
        if arg.body is None:
            return head
        if head.endswith("indicator") and isinstance(arg.body, Relation):
            return f"{head} that {self.read(arg.body)}"  # 1[y = k]
        said = self.arguments(arg.body)
        if (
            isinstance(arg.body, Seq)
            or said.startswith(("the quantity ", "minus the quantity ", "the ratio of "))
            or ends_open(arg.body, self.opened)
        ):
            self.opened.add(id(node))
        return f"{head} of {said}"

    def divergence_name(self, func: Node, arg: Fenced) -> str:
        """D_{KL}(p || q), KL(p || q), D_f(p || q): the divergence's name, else ""."""
        if isinstance(func, Name) and func.name == "KL":
            return "K L"
        if not (
            isinstance(func, Scripts)
            and func.sup is None
            and isinstance(func.base, Sym)
            and func.base.name == "D"
            and func.sub is not None
        ):
            return ""
        sub = func.sub
        named = isinstance(sub, Name) and sub.name == "KL"
        between = isinstance(arg.body, Seq) and "‖" in arg.body.seps
        if not (named or between):
            return ""
        return name_words(sub.name) if isinstance(sub, Name) else self.read_script(sub)

    def event(self, body: Node) -> str:
        """P(X = x | Y = y): "X equals x, given Y equals y"."""
        if isinstance(body, Seq):
            parts = [self.read(body.items[0])]
            for sep, item in zip(body.seps, body.items[1:], strict=True):
                joiner = ", given " if sep in _GIVEN else " and "
                parts.append(joiner + self.read(item))
            return "".join(parts)
        return self.read(body)

    def arguments(self, body: Node) -> str:
        if isinstance(body, Seq):
            groups: list[list[Node | None]] = [[]]
            params: list[Node | None] = []
            for k, item in enumerate(body.items):
                sep = body.seps[k - 1] if k else ""
                if params or (sep == ";" and is_parameter(item)):
                    params.append(item)  # p(x; theta): "with parameters theta"
                    continue
                if k and sep in _GIVEN:
                    groups.append([])
                groups[-1].append(item)
            said = self.list_words(groups[0])
            for before, g in itertools.pairwise(groups):
                said += ", given " if ends_open(before[-1], self.opened) else " given "
                said += self.list_words(g)
            if params:
                said += ", with parameters " + self.list_words(params)
            return said
        return self.operand(body)

    def operand(self, body: Node) -> str:
        """What a function or operator reads: one tight term, else "the quantity", a ratio."""
        while isinstance(body, Fenced) and body.open in "([" and body.body is not None:
            if isinstance(body.body, Seq):
                break
            body = body.body
        if isinstance(body, Sum) and len(body.terms) == 1 and body.ops[0] == "-":
            return "minus " + self.operand(body.terms[0])
        if isinstance(body, Frac):
            return self.read_frac(body, operand=True)
        fraction = inline_fraction(body) if isinstance(body, Product) else None
        if fraction is not None:
            # softmax(Q K^T / sqrt(d)): "softmax of the ratio of Q times K transpose to ..."
            return self.read_frac(fraction, operand=True)
        self.open += 1
        try:
            text = self.read(body)
        finally:
            self.open -= 1
        if is_sum(body) or (
            isinstance(body, (Product, Relation))
            and not is_tight(text)
            and not text.startswith("the product of ")
        ):
            return "the quantity " + text
        return text if is_tight(text) else self.read(body)

    def list_words(self, items: list[Node | None] | tuple[Node | None, ...]) -> str:
        """x, y, and z; a list with dots: "head one through head h", "x one, x two, and so on
        up to x n"."""
        if has_inner_dots(items):
            k = next(k for k, item in enumerate(items) if is_dots(item))
            before = [self.read(i) for i in items[:k]]
            after = [self.read(i) for i in items[k + 1 :]]
            if len(before) == 1:
                return f"{before[0]} through {and_list(after)}"
            return f"{', '.join(before)}, and so on up to {and_list(after)}"
        said = [self.read(i) for i in items]
        if len(said) == 2 and all(said) and ends_open(items[0], self.opened):
            # "q of z given x, and p of z": the pause closes the first item's own list
            return f"{said[0]}, and {said[1]}"
        open_item = next(
            (k for k, i in enumerate(items[:-1]) if all(said) and self.applies_openly(i)), None
        )
        if open_item is not None:
            # l(f(x), y): "ell of f of x, and y"; clip(r(theta), a, b): "clip of r of theta,
            # and a, and b": "f of x and y" would give f both
            return (
                ", ".join(said[: open_item + 1]) + ", and " + ", and ".join(said[open_item + 1 :])
            )
        return and_list(said)

    def applies_openly(self, node: Node | None) -> bool:
        """Whether an item holds a function applied to one argument, whose argument a
        following "and" would extend: "f of x", "r of theta times A"."""
        if isinstance(node, Apply):
            return not isinstance(node.func, Fenced) and node.arg.body is not None
        if isinstance(node, Prefix):
            return True
        if isinstance(node, Fenced) and node.open in ("‖", "|"):
            return self.applies_openly(node.body)  # "the norm of f of x"
        if isinstance(node, Product):
            return any(self.applies_openly(f) for f in node.factors)
        if isinstance(node, Sum):
            return any(self.applies_openly(t) for t in node.terms)
        return False

    def distribution(self, letter: str, arg: Fenced, relation: bool) -> str:
        """N(mu, sigma^2): the normal distribution, spoken with its parameters."""
        body = arg.body
        if letter != "N" or not isinstance(body, Seq) or len(body.items) not in (2, 3):
            return ""
        items = [self.read(i) for i in body.items]
        if len(items) == 3:  # a pause, not "and": the mixture's density stays within 30 words
            return f"the normal density of {items[0]} with mean {items[1]}, covariance {items[2]}"
        start = "is normally distributed" if relation else "the normal distribution"
        spread = "covariance" if is_matrix_parameter(body.items[1]) else "variance"
        return f"{start} with mean {items[0]} and {spread} {items[1]}"

    def read_sum(self, node: Sum) -> str:
        parts: list[str] = []
        for k, (op, term) in enumerate(zip(node.ops, node.terms, strict=True)):
            text = self.read(term)
            if k == 0:
                parts.append((V.ADD_OPS[op] + " " if op == "-" else "") + text)
                continue
            word = V.ADD_OPS.get(op, op)
            sep = ", " if ends_open(node.terms[k - 1], self.opened) else " "
            if self.closes_all(node, node.terms[k - 1]):
                sep = ", all "  # one pause would close only the innermost of them
            parts.append(f"{sep}{word} {text}")
        return "".join(parts)

    def read_product(self, node: Product) -> str:
        factors = node.factors
        if len(factors) > 1 and not any(node.ops) and all(is_quantity(f) for f in factors):
            inner = [self.read(f.body) for f in factors if isinstance(f, Fenced)]
            return "the product of " + ", and ".join(inner)
        if node.ops == ("/",) and all(isinstance(f, Num) for f in factors):
            return self.read_frac(Frac(factors[0], factors[1]))  # 1/2 is "one half"
        parts = [self.read(factors[0])]
        first = factors[0]
        if (
            isinstance(first, Fenced)
            and is_quantity(first)
            and isinstance(first.body, Product)
            and "/" not in first.body.ops
            and node.ops[0] not in ("", "/")
            and not self.verbose
        ):
            parts = [self.read(first.body)]  # (A B) . C: "A times B element-wise times C"
            first = first.body  # what the pause after it depends on
        if is_change(factors[0], factors[1]) and not self.verbose:
            parts = ["the change in"]  # Delta w
        said_product = False  # a word joined the factors since the last division
        for k, op in enumerate(node.ops):
            left, right = factors[k], factors[k + 1]
            word = self.joiner(left, right, op)
            if op == "/" and said_product and not self.brief:
                word = "divided by"  # q . k / tau: "over" would divide only k
            said_product = op != "/" and (said_product or bool(word))
            text = self.read(right)
            if word == "times" and not op and self.says_fraction_of(left, text):
                word = ""  # "one half the squared norm of w"
            if not word:
                parts.append(" " + text)
                continue
            numeric = (
                isinstance(left, Frac) and isinstance(left.num, Num) and isinstance(left.den, Num)
            )
            grouped = (
                not self.verbose
                and not self.open  # a pause inside an open group would close it
                and (
                    (isinstance(left, Frac) and not numeric)
                    or (isinstance(left, Scripts) and is_compound(left.base))
                )
            )
            sep = (
                ", "
                if ends_open(first if k == 0 else left, self.opened)
                or (word in ("times", "over", "divided by") and grouped)
                else " "
            )
            if word == "times" and self.closes_all(node, first if k == 0 else left):
                sep = ", all "  # one pause would close only the innermost of them
            parts.append(f"{sep}{word} {text}")
        return "".join(parts)

    def closes_all(self, node: Node, before: Node) -> bool:
        """Whether what follows `before` in a whole side must close more open constructs
        than one pause can: then ", all plus ..." closes every one of them."""
        return (
            node is self.side
            and not self.open
            and not self.script
            and pauses_to_close(before, self.opened) > 1
        )

    def says_fraction_of(self, left: Node, right_text: str) -> bool:
        """A named fraction ("one half", "two thirds") before a phrase that starts with "the":
        "one half the K L divergence", as a teacher says it; "one half x" would not be."""
        return (
            not self.verbose
            and isinstance(left, Frac)
            and isinstance(left.num, Num)
            and isinstance(left.den, Num)
            and self.read_frac(left).split()[-1] in NAMED_FRACTIONS
            and right_text.startswith("the ")
            and not right_text.startswith("the quantity ")
        )

    def joiner(self, left: Node, right: Node, op: str) -> str:
        if op:
            if self.script and op in V.MUL_IN_SCRIPT:
                return V.MUL_IN_SCRIPT[op]
            if op in ("*", "circ"):  # f * g, f o g between functions; else a product
                if is_function_like(left) and is_function_like(right):
                    return "convolved with" if op == "*" else "composed with"
                return "times" if op == "*" else "element-wise times"
            if op == "cdot" and is_vector_symbol(left) and is_vector_symbol(right):
                return "dot"  # q . k_i: "q dot k i"
            return V.MUL_OPS.get(op, "times")
        if (
            isinstance(left, Text)
            or isinstance(right, Text)
            or (isinstance(right, Sym) and right.name in ("forall", "exists", "nexists"))
        ):
            return ""
        if is_change(left, right):
            return ""
        if (
            isinstance(left, Sym)
            and left.name in ("partial", "nabla", "forall", "exists", "neg", "lnot", "nexists")
        ) or (isinstance(left, Sym) and left.name == "d" and is_plain(right)):
            return ""
        if self.script and isinstance(right, Num) and is_plain(left):
            return ""  # W_{L1}, x_{i2}: an index, not a product
        if (
            isinstance(right, (Fenced, Frac, Num, Deriv))
            or isinstance(left, Fenced)
            or (isinstance(right, Sum))
        ):
            return "times"
        if self.verbose:
            return "times"
        if self.script == self.exponent and takes_index(left) and starts_like_letter(right):
            return "times"  # x^{ab}: "x to the a b" is heard as x^{a_b}
        if isinstance(left, Num) or self.script:
            return ""
        if not self.brief and takes_index(left) and starts_like_letter(right):
            return "times"  # "A times B": "A B" would be heard as A sub B
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
            and is_symbolic(left.base)
            and (is_plain(right) or (isinstance(right, Scripts) and is_plain(right.base)))
        ):
            return ""  # theta transpose x; but "the transpose of the quantity ..., times x"
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
        saved, self.side = self.side, node.parts[0]
        try:
            text = self.read(node.parts[0])
        finally:
            self.side = saved
        for k, rel in enumerate(node.rels):
            right = node.parts[k + 1]
            words, chain = self.relation_words(rel)
            label = node.labels[k] if node.labels else None
            if label is not None:
                words, chain = self.labelled_relation(rel, words, label), False
            if rel == "sim" and isinstance(right, Apply):
                base = right.func
                if isinstance(base, Font) and base.style == "script" and isinstance(base.body, Sym):
                    special = self.distribution(base.body.name, right.arg, label is None)
                    if special:
                        text = (
                            f"{text} {special}" if label is None else (f"{text} {words} {special}")
                        )
                        continue
            if rel in ("succeq", "succ") and right == Num("0"):  # A >= 0 for a matrix
                definite = "semidefinite" if rel == "succeq" else "definite"
                text = f"{text} is positive {definite}"
                continue
            if k and chain and self.relation_words(node.rels[k - 1])[1] and not self.script:
                words = "which " + ("equals" if words == "equals" else words)
                text += ","
            elif text and ends_open(node.parts[k], self.opened):
                text += ","
            inside = rel in _INTERVAL_RELATIONS
            self.interval += inside
            saved, self.side = self.side, right
            try:
                text = f"{text} {words} {self.read(right)}".strip()
            finally:
                self.interval -= inside
                self.side = saved
        return text

    def labelled_relation(self, rel: str, words: str, label: Node) -> str:
        """=, ~ or -> with a label set above: "is defined as", "converges in distribution to"."""
        key = label_key(label)
        if rel in ("=", "triangleq") and key in V.DEFINITION_LABELS:
            return "is defined as"
        if key in V.CONVERGENCE_LABELS:
            if rel == "=":
                return "equals " + V.CONVERGENCE_LABELS[key]
            if rel in ("to", "rightarrow", "longrightarrow"):
                return f"converges {V.CONVERGENCE_LABELS[key]} to"
        if key == "!":
            return "must equal" if rel == "=" else f"must be {words.removeprefix('is ')}"
        if key == "?":
            return "should equal" if rel == "=" else f"should be {words.removeprefix('is ')}"
        said = self.label(label)
        if rel == "sim":
            return f"is drawn {said} from"
        if isinstance(label, Fenced) or key.isdigit():
            return f"{words}, by {said},"
        return f"{words} {said}"

    def relation_words(self, rel: str) -> tuple[str, bool]:
        key = rel[3:] if rel.startswith("not") and rel != "notin" else rel
        if rel.startswith("not") and rel != "notin":
            return V.NOT_RELATIONS.get(key, "is not " + V.RELATIONS[key][0]), True
        if (self.script or self.in_set) and key in V.SCRIPT_RELATIONS:
            return V.SCRIPT_RELATIONS[key], False
        return V.RELATIONS[key]

    def read_seq(self, node: Seq) -> str:
        if set(node.seps) == {","} and has_inner_dots(node.items):
            return self.list_words(node.items)  # x_1, ..., x_n: "x one through x n"
        saved, self.side = self.side, node.items[0]
        out = self.read(node.items[0])
        for sep, item in zip(node.seps, node.items[1:], strict=True):
            self.side = item
            text = self.read(item)
            if sep in _GIVEN:
                out += f" given {text}"
            elif sep in ("‖", "Vert"):
                out += f" and {text}"
            elif sep == ":" and self.script:  # x_{1:T}
                out += f" through {text}"
            elif (
                sep in (":", "colon")
                and isinstance(item, Relation)
                and item.rels in (("to",), ("rightarrow",))
            ):
                domain, codomain = (self.read(p) for p in item.parts)
                out += f" maps {domain} to {codomain}"
            elif sep in (":", "colon"):
                out += f", such that {text}"
            elif sep == "brace":  # \underbrace{...}_{label}: a bare ", label," is heard as a list
                out += f", called {text},"
            elif sep == "":
                out += f" {text}"
            else:
                out += f", {text}"
        self.side = saved
        return out

    def read_fenced(self, node: Fenced) -> str:
        body = node.body
        if node.open == NULL_LEFT or (node.open == "\\{" and node.close == "right."):
            if isinstance(body, Matrix) and node.open == "\\{":  # \left\{ array \right.
                return self.read_cases(Cases(body.rows))
            if node.open == "\\{" and isinstance(body, (Cases, Lines)):
                return self.read(body)
        if node.open == NULL_LEFT:
            return self.read(body)
        if node.open == "|":
            if is_matrix_symbol(body):
                return "the determinant of " + self.read(body)
            if (isinstance(body, Font) and body.style == "script") or (
                isinstance(body, Sum) and set(body.ops[1:]) & _SET_OPERATORS
            ):
                return "the size of " + self.operand(body) if body else ""  # |D|, |A cap B|
            return "the absolute value of " + (self.operand(body) if body else "")
        if node.open == "‖":
            return "the norm of " + self.quantity(body)
        if node.open == "\\{":
            return self.set_reading(body)
        if node.open == "langle":
            return "the inner product of " + self.arguments(body) if body else ""
        if node.open in ("lfloor", "lceil"):
            return ("the floor of " if node.open == "lfloor" else "the ceiling of ") + (
                self.operand(body) if body else ""
            )
        if (
            isinstance(body, Seq)
            and node.open == "["
            and node.close == "]"
            and (
                set(body.seps) == {";"}
                or (not self.interval and all(is_vector_like(i) for i in body.items))
            )
        ):
            return "the concatenation of " + self.list_words(body.items)  # [h_{t-1}, x_t]
        if isinstance(body, Seq) and len(body.items) == 2 and "[" in node.open + node.close:
            low, high = (self.read(i) for i in body.items)
            return f"the interval from {low} to {high}"
        if isinstance(body, Seq) and set(body.seps) <= {","}:
            kind = "pair" if len(body.items) == 2 else "tuple"
            return f"the {kind} " + self.list_words(body.items)
        text = self.read(body)
        if is_quantity(node):
            self.open += 1
            try:
                return "the quantity " + self.read(body)
            finally:
                self.open -= 1
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
            return "the set containing " + self.list_words(body.items)
        return "the set containing " + self.read(body)


NAMED_FRACTIONS = frozenset(word for pair in V.FRACTION_NAMES.values() for word in pair)
_INTERVAL_RELATIONS = frozenset({"in", "notin", "subset", "subseteq"})
_SET_OPERATORS = frozenset({"cup", "cap", "setminus", "sqcup", "uplus", "triangle"})


def inline_fraction(node: Product) -> Frac | None:
    """a b / c written with a slash at the end of a product: the fraction (a b) / c."""
    factors, ops = node.factors, node.ops
    if ops[-1] != "/" or "/" in ops[:-1]:
        return None
    top = factors[0] if len(factors) == 2 else Product(factors[:-1], ops[:-1])
    return Frac(top, factors[-1])


def is_vector_symbol(node: Node) -> bool:
    """A letter, maybe with an index or a sign label (k_i, k^+), never with a power."""
    if isinstance(node, Scripts):
        labelled = node.sup is None or (isinstance(node.sup, Sym) and node.sup.name in ("+", "-"))
        return is_plain(node.base) and labelled and not node.primes
    return is_plain(node)


def is_dots(node: Node | None) -> bool:
    return isinstance(node, Sym) and node.name in V.DOTS


def has_inner_dots(items: list[Node | None] | tuple[Node | None, ...]) -> bool:
    """One ellipsis between the first and the last item: x_1, ..., x_n."""
    dots = [k for k, item in enumerate(items) if is_dots(item)]
    return len(dots) == 1 and 0 < dots[0] < len(items) - 1


def is_matrix_parameter(node: Node | None) -> bool:
    """A covariance rather than a variance: I, Sigma, a bold or capital letter, beta I."""
    if isinstance(node, Product):
        node = node.factors[-1]
    if isinstance(node, Scripts) and node.sup is None:
        node = node.base
    if isinstance(node, Font) and node.style == "bold":
        node = node.body
    return isinstance(node, Sym) and (
        node.kind == "Greek" or (node.kind == "latin" and node.name.isupper())
    )


def is_expectation(node: Node) -> bool:
    """E in blackboard or plain type."""
    if isinstance(node, Font) and node.style == "blackboard":
        node = node.body
    return isinstance(node, Sym) and node.kind == "latin" and node.name == "E"


def is_exponential_base(node: Node) -> bool:
    """e or a number: a parenthesized superscript on it is an exponent, never an index."""
    return (
        isinstance(node, Num)
        or (isinstance(node, Sym) and node.name == "e")
        or (isinstance(node, Name) and node.name == "exp")
    )


def is_layer_index(node: Node | None) -> bool:
    """l, ell, l+1, l-1: the layer of a network, x^{(l)} "x of layer l"."""
    if isinstance(node, Sum) and node.ops[0] == "":
        node = node.terms[0]
    return isinstance(node, Sym) and node.name in ("l", "ell", "L")


def is_function_like(node: Node) -> bool:
    """A function rather than a number: f, g, phi, f(t), the operands of a convolution."""
    if isinstance(node, (Apply, Name)):
        return True
    if isinstance(node, Scripts):
        node = node.base
    return isinstance(node, Sym) and (
        node.name in V.FUNCTION_LETTERS or node.name in (V.FUNCTION_GREEK)
    )


def is_matrix_symbol(node: Node | None) -> bool:
    """A capital Greek letter or a bold capital: |Sigma| is a determinant."""
    if isinstance(node, Font) and node.style == "bold":
        node = node.body
        return isinstance(node, Sym) and (node.kind == "Greek" or node.name.isupper())
    return isinstance(node, Sym) and node.kind == "Greek"


def is_vector_like(node: Node | None) -> bool:
    """An item of a concatenation: no number, no infinity, no sign, no sum or fraction."""
    if isinstance(node, Product):
        return all(is_vector_like(f) for f in node.factors)
    if isinstance(node, (Font, Accent)):
        return is_vector_like(node.body)
    if isinstance(node, Scripts):
        return is_vector_like(node.base)
    return isinstance(node, (Sym, Apply)) and not (isinstance(node, Sym) and node.kind == "symbol")


def is_change(left: Node, right: Node) -> bool:
    """Delta x: capital Delta before a symbol is "the change in", read "delta x"."""
    return isinstance(left, Sym) and left.name == "Delta" and is_symbolic(right)


def label_key(node: Node) -> str:
    """The plain text of a label set over a relation, for the table of known labels."""
    if isinstance(node, (Name, Sym)):
        return node.name
    if isinstance(node, Text):
        return node.text.strip()
    if isinstance(node, Font):
        return label_key(node.body)
    if isinstance(node, Empty):
        return ""
    if isinstance(node, Num):
        return node.text
    return "(...)"


def is_plain_expectation(node: Node) -> bool:
    """E in plain type applied with brackets or parentheses: E[X], E_{x}[f(x)], E(X)."""
    return isinstance(node, Sym) and node.kind == "latin" and node.name == "E"


def is_tuple(node: Node | None) -> bool:
    """(x, y) in parentheses."""
    return isinstance(node, Fenced) and node.open == "(" and isinstance(node.body, Seq)


def is_negated_group(node: Node | None) -> bool:
    """-2i/d, -2x: a minus before a product or a fraction, more than "minus x"."""
    return (
        isinstance(node, Sum)
        and len(node.terms) == 1
        and node.ops == ("-",)
        and isinstance(node.terms[0], (Product, Frac))
        and not is_numeric_fraction(node.terms[0])
    )


def is_numeric_fraction(node: Node) -> bool:
    """1/2, \frac{3}{4}: said as a number ("one half"), one term to the ear."""
    if isinstance(node, Product) and node.ops == ("/",):
        node = Frac(node.factors[0], node.factors[1])
    return isinstance(node, Frac) and isinstance(node.num, Num) and isinstance(node.den, Num)


def is_compound_index(node: Node | None) -> bool:
    """An index of several symbols joined by operators: t+1, i+m; read "sub ...," with a pause."""
    if isinstance(node, Scripts):
        return node.sub is not None  # mu_{a_t}: "mu sub a t,"
    if isinstance(node, Seq):
        return set(node.seps) <= {","}  # BN_{gamma, beta}: "sub gamma and beta,"
    if isinstance(node, Accent) and node.accent != "vector":
        return True  # Q_{bar phi}: "Q sub phi bar,", not "Q phi bar" (a bar on Q phi)
    return (
        is_sum(node)
        or isinstance(node, (Relation, Frac))
        or (isinstance(node, Product) and any(op not in ("",) for op in node.ops))
    )


def superscripted_bases(tree: Node | None) -> frozenset[Node]:
    """Plain bases with a parenthesized index that is not one plain symbol: pi^{(t+1)}."""
    found: set[Node] = set()
    stack: list[object] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(item)
        elif isinstance(item, Scripts):
            sup = item.sup
            if (
                isinstance(sup, Fenced)
                and is_index_sup(sup)
                and is_plain(item.base)
                and not is_exponential_base(item.base)
                and not is_layer_index(sup.body)
                and not (is_plain(sup.body) or isinstance(sup.body, Num))
            ):
                found.add(item.base)
            stack.extend((item.base, item.sub, sup))
        elif item is not None and hasattr(item, "__slots__"):
            stack.extend(getattr(item, f) for f in item.__slots__)
    return frozenset(found)


def is_delimited_label(sup: Node | None) -> bool:
    """A label of several symbols: L^{CLIP+VF+S} ("L clip plus ..." is heard as a sum) and
    theta^{Q'} ("theta Q prime" is heard as the prime of theta Q): read "superscript ...,"."""
    return is_sum(sup) or (isinstance(sup, Scripts) and unprimed(sup) is not sup)


def is_range_index(node: Node | None) -> bool:
    """An index that is a range: x_{1:T}, read "x sub one through T," with a pause."""
    return isinstance(node, Seq) and set(node.seps) == {":"} and len(node.items) == 2


def takes_index(node: Node) -> bool:
    """A factor whose reading ends with a bare letter or index: what follows could be heard
    as its index (x, x i, theta hat, M S E)."""
    if isinstance(node, Scripts):
        return (
            node.sup is None
            and not node.primes
            and not is_compound_index(node.sub)
            and (is_plain(node.base) or isinstance(node.base, Accent))
        )
    if isinstance(node, (Font, Accent)):
        return takes_index(node.body) if isinstance(node, Font) else True
    return is_plain(node) or (isinstance(node, Name) and node.name not in V.FUNCTIONS)


def starts_like_letter(node: Node) -> bool:
    """A factor whose reading starts with a letter, a Greek letter or a name."""
    while isinstance(node, (Scripts, Accent, Font, Apply, Factorial)):
        node = (
            node.base
            if isinstance(node, Scripts)
            else node.func
            if isinstance(node, Apply)
            else node.body
        )
    if isinstance(node, Sym):
        return node.kind in ("latin", "greek", "Greek")
    return isinstance(node, (Name, Text))


def is_probability(func: Node) -> bool:
    """P, Pr or blackboard P before parentheses."""
    if isinstance(func, Font):
        func = func.body
    return isinstance(func, (Sym, Name)) and func.name in _PROBABILITY


def holds_relation(body: Node | None) -> bool:
    """An argument that states an event: P(X = x), P(X_{t+1} = j | X_t = i)."""
    if isinstance(body, Seq):
        return any(isinstance(i, Relation) for i in body.items)
    return isinstance(body, Relation)


# each node class's read_<class> method, looked up once (Reader.read is the hottest call)
_READ_METHODS: dict[type, Callable[[Reader, Any], str]] = {
    cls: getattr(Reader, "read_" + cls.__name__.lower()) for cls in get_args(Node)
}
