"""Executors: a lesson that fails is recorded and the build goes on, exit status 1.

The Dask executor's side of this (a worker without espeak-ng) is in test_dask.py; these
tests cover the local executor, in this process and in a process pool, including failures
that are not CompanionErrors (a bug in a job, a worker process that dies).
"""

from __future__ import annotations

import os
from pathlib import Path

import feedparser
import pytest

from companion import layout, voices
from companion.build import build
from companion.config import load_settings
from companion.errors import SynthError
from companion.events import BuildEvent, BuildReport, Failed
from companion.lessons import JobResult, failed_job
from companion.models import Voice
from tests.conftest import DATA, as_another_kind_of_machine
from tests.test_build import RecordingExecutor

SOURCE = str(DATA / "feeds" / "two_math.xml")
SLUGS = ["dot-products", "sigmoid"]


def run(workdir: Path, jobs: int) -> tuple[BuildReport, list[BuildEvent]]:
    events: list[BuildEvent] = []
    settings = load_settings(workdir, {"source": SOURCE, "jobs": jobs, "course": False})
    return build(settings, on_event=events.append), events


def published(workdir: Path) -> list[str]:
    parsed = feedparser.parse((workdir / layout.FEED_PATH).read_bytes())
    return [entry.link.split("/")[-2] for entry in parsed.entries]


def test_failed_job_keeps_a_companion_error_and_names_anything_else() -> None:
    assert failed_job("a", SynthError("a.mp3: ffmpeg failed (x)")) == JobResult(
        "a", error="a.mp3: ffmpeg failed (x)"
    )
    assert failed_job("a", KeyError("k"), "Dask task").error == (
        "a: Dask task failed (KeyError: 'k')"
    )


@pytest.mark.slow
def test_a_lesson_that_raises_is_recorded_and_the_others_are_built(
    tmp_path: Path, audio_tools: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = voices.speaker
    calls: list[str] = []

    def first_call_crashes(voice: Voice) -> voices.Speaker:
        calls.append(voice.name)
        if len(calls) == 1:
            raise RuntimeError("a bug in the job")
        return real(voice)

    monkeypatch.setattr(voices, "speaker", first_call_crashes)
    report, events = run(tmp_path, jobs=1)
    assert report.exit_code == 1
    [failure] = report.failed
    assert failure.message == f"{failure.slug}: lesson job failed (RuntimeError: a bug in the job)"
    [other] = set(SLUGS) - {failure.slug}
    assert report.built == [other]  # the next lesson was built after the failure
    assert [e.slug for e in events if isinstance(e, Failed)] == [failure.slug]
    assert published(tmp_path) == [other]  # the feed is written with what was built


def test_a_worker_process_that_dies_fails_its_lessons_and_the_build_goes_on(
    tmp_path: Path, audio_tools: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dies(voice: Voice) -> voices.Speaker:
        os._exit(3)  # the worker process is gone (as if killed by the OOM killer)

    monkeypatch.setattr(voices, "speaker", dies)  # inherited by the forked workers
    report, _ = run(tmp_path, jobs=2)
    assert report.exit_code == 1
    assert sorted(f.slug for f in report.failed) == SLUGS
    assert all("worker process failed (BrokenProcessPool" in f.message for f in report.failed)
    assert (tmp_path / layout.FEED_PATH).is_file() and published(tmp_path) == []


def test_a_dask_task_reuses_only_the_sections_its_own_kind_of_machine_made(
    tmp_path: Path, audio_tools: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from companion.executors import remote_payload, run_remote_job, store_remote_result

    options = {
        "source": SOURCE,
        "jobs": 1,
        "course": False,
        "engine": "espeak-ng",
        "max_episodes": 1,
    }
    settings = load_settings(tmp_path / "work", options)
    assert build(settings).exit_code == 0  # this kind's sections are in the cache
    recorder = RecordingExecutor()
    build(settings, force=True, executor=recorder)
    [job] = recorder.jobs
    sections = len(job.script.sections)
    first = {name: (job.folder / name).read_bytes() for name in layout.lesson_files(job.key)}
    ours = remote_payload(job)
    assert len(ours.cached) == 2 * sections  # a WAV and its cues per section

    other = as_another_kind_of_machine(monkeypatch)  # a worker of another CPU kind
    remote = run_remote_job(ours)
    assert (remote.result.synthesized, remote.result.reused) == (sections, 0)
    assert len(remote.made) == 2 * sections
    assert all(f".{other}." in name for name in remote.made)
    store_remote_result(job, remote)
    both = remote_payload(job)
    assert len(both.cached) == 4 * sections  # every rendering goes to the worker

    monkeypatch.undo()  # a worker of this kind: its own sections, none of the other's
    again = run_remote_job(both)
    assert (again.result.synthesized, again.result.reused) == (0, sections)
    assert again.files == first
