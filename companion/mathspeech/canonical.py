"""The comparison tree: an equation's mathematics without its notation.

The reading parser (hearing.py) turns spoken words into a Tree; `canonical` turns the engine's
parse of the LaTeX into the same kind of Tree, so a reading round-trips when the two are equal.
Notation that does not change the math is dropped: bold and other fonts, \\left/\\right and
parentheses (the tree holds the grouping), \\cdot against juxtaposition, d/dx f against df/dx.
Atoms are compared by what they mean to a listener: a relation by its words, a function by its
name, a letter without its case unless the equation uses both cases of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import vocabulary as V
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
from .reading import (
    holds_relation,
    is_delimited_label,
    is_expectation,
    is_exponential_base,
    is_function_like,
    is_probability,
    is_tuple,
)
from .shapes import is_index_sup, is_label_sup, is_minus_one, is_parameter, is_transpose, name_words


@dataclass(frozen=True, slots=True)
class Tree:
    """A node of the comparison tree: an operator (or an atom's words) and its operands."""

    head: str
    kids: tuple[Tree, ...] = ()

    def __str__(self) -> str:
        if not self.kids:
            return self.head
        return f"({self.head} {' '.join(str(k) for k in self.kids)})"


NONE = Tree("none")
TIMES_OPS = frozenset({"", "cdot", "times", "*", "bullet"})
# a product operator's meaning: "times" for all the ways of writing a plain product
PRODUCT_WORDS = {
    "odot": "element-wise times",
    "circ": "element-wise times",
    "ast": "convolved with",
    "compose": "composed with",
}


def atom(words: str) -> Tree:
    return Tree(words)


def leaf_name(words: str) -> Tree:
    """A name spelled as letters ("M S E") is heard as a letter with an index: compare so."""
    parts = words.lower().split()
    if len(parts) > 1:
        return Tree("sub", (Tree(parts[0]), Tree("idx", tuple(Tree(p) for p in parts[1:]))))
    return Tree(words.lower())


def both_cases(node: object) -> frozenset[str]:
    """Letters used in both cases in the equation (their case is heard, so it is compared)."""
    seen: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(item)
        elif isinstance(item, Sym):
            if item.kind == "latin":
                seen.add(item.name)
        elif item is not None and hasattr(item, "__slots__"):
            stack.extend(getattr(item, f) for f in item.__slots__)
    return frozenset(c for c in seen if c.islower() and c.upper() in seen)


class Canonical:
    """Maps the engine's parse tree to the comparison tree."""

    def __init__(self, cased: frozenset[str]) -> None:
        self.cased = cased

    def tree(self, node: Node | None) -> Tree:
        if node is None or isinstance(node, Empty):
            return NONE
        method = getattr(self, "c_" + type(node).__name__.lower())
        result: Tree = method(node)
        return result

    def letter(self, name: str) -> Tree:
        if name.lower() in self.cased or (name.isupper() and name.lower() in self.cased):
            return Tree(("capital " + name.lower()) if name.isupper() else name)
        return Tree(name.lower())

    def c_num(self, node: Num) -> Tree:
        return Tree(V.number_words(node.text))

    def c_sym(self, node: Sym) -> Tree:
        if node.kind == "latin":
            return self.letter(node.name)
        if node.kind == "greek":
            return Tree(V.GREEK[node.name])
        if node.kind == "Greek":
            return Tree("capital " + V.GREEK_UPPER[node.name])
        if node.kind == "bigop":
            return Tree(V.BIG_OPS[node.name].removeprefix("the "))
        if node.name in V.DOTS:
            return Tree("dots")
        return Tree(V.SYMBOLS[node.name])

    def c_name(self, node: Name) -> Tree:
        if node.name in V.FUNCTIONS:
            words = V.FUNCTIONS[node.name][0]
            spelled = all(len(w) == 1 for w in words.split())
            return leaf_name(words) if spelled else Tree(words.lower())
        return leaf_name(name_words(node.name))

    def c_text(self, node: Text) -> Tree:
        return leaf_name(text_words(node.text))

    def c_font(self, node: Font) -> Tree:
        body = node.body
        if node.style == "blackboard" and isinstance(body, Sym):
            if body.name in V.BLACKBOARD_FUNCTIONS:
                return Tree(V.BLACKBOARD_FUNCTIONS[body.name])
            if body.name in V.BLACKBOARD:
                return Tree(V.BLACKBOARD[body.name].removeprefix("the "))
        return self.tree(body)

    def c_accent(self, node: Accent) -> Tree:
        if node.accent == "vector":
            return self.tree(node.body)
        return Tree(node.accent, (self.tree(node.body),))

    def c_factorial(self, node: Factorial) -> Tree:
        return Tree("factorial", (self.tree(node.body),))

    def c_binom(self, node: Binom) -> Tree:
        return Tree("choose", (self.tree(node.n), self.tree(node.k)))

    def c_root(self, node: Root) -> Tree:
        if node.index is None:
            return Tree("sqrt", (self.tree(node.body),))
        return Tree("root", (self.tree(node.index), self.tree(node.body)))

    def c_frac(self, node: Frac) -> Tree:
        return Tree("/", (self.tree(node.num), self.tree(node.den)))

    def c_deriv(self, node: Deriv) -> Tree:
        head = "partial" if node.partial else "d"
        order = NONE if node.order is None else self.tree(node.order)
        variables = []
        for var, power in zip(node.variables, node.powers, strict=True):
            t = self.tree(var)
            variables.append(t if power is None else Tree("^", (t, self.tree(power))))
        func = NONE if node.func is None else self.tree(node.func)
        return Tree(head, (order, func, *variables))

    def c_prefix(self, node: Prefix) -> Tree:
        op = node.op
        base = op.base if isinstance(op, Scripts) else op
        operand = self.tree(node.operand)
        if isinstance(base, Deriv) and base.func is None:
            deriv = self.tree(base)
            order = deriv.kids[0]
            if isinstance(op, Scripts) and op.sup is not None:
                return Tree(
                    "^", (Tree(deriv.head, (order, operand, *deriv.kids[2:])), self.tree(op.sup))
                )
            return Tree(deriv.head, (order, operand, *deriv.kids[2:]))
        if self.tree(op) == Tree("determinant"):
            return Tree("bars", (operand,))
        return Tree("apply", (self.tree(op), operand))

    def c_scripts(self, node: Scripts) -> Tree:
        base, sub, sup = node.base, node.sub, node.sup
        if isinstance(base, Fenced) and (
            base.open == NULL_LEFT or (base.open == "[" and sub is not None and sup is not None)
        ):  # \left. F \right|_a^b and [F(x)]_a^b: F evaluated from a to b
            body = self.tree(base.body)
            if sub is not None and sup is not None:
                return Tree("evaluated", (body, self.tree(sub), self.tree(sup)))
            return Tree("evaluated", (body, self.tree(sub if sub is not None else sup)))
        if isinstance(base, Fenced) and base.open == "\\{" and sub is not None and sup is not None:
            # {x_i}_{i=1}^N: the set of x_i for i from 1 to N
            return Tree("set for", (self.tree(base.body), self.tree(sub), self.tree(sup)))
        if isinstance(base, Fenced) and base.open == "‖":
            norm = Tree("norm", (self.body(base.body), *(() if sub is None else (self.tree(sub),))))
            return norm if sup is None else self.power(norm, base, sup)
        if (
            isinstance(base, Fenced)
            and base.open in "(["
            and isinstance(sub, Sym)
            and sub.name in "+-"
            and sup is None
        ):
            return Tree(
                "positive part" if sub.name == "+" else "negative part", (self.body(base.body),)
            )
        if (
            isinstance(base, Font)
            and base.style == "blackboard"
            and base.body == Sym("1", "symbol")
            and sub is not None
        ):  # 1_{[k != i]}: the indicator that k is not i
            return Tree("apply", (Tree("indicator"), self.body(sub)))
        if (
            isinstance(base, Font)
            and base.style == "blackboard"
            and sup is not None
            and not is_label_sup(base, sup)
        ):
            # R^n, R^{m x n}: the space's dimensions, read "R n", "R m by n"
            letter = self.tree(base.body)
            return Tree("sub", (letter, Tree("idx", tuple(self.index_items(sup)))))
        text = self.tree(base)
        if isinstance(sup, Sym) and sup.name == "prime":
            node, sup = Scripts(base, sub, None, node.primes + 1), None
        for _ in range(node.primes):
            text = Tree("prime", (text,))
        plain = base.body if isinstance(base, Accent) else base
        index: list[Tree] = []
        if isinstance(sup, Sym) and sup.name in ("+", "-"):  # x^+: a label, said "superscript plus"
            sup_tree = Tree(V.SYMBOLS[sup.name])
            sup = None
        else:
            sup_tree = None
        if sup is not None and is_label_sup(plain, sup) and is_delimited_label(sup):
            sup_tree, sup = self.tree(sup), None  # "theta superscript Q prime,"
        if sup is not None and is_label_sup(plain, sup):
            index.extend(
                self.index_items(sup)
                if isinstance(sup, Name | Text | Product)
                else [self.label(sup)]
            )
            sup = None
        if is_expectation(plain) and isinstance(sub, Fenced) and is_tuple(sub):
            sub = sub.body  # E_{(x, y)} is E_{x, y}: the expectation's variables
        if sub is not None:
            if isinstance(sub, Fenced) and sub.open == "(" and isinstance(sub.body, Seq):
                # PE_{(pos, 2i)}: "P E of pos and two i", an argument list
                head = Tree("sub", (text, Tree("idx", tuple(index)))) if index else text
                return Tree("apply", (head, *(self.tree(i) for i in sub.body.items)))
            else:
                index.extend(self.index_items(sub))
        if index and text.head == "sub":  # {x_i}_j: the indices in a row
            text = Tree("sub", (text.kids[0], Tree("idx", (*text.kids[1].kids, *index))))
        elif index:
            text = Tree("sub", (text, Tree("idx", tuple(index))))
        if sup_tree is not None:
            text = Tree("supidx", (text, sup_tree))
        if sup is not None:
            text = self.power(text, base, sup)
        return text

    def label(self, sup: Node) -> Tree:
        if isinstance(sup, Sym) and sup.kind == "symbol":
            return Tree(V.SYMBOLS[sup.name])
        return self.tree(sup)

    def index_items(self, sub: Node) -> list[Tree]:
        if isinstance(sub, Name):
            words = V.WORDS.get(sub.name) or " ".join(_spelled(sub.name))
            return [Tree(w) for w in words.lower().split()]
        if isinstance(sub, Seq) and set(sub.seps) == {":"} and len(sub.items) == 2:
            return [Tree("through", tuple(self.tree(i) for i in sub.items))]  # x_{1:T}
        if isinstance(sub, Seq):
            return [self.tree(i) for i in sub.items]
        if isinstance(sub, Text):
            return [Tree(w) for w in text_words(sub.text).split()]
        if isinstance(sub, Product) and set(sub.ops) <= {"", "times"}:
            return [self.tree(f) for f in sub.factors]
        return [self.tree(sub)]

    def power(self, text: Tree, base: Node, sup: Node) -> Tree:
        if is_transpose(sup):
            return Tree("transpose", (text,))
        if is_minus_one(sup) and not isinstance(base, Num):
            return Tree("inverse", (text,))
        if isinstance(sup, Sym) and sup.name in ("prime",):
            return Tree("prime", (text,))
        if (
            isinstance(sup, Sym)
            and sup.kind == "symbol"
            and sup.name in ("ast", "star", "dagger", "circ")
        ):
            return Tree("sub", (text, Tree("idx", (Tree(V.SYMBOLS.get(sup.name, sup.name)),))))
        if (
            isinstance(sup, Fenced)
            and sup.open in "(["
            and (sup.open == "[" or (is_index_sup(sup) and not is_exponential_base(base)))
        ):
            return Tree("supidx", (text, self.body(sup.body)))
        return Tree("^", (text, self.body(sup)))

    def body(self, node: Node | None) -> Tree:
        while isinstance(node, Fenced) and node.open in "([" and not isinstance(node.body, Seq):
            node = node.body
        return self.tree(node)

    def c_fenced(self, node: Fenced) -> Tree:
        body = node.body
        if node.open == NULL_LEFT:
            return self.tree(body)
        if node.open == "|":
            return Tree("bars", (self.tree(body),))
        if node.open == "‖":
            return Tree("norm", (self.tree(body),))
        if node.open == "\\{" and isinstance(body, Matrix | Cases):
            return self.c_cases(body)  # \left\{ \begin{array} ... \right.
        if node.open == "\\{":
            return Tree("set", self.items(body))
        if node.open == "langle":
            return Tree("inner", self.items(body))
        if node.open in ("lfloor", "lceil"):
            return Tree(node.open[1:], (self.tree(body),))
        if isinstance(body, Seq) and set(body.seps) <= {",", ";"}:
            return Tree("list", self.items(body))
        return self.tree(body)

    def items(self, body: Node | None) -> tuple[Tree, ...]:
        if body is None:
            return ()
        if isinstance(body, Seq) and set(body.seps) <= {",", ";"}:
            return tuple(self.tree(i) for i in body.items)
        return (self.tree(body),)

    def c_apply(self, node: Apply) -> Tree:
        func = self.tree(node.func)
        head = node.func
        if (
            isinstance(head, Scripts)
            and isinstance(head.sup, Sym)
            and head.sup.kind in ("greek", "Greek")
            and func.head == "^"
        ):  # V^pi(s): a Greek label on a function
            func = Tree("sub", (func.kids[0], Tree("idx", (func.kids[1],))))
        plain = head.base if isinstance(head, Scripts) else head
        if isinstance(plain, Sym) and plain.name == "E" and node.arg.open == "[":
            func = (
                Tree("sub", (Tree("expected value"), func.kids[1]))
                if func.head == "sub"
                else (Tree("expected value"))
            )
        if func == Tree("determinant"):
            return Tree("bars", self.arguments(node.arg.body))
        if func == Tree("k l divergence"):  # KL(p || q) is D_KL(p || q): "the K L divergence"
            func = leaf_name("D K L")
        if isinstance(node.func, Fenced):  # (f * g)(t): the combination evaluated at t
            return Tree("evaluated", (self.tree(node.func.body), *self.arguments(node.arg.body)))
        body = node.arg.body
        base = node.func.base if isinstance(node.func, Scripts) else node.func
        if isinstance(base, Font) and base.style == "script" and isinstance(body, Seq):
            return Tree("apply", (func, *(self.tree(i) for i in body.items)))  # N(x | mu, Sigma)
        if is_probability(node.func) and holds_relation(body):
            func = Tree("probability")  # P(X = x): the probability that X equals x
        return Tree("apply", (func, *self.arguments(body)))

    def arguments(self, body: Node | None) -> tuple[Tree, ...]:
        if body is None:
            return ()
        if isinstance(body, Fenced) and body.open in "([" and not isinstance(body.body, Seq):
            return self.arguments(body.body)
        if not isinstance(body, Seq):
            return (self.tree(body),)
        out: list[Tree] = []
        given: list[Tree] | None = None
        for k, item in enumerate(body.items):
            sep = body.seps[k - 1] if k else ","
            t = self.tree(item)
            if sep == ";" and is_parameter(item):
                out.append(Tree("parameter", (t,)))
                continue
            if sep in ("|", "mid", "vert"):
                given = [t]
                out[-1] = Tree("given", (out[-1],))
                continue
            if given is not None:
                given.append(t)
                continue
            out.append(t)
        if given is not None:
            k = max(i for i, o in enumerate(out) if o.head == "given")
            out[k] = Tree("given", (*out[k].kids, *given))
        return tuple(out)

    def c_bigop(self, node: BigOp) -> Tree:
        op = node.op
        head = (
            V.BIG_OPS[op].removeprefix("the ")
            if op in V.BIG_OPS
            else V.FUNCTIONS.get(op, (op, True))[0]
        )
        lower = NONE if node.sub is None else self.tree(node.sub)
        upper = NONE if node.sup is None else self.tree(node.sup)
        body = NONE if node.body is None else self.tree(node.body)
        return Tree(
            "big " + head, (lower, upper, body, *(self.tree(d) for d in node.differentials))
        )

    def c_sum(self, node: Sum) -> Tree:
        if all(op in ("", "+", "-") for op in node.ops):
            terms: list[Tree] = []
            for op, term in zip(node.ops, node.terms, strict=True):
                t = self.tree(term)
                if op == "-":
                    t = Tree("neg", (t,))
                if t.head == "+" and op != "-":
                    terms.extend(t.kids)
                else:
                    terms.append(t)
            return terms[0] if len(terms) == 1 else Tree("+", tuple(terms))
        acc = self.tree(node.terms[0])
        if node.ops[0]:
            acc = Tree(V.ADD_OPS[node.ops[0]], (acc,))
        for op, term in zip(node.ops[1:], node.terms[1:], strict=True):
            word = V.ADD_OPS.get(op, op)
            acc = (
                Tree("+", (acc, Tree("neg", (self.tree(term),))))
                if word == "minus"
                else Tree(word, (acc, self.tree(term)))
            )
        return acc

    def c_product(self, node: Product) -> Tree:
        slashed = self.slashed_derivative(node)
        if slashed is not None:
            return slashed
        factors: list[Tree] = [self.tree(node.factors[0])]
        acc: Tree | None = None
        for op, factor in zip(node.ops, node.factors[1:], strict=True):
            t = self.tree(factor)
            if (
                op in ("*", "circ")
                and is_function_like(node.factors[len(factors) - 1 if acc is None else 0])
                and is_function_like(factor)
            ):
                op = "ast" if op == "*" else "compose"
            if op in TIMES_OPS:
                factors.append(t)
                continue
            left = factors[0] if len(factors) == 1 else Tree("*", tuple(factors))
            if acc is not None:
                left = Tree("*", (acc, *factors[1:])) if len(factors) > 1 else acc
            if op == "/":
                acc = Tree("/", (left, t))
            else:
                acc = Tree(PRODUCT_WORDS.get(op, V.MUL_OPS.get(op, op)), (left, t))
            factors = [acc]
        if len(factors) == 1:
            return factors[0]
        flat: list[Tree] = []
        for f in factors:
            flat.extend(f.kids if f.head == "*" else (f,))
        return Tree("*", tuple(flat))

    def slashed_derivative(self, node: Product) -> Tree | None:
        """partial f / partial x, df/dx: the derivative written inline, the same math as the
        fraction (and read the same: "partial f over partial x")."""
        if node.ops != ("", "/", "") or len(node.factors) != 4:
            return None
        d, func, d_again, var = node.factors
        if not (isinstance(d, Sym) and d == d_again and d.name in ("partial", "d")):
            return None
        head = "partial" if d.name == "partial" else "d"
        return Tree(head, (NONE, self.tree(func), self.tree(var)))

    def c_relation(self, node: Relation) -> Tree:
        kids: list[Tree] = [self.tree(node.parts[0])]
        for k, rel in enumerate(node.rels):
            label = node.labels[k] if node.labels else None
            kids.append(Tree(relation_meaning(rel, label)))
            kids.append(self.tree(node.parts[k + 1]))
        return Tree("rel", tuple(kids))

    def c_seq(self, node: Seq) -> Tree:
        kids = [self.tree(node.items[0])]
        for sep, item in zip(node.seps, node.items[1:], strict=True):
            kids.append(Tree(SEPARATOR_MEANING.get(sep, ",")))
            kids.append(self.tree(item))
        return Tree("seq", tuple(kids))

    def c_matrix(self, node: Matrix) -> Tree:
        matrix = Tree(
            "matrix", tuple(Tree("row", tuple(self.tree(c) for c in r)) for r in node.rows)
        )
        # vmatrix is the determinant of its matrix, Vmatrix the norm: what the bars mean
        fence = {"det": "bars", "norm": "norm"}.get(V.MATRIX_ENVS.get(node.env, ""))
        return matrix if fence is None else Tree(fence, (matrix,))

    def c_cases(self, node: Cases | Matrix) -> Tree:
        return Tree(
            "cases",
            tuple(Tree("row", tuple(condition(self.tree(c)) for c in r)) for r in node.rows),
        )

    def c_lines(self, node: Lines) -> Tree:
        return Tree("lines", tuple(self.tree(r) for r in node.rows))


def condition(tree: Tree) -> Tree:
    """A case's condition without its leading word: "if x > 0" is the relation x > 0."""
    if tree.head == "rel" and tree.kids and tree.kids[0].head == "*":
        first = tree.kids[0]
        if first.kids[0].head == "if":
            rest = first.kids[1:]
            lead = rest[0] if len(rest) == 1 else Tree("*", rest)
            return Tree("rel", (lead, *tree.kids[1:]))
    return tree


SEPARATOR_MEANING = {
    "|": "given",
    "mid": "given",
    "vert": "given",
    ":": "such that",
    "colon": "such that",
    "brace": "called",
}


def relation_meaning(rel: str, label: Node | None = None) -> str:
    """A relation by its words: \\leq and \\le are the same relation."""
    if rel.startswith("not") and rel != "notin":
        return V.NOT_RELATIONS.get(rel[3:], "is not " + V.RELATIONS[rel[3:]][0])
    if label is not None and rel in ("=", "triangleq"):
        return "is defined as"
    return V.RELATIONS[rel][0]


def _spelled(name: str) -> list[str]:
    from .shapes import name_words

    return name_words(name).split()


def text_words(text: str) -> str:
    """The words of upright text as the reader says them: "CE" is "C E"."""
    words = text.replace("-", " ").split()
    return " ".join(
        name_words(w) if sum(c.isupper() for c in w) >= 2 or w in V.WORDS else w for w in words
    ).lower()


def canonical(node: Node) -> Tree:
    """The comparison tree of a parsed equation."""
    return Canonical(both_cases(node)).tree(node)
