"""The reading parser: the engine's spoken words back to the tree of the mathematics.

A listener has only the words, so a reading is unambiguous when one grammar of spoken math
turns it back into the equation's tree. This module is that grammar; `roundtrips(latex)` says
whether the engine's reading of an equation parses back to the tree of its LaTeX (see
canonical.py for what is compared). Commas are the reading's pauses.

How the words group, loosest first:
- a chain of relations ("equals", "is less than", "which equals");
- "A, all over B": everything since the last relation, over B;
- sums ("plus", "minus", "union");
- products ("times", "dot", "element-wise times");
- "a over b" between tight terms;
- juxtaposition: "two m", "theta transpose x", an operator and what it reads ("the log of ...");
- an atom and what follows it without a pause: its index ("x i", "theta sub t plus one,"),
  "hat", "prime", "squared", "transpose", "to the n".
Constructs that extend as far as they can ("the quantity ...", "the square root of ...",
"the sum ... of ...", "sub ...") end at a pause, which they consume; a function's argument
("f of x") is one tight term, a list ("x and y", "Q, K, and V") or "the quantity ...".
Two items are "x and y", so a pause before "and" after one item closes an inner list ("q of z
given x, and p of z"), and after an item that holds an application the list goes on with
", and" ("ell of f of x, and y").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import vocabulary as V
from .canonical import NONE, Canonical, Tree, both_cases, leaf_name, relation_meaning
from .parser import Parser

GROUP = "()"  # a closed group ("the quantity ..."), dropped once the tree is built


class Unheard(Exception):
    """The words do not parse as one expression."""


def _number_words() -> frozenset[str]:
    return frozenset([*V.ONES, *V.TENS[2:], "hundred", "thousand", "million", "point"])


NUMBER_WORDS = _number_words()
GREEK_NAMES = frozenset(V.GREEK.values()) | frozenset(V.GREEK_UPPER.values())
ORDINAL_NUMBERS = {word: V.integer_words(n) for n, word in V.ORDINALS.items()}


def _relation_phrases() -> dict[tuple[str, ...], str]:
    phrases: dict[tuple[str, ...], str] = {}
    for key, (words, _) in V.RELATIONS.items():
        phrases[tuple(words.split())] = relation_meaning(key)
    for words in V.NOT_RELATIONS.values():
        phrases[tuple(words.split())] = words
    for key, words in V.SCRIPT_RELATIONS.items():
        phrases.setdefault(tuple(words.split()), relation_meaning(key))
    phrases[("is", "defined", "as")] = "is defined as"
    return phrases


RELATIONS = _relation_phrases()
MUL_WORDS = {
    ("times",): "*",
    ("dot",): "*",
    ("element-wise", "times"): "element-wise times",
    ("convolved", "with"): "convolved with",
    ("composed", "with"): "composed with",
    ("tensor",): "tensor",
    ("divided", "by"): "/",
}
FUNCTION_WORDS = {words: words for words, _ in V.FUNCTIONS.values()}
BIG_WORDS = {v.removeprefix("the "): v for v in V.BIG_OPS.values()}
LIMIT_WORDS = {"max", "min", "arg max", "arg min", "supremum", "infimum"}
ACCENT_WORDS = frozenset({"hat", "bar", "tilde", "check", "breve", "ring", "double dot"})
NORM_WORDS = {v: k for k, v in V.NORM_NAMES.items()}
# words that end an atom's index: operators, relations, keywords
STOP = frozenset(
    {
        "plus",
        "minus",
        "times",
        "over",
        "all",
        "of",
        "equals",
        "is",
        "given",
        "and",
        "to",
        "the",
        "squared",
        "cubed",
        "transpose",
        "inverse",
        "prime",
        "double",
        "hat",
        "bar",
        "tilde",
        "ring",
        "called",
        "sub",
        "superscript",
        "raised",
        "power",
        "from",
        "with",
        "which",
        "dot",
        "element-wise",
        "convolved",
        "composed",
        "tensor",
        "divided",
        "union",
        "intersect",
        "factorial",
        "star",
        "evaluated",
        "gets",
        "contains",
        "implies",
        "capital",
        "small",
        "for",
        "such",
        "that",
        "if",
        "otherwise",
        "maps",
        "through",
        "there",
        "by",
        "in",
        "approaches",
        "not",
        "less",
        "greater",
        "drawn",
        "at",
        "big",
        "goes",
        "as",
        "up",
        "ratio",
        "layer",
        "th",
        "derivative",
        "row",
        "choose",
        "set",
        "vector",
    }
)
SCRIPT_SYMBOLS = {"star": "star", "dagger": "dagger", "plus": "plus", "minus": "minus"}


class Hearing:
    """A backtracking recursive-descent parser over the words of one reading."""

    def __init__(self, text: str) -> None:
        self.words = text.replace(",", " , ").lower().split()
        self.i = 0
        self.depth = 0  # open constructs that a pause would close
        self.no_apply = 0  # inside a bound or index: "i of" is not an application
        self.last = NONE
        self.in_ratio = 0  # in "the ratio of A to B", before the "to"
        self.integral = 0  # in an integrand: "d x" is its differential
        self.in_mean = 0  # in "with mean ...", before the variance or covariance

    # ------------------------------------------------------------- helpers
    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.words[j] if j < len(self.words) else ""

    def at(self, *words: str) -> bool:
        return tuple(self.words[self.i : self.i + len(words)]) == words

    def eat(self, *words: str) -> bool:
        if self.at(*words):
            self.i += len(words)
            return True
        return False

    def need(self, *words: str) -> None:
        if not self.eat(*words):
            raise Unheard(f"expected {' '.join(words)!r} at word {self.i}: {self.rest()}")

    def rest(self) -> str:
        return " ".join(self.words[self.i : self.i + 8])

    def attempt(self, rule: Callable[[], Tree]) -> Tree | None:
        start = self.i
        try:
            return rule()
        except Unheard:
            self.i = start
            return None

    def pause(self) -> bool:
        return self.eat(",")

    def free_pause(self) -> bool:
        """A pause that closes nothing (no construct is open) is only a breath."""
        return self.depth == 0 and self.eat(",")

    def inside(self, rule: Callable[[], Tree]) -> Tree:
        """Parse an open construct's content; a pause then closes it."""
        self.depth += 1
        try:
            return rule()
        finally:
            self.depth -= 1

    def without_application(self, rule: Callable[[], Tree]) -> Tree:
        self.no_apply += 1
        try:
            return rule()
        finally:
            self.no_apply -= 1

    # ------------------------------------------------------------- top levels
    def parse(self) -> Tree:
        tree = self.sequence()
        if self.i != len(self.words):
            raise Unheard(f"words left over at word {self.i}: {self.rest()}")
        return tree

    def sequence(self) -> Tree:
        first = self.relation()
        kids = [first]
        while True:
            start = self.i
            if self.eat(",", "such", "that") or self.eat("such", "that"):
                kids += [Tree("such that"), self.relation()]
            elif self.eat("given"):
                kids += [Tree("given"), self.relation()]
            elif self.eat("through") or self.eat(",", "and", "so", "on", "up", "to"):
                kids += [Tree(","), Tree("dots"), Tree(","), self.relation()]  # x one through x n
            elif self.eat("maps"):
                domain = self.side()
                self.need("to")
                kids += [Tree("such that"), Tree("rel", (domain, Tree("goes to"), self.side()))]
            elif self.eat(","):
                nxt = self.attempt(self.relation)
                if nxt is None:
                    self.i = start
                    break
                kids += [Tree(","), nxt]
            else:
                break
        return kids[0] if len(kids) == 1 else Tree("seq", tuple(kids))

    def relation_word(self) -> str | None:
        start = self.i
        if self.depth == 0:
            self.eat(",")
        self.eat("which")
        for length in (6, 5, 4, 3, 2, 1):
            phrase = tuple(self.words[self.i : self.i + length])
            if phrase in RELATIONS:
                self.i += length
                return RELATIONS[phrase]
        if self.eat("is", "normally", "distributed"):
            return "normally"
        if self.eat("is", "positive", "semidefinite"):
            return "semidefinite"
        if self.eat("is", "positive", "definite"):
            return "definite"
        if self.at("is", "drawn") and "from" in self.words[self.i + 2 : self.i + 6]:
            self.i = self.words.index("from", self.i + 2) + 1  # "is drawn i i d from"
            return "is distributed as"
        if self.at("converges") and "to" in self.words[self.i + 1 : self.i + 5]:
            self.i = self.words.index("to", self.i + 1) + 1  # "converges in distribution to"
            return "goes to"
        self.i = start
        return None

    def relation(self) -> Tree:
        """A chain of relations; a side may be missing ("is in the real numbers")."""
        rel = self.relation_word()
        first = NONE if rel is not None else self.side()
        if rel is None:
            rel = self.relation_word()
            if rel is None:
                return first
        kids = [first]
        while rel is not None:
            kids.append(Tree(rel))
            if rel == "normally":
                kids[-1] = Tree("is distributed as")
                kids.append(self.normal("distribution"))
            elif rel in ("semidefinite", "definite"):  # A >= 0 for a matrix
                kids[-1] = Tree("succeeds or equals" if rel == "semidefinite" else "succeeds")
                kids.append(Tree("zero"))
            elif self.peek() in ("", ","):
                kids.append(NONE)
            else:
                kids.append(self.side())
            rel = self.relation_word()
        return Tree("rel", tuple(kids))

    def side(self) -> Tree:
        tree = self.value()
        if self.at("if") or self.at("otherwise"):
            return self.cases(tree)
        return tree

    def cases(self, value: Tree) -> Tree:
        """ "x if x is greater than zero, and minus x otherwise"."""
        rows = []
        while True:
            if self.eat("otherwise"):
                rows.append(Tree("row", (value, Tree("otherwise"))))
            else:
                self.need("if")
                rows.append(Tree("row", (value, self.relation_in_script())))
            start = self.i
            if self.eat(",", "and") or self.eat(","):
                following = self.attempt(self.value)
                if following is not None and (self.at("if") or self.at("otherwise")):
                    value = following
                    continue
            self.i = start
            return Tree("cases", tuple(rows))

    def value(self) -> Tree:
        tree = self.additive()
        if self.at(",", "called"):  # \underbrace{A}_{label}: "A, called label,"
            self.i += 2
            tree = Tree("seq", (tree, Tree("called"), self.inside(self.additive)))
            self.pause()
        if (self.depth == 0 and self.at(",", "evaluated")) or self.at("evaluated"):
            self.eat(",")
            self.need("evaluated")
            if self.eat("from"):
                low = self.additive_in_script()
                self.need("to")
                tree = Tree(
                    "evaluated", (tree, low, self.without_application(self.relation_in_script))
                )
            else:
                self.need("at")
                if self.at(",") or not self.peek():
                    raise Unheard("evaluated at nothing")
                # the point ends at a pause: "evaluated at a equals mu of s, times g"
                point = self.inside(self.relation_in_script)
                items = [point]
                while self.eat("and"):
                    items.append(self.inside(self.relation_in_script))
                tree = Tree("evaluated", (tree, *items))
                if self.depth == 0:  # what follows the pause combines with the evaluation
                    tree = self.additive(first=self.product(first=tree))
        while True:
            if (self.depth == 0 and self.at(",", "all", "over")) or self.at("all", "over"):
                self.free_pause()
                self.need("all", "over")
                tree = Tree("/", (tree, self.additive()))
            elif self.depth == 0 and self.closes_all():
                # "the square root of f of x and y, all plus one": every open group closes
                self.free_pause()
                self.need("all")
                tree = flat(self.additive(first=flat(self.product(first=tree))))
            else:
                return tree

    def closes_all(self) -> bool:
        """At ", all plus ...", ", all minus ...", ", all times ...": what came before is whole."""
        at = 1 if self.at(",") else 0
        return self.peek(at) == "all" and self.peek(at + 1) in ("plus", "minus", "times")

    def additive(self, first: Tree | None = None) -> Tree:
        terms: list[Tree] = []
        if first is not None:
            terms.append(first)
        elif self.eat("minus"):
            terms.append(Tree("neg", (self.product(),)))
        else:
            terms.append(self.product())
        other: Tree | None = None
        while True:
            start = self.i
            self.free_pause()
            word = self.add_word()
            if word is None:
                self.i = start
                break
            term = self.product()
            if word in ("+", "-"):
                terms.append(Tree("neg", (term,)) if word == "-" else term)
            else:
                left = terms[0] if len(terms) == 1 else Tree("+", tuple(terms))
                other = Tree(word, (left, term))
                terms = [other]
        return terms[0] if len(terms) == 1 else Tree("+", tuple(terms))

    def add_word(self) -> str | None:
        for words, word in (
            (("plus", "or", "minus"), "plus or minus"),
            (("set", "minus"), "set minus"),
            (("plus",), "+"),
            (("minus",), "-"),
            (("union",), "union"),
            (("intersect",), "intersect"),
        ):
            if self.eat(*words):
                return word
        return None

    def product(self, first: Tree | None = None) -> Tree:
        factors = [self.ratio() if first is None else first]
        acc: Tree | None = None
        while True:
            start = self.i
            self.free_pause()
            word = None
            for words, meaning in MUL_WORDS.items():
                if self.at("dot", "dot", "dot"):
                    break  # "one, two, dot dot dot": the dots are an item, not a product
                if self.eat(*words):
                    word = meaning
                    break
            if word is None:
                self.i = start
                break
            right = self.ratio()
            if word == "*":
                factors.append(right)
            else:
                left = factors[0] if len(factors) == 1 else Tree("*", tuple(factors))
                acc = Tree(word, (left, right))
                factors = [acc]
        return flat_product(factors)

    def ratio(self) -> Tree:
        tree = self.tight()
        while self.at("over") or self.at("choose"):
            if self.eat("choose"):
                tree = Tree("choose", (tree, self.tight()))
                continue
            self.eat("over")
            tree = Tree("/", (tree, self.tight()))
        return tree

    def tight(self) -> Tree:
        """Juxtaposed factors: "two m", "theta transpose x", "capital delta w"."""
        factors = [self.postfixed()]
        while self.starts_atom() and not (self.integral and self.peek() == "d"):
            factors.append(self.postfixed())
        return flat_product(factors)

    def starts_atom(self) -> bool:
        word = self.peek()
        if not word or word == ",":
            return False
        if word == "the":
            return True
        if self.quantifier():
            return True
        if self.in_mean and word in SPREADS:
            return False  # "with mean A, covariance B": the spread is not juxtaposed to A
        if word in STOP and word not in ("capital", "big", "small"):
            return False
        return word not in RELATION_STARTS

    # ------------------------------------------------------------- atoms and what follows
    def postfixed(self) -> Tree:
        tree = self.atom()
        indexable = (
            tree.head.split()[0] not in NUMBER_WORDS
            and tree.head != GROUP
            and not tree.head.startswith("big ")
            and tree.head not in ("apply", "sqrt", "/")
            and tree.head not in QUANTIFIERS
        )
        if indexable and tree.head not in ("neg",):
            tree = self.index(tree)
        while True:
            if self.eat("of", "layer"):
                tree = Tree("supidx", (strip(tree), self.superscript()))
                continue
            if self.eat("of") if self.can_apply(tree) and not closed_list(tree, self) else False:
                tree = Tree("apply", (strip(tree), *self.arguments()))
                continue
            if self.eat("squared"):
                tree = Tree("^", (strip(tree), Tree("two")))
            elif self.eat("cubed"):
                tree = Tree("^", (strip(tree), Tree("three")))
            elif self.depth == 0 and (self.at(",", "squared") or self.at(",", "cubed")):
                self.i += 1  # "the absolute value of x, squared": the pause closed the value
            elif self.eat("transpose"):
                tree = Tree("transpose", (strip(tree),))
            elif self.eat("inverse"):
                tree = Tree("inverse", (strip(tree),))
            elif self.eat("double", "prime"):
                tree = Tree("prime", (Tree("prime", (strip(tree),)),))
            elif self.eat("prime"):
                tree = Tree("prime", (strip(tree),))
            elif self.peek() in ACCENT_WORDS:
                tree = Tree(self.words[self.i], (strip(tree),))
                self.i += 1
                tree = self.index(tree)
            elif self.eat("factorial") or (self.depth == 0 and self.eat(",", "factorial")):
                tree = Tree("factorial", (strip(tree),))
            elif self.eat("star"):
                tree = Tree("sub", (strip(tree), Tree("idx", (Tree("star"),))))
            elif self.eat("superscript"):
                tree = Tree("supidx", (strip(tree), self.superscript()))
            elif (
                (
                    self.at("to", "the")
                    and not (self.in_ratio and self.peek(2) in RATIO_ENDS)
                    and not self.names_a_set(1)
                )
                or (self.depth == 0 and self.at(",", "raised"))
                or self.at("raised")
            ):
                tree = self.power(strip(tree))
            else:
                return tree

    def quantifier(self) -> str:
        """The quantifier that starts here ("for all", "there exists"), else ""."""
        return next((q for q in QUANTIFIERS if self.at(*q.split())), "")

    def names_a_set(self, k: int) -> bool:
        """Whether the words k ahead name a number set ("maps R n to the real numbers"): never
        an exponent, which is read in a script, where R is "R"."""
        return any(tuple(self.words[self.i + k : self.i + k + len(p)]) == p for p in REAL_SETS)

    def can_apply(self, tree: Tree) -> bool:
        return self.no_apply == 0 and tree.head not in ("neg",)

    def power(self, base: Tree) -> Tree:
        if self.eat(",", "raised", "to", "the", "power") or self.eat(
            "raised", "to", "the", "power"
        ):
            return Tree("^", (base, self.tight()))
        if self.eat(",", "raised") or self.eat("raised"):
            self.need("to", "the")
            return Tree("^", (base, self.power_phrase()))
        if self.in_ratio and self.peek(2) in RATIO_ENDS:
            raise Unheard("the ratio's 'to'")
        self.need("to", "the")
        word = self.peek()
        if word in ORDINAL_NUMBERS and word not in ("second",):
            self.i += 1
            return Tree("^", (base, Tree(ORDINAL_NUMBERS[word])))
        long = self.attempt(self.power_phrase)
        if long is not None:
            return Tree("^", (base, long))
        if self.eat("minus"):
            return Tree("^", (base, Tree("neg", (self.postfixed(),))))
        return Tree("^", (base, self.postfixed()))

    def power_phrase(self) -> Tree:
        tree = self.additive()
        self.need("power")
        return tree

    def index(self, base: Tree) -> Tree:
        """The index read right after an atom: "x i", "A i j", "W Q i", "theta sub t plus one,"."""
        if self.eat("sub"):
            parts = [self.inside(self.open_relation_or_expression)]
            if self.eat("through"):  # x_{1:T}: "x sub one through T,"
                parts = [Tree("through", (parts[0], self.inside(self.script_expression)))]
            while self.eat("and"):
                parts.append(self.inside(self.script_expression))
            self.pause()
            if len(parts) == 1:
                return Tree("sub", (base, Tree("idx", split_index(parts[0]))))
            return Tree("sub", (base, Tree("idx", tuple(parts))))
        items: list[Tree] = []
        while self.starts_index() or (items and self.at("by") and self.peek(1) not in STOP):
            self.eat("by")  # R m by n
            items.append(self.index_atom())
        if items and self.at("sub"):  # BN_{gamma, beta}: "B N sub gamma and beta,"
            more = self.index(base)
            items.extend(more.kids[1].kids)
        if not items:
            return base
        return Tree("sub", (base, Tree("idx", tuple(items))))

    def superscript(self) -> Tree:
        """A superscript index: "x superscript i,", "W of layer l plus one,": a pause ends it."""
        if self.peek() in ("plus", "minus") and not self.starts_index_at(1):
            sign = self.words[self.i]  # x^+: a sign alone, which no pause needs to end
            self.i += 1
            return Tree(sign)
        expr = self.inside(self.script_expression)
        self.pause()
        return expr

    def component(self) -> Tree:
        """The index of "component i j of": index atoms, or a sum ended by a pause."""
        start = self.i
        items: list[Tree] = []
        while self.starts_index():
            items.append(self.index_atom())
        if items and self.at("of"):
            return items[0] if len(items) == 1 else Tree("*", tuple(items))
        self.i = start
        return self.superscript()

    def open_relation_or_expression(self) -> Tree:
        """An index that may be a relation without its left side: x_{<t}, "x sub less than t"."""
        for length in (6, 5, 4, 3, 2):
            phrase = tuple(self.words[self.i : self.i + length])
            if phrase in RELATIONS:
                self.i += length
                return Tree("rel", (NONE, Tree(RELATIONS[phrase]), self.additive_in_script()))
        return self.script_expression()

    def script_expression(self) -> Tree:
        return self.additive_in_script()

    def additive_in_script(self) -> Tree:
        return self.without_application(self.additive)

    def starts_index(self) -> bool:
        word = self.peek()
        if word in ("capital", "small"):
            return True
        if not word or word in STOP or word == ",":
            return False
        return not (word in RELATION_STARTS or word in ADD_FIRST or word in FUNCTION_FIRST)

    def starts_index_at(self, k: int) -> bool:
        """Whether the word k ahead can start an expression (after "superscript plus")."""
        start = self.i
        self.i += k
        try:
            return self.starts_index() or self.peek() in NUMBER_WORDS
        finally:
            self.i = start

    def index_atom(self) -> Tree:
        word = self.peek()
        if word in ("capital", "small"):
            return self.atom()
        if word in NUMBER_WORDS:
            return self.number()
        if word in GREEK_NAMES:
            self.i += 1
            return Tree(word)
        self.i += 1
        if word in SCRIPT_SYMBOLS:
            return Tree(SCRIPT_SYMBOLS[word])
        return Tree(word)

    def number(self) -> Tree:
        start = self.i
        while self.peek() in NUMBER_WORDS:
            if self.peek() == "point" and self.peek(1) not in NUMBER_WORDS:
                break
            self.i += 1
        if self.i == start:
            raise Unheard(f"expected a number at word {self.i}: {self.rest()}")
        return Tree(" ".join(self.words[start : self.i]))

    def atom(self) -> Tree:
        word = self.peek()
        if not word:
            raise Unheard("unexpected end of the reading")
        if word in NUMBER_WORDS:
            number = self.number()
            for den, (one, many) in V.FRACTION_NAMES.items():
                if self.eat(one) or self.eat(many):
                    return Tree("/", (number, Tree(V.integer_words(den))))
            return number
        if self.eat("capital"):
            name = self.peek()
            self.i += 1
            if name in GREEK_NAMES:
                return Tree("capital " + name)
            if len(name) == 1 and name.isalpha():
                return Tree("capital " + name)
            raise Unheard(f"capital {name}")
        if self.eat("small"):  # "small k" beside "capital K": the letter k
            name = self.peek()
            self.i += 1
            if len(name) == 1 and name.isalpha():
                return Tree(name)
            raise Unheard(f"small {name}")
        if self.eat("minus"):
            return Tree("neg", (self.postfixed(),))
        if word in GREEK_NAMES:
            self.i += 1
            return Tree(word)
        if word == "the":
            return self.article()
        if self.eat("big", "o"):
            return Tree("o")
        if self.eat("partial") or self.eat("d"):
            deriv = self.attempt(lambda: self.derivative(self.words[self.i - 1]))
            if deriv is not None:
                return deriv
            self.i -= 1
        if self.eat("component"):
            idx = self.component()
            self.need("of")
            return Tree("sub", (strip(self.operand()), Tree("idx", split_index(idx))))
        if self.eat("script"):  # a calligraphic letter is a capital: "script L"
            letter = self.atom()
            return Tree("capital " + letter.head) if len(letter.head) == 1 else letter
        if self.eat("vector"):
            return self.atom()
        if self.eat("dot", "dot", "dot"):
            return Tree("dots")
        quantifier = self.quantifier()
        if quantifier:  # "for all x there exists y": the quantifier, then what it binds
            self.i += len(quantifier.split())
            return Tree(quantifier)
        if (word in STOP and not self.at("layer", "norm")) or word == ",":  # LayerNorm
            raise Unheard(f"unexpected {word!r} at word {self.i}: {self.rest()}")
        self.i += 1
        for phrase in MULTIWORD_NAMES:
            if tuple(self.words[self.i - 1 : self.i - 1 + len(phrase)]) == phrase:
                self.i += len(phrase) - 1
                return Tree(" ".join(phrase))
        if len(word) == 1:
            return Tree(word)
        return leaf_name(word)

    def derivative(self, d: str) -> Tree:
        head = "partial" if d == "partial" else "d"
        order = NONE
        if self.eat("squared"):
            order = Tree("two")
        elif self.eat("to", "the"):
            order = self.index_atom()
        saved = self.no_apply
        func = self.tight_until_over()
        self.no_apply = saved
        self.need("over")
        variables = []
        while self.eat(d):
            var = self.index_atom_chain()
            if self.eat("squared"):
                var = Tree("^", (var, Tree("two")))
            variables.append(var)
        if not variables:
            raise Unheard("no variable after over")
        return Tree(head, (order, func, *variables))

    def tight_until_over(self) -> Tree:
        factors = [self.postfixed()]
        while self.starts_atom() and not self.at("over"):
            factors.append(self.postfixed())
        return flat_product(factors)

    def index_atom_chain(self) -> Tree:
        """A variable: "x", "x i", "y hat", "capital X t"."""
        tree = self.index(self.atom())
        while self.peek() in ACCENT_WORDS:
            accent = self.words[self.i]
            self.i += 1
            tree = self.index(Tree(accent, (tree,)))
        return tree

    def article(self) -> Tree:
        """Constructs that start with "the"."""
        if self.eat("the", "quantity"):
            tree = self.inside(self.side)
            self.pause()
            return Tree(GROUP, (tree,))
        if self.peek(2) == "th" and self.peek(3) == "root" and self.peek(4) == "of":
            self.i += 1
            index = self.index_atom()
            self.i += 3
            body = self.inside(self.side)
            self.pause()
            return Tree("root", (index, body))
        for kind in ("square", "cube"):
            if self.eat("the", kind, "root", "of"):
                body = self.inside(self.side)
                self.pause()
                return (
                    Tree("sqrt", (body,))
                    if kind == "square"
                    else Tree("root", (Tree("three"), body))
                )
        if self.eat("the", "ratio", "of"):
            self.in_ratio += 1
            try:
                num = self.additive()
            finally:
                self.in_ratio -= 1
            self.eat(",")  # "the ratio of the exponential of the ratio of a to b, to c"
            self.need("to")
            return Tree("/", (num, self.tight()))
        for name, tree_head in (("absolute", "bars"), ("determinant", "bars"), ("size", "bars")):
            words = ("the", name, "value", "of") if name == "absolute" else ("the", name, "of")
            if self.eat(*words):  # open: "the absolute value of x, squared" squares the value
                bars = Tree(tree_head, (self.inside(self.operand),))
                if self.at(",") and self.peek(1) in ("squared", "cubed", "raised"):
                    self.eat(",")  # the pause closes the value, not what encloses it
                return bars
        for name, tree_head in (("floor", "floor"), ("ceiling", "ceil")):
            if self.eat("the", name, "of"):
                return Tree(tree_head, (self.inside(self.operand),))
        if self.at("the", "squared"):
            self.i += 2
            norm = self.norm_phrase()
            return Tree("^", (norm, Tree("two")))
        if (
            self.peek(1) in ("norm", "l", "frobenius", "infinity", "nuclear", "max")
            and self.attempt_norm()
        ):
            return self.last
        if self.eat("the", "transpose", "of"):
            return Tree("transpose", (self.operand(),))
        if self.eat("the", "inverse", "of"):
            return Tree("inverse", (self.operand(),))
        for power, exponent in (("square", "two"), ("cube", "three")):
            if self.eat("the", power, "of"):  # (E[X])^2: "the square of the expected value of X"
                return Tree("^", (strip(self.operand()), Tree(exponent)))
        if self.eat("the", "gradient"):
            head = Tree("nabla")
            if self.eat("with", "respect", "to"):
                head = Tree(
                    "sub",
                    (
                        head,
                        Tree("idx", split_index(self.without_application(self.script_expression))),
                    ),
                )
            self.need("of")
            return Tree("apply", (head, self.operand()))
        if self.peek(2) == "th" or self.peek(1) in ORDINAL_NUMBERS:
            order = self.attempt(self.nth_derivative)
            if order is not None:
                return order
            nth = self.attempt(self.nth_item)
            if nth is not None:
                return nth
        if (
            self.at("the", "derivative")
            or self.at("the", "partial", "derivative")
            or (self.peek(1) in ORDINAL_NUMBERS and self.peek(2) in ("derivative", "partial"))
        ):
            return self.derivative_phrase()
        if self.eat("the", "expected", "value"):
            return self.applied(Tree("expected value"))
        if self.eat("the", "empirical", "expected", "value"):
            return self.applied(Tree("hat", (Tree("expected value"),)))
        if self.eat("the", "normal", "distribution"):
            return self.normal("distribution")
        if self.eat("the", "normal", "density", "of"):
            x = self.tight()
            return self.normal("density", x)
        if (
            self.eat("the", "concatenation", "of")
            or self.eat("the", "pair")
            or self.eat("the", "tuple")
        ):
            items = self.inside(lambda: Tree("list", self.item_list()))
            self.pause()
            return items
        if self.at("the", "column", "vector", "with", "entries") or self.at(
            "the", "row", "vector", "with", "entries"
        ):
            column = self.peek(1) == "column"
            self.i += 5
            cells = self.inside(lambda: Tree("row", self.cells()))
            self.pause()
            if column:
                return Tree("matrix", tuple(Tree("row", (c,)) for c in cells.kids))
            return Tree("matrix", (cells,))
        if self.peek(2) == "by" and self.peek(4) == "matrix":
            self.i += 5
            self.need("with")
            rows = self.inside(self.matrix_rows)
            self.pause()
            return rows
        if self.eat("the", "positive", "part", "of"):
            return Tree("positive part", (strip(self.operand()),))
        if self.eat("the", "negative", "part", "of"):
            return Tree("negative part", (strip(self.operand()),))
        if self.eat("the", "change", "in"):
            return Tree("*", (Tree("capital delta"), self.postfixed()))
        if self.eat("the", "probability", "that"):
            event = [self.inside(self.relation_in_script)]
            while self.eat(",", "given") or self.eat("given"):
                event = [Tree("given", (*event, self.inside(self.relation_in_script)))]
            self.pause()
            return Tree("apply", (Tree("probability"), *event))

        if self.eat("the", "interval", "from"):
            low = self.additive()
            self.need("to")
            return Tree("list", (low, self.additive()))
        if self.eat("the", "set", "of"):
            member = self.relation_in_script()
            if self.eat(",", "for") or self.eat("for"):  # {x_i}_{i=1}^N
                low = self.without_application(self.relation_in_script)
                self.need("to")
                return Tree("set for", (member, low, self.no_apply_additive()))
            self.need("such", "that")
            return Tree("set", (Tree("seq", (member, Tree("such that"), self.relation())),))
        if self.eat("the", "set", "containing"):
            return Tree("set", self.item_list())
        if self.eat("the", "empty", "set"):
            return Tree("the empty set")
        if self.eat("the", "indicator", "that"):
            indicator = Tree("apply", (Tree("indicator"), self.relation()))
            if self.eat(",", "of"):  # 1_{[k != i]} exp(...): "the indicator that ..., of"
                return Tree("apply", (indicator, *self.arguments()))
            return indicator
        if self.eat("the", "product", "of"):
            factors = self.inside(lambda: Tree("*", self.item_list(paired=True)))
            self.pause()
            return flat_product(list(factors.kids))
        for big_words in sorted(BIG_PHRASES, key=len, reverse=True):
            if self.eat("the", *big_words):
                return self.big(" ".join(big_words))
        if self.eat("the"):
            for phrase in FUNCTION_PHRASES:
                if self.eat(*phrase):
                    return self.applied(Tree(" ".join(phrase)))
            self.i -= 1
        for phrase in REAL_SETS:
            if self.eat(*phrase):
                return Tree(" ".join(phrase[1:]))
        for sign, symbol in (("positive", "plus"), ("negative", "minus")):
            for phrase in REAL_SETS:  # R_+: "the positive real numbers"
                if self.eat("the", sign, *phrase[1:]):
                    return Tree("sub", (Tree(" ".join(phrase[1:])), Tree("idx", (Tree(symbol),))))
        if (self.peek(1) and self.peek(2) == "divergence") or self.peek(3) == "divergence":
            self.need("the")
            start = self.i
            while self.peek() and not self.at("divergence"):
                self.i += 1
            label = tuple(Tree(w) for w in self.words[start : self.i])
            self.need("divergence", "between")
            between = self.inside(lambda: Tree("args", self.item_list()))
            self.pause()
            return Tree("apply", (Tree("sub", (Tree("d"), Tree("idx", label))), *between.kids))
        raise Unheard(f"unknown phrase at word {self.i}: {self.rest()}")

    def attempt_norm(self) -> bool:
        start = self.i
        self.i += 1
        try:
            self.last = self.norm_phrase()
            return True
        except Unheard:
            self.i = start
            return False

    def cells(self) -> tuple[Tree, ...]:
        """Entries of a row or vector: "one, two", "x, y, and z"; a row ends at the next row."""
        items = [self.additive()]
        while True:
            start = self.i
            if self.eat(",", "and") or (
                self.at("and") and self.peek(2) != "row" and self.eat("and")
            ):
                if self.peek(1) == "row":
                    self.i = start
                    break
                items.append(self.additive())
                break
            if self.at(",") and self.peek(2) != "row" and self.peek(3) != "row":
                self.eat(",")
                nxt = self.attempt(self.additive)
                if nxt is not None:
                    items.append(nxt)
                    continue
            self.i = start
            break
        return tuple(items)

    def matrix_rows(self) -> Tree:
        rows = []
        while True:
            if not (self.peek() in ORDINAL_NUMBERS or self.peek() == "row"):
                raise Unheard(f"expected a row at word {self.i}: {self.rest()}")
            self.i += 1
            if self.peek() == "row":
                self.i += 1
            else:  # "row eleven"
                self.number()
            rows.append(Tree("row", self.cells()))
            start = self.i
            if (self.eat(",", "and") or self.eat("and") or self.eat(",")) and (
                self.peek() in ORDINAL_NUMBERS or self.peek() == "row"
            ):
                continue
            self.i = start
            return Tree("matrix", tuple(rows))

    def nth_item(self) -> Tree:
        """x^{(i)}: "the i th x"."""
        self.need("the")
        if self.peek() in ORDINAL_NUMBERS:
            order = Tree(ORDINAL_NUMBERS[self.peek()])
            self.i += 1
        else:
            order = self.index_atom()
            self.need("th")
        return Tree("supidx", (self.index_atom_chain(), order))

    def nth_derivative(self) -> Tree:
        """f^{(n)}: "the n th derivative of f"."""
        self.need("the")
        if self.peek() in ORDINAL_NUMBERS:
            order = Tree(ORDINAL_NUMBERS[self.peek()])
            self.i += 1
        else:
            order = self.without_application(self.additive_in_script)
            self.need("th")
        self.need("derivative", "of")
        return Tree("supidx", (self.index_atom_chain(), order))

    def norm_phrase(self) -> Tree:
        start = self.i
        while not self.at("norm"):
            if self.i - start > 3 or self.peek() in ("", "of", "over", "the"):
                raise Unheard("no norm")  # "the max over the norm of" names no norm
            self.i += 1
        name = " ".join(self.words[start : self.i + 1])
        self.need("norm", "of")
        body = self.operand()
        if start == self.i - 2 - 0 and name == "norm":
            return Tree("norm", (body,))
        key = next((k for v, k in NORM_WORDS.items() if v.lower() == name), None)
        if name == "norm":
            return Tree("norm", (body,))
        if key is None:
            words = name.removesuffix(" norm").removeprefix("l ").split()
            return Tree("norm", (body, Tree(" ".join(words))))
        sub = (
            Tree(V.number_words(key))
            if key.isdigit()
            else Tree(key.lower() if len(key) == 1 else V.SYMBOLS.get(key, key))
        )
        return Tree("norm", (body, sub))

    def derivative_phrase(self) -> Tree:
        self.need("the")
        order = NONE
        if self.peek() in ORDINAL_NUMBERS:
            order = Tree(ORDINAL_NUMBERS[self.peek()])
            self.i += 1
        head = "partial" if self.eat("partial") else "d"
        self.need("derivative")
        if self.eat("of"):  # the n th derivative of f
            raise Unheard("derivative of")
        self.need("with", "respect", "to")
        variables = [self.index_atom_chain()]
        while self.eat("and"):
            variables.append(self.index_atom_chain())
        self.need("of")
        return Tree(head, (order, self.operand(), *variables))

    def normal(self, kind: str, x: Tree | None = None) -> Tree:
        self.need("with", "mean")
        self.in_mean += 1
        try:
            mean = self.inside(self.additive)
        finally:
            self.in_mean -= 1
        paused = self.eat(",") or self.words[self.i - 1] == ","
        if not (self.eat("and") or paused):  # "with mean mu and covariance", "x sub i, and"
            raise Unheard(f"expected the spread at word {self.i}: {self.rest()}")
        if not any(self.eat(spread) for spread in SPREADS):
            raise Unheard("variance")
        spread = self.inside(self.additive)  # "covariance beta t times I"
        args = (mean, spread) if x is None else (x, mean, spread)
        # the normal distribution is capital N (uncased to "n" where no small n is in sight)
        return Tree("apply", (Tree("capital n"), *args))

    def applied(self, head: Tree) -> Tree:
        """A named function after "the": "the log of x", "the log base two of", "the max over"."""
        if self.eat("base"):
            head = Tree("sub", (head, Tree("idx", (self.index_atom(),))))
        elif self.eat("over"):
            lower = self.big_lower()
            if head.head in LIMIT_WORDS:
                self.pause()
                self.need("of")
                body = self.inside(self.product)
                self.pause()
                return Tree("big " + head.head, (lower, NONE, body))
            head = Tree("sub", (head, Tree("idx", split_index(lower))))
            self.pause()
        if self.eat("of"):
            return Tree("apply", (head, *self.arguments()))
        return head

    def big(self, name: str) -> Tree:
        lower = upper = NONE
        if self.eat("from"):
            lower = self.big_lower()
            self.need("to")
            upper = self.no_apply_additive()
            if self.at(",", "with") and self.peek(2) not in ("respect", "parameters"):
                self.i += 2  # \substack{i=1 \\ j \neq i}: "from i equals one to n, with ..."
                conditions = self.without_application(self.bound)
                lower = Tree("seq", (lower, Tree(","), *separated(split_index(conditions))))
        elif self.eat("over") or self.eat("as"):
            lower = self.big_lower()
        elif self.eat("up", "to"):
            upper = self.no_apply_additive()
        self.pause()
        if not self.eat("of"):
            return Tree("big " + name, (lower, upper, NONE))
        if self.peek() == "d" and "integral" in name:
            return Tree("big " + name, (lower, upper, NONE, *self.differentials()))
        integral = "integral" in name
        self.integral += integral
        try:
            body = self.inside(self.product)
        finally:
            self.integral -= integral
        diffs: tuple[Tree, ...] = ()
        if integral and (self.at(",", "d") or self.at("d")):
            self.eat(",")
            diffs = self.differentials()
        else:
            self.pause()
        return Tree("big " + name, (lower, upper, body, *diffs))

    def differentials(self) -> tuple[Tree, ...]:
        out = []
        while self.eat("d"):
            out.append(self.index_atom_chain())
        return tuple(out)

    def big_lower(self) -> Tree:
        start = self.i
        # a bound that holds an application ends with a pause: "over i in N k of x, of ..."
        applied = self.attempt(self.bound)
        closed = self.at(",", "of") or (self.at("of") and self.words[self.i - 1] == ",")
        if applied is not None and closed:
            return applied
        self.i = start
        return self.without_application(self.bound)

    def bound(self) -> Tree:
        """A big operator's bound: "i equals one", "i and j", "t, x zero, and epsilon"."""
        items = [self.relation_in_script()]
        while True:
            start = self.i
            if self.eat(",", "and") or self.eat("and"):
                items.append(self.relation_in_script())
                break
            if self.eat(","):
                nxt = self.attempt(self.relation_in_script)
                if nxt is not None and (self.at(",") or self.at("and")):
                    items.append(nxt)
                    continue
            self.i = start
            break
        if len(items) == 1:
            return items[0]
        kids: list[Tree] = [items[0]]
        for item in items[1:]:
            kids += [Tree(","), item]
        return Tree("seq", tuple(kids))

    def argument_item(self) -> Tree:
        return self.relation_in_script(pause_ends=True)

    def relation_in_script(self, pause_ends: bool = False) -> Tree:
        first = self.additive()
        kids = [first]
        while True:
            if pause_ends and self.words[self.i - 1] == ",":
                break  # "q of x given x sub t minus one, equals": the pause closed the list
            rel = None
            for length in (6, 5, 4, 3, 2, 1):
                phrase = tuple(self.words[self.i : self.i + length])
                if phrase in RELATIONS and phrase != ("to",):
                    rel = RELATIONS[phrase]
                    self.i += length
                    break
            if rel is None:
                break
            kids += [Tree(rel), self.additive()]
        if len(kids) == 1:
            return first
        return Tree("rel", tuple(kids))

    def no_apply_additive(self) -> Tree:
        self.no_apply += 1
        try:
            return self.additive()
        finally:
            self.no_apply -= 1

    def operand(self) -> Tree:
        """What an operator reads: the quantity, or one tight term."""
        if self.at("the", "quantity"):
            tree = self.postfixed()
            return tree
        if self.eat("minus"):
            return Tree("neg", (self.tight(),))
        return self.tight()

    def arguments(self) -> tuple[Tree, ...]:
        """One tight term or "the quantity ..."; or a list (each item may be a sum), which
        ends at a pause."""
        start = self.i
        listed = self.attempt(lambda: self.inside(self.argument_list))
        if (listed is not None and len(listed.kids) > 1) or (
            listed is not None and listed.kids[0].head in ("given", "parameter")
        ):
            self.pause()
            return listed.kids
        self.i = start
        return (self.operand(),)

    def argument_list(self) -> Tree:
        items = self.item_list(arguments=True)
        out: list[Tree] = list(items)
        if self.eat("given"):
            given = self.item_list(arguments=True)
            out[-1] = Tree("given", (out[-1], *given))
        if len(out) == 1 and out[0].head != "given" and not self.at(",", "with"):
            raise Unheard("one argument")
        if self.at(",", "with", "parameters") or self.at("with", "parameters"):
            self.eat(",")
            self.need("with", "parameters")
            out.extend(Tree("parameter", (p,)) for p in self.item_list())
        return Tree("args", tuple(out))

    def item_list(
        self, tight: bool = False, paired: bool = False, arguments: bool = False
    ) -> tuple[Tree, ...]:
        """Items "x", "x and y", "x, y, and z"; a function's arguments (`arguments`) end at a
        pause that closed the last one."""
        item: Callable[[], Tree] = self.operand if tight else self.relation_in_script
        if arguments:
            item = self.argument_item
        first = self.i
        items = [item()]
        quantity = self.words[first : first + 2] == ["the", "quantity"]
        if arguments and quantity and self.words[self.i - 1] == ",":
            return tuple(items)  # the quantity and its pause: one operand, not a list
        chained = False  # "f of g of x, and y, and z": every item after a pause and "and"
        while True:
            start = self.i
            if self.eat(",", "and", "so", "on", "up", "to"):
                items += [Tree("dots"), item()]
                break
            if self.eat("through"):
                items += [Tree("dots"), item()]
                break
            if self.at(",", "and") and not (paired or chained):
                if holds_application(items[-1]):
                    chained = True  # "f of g of x, and y": the pause closed g's argument
                elif len(items) == 1:
                    break  # "given x, and p of z": two items are "x and y"; the pause closes
            if chained:
                if not self.eat(",", "and"):
                    break
                items.append(item())
                continue
            if self.in_mean and any(self.at("and", spread) for spread in SPREADS):
                break  # "with mean mu of x and covariance ...": the spread, not an item
            if self.eat(",", "and") or self.eat("and"):
                items.append(item())
                break
            if self.eat(","):
                nxt = self.attempt(item)
                if nxt is not None and self.at(","):  # "x, y, and z": never "x, y and z"
                    items.append(nxt)
                    continue
            self.i = start
            break
        return tuple(items)


