"""Golden build: the bundled sample, built cold, gives the same bytes as the stored list.

The build is the session's `sample_build` (tests/conftest.py: every episode lesson and
review of the sample and the course's first lessons), which the end-to-end tests check too.

Every output file of the workdir (scripts, MP3s, transcripts, JSON chapters, stamps, feeds,
pages, the cover and the stylesheet) is hashed with SHA-256 and compared with
tests/data/golden/sample_build.sha256, and so are the feeds `companion publish --base-url`
would upload. A refactor must leave the list alone; a change of output updates it on
purpose: `pytest tests/test_golden_build.py --update-golden`, then review the diff.

The audio bytes depend on the versions of the speech engine (hibari-tts, onnxruntime, numpy,
scipy; espeak-ng for the fallback) and of ffmpeg, which the list records. On a machine with other
versions only the files that do not depend on audio are compared, and the test says so with
a skip.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from importlib.metadata import PackageNotFoundError, version

import pytest

from tests.conftest import DATA, SampleBuild

GOLDEN = DATA / "golden" / "sample_build.sha256"
# Files whose bytes do not depend on the speech engine or the encoder.
AUDIO_FREE = ("scripts/", "feeds/cover.jpg", "feeds/source.xml", "site/site.css")


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


def read_golden() -> tuple[dict[str, str], dict[str, str]]:
    versions, hashes = {}, {}
    for line in GOLDEN.read_text("utf-8").splitlines():
        if line.startswith("# tool "):
            tool, _, version = line.removeprefix("# tool ").partition(": ")
            versions[tool] = version
        elif line and not line.startswith("#"):
            digest, _, name = line.partition("  ")
            hashes[name] = digest
    return versions, hashes


def write_golden(versions: dict[str, str], hashes: dict[str, str]) -> None:
    lines = [
        "# sha256 of every output of a cold build of the bundled sample",
        "# (tests/test_golden_build.py; update with --update-golden, on purpose only)",
    ]
    lines += [f"# tool {tool}: {version}" for tool, version in sorted(versions.items())]
    lines += [f"{digest}  {name}" for name, digest in sorted(hashes.items())]
    GOLDEN.write_text("\n".join(lines) + "\n", "utf-8")


@pytest.mark.slow
def test_sample_build_is_byte_identical_to_the_golden_list(
    sample_build: SampleBuild, request: pytest.FixtureRequest
) -> None:
    assert sample_build.report.exit_code == 0, sample_build.report.failed
    hashes = sample_build.hashes
    versions = tool_versions()
    if request.config.getoption("--update-golden"):
        write_golden(versions, hashes)
        return
    golden_versions, golden = read_golden()
    if golden_versions != versions:

        def audio_free(name: str) -> bool:
            return name.startswith(AUDIO_FREE)

        assert {n: h for n, h in hashes.items() if audio_free(n)} == {
            n: h for n, h in golden.items() if audio_free(n)
        }
        pytest.skip(
            f"audio-derived files not compared: built with {versions}, the golden "
            f"list with {golden_versions}"
        )
    assert sorted(hashes) == sorted(golden), "the set of output files changed"
    changed = sorted(name for name in hashes if hashes[name] != golden[name])
    kinds = Counter(
        re.sub(r"-[0-9a-f]{8}\.", "-<hash>.", name.rsplit("/", 1)[-1])
        if name.startswith("episodes/")
        else name
        for name in changed
    )
    assert not changed, (
        f"{len(changed)} outputs changed ({dict(sorted(kinds.items()))}): {', '.join(changed[:12])}"
    )


def test_golden_list_names_every_kind_of_output() -> None:
    """The stored list covers each artefact a build publishes (so the slow test means it)."""
    _, golden = read_golden()
    names = list(golden)
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
