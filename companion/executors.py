"""Executors: LessonJobs -> JobResults, in local processes or as tasks on a Dask cluster.

`LocalExecutor` is the default and needs nothing beyond the standard library. `DaskExecutor`
imports `dask.distributed` only when it first runs a job (the optional extra
`companion[dask]`). A Dask worker need not share the filesystem with the machine that
builds: each task receives the cover and the cached sections its lesson reuses as bytes,
works in a temporary folder, and returns the lesson's files and the sections it made, which
this machine writes into the workdir atomically (cache entries first, the stamp last).
"""

from __future__ import annotations

import logging
import tempfile
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from companion import layout, synth, voices
from companion.config import Settings
from companion.errors import CompanionError, ConfigError
from companion.events import BuildReport, Built, EventHandler, Failed, Failure, Started
from companion.files import atomic_write
from companion.lessons import JobResult, LessonJob, failed_job, run_lesson_job

log = logging.getLogger(__name__)

LOCAL_CLUSTER_WORKERS = 2
CONNECT_TIMEOUT = "15s"
DASK_MISSING = (
    "--executor dask: Dask is not installed (pip install 'companion[dask]', "
    "or pip install 'dask[distributed]')"
)


class Executor(Protocol):
    """Runs lesson jobs; one result per job, in any order."""

    def run(self, jobs: Sequence[LessonJob]) -> Iterator[JobResult]:
        """Run `jobs`, yielding each result as it is ready."""
        ...

    def close(self) -> None:
        """Release processes, clusters and connections."""
        ...


# --- local ----------------------------------------------------------------------------------


class LocalExecutor:
    """Processes on this machine: `jobs` at a time (1: in this process)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)

    def run(self, jobs: Sequence[LessonJob]) -> Iterator[JobResult]:
        if self.jobs <= 1 or len(jobs) <= 1:
            yield from (run_lesson_job(job) for job in jobs)
            return
        with ProcessPoolExecutor(max_workers=min(self.jobs, len(jobs))) as pool:
            futures = [pool.submit(run_lesson_job, job) for job in jobs]
            for job, future in zip(jobs, futures, strict=True):
                try:
                    yield future.result()
                except Exception as error:  # e.g. a worker process died: this lesson fails
                    yield failed_job(job.slug, error, "worker process")

    def close(self) -> None:
        return None


# --- dask -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemoteJob:
    """What a Dask task needs: the job (paths as on the client) and the bytes behind them."""

    job: LessonJob
    cover: bytes | None
    cached: dict[str, bytes]  # section cache file name -> bytes, for sections already made


@dataclass(frozen=True, slots=True)
class RemoteResult:
    result: JobResult
    files: dict[str, bytes]  # lesson folder file name -> bytes (layout.lesson_files)
    made: dict[str, bytes]  # section cache entries this task synthesized


def remote_payload(job: LessonJob) -> RemoteJob:
    """The job plus its cover and the cache entries of the sections already synthesized.

    Each section goes with every rendering the cache holds (one per kind of machine that made
    it): the worker reuses only those of its own speech kernels (voices.kernel_fingerprint).
    """
    cached: dict[str, bytes] = {}
    for section in job.script.sections:
        key = synth.section_key(section, job.voice, job.lexicon)
        for wav in sorted(job.cache.glob(f"{key}.*.wav")):
            meta = wav.with_suffix(".json")
            if meta.is_file():
                cached[wav.name], cached[meta.name] = wav.read_bytes(), meta.read_bytes()
    cover = job.cover.read_bytes() if job.cover.is_file() else None
    return RemoteJob(job, cover, cached)


def run_remote_job(remote: RemoteJob) -> RemoteResult:
    """The Dask task: run the job in a temporary folder and return the files it made.

    Raises SynthError when this worker lacks ffmpeg (or espeak-ng, for that engine), so the
    task fails with a message that names the tool, the worker and the package to install.
    """
    voices.prepare(remote.job.voice, where="worker")
    with tempfile.TemporaryDirectory(prefix="companion-task-") as tmp:
        root = Path(tmp)
        cache = root / "cache"
        cache.mkdir()
        for name, data in remote.cached.items():
            (cache / name).write_bytes(data)
        cover = root / "cover.jpg"
        if remote.cover is not None:
            cover.write_bytes(remote.cover)
        job = replace(remote.job, workdir=root / "work", cache=cache, cover=cover)
        result = run_lesson_job(job)
        if result.error:
            return RemoteResult(result, {}, {})
        files = {name: (job.folder / name).read_bytes() for name in layout.lesson_files(job.key)}
        made = {
            path.name: path.read_bytes()
            for path in sorted(cache.iterdir())
            if path.name not in remote.cached and not path.name.endswith(".part")
        }
        return RemoteResult(result, files, made)


def store_remote_result(job: LessonJob, remote: RemoteResult) -> None:
    """Write a task's section cache entries, then its lesson files with the stamp last."""
    for name in sorted(remote.made, key=lambda name: name.endswith(".json")):  # wav first
        atomic_write(job.cache / name, remote.made[name])
    for name in layout.lesson_files(job.key):
        atomic_write(job.folder / name, remote.files[name])


