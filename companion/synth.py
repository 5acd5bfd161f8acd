"""Synthesize: Script -> section WAVs (cached) -> lesson-<hash8>.mp3 with tags, chapters and cover.

Speech comes from the speakers of companion/voices/ (hibari's neural voice by default).
Every engine is made byte-for-byte repeatable, which content-hash caching and parallel
builds rely on. Each sentence is given to the engine with the lexicon's pronunciations in
the form that engine reads (companion/pronounce.py); transcripts keep the words people read.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from companion import pronounce, voices
from companion.errors import SynthError
from companion.files import atomic_path, sha256_text
from companion.models import Chapter, Cue, Paragraph, Pronunciation, Section, Voice
from companion.settings_table import DEFAULT
from companion.voices import FRAME_RATE, Speaker

# Without ffmpeg, pydub warns on import; voices.require_tools() reports it in one line instead.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Couldn't find ffmpeg", RuntimeWarning)
    from pydub import AudioSegment

# Raise when a code change alters the audio made from the same text.
SYNTH_FORMAT = 3
LEAD_IN = 0.03  # seconds of an utterance's own silence kept before its first sound
TAIL = 0.08  # and after its last (engines pad differently: hibari ~0.3 s, espeak-ng ~0.33 s)
SILENCE_THRESHOLD = -50.0  # dBFS below which an utterance's edge counts as silence
CLAUSE_GAP = 0.45  # seconds between the clauses of an equation read slowly (at its commas)
UTTERANCE_LEVEL = -22.0  # dBFS (RMS) of each utterance when a lesson has two voices
SECTION_GAP = DEFAULT["section_gap"]  # seconds
MP3_BITRATE = "64k"
LOUDNESS_FILTER = (
    "acompressor=threshold=-24dB:ratio=3:attack=5:release=80:makeup=4dB,"
    "loudnorm=I=-15.5:TP=-1.5:LRA=11:dual_mono=true"
)


# --- text preparation -------------------------------------------------------------------


def spoken_sentences(
    paragraph: Paragraph, lexicon: Sequence[Pronunciation], engine: str
) -> list[tuple[str, str]]:
    """(words people read, what the engine is given) for each sentence of the paragraph."""
    style = voices.pronunciation(engine)
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
    wav_name, meta_name = section_files(key, kernel or voices.kernel_fingerprint(voice))
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
            engine = voices.SECOND_ENGINE if asker is second else voice.engine
            style = voices.pronunciation(engine)
            sentences = pronounce.sentences(paragraph)
            for s_index, sentence in enumerate(sentences):
                # an equation read slowly pauses at its clause breaks; prose flows
                pieces = pronounce.clauses(sentence) if paragraph.rate < 1 else [sentence]
                spoken = _silence(0, rate)
                for c_index, piece in enumerate(pieces):
                    wav = Path(tmp) / f"{p_index}-{s_index}-{c_index}.wav"
                    given = pronounce.render(piece, lexicon, style)
                    asker.speak(given, wav, paragraph.rate)
                    if c_index:
                        spoken += _silence(CLAUSE_GAP, rate)
                    spoken += _trimmed(_normalized(read_wav(wav), rate))
                if voice.second:  # two voices: every utterance at one level (matched)
                    spoken = _leveled(spoken)
                words = sentence.text
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
    voices.require_tools(None)
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
