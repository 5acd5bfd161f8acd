"""The golden list of the sample build, and how a build is compared with it on any CPU.

The list (tests/data/golden/sample_build.sha256) holds the SHA-256 of every output, the tool
versions, and the speech kernels' probe: `voices.kernel_fingerprint` of the default voice, a
hash of the raw samples the engine makes of a fixed sentence. onnxruntime picks its kernels by
the instructions of the CPU, so another kind of machine speaks the same words to other bytes.

When the probe and the versions are those of the list, every output is compared byte for
byte. Otherwise the outputs that do not depend on audio still are, and those that do are
compared within a tolerance, against a compact reference (sample_build.reference.npz):

- each lesson's timing: the same utterances, at most a quarter of them of another length
  (other kernels move a few utterances by whole vocoder frames; a real change of timing moves
  them all), none by more than UTTERANCE_TOLERANCE, and every silence between them within
  SILENCE_TOLERANCE; the lesson may drift by the sum of its utterances' differences
  (`drift`) plus SILENCE_TOLERANCE;
- each MP3, decoded: its duration within that drift and one MP3 frame, and per utterance
  the RMS envelope (20 ms frames) against the reference's: a signal-to-difference ratio of at least
  LESSON_SDR_DB over the lesson and UTTERANCE_SDR_DB for every utterance, where a frame
  only counts as different by how far it falls outside the reference's values within
  SHIFT_FRAMES frames (a vocoder frame that moved by 12.5 ms is not a change);
- each text output that records audio (stamps, chapters, transcripts, pages, feeds): its
  audio-derived numbers (times, sizes, durations) within the drift, and, with the
  reference's numbers put back in their place, the very bytes of the golden list.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from companion import voices
from companion.models import Voice
from tests.conftest import DATA, UPLOAD_BASE

GOLDEN = DATA / "golden" / "sample_build.sha256"
REFERENCE = DATA / "golden" / "sample_build.reference.npz"

RATE = 22050  # the lessons' MP3s
FRAME = 441  # 20 ms of samples per envelope frame
SHIFT_FRAMES = 2  # a frame may match the reference up to 40 ms either side
LESSON_SDR_DB = 30.0
UTTERANCE_SDR_DB = 20.0
SILENCE_TOLERANCE = 0.010  # seconds: silences, and the lesson beyond its utterances' drift
# One utterance's length: six vocoder frames (hibari: 12.5 ms each); simulated other kernels
# moved one utterance of the sample by 50 ms, and changed the length of at most 12% of a lesson's.
UTTERANCE_TOLERANCE = 0.075
CHANGED_UTTERANCES = 0.25  # the share of a lesson's utterances whose length may differ at all
MP3_FRAME_SECONDS = 576 / 22050  # a decoded MP3 lasts a whole number of frames
MP3_BYTES_PER_SECOND = 8000  # 64 kbit/s
MP3_FRAME_BYTES = 209  # one MPEG-2 layer III frame at 22.05 kHz, 64 kbit/s


# --- the list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Golden:
    versions: dict[str, str]
    probe: str  # voices.kernel_fingerprint of the default voice
    hashes: dict[str, str]  # output name -> sha256


def speech_probe() -> str:
    """This machine's fingerprint of the default voice's speech kernels."""
    voice, _ = voices.resolve(Voice())
    return voices.kernel_fingerprint(voice)


def read_golden(path: Path = GOLDEN) -> Golden:
    versions, hashes, probe = {}, {}, ""
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("# tool "):
            tool, _, version = line.removeprefix("# tool ").partition(": ")
            versions[tool] = version
        elif line.startswith("# probe: "):
            probe = line.removeprefix("# probe: ")
        elif line and not line.startswith("#"):
            digest, _, name = line.partition("  ")
            hashes[name] = digest
    return Golden(versions, probe, hashes)


def write_golden(golden: Golden, path: Path = GOLDEN) -> None:
    lines = [
        "# sha256 of every output of a cold build of the bundled sample",
        "# (tests/test_golden_build.py; update with --update-golden, on purpose only)",
        "# (the probe: voices.kernel_fingerprint, a hash of the default voice's raw samples)",
        f"# probe: {golden.probe}",
    ]
    lines += [f"# tool {tool}: {version}" for tool, version in sorted(golden.versions.items())]
    lines += [f"{digest}  {name}" for name, digest in sorted(golden.hashes.items())]
    path.write_text("\n".join(lines) + "\n", "utf-8")


def tolerant_reason(golden: Golden, versions: Mapping[str, str], probe: str) -> str | None:
    """Why audio-derived outputs cannot be compared byte for byte here (None: they can)."""
    if probe != golden.probe:
        return (
            f"speech kernels differ from the golden list's (probe {probe} here, "
            f"{golden.probe} in the list): audio-derived outputs compared within tolerance"
        )
    changed = sorted(tool for tool in versions if versions[tool] != golden.versions.get(tool))
    if changed:
        named = ", ".join(f"{t} {versions[t]} (list: {golden.versions.get(t)})" for t in changed)
        return f"tool versions differ: {named}: audio-derived outputs compared within tolerance"
    return None


# --- which outputs record audio, and where ----------------------------------------------------

TIME, SIZE, WHOLE_SECONDS = "time", "size", "whole seconds"
_CLOCK = r"(?<![\d:])(\d+:\d{2}(?::\d{2})?)(?=</)"  # site.clock: m:ss or h:mm:ss
MEASURES: dict[str, tuple[tuple[str, str], ...]] = {
    "stamp": ((r'"(?:duration|start|end)": ([0-9.]+)', TIME), (r'"size": ([0-9]+)', SIZE)),
    "chapters": ((r'"(?:startTime|endTime)": ([0-9.]+)', TIME),),
    "transcript": ((r"(\d{2}:\d{2}:\d{2}\.\d{3})", TIME),),
    "page": ((r'datetime="PT([0-9.]+)S"', TIME), (_CLOCK, WHOLE_SECONDS)),
    "feed": (
        (r'<enclosure url="[^"]*" length="([0-9]+)"', SIZE),
        (r"<itunes:duration>([0-9]+)</itunes:duration>", WHOLE_SECONDS),
    ),
}


def output_kind(name: str) -> str | None:
    """How an output depends on audio: "mp3", a key of MEASURES, or None (it does not)."""
    base = name.rsplit("/", 1)[-1]
    if name.startswith("episodes/") and re.fullmatch(r"lesson-[0-9a-f]{8}\.mp3", base):
        return "mp3"
    if name.startswith("episodes/") and base == "build.json":
        return "stamp"
    if name.startswith("episodes/") and re.fullmatch(r"chapters-[0-9a-f]{8}\.json", base):
        return "chapters"
    if name.startswith("episodes/") and re.fullmatch(r"transcript-[0-9a-f]{8}\.vtt", base):
        return "transcript"
    if name.endswith(".html"):
        return "page"
    if name.removeprefix("upload:") in ("feeds/companion.xml", "feeds/course.xml"):
        return "feed"
    return None


@dataclass(frozen=True)
class Measure:
    start: int
    end: int
    kind: str
    text: str


def measures(kind: str, text: str) -> list[Measure]:
    """The audio-derived numbers of a text output, in order of place."""
    found = [
        Measure(match.start(1), match.end(1), unit, match.group(1))
        for pattern, unit in MEASURES[kind]
        for match in re.finditer(pattern, text)
    ]
    return sorted(found, key=lambda measure: measure.start)


def value(measure_text: str, unit: str) -> float:
    if ":" in measure_text:
        seconds = 0.0
        for part in measure_text.split(":"):
            seconds = seconds * 60 + float(part)
        return seconds
    return float(measure_text)


def tolerance(unit: str, drift: float) -> float:
    if unit == TIME:
        return drift + 1e-9
    if unit == WHOLE_SECONDS:  # a rounded or truncated duration may step by one second
        return 1.0 + drift
    return MP3_BYTES_PER_SECOND * drift + 2 * MP3_FRAME_BYTES


def with_reference_numbers(
    name: str, text: str, reference: Sequence[str], drift: float
) -> tuple[str, list[str]]:
    """`text` with the reference's numbers in place of its own, and what is out of tolerance."""
    kind = output_kind(name)
    assert kind is not None and kind != "mp3"
    found = measures(kind, text)
    if len(found) != len(reference):
        return text, [
            f"{name}: {len(found)} audio-derived numbers, the reference has {len(reference)}"
        ]
    problems, pieces, at = [], [], 0
    for measure, wanted in zip(found, reference, strict=True):
        difference = abs(value(measure.text, measure.kind) - value(wanted, measure.kind))
        if difference > tolerance(measure.kind, drift):
            problems.append(
                f"{name}: {measure.kind} {measure.text}, the reference has {wanted} "
                f"(allowed {tolerance(measure.kind, drift):g})"
            )
        pieces += [text[at : measure.start], wanted]
        at = measure.end
    return "".join([*pieces, text[at:]]), problems


