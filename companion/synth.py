"""Synthesize: Script -> section WAVs (cached) -> lesson-<hash8>.mp3 with tags, chapters and cover.

Speech comes from hibari's neural voice by default (companion/engines.py), or from Piper,
the espeak-ng command line, or pyttsx3. Every engine is made byte-for-byte repeatable,
which content-hash caching and parallel builds rely on. pyttsx3 runs behind a wrapper that
waits for each file to be complete (audio.md: on Linux it returns before the file is
written). Each sentence is given to the engine with the lexicon's pronunciations in the
form that engine reads (companion/pronounce.py); transcripts keep the words people read.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
import wave
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Protocol

from companion import engines, pronounce
from companion.errors import SynthError
from companion.files import atomic_path, sha256_text
from companion.models import Chapter, Cue, Engine, Paragraph, Pronunciation, Section, Voice

# Without ffmpeg, pydub warns on import; require_tools() reports it in one line instead.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Couldn't find ffmpeg", RuntimeWarning)
    from pydub import AudioSegment

# Raise when a code change alters the audio made from the same text.
SYNTH_FORMAT = 2
FRAME_RATE = 22050  # espeak-ng's rate, and the MP3's; hibari's sections stay at 24 kHz
LEAD_IN = 0.03  # seconds of an utterance's own silence kept before its first sound
TAIL = 0.08  # and after its last (engines pad differently: hibari ~0.3 s, espeak-ng ~0.33 s)
SILENCE_THRESHOLD = -50.0  # dBFS below which an utterance's edge counts as silence
UTTERANCE_LEVEL = -22.0  # dBFS (RMS) of each utterance when a lesson has two voices
SECTION_GAP = Voice().section_gap  # the default, in seconds
MP3_BITRATE = "64k"
KERNEL_TAG_LENGTH = 12  # hex digits of kernel_fingerprint in section cache names
LOUDNESS_FILTER = (
    "acompressor=threshold=-24dB:ratio=3:attack=5:release=80:makeup=4dB,"
    "loudnorm=I=-15.5:TP=-1.5:LRA=11:dual_mono=true"
)


# --- system tools ---------------------------------------------------------------------

INSTALL_HINTS = {
    "espeak-ng": "install it with: apt-get install -y espeak-ng",
    "ffmpeg": "install it with: apt-get install -y ffmpeg",
    "ffprobe": "install it with: apt-get install -y ffmpeg",
}


def missing_tools(engine: str = "espeak-ng") -> list[str]:
    """Names of the system programs a build needs that are not on PATH."""
    uses_espeak = engine in ("espeak-ng", "pyttsx3")
    needed = ["ffmpeg", "ffprobe"] + (["espeak-ng"] if uses_espeak else [])
    return [tool for tool in needed if shutil.which(tool) is None]


def require_tools(engine: str = "espeak-ng") -> None:
    missing = missing_tools(engine)
    if missing:
        hints = "; ".join(f"{tool} is not installed ({INSTALL_HINTS[tool]})" for tool in missing)
        raise SynthError(f"{missing[0]}: {hints}")


# --- speakers ---------------------------------------------------------------------------

MBROLA_RATE_CORRECTION = 0.84


def is_mbrola(voice_name: str) -> bool:
    return voice_name.lower().removeprefix("mb/").startswith("mb-")


class Speaker(Protocol):
    sample_rate: int  # of the WAVs it writes
    pronunciation: str  # how it reads the lexicon: one of pronounce.STYLES

    def speak(self, text: str, wav_path: Path, rate: float = 1.0) -> None:
        """Write `text` as speech to `wav_path` at `rate` times the voice's speed.

        The file is complete when the call returns.
        """

    def samples(self, text: str) -> bytes:
        """The engine's own output for `text` at the voice's speed, before it becomes a WAV:
        float32 samples for the neural engines (the most precise form there is)."""


class EspeakSpeaker:
    """The espeak-ng command line, one process per utterance."""

    sample_rate = FRAME_RATE
    pronunciation = "respell"

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
            raise SynthError(f"espeak-ng: not installed ({INSTALL_HINTS['espeak-ng']})") from None
        if result.returncode != 0 or not _has_frames(wav_path):
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
    pronunciation = "respell"

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
            if self.completed and _has_frames(wav_path):
                return
        raise SynthError(f"pyttsx3: no audio for {text[:40]!r} after 3 attempts")

    def samples(self, text: str) -> bytes:
        return wav_samples(self, text)


def wav_samples(speaker: Speaker, text: str) -> bytes:
    """The PCM frames of the WAV `speaker` writes for `text`."""
    with tempfile.TemporaryDirectory(prefix="companion-probe-") as tmp:
        wav = Path(tmp) / "probe.wav"
        speaker.speak(text, wav)
        with wave.open(str(wav), "rb") as handle:
            return handle.readframes(handle.getnframes())


# The speech kernels' fingerprint: this sentence, spoken. onnxruntime picks its kernels by the
# instructions of the CPU, so two kinds of machine can make different bytes of the same words.
PROBE_SENTENCE = "A probe of the voice: the gradient of x squared is two x, and e is 2.718."


@functools.cache
def kernel_fingerprint(voice: Voice) -> str:
    """A short hash of the raw samples this machine's speakers of `voice` make of
    PROBE_SENTENCE (with the second voice's, when there is one); computed once per process.

    Two machines with the same fingerprint render the same words to the same bytes. The
    section cache keeps each rendering under its fingerprint, so a lesson never joins
    sections of two kinds of machine.
    """
    voice = _named(voice)
    digest = hashlib.sha256(make_speaker(voice).samples(PROBE_SENTENCE))
    second = make_second_speaker(voice)
    if second is not None:
        digest.update(second.samples(PROBE_SENTENCE))
    return digest.hexdigest()[:KERNEL_TAG_LENGTH]


def installed_voice_names() -> set[str]:
    """Every name espeak-ng accepts for -v: language codes, voice names and file names."""
    if shutil.which("espeak-ng") is None:
        return set()
    listing = "".join(  # plain --voices leaves out the mbrola voices
        subprocess.run(
            ["espeak-ng", option], capture_output=True, text=True, check=False, timeout=30
        ).stdout
        for option in ("--voices", "--voices=mb")
    )
    names: set[str] = set()
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[0] == "Pty":  # a header line
            continue
        language, voice_name, file = fields[1], fields[3], fields[4]
        if file.startswith("mb/") and not _mbrola_installed(file[3:]):
            continue
        names.update(
            {language.lower(), voice_name.lower(), file.lower(), file.split("/")[-1].lower()}
        )
    return names


def check_voice(voice: Voice) -> None:
    """Fail early on a voice the engine does not have (espeak-ng would use another)."""
    voice = _named(voice)
    if voice.engine in ("hibari", "piper"):
        engines.check_neural_voice(voice)
        return
    if voice.engine != "espeak-ng":
        return
    base = voice.name.split("+")[0].lower()
    if base not in installed_voice_names():
        raise SynthError(
            f"voice {voice.name!r}: not installed for espeak-ng (list them with: companion voices)"
        )


def make_speaker(voice: Voice) -> Speaker:
    """The speaker of `voice` (neural models are loaded once per process)."""
    voice = _named(voice)
    if voice.engine == "hibari":
        return engines.HibariSpeaker(voice)
    if voice.engine == "piper":
        return engines.PiperSpeaker(voice)
    if voice.engine == "pyttsx3":
        return Pyttsx3Speaker(voice)
    if voice.engine == "espeak-ng":
        return EspeakSpeaker(voice)
    raise SynthError(f"engine {voice.engine!r}: unknown (use {', '.join(engines.ENGINES)})")


def make_second_speaker(voice: Voice) -> Speaker | None:
    """The speaker of the second voice (a Piper voice), or None when there is none."""
    if not voice.second:
        return None
    return engines.PiperSpeaker(replace(voice, name=voice.second, engine="piper"))


def _named(voice: Voice) -> Voice:
    """The voice with its engine's default name when it has none."""
    if voice.name or voice.engine not in engines.DEFAULT_VOICES:
        return voice
    return replace(voice, name=engines.default_voice(voice.engine))


def _has_frames(path: Path) -> bool:
    try:
        with wave.open(str(path), "rb") as handle:
            return handle.getnframes() > 0
    except (OSError, EOFError, wave.Error):
        return False


# --- text preparation -------------------------------------------------------------------


def spoken_sentences(
    paragraph: Paragraph, lexicon: Sequence[Pronunciation], engine: Engine
) -> list[tuple[str, str]]:
    """(words people read, what the engine is given) for each sentence of the paragraph."""
    style = engines.PRONUNCIATION[engine]
    return [
        (sentence.text, pronounce.render(sentence, lexicon, style))
        for sentence in pronounce.sentences(paragraph)
    ]


# --- sections ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SectionAudio:
    wav: Path
    duration: float
    cues: tuple[Cue, ...]  # times relative to the start of the section


def section_key(section: Section, voice: Voice, lexicon: Sequence[Pronunciation]) -> str:
    """Content hash of everything that decides a section's audio."""
    spoken = [
        (spoken_sentences(p, lexicon, voice.engine), p.pause_after, p.rate)
        for p in section.paragraphs
    ]
    return sha256_text(
        str(SYNTH_FORMAT), json.dumps(asdict(voice), sort_keys=True), json.dumps(spoken)
    )


def section_files(key: str, kernel: str) -> tuple[str, str]:
    """The cache names (WAV, metadata) of section `key` as rendered by speech kernels `kernel`."""
    return f"{key}.{kernel}.wav", f"{key}.{kernel}.json"


def synthesize_section(
    section: Section,
    voice: Voice,
    lexicon: Sequence[Pronunciation],
    cache_dir: Path,
    speaker: Speaker,
    second: Speaker | None = None,
    kernel: str = "",
) -> tuple[SectionAudio, bool]:
    """The section's audio from the cache, or made now; True when it was synthesized.

    `second` speaks the paragraphs marked for the second voice (voice.second names it).
    Only a rendering by the same speech kernels is reused (`kernel`, kernel_fingerprint).
    """
    key = section_key(section, voice, lexicon)
    wav_name, meta_name = section_files(key, kernel or kernel_fingerprint(voice))
    wav_path, meta_path = cache_dir / wav_name, cache_dir / meta_name
    if wav_path.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text("utf-8"))
        cached = tuple(Cue(c["start"], c["end"], c["text"]) for c in meta["cues"])
        return SectionAudio(wav_path, meta["duration"], cached), False
    audio, cues = _speak_paragraphs(section.paragraphs, voice, lexicon, speaker, second)
    with atomic_path(wav_path) as temp:
        _write_wav_file(audio, temp)
    duration = len(audio) / 1000.0
    meta = {"duration": duration, "cues": [asdict(cue) for cue in cues]}
    with atomic_path(meta_path) as temp:
        temp.write_text(json.dumps(meta), "utf-8")
    return SectionAudio(wav_path, duration, tuple(cues)), True


