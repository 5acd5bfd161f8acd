"""Speech rules for calculus and big operators: fractions, derivatives, sums, integrals."""

from __future__ import annotations

from . import vocabulary as V
from .nodes import Apply, BigOp, Deriv, Frac, Node, Num, Prefix, Product, Scripts, Seq, Sym
from .shapes import and_list, ends_open, is_sum, is_tight


class CalculusReader:
    """Mixin of the Reader: d/dx, nabla, named-function operators, sums, integrals, fractions."""

    brief: bool
    verbose: bool

    def read(self, node: Node | None) -> str:  # pragma: no cover - provided by Reader
        raise NotImplementedError

    def read_script(self, node: Node | None) -> str:  # pragma: no cover
        raise NotImplementedError

    def head(self, node: Node) -> str:  # pragma: no cover
        raise NotImplementedError

    def power(self, text: str, base: Node, sup: Node, closed: bool) -> str:  # pragma: no cover
        raise NotImplementedError

    def operand(self, body: Node) -> str:  # pragma: no cover
        raise NotImplementedError

    def list_words(
        self, items: list[Node | None] | tuple[Node | None, ...]
    ) -> str:  # pragma: no cover
        raise NotImplementedError

    side: Node | None
    open: int
    opened: set[int]

    def read_prefix(self, node: Prefix) -> str:
        op, operand = node.op, node.operand
        base = op.base if isinstance(op, Scripts) else op
        text = self.read(operand)
        said = self.operand(operand)
        if said.startswith(("the quantity ", "minus the quantity ")) or ends_open(
            operand, self.opened
        ):
            self.opened.add(id(node))
        if isinstance(base, Deriv):
            return f"{self.read(op)} {said}"
        if isinstance(base, Sym) and base.name == "nabla":
            if isinstance(op, Scripts) and op.sup is not None:
                return f"{self.read(op)} of {said}"
            if isinstance(op, Scripts) and op.sub is not None:
                return f"the gradient with respect to {self.read_script(op.sub)} of {text}"
            return f"the gradient of {text}"
        head = self.head(op)
        if head.startswith("the indicator that "):
            return f"{head}, of {said}"  # the pause ends the condition: "... not equal to i, of"
        return f"{head} of {said}"

    def read_deriv(self, node: Deriv) -> str:
        d = "partial" if node.partial else "d"
        order = self.read_script(node.order) if node.order is not None else ""
        variables = [self.read_script(v) for v in node.variables]
        if node.func is None or self.verbose:
            n = int(node.order.text) if isinstance(node.order, Num) else 1
            nth = "" if n == 1 else V.ORDINALS.get(n, "") + " "
            kind = "partial derivative" if node.partial else "derivative"
            wrt = and_list(variables)
            if node.func is None:
                return f"the {nth}{kind} with respect to {wrt} of"
            return f"the {nth}{kind} of {self.read(node.func)} with respect to {wrt}"
        order_text = node.order.text if isinstance(node.order, Num) else ""
        top = d + (" " + V.SQUARED.get(order_text, "to the " + order) if order else "")
        bottom = []
        for var, var_power in zip(variables, node.powers, strict=True):
            piece = f"{d} {var}"
            if var_power is not None:
                piece = self.power(piece, Sym("x", "latin"), var_power, False)
            bottom.append(piece)
        return f"{top} {self.read(node.func)} over {' '.join(bottom)}"

    # ------------------------------------------------------------- big operators
    def read_bigop(self, node: BigOp) -> str:
        if node.op in V.BIG_OPS:
            text = V.BIG_OPS[node.op]
        else:
            text = "the " + V.FUNCTIONS.get(node.op, (node.op, True))[0]
        sub, sup = node.sub, node.sup
        if node.op in ("lim", "limsup", "liminf") and sub is not None:
            text += " as " + self.read_script(sub)
        elif isinstance(sub, Seq) and sup is not None:  # \substack{i=1 \\ j \neq i}
            conditions = and_list([self.read_script(i) for i in sub.items[1:]])
            text += (
                f" from {self.read_script(sub.items[0])} to {self.read_script(sup)}, "
                f"with {conditions},"
            )
        elif sub is not None and sup is not None:
            text += f" from {self.read_script(sub)} to {self.read_script(sup)}"
        elif sub is not None:
            if isinstance(sub, Seq):
                text += " over " + and_list([self.read_script(i) for i in sub.items])
            else:
                text += " over " + self.read_script(sub)
        elif sup is not None:
            text += " up to " + self.read_script(sup)
        diffs = " ".join("d " + self.read(d) for d in node.differentials)
        if sub is not None and holds_application(sub):
            text += ","  # "the sum over i in N k of x, of y i": the bound ends at the pause
        if node.body is not None:
            self.open += 1
            try:
                text += " of " + self.read(node.body)
            finally:
                self.open -= 1
            if diffs:
                text += ", " + diffs
        elif diffs:
            text += " of " + diffs
        return text

    # ------------------------------------------------------------- fractions
    def read_frac(self, node: Frac, operand: bool = False) -> str:
        """a over b; "the quantity ..., all over ..." for a whole side; inside a function's
        argument or a larger expression, "the ratio of a to b"."""
        num, den = node.num, node.den
        if (
            isinstance(num, Num)
            and isinstance(den, Num)
            and num.text.isdigit()
            and (
                den.text.isdigit() and int(den.text) in V.FRACTION_NAMES and 0 < int(num.text) < 20
            )
        ):
            one, many = V.FRACTION_NAMES[int(den.text)]
            return f"{V.number_words(num.text)} {one if num.text == '1' else many}"
        top, bottom = self.read(num), self.read(den)
        # "all over" takes everything since the last relation: only a whole side may use it
        ratio = operand or (node is not self.side and not self.verbose and not self.brief)
        if self.verbose:
            end = ", end fraction" if len(bottom.split()) > 2 else ""
            return f"the fraction with numerator {top} and denominator {bottom}{end}"
        simple = (
            is_tight(top)
            and len(top.split()) <= 4
            and not isinstance(num, (Apply, BigOp, Prefix, Frac))
            and not (isinstance(num, Product) and any(num.ops))
        )
        tight_needed = ratio or simple
        if is_sum(den) or (
            tight_needed
            and not self.brief
            and (isinstance(den, Frac) or (isinstance(den, Product) and not is_tight(bottom)))
            and not (isinstance(den, Product) and len(den.factors) == 2)
        ):
            bottom = "the quantity " + bottom
        elif (
            isinstance(den, Product)
            and len(den.factors) == 2
            and not self.brief
            and (" times " in bottom)
        ):
            bottom = "the product of " + self.list_words(den.factors)
        if self.brief and is_sum(num):
            return f"the quantity {top}, over {bottom}"
        if (simple and not operand) or self.brief:
            return f"{top} over {bottom}"
        # a tight numerator ("P of x") keeps "over": it binds after the function is applied
        tight_top = (
            is_tight(top)
            and not isinstance(num, (BigOp, Frac))
            and not ends_open(num, self.opened)  # "Q of s and a over alpha" gives a / alpha
        )
        if ratio and tight_top:
            return f"the quantity {top} over {bottom}" if operand else f"{top} over {bottom}"
        if ratio:
            closed = "," if ends_open(num, self.opened) else ""  # "..., divided by tau, to"
            return f"the ratio of {top}{closed} to {bottom}"
        if is_sum(num) and self.brief:
            return f"the quantity {top}, over {bottom}"
        # "all over" takes everything since the last relation: a sum needs no "the quantity"
        return f"{top}, all over {bottom}"

    # ------------------------------------------------------------- sums and products


def holds_application(node: Node) -> bool:
    """Whether a bound holds a function applied to an argument (N_k(x)): its "of" needs a pause."""
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Apply):
            return True
        if isinstance(item, tuple):
            stack.extend(item)
        elif item is not None and hasattr(item, "__slots__") and not isinstance(item, str):
            stack.extend(getattr(item, f) for f in item.__slots__)
    return False
