"""Shared fixtures: paths to the shared dev data and tools, small feeds, the sample build."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from companion.build import build
from companion.config import load_settings
from companion.events import BuildReport
from companion.upload import collect

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"
SAMPLE_CLOCK = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
UPLOAD_BASE = "https://cdn.example.org/podcasts/mlg/"
SAMPLE_COURSE_TOPICS = 12


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a skip with the reason when it is absent (a user's clone)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"{path} is absent: ../shared (dev data and checkers) is only beside CI "
            "and developer checkouts"
        )
    return path


def require_audio_tools() -> None:
    """Audio tests need espeak-ng and ffmpeg; in CI their absence is a failure, not a skip."""
    missing = [tool for tool in ("espeak-ng", "ffmpeg", "ffprobe") if not shutil.which(tool)]
    if missing:
        message = f"{', '.join(missing)} not installed (run ./bootstrap.sh --test)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(autouse=True)
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """No test waits on the real clock between fetch retries: the delays are recorded."""
    from companion import fetch

    waits: list[float] = []
    monkeypatch.setattr(fetch, "wait", waits.append)
    return waits


@pytest.fixture
def sample_feed() -> Path:
    return ROOT / "companion" / "data" / "mlg.xml"


@pytest.fixture
def audio_tools() -> None:
    require_audio_tools()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite golden files from the current output (review the diff)",
    )


MEDIA_PATTERNS = {
    "lesson.mp3": "lesson-*.mp3",
    "transcript.vtt": "transcript-*.vtt",
    "chapters.json": "chapters-*.json",
}


def media(folder: Path, name: str = "lesson.mp3") -> Path:
    """A lesson's one published file of this kind: its name carries the content hash."""
    found = sorted(folder.glob(MEDIA_PATTERNS[name]))
    assert len(found) == 1, (folder, name, found)
    assert re.fullmatch(r"[a-z]+-[0-9a-f]{8}\.[a-z0-9]+", found[0].name), found[0]
    return found[0]


def output_hashes(workdir: Path) -> dict[str, str]:
    """sha256 of every file a build leaves outside .cache/, plus the rebased upload feeds."""
    hashes = {}
    for path in sorted(workdir.rglob("*")):
        relative = path.relative_to(workdir).as_posix()
        if path.is_file() and not relative.startswith(".cache/"):
            hashes[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    for item in collect(workdir, UPLOAD_BASE):
        if item.data is not None:
            hashes[f"upload:{item.relative}"] = hashlib.sha256(item.data).hexdigest()
    return hashes


@dataclass(frozen=True)
class SampleBuild:
    workdir: Path
    report: BuildReport
    hashes: dict[str, str]  # output_hashes right after the cold build


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> SampleBuild:
    """The bundled sample (every episode lesson, the reviews, and the course's first
    SAMPLE_COURSE_TOPICS lessons, three seasons), built cold once per session with `--jobs 2`
    and a fixed clock: the golden test compares its bytes, the end-to-end tests check it with
    the shared checkers. The whole 74-lesson course would triple the suite's longest step."""
    require_audio_tools()
    workdir = tmp_path_factory.mktemp("sample")
    settings = load_settings(workdir, {"jobs": 2, "course_topics": SAMPLE_COURSE_TOPICS})
    report = build(settings, clock=lambda: SAMPLE_CLOCK)
    return SampleBuild(workdir, report, output_hashes(workdir))


def as_another_kind_of_machine(monkeypatch: pytest.MonkeyPatch) -> str:
    """Speak as a machine of another CPU kind would: other speech kernels (another
    fingerprint) that render the same words to other bytes (here: 3% slower).

    Only this process is changed: use it with `jobs = 1`.
    """
    from companion import voices
    from companion.voices import espeak, neural

    kernel = "0ther0kind00"
    monkeypatch.setattr(voices, "kernel_fingerprint", lambda voice: kernel)
    for speaker in (espeak.EspeakSpeaker, neural.HibariSpeaker):
        speak = speaker.speak
        monkeypatch.setattr(
            speaker,
            "speak",
            lambda self, text, wav_path, rate=1.0, speak=speak: speak(
                self, text, wav_path, rate * 0.97
            ),
        )
    return kernel
