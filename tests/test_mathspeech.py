"""Tests of the math-speech engine: rules per construct, malformed input, the dev-corpus score."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from companion.errors import CompanionError
from companion.mathspeech import MathSpeechError, verbalize, verbalize_inline
from companion.mathspeech.reading import Reader

CASES_FILE = Path(__file__).parent / "data" / "mathspeech" / "cases.txt"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "math" / "dev_equations.jsonl"
SCORER = SHARED / "tools" / "score_math_speech.py"
FORBIDDEN = set("\\{}^_$=+*/#|~%&")  # the README promises none of these is ever spoken


def _load_cases() -> list[tuple[str, str, str]]:
    cases = []
    for line in CASES_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        latex, spoken = (part.strip() for part in line.split("  =>  "))
        verbosity = "normal"
        if latex.startswith("["):
            verbosity, latex = latex[1:].split("] ", 1)
        cases.append((verbosity, latex, spoken))
    return cases


CASES = _load_cases()


@pytest.mark.parametrize(
    ("verbosity", "latex", "spoken"), CASES, ids=[f"{v}:{latex}" for v, latex, _ in CASES]
)
def test_rule(verbosity: str, latex: str, spoken: str) -> None:
    assert verbalize(latex, verbosity) == spoken


@pytest.mark.parametrize("verbosity", ["brief", "normal", "verbose"])
@pytest.mark.parametrize("latex", sorted({latex for _, latex, _ in CASES}))
def test_every_case_is_plain_words_at_every_verbosity(verbosity: str, latex: str) -> None:
    text = verbalize(latex, verbosity)
    assert text and text == text.strip() and "  " not in text


@pytest.mark.parametrize("symbol", sorted(FORBIDDEN))
def test_final_check_rejects_a_reading_that_holds_a_symbol(
    symbol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A speech rule that leaks a symbol is caught before the text reaches the TTS."""
    monkeypatch.setattr(Reader, "read", lambda self, tree: f"x {symbol} y")
    with pytest.raises(MathSpeechError, match=r"^x: internal error: reading contains "):
        verbalize("x")


def test_verbosity_levels_differ_in_length() -> None:
    latex = r"\frac{a}{b} + x_i^2"
    brief, normal, verbose = (verbalize(latex, v) for v in ("brief", "normal", "verbose"))
    assert len(brief) <= len(normal) < len(verbose)


def test_deterministic_and_default_is_normal() -> None:
    latex = r"\sum_{i=1}^{n} (y_i - \hat{y}_i)^2"
    assert verbalize(latex) == verbalize(latex, "normal") == verbalize(latex)


# ---------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("latex", "fragments"),
    [
        (r"\frac{a}", [r"\frac{a}:", r"\frac needs 2 arguments, got 1", "position 8"]),
        (r"\frac", [r"\frac needs 2 arguments, got 0"]),
        (r"\sqrt", [r"\sqrt needs 1 arguments, got 0"]),
        ("{a + b", ["unbalanced braces", "position 0"]),
        ("a + b}", ["unbalanced braces", "unexpected '}' at position 5"]),
        (r"x + \foo", [r"unsupported command \foo at position 4"]),
        (r"\begin{tabular} a \end{tabular}", ["unsupported environment tabular at position 0"]),
        (r"\begin{pmatrix} a & b", [r"\begin{pmatrix} at position 0 is never ended"]),
        (r"\begin{pmatrix} a \end{bmatrix}", [r"ended by \end{bmatrix}"]),
        ("(a + b", ["missing ')' for '(' at position 0"]),
        ("x^", ["missing superscript after '^' at position 2"]),
        ("x_", ["missing subscript after '_' at position 2"]),
        ("x_1_2", ["double subscript at position 3"]),
        ("a +", ["missing operand after '+' at position 3"]),
        ("a )", ["unexpected ')' at position 2"]),
        ("\\", ["lone backslash at position 0"]),
        ("x \u00e9", ["unsupported character"]),
    ],
)
def test_malformed_input_is_a_one_line_error_naming_the_position(
    latex: str, fragments: list[str]
) -> None:
    with pytest.raises(MathSpeechError) as caught:
        verbalize(latex)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_error_is_a_companion_error() -> None:
    assert issubclass(MathSpeechError, CompanionError)
    with pytest.raises(CompanionError):
        verbalize("")


def test_unknown_verbosity() -> None:
    with pytest.raises(MathSpeechError, match="unknown verbosity"):
        verbalize("x", "loud")


# ---------------------------------------------------------------- inline prose


def test_inline_replaces_each_span_and_keeps_the_prose() -> None:
    text = "The update is $w \\leftarrow w - \\eta g$, where $\\eta$ is the step size."
    assert verbalize_inline(text) == (
        "The update is w gets w minus eta g, where eta is the step size."
    )


def test_inline_without_math_is_unchanged() -> None:
    assert verbalize_inline("No math here, costs \\$5.") == "No math here, costs $5."


def test_inline_display_math_and_unmatched_dollar() -> None:
    assert verbalize_inline("so $$x^2$$ grows") == "so x squared grows"
    with pytest.raises(MathSpeechError, match="unmatched"):
        verbalize_inline("price $x")


def test_inline_error_propagates() -> None:
    with pytest.raises(MathSpeechError, match=r"unsupported command \\foo"):
        verbalize_inline("bad $\\foo$ here")


# ---------------------------------------------------------------- dev corpus score


def _score(*args: str | Path) -> dict:
    done = subprocess.run(
        [sys.executable, str(SCORER), str(CORPUS), *map(str, args), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_dev_corpus_score(tmp_path: Path) -> None:
    if not (CORPUS.is_file() and SCORER.is_file()):
        pytest.skip(f"shared scoring data not found at {SHARED} (outside this repository)")
    lines = []
    for row in map(json.loads, CORPUS.read_text(encoding="utf-8").splitlines()):
        lines.append(json.dumps({"id": row["id"], "speech": verbalize(row["latex"])}))
    predictions = tmp_path / "pred.jsonl"
    predictions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ours = _score(predictions)
    sre = _score("--baseline", "sre_clearspeak")
    assert ours["missing"] == 0
    assert ours["leak_rate"] == 0
    assert ours["coverage"] >= 0.98
    assert ours["wer"] <= 0.7 * sre["wer"], (ours["wer"], sre["wer"])