# what follows "to the" in "the ratio of A to the quantity B" (never a power)
RATIO_ENDS = frozenset(
    {"quantity", "square", "cube", "sum", "product", "ratio", "absolute", "norm"}
)
RELATION_STARTS = frozenset(phrase[0] for phrase in RELATIONS)
SPREADS = ("variance", "covariance")
QUANTIFIERS = tuple(V.SYMBOLS[q] for q in ("forall", "exists", "nexists"))
ADD_FIRST = frozenset({"plus", "minus", "union", "intersect", "set"})
FUNCTION_FIRST = frozenset(w.split()[0] for w in FUNCTION_WORDS if " " in w)
FUNCTION_PHRASES = sorted((tuple(w.split()) for w in FUNCTION_WORDS), key=len, reverse=True)
MULTIWORD_NAMES = [p for p in FUNCTION_PHRASES if len(p) > 1]
BIG_PHRASES = [tuple(w.split()) for w in BIG_WORDS] + [("limit",)]
REAL_SETS = [tuple(v.split()) for v in V.BLACKBOARD.values() if v.split()[0] == "the"]


def strip(tree: Tree) -> Tree:
    """A closed group ("the quantity ...") is just its content once it has an operator on it."""
    while tree.head == GROUP and tree.kids:
        tree = tree.kids[0]
    return tree