# --- timing and audio -------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """A lesson's utterances (start, end) and its duration, from its stamp."""

    cues: tuple[tuple[float, float], ...]
    duration: float

    @staticmethod
    def of_stamp(data: bytes) -> Timing:
        lesson = json.loads(data)["lesson"]
        cues = tuple((float(c["start"]), float(c["end"])) for c in lesson["transcript"])
        return Timing(cues, float(lesson["duration"]))

    def silences(self) -> list[float]:
        ends = [0.0, *(end for _, end in self.cues)]
        starts = [*(start for start, _ in self.cues), self.duration]
        return [start - end for start, end in zip(starts, ends, strict=True)]


def drift(slug: str, reference: Timing, built: Timing) -> tuple[float, list[str]]:
    """How far the lesson's times may move (seconds), and what is out of tolerance."""
    if len(reference.cues) != len(built.cues):
        return 0.0, [
            f"{slug}: {len(built.cues)} utterances, the reference has {len(reference.cues)}"
        ]
    problems, moved, changed = [], 0.0, 0
    for index, (ref, cue) in enumerate(zip(reference.cues, built.cues, strict=True)):
        change = abs((cue[1] - cue[0]) - (ref[1] - ref[0]))
        moved += change
        changed += change > 0.002  # times are rounded to the millisecond
        if change > UTTERANCE_TOLERANCE:
            problems.append(
                f"{slug}: utterance {index + 1} is {change * 1000:.0f} ms longer or shorter "
                f"than the reference's (allowed {UTTERANCE_TOLERANCE * 1000:.0f} ms)"
            )
    if changed > CHANGED_UTTERANCES * len(built.cues):
        problems.append(
            f"{slug}: {changed} of {len(built.cues)} utterances changed length (other speech "
            f"kernels change at most {CHANGED_UTTERANCES:.0%})"
        )
    for index, (ref, gap) in enumerate(zip(reference.silences(), built.silences(), strict=True)):
        if abs(gap - ref) > SILENCE_TOLERANCE + 0.002:  # times are rounded to the millisecond
            problems.append(
                f"{slug}: silence {index + 1} lasts {gap:.3f} s, the reference's {ref:.3f} s"
            )
    return SILENCE_TOLERANCE + moved, problems