def _speak_paragraphs(
    paragraphs: Sequence[Paragraph],
    voice: Voice,
    lexicon: Sequence[Pronunciation],
    speaker: Speaker,
    second: Speaker | None = None,
) -> tuple[AudioSegment, list[Cue]]:
    rate = speaker.sample_rate
    audio = AudioSegment.silent(duration=0, frame_rate=rate)
    cues: list[Cue] = []
    with tempfile.TemporaryDirectory(prefix="companion-speak-") as tmp:
        for p_index, paragraph in enumerate(paragraphs):
            asker = second if paragraph.second_voice and second is not None else speaker
            engine: Engine = "piper" if asker is second else voice.engine
            sentences = spoken_sentences(paragraph, lexicon, engine)
            for s_index, (words, given) in enumerate(sentences):
                wav = Path(tmp) / f"{p_index}-{s_index}.wav"
                asker.speak(given, wav, paragraph.rate)
                spoken = _trimmed(_normalized(read_wav(wav), rate))
                if voice.second:  # two voices: every utterance at one level (matched)
                    spoken = _leveled(spoken)
                start = len(audio) / 1000.0
                audio += spoken
                cues.append(Cue(round(start, 3), round(len(audio) / 1000.0, 3), words))
                if s_index < len(sentences) - 1:
                    audio += _silence(voice.sentence_gap, rate)
            audio += _silence(paragraph.pause_after, rate)
    return audio, cues


