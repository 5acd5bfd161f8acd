"""Benchmark `companion build` against the cost floor of its own speech (not a test).

Generates a 60-episode feed from the catalog topics (two or three topics an episode), then
reports in one run:
  (a) the cost floor: the same section texts (lexicon applied) spoken by the same engine
      in one process, one call per section straight to WAV, and encoded by one ffmpeg call
      per lesson (same loudness filter and MP3 settings),
  (b) `companion build --jobs 1` cold,
  (c) `companion build --jobs 2` cold,
  (d) a no-op rebuild,
  (e) a rebuild after editing one topic (and that topic's share of the sections),
  (f) peak memory (max RSS of the build process and its children).

The builds publish no course and no review episodes, so they make the lessons the floor makes.

Usage: python benchmarks/bench_build.py [--episodes 60] [--engine hibari] [--workdir DIR]
       [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from companion import render, synth, voices
from companion.build import render_settings
from companion.config import load_settings
from companion.ingest import load_feed
from companion.topics import link_episode, load_catalog
from companion.voices import ENGINE_NAMES as ENGINES

ROOT = Path(__file__).resolve().parents[1]


def make_feed(path: Path, episodes: int) -> None:
    """A feed whose episodes each name two or three catalog topics by their titles."""
    catalog = load_catalog()
    topics = catalog.topics
    items = []
    start = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
    for index in range(episodes):
        chosen = [topics[(index * 7 + k * 11) % len(topics)] for k in range(2 + index % 2)]
        names = ", ".join(topic.aliases[0] if topic.aliases else topic.title for topic in chosen)
        description = (
            f"This episode works through {names}, with examples from real models. "
            "We explain each idea step by step."
        )
        date = format_datetime(start + timedelta(days=index))
        items.append(
            f"<item><title>Bench {index:03d}: {escape(names)}</title>"
            f'<guid isPermaLink="false">bench-{index:03d}</guid><pubDate>{date}</pubDate>'
            f"<description>{escape(description)}</description>"
            f'<enclosure url="https://example.org/{index}.mp3" length="1" '
            'type="audio/mpeg"/></item>'
        )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        "<title>Bench Show</title><link>https://example.org/</link>"
        "<description>Generated for the build benchmark.</description><language>en</language>"
        + "".join(items)
        + "</channel></rss>\n",
        "utf-8",
    )


@dataclass(frozen=True)
class ChildRun:
    """One command measured from a separate process, so its children are its alone."""

    wall: float  # seconds
    cpu: float  # user + system seconds of the whole process tree
    peak_mb: float  # the largest RSS of any process in the tree
    stderr: str


_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter(); r = subprocess.run(sys.argv[1:]); "
    "e = time.perf_counter() - t\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(f'{e:.3f} {u.ru_utime + u.ru_stime:.3f} {u.ru_maxrss / 1024:.1f}'); "
    "sys.exit(r.returncode)"
)


def measure(command: list[str]) -> ChildRun:
    """Run `command` and measure it; a failing command stops the benchmark."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed: {result.stderr.strip()}")
    wall, cpu, peak = result.stdout.split()[-3:]
    return ChildRun(float(wall), float(cpu), float(peak), result.stderr)


def run_build(workdir: Path, feed: Path, jobs: int, *extra: str) -> tuple[float, float, str]:
    """Wall seconds, peak RSS of the children in MB, and the summary line."""
    run = measure(
        [
            sys.executable,
            "-m",
            "companion",
            "build",
            "--workdir",
            str(workdir),
            "--source",
            str(feed),
            "--jobs",
            str(jobs),
            "-q",
            *extra,
        ]
    )
    lines = run.stderr.strip().splitlines()
    return run.wall, run.peak_mb, lines[-1] if lines else ""


def cost_floor(workdir: Path, feed: Path, jobs: int, engine: str) -> tuple[float, int]:
    """Speak every section with one call of the engine straight to WAV, one ffmpeg per lesson.

    The model is loaded before the clock starts, as a build's worker loads it once.
    """
    settings = load_settings(workdir, {"source": str(feed), "engine": engine})
    show, episodes = load_feed(feed)
    catalog = load_catalog()
    links = {episode.guid: link_episode(episode, catalog) for episode in episodes}
    scripts = list(
        render.render_episodes(
            render.environment(), show, episodes, links, catalog, render_settings(settings, show)
        ).values()
    )
    floor_dir = workdir / "floor"
    floor_dir.mkdir(parents=True, exist_ok=True)
    voice = settings.voice
    speaker = voices.speaker(voice)

    def one_lesson(index: int) -> None:
        script = scripts[index]
        wavs = []
        for number, section in enumerate(script.sections):
            wav = floor_dir / f"{index}-{number}.wav"
            given = " ".join(
                spoken
                for paragraph in section.paragraphs
                for _, spoken in synth.spoken_sentences(paragraph, catalog.lexicon, voice.engine)
            )
            speaker.speak(given, wav)
            wavs.append(wav)
        inputs = [arg for wav in wavs for arg in ("-i", str(wav))]
        concat = (
            "".join(f"[{i}:a]" for i in range(len(wavs)))
            + f"concat=n={len(wavs)}:v=0:a=1,{synth.LOUDNESS_FILTER}"
        )
        subprocess.run(
            [
                "ffmpeg",
                "-nostdin",
                "-loglevel",
                "error",
                "-y",
                *inputs,
                "-filter_complex",
                concat,
                "-ar",
                "22050",
                "-ac",
                "1",
                "-c:a",
                "libmp3lame",
                "-b:a",
                "64k",
                str(floor_dir / f"{index}.mp3"),
            ],
            check=True,
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one_lesson, range(len(scripts))))
    return time.perf_counter() - started, len(scripts)


