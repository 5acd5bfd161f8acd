"""Golden readings of every catalog equation, and every lexicon entry spoken for real.

A change in how any catalog equation is read shows up as a diff of
tests/data/golden/catalog_equations.txt; refresh it on purpose with
`pytest --update-golden` and review the diff.
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import pytest

from companion import pronounce, voices
from companion.mathspeech import verbalize
from companion.models import Engine, Voice
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


def _espeak_phonemes(text: str) -> str:
    return subprocess.run(
        ["espeak-ng", "-q", "-x", "-v", "en-us", text], capture_output=True, text=True, check=True
    ).stdout.strip()


LEXICON = load_catalog(check_speech=False).lexicon
INSTALLED = [status.engine for status in voices.status() if status.installed]


@pytest.fixture(scope="module")
def speakers() -> dict[str, voices.Speaker]:
    require_audio_tools()
    return {engine: voices.speaker(Voice(engine=engine)) for engine in INSTALLED}


@pytest.mark.parametrize("engine", INSTALLED)
def test_every_lexicon_entry_is_spoken_by_each_installed_engine(
    engine: Engine, speakers: dict[str, voices.Speaker], tmp_path: Path
) -> None:
    speaker = speakers[engine]
    style = voices.pronunciation(engine)
    for entry in LEXICON:
        words = f"Take {entry.word} now."
        math = ((5, 5 + len(entry.word)),) if entry.math else ()
        given = pronounce.render(pronounce.Sentence(words, math), LEXICON, style)
        assert given != words or entry.say == entry.word, (engine, entry.word)
        wav = tmp_path / "entry.wav"
        speaker.speak(given, wav)
        with wave.open(str(wav), "rb") as handle:
            assert handle.getnframes() > 0.3 * handle.getframerate(), (engine, entry.word)
        if engine == "hibari":  # the model really read the lexicon's phonemes
            model = speaker.model  # type: ignore[attr-defined]
            phonemes = model.g2p(given)
            assert pronounce.to_misaki(entry.ipa) in phonemes, (entry.word, phonemes)
            assert set(pronounce.to_misaki(entry.ipa)) <= set(model.vocab), entry.word
        if engine == "espeak-ng" and entry.say != entry.word:
            assert _espeak_phonemes(given) != _espeak_phonemes(words), entry.word


def test_a_zero_padded_episode_number_is_said_as_a_number() -> None:
    require_audio_tools()
    given = pronounce.render("The lesson on MLG 005.", LEXICON, "respell")
    assert _espeak_phonemes(given) == _espeak_phonemes("The lesson on MLG five.")


@pytest.mark.parametrize("latex", [r"f^{(n)}(x)", r"x^{(i)}"])
def test_an_ordinal_index_is_said_as_one_word_not_spelled(latex: str) -> None:
    """'the n th derivative' must not reach the ear as 'the en tee aitch derivative'."""
    require_audio_tools()
    reading = verbalize(latex)
    assert " th " in reading
    given = pronounce.render(pronounce.Sentence(reading, ((0, len(reading)),)), LEXICON, "respell")
    assert "eIt" not in _espeak_phonemes(given), (reading, given)
    assert "ET" in _espeak_phonemes(given), (reading, given)