def read_wav(path: Path) -> AudioSegment:
    """A WAV file as a pydub segment (read through a file we close: pydub leaves its own open)."""
    with path.open("rb") as handle:
        return AudioSegment.from_wav(handle)


def _write_wav_file(audio: AudioSegment, path: Path) -> None:
    """Write `audio` as a WAV file, closing the handle pydub's export returns."""
    audio.export(str(path), format="wav").close()


def _normalized(segment: AudioSegment, frame_rate: int = FRAME_RATE) -> AudioSegment:
    """Mono, 16-bit, at the speaker's rate (mbrola voices write 16 kHz: to 22.05 kHz)."""
    return segment.set_channels(1).set_sample_width(2).set_frame_rate(frame_rate)


def _leveled(segment: AudioSegment) -> AudioSegment:
    """The utterance at UTTERANCE_LEVEL dBFS (RMS), so two voices sound equally loud."""
    if segment.rms == 0:
        return segment
    return segment.apply_gain(UTTERANCE_LEVEL - segment.dBFS)


def _trimmed(segment: AudioSegment) -> AudioSegment:
    """The utterance with its leading and trailing silence cut to LEAD_IN and TAIL."""
    from pydub.silence import detect_leading_silence

    lead = detect_leading_silence(segment, SILENCE_THRESHOLD, chunk_size=5)
    tail = detect_leading_silence(segment.reverse(), SILENCE_THRESHOLD, chunk_size=5)
    if lead >= len(segment):
        return segment
    start = max(0, lead - round(LEAD_IN * 1000))
    end = min(len(segment), len(segment) - tail + round(TAIL * 1000))
    return segment[start:end]