def edit_one_topic(workdir: Path) -> tuple[Path, str]:
    """A copy of the catalog with one topic's explanation changed; returns (path, topic id)."""
    packaged = ROOT / "companion" / "data" / "topics.toml"
    text = packaged.read_text("utf-8")
    topic_id = "gradient-descent"
    head, tail = text.split(f'id = "{topic_id}"', 1)
    tail = re.sub(
        r"(explanation = (?:\"\"\"|'''|\"|'))", r"\1Here is a fresh start. ", tail, count=1
    )
    edited = workdir / "edited-topics.toml"
    edited.write_text(head + f'id = "{topic_id}"' + tail, "utf-8")
    return edited, topic_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--engine", default="hibari", choices=ENGINES)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the workdirs")
    args = parser.parse_args()
    base = args.workdir or Path(tempfile.mkdtemp(prefix="companion-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    feed = base / "bench.xml"
    make_feed(feed, args.episodes)
    common = ["--config", str(base / "bench.toml")]
    settings = f'course = false\nreview = false\nengine = "{args.engine}"\n'
    (base / "bench.toml").write_text(settings, "utf-8")

    floor_seconds, lessons = cost_floor(base / "floor", feed, 1, args.engine)
    _progress(f"(a) floor {floor_seconds:.1f} s")
    cold1, peak1, summary1 = run_build(base / "jobs1", feed, 1, *common)
    _progress(f"(b) --jobs 1 cold {cold1:.1f} s, peak {peak1:.0f} MB: {summary1}")
    cold2, peak2, _ = run_build(base / "jobs2", feed, 2, *common)
    _progress(f"(c) --jobs 2 cold {cold2:.1f} s, peak {peak2:.0f} MB")
    noop, _, summary_noop = run_build(base / "jobs2", feed, 2, *common)
    _progress(f"(d) no-op {noop:.2f} s")
    edited, topic_id = edit_one_topic(base)
    (base / "edit.toml").write_text(settings + f'catalog = "{edited}"\n', "utf-8")
    edit, _, summary_edit = run_build(base / "jobs2", feed, 2, "--config", str(base / "edit.toml"))
    share = _topic_share(base / "jobs2", topic_id)

    cpu = platform.processor() or platform.machine()
    print(f"Machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(f"Feed: {args.episodes} episodes, {lessons} lessons; {summary1}")
    print()
    print("| measure | seconds | ratio |")
    print("| --- | --- | --- |")
    print(
        f"| (a) cost floor: {args.engine}, one call per section to WAV + 1 ffmpeg per "
        f"lesson, 1 process | {floor_seconds:.1f} | 1.00 |"
    )
    print(f"| (b) build --jobs 1, cold | {cold1:.1f} | (b)/(a) = {cold1 / floor_seconds:.2f} |")
    print(f"| (c) build --jobs 2, cold | {cold2:.1f} | (b)/(c) = {cold1 / cold2:.2f} |")
    print(f"| (d) no-op rebuild | {noop:.2f} | |")
    print(
        f"| (e) rebuild after editing topic {topic_id} | {edit:.1f} | (e)/(c) = "
        f"{edit / cold2:.2f}; lessons with the topic: {share:.0%} |"
    )
    print(f"| (f) peak RSS, --jobs 1 / --jobs 2 | {peak1:.0f} MB / {peak2:.0f} MB | |")
    print()
    print(f"no-op: {summary_noop}")
    print(f"edit:  {summary_edit}")
    if not args.keep and args.workdir is None:
        shutil.rmtree(base)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _topic_share(workdir: Path, topic_id: str) -> float:
    with_topic = 0
    stamps = list((workdir / "episodes").glob("*/build.json"))
    for stamp in stamps:
        if topic_id in json.loads(stamp.read_text("utf-8"))["lesson"]["topic_ids"]:
            with_topic += 1
    return with_topic / max(len(stamps), 1)


if __name__ == "__main__":
    main()