def decode(path: Path) -> np.ndarray:
    """The MP3's samples, mono float at RATE, as ffmpeg decodes them."""
    command = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1"]
    raw = subprocess.run([*command, "-ar", str(RATE), "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, "<f4").astype(np.float64)


def envelope(samples: np.ndarray) -> np.ndarray:
    count = len(samples) // FRAME
    frames = samples[: count * FRAME].reshape(count, FRAME)
    return np.sqrt((frames**2).mean(axis=1))


def utterance_envelopes(samples: np.ndarray, timing: Timing) -> list[np.ndarray]:
    """The RMS envelope of each utterance, its frames counted from the utterance's start."""
    return [
        envelope(samples[round(start * RATE) : round(end * RATE)]) for start, end in timing.cues
    ]


def to_centibels(levels: np.ndarray) -> np.ndarray:
    """An envelope as stored: dBFS x 100 + 12000 in uint16 (floor -120 dBFS)."""
    decibels = 20 * np.log10(np.maximum(levels, 1e-6))
    return np.round((decibels + 120) * 100).clip(0, 65535).astype(np.uint16)


def from_centibels(stored: np.ndarray) -> np.ndarray:
    return 10 ** ((stored.astype(np.float64) / 100 - 120) / 20)


def outside_tube(reference: np.ndarray, built: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(reference, how far each built frame is from the reference's range near it)."""
    count = min(len(reference), len(built))
    reference, built = reference[:count], built[:count]
    padded = np.pad(reference, SHIFT_FRAMES, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * SHIFT_FRAMES + 1)
    low, high = windows.min(axis=1), windows.max(axis=1)
    return reference, np.maximum(low - built, 0) + np.maximum(built - high, 0)


def ratio_db(signal: float, difference: float) -> float:
    return float("inf") if difference == 0 else 10 * np.log10(signal / difference)


@dataclass(frozen=True)
class AudioMatch:
    lesson_db: float  # signal-to-difference ratio over the lesson's utterances
    worst_db: float  # of its worst utterance
    worst: int  # which (1-based)


def match_audio(reference: Sequence[np.ndarray], built: Sequence[np.ndarray]) -> AudioMatch:
    signal = difference = 0.0
    worst_db, worst = float("inf"), 0
    for index, (ref, cand) in enumerate(zip(reference, built, strict=True), start=1):
        ref, outside = outside_tube(ref, cand)
        energy, missed = float((ref**2).sum()), float((outside**2).sum())
        signal, difference = signal + energy, difference + missed
        if energy > 0 and ratio_db(energy, missed) < worst_db:
            worst_db, worst = ratio_db(energy, missed), index
    return AudioMatch(ratio_db(signal, difference), worst_db, worst)


# --- the reference ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    timings: dict[str, Timing]  # lesson slug -> its timing
    durations: dict[str, float]  # MP3 name -> decoded seconds
    envelopes: dict[str, list[np.ndarray]]  # MP3 name -> RMS envelope of each utterance
    numbers: dict[str, list[str]]  # text output name -> its audio-derived numbers


def lesson_slug(name: str) -> str:
    return name.split("/")[1]


def measure_reference(outputs: Mapping[str, bytes]) -> Reference:
    """The reference of a build's outputs (name -> bytes, as output_files gives them)."""
    timings = {
        lesson_slug(name): Timing.of_stamp(data)
        for name, data in outputs.items()
        if output_kind(name) == "stamp"
    }
    durations, envelopes, numbers = {}, {}, {}
    for name, data in sorted(outputs.items()):
        kind = output_kind(name)
        if kind == "mp3":
            samples = decode_bytes(data)
            durations[name] = len(samples) / RATE
            envelopes[name] = [
                from_centibels(to_centibels(e))
                for e in utterance_envelopes(samples, timings[lesson_slug(name)])
            ]
        elif kind is not None:
            numbers[name] = [m.text for m in measures(kind, data.decode("utf-8"))]
    return Reference(timings, durations, envelopes, numbers)


def decode_bytes(data: bytes) -> np.ndarray:
    command = ["ffmpeg", "-nostdin", "-v", "error", "-f", "mp3", "-i", "-", "-f", "f32le"]
    raw = subprocess.run(
        [*command, "-ac", "1", "-ar", str(RATE), "-"], input=data, capture_output=True, check=True
    ).stdout
    return np.frombuffer(raw, "<f4").astype(np.float64)


def write_reference(reference: Reference, path: Path = REFERENCE) -> None:
    arrays = {
        f"envelope:{name}": np.concatenate([to_centibels(e) for e in envelopes] or [[]]).astype(
            np.uint16
        )
        for name, envelopes in reference.envelopes.items()
    }
    record = {
        "timings": {
            slug: {"cues": [list(cue) for cue in t.cues], "duration": t.duration}
            for slug, t in reference.timings.items()
        },
        "durations": reference.durations,
        "numbers": reference.numbers,
    }
    arrays["record"] = np.frombuffer(json.dumps(record, sort_keys=True).encode("utf-8"), np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def read_reference(path: Path = REFERENCE) -> Reference:
    with np.load(path) as stored:
        record = json.loads(stored["record"].tobytes().decode("utf-8"))
        timings = {
            slug: Timing(tuple((float(s), float(e)) for s, e in t["cues"]), float(t["duration"]))
            for slug, t in record["timings"].items()
        }
        envelopes = {}
        for key in stored.files:
            if key.startswith("envelope:"):
                name = key.removeprefix("envelope:")
                counts = [
                    (round(end * RATE) - round(start * RATE)) // FRAME
                    for start, end in timings[lesson_slug(name)].cues
                ]
                levels = from_centibels(stored[key])
                envelopes[name] = np.split(levels, np.cumsum(counts)[:-1]) if counts else []
    return Reference(timings, record["durations"], envelopes, record["numbers"])


# --- comparing ----------------------------------------------------------------------------------


def output_files(workdir: Path) -> dict[str, bytes]:
    """The bytes of every output the golden list names (the upload feeds made again)."""
    from companion.upload import collect

    files = {}
    for path in sorted(workdir.rglob("*")):
        relative = path.relative_to(workdir).as_posix()
        if path.is_file() and not relative.startswith(".cache/"):
            files[relative] = path.read_bytes()
    for item in collect(workdir, UPLOAD_BASE):
        if item.data is not None:
            files[f"upload:{item.relative}"] = item.data
    return files


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compare_within_tolerance(
    outputs: Mapping[str, bytes],
    golden: Golden,
    reference: Reference,
    on_lesson: Callable[[str, AudioMatch], None] | None = None,
) -> list[str]:
    """What differs beyond the tolerance between a build's outputs and the golden list."""
    if sorted(outputs) != sorted(golden.hashes):
        added = sorted(set(outputs) - set(golden.hashes))
        missing = sorted(set(golden.hashes) - set(outputs))
        return [f"the set of output files changed: new {added[:6]}, missing {missing[:6]}"]
    problems: list[str] = []
    drifts: dict[str, float] = {}
    timings: dict[str, Timing] = {}
    for name in sorted(outputs):
        if output_kind(name) == "stamp":
            slug = lesson_slug(name)
            if slug not in reference.timings:
                problems.append(f"{slug}: not in the reference")
                continue
            timings[slug] = Timing.of_stamp(outputs[name])
            drifts[slug], found = drift(slug, reference.timings[slug], timings[slug])
            problems += found
    widest = max(drifts.values(), default=SILENCE_TOLERANCE)
    for name, data in sorted(outputs.items()):
        kind = output_kind(name)
        if kind is None:
            if sha256(data) != golden.hashes[name]:
                problems.append(f"{name}: changed (it does not depend on audio)")
        elif kind == "mp3":
            problems += _compare_mp3(name, data, reference, timings, drifts, on_lesson)
        else:
            allowed = (
                drifts.get(lesson_slug(name), widest) if name.startswith("episodes/") else widest
            )
            text, found = with_reference_numbers(
                name, data.decode("utf-8"), reference.numbers.get(name, []), allowed
            )
            problems += found
            if not found and sha256(text.encode("utf-8")) != golden.hashes[name]:
                problems.append(f"{name}: changed beyond its audio-derived numbers")
    return problems


def _compare_mp3(
    name: str,
    data: bytes,
    reference: Reference,
    timings: Mapping[str, Timing],
    drifts: Mapping[str, float],
    on_lesson: Callable[[str, AudioMatch], None] | None,
) -> list[str]:
    """The MP3 against the reference: its duration, and each utterance's envelope (the
    utterances cut at this build's own times, so that earlier drift does not count)."""
    slug = lesson_slug(name)
    if slug not in drifts or name not in reference.envelopes:
        return [f"{name}: no reference to compare with"]
    samples = decode_bytes(data)
    problems = []
    seconds, wanted = len(samples) / RATE, reference.durations[name]
    allowed = drifts[slug] + MP3_FRAME_SECONDS
    if abs(seconds - wanted) > allowed:
        problems.append(
            f"{name}: lasts {seconds:.3f} s, the reference {wanted:.3f} s "
            f"(allowed {allowed * 1000:.0f} ms)"
        )
    built = utterance_envelopes(samples, timings[slug])
    match = match_audio(reference.envelopes[name], built)
    if on_lesson:
        on_lesson(slug, match)
    if match.lesson_db < LESSON_SDR_DB:
        problems.append(
            f"{name}: signal-to-difference {match.lesson_db:.1f} dB over the lesson "
            f"(at least {LESSON_SDR_DB:g})"
        )
    if match.worst_db < UTTERANCE_SDR_DB:
        problems.append(
            f"{name}: utterance {match.worst} at {match.worst_db:.1f} dB signal-to-difference "
            f"(at least {UTTERANCE_SDR_DB:g})"
        )
    return problems


def summary(problems: Iterable[str], limit: int = 12) -> str:
    items = list(problems)
    return f"{len(items)} problems: " + "; ".join(items[:limit])
