"""Dask executor: output byte-identical to the local executor; a worker without tools fails."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion.build import build
from companion.cli import cli
from companion.config import load_settings
from tests.conftest import DATA, require_audio_tools

pytestmark = pytest.mark.slow  # starts Dask clusters and builds

SOURCE = str(DATA / "feeds" / "two_math.xml")
SLUGS = ["dot-products", "sigmoid"]


def _require_dask() -> None:
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        message = "dask[distributed] not installed (pip install -e '.[test]' or '.[dask]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def local_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: two lessons built by the local executor, one process."""
    require_audio_tools()
    _require_dask()
    workdir = tmp_path_factory.mktemp("local")
    report = build(settings_for(workdir, executor="local"), clock=_clock)
    assert sorted(report.built) == SLUGS, report.failed
    return workdir


def settings_for(workdir: Path, **options: object):
    return load_settings(workdir, {"source": SOURCE, "jobs": 1, "course": False, **options})


def _clock():
    from datetime import UTC, datetime

    return datetime(2025, 1, 1, tzinfo=UTC)


def outputs(workdir: Path) -> dict[str, bytes]:
    """Every file a build publishes or caches, by relative path (locks and HTTP cache aside)."""
    files = {}
    for path in sorted(workdir.rglob("*")):
        relative = path.relative_to(workdir).as_posix()
        if path.is_file() and not relative.endswith(".lock") and "/http/" not in relative:
            files[relative] = path.read_bytes()
    return files


def assert_identical(reference: Path, other: Path) -> None:
    expected, actual = outputs(reference), outputs(other)
    assert sorted(actual) == sorted(expected)
    assert any(re.search(r"/lesson-[0-9a-f]{8}\.mp3$", name) for name in expected)
    assert any(name.startswith(".cache/sections/") for name in expected)
    for name, data in expected.items():
        assert actual[name] == data, f"{name} differs"


def test_local_cluster_output_is_byte_identical(local_build: Path, tmp_path: Path) -> None:
    from companion.executors import DaskExecutor

    executor = DaskExecutor(workers=2)
    try:
        report = build(settings_for(tmp_path, executor="dask"), clock=_clock, executor=executor)
        assert len(executor.client.nthreads()) == 2
    finally:
        executor.close()
    assert sorted(report.built) == SLUGS, report.failed
    assert report.sections_synthesized > 0
    assert_identical(local_build, tmp_path)


# --- a scheduler and workers started as separate processes on 127.0.0.1 ----------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """`dask scheduler` plus `dask worker` processes; terminated by close()."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self._start(
            ["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"],
            os.environ.copy(),
            "scheduler",
        )

    def _start(self, arguments: list[str], env: dict[str, str], name: str) -> None:
        # the process writes its own copy of the log's handle; this one is closed at once
        with (self.folder / f"{name}-{len(self.processes)}.log").open("wb") as log:
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "dask", *arguments],
                    cwd=self.folder,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def add_worker(self, path: str | None = None) -> None:
        env = os.environ.copy()
        if path is not None:
            env["PATH"] = path
        self._start(
            [
                "worker",
                self.address,
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
            ],
            env,
            "worker",
        )

    def wait_for_workers(self, count: int, timeout: float = 30.0) -> None:
        from dask.distributed import Client

        deadline = time.monotonic() + timeout
        with Client(self.address, timeout="20s") as client:
            while len(client.scheduler_info(n_workers=-1)["workers"]) < count:
                if time.monotonic() > deadline:
                    logs = "\n".join(
                        p.read_text("utf-8", "replace")[-2000:]
                        for p in sorted(self.folder.glob("*.log"))
                    )
                    raise AssertionError(f"{count} Dask workers did not start:\n{logs}")
                time.sleep(0.2)

    def close(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    _require_dask()
    folder = tmp_path / "cluster"
    folder.mkdir()
    started = Cluster(folder)
    try:
        yield started
    finally:
        started.close()


def test_scheduler_and_two_workers_output_is_byte_identical(
    local_build: Path, tmp_path: Path, cluster: Cluster
) -> None:
    cluster.add_worker()
    cluster.add_worker()
    cluster.wait_for_workers(2)
    workdir = tmp_path / "work"
    (tmp_path / "companion.toml").write_text("course = false\njobs = 1\n", "utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "build",
            "--workdir",
            str(workdir),
            "--source",
            SOURCE,
            "--executor",
            "dask",
            "--scheduler",
            cluster.address,
            "--config",
            str(tmp_path / "companion.toml"),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "2 built, 0 unchanged, 0 failed" in result.stderr
    assert_identical(local_build, workdir)


def test_worker_without_espeak_ng_fails_the_build_with_a_clear_error(
    tmp_path: Path, cluster: Cluster
) -> None:
    require_audio_tools()
    bare = tmp_path / "bin"  # only python: no espeak-ng, ffmpeg or ffprobe on this PATH
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    assert shutil.which("espeak-ng", path=str(bare)) is None
    cluster.add_worker(path=str(bare))
    cluster.wait_for_workers(1)
    (tmp_path / "companion.toml").write_text('course = false\nengine = "espeak-ng"\n', "utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "build",
            "--workdir",
            str(tmp_path / "work"),
            "--source",
            SOURCE,
            "--executor",
            "dask",
            "--scheduler",
            cluster.address,
            "--max-episodes",
            "1",
            "--config",
            str(tmp_path / "companion.toml"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "0 built, 0 unchanged, 1 failed" in result.stderr
    failed = [line for line in result.stderr.splitlines() if line.strip().startswith("failed")]
    assert failed, result.stderr
    assert "espeak-ng" in failed[0] and "not installed on Dask worker" in failed[0]
    assert "apt-get install -y espeak-ng ffmpeg" in failed[0]
    assert not (tmp_path / "work" / "episodes" / "sigmoid" / "build.json").exists()