def holds_application(tree: Tree) -> bool:
    """Whether an item holds a function applied to an argument outside a closed group: the
    argument could have taken the words that follow, so a pause ended it."""
    if tree.head == GROUP:
        return False
    return tree.head == "apply" or any(holds_application(k) for k in tree.kids)


def closed_list(tree: Tree, hearing: Hearing) -> bool:
    """An application whose list of arguments a pause has just closed ("q of z given x, of
    ..."): the "of" that follows belongs to what encloses it, not to a second application."""
    return tree.head == "apply" and hearing.i > 0 and hearing.words[hearing.i - 1] == ","


def flat(tree: Tree) -> Tree:
    """A sum or product whose first term is one of the same kind, as one: (+ (+ a b) c) is
    (+ a b c), as the LaTeX parser writes it."""
    if tree.head in ("+", "*") and tree.kids and tree.kids[0].head == tree.head:
        return Tree(tree.head, tree.kids[0].kids + tree.kids[1:])
    return tree


def flat_product(factors: list[Tree]) -> Tree:
    flat: list[Tree] = []
    for f in factors:
        f = strip(f)
        flat.extend(f.kids if f.head == "*" else (f,))
    return flat[0] if len(flat) == 1 else Tree("*", tuple(flat))


def separated(items: tuple[Tree, ...]) -> tuple[Tree, ...]:
    """Items with a comma between each two, as a sequence's kids."""
    out: list[Tree] = []
    for item in items:
        out += [Tree(","), item] if out else [item]
    return tuple(out)


