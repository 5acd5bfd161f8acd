"""What a speech engine is to Companion: its record, the Speaker it makes, what it needs."""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NewType, Protocol

from companion.errors import SynthError

if TYPE_CHECKING:  # Voice is only an annotation here: models imports the engine names
    from companion.models import Voice

# An engine's name, known to be one of voices.ENGINES: made only by voices.engine_name(), which
# checks it (the engines are found at import, so their names cannot be a Literal).
Engine = NewType("Engine", str)
# How an engine is given a word's pronunciation (companion/pronounce.py renders each).
PronunciationStyle = Literal["respell", "ipa", "misaki"]
FRAME_RATE = 22050  # espeak-ng's rate, and the MP3's; hibari's sections stay at 24 kHz

# The system programs a build may run, and the Debian package that installs each.
PACKAGES = {"espeak-ng": "espeak-ng", "ffmpeg": "ffmpeg", "ffprobe": "ffmpeg"}
AUDIO_TOOLS = ("ffmpeg", "ffprobe")  # every build encodes with these, whatever the engine


def install_hint(tool: str) -> str:
    return f"install it with: apt-get install -y {PACKAGES[tool]}"


class Speaker(Protocol):
    sample_rate: int  # of the WAVs it writes

    def speak(self, text: str, wav_path: Path, rate: float = 1.0) -> None:
        """Write `text` as speech to `wav_path` at `rate` times the voice's speed.

        The file is complete when the call returns.
        """

    def samples(self, text: str) -> bytes:
        """The engine's own output for `text` at the voice's speed, before it becomes a WAV:
        float32 samples for the neural engines (the most precise form there is)."""


def wav_samples(speaker: Speaker, text: str) -> bytes:
    """The PCM frames of the WAV `speaker` writes for `text`."""
    with tempfile.TemporaryDirectory(prefix="companion-probe-") as tmp:
        wav = Path(tmp) / "probe.wav"
        speaker.speak(text, wav)
        with wave.open(str(wav), "rb") as handle:
            return handle.readframes(handle.getnframes())


class VoiceProblem(SynthError):
    """A voice that cannot speak on this machine, with the fix `companion check` suggests."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """One speech engine: everything the rest of Companion asks about it."""

    name: str  # its --engine value
    default_voice: str
    pronunciation: PronunciationStyle
    licence: str
    summary: str  # what kind of engine it is, for --help ("neural", "formant, fast drafts")
    voice_help: str  # the voices it takes, for --help
    install_hint: str  # how to install it
    check: Callable[[Voice], None]  # raise a one-line SynthError when the voice is not there
    speaker: Callable[[Voice], Speaker]
    voices: Callable[[], list[tuple[str, str]]]  # installed voices: (name, description)
    doctor: Callable[[Voice], str]  # `companion check`: what is there, or raise VoiceProblem
    order: int  # its place in --help, `companion voices` and the README's table: lowest first
    module: str = ""  # the Python module it imports ("": none)
    distribution: str = ""  # the package whose version `companion voices` shows
    tools: tuple[str, ...] = ()  # system programs it runs (besides AUDIO_TOOLS)
    fallback: str = ""  # when its module is missing, speak with this engine ("": an error)
    voices_note: str = ""  # a line `companion voices` prints under it when it is installed

    def installed(self) -> bool:
        has_module = not self.module or importable(self.module)
        return has_module and all(shutil.which(tool) for tool in self.tools)

    def version(self) -> str:
        """What is installed ("hibari-tts 0.2.1"), or the engine's name when it has no package."""
        if not self.distribution:
            return self.name
        return f"{self.distribution} {distribution_version(self.distribution)}"


def importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def distribution_version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def has_frames(path: Path) -> bool:
    try:
        with wave.open(str(path), "rb") as handle:
            return handle.getnframes() > 0
    except (OSError, EOFError, wave.Error):
        return False