def _silence(seconds: float, frame_rate: int = FRAME_RATE) -> AudioSegment:
    return AudioSegment.silent(duration=round(seconds * 1000), frame_rate=frame_rate)


# --- lessons ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LessonTags:
    title: str
    artist: str
    album: str
    genre: str = "Podcast"
    comment: str = ""


@dataclass(frozen=True, slots=True)
class LessonAudio:
    duration: float
    size: int
    chapters: tuple[Chapter, ...]
    cues: tuple[Cue, ...]


def assemble_lesson(
    sections: Sequence[Section],
    audios: Sequence[SectionAudio],
    tags: LessonTags,
    cover: Path | None,
    mp3_path: Path,
    section_gap: float = SECTION_GAP,
) -> LessonAudio:
    """Join section audio with pauses, normalize loudness, encode MP3 with tags and chapters."""
    require_tools("none")
    parts = [read_wav(part.wav) for part in audios]
    rate = parts[0].frame_rate if parts else FRAME_RATE
    audio = AudioSegment.silent(duration=0, frame_rate=rate)
    chapters: list[Chapter] = []
    cues: list[Cue] = []
    for index, (section, part, segment) in enumerate(zip(sections, audios, parts, strict=True)):
        start = len(audio) / 1000.0
        audio += _normalized(segment, rate)
        cues.extend(
            Cue(round(start + c.start, 3), round(start + c.end, 3), c.text) for c in part.cues
        )
        if index < len(sections) - 1:
            audio += _silence(section_gap, rate)
        chapters.append(Chapter(round(start, 3), round(len(audio) / 1000.0, 3), section.title))
    with tempfile.TemporaryDirectory(prefix="companion-encode-") as tmp:
        wav = Path(tmp) / "lesson.wav"
        _write_wav_file(audio, wav)
        metadata = Path(tmp) / "metadata.txt"
        metadata.write_text(ffmetadata(tags, chapters), "utf-8")
        with atomic_path(mp3_path) as temp:
            _encode(wav, metadata, cover, temp)
    return LessonAudio(len(audio) / 1000.0, mp3_path.stat().st_size, tuple(chapters), tuple(cues))


