"""`companion say`: one text or equation spoken to a file, without a build.

The text goes through the same steps as a lesson's: equations (``--latex``, or ``$...$``
inside the text) are read by the math engine, the catalog's lexicon gives each word its
pronunciation for the chosen engine, and the audio is loudness-normalized like a lesson.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from companion import synth, voices
from companion.errors import ConfigError, MathSpeechError
from companion.files import atomic_path
from companion.models import Paragraph, Section, Voice
from companion.pronounce import strip_math_markers
from companion.settings_table import DEFAULT


@dataclass(frozen=True, slots=True)
class SayResult:
    seconds: float
    engine: str
    voice: str
    given: str  # the text the engine was given (pronunciations applied)
    notes: tuple[str, ...] = ()


def say_paragraph(
    text: str, latex: bool, equation_rate: float = DEFAULT["equation_rate"]
) -> Paragraph:
    """The words of `text` as a lesson paragraph, with its equation spans.

    An equation (`latex`) is read at `equation_rate`, as a lesson reads its equations.
    """
    from companion.render import speak, speak_inline

    if not text.strip():
        raise ConfigError("say: the text is empty")
    try:
        marked = speak(text) if latex else speak_inline(text)
    except MathSpeechError as error:
        raise ConfigError(f"say: {error}") from None
    words, math = strip_math_markers(" ".join(marked.split()))
    if not words.endswith((".", "!", "?")):
        words += "."  # said as a whole sentence, as in a lesson (not trailing off)
    return Paragraph(words, pause_after=0.0, rate=equation_rate if latex else 1.0, math=math)


def say(
    text: str,
    output: Path,
    voice: Voice,
    *,
    latex: bool = False,
    catalog: Path | None = None,
    equation_rate: float = DEFAULT["equation_rate"],
) -> SayResult:
    """Write `text` spoken by `voice` to `output` (.mp3 or .wav).

    The voice and the rate are taken as given: config.option_settings checks them as a
    build's settings are checked.
    """
    from companion.topics import load_catalog

    if output.suffix.lower() not in (".mp3", ".wav"):
        raise ConfigError(f"{output}: the file name must end in .mp3 or .wav")
    voice, note = voices.prepare(voice)
    lexicon = load_catalog(catalog, check_speech=False).lexicon
    paragraph = say_paragraph(text, latex, equation_rate)
    given = " ".join(
        spoken for _, spoken in synth.spoken_sentences(paragraph, lexicon, voice.engine)
    )
    speaker = voices.speaker(voice)
    with tempfile.TemporaryDirectory(prefix="companion-say-") as tmp:
        section = Section("intro", "say", (paragraph,))
        # a cache of its own, always empty: no other rendering to meet, no probe to make
        audio, _made = synth.synthesize_section(
            section, voice, lexicon, Path(tmp), speaker, kernel="say"
        )
        output.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(output) as temp:
            _encode(audio.wav, temp, output.suffix.lower())
    return SayResult(
        round(audio.duration, 2), voice.engine, voice.name, given, (note,) if note else ()
    )


def _encode(wav: Path, out: Path, suffix: str) -> None:
    codec = (
        ["-c:a", "libmp3lame", "-b:a", synth.MP3_BITRATE, "-f", "mp3"]
        if suffix == ".mp3"
        else ["-c:a", "pcm_s16le", "-f", "wav"]
    )
    arguments = [
        *("-i", str(wav), "-af", synth.LOUDNESS_FILTER),
        *("-ar", str(voices.FRAME_RATE), "-ac", "1", *codec, str(out)),
    ]
    synth.run_ffmpeg(arguments, out, timeout=300)
