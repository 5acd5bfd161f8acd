"""Golden build: the bundled sample, built cold, gives the outputs of the stored list.

The build is the session's `sample_build` (tests/conftest.py: every episode lesson and
review of the sample and the course's first lessons), which the end-to-end tests check too.

Every output file of the workdir (scripts, MP3s, transcripts, JSON chapters, stamps, feeds,
pages, the cover and the stylesheet) and the feeds `companion publish --base-url` would upload
are compared with tests/data/golden/sample_build.sha256 (tests/golden.py says how). On a
machine whose speech kernels make the bytes of the list (the probe says so), byte for byte;
on any other, the outputs that record audio are compared within tolerance, with a line
saying why. A change of output on purpose updates the list and its reference:
`pytest tests/test_golden_build.py -m slow --update-golden`, then review the diff.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pytest

from tests import golden
from tests.conftest import SampleBuild, require_audio_tools


def tool_versions() -> dict[str, str]:
    """The first line of `espeak-ng --version` and `ffmpeg -version`, and the versions of the
    Python packages the default voice's audio comes from."""
    versions = {}
    for tool, flag in (("espeak-ng", "--version"), ("ffmpeg", "-version")):
        out = subprocess.run([tool, flag], capture_output=True, text=True, check=True).stdout
        versions[tool] = out.splitlines()[0].split(" Copyright")[0].split("  Data at")[0]
    for package in ("hibari-tts", "onnxruntime", "numpy", "scipy"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def built_outputs(sample_build: SampleBuild) -> dict[str, bytes]:
    """The sample build's outputs, as they were right after the build."""
    outputs = golden.output_files(sample_build.workdir)
    touched = sorted(
        name
        for name in sample_build.hashes
        if golden.sha256(outputs.get(name, b"")) != sample_build.hashes[name]
    )
    assert not touched, f"the session's sample build was changed after it was built: {touched[:6]}"
    return outputs


@pytest.mark.slow
def test_sample_build_matches_the_golden_list(
    sample_build: SampleBuild, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    probe = golden.speech_probe()
    assert sample_build.report.exit_code == 0, sample_build.report.failed
    hashes = sample_build.hashes
    versions = tool_versions()
    if request.config.getoption("--update-golden"):
        outputs = built_outputs(sample_build)
        golden.write_golden(golden.Golden(versions, probe, hashes))
        golden.write_reference(golden.measure_reference(outputs))
        return
    listed = golden.read_golden()
    reason = golden.tolerant_reason(listed, versions, probe)
    if reason is not None:
        with capsys.disabled():
            print(f"\ngolden build: {reason}")
        problems = golden.compare_within_tolerance(
            built_outputs(sample_build), listed, golden.read_reference()
        )
        assert not problems, golden.summary(problems)
        return
    assert sorted(hashes) == sorted(listed.hashes), "the set of output files changed"
    changed = sorted(name for name in hashes if hashes[name] != listed.hashes[name])
    kinds = Counter(
        re.sub(r"-[0-9a-f]{8}\.", "-<hash>.", name.rsplit("/", 1)[-1])
        if name.startswith("episodes/")
        else name
        for name in changed
    )
    assert not changed, (
        f"{len(changed)} outputs changed ({dict(sorted(kinds.items()))}): {', '.join(changed[:12])}"
    )


# --- the other-CPU path, run here too ---------------------------------------------------------


@pytest.fixture(scope="module")
def other_cpu(
    sample_build: SampleBuild,
) -> tuple[dict[str, bytes], golden.Golden, golden.Reference]:
    """The sample build's outputs, the list, and the reference, compared as another CPU would."""
    listed = golden.read_golden()
    reason = golden.tolerant_reason(listed, tool_versions(), "0" * 12)  # a probe that differs
    assert reason is not None and reason.startswith("speech kernels differ")
    return built_outputs(sample_build), listed, golden.read_reference()


@pytest.mark.slow
def test_the_other_cpu_path_passes_the_sample_build(
    other_cpu: tuple[dict[str, bytes], golden.Golden, golden.Reference],
) -> None:
    outputs, listed, reference = other_cpu
    matches: dict[str, golden.AudioMatch] = {}
    problems = golden.compare_within_tolerance(
        outputs, listed, reference, lambda slug, match: matches.__setitem__(slug, match)
    )
    assert not problems, golden.summary(problems)
    assert len(matches) == sum(golden.output_kind(name) == "mp3" for name in outputs) > 20


def _one(outputs: dict[str, bytes], pattern: str) -> str:
    return next(name for name in sorted(outputs) if re.fullmatch(pattern, name))


@pytest.mark.slow
def test_the_other_cpu_path_catches_a_changed_word(
    other_cpu: tuple[dict[str, bytes], golden.Golden, golden.Reference],
) -> None:
    outputs, listed, reference = other_cpu
    changed = dict(outputs)
    vtt = _one(outputs, r"episodes/course-vectors/transcript-[0-9a-f]{8}\.vtt")
    changed[vtt] = outputs[vtt].replace(b" vector", b" victor", 1)
    assert changed[vtt] != outputs[vtt]
    script = "scripts/course-vectors.txt"
    changed[script] = outputs[script].replace(b" vector", b" victor", 1)
    problems = golden.compare_within_tolerance(changed, listed, reference)
    assert problems == [
        f"{vtt}: changed beyond its audio-derived numbers",
        f"{script}: changed (it does not depend on audio)",
    ]


@pytest.mark.slow
def test_the_other_cpu_path_catches_changed_audio_and_timing(
    other_cpu: tuple[dict[str, bytes], golden.Golden, golden.Reference], tmp_path: Path
) -> None:
    require_audio_tools()
    outputs, listed, reference = other_cpu
    mp3 = _one(outputs, r"episodes/course-vectors/lesson-[0-9a-f]{8}\.mp3")
    timing = reference.timings["course-vectors"]
    samples = golden.decode_bytes(outputs[mp3])
    # one utterance spoken in place of another (same place, same length)
    (start, end), (other, _) = timing.cues[3], timing.cues[8]
    first, last, source = (round(t * golden.RATE) for t in (start, end, other))
    swapped = samples.copy()
    swapped[first:last] = samples[source : source + last - first]
    changed = dict(outputs)
    changed[mp3] = encode(swapped, tmp_path / "swapped.mp3")
    problems = golden.compare_within_tolerance(changed, listed, reference)
    assert [p for p in problems if "utterance 4 at" in p], problems
    # the same audio 1 dB louder
    changed[mp3] = encode(samples * 10 ** (1 / 20), tmp_path / "louder.mp3")
    problems = golden.compare_within_tolerance(changed, listed, reference)
    assert [p for p in problems if "over the lesson" in p], problems
    # timing: one utterance cut short by 100 ms; every utterance 10 ms longer (a new trim)
    stamp = "episodes/course-vectors/build.json"
    cut, longer = json.loads(outputs[stamp]), json.loads(outputs[stamp])
    cut["lesson"]["transcript"][2]["end"] -= 0.1
    cues = longer["lesson"]["transcript"]
    for cue in cues:
        cue["end"] = round(cue["end"] + 0.01, 3)
    for record, wanted in (
        (cut, "course-vectors: utterance 3 is 100 ms longer or shorter than the reference's"),
        (longer, f"course-vectors: {len(cues)} of {len(cues)} utterances changed length"),
    ):
        moved = dict(outputs)
        moved[stamp] = (
            json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        ).encode()
        problems = golden.compare_within_tolerance(moved, listed, reference)
        assert any(p.startswith(wanted) for p in problems), problems


def encode(samples: np.ndarray, path: Path) -> bytes:
    """Samples as an MP3 like a lesson's (22.05 kHz mono, 64 kbit/s)."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "s16le", "-ar", str(golden.RATE)]
    command += ["-ac", "1", "-i", "-", "-c:a", "libmp3lame", "-b:a", "64k", str(path)]
    subprocess.run(command, input=pcm, check=True)
    return path.read_bytes()


# --- fast: the pieces of the comparison --------------------------------------------------------


def test_golden_list_names_every_kind_of_output() -> None:
    """The stored list covers each artefact a build publishes (so the slow test means it)."""
    listed = golden.read_golden()
    names = list(listed.hashes)
    for pattern in (
        "scripts/",
        "/lesson-",
        "/transcript-",
        "/chapters-",
        "/build.json",
        "/index.html",
        "feeds/companion.xml",
        "feeds/course.xml",
        "upload:feeds/companion.xml",
        "upload:feeds/course.xml",
        "index.html",
    ):
        assert any(pattern in name for name in names), pattern
    assert re.fullmatch(r"[0-9a-f]{12}", listed.probe)


def test_the_reference_covers_every_audio_derived_output() -> None:
    listed, reference = golden.read_golden(), golden.read_reference()
    kinds = {name: golden.output_kind(name) for name in listed.hashes}
    assert set(reference.envelopes) == {n for n, k in kinds.items() if k == "mp3"}
    assert set(reference.numbers) == {n for n, k in kinds.items() if k not in (None, "mp3")}
    assert set(reference.timings) == {
        golden.lesson_slug(n) for n, k in kinds.items() if k == "stamp"
    }
    for name, envelopes in reference.envelopes.items():
        assert len(envelopes) == len(reference.timings[golden.lesson_slug(name)].cues) > 5
    assert golden.REFERENCE.stat().st_size < 400_000


def test_probe_reason_names_both_probes_and_tool_versions() -> None:
    listed = golden.Golden({"ffmpeg": "5.1", "onnxruntime": "1.32.0"}, "a" * 12, {})
    assert golden.tolerant_reason(listed, dict(listed.versions), "a" * 12) is None
    reason = golden.tolerant_reason(listed, dict(listed.versions), "b" * 12)
    assert reason == (
        f"speech kernels differ from the golden list's (probe {'b' * 12} here, {'a' * 12} in "
        "the list): audio-derived outputs compared within tolerance"
    )
    newer = {**listed.versions, "ffmpeg": "6.0"}
    assert golden.tolerant_reason(listed, newer, "a" * 12) == (
        "tool versions differ: ffmpeg 6.0 (list: 5.1): audio-derived outputs compared within "
        "tolerance"
    )


def test_numbers_within_tolerance_are_put_back_and_others_are_named() -> None:
    vtt = (
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.500\nOne.\n\n"
        "2\n00:00:03.000 --> 00:01:04.250\nTwo.\n"
    )
    name = "episodes/x/transcript-0123abcd.vtt"
    reference = [m.text for m in golden.measures("transcript", vtt)]
    assert reference == ["00:00:01.000", "00:00:02.500", "00:00:03.000", "00:01:04.250"]
    moved = vtt.replace("00:00:02.500", "00:00:02.507").replace("00:01:04.250", "00:01:04.241")
    text, problems = golden.with_reference_numbers(name, moved, reference, drift=0.010)
    assert (text, problems) == (vtt, [])
    _, problems = golden.with_reference_numbers(name, moved, reference, drift=0.005)
    assert problems == [
        f"{name}: time 00:00:02.507, the reference has 00:00:02.500 (allowed 0.005)",
        f"{name}: time 00:01:04.241, the reference has 00:01:04.250 (allowed 0.005)",
    ]
    feed = (
        '<enclosure url="http://x/a.mp3" length="2455645" type="audio/mpeg" />'
        "<itunes:duration>296</itunes:duration>"
    )
    text, problems = golden.with_reference_numbers(
        "feeds/companion.xml", feed, ["2455436", "295"], drift=0.035
    )
    assert problems == [] and 'length="2455436"' in text and ">295<" in text
    page = (
        '<p class="meta"><time datetime="2025-06-01">June 1</time> · 4:56</p>'
        '<time datetime="PT26.170S">0:26</time>'
    )
    assert [m.text for m in golden.measures("page", page)] == ["4:56", "26.170", "0:26"]


def test_timing_drift_allows_each_utterance_its_frames_and_no_more() -> None:
    reference = golden.Timing(((0.03, 1.2), (1.6, 3.0), (3.4, 5.0)), 5.5)
    cues = tuple((1.0 * n + 0.03, 1.0 * n + 0.6) for n in range(8))
    reference = golden.Timing(cues, 8.5)
    # other kernels: two utterances of eight one and two vocoder frames longer
    kernel = golden.Timing(
        (
            *cues[:3],
            (3.03, 3.6125),
            (4.0425, 4.6375),
            *((s + 0.0375, e + 0.0375) for s, e in cues[5:]),
        ),
        8.5375,
    )
    allowed, problems = golden.drift("x", reference, kernel)
    assert problems == [] and allowed == pytest.approx(0.010 + 0.0125 + 0.025)
    cut = golden.Timing((*cues[:3], (3.03, 3.5), *cues[4:]), 8.5)
    _, problems = golden.drift("x", reference, cut)
    assert problems[0] == (
        "x: utterance 4 is 100 ms longer or shorter than the reference's (allowed 75 ms)"
    )
    slower = golden.Timing(tuple((s * 1.01, e * 1.01) for s, e in cues), 8.5 * 1.01)
    _, problems = golden.drift("x", reference, slower)
    assert "x: 8 of 8 utterances changed length" in problems[0]
    wider = golden.Timing((*cues[:4], *((s + 0.05, e + 0.05) for s, e in cues[4:])), 8.55)
    _, problems = golden.drift("x", reference, wider)
    assert problems == ["x: silence 5 lasts 0.480 s, the reference's 0.430 s"]


def test_an_envelope_shifted_by_a_frame_matches_and_a_changed_one_does_not() -> None:
    rng = np.random.default_rng(0)
    speech = np.abs(rng.normal(0.1, 0.05, 200)) * (np.sin(np.arange(200) / 4) + 1.2)
    shifted = np.concatenate([speech[:80], speech[79:-1]])  # one frame later from frame 80 on
    assert golden.match_audio([speech], [shifted]).lesson_db > 40
    louder = speech * 10 ** (1 / 20)
    assert golden.match_audio([speech], [louder]).lesson_db < golden.LESSON_SDR_DB
    other = speech.copy()
    other[100:130] = speech[100:130] * 0.1  # a word lost under the noise floor
    match = golden.match_audio([speech, speech], [speech, other])
    assert match.worst == 2 and match.worst_db < golden.UTTERANCE_SDR_DB


def test_envelopes_are_stored_to_a_hundredth_of_a_decibel(tmp_path: Path) -> None:
    levels = np.array([1e-7, 1e-3, 0.05, 0.5, 1.0])
    back = golden.from_centibels(golden.to_centibels(levels))
    assert np.allclose(back[1:], levels[1:], rtol=0.0012) and back[0] == pytest.approx(1e-6)
    timing = golden.Timing(((0.1, 0.5), (0.6, 0.9)), 1.0)  # 20 and 15 frames of 20 ms
    rng = np.random.default_rng(1)
    envelopes = [rng.uniform(0.01, 0.5, 20), rng.uniform(0.01, 0.5, 15)]
    mp3 = "episodes/x/lesson-0123abcd.mp3"
    reference = golden.Reference(
        {"x": timing}, {mp3: 1.0}, {mp3: envelopes}, {"episodes/x/build.json": ["1.0", "42"]}
    )
    path = tmp_path / "reference.npz"
    golden.write_reference(reference, path)
    stored = golden.read_reference(path)
    assert stored.timings == reference.timings and stored.numbers == reference.numbers
    assert stored.durations == reference.durations
    assert [len(e) for e in stored.envelopes[mp3]] == [20, 15]
    for saved, original in zip(stored.envelopes[mp3], envelopes, strict=True):
        assert np.allclose(saved, original, rtol=0.0012)
