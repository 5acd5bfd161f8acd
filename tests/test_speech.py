"""`companion say`: an equation is read measurably slower than the same words as prose."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydub import AudioSegment
from pydub.silence import detect_leading_silence, detect_silence

from companion.cli import cli
from companion.config import SETTING
from companion.speech import say_paragraph

# the cost of linear regression: its reading has two clause breaks (after "two m", "y i")
COST = r"J(\theta) = \frac{1}{2m} \sum_{i=1}^{m} (\hat{y}_i - y_i)^2"
SILENCE_DB = -50


def _spoken(audio: AudioSegment) -> AudioSegment:
    """The audio without its leading and trailing silence."""
    lead = detect_leading_silence(audio, SILENCE_DB, chunk_size=5)
    tail = detect_leading_silence(audio.reverse(), SILENCE_DB, chunk_size=5)
    return audio[lead : len(audio) - tail]


def _say(runner: CliRunner, text: str, out: Path, *options: str) -> AudioSegment:
    result = runner.invoke(cli, ["say", text, "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    with out.open("rb") as handle:
        return _spoken(AudioSegment.from_wav(handle))


@pytest.mark.usefixtures("audio_tools")
def test_an_equation_is_read_slower_than_its_words_as_prose(tmp_path: Path) -> None:
    runner = CliRunner()
    reading = say_paragraph(COST, latex=True).text
    assert reading.count(", ") == 2
    equation = _say(runner, COST, tmp_path / "equation.wav", "--latex")
    prose = _say(runner, reading, tmp_path / "prose.wav")
    rate = SETTING["equation_rate"].default
    assert isinstance(rate, float)
    ratio = len(equation) / len(prose)
    assert ratio >= 1 / rate - 0.05, f"equation {len(equation)} ms, prose {len(prose)} ms"
    pauses = detect_silence(equation, min_silence_len=250, silence_thresh=SILENCE_DB)
    assert len(pauses) >= 2, f"pauses at the clause breaks: {pauses}"


@pytest.mark.usefixtures("audio_tools")
def test_equation_rate_sets_how_much_slower(tmp_path: Path) -> None:
    runner = CliRunner()
    slow = _say(runner, COST, tmp_path / "slow.wav", "--latex", "--equation-rate", "0.7")
    usual = _say(runner, COST, tmp_path / "usual.wav", "--latex", "--equation-rate", "1")
    assert len(slow) / len(usual) > 1.25
