"""Golden readings of every catalog equation, and every lexicon entry spoken for real.

A change in how any catalog equation is read shows up as a diff of
tests/data/golden/catalog_equations.txt; refresh it on purpose with
`pytest --update-golden` and review the diff.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from companion.mathspeech import verbalize
from companion.topics import load_catalog
from tests.conftest import DATA, require_audio_tools

GOLDEN = DATA / "golden" / "catalog_equations.txt"


def catalog_readings() -> str:
    lines = []
    for topic in load_catalog().topics:
        for equation in topic.equations:
            lines += [f"[{topic.id}] {equation.latex}", f"    {verbalize(equation.latex)}"]
    return "\n".join(lines) + "\n"


def test_catalog_equation_readings_match_golden(request: pytest.FixtureRequest) -> None:
    readings = catalog_readings()
    if request.config.getoption("--update-golden"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(readings, "utf-8")
    assert GOLDEN.is_file(), "run pytest --update-golden once to create the golden file"
    assert readings == GOLDEN.read_text("utf-8")


def test_every_catalog_equation_is_plain_words() -> None:
    for line in catalog_readings().splitlines()[1::2]:
        assert not set(line) & set("\\{}^_$=+*/|~%&#"), line


def _phonemes(text: str) -> str:
    return subprocess.run(
        ["espeak-ng", "-q", "-x", "-v", "en-us", text], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize(
    "entry", load_catalog(check_speech=False).lexicon, ids=lambda entry: entry.word
)
def test_lexicon_entry_is_spoken_differently(entry: object, tmp_path: Path) -> None:
    require_audio_tools()
    word, say = entry.word, entry.say  # type: ignore[attr-defined]
    wav = tmp_path / "say.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), say], check=True)
    assert wav.stat().st_size > 1000
    assert _phonemes(say) != _phonemes(word)