class DaskExecutor:
    """Section synthesis and encoding as Dask tasks, one per lesson.

    With a `scheduler` address it connects to that cluster; without one it starts a
    `LocalCluster` of `workers` processes. Nothing is started before the first job.
    """

    def __init__(
        self, scheduler: str | None = None, *, workers: int = LOCAL_CLUSTER_WORKERS
    ) -> None:
        self.scheduler = scheduler or None
        self.workers = workers
        self._client: Any = None
        self._cluster: Any = None

    @property
    def client(self) -> Any:
        """The dask.distributed Client, connecting (or starting a LocalCluster) on first use."""
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> Any:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError(DASK_MISSING) from None
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO is chatty
        if self.scheduler is None:
            self._cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            return Client(self._cluster)
        try:
            return Client(self.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as error:
            raise CompanionError(
                f"{self.scheduler}: cannot reach the Dask scheduler ({error})"
            ) from None

    def run(self, jobs: Sequence[LessonJob]) -> Iterator[JobResult]:
        from dask.distributed import as_completed

        client = self.client
        threads = sum(client.nthreads().values()) or 1
        window = max(2, 2 * threads)  # tasks in flight: bounds the bytes held in memory
        pending = list(jobs)
        by_future: dict[Any, LessonJob] = {}
        results = as_completed()

        def submit_next() -> None:
            job = pending.pop(0)
            with warnings.catch_warnings():  # cached WAVs make "large graph" payloads
                warnings.simplefilter("ignore", UserWarning)
                future = client.submit(
                    run_remote_job,
                    remote_payload(job),
                    pure=False,
                    key=f"lesson-{job.slug}-{uuid.uuid4().hex[:12]}",
                )
            by_future[future] = job
            results.add(future)

        while pending and len(by_future) < window:
            submit_next()
        for future in results:
            job = by_future.pop(future)
            yield self._finish(job, future)
            future.release()
            if pending:
                submit_next()

    @staticmethod
    def _finish(job: LessonJob, future: Any) -> JobResult:
        slug = job.slug
        try:
            remote: RemoteResult = future.result()
        except Exception as error:  # a lost worker or a broken task: this lesson fails
            return failed_job(slug, error, "Dask task")
        if not remote.result.error:
            store_remote_result(job, remote)
        return remote.result

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


# --- choosing ---------------------------------------------------------------------------------


def make_executor(settings: Settings) -> Executor:
    """The executor `settings.executor` names (Dask is imported only when it runs)."""
    if settings.executor == "dask":
        return DaskExecutor(settings.scheduler or None)
    return LocalExecutor(settings.jobs)


@contextmanager
def using(executor: Executor | None, settings: Settings) -> Iterator[Executor]:
    """`executor` as it is, or one made from `settings` and closed afterwards."""
    if executor is not None:
        yield executor
        return
    made = make_executor(settings)
    try:
        yield made
    finally:
        made.close()


def run_jobs(
    jobs: Sequence[LessonJob],
    executor: Executor,
    report: BuildReport,
    on_event: EventHandler,
) -> None:
    """Run `jobs` on `executor`, recording each outcome in `report` as it arrives."""
    total = len(jobs)
    for index, job in enumerate(jobs):
        on_event(Started(job.slug, done=index, total=total))
    if not jobs:
        return
    _collect_results(executor.run(jobs), report, on_event, total)


def _collect_results(
    results: Iterable[JobResult], report: BuildReport, on_event: EventHandler, total: int
) -> None:
    for done, result in enumerate(results, start=1):
        report.sections_synthesized += result.synthesized
        report.sections_reused += result.reused
        if result.error:
            report.failed.append(Failure(result.slug, result.error))
            on_event(Failed(result.slug, result.error, done, total))
        else:
            report.built.append(result.slug)
            on_event(Built(result.slug, result.duration, done, total))
