"""Tests of the math-speech engine: rules per construct, malformed input, the dev-corpus score."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from companion.errors import CompanionError
from companion.mathspeech import (
    MathSpeechError,
    MathSpeechWarning,
    Spoken,
    speak,
    verbalize,
    verbalize_inline,
)
from companion.mathspeech.reading import Reader

CASES_FILES = [
    Path(__file__).parent / "data" / "mathspeech" / name
    for name in ("cases.txt", "paper_cases.txt")
]
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "math" / "dev_equations.jsonl"
PAPERS = Path(__file__).parent / "data" / "mathspeech" / "paper_equations.jsonl"
PAPER_ROWS = [json.loads(line) for line in PAPERS.read_text("utf-8").splitlines() if line]
SCORER = SHARED / "tools" / "score_math_speech.py"
FORBIDDEN = set("\\{}^_$=+*/#|~%&")  # the README promises none of these is ever spoken


def _load_cases() -> list[tuple[str, str, str]]:
    cases = []
    lines = [line for path in CASES_FILES for line in path.read_text("utf-8").splitlines()]
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        latex, spoken = (part.strip() for part in line.split("  =>  "))
        verbosity = "normal"
        marked = re.fullmatch(r"\[(brief|normal|verbose)\] (.+)", latex)
        if marked:
            verbosity, latex = marked.groups()
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
        ("x^\u00b2", ["unsupported character '\u00b2' at position 2"]),
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


@pytest.mark.parametrize(
    ("latex", "fragment"),
    [
        (r"x + \foo", r"unsupported command \foo at position 4"),
        (r"\mathds{1} + \foo{y}", r"unsupported command \foo at position 13"),
        (r"\begin{tabular} a \end{tabular}", "unsupported environment tabular at position 0"),
    ],
)
def test_strict_mode_keeps_the_error(latex: str, fragment: str) -> None:
    with pytest.raises(MathSpeechError) as caught:
        verbalize(latex, strict=True)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("latex", "spoken", "fragment"),
    [
        (r"x + \foo", "x plus foo", r"unsupported command \foo at position 4"),
        (r"\vv{v} \cdot \vv{w}", "v dot w", r"unsupported command \vv at position 0"),
        (
            r"\begin{tabular} a & b \end{tabular}",
            "a b",
            "unsupported environment tabular at position 0",
        ),
    ],
)
def test_unknown_command_degrades_to_its_argument_with_a_warning(
    latex: str, spoken: str, fragment: str
) -> None:
    with pytest.warns(MathSpeechWarning) as caught:
        assert verbalize(latex) == spoken
    message = str(caught[0].message)
    assert message.startswith(latex.split()[0]) and fragment in message
    fallback = "read as lines" if "environment" in fragment else "read as its argument"
    assert message.endswith(fallback) and "\n" not in message
    assert speak(latex) == Spoken(spoken, tuple(str(w.message) for w in caught))


def test_supported_input_gives_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert speak(r"\operatorname*{arg\,max}_{a} Q(s, a)").warnings == ()


def test_declared_functions() -> None:
    assert verbalize("W(x)") == "W times x"
    assert verbalize("W(x)", functions=["W"]) == "W of x"
    assert verbalize(r"W: \mathbb{R}^n \to \mathbb{R}^m, \; W(x)").endswith("W of x")
    assert verbalize("A(s, a)") == "capital A of s and a"


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
        "The update is w gets w minus eta times g, where eta is the step size."
    )


def test_inline_without_math_is_unchanged() -> None:
    assert verbalize_inline("No math here, costs \\$5.") == "No math here, costs $5."


def test_inline_display_math_and_unmatched_dollar() -> None:
    assert verbalize_inline("so $$x^2$$ grows") == "so x squared grows"
    with pytest.raises(MathSpeechError, match="unmatched"):
        verbalize_inline("price $x")


def test_inline_error_propagates() -> None:
    with pytest.raises(MathSpeechError, match=r"unsupported command \\foo"):
        verbalize_inline("bad $\\foo$ here", strict=True)
    with pytest.raises(MathSpeechError, match="missing '\\)'"):
        verbalize_inline("bad $(x$ here")


# ---------------------------------------------------------------- dev corpus score


def _score(corpus: Path, *args: str | Path) -> dict:
    done = subprocess.run(
        [sys.executable, str(SCORER), str(corpus), *map(str, args), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def _predictions(corpus: Path, tmp_path: Path) -> Path:
    lines = []
    for row in map(json.loads, corpus.read_text(encoding="utf-8").splitlines()):
        lines.append(json.dumps({"id": row["id"], "speech": verbalize(row["latex"])}))
    predictions = tmp_path / f"pred_{corpus.stem}.jsonl"
    predictions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return predictions


def test_dev_corpus_score(tmp_path: Path) -> None:
    if not (CORPUS.is_file() and SCORER.is_file()):
        pytest.skip(f"shared scoring data not found at {SHARED} (outside this repository)")
    ours = _score(CORPUS, _predictions(CORPUS, tmp_path))
    sre = _score(CORPUS, "--baseline", "sre_clearspeak")
    assert ours["missing"] == 0
    assert ours["leak_rate"] == 0
    assert ours["coverage"] >= 0.98
    assert ours["wer"] <= 0.7 * sre["wer"], (ours["wer"], sre["wer"])


def test_paper_dev_score(tmp_path: Path) -> None:
    """The 40 paper-style equations: all read, far better than SRE's ClearSpeak."""
    if not SCORER.is_file():
        pytest.skip(f"shared scorer not found at {SCORER} (outside this repository)")
    ours = _score(PAPERS, _predictions(PAPERS, tmp_path))
    sre = _score(PAPERS, "--baseline", "sre_clearspeak")
    assert ours["missing"] == 0
    assert ours["leak_rate"] == 0
    assert ours["coverage"] >= 0.95
    assert ours["wer"] <= 0.3 * sre["wer"], (ours["wer"], sre["wer"])


@pytest.mark.parametrize("verbosity", ["brief", "normal", "verbose"])
@pytest.mark.parametrize("row", PAPER_ROWS, ids=[row["id"] for row in PAPER_ROWS])
def test_paper_equation_reads_strictly_at_every_verbosity(row: dict, verbosity: str) -> None:
    spoken = speak(row["latex"], verbosity, strict=True)
    assert spoken.warnings == ()
    assert spoken.text and not FORBIDDEN & set(spoken.text), spoken.text


@pytest.mark.parametrize(
    ("latex", "spoken"),
    [
        (r"\text{s.t.}", "such that"),
        (r"\text{s.t. } x > 0", "such that x is greater than zero"),
        (r"x \text{ st } y", "x, such that y"),
    ],
)
def test_a_clause_word_anywhere_is_read_never_refused(latex: str, spoken: str) -> None:
    """'s.t.' separates an objective from its constraint; alone or first it is a word."""
    assert verbalize(latex, strict=True) == spoken
