"""The comparison tree: notation that does not change the math compares equal, math does not."""

from __future__ import annotations

import pytest

from companion.mathspeech.canonical import canonical
from companion.mathspeech.parser import parse


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (r"\mathbf{w}^\top \mathbf{x}", r"w^T x"),
        (r"\left( a + b \right) c", r"(a + b) c"),
        (r"a \cdot b", r"a b"),
        (r"\frac{d}{dx} f", r"\frac{df}{dx}"),
        (r"\leq", r"\le"),
        (r"\boldsymbol{\theta}_t", r"\theta_t"),
        (r"\{x^{(i)}\}", r"\{ {x^{(i)}} \}"),
        (r"x_{ij}", r"x_{i j}"),
        (r"\partial f / \partial x", r"\frac{\partial f}{\partial x}"),
        (r"dy/dx", r"\frac{dy}{dx}"),
        (r"\mathrm{KL}(p \| q)", r"D_{\mathrm{KL}}(p \,\|\, q)"),
    ],
)
def test_notation_that_does_not_change_the_math_compares_equal(one: str, other: str) -> None:
    assert canonical(parse(one)) == canonical(parse(other))


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (r"\theta_{t+1}", r"\theta_t + 1"),
        (r"\frac{a}{b} c", r"\frac{a}{b c}"),
        (r"\sqrt{a} b", r"\sqrt{a b}"),
        (r"x^{(i)}", r"x^i"),
        (r"x_i", r"x^i"),
        (r"\Delta", r"\delta"),
        (r"\log \frac{p}{q}", r"\frac{\log p}{q}"),
        (r"p(x; \theta)", r"p(x, \theta)"),
        (r"k = K", r"k = k"),
    ],
)
def test_different_math_compares_different(one: str, other: str) -> None:
    assert canonical(parse(one)) != canonical(parse(other))


def test_case_counts_only_when_the_equation_uses_both_cases() -> None:
    assert str(canonical(parse("X + y"))) == "(+ x y)"
    assert str(canonical(parse("X + x"))) == "(+ capital x x)"
