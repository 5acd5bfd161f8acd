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
from .shapes import derivative

_OPENERS = {
    "(": ")",
    "[": "]",
    "\\{": "\\}",
    "|": "|",
    "‖": "‖",
    "langle": "rangle",
    "lfloor": "rfloor",
    "lceil": "rceil",
}
_CLOSERS = frozenset({")", "]", "\\}", "rangle", "rfloor", "rceil"})
_SEPARATORS = frozenset({",", ";", ":", "|", "‖", "mid", "colon", "vert", "Vert"})
_FRACS = frozenset({"frac", "dfrac", "tfrac", "cfrac"})
_BINOMS = frozenset({"binom", "dbinom", "tbinom"})
# letters that are functions when followed by parentheses, whatever the argument
FUNCTION_LETTERS = frozenset("fghpqFGHJLPQDIKORSTUZ")
FUNCTION_GREEK = frozenset(
    {
        "sigma",
        "phi",
        "varphi",
        "psi",
        "pi",
        "ell",
        "kappa",
        "rho",
        "Phi",
        "Psi",
        "delta",
        "Gamma",
        "mu",
        "eta",
    }
)


class Parser(EnvironmentParser):
    """Parses one LaTeX math string; raises MathSpeechError naming the input and position."""

    def __init__(self, latex: str) -> None:
        self.src = latex
        self.toks: list[Token] = tokenize(latex)
        self.i = 0
        self.closers: list[str] = []
        self.integral = 0

    # ----------------------------------------------------------------- helpers
    def peek(self, k: int = 0) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

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
        if tok.kind in (RBRACE, EOF, AMP, NEWLINE) or self.is_cmd(tok, "end"):
            return True
        if tok.kind in (SYM, CMD) and tok.value in _CLOSERS:
            return True
        return self.is_sym(tok, "|", "‖") and bool(self.closers) and self.closers[-1] == tok.value

    def is_separator(self, tok: Token) -> bool:
        if self.ends_seq(tok):
            return False
        return (tok.kind == SYM and tok.value in _SEPARATORS) or (
            tok.kind == CMD and tok.value in _SEPARATORS
        )

    def is_relation(self, tok: Token) -> bool:
        if tok.kind == SYM:
            return tok.value in ("=", "<", ">", ":=")
        return tok.kind == CMD and (tok.value in V.RELATIONS or tok.value == "not")

    def is_add_op(self, tok: Token) -> bool:
        return self.is_sym(tok, "+", "-") or (tok.kind == CMD and tok.value in V.ADD_OPS)

    def is_mul_op(self, tok: Token) -> bool:
        return self.is_sym(tok, "/", "*") or (tok.kind == CMD and tok.value in V.MUL_OPS)

    def starts_factor(self, tok: Token) -> bool:
        if tok.kind in (LETTER, NUM, LBRACE, TEXT):
            return True
        if tok.kind == SYM:
            return tok.value in ("(", "[", "\\{", "‖", "|")
        if tok.kind == CMD:
            name = tok.value
            return not (
                name in V.RELATIONS
                or name in V.ADD_OPS
                or name in V.MUL_OPS
                or name in _SEPARATORS
                or name in _CLOSERS
                or name in ("end", "not")
            )
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
        while self.is_separator(self.peek()):
            seps.append(self.take().value)
            if self.ends_seq(self.peek()):
                items.append(None)
                break
            items.append(self.relation())
        if self.is_sym(self.peek(), "."):
            self.take()
        if len(items) == 1:
            return items[0] if items[0] is not None else Empty()
        return Seq(tuple(items), tuple(seps))

    def relation(self) -> Node | None:
        parts: list[Node | None] = []
        rels: list[str] = []
        tok = self.peek()
        parts.append(None if self.is_relation(tok) else self.additive())
        while self.is_relation(self.peek()):
            tok = self.take()
            rel = tok.value
            if rel == "not":
                nxt = self.take()
                if not self.is_relation(nxt) or nxt.value == "not":
                    raise self.error(f"\\not must precede a relation (at position {tok.pos})")
                rel = "not" + nxt.value
            rels.append(rel)
            nxt = self.peek()
            if (
                self.ends_seq(nxt)
                or self.is_relation(nxt)
                or (self.is_separator(nxt) and not self.is_sym(nxt, "|", "‖"))
            ):
                parts.append(None)
            else:
                parts.append(self.additive())
        if not rels:
            return parts[0]
        return Relation(tuple(parts), tuple(rels))

    def additive(self) -> Node:
        terms: list[Node] = []
        ops: list[str] = []
        sign = ""
        if self.is_add_op(self.peek()):
            sign = self.take().value
        ops.append(sign)
        terms.append(self.operand_after(sign))
        while self.is_add_op(self.peek()):
            ops.append(self.take().value)
            terms.append(self.operand_after(ops[-1]))
        if len(terms) == 1 and not sign:
            return terms[0]
        return Sum(tuple(terms), tuple(ops))

    def operand_after(self, op: str) -> Node:
        tok = self.peek()
        if not self.starts_factor(tok) and not self.is_sym(tok, "|", "-", "+"):
            if op:
                raise self.error(f"missing operand after {op!r} at position {tok.pos}")
            raise self.unexpected(tok)
        return self.term()

    def term(self) -> Node:
        factors: list[Node] = [self.factor()]
        ops: list[str] = []
        while True:
            tok = self.peek()
            if self.integral and self.at_differential():
                break
            if self.is_mul_op(tok):
                self.take()
                nxt = self.peek()
                if not (self.starts_factor(nxt) or self.is_sym(nxt, "|", "-")):
                    raise self.error(f"missing operand after {tok.value!r} at position {nxt.pos}")
                ops.append(tok.value)
                factors.append(self.factor())
            elif self.starts_factor(tok) and not (
                self.is_sym(tok, "|", "‖")
                and self.closers
                and self.closers[-1] in (")", "]", "|", "‖", "\\}")
            ):
                ops.append("")
                factors.append(self.factor())
            else:
                break
        if len(factors) == 1:
            return factors[0]
        return Product(tuple(factors), tuple(ops))

    def factor(self) -> Node:
        tok = self.peek()
        if self.is_sym(tok, "-", "+"):
            self.take()
            return Sum((self.factor(),), (tok.value,))
        start = tok
        node = self.scripted(self.atom())
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
        if isinstance(base, Name):
            return base.name in V.FUNCTIONS
        if isinstance(base, Sym):
            return base.name == "nabla"
        if isinstance(base, Font) and base.style == "blackboard":
            return isinstance(base.body, Sym) and base.body.name in V.BLACKBOARD_FUNCTIONS
        return False

    def applies(self, node: Node) -> bool:
        """Whether node followed by the next token is a function application."""
        tok = self.peek()
        if not self.is_sym(tok, "(", "["):
            return False
        bracket = tok.value == "["
        base = node
        if isinstance(node, Scripts):
            if node.primes:
                return not bracket
            if node.sup is not None and not (
                isinstance(node.sup, Sum)
                or (isinstance(node.sup, Sym) and node.sup.name in ("ast", "star", "prime"))
            ):
                return isinstance(node.base, Name | Font) and self.is_function_base(node.base, True)
            base = node.base
        if isinstance(base, Accent):
            base = base.body
        return self.is_function_base(base, bracket)

    def is_function_base(self, base: Node, bracket: bool) -> bool:
        if isinstance(base, Name):
            return True
        if isinstance(base, Font):
            if base.style in ("blackboard", "script"):
                return True
            base = base.body
        if bracket:
            return isinstance(base, Sym) and base.kind == "latin" and base.name == "E"
        if isinstance(base, Sym):
            if base.kind == "latin" and base.name in FUNCTION_LETTERS:
                return True
            if base.kind in ("greek", "Greek") and base.name in FUNCTION_GREEK:
                return True
            if base.kind not in ("latin", "greek", "Greek"):
                return False
            return not self.argument_is_sum()
        return False

    def argument_is_sum(self) -> bool:
        """Look ahead inside the parenthesis: a top-level + or - means multiplication."""
        depth = 0
        for tok in self.toks[self.i :]:
            if tok.kind in (LBRACE,) or self.is_sym(tok, "(", "["):
                depth += 1
            elif tok.kind == RBRACE or self.is_sym(tok, ")", "]"):
                depth -= 1
                if depth == 0:
                    return False
            elif depth == 1 and self.is_add_op(tok):
                return True
        return False

    def scripted(self, node: Node) -> Node:
        sub: Node | None = None
        sup: Node | None = None
        primes = 0
        while True:
            tok = self.peek()
            if tok.kind in (SUB, SUP):
                self.take()
                arg = self.script_arg(tok)
                if tok.kind == SUB:
                    if sub is not None:
                        raise self.error(f"double subscript at position {tok.pos}")
                    sub = arg
                else:
                    if sup is not None:
                        raise self.error(f"double superscript at position {tok.pos}")
                    sup = arg
            elif tok.kind == PRIME:
                self.take()
                primes += 1
            elif self.is_sym(tok, "!"):
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
            return self.group()
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
        if tok.kind == CMD and self.starts_factor(tok):
            return self.atom()
        if self.is_sym(tok, "*"):
            self.take()
            return Sym("ast", "symbol")
        if tok.kind == PRIME:
            self.take()
            return Sym("prime", "symbol")
        if self.is_sym(tok, "-", "+") and self.peek(1).kind in (NUM, LETTER):
            self.take()
            inner = self.script_arg(op)
            return Sum((inner,), (tok.value,))
        where = "subscript" if op.kind == SUB else "superscript"
        raise self.error(f"missing {where} after {op.value!r} at position {tok.pos}")

    def group(self) -> Node:
        open_tok = self.take()
        saved, self.closers, self.integral = (self.closers, self.integral), [], 0
        if self.is_sym(self.peek(), "*") and self.peek(1).kind == RBRACE:
            self.take()
            node: Node = Sym("ast", "symbol")
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
        body = None if tok.value == closer and tok.kind in (SYM, CMD) else self.seq()
        self.integral = saved
        self.closers.pop()
        tok = self.peek()
        intervals = opener in "([" and tok.value in (")", "]")
        if tok.value != closer and not intervals:
            shown = "\\" + opener if open_tok.kind == CMD else opener
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
        tok = self.peek()
        if tok.kind == NUM:
            self.take()
            return Num(tok.value)
        if tok.kind == LETTER:
            self.take()
            if tok.value == "E" and self.is_sym(self.peek(), "["):
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
            return Font(V.FONTS[name], self.argument(tok, 0, 1))
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
        if name in ("hspace", "vspace", "phantom", "label", "tag"):
            self.argument(tok, 0, 1)
            return Empty()
        raise self.error(f"unsupported command \\{name} at position {tok.pos}")

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


def parse(latex: str) -> Node:
    """Parse LaTeX math into a tree; raise MathSpeechError on malformed or unsupported input."""
    return Parser(latex).parse()
