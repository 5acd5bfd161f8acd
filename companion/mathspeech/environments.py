"""Parsing of LaTeX environments: matrices, cases and aligned lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import vocabulary as V
from .lexer import AMP, EOF, LBRACE, LETTER, NEWLINE, RBRACE, SYM, Token
from .nodes import Cases, Lines, Matrix, Node, Seq

if TYPE_CHECKING:
    from companion.errors import MathSpeechError


class EnvironmentParser:
    """Mixin of the Parser for \\begin{...} ... \\end{...}."""

    i: int
    closers: list[str]
    integral: int

    def peek(self, k: int = 0) -> Token:  # pragma: no cover - provided by Parser
        raise NotImplementedError

    def take(self) -> Token:  # pragma: no cover
        raise NotImplementedError

    def error(self, message: str) -> MathSpeechError:  # pragma: no cover
        raise NotImplementedError

    def unexpected(self, tok: Token) -> MathSpeechError:  # pragma: no cover
        raise NotImplementedError

    def is_cmd(self, tok: Token, *names: str) -> bool:  # pragma: no cover
        raise NotImplementedError

    def ends_seq(self, tok: Token) -> bool:  # pragma: no cover
        raise NotImplementedError

    def seq(self) -> Node:  # pragma: no cover
        raise NotImplementedError

    def degrade(self, message: str, fallback: str = "") -> None:  # pragma: no cover
        raise NotImplementedError

    def env_name(self, cmd: Token) -> str:
        if self.peek().kind != LBRACE:
            raise self.error(
                f"\\{cmd.value} needs an environment name (at position {self.peek().pos})"
            )
        self.take()
        parts = []
        while self.peek().kind in (LETTER, SYM) and self.peek().kind != RBRACE:
            parts.append(self.take().value)
        if self.peek().kind != RBRACE:
            raise self.unexpected(self.peek())
        self.take()
        return "".join(parts)

    def environment(self, begin: Token) -> Node:
        env = self.env_name(begin)
        if env == "array" and self.peek().kind == LBRACE:
            self.group_tokens_skip()
        lines = env in V.LINE_ENVS
        if env not in V.MATRIX_ENVS and env not in V.CASES_ENVS and not lines:
            self.degrade(f"unsupported environment {env} at position {begin.pos}", "read as lines")
            lines = True
        saved, self.closers, self.integral = (self.closers, self.integral), [], 0
        rows: list[tuple[Node | None, ...]] = []
        cells: list[Node | None] = []
        while True:
            tok = self.peek()
            if lines and tok.kind == AMP:
                self.take()
                continue
            if tok.kind == EOF:
                raise self.error(f"\\begin{{{env}}} at position {begin.pos} is never ended")
            if self.is_cmd(tok, "hline"):
                self.take()
                continue
            if tok.kind in (AMP, NEWLINE) or self.is_cmd(tok, "end"):
                cells.append(None)
            else:
                cells.append(self.seq())
                if lines:
                    while self.peek().kind == AMP:
                        self.take()
                        if not self.ends_seq(self.peek()):
                            cells.append(self.seq())
                    merged = [c for c in cells if c is not None]
                    cells = (
                        [
                            merged[0]
                            if len(merged) == 1
                            else Seq(tuple(merged), ("",) * (len(merged) - 1))
                        ]
                        if merged
                        else [None]
                    )
            tok = self.take()
            if tok.kind == EOF:
                raise self.error(f"\\begin{{{env}}} at position {begin.pos} is never ended")
            if tok.kind == AMP:
                continue
            if tok.kind == NEWLINE:
                rows.append(tuple(cells))
                cells = []
                continue
            if self.is_cmd(tok, "end"):
                end = self.env_name(tok)
                if end != env:
                    raise self.error(
                        f"\\begin{{{env}}} at position {begin.pos} ended by "
                        f"\\end{{{end}}} at position {tok.pos}"
                    )
                break
            raise self.unexpected(tok)
        if any(c is not None for c in cells):
            rows.append(tuple(cells))
        self.closers, self.integral = saved
        if lines:
            return Lines(tuple(r[0] for r in rows if r and r[0] is not None))
        if env in V.CASES_ENVS:
            return Cases(tuple(rows))
        return Matrix(env, tuple(rows))

    def group_tokens_skip(self) -> None:
        depth = 0
        while True:
            tok = self.take()
            if tok.kind == LBRACE:
                depth += 1
            elif tok.kind == RBRACE:
                depth -= 1
                if depth == 0:
                    return
            elif tok.kind == EOF:  # pragma: no cover - the lexer checks braces
                raise self.unexpected(tok)
