"""Speech rules for two-dimensional layouts: matrices, cases and aligned lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import vocabulary as V
from .nodes import Cases, Lines, Matrix, Relation

if TYPE_CHECKING:
    from .nodes import Node

_CONDITION_WORDS = ("if", "otherwise", "for", "when", "else", "where", "unless")


def _list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    joined = ", ".join(items[:-1])
    long = any(len(i.split()) > 2 for i in items)
    return f"{joined}, and {items[-1]}" if long else f"{joined}, {items[-1]}"


class StructureReader:
    """Mixin of the Reader for matrices, cases and multi-line environments."""

    verbose: bool

    def read(self, node: Node | None) -> str:  # pragma: no cover - provided by Reader
        raise NotImplementedError

    def read_matrix(self, node: Matrix) -> str:
        rows = [[self.read(c) for c in row] for row in node.rows]
        n_rows = len(rows)
        n_cols = max((len(r) for r in rows), default=0)
        prefix = {"det": "the determinant of ", "norm": "the norm of "}.get(
            V.MATRIX_ENVS.get(node.env, ""), ""
        )
        if n_rows == 0:
            return prefix + "the empty matrix"
        if n_cols == 1 and n_rows > 1:
            return prefix + "the column vector with entries " + _list([r[0] for r in rows])
        if n_rows == 1:
            return prefix + "the row vector with entries " + _list(rows[0])
        size = f"the {V.number_words(str(n_rows))} by {V.number_words(str(n_cols))} matrix"
        parts = []
        for k, row in enumerate(rows, 1):
            name = f"{V.ORDINALS[k]} row" if k in V.ORDINALS else f"row {V.number_words(str(k))}"
            parts.append(f"{name} {', '.join(row)}")
        body = (
            ", ".join(parts[:-1]) + ", and " + parts[-1]
            if len(parts) > 2
            else (" and ".join(parts))
        )
        return f"{prefix}{size} with {body}"

    def read_cases(self, node: Cases) -> str:
        pieces = []
        for row in node.rows:
            value = self.read(row[0]) if row else ""
            cond_node = row[1] if len(row) > 1 else None
            cond = self.read(cond_node)
            if not cond:
                pieces.append(value)
                continue
            first = cond.split()[0].lower()
            if first in _CONDITION_WORDS:
                pieces.append(f"{value} {cond}")
            else:
                pieces.append(f"{value} if {cond}")
        text = (
            ", and ".join(pieces)
            if len(pieces) <= 2
            else (", ".join(pieces[:-1]) + ", and " + pieces[-1])
        )
        return ("the cases: " if self.verbose else "") + text

    def read_lines(self, node: Lines) -> str:
        out: list[str] = []
        for row in node.rows:
            text = self.read(row)
            if isinstance(row, Relation) and row.parts[0] is None and out:
                _, chain = V.RELATIONS.get(row.rels[0], ("", False))
                if chain:
                    text = "which " + text
            out.append(text)
        return ", ".join(out)
