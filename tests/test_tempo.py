"""Time stretching: slower speech, exactly 1 / rate times as long."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydub import AudioSegment
from pydub.generators import Sine

from companion.errors import SynthError
from companion.tempo import stretch_wav


@pytest.mark.usefixtures("audio_tools")
@pytest.mark.parametrize("rate", [0.85, 0.5, 1.0])
def test_a_stretched_wav_lasts_one_over_rate_times_as_long(tmp_path: Path, rate: float) -> None:
    wav = tmp_path / "tone.wav"
    Sine(220).to_audio_segment(duration=2000).set_frame_rate(24000).export(
        wav, format="wav"
    ).close()
    stretch_wav(wav, rate)
    with wav.open("rb") as handle:
        stretched = AudioSegment.from_wav(handle)
    assert stretched.frame_rate == 24000
    assert len(stretched) == pytest.approx(2000 / rate, abs=30)
    assert [p.name for p in tmp_path.iterdir()] == ["tone.wav"]  # no temp file left


@pytest.mark.parametrize("rate", [0.3, 1.5])
def test_a_rate_out_of_range_is_refused(tmp_path: Path, rate: float) -> None:
    with pytest.raises(SynthError, match=f"tone.wav: rate {rate} is out of range"):
        stretch_wav(tmp_path / "tone.wav", rate)
