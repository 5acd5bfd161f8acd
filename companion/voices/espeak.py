"""The espeak-ng engines: its command line (fast formant drafts, MBROLA voices) and pyttsx3.

    espeak-ng  the espeak-ng command line (formant voice, fast drafts); GPL-3.0
    pyttsx3    pyttsx3 over libespeak-ng; MPL-2.0 / GPL-3.0

pyttsx3 runs behind a wrapper that waits for each file to be complete (audio.md: on Linux
it returns before the file is written).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from companion.errors import CompanionError, SynthError
from companion.voices.spec import (
    FRAME_RATE,
    EngineSpec,
    VoiceProblem,
    has_frames,
    install_hint,
    wav_samples,
)

if TYPE_CHECKING:
    from companion.models import Voice

MBROLA_RATE_CORRECTION = 0.84
ESPEAK_INSTALL = "apt-get install -y espeak-ng"


def is_mbrola(voice_name: str) -> bool:
    return voice_name.lower().removeprefix("mb/").startswith("mb-")


# --- the voices espeak-ng has -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EspeakVoice:
    """One row of `espeak-ng --voices`."""

    language: str
    name: str
    file: str


def espeak_voices(*options: str) -> list[EspeakVoice]:
    """The rows of `espeak-ng --voices...` for each option, MBROLA voices only when installed."""
    if shutil.which("espeak-ng") is None:
        return []
    listing = "".join(
        subprocess.run(
            ["espeak-ng", option], capture_output=True, text=True, check=False, timeout=30
        ).stdout
        for option in options
    )
    found: list[EspeakVoice] = []
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[0] == "Pty":  # a header line
            continue
        language, name, file = fields[1], fields[3], fields[4]
        if file.startswith("mb/") and not _mbrola_installed(file[3:]):
            continue
        found.append(EspeakVoice(language, name, file))
    return found


def installed_voice_names() -> set[str]:
    """Every name espeak-ng accepts for -v: language codes, voice names and file names."""
    names: set[str] = set()
    for voice in espeak_voices("--voices", "--voices=mb"):  # plain --voices leaves out mbrola
        file = voice.file.lower()
        names.update({voice.language.lower(), voice.name.lower(), file, file.split("/")[-1]})
    return names


def list_voices() -> list[tuple[str, str]]:
    """Installed English voices as (name, description), from espeak-ng."""
    return [
        (
            voice.file.split("/")[-1] if voice.file.startswith("mb/") else voice.language,
            f"{voice.name} ({voice.file})",
        )
        for voice in espeak_voices("--voices=en")
        if not voice.file.startswith("!")
    ]


def _mbrola_installed(name: str) -> bool:
    voice = name.removeprefix("mb-").split("-")[0]
    return any(Path(base, voice).exists() for base in ("/usr/share/mbrola", "/usr/lib/mbrola"))


def check_espeak(voice: Voice) -> None:
    """Fail early on a voice espeak-ng does not have (it would speak with another)."""
    base = voice.name.split("+")[0].lower()
    if base not in installed_voice_names():
        raise SynthError(
            f"voice {voice.name!r}: not installed for espeak-ng (list them with: companion voices)"
        )


def check_pyttsx3(voice: Voice) -> None:
    return None  # pyttsx3 falls back to its own default voice: nothing to refuse


def _doctor(check: Callable[[Voice], None]) -> Callable[[Voice], str]:
    def doctor(voice: Voice) -> str:
        english = list_voices()
        if not english:
            raise VoiceProblem("no English espeak-ng voices", install_hint("espeak-ng"))
        try:
            check(voice)
        except CompanionError as error:
            raise VoiceProblem(
                str(error), "pick one from `companion voices` (set voice in companion.toml)"
            ) from None
        return f"{len(english)} English espeak-ng voices; using {voice.name!r}"

    return doctor


# --- speakers ---------------------------------------------------------------------------------


class EspeakSpeaker:
    """The espeak-ng command line, one process per utterance."""

    sample_rate = FRAME_RATE

    def __init__(self, voice: Voice) -> None:
        self.voice = voice
        # mbrola voices speak about 19% faster than espeak-ng's own at the same -s (audio.md)
        self._rate_correction = MBROLA_RATE_CORRECTION if is_mbrola(voice.name) else 1.0

    def speak(self, text: str, wav_path: Path, rate: float = 1.0) -> None:
        words_per_minute = round(self.voice.rate * rate * self._rate_correction)
        command = [
            "espeak-ng",
            "-v",
            self.voice.name,
            "-s",
            str(words_per_minute),
            "-p",
            str(self.voice.pitch),
            "-w",
            str(wav_path),
            "--stdin",
        ]
        try:
            result = subprocess.run(
                command, input=text.encode("utf-8"), capture_output=True, timeout=120, check=False
            )
        except FileNotFoundError:
            raise SynthError(f"espeak-ng: not installed ({install_hint('espeak-ng')})") from None
        if result.returncode != 0 or not has_frames(wav_path):
            detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
            reason = detail[-1] if detail else f"exit status {result.returncode}"
            raise SynthError(
                f"espeak-ng voice {self.voice.name!r}: no audio for {text[:40]!r} ({reason})"
            )

    def samples(self, text: str) -> bytes:
        return wav_samples(self, text)


class Pyttsx3Speaker:
    """pyttsx3, waiting for its completion callback and a non-empty file."""

    sample_rate = FRAME_RATE

    def __init__(self, voice: Voice) -> None:
        import pyttsx3  # imported here: only this engine needs it

        self.engine = pyttsx3.init()
        self.done = threading.Event()
        self.completed = False
        self.engine.connect("finished-utterance", self._finished)
        self.base_rate = voice.rate
        voice_id = voice.name if "/" in voice.name else f"gmw/{voice.name}"
        self.engine.setProperty("voice", voice_id)

    def _finished(self, name: str, completed: bool) -> None:
        self.completed = completed
        self.done.set()

    def speak(self, text: str, wav_path: Path, rate: float = 1.0) -> None:
        from pyttsx3.drivers import _espeak

        self.engine.setProperty("rate", round(self.base_rate * rate))
        for _attempt in range(3):
            started = time.monotonic()
            while _espeak.IsPlaying() and time.monotonic() - started < 5:
                time.sleep(0.01)
            wav_path.unlink(missing_ok=True)
            self.done.clear()
            self.completed = False
            with contextlib.redirect_stdout(io.StringIO()):
                self.engine.save_to_file(text, str(wav_path))
                self.engine.runAndWait()
                self.done.wait(120)
            for _ in range(200):
                if wav_path.exists():
                    break
                time.sleep(0.01)
            if self.completed and has_frames(wav_path):
                return
        raise SynthError(f"pyttsx3: no audio for {text[:40]!r} after 3 attempts")

    def samples(self, text: str) -> bytes:
        return wav_samples(self, text)


ESPEAK_NG = EngineSpec(
    name="espeak-ng",
    default_voice="en-us",
    pronunciation="respell",
    licence="GPL-3.0-or-later",
    summary="formant, fast drafts",
    voice_help="an espeak-ng voice such as en-us or mb-us1",
    install_hint=ESPEAK_INSTALL,
    check=check_espeak,
    speaker=EspeakSpeaker,
    voices=list_voices,
    doctor=_doctor(check_espeak),
    order=30,
    tools=("espeak-ng",),
)
PYTTSX3 = EngineSpec(
    name="pyttsx3",
    default_voice="en-us",
    pronunciation="respell",
    licence="MPL-2.0 (over espeak-ng)",
    summary="over libespeak-ng",
    voice_help="the espeak-ng voices",
    install_hint=f"pip install pyttsx3 and {ESPEAK_INSTALL}",
    check=check_pyttsx3,
    speaker=Pyttsx3Speaker,
    voices=lambda: [],
    doctor=_doctor(check_pyttsx3),
    order=40,
    module="pyttsx3",
    distribution="pyttsx3",
    tools=("espeak-ng",),
    voices_note="the espeak-ng voices above, through libespeak-ng",
)
ENGINE_SPECS = (ESPEAK_NG, PYTTSX3)
