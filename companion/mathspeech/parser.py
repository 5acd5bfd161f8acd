"""Recursive-descent parser: LaTeX tokens to a math tree (see nodes.py)."""

from __future__ import annotations

from companion.errors import MathSpeechError

from . import vocabulary as V
from .environments import EnvironmentParser
from .lexer import (
    AMP,
    CMD,
    EOF,
    LBRACE,
    LETTER,
    NEWLINE,
    NULL_LEFT,
    NULL_RIGHT,
    NUM,
    PRIME,
    RBRACE,
    SUB,
    SUP,
    SYM,
    TEXT,
    Token,
    fail,
    tokenize,
)
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
    derivative,
    is_index_sup,
    is_label_sup,
    name_words,
    script_word,
)

ANY_CLOSER = "*"  # what \left. waits for: whichever \right comes
_LOOKAHEAD = 4  # the parser peeks at most this many tokens ahead
_OPENERS = {
    "(": ")",
    "[": "]",
    "\\{": "\\}",
    "|": "|",
    "‖": "‖",
    "langle": "rangle",
    "lfloor": "rfloor",
    "lceil": "rceil",
    NULL_LEFT: ANY_CLOSER,
}
_CLOSERS = frozenset({")", "]", "\\}", "rangle", "rfloor", "rceil", NULL_RIGHT})
# symbols that stand alone as a script: x^+, [x]_+, z^\star, x^\dagger, v^\perp
_SCRIPT_SYMBOLS = {
    "+": "+",
    "-": "-",
    "*": "ast",
    "ast": "ast",
    "star": "star",
    "dagger": "dagger",
    "prime": "prime",
    "circ": "circ",
    "perp": "perp",
    "bot": "perp",
    "times": "times",
    "top": "top",
    "intercal": "intercal",
}
# commands that decorate a relation or a symbol with a label above or below
_STACKS = frozenset({"overset", "underset", "stackrel"})
# a symbol set over a letter that draws an accent: the accent's name ("x ring", never
# "x circle", which is heard as the subscript x_circ)
_DRAWN_ACCENTS = {"circ": "ring", "sim": "tilde"}
_ARROWS = {
    "xrightarrow": "rightarrow",
    "xleftarrow": "leftarrow",
    "xRightarrow": "Rightarrow",
    "xmapsto": "mapsto",
}
# commands whose argument is read and whose other arguments are dropped
_PASS_THROUGH = frozenset(
    {
        "boxed",
        "cancel",
        "bcancel",
        "xcancel",
        "smash",
        "mathclap",
        "mathllap",
        "mathrlap",
        "clap",
        "llap",
        "rlap",
        "ensuremath",
        "fbox",
    }
)
_DROPPED = frozenset({"hspace", "vspace", "phantom", "hphantom", "vphantom", "label", "tag"})
# words between an objective and its constraint, as in \\min f(w) \\text{ s.t. } g(w) \\le 0:
# they separate like a colon ("such that"), never multiply
_CLAUSE_TEXTS = frozenset({"s.t.", "s.t", "st", "such that"})


def is_clause_text(tok: Token) -> bool:
    return tok.kind == TEXT and " ".join(tok.value.split()).lower() in _CLAUSE_TEXTS


_SEPARATORS = frozenset({",", ";", ":", "|", "‖", "mid", "colon", "vert", "Vert"})
# commands that never start a factor: operators, relations, separators, closers
_NOT_FACTORS = frozenset(
    {*_ARROWS, *V.RELATIONS, *V.ADD_OPS, *V.MUL_OPS, *_SEPARATORS, *_CLOSERS, "end", "not"}
)
_SCRIPT_KINDS = frozenset({SUB, SUP, PRIME})
_FACTOR_KINDS = frozenset({LETTER, NUM, LBRACE, TEXT})  # token kinds that start a factor
_FACTOR_SYMBOLS = frozenset({"(", "[", "\\{", "‖", "|", NULL_LEFT})  # symbols that do
_SEQ_ENDS = frozenset({RBRACE, EOF, AMP, NEWLINE})  # token kinds that end a sequence
_FRACS = frozenset({"frac", "dfrac", "tfrac", "cfrac"})
_BINOMS = frozenset({"binom", "dbinom", "tbinom"})
FUNCTION_LETTERS = V.FUNCTION_LETTERS
FUNCTION_GREEK = V.FUNCTION_GREEK