def run_ffmpeg(arguments: Sequence[str], out: Path, timeout: float) -> None:
    """Run ffmpeg quietly with `arguments` (inputs, filters, output); a failure names `out`."""
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *arguments]
    result = subprocess.run(command, capture_output=True, check=False, timeout=timeout)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SynthError(f"{out.name}: ffmpeg failed ({lines[-1] if lines else 'no output'})")


def _encode(wav: Path, metadata: Path, cover: Path | None, out: Path) -> None:
    command = ["-i", str(wav), "-i", str(metadata)]
    if cover is not None:
        command += [
            "-i",
            str(cover),
            "-map",
            "0:a",
            "-map",
            "2:v",
            "-c:v",
            "copy",
            "-disposition:v",
            "attached_pic",
        ]
    else:
        command += ["-map", "0:a"]
    command += [
        "-map_metadata",
        "1",
        "-map_chapters",
        "1",
        "-af",
        LOUDNESS_FILTER,
        "-ar",
        str(FRAME_RATE),
        "-ac",
        "1",
        "-c:a",
        "libmp3lame",
        "-b:a",
        MP3_BITRATE,
        "-id3v2_version",
        "3",
        "-f",
        "mp3",
        str(out),
    ]
    run_ffmpeg(command, out, timeout=600)


def ffmetadata(tags: LessonTags, chapters: Sequence[Chapter]) -> str:
    """An ffmpeg metadata file: tags plus chapters in time order."""
    lines = [";FFMETADATA1"]
    for name, value in (
        ("title", tags.title),
        ("artist", tags.artist),
        ("album", tags.album),
        ("genre", tags.genre),
        ("comment", tags.comment),
    ):
        if value:
            lines.append(f"{name}={_escape_meta(value)}")
    for chapter in chapters:
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={round(chapter.start * 1000)}",
            f"END={round(chapter.end * 1000)}",
            f"title={_escape_meta(chapter.title)}",
        ]
    return "\n".join(lines) + "\n"


def _escape_meta(value: str) -> str:
    value = " ".join(value.split())
    return re.sub(r"([=;#\\])", r"\\\1", value)


def probe_duration(path: Path) -> float:
    """The decoded duration of an audio file in seconds, from ffprobe."""
    result = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "default=noprint_wrappers=1:nokey=1",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    try:
        return float(result.stdout.strip())
    except ValueError:
        raise SynthError(f"{path}: ffprobe cannot read its duration") from None


def list_voices() -> list[tuple[str, str]]:
    """Installed English voices as (name, description), from espeak-ng."""
    if shutil.which("espeak-ng") is None:
        return []
    result = subprocess.run(
        ["espeak-ng", "--voices=en"], capture_output=True, text=True, check=False, timeout=30
    )
    voices: list[tuple[str, str]] = []
    for line in result.stdout.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5 and not fields[4].startswith("!"):
            language, _gender, name, file = fields[1], fields[2], fields[3], fields[4]
            if file.startswith("mb/") and not _mbrola_installed(file[3:]):
                continue
            voices.append(
                (file.split("/")[-1] if file.startswith("mb/") else language, f"{name} ({file})")
            )
    return voices


def _mbrola_installed(name: str) -> bool:
    voice = name.removeprefix("mb-").split("-")[0]
    return any(Path(base, voice).exists() for base in ("/usr/share/mbrola", "/usr/lib/mbrola"))
