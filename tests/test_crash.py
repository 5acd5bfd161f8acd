"""Crash safety (issue 8, point 5): builds killed with SIGKILL never break the published feed.

Every build here is a real `python -m companion build` subprocess in its own process group,
killed with os.killpg(SIGKILL) at a chosen moment: while sections are synthesized, while an
MP3 is encoded, while the feed itself is written, and at a spread of other moments. After
each kill the previous feed must still be whole and only reference complete files, and the
next build must finish and reuse what the killed one had already finished.

The previous good build has one lesson (dot-products); the next source adds a second episode
(sigmoid), so a killed build has real synthesis and encoding to be killed in.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest

from companion.build import build
from companion.config import load_settings
from tests.conftest import DATA, require_audio_tools

pytestmark = pytest.mark.slow  # kills real builds at many moments

TWO_MATH = DATA / "feeds" / "two_math.xml"
BASE_URL = "http://localhost:8000/"
PODCAST = "{https://podcastindex.org/namespace/1.0}"
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
OLD, NEW = "dot-products", "sigmoid"
TIMEOUT = 60

# Runs the CLI with two low-level calls patched so that the process group is SIGKILLed at a
# chosen point of publishing feeds/companion.xml, whatever path the build takes to write it:
# "before-feed" (every lesson is finished; the feed's bytes are about to be written),
# "mid-feed" (half of the feed's bytes are on disk) or "after-feed" (the feed was just renamed
# into place, the site pages not yet written).
KILL_DRIVER = """
import os, pathlib, signal, sys

mode = os.environ["COMPANION_TEST_KILL"]

def is_feed(path):
    return "companion.xml" in os.path.basename(str(path))

def die():
    os.killpg(0, signal.SIGKILL)

real_write_bytes = pathlib.Path.write_bytes

