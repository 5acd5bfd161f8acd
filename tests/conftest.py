"""Shared fixtures: paths to the shared dev data and tools, small feeds, a workdir."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"


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
