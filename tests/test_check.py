"""Missing system parts (issue 8, point 6): `companion build` stops at once naming what to
install; `companion check` reports every dependency with a fix, non-zero if any is missing.

The commands run as subprocesses with PATH narrowed to a folder of chosen tool links, the way
a machine without espeak-ng or ffmpeg would look to them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, require_audio_tools

TWO_MATH = DATA / "feeds" / "two_math.xml"
CHECKS = ("espeak-ng", "ffmpeg", "ffprobe", "voices", "workdir", "catalog")
TIMEOUT = 60


def tools_dir(tmp_path: Path, tools: tuple[str, ...]) -> Path:
    """A PATH folder with links to just these system programs (python is run by full path)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in tools:
        found = shutil.which(tool)
        assert found, tool
        (folder / tool).symlink_to(found)
    return folder


def companion(
    *args: str, path: Path | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = str(path)
    return subprocess.run(
        [sys.executable, "-m", "companion", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=TIMEOUT,
        check=False,
    )


def check_lines(output: str) -> dict[str, tuple[str, str, str]]:
    """{name: (mark, detail, fix)} from `companion check`'s report."""
    results: dict[str, tuple[str, str, str]] = {}
    last = ""
    for line in output.splitlines():
        if line.startswith(("ok ", "FAIL ")):
            mark, name, *detail = line.split(None, 2)
            results[name] = (mark, detail[0] if detail else "", "")
            last = name
        elif line.strip().startswith("fix:"):
            mark, detail, _ = results[last]
            results[last] = (mark, detail, line.strip().removeprefix("fix:").strip())
    return results


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text('course = false\nengine = "espeak-ng"\n', "utf-8")
    return path


# --- build without the system programs ------------------------------------------------------


@pytest.mark.parametrize(
    ("present", "named", "not_named"),
    [
        ((), ("espeak-ng", "ffmpeg"), ()),
        (("espeak-ng",), ("ffmpeg",), ("espeak-ng",)),
        (("ffmpeg", "ffprobe"), ("espeak-ng",), ("ffmpeg",)),
    ],
    ids=["neither", "no-ffmpeg", "no-espeak-ng"],
)
def test_build_without_tools_fails_at_once_naming_the_package(
    tmp_path: Path,
    config: Path,
    present: tuple[str, ...],
    named: tuple[str, ...],
    not_named: tuple[str, ...],
) -> None:
    require_audio_tools()
    workdir = tmp_path / "work"
    result = companion(
        "build",
        "--workdir",
        str(workdir),
        "--source",
        str(TWO_MATH),
        "--jobs",
        "1",
        "--config",
        str(config),
        path=tools_dir(tmp_path, present),
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for package in named:
        assert f"apt-get install -y {package}" in lines[0]
    for package in not_named:
        assert f"apt-get install -y {package}" not in lines[0]
    assert "Traceback" not in result.stderr
    assert not (workdir / "feeds").exists()
    assert not (workdir / "episodes").exists()


# --- companion check ------------------------------------------------------------------------


def test_check_with_everything_present_passes(tmp_path: Path, config: Path) -> None:
    require_audio_tools()
    result = companion("check", "--workdir", str(tmp_path), "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    found = check_lines(result.stdout)
    assert list(found) == list(CHECKS)
    assert all(mark == "ok" for mark, _detail, _fix in found.values()), result.stdout
    assert found["espeak-ng"][1] == shutil.which("espeak-ng")
    assert "en-us" in found["voices"][1]
    assert "74 topics, 85 facets in 29 families" in found["catalog"][1]
    assert result.stderr.strip() == "6 ok, 0 missing"


def test_check_without_programs_lists_each_with_its_fix(tmp_path: Path, config: Path) -> None:
    result = companion(
        "check", "--workdir", str(tmp_path), "--config", str(config), path=tools_dir(tmp_path, ())
    )
    assert result.returncode == 1
    found = check_lines(result.stdout)
    assert list(found) == list(CHECKS)
    for name, package in (
        ("espeak-ng", "espeak-ng"),
        ("ffmpeg", "ffmpeg"),
        ("ffprobe", "ffmpeg"),
        ("voices", "espeak-ng"),
    ):
        mark, _detail, fix = found[name]
        assert mark == "FAIL", name
        assert f"apt-get install -y {package}" in fix, (name, fix)
    assert found["workdir"][0] == found["catalog"][0] == "ok"
    assert result.stderr.strip() == "2 ok, 4 missing: espeak-ng, ffmpeg, ffprobe, voices"


def test_check_without_ffmpeg_only(tmp_path: Path, config: Path) -> None:
    require_audio_tools()
    result = companion(
        "check",
        "--workdir",
        str(tmp_path),
        "--config",
        str(config),
        path=tools_dir(tmp_path, ("espeak-ng",)),
    )
    assert result.returncode == 1
    failed = {name for name, (mark, _d, _f) in check_lines(result.stdout).items() if mark == "FAIL"}
    assert failed == {"ffmpeg", "ffprobe"}


def test_check_the_default_engine_checks_its_pinned_model(tmp_path: Path) -> None:
    result = companion("check", "--workdir", str(tmp_path))
    mark, detail, _fix = check_lines(result.stdout)["voices"]
    assert mark == "ok" and "hibari voice 'heart'" in detail and "SHA-256" in detail


def test_check_an_unknown_voice(tmp_path: Path) -> None:
    require_audio_tools()
    (tmp_path / "companion.toml").write_text('voice = "xx-no-such-voice"\n', "utf-8")
    result = companion("check", "--workdir", str(tmp_path))
    assert result.returncode == 1
    mark, detail, fix = check_lines(result.stdout)["voices"]
    assert mark == "FAIL" and "xx-no-such-voice" in detail
    assert "companion voices" in fix


def test_check_a_workdir_that_cannot_be_created(tmp_path: Path, config: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder\n", "utf-8")
    workdir = blocker / "sub"
    result = companion("check", "--workdir", str(workdir), "--config", str(config))
    assert result.returncode == 1
    mark, detail, fix = check_lines(result.stdout)["workdir"]
    assert mark == "FAIL" and str(workdir) in detail and "not writable" in detail
    assert fix
    assert "missing: workdir" in result.stderr


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders"
)
def test_check_a_read_only_workdir(tmp_path: Path, config: Path) -> None:
    workdir = tmp_path / "readonly"
    workdir.mkdir()
    workdir.chmod(0o500)
    try:
        result = companion("check", "--workdir", str(workdir), "--config", str(config))
    finally:
        workdir.chmod(0o700)
    assert result.returncode == 1
    assert check_lines(result.stdout)["workdir"][0] == "FAIL"


def test_check_a_workdir_a_build_would_create(tmp_path: Path, config: Path) -> None:
    """`companion build` creates missing parent folders, so check must not call it unwritable."""
    workdir = tmp_path / "not" / "yet" / "there"
    result = companion("check", "--workdir", str(workdir), "--config", str(config))
    mark, detail, _fix = check_lines(result.stdout)["workdir"]
    assert mark == "ok", detail
    assert "will be created" in detail
    assert not (tmp_path / "not").exists()


def test_check_a_broken_catalog(tmp_path: Path) -> None:
    catalog = tmp_path / "topics.toml"
    catalog.write_text('[[topics]]\nid = "broken\nname = \n', "utf-8")
    config = tmp_path / "settings.toml"
    config.write_text('course = false\nengine = "espeak-ng"\ncatalog = "topics.toml"\n', "utf-8")
    result = companion(
        "check",
        "--workdir",
        str(tmp_path / "work"),
        "--config",
        str(config),
        path=tools_dir(tmp_path, ()),
    )
    assert result.returncode == 1
    found = check_lines(result.stdout)
    mark, detail, fix = found["catalog"]
    assert mark == "FAIL"
    assert str(catalog) in detail and "not valid TOML" in detail
    assert fix
    assert result.stderr.strip().endswith("espeak-ng, ffmpeg, ffprobe, voices, catalog")


def test_check_a_catalog_whose_arithmetic_is_misheard(tmp_path: Path) -> None:
    from tests.test_spoken_arithmetic import MISHEARD_TOPIC

    catalog = tmp_path / "topics.toml"
    catalog.write_text(MISHEARD_TOPIC, "utf-8")
    config = tmp_path / "settings.toml"
    config.write_text('course = false\nengine = "espeak-ng"\ncatalog = "topics.toml"\n', "utf-8")
    result = companion("check", "--workdir", str(tmp_path / "work"), "--config", str(config))
    assert result.returncode == 1
    mark, detail, fix = check_lines(result.stdout)["catalog"]
    assert mark == "FAIL"
    assert detail == (
        f"{catalog}: topic 'gan': '0.3 divided by 0.3 plus 0.1' is heard as 1.1, "
        "not the stated 0.75 (and 1 more)"
    )
    assert fix


def test_check_a_catalog_with_a_bad_topic(tmp_path: Path, config: Path) -> None:
    catalog = tmp_path / "topics.toml"
    catalog.write_text("title = 'no topics here'\n", "utf-8")
    config.write_text('course = false\nengine = "espeak-ng"\ncatalog = "topics.toml"\n', "utf-8")
    result = companion("check", "--workdir", str(tmp_path), "--config", str(config))
    assert result.returncode == 1
    mark, detail, _fix = check_lines(result.stdout)["catalog"]
    assert mark == "FAIL" and str(catalog) in detail