class Parser(EnvironmentParser):
    """Parses one LaTeX math string; raises MathSpeechError naming the input and position."""

    def __init__(
        self, latex: str, strict: bool = False, functions: frozenset[str] = frozenset()
    ) -> None:
        self.src = latex
        self.toks: list[Token] = tokenize(latex)
        self.toks += [self.toks[-1]] * _LOOKAHEAD  # peek(k) past the end sees EOF
        self.i = 0
        self.closers: list[str] = []
        self.integral = 0
        self.strict = strict
        self.warnings: list[str] = []
        self.functions = functions
        self.in_set = False  # parsing the set after a membership relation
        if ":" in latex or "colon" in latex:
            self.functions |= declared_functions(self.toks)

    def degrade(self, message: str, fallback: str = "read as its argument") -> None:
        """Unsupported input: an error in strict mode, else a warning and a best reading."""
        if self.strict:
            raise self.error(message)
        self.warnings.append(f"{fail(self.src, message)}; {fallback}")

    # ----------------------------------------------------------------- helpers
    def peek(self, k: int = 0) -> Token:
        return self.toks[self.i + k]

    def take(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind != EOF:
            self.i += 1
        return tok

    def error(self, message: str) -> MathSpeechError:
        return fail(self.src, message)

    def unexpected(self, tok: Token) -> MathSpeechError:
        if tok.kind == EOF:
            return self.error(f"unexpected end of input at position {tok.pos}")
        shown = "\\" + tok.value if tok.kind == CMD else tok.value
        return self.error(f"unexpected {shown!r} at position {tok.pos}")

    def is_sym(self, tok: Token, *values: str) -> bool:
        return tok.kind == SYM and tok.value in values

    def is_cmd(self, tok: Token, *names: str) -> bool:
        return tok.kind == CMD and tok.value in names

    # ----------------------------------------------------------------- stop tests
    def ends_seq(self, tok: Token) -> bool:
        kind, value = tok.kind, tok.value
        if kind in _SEQ_ENDS:
            return True
        if kind == CMD:
            return value in _CLOSERS or value == "end"
        if kind != SYM:
            return False
        if value in _CLOSERS:
            return True
        return (
            value in ("|", "‖") and bool(self.closers) and self.closers[-1] in (value, ANY_CLOSER)
        )

    def at_eval_bar(self) -> bool:
        """A bar with limits and no open bar: f(x)|_{x=0}, \\Big|_a^b (evaluated at)."""
        tok = self.toks[self.i]
        return (
            tok.value == "|"
            and tok.kind == SYM
            and self.toks[self.i + 1].kind in (SUB, SUP)
            and not (self.closers and self.closers[-1] in ("|", ANY_CLOSER))
        )

    def is_separator(self, tok: Token) -> bool:
        return tok.value in _SEPARATORS and tok.kind in (SYM, CMD) and not self.ends_seq(tok)

    def is_relation(self, tok: Token) -> bool:
        if tok.kind == SYM:
            return tok.value in ("=", "<", ">", ":=")
        if tok.kind != CMD:
            return False
        if tok.value in _STACKS:
            return self.stacked_relation() is not None
        return tok.value in V.RELATIONS or tok.value == "not" or tok.value in _ARROWS

    def stacked_relation(self) -> Token | None:
        """At \\overset{label}{=}: the relation token under the label, else None."""
        j = self.i + 1
        if self.toks[j].kind != LBRACE:
            return None
        depth = 0
        while True:
            kind = self.toks[j].kind
            depth += (kind == LBRACE) - (kind == RBRACE)
            j += 1
            if depth == 0 or kind == EOF:
                break
        if self.toks[j].kind != LBRACE or self.toks[j + 2].kind != RBRACE:
            return None
        rel = self.toks[j + 1]
        if rel.kind == SYM and rel.value in ("=", "<", ">", ":="):
            return rel
        if rel.kind == CMD and rel.value in V.RELATIONS:
            return rel
        return None

    def take_relation(self) -> tuple[str, Node | None]:
        """Consume one relation: its key in vocabulary.RELATIONS and a label set above it."""
        tok = self.take()
        if tok.kind == CMD and tok.value in _STACKS:
            label: Node | None = self.group()
            self.take()  # the braces around the relation (checked by stacked_relation)
            under = self.take()
            self.take()
            return under.value, label
        if tok.kind == CMD and tok.value in _ARROWS:
            label = self.group() if self.peek().kind == LBRACE else None
            return _ARROWS[tok.value], label
        rel = tok.value
        if rel == "not":
            nxt = self.take()
            if not self.is_relation(nxt) or nxt.value == "not":
                raise self.error(f"\\not must precede a relation (at position {tok.pos})")
            rel = "not" + nxt.value
        if rel == "perp" and self.is_cmd(self.peek(), "perp"):  # \perp\!\!\!\perp
            self.take()
            rel = "independent"
        return rel, None

    def is_add_op(self, tok: Token) -> bool:
        if tok.kind == SYM:
            return tok.value in ("+", "-")
        return tok.kind == CMD and tok.value in V.ADD_OPS

    def is_mul_op(self, tok: Token) -> bool:
        if tok.kind == SYM:
            return tok.value in ("/", "*")
        return tok.kind == CMD and tok.value in V.MUL_OPS

    def starts_factor(self, tok: Token) -> bool:
        kind = tok.kind
        if kind in _FACTOR_KINDS:
            return kind != TEXT or not is_clause_text(tok)
        if kind == SYM:
            return tok.value in _FACTOR_SYMBOLS
        if kind == CMD:
            name = tok.value
            if name in _STACKS and tok is self.peek():
                return self.stacked_relation() is None
            return name not in _NOT_FACTORS
        return False

    def at_differential(self) -> bool:
        tok = self.peek()
        if tok.kind == LETTER and tok.value == "d":
            nxt = self.peek(1)
            return nxt.kind == LETTER or (
                nxt.kind == CMD and (nxt.value in V.GREEK or nxt.value in V.FONTS)
            )
        if self.is_cmd(tok, "mathrm", "text", "operatorname"):
            return (
                self.peek(1).kind == LBRACE
                and self.peek(2).value == "d"
                and self.peek(3).kind == RBRACE
            )
        return False

    # ----------------------------------------------------------------- grammar
    def parse(self) -> Node:
        node = self.seq()
        tok = self.peek()
        if tok.kind != EOF:
            raise self.unexpected(tok)
        return node

    def seq(self) -> Node:
        items: list[Node | None] = [self.relation()]
        seps: list[str] = []
        while self.is_separator(self.toks[self.i]) or is_clause_text(self.toks[self.i]):
            sep = self.take()
            seps.append(":" if sep.kind == TEXT else sep.value)
            if self.ends_seq(self.toks[self.i]):
                items.append(None)
                break
            items.append(self.relation())
        tok = self.toks[self.i]
        if tok.kind == SYM and tok.value == ".":
            self.take()
        if len(items) == 1:
            return items[0] if items[0] is not None else Empty()
        return Seq(tuple(items), tuple(seps))

    def relation(self) -> Node | None:
        tok = self.toks[self.i]
        first = None if self.is_relation(tok) else self.additive()
        if not self.is_relation(self.toks[self.i]):
            return first
        parts: list[Node | None] = [first]
        rels: list[str] = []
        labels: list[Node | None] = []
        while self.is_relation(self.peek()):
            rel, label = self.take_relation()
            rels.append(rel)
            labels.append(label)
            nxt = self.peek()
            if (
                self.ends_seq(nxt)
                or self.is_relation(nxt)
                or (self.is_separator(nxt) and not self.is_sym(nxt, "|", "‖"))
            ):
                parts.append(None)
            elif rel in V.MEMBERSHIP_RELATIONS:
                # the operand is a set: N_k(x) there is a neighbourhood of x, not a product
                outer, self.in_set = self.in_set, True
                parts.append(self.additive())
                self.in_set = outer
            else:
                parts.append(self.additive())
        if labels.count(None) < len(labels):
            return Relation(tuple(parts), tuple(rels), tuple(labels))
        return Relation(tuple(parts), tuple(rels))

    def additive(self) -> Node:
        sign = ""
        if self.is_add_op(self.toks[self.i]):
            sign = self.take().value
        node = self.operand_after(sign)
        if sign or self.is_add_op(self.toks[self.i]):
            terms, ops = [node], [sign]
            while self.is_add_op(self.toks[self.i]):
                ops.append(self.take().value)
                terms.append(self.operand_after(ops[-1]))
            node = Sum(tuple(terms), tuple(ops))
        if self.toks[self.i].value == "|" and self.at_eval_bar():
            bar = self.take()
            return self.scripted(Fenced(NULL_LEFT, bar.value, node))
        return node

    def operand_after(self, op: str) -> Node:
        tok = self.toks[self.i]
        if (
            not self.starts_factor(tok)
            and not self.is_sym(tok, "|", "-", "+")
            and tok.kind != TEXT  # a clause word with nothing before it is just a word
        ):
            if op:
                raise self.error(f"missing operand after {op!r} at position {tok.pos}")
            raise self.unexpected(tok)
        return self.term()

    def term(self) -> Node:
        factors: list[Node] = [self.factor()]
        ops: list[str] = []
        while True:
            tok = self.toks[self.i]
            if tok.kind in _SEQ_ENDS:  # nothing below takes a "}", "&", a row break or the end
                break
            if self.integral and self.at_differential():
                break
            if tok.value == "|" and self.at_eval_bar():  # f(x)|_{x=a}: evaluated at
                self.take()
                body = factors[0] if len(factors) == 1 else Product(tuple(factors), tuple(ops))
                factors, ops = [self.scripted(Fenced(NULL_LEFT, "|", body))], []
                continue
            if self.is_mul_op(tok):
                self.take()
                nxt = self.toks[self.i]
                if not (self.starts_factor(nxt) or self.is_sym(nxt, "|", "-")):
                    raise self.error(f"missing operand after {tok.value!r} at position {nxt.pos}")
                ops.append(tok.value)
                factors.append(self.factor())
            elif self.starts_factor(tok) and not (
                self.is_sym(tok, "|", "‖")
                and self.closers
                and self.closers[-1] in (")", "]", "|", "‖", "\\}", ANY_CLOSER)
            ):
                ops.append("")
                factors.append(self.factor())
            elif self.is_sym(tok, "‖") and self.closers and self.closers[-1] in (")", "]"):
                norm = self.attempt_factor()  # exp(-gamma ||x - y||^2); else D(p || q)
                if norm is None:
                    break
                ops.append("")
                factors.append(norm)
            else:
                break
        if len(factors) == 1:
            return factors[0]
        return Product(tuple(factors), tuple(ops))

    def attempt_factor(self) -> Node | None:
        """A factor if one parses here, else None with the position unchanged: a double bar
        inside parentheses is a norm when it closes, a separator (p || q) when it does not."""
        start, closers, integral = self.i, list(self.closers), self.integral
        try:
            return self.factor()
        except MathSpeechError:
            self.i, self.closers, self.integral = start, closers, integral
            return None

    def factor(self) -> Node:
        tok = self.toks[self.i]
        if tok.kind == SYM and tok.value in ("-", "+"):
            self.take()
            return Sum((self.factor(),), (tok.value,))
        start = tok
        node = self.scripted(self.atom())
        if isinstance(node, Num) or (
            isinstance(node, Sym) and node.kind == "latin" and self.toks[self.i].kind != SYM
        ):
            return node  # the commonest factors: nothing below applies to them
        base = node.base if isinstance(node, Scripts) else node
        if isinstance(base, Sym) and base.kind == "bigop":
            return self.big_op(base.name, node)
        if (
            isinstance(base, Name)
            and base.name in V.LIMIT_FUNCTIONS
            and isinstance(node, Scripts)
            and node.sub is not None
        ):
            body = self.term() if self.starts_factor(self.peek()) else None
            return BigOp(base.name, node.sub, node.sup, body)
        while self.applies(node):
            open_tok = self.take()
            node = self.scripted(Apply(node, self.fenced(open_tok)))
        if isinstance(base, Deriv) and base.func is None:
            if self.starts_factor(self.peek()):
                return Prefix(node, self.term())
            return node
        if (
            self.is_prefix(base)
            and self.starts_factor(self.peek())
            and not self.is_sym(self.peek(), "|", "‖")
            and not isinstance(node, Apply)
        ):
            return Prefix(node, self.factor())
        if node is None:  # pragma: no cover
            raise self.unexpected(start)
        return node

    def is_prefix(self, base: Node) -> bool:
        if isinstance(base, Sym):
            return base.name == "nabla"
        if isinstance(base, Name):
            return base.name in V.FUNCTIONS
        if isinstance(base, Font) and base.style == "blackboard":
            return isinstance(base.body, Sym) and base.body.name in V.BLACKBOARD_FUNCTIONS
        return False

    def applies(self, node: Node) -> bool:
        """Whether node followed by the next token is a function application."""
        tok = self.toks[self.i]
        if tok.kind != SYM:
            return False
        if tok.value == "\\{":  # \mathbb{1}\{y = k\}
            return node == Font("blackboard", Sym("1", "symbol"))
        if tok.value not in ("(", "["):
            return False
        bracket = tok.value == "["
        base = node
        if isinstance(node, Fenced):  # (f * g)(t), (f \circ g)(x)
            body = node.body
            return (
                not bracket
                and isinstance(body, Product)
                and bool(body.ops)
                and all(op in V.FUNCTION_COMBINATORS for op in body.ops)
            )
        if isinstance(node, Scripts):
            if node.primes:
                return not bracket
            plain = node.base.body if isinstance(node.base, Accent) else node.base
            if (
                node.sub is not None
                and node.sup is None
                and bracket
                and isinstance(plain, Sym)
                and plain.name == "D"
            ):  # D_{KL}[q || p]
                return True
            if node.sup is not None and not (
                isinstance(node.sup, Sum)
                or is_label_sup(plain, node.sup)
                or is_index_sup(node.sup)
                or (isinstance(node.sup, Sym) and node.sup.kind in ("greek", "Greek"))
            ):
                if (
                    isinstance(node.sup, Num)
                    and isinstance(plain, Sym)
                    and (plain.name in FUNCTION_GREEK or plain.name in "fgh")
                ):
                    return not bracket  # sigma^2(x): the variance function
                return isinstance(node.base, (Name, Font)) and self.is_function_base(
                    node.base, True
                )
            base = node.base
        if isinstance(base, Accent):
            base = base.body
        return self.is_function_base(base, bracket)

    def is_function_base(self, base: Node, bracket: bool) -> bool:
        if isinstance(base, Name):
            return True
        if isinstance(base, Text):  # \text{FFN}(x): a one-word name
            return base.text.isalnum()
        if isinstance(base, Font):
            if base.style in ("blackboard", "script"):
                return True
            base = base.body
        if bracket:
            if (
                isinstance(base, Sym)
                and base.kind == "latin"
                and base.name.isupper()
                and (base.name in FUNCTION_LETTERS and base.name != "E")
            ):
                return self.argument_is_list()  # U[a, b]
            return isinstance(base, Sym) and base.kind == "latin" and base.name == "E"
        if isinstance(base, Sym):
            if base.name in self.functions:
                return True
            if base.kind == "latin" and base.name in FUNCTION_LETTERS:
                return True
            if base.kind in ("greek", "Greek", "symbol") and base.name in FUNCTION_GREEK:
                return True
            if base.name in V.WEAK_FUNCTION_GREEK:
                return not self.argument_is_sum()
            if base.kind not in ("latin", "greek", "Greek"):
                return False
            if base.kind == "latin" and base.name.isupper():
                # a matrix times a vector, W(x): unless it takes several arguments, A(s, a),
                # or names a set, i in N(x)
                return self.in_set or self.argument_is_list()
            return not self.argument_is_sum()
        return False

    def argument_is_list(self) -> bool:
        """Look ahead inside the parenthesis: a top-level comma or bar means arguments."""
        depth = 0
        for tok in self.toks[self.i :]:
            kind, value = tok.kind, tok.value
            if kind == LBRACE or (kind == SYM and value in ("(", "[")):
                depth += 1
            elif kind == RBRACE or (kind == SYM and value in (")", "]")):
                depth -= 1
                if depth == 0:
                    return False
            elif depth == 1 and (
                (kind == SYM and value in (",", ";", "|")) or (kind == CMD and value == "mid")
            ):
                return True
        return False

    def argument_is_sum(self) -> bool:
        """Look ahead inside the parenthesis: a top-level + or - means multiplication."""
        depth = 0
        for tok in self.toks[self.i :]:
            kind, value = tok.kind, tok.value
            if kind == LBRACE or (kind == SYM and value in ("(", "[")):
                depth += 1
            elif kind == RBRACE or (kind == SYM and value in (")", "]")):
                depth -= 1
                if depth == 0:
                    return False
            elif depth == 1 and self.is_add_op(tok):
                return True
        return False

    def scripted(self, node: Node) -> Node:
        tok = self.toks[self.i]
        if tok.kind not in _SCRIPT_KINDS and not (tok.kind == SYM and tok.value == "!"):
            return node  # the commonest case: nothing follows
        sub: Node | None = None
        sup: Node | None = None
        primes = 0
        inner: Node | None = None  # a braced group with its own scripts: {x^{(i)}}^T
        if isinstance(node, Scripts) and not node.primes and self.toks[self.i].kind in (SUB, SUP):
            inner = node
            sub, sup = node.sub, node.sup  # \underset{x}{\max}_{...}
            node = node.base
        while True:
            tok = self.toks[self.i]
            if tok.kind in (SUB, SUP):
                self.take()
                arg = self.script_arg(tok)
                taken = sub if tok.kind == SUB else sup
                if taken is not None and inner is not None:
                    # the group's own script is taken: the new one scripts the whole group
                    node, sub, sup, inner = inner, None, None, None
                    taken = None
                if taken is not None:
                    where = "subscript" if tok.kind == SUB else "superscript"
                    raise self.error(f"double {where} at position {tok.pos}")
                if tok.kind == SUB:
                    sub = arg
                else:
                    sup = arg
            elif tok.kind == PRIME:
                self.take()
                primes += 1
            elif tok.kind == SYM and tok.value == "!":
                self.take()
                if sub is not None or sup is not None or primes:
                    node = Scripts(node, sub, sup, primes)
                    sub = sup = None
                    primes = 0
                node = Factorial(node)
            else:
                break
        if sub is None and sup is None and not primes:
            return node
        return Scripts(node, sub, sup, primes)

    def script_arg(self, op: Token) -> Node:
        tok = self.peek()
        if tok.kind == LBRACE:
            return wordify(self.group(), op.kind == SUP)
        if tok.kind == NUM:
            self.take()
            if len(tok.value) > 1:  # x^23 is x^2 3 in TeX
                self.i -= 1
                self.toks[self.i] = Token(NUM, tok.value[1:], tok.pos + 1)
                return Num(tok.value[0])
            return Num(tok.value)
        if tok.kind == LETTER:
            self.take()
            return Sym(tok.value, "latin")
        if self.is_sym(tok, "-", "+") and self.peek(1).kind in (NUM, LETTER):
            self.take()  # x^-1, lenient: read as x^{-1}
            inner = self.script_arg(op)
            return Sum((inner,), (tok.value,))
        symbol = self.script_symbol(tok)
        if symbol is not None:
            self.take()
            return symbol
        if tok.kind == CMD and self.starts_factor(tok):
            return self.atom()
        if tok.kind == PRIME:
            self.take()
            return Sym("prime", "symbol")
        where = "subscript" if op.kind == SUB else "superscript"
        raise self.error(f"missing {where} after {op.value!r} at position {tok.pos}")

    def script_symbol(self, tok: Token) -> Sym | None:
        """A symbol that stands alone as a script: + - * \\star \\dagger \\perp ..."""
        if tok.kind in (SYM, CMD) and tok.value in _SCRIPT_SYMBOLS:
            return Sym(_SCRIPT_SYMBOLS[tok.value], "symbol")
        return None

    def group(self) -> Node:
        open_tok = self.take()
        tok = self.toks[self.i]
        if self.toks[self.i + 1].kind == RBRACE and tok.kind in (LETTER, NUM):
            self.i += 2  # {x}, {2}: what the grammar below would give, without its descent
            return Sym(tok.value, "latin") if tok.kind == LETTER else Num(tok.value)
        saved, self.closers, self.integral = (self.closers, self.integral), [], 0
        symbol = self.script_symbol(self.peek())
        if symbol is not None and self.peek(1).kind == RBRACE:  # x^{+}, z^{\star}
            self.take()
            node: Node = symbol
        else:
            node = Empty() if self.peek().kind == RBRACE else self.seq()
        self.closers, self.integral = saved
        tok = self.peek()
        if tok.kind != RBRACE:
            if tok.kind == EOF:
                raise self.error(
                    f"unbalanced braces: '{{' at position {open_tok.pos} is never closed"
                )
            raise self.unexpected(tok)
        self.take()
        return node

    def fenced(self, open_tok: Token) -> Fenced:
        opener = open_tok.value
        closer = _OPENERS[opener]
        self.closers.append(closer)
        saved = self.integral
        self.integral = 0
        tok = self.peek()
        empty = tok.kind in (SYM, CMD) and (
            tok.value == closer
            or tok.value == NULL_RIGHT
            or (closer == ANY_CLOSER and tok.value in _CLOSERS | {"|", "‖"})
        )
        body = None if empty else self.seq()
        self.integral = saved
        self.closers.pop()
        tok = self.peek()
        intervals = opener in "([" and tok.value in (")", "]")
        matched = tok.kind in (SYM, CMD) and (
            tok.value in (closer, NULL_RIGHT)
            or (closer == ANY_CLOSER and tok.value in _CLOSERS | {"|", "‖"})
        )
        if not matched and not intervals:
            shown = "\\" + opener if open_tok.kind == CMD else opener
            if opener == NULL_LEFT:
                shown, closer = "\\left.", "\\right"
            raise self.error(
                f"missing {closer!r} for {shown!r} at position {open_tok.pos}"
                + ("" if tok.kind == EOF else f" (found {tok.value!r} at position {tok.pos})")
            )
        self.take()
        return Fenced(opener, tok.value, body)

    def argument(self, cmd: Token, index: int, total: int) -> Node:
        tok = self.peek()
        if tok.kind == LBRACE:
            return self.group()
        if tok.kind in (LETTER, NUM) or (tok.kind == CMD and self.starts_factor(tok)):
            if tok.kind == NUM and len(tok.value) > 1:
                self.toks[self.i] = Token(NUM, tok.value[1:], tok.pos + 1)
                return Num(tok.value[0])
            return self.atom()
        raise self.error(
            f"\\{cmd.value} needs {total} arguments, got {index} (at position {tok.pos})"
        )

    def atom(self) -> Node:
        tok = self.toks[self.i]
        if tok.kind == NUM:
            self.i += 1
            return Num(tok.value)
        if tok.kind == LETTER:
            self.i += 1
            if tok.value == "E" and self.is_sym(self.toks[self.i], "["):
                # E[X] in plain type is the expectation, as with \mathbb{E}[X]
                return Font("blackboard", Sym("E", "latin"))
            return Sym(tok.value, "latin")
        if tok.kind == LBRACE:
            return self.group()
        if tok.kind == TEXT:
            self.take()
            return Text(tok.value)
        if tok.kind == SYM and tok.value in _OPENERS:
            self.take()
            return self.fenced(tok)
        if tok.kind == CMD:
            return self.command()
        raise self.unexpected(tok)

    def command(self) -> Node:
        tok = self.take()
        name = tok.value
        if name in V.GREEK:
            return Sym(name, "greek")
        if name in V.GREEK_UPPER:
            return Sym(name, "Greek")
        if name in _FRACS:
            num = self.argument(tok, 0, 2)
            den = self.argument(tok, 1, 2)
            return derivative(num, den) or Frac(num, den)
        if name in _BINOMS:
            return Binom(self.argument(tok, 0, 2), self.argument(tok, 1, 2))
        if name == "sqrt":
            index = None
            if self.is_sym(self.peek(), "["):
                self.closers.append("]")
                self.take()
                index = self.seq()
                self.closers.pop()
                if not self.is_sym(self.peek(), "]"):
                    raise self.error(f"missing ']' for \\sqrt[ at position {tok.pos}")
                self.take()
            return Root(self.argument(tok, 0, 1), index)
        if name in V.ACCENTS:
            return Accent(V.ACCENTS[name], self.argument(tok, 0, 1))
        if name in V.FONTS:
            body = self.argument(tok, 0, 1)
            if V.FONTS[name] == "blackboard" and body == Num("1"):
                body = Sym("1", "symbol")  # \mathbb{1}: the indicator
            return Font(V.FONTS[name], body)
        if name in V.NAME_COMMANDS:
            if self.is_sym(self.peek(), "*"):
                self.take()
            return self.name_argument(tok)
        if name == "arg" and self.is_cmd(self.peek(), "max", "min"):
            return Name("arg" + self.take().value)
        if name in V.FUNCTIONS:
            return Name(name)
        if name in V.BIG_OPS:
            return Sym(name, "bigop")
        if name in V.SYMBOLS:
            return Sym(name, "symbol")
        if name in _OPENERS:
            return self.fenced(tok)
        if name == "begin":
            return self.environment(tok)
        if name in _STACKS:
            return self.stacked(tok)
        if name in ("underbrace", "overbrace"):
            body = self.argument(tok, 0, 1)
            if self.peek().kind in (SUB, SUP):  # the brace's label: read after the body
                self.take()
                return Seq((body, self.script_arg(tok)), ("brace",))
            return body
        if name == "substack":
            return self.substack(tok)
        if name in ("color", "textcolor", "colorbox"):
            self.argument(tok, 0, 2 if name != "color" else 1)  # the colour name
            if name == "color":
                return Empty()
            return self.argument(tok, 1, 2)
        if name in _PASS_THROUGH:
            return self.argument(tok, 0, 1)
        if name in _DROPPED:
            self.argument(tok, 0, 1)
            return Empty()
        self.degrade(f"unsupported command \\{name} at position {tok.pos}")
        if self.peek().kind == LBRACE:
            return self.group()
        return Name(name)

    def stacked(self, cmd: Token) -> Node:
        """\\underset{x}{\\arg\\min} as limits below; \\overset{a}{x} as a label above x."""
        label = self.argument(cmd, 0, 2)
        body = self.argument(cmd, 1, 2)
        if cmd.value == "underset":
            return Scripts(body, label, None)
        return Accent(drawn_accent(label) or label_words(label), body)

    def substack(self, cmd: Token) -> Node:
        """\\substack{i=1 \\\\ j \\neq i}: the rows of a stacked subscript, read as a list."""
        if self.peek().kind != LBRACE:
            raise self.error(f"\\substack needs a braced argument (at position {self.peek().pos})")
        open_tok = self.take()
        rows: list[Node | None] = []
        while True:
            rows.append(None if self.peek().kind in (NEWLINE, RBRACE) else self.seq())
            tok = self.take()
            if tok.kind == RBRACE:
                break
            if tok.kind != NEWLINE:
                raise self.error(
                    f"unexpected {tok.value!r} in \\substack at position {tok.pos}"
                    if tok.kind != EOF
                    else f"unbalanced braces: '{{' at position {open_tok.pos} is never closed"
                )
        items = tuple(r for r in rows if r is not None)
        if len(items) == 1:
            return items[0]
        return Seq(items, (",",) * (len(items) - 1))

    def name_argument(self, cmd: Token) -> Node:
        if self.peek().kind != LBRACE:
            return self.argument(cmd, 0, 1)
        j = self.i + 1
        letters = []
        while self.toks[j].kind in (LETTER, NUM) or self.is_sym(self.toks[j], "-", "."):
            letters.append(self.toks[j].value)
            j += 1
        if self.toks[j].kind == RBRACE and letters and letters[0].isalpha():
            self.i = j + 1
            word = "".join(letters)
            return Sym(word, "latin") if len(word) == 1 else Name(word)
        return self.group()

    def big_op(self, op: str, node: Node) -> Node:
        sub = node.sub if isinstance(node, Scripts) else None
        sup = node.sup if isinstance(node, Scripts) else None
        integral = op in V.INTEGRALS
        body = None
        if integral:
            self.integral += 1
        if self.starts_factor(self.peek()) and not (integral and self.at_differential()):
            body = self.term()
        if integral:
            self.integral -= 1
        diffs: list[Node] = []
        while integral and self.at_differential():
            if self.peek().kind == CMD:
                self.i += 4
            else:
                self.take()
            diffs.append(self.scripted(self.atom()))
        return BigOp(op, sub, sup, body, tuple(diffs))


def wordify(node: Node, sup: bool = False) -> Node:
    """In a script, letters that spell a word are one name: {old}, (pos, 2i), {max, min}."""
    word = script_word(node, sup)
    if word:
        return Name(word)
    if isinstance(node, Seq):
        return Seq(tuple(wordify(i, sup) if i is not None else None for i in node.items), node.seps)
    if isinstance(node, Fenced) and node.body is not None:
        return Fenced(node.open, node.close, wordify(node.body, sup))
    if isinstance(node, Sum):
        return Sum(tuple(wordify(t, sup) for t in node.terms), node.ops)
    return node


def drawn_accent(label: Node) -> str:
    """The accent a symbol set over a letter draws (\\overset{\\circ}{x} is x ring), or ""."""
    if isinstance(label, Relation) and not any(label.parts) and len(label.rels) == 1:
        return _DRAWN_ACCENTS.get(label.rels[0], "")  # \\overset{\\sim}: a bare relation
    return _DRAWN_ACCENTS.get(label.name, "") if isinstance(label, Sym) else ""


def label_words(node: Node) -> str:
    """The words of a label set over a symbol (\\overset{\\circ}{x}: "circle")."""
    if isinstance(node, Sym):
        if node.kind == "latin":
            return node.name
        table = (
            V.GREEK
            if node.kind == "greek"
            else V.GREEK_UPPER
            if node.kind == "Greek"
            else (V.SYMBOLS)
        )
        return table.get(node.name, node.name)
    if isinstance(node, Num):
        return V.number_words(node.text)
    if isinstance(node, Name):
        return name_words(node.name)
    if isinstance(node, Text):
        return " ".join(node.text.split())
    words: list[str] = []
    for field in node.__slots__:
        value = getattr(node, field)
        for item in value if isinstance(value, tuple) else (value,):
            if item is not None and not isinstance(item, str):
                words.append(label_words(item))
    return " ".join(w for w in words if w)


def declared_functions(tokens: list[Token]) -> frozenset[str]:
    """Letters the equation declares as functions: F in "F : X -> Y"."""
    found: set[str] = set()
    for k, tok in enumerate(tokens[:-2]):
        nxt = tokens[k + 1]
        colon = (nxt.kind == SYM and nxt.value == ":") or (nxt.kind == CMD and nxt.value == "colon")
        arrows = ("to", "rightarrow", "mapsto")
        if (
            tok.kind == LETTER
            and colon
            and any(t.kind == CMD and t.value in arrows for t in tokens[k + 2 :])
        ):
            found.add(tok.value)
    return frozenset(found)


def parse(latex: str) -> Node:
    """Parse LaTeX math into a tree; raise MathSpeechError on malformed or unsupported input."""
    return Parser(latex).parse()