def write_bytes(self, data):
    if is_feed(self) and mode == "before-feed":
        die()
    if is_feed(self) and mode == "mid-feed":
        with open(self, "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            os.fsync(handle.fileno())
        die()
    return real_write_bytes(self, data)

real_replace = os.replace

def replace(source, target, **options):
    real_replace(source, target, **options)
    if mode == "after-feed" and os.path.basename(str(target)) == "companion.xml":
        die()

pathlib.Path.write_bytes = write_bytes
os.replace = replace
from companion.cli import cli
cli(args=sys.argv[1:], prog_name="companion")
"""


# --- helpers -----------------------------------------------------------------------------


def build_args(workdir: Path, source: Path, config: Path) -> list[str]:
    return [
        "build",
        "--workdir",
        str(workdir),
        "--source",
        str(source),
        "--jobs",
        "1",
        "--config",
        str(config),
    ]


def start_build(
    workdir: Path, source: Path, config: Path, *, kill_mode: str = ""
) -> subprocess.Popen[bytes]:
    """A build in its own session (process group), as a user's shell would start it."""
    if kill_mode:
        command = [sys.executable, "-c", KILL_DRIVER]
        env = {**os.environ, "COMPANION_TEST_KILL": kill_mode}
    else:
        command = [sys.executable, "-m", "companion"]
        env = dict(os.environ)
    return subprocess.Popen(
        command + build_args(workdir, source, config),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the build's whole process group (espeak-ng and ffmpeg children too)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=TIMEOUT)


def wait_for(process: subprocess.Popen[bytes], condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the build ended (status {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            kill_group(process)
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.002)


def run_cli(workdir: Path, source: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "companion", *build_args(workdir, source, config)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def resume(workdir: Path, config: Path):
    """The next build, through the library, so that its report can be inspected."""
    return build(load_settings(workdir, {"source": str(TWO_MATH), "jobs": 1}, config))


def cached_pairs(workdir: Path) -> set[str]:
    """Keys of the sections whose WAV and metadata are both in the cache."""
    cache = workdir / ".cache" / "sections"
    return {wav.stem for wav in cache.glob("*.wav") if wav.with_suffix(".json").is_file()}


def local_path(workdir: Path, url: str) -> Path:
    assert url.startswith(BASE_URL), url
    relative = url[len(BASE_URL) :]
    assert ".part" not in relative, f"the feed references a temporary file: {url}"
    return workdir / relative


def assert_complete_mp3(path: Path) -> None:
    probe = subprocess.run(
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
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0 and float(probe.stdout.strip()) > 0, (path, probe.stderr)
    decode = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert decode.returncode == 0 and decode.stderr.strip() == "", (path, decode.stderr)


def assert_feed_consistent(workdir: Path, *, exact_lengths: bool = True) -> list[str]:
    """The published feed parses and every file it references is there and complete.

    Returns the slugs of its lessons. `exact_lengths`: each enclosure length is the size of
    the MP3 it names (otherwise the MP3 must at least match its own build.json stamp).
    """
    raw = (workdir / "feeds" / "companion.xml").read_bytes()
    root = ET.fromstring(raw)
    parsed = feedparser.parse(raw)
    assert not parsed.bozo, parsed.get("bozo_exception")
    items = root.findall("./channel/item")
    assert len(parsed.entries) == len(items) >= 1
    images = [
        root.find(f"./channel/{ITUNES}image").get("href"),
        root.findtext("./channel/image/url"),
    ]
    for url in images:
        assert local_path(workdir, url).is_file(), url
    slugs = []
    for item in items:
        enclosure = item.find("enclosure")
        mp3 = local_path(workdir, enclosure.get("url"))
        assert mp3.name == "lesson.mp3" and mp3.is_file(), mp3
        slugs.append(mp3.parent.name)
        stamp = json.loads((mp3.parent / "build.json").read_text("utf-8"))
        assert stamp["lesson"]["size"] == mp3.stat().st_size, mp3
        if exact_lengths:
            assert int(enclosure.get("length")) == mp3.stat().st_size, mp3
        assert_complete_mp3(mp3)
        transcript = local_path(workdir, item.find(f"{PODCAST}transcript").get("url"))
        text = transcript.read_text("utf-8")
        assert text.startswith("WEBVTT") and "-->" in text, transcript
        chapters = local_path(workdir, item.find(f"{PODCAST}chapters").get("url"))
        assert json.loads(chapters.read_text("utf-8"))["chapters"], chapters
    return slugs


# --- the previous good build ----------------------------------------------------------------


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A finished workdir with one lesson (dot-products), its config, and the source feeds."""
    require_audio_tools()
    root = tmp_path_factory.mktemp("crash")
    config = root / "companion.toml"
    config.write_text("course = false\n", "utf-8")
    one_math = root / "one_math.xml"
    text = TWO_MATH.read_text("utf-8")
    start, end = text.index("<item>"), text.index("</item>") + len("</item>")
    assert "<title>Sigmoid</title>" in text[start:end]
    one_math.write_text(text[:start] + text[end:], "utf-8")
    workdir = root / "previous"
    result = run_cli(workdir, one_math, config)
    assert result.returncode == 0, result.stderr
    assert assert_feed_consistent(workdir) == [OLD]
    return {"workdir": workdir, "config": config, "one_math": one_math}


@pytest.fixture
def workdir(previous: dict[str, Path], tmp_path: Path) -> Path:
    """A copy of the previous good build, about to be rebuilt from the two-episode feed."""
    copy = tmp_path / "workdir"
    shutil.copytree(previous["workdir"], copy, symlinks=True)
    return copy


def feed_bytes(workdir: Path) -> bytes:
    return (workdir / "feeds" / "companion.xml").read_bytes()


# --- kills at chosen moments ------------------------------------------------------------------


def test_kill_during_synthesis(previous: dict[str, Path], workdir: Path) -> None:
    config = previous["config"]
    before_feed = feed_bytes(workdir)
    before_cache = cached_pairs(workdir)
    process = start_build(workdir, TWO_MATH, config)
    cache = workdir / ".cache" / "sections"
    wait_for(
        process,
        lambda: len(cached_pairs(workdir) - before_cache) >= 1 or any(cache.glob("*.part")),
        "the first new section in the cache",
    )
    kill_group(process)
    assert not (workdir / "episodes" / NEW / "lesson.mp3").exists()
    assert feed_bytes(workdir) == before_feed
    assert assert_feed_consistent(workdir) == [OLD]

    made_before_kill = cached_pairs(workdir) - before_cache
    report = resume(workdir, config)
    assert report.exit_code == 0, report.failed
    assert report.unchanged == [OLD] and report.built == [NEW]
    assert report.sections_reused == len(made_before_kill)  # nothing finished is redone
    assert report.sections_synthesized >= 1
    assert sorted(assert_feed_consistent(workdir)) == [OLD, NEW]


def test_kill_during_encoding(previous: dict[str, Path], workdir: Path) -> None:
    config = previous["config"]
    before_feed = feed_bytes(workdir)
    process = start_build(workdir, TWO_MATH, config)
    folder = workdir / "episodes" / NEW
    wait_for(process, lambda: any(folder.glob(".lesson.mp3.*.part")), "the MP3 encoding")
    kill_group(process)
    assert not (folder / "lesson.mp3").exists()
    assert not (folder / "build.json").exists()
    assert feed_bytes(workdir) == before_feed
    assert assert_feed_consistent(workdir) == [OLD]

    report = resume(workdir, config)
    assert report.exit_code == 0, report.failed
    assert report.built == [NEW] and report.unchanged == [OLD]
    assert report.sections_synthesized == 0  # every section was cached before encoding
    assert report.sections_reused >= 3
    assert sorted(assert_feed_consistent(workdir)) == [OLD, NEW]


def test_kill_while_the_feed_is_written(previous: dict[str, Path], workdir: Path) -> None:
    config = previous["config"]
    before_feed = feed_bytes(workdir)
    process = start_build(workdir, TWO_MATH, config, kill_mode="mid-feed")
    process.communicate(timeout=TIMEOUT)
    assert process.returncode == -signal.SIGKILL
    halves = list((workdir / "feeds").glob(".companion.xml.*.part"))
    assert halves, "the kill did not happen while the feed was written"
    assert feed_bytes(workdir) == before_feed
    assert assert_feed_consistent(workdir) == [OLD]

    report = resume(workdir, config)
    assert report.exit_code == 0, report.failed
    assert report.built == [] and sorted(report.unchanged) == [OLD, NEW]
    assert report.sections_synthesized == 0
    assert sorted(assert_feed_consistent(workdir)) == [OLD, NEW]


def test_kill_right_after_the_feed_is_written(previous: dict[str, Path], workdir: Path) -> None:
    """The new feed is in place before the site pages: it must still only name whole files."""
    config = previous["config"]
    process = start_build(workdir, TWO_MATH, config, kill_mode="after-feed")
    process.communicate(timeout=TIMEOUT)
    assert process.returncode == -signal.SIGKILL
    assert sorted(assert_feed_consistent(workdir)) == [OLD, NEW]
    report = resume(workdir, config)
    assert report.exit_code == 0 and report.built == []
    assert (workdir / "episodes" / NEW / "index.html").is_file()


def test_kills_at_a_spread_of_moments(previous: dict[str, Path], tmp_path: Path) -> None:
    """Killed anywhere in the build, the feed is the old one or the new one, whole."""
    config = previous["config"]
    old_feed = feed_bytes(previous["workdir"])
    reference = tmp_path / "reference"
    shutil.copytree(previous["workdir"], reference, symlinks=True)
    started = time.monotonic()
    finished = run_cli(reference, TWO_MATH, config)
    duration = time.monotonic() - started
    assert finished.returncode == 0, finished.stderr
    new_feed = feed_bytes(reference)
    assert new_feed != old_feed

    rng = random.Random(8)
    kills = []
    for number, fraction in enumerate((0.2, 0.45, 0.7, 0.9, 1.0)):
        workdir = tmp_path / f"kill-{number}"
        shutil.copytree(previous["workdir"], workdir, symlinks=True)
        process = start_build(workdir, TWO_MATH, config)
        try:
            process.wait(timeout=duration * fraction * rng.uniform(0.9, 1.1))
        except subprocess.TimeoutExpired:
            kills.append(workdir)
        kill_group(process)
        assert feed_bytes(workdir) in (old_feed, new_feed), fraction
        assert_feed_consistent(workdir)
    assert len(kills) >= 3, "the builds finished before they could be killed"

    resumed = run_cli(kills[0], TWO_MATH, config)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 built, 1 unchanged, 0 failed" in resumed.stderr.strip().splitlines()[-2]
    assert feed_bytes(kills[0]) == new_feed


# --- a lesson that is already published is rebuilt ------------------------------------------


@pytest.fixture(scope="module")
def rebuilt_killed_before_feed(
    previous: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Every lesson is rebuilt (a new feed title is a new album tag and cover, from cached
    sections); the build is killed once they are done, before the feed is written: the state
    a kill at any moment after the first lesson's MP3 was replaced leaves behind."""
    workdir = tmp_path_factory.mktemp("rebuilt") / "workdir"
    shutil.copytree(previous["workdir"], workdir, symlinks=True)
    config = workdir.parent / "retitled.toml"
    config.write_text('course = false\ntitle = "Retitled"\n', "utf-8")
    process = start_build(workdir, previous["one_math"], config, kill_mode="before-feed")
    process.communicate(timeout=TIMEOUT)
    assert process.returncode == -signal.SIGKILL
    return workdir


def test_rebuilt_lessons_killed_before_the_feed_are_complete(
    previous: dict[str, Path], rebuilt_killed_before_feed: Path
) -> None:
    mp3 = Path("episodes", OLD, "lesson.mp3")
    assert (rebuilt_killed_before_feed / mp3).read_bytes() != (
        previous["workdir"] / mp3
    ).read_bytes()
    assert feed_bytes(rebuilt_killed_before_feed) == feed_bytes(previous["workdir"])
    assert assert_feed_consistent(rebuilt_killed_before_feed, exact_lengths=False) == [OLD]


@pytest.mark.xfail(
    strict=True,
    reason="lesson files keep fixed names (episodes/<slug>/"
    "lesson.mp3), so a rebuilt lesson replaces the published MP3 before the "
    "feed is rewritten: the old feed's enclosure length and duration describe "
    "the previous MP3 until the next build; needs versioned file names",
)
def test_rebuilt_lessons_killed_before_the_feed_match_the_old_feed(
    rebuilt_killed_before_feed: Path,
) -> None:
    assert_feed_consistent(rebuilt_killed_before_feed, exact_lengths=True)


# --- the lock -----------------------------------------------------------------------------


def lock_pid(workdir: Path) -> str:
    try:
        return (workdir / ".cache" / "build.lock").read_text().strip()
    except OSError:
        return ""


def test_a_second_build_on_the_same_workdir_exits_at_once(
    previous: dict[str, Path], workdir: Path
) -> None:
    config = previous["config"]
    first = start_build(workdir, TWO_MATH, config)
    try:
        wait_for(first, lambda: lock_pid(workdir) == str(first.pid), "the first build's lock")
        started = time.monotonic()
        second = run_cli(workdir, TWO_MATH, config)
        waited = time.monotonic() - started
        assert second.returncode == 1, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert "another companion build is running" in lines[0]
        assert f"pid {first.pid}" in lines[0] and str(workdir) in lines[0]
        assert waited < 10
        assert first.poll() is None, "the first build ended before the second one started"
    except BaseException:
        kill_group(first)
        raise
    _out, err = first.communicate(timeout=TIMEOUT)
    assert first.returncode == 0, err
    assert "1 built, 1 unchanged, 0 failed" in err.decode()
    assert sorted(assert_feed_consistent(workdir)) == [OLD, NEW]


def test_a_killed_build_does_not_block_the_next(previous: dict[str, Path], workdir: Path) -> None:
    config = previous["config"]
    process = start_build(workdir, TWO_MATH, config)
    wait_for(process, lambda: lock_pid(workdir) == str(process.pid), "the build's lock")
    kill_group(process)
    assert lock_pid(workdir) == str(process.pid)  # the file stays; the kernel lock does not
    result = subprocess.run(
        [sys.executable, "-m", "companion", *build_args(workdir, previous["one_math"], config)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "0 built, 1 unchanged, 0 failed" in result.stderr
    assert assert_feed_consistent(workdir) == [OLD]