def split_index(expr: Tree) -> tuple[Tree, ...]:
    if expr.head == "seq":
        return tuple(k for k in expr.kids if k.head != ",")
    return expr.kids if expr.head == "*" else (expr,)


def unquantify(tree: Tree) -> Tree:
    """Drop the group markers: the tree holds the grouping."""
    kids = tuple(unquantify(k) for k in tree.kids)
    if tree.head == GROUP:
        return kids[0]
    if tree.head in ("*", "+"):
        flat: list[Tree] = []
        for k in kids:
            flat.extend(k.kids if k.head == tree.head else (k,))
        return Tree(tree.head, tuple(flat))
    return Tree(tree.head, kids)


def hear(text: str) -> Tree:
    """The tree a listener builds from a reading; raises Unheard if the words do not parse."""
    return unquantify(Hearing(text).parse())


def uncased(tree: Tree, cased: frozenset[str]) -> Tree:
    """ "capital x" is just x when the equation has no small x (case is then not heard)."""
    head = tree.head
    if head.startswith("capital ") and len(head) == 9 and head[-1] not in cased:
        head = head[-1]
    return Tree(head, tuple(uncased(k, cased) for k in tree.kids))


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """An equation's reading, the tree heard from it and the tree of its LaTeX."""

    latex: str
    reading: str
    heard: Tree | None
    expected: Tree
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.heard == self.expected


def round_trip(latex: str, reading: str | None = None) -> RoundTrip:
    """Read an equation (or take a given reading), hear it back and compare with its LaTeX."""
    from . import verbalize  # the package imports this module's users, not the reverse

    tree = Parser(latex).parse()
    cased = both_cases(tree)
    expected = unquantify(Canonical(cased).tree(tree))
    text = verbalize(latex) if reading is None else reading
    try:
        heard = uncased(hear(text), cased)
    except Unheard as problem:
        return RoundTrip(latex, text, None, expected, str(problem))
    return RoundTrip(latex, text, heard, expected)
