"""Benchmark a library build: local `--jobs 2` against Dask with 2 workers (not a test).

Generates 3 shows x 20 episodes (a 60-episode generated feed cut in three, so the shows
teach different topics), builds the library cold with each executor, checks that both
produced the same bytes, and prints:
  - wall seconds and CPU seconds (this process tree: the build, its workers, espeak-ng and
    ffmpeg) of each run, and the Dask overhead ratio (dask wall / local wall);
  - the capacity model: CPU seconds per minute of lesson audio, and what that means in
    workers for N shows with M new episodes a day.

Usage: python benchmarks/bench_dask.py [--episodes 20] [--shows 3] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import filecmp
import os
import platform
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import make_feed, measure


def make_feeds(base: Path, shows: int, episodes: int) -> list[Path]:
    """`shows` feeds of `episodes` items each, cut from one generated feed."""
    whole = base / "all.xml"
    make_feed(whole, shows * episodes)
    text = whole.read_text("utf-8")
    head, rest = text.split("<item>", 1)
    items = re.findall(r"<item>.*?</item>", "<item>" + rest, flags=re.S)
    tail = "</channel></rss>\n"
    feeds = []
    for number in range(shows):
        path = base / f"show-{number + 1}.xml"
        chosen = items[number::shows]
        path.write_text(
            head.replace("<title>Bench Show</title>", f"<title>Bench Show {number + 1}</title>")
            + "".join(chosen)
            + tail,
            "utf-8",
        )
        feeds.append(path)
    return feeds


def write_library(workdir: Path, feeds: list[Path], executor: str) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    lines = ["course = false", "jobs = 2", f'executor = "{executor}"', ""]
    for number, feed in enumerate(feeds, start=1):
        lines += ["[[show]]", f'slug = "show-{number}"', f'source = "{feed}"', ""]
    (workdir / "companion.toml").write_text("\n".join(lines), "utf-8")


def run_build(workdir: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds of the whole process tree, and the summary line."""
    run = measure([sys.executable, "-m", "companion", "build", "--workdir", str(workdir), "-q"])
    summary = [line for line in run.stderr.splitlines() if " shows: " in line][-1]
    return run.wall, run.cpu, summary


def same_output(one: Path, two: Path) -> bool:
    names = sorted(
        p.relative_to(one)
        for p in one.glob("shows/*/*/**/*")
        if p.is_file() and p.suffix in (".mp3", ".xml", ".json", ".vtt", ".txt")
    )
    same, different, errors = filecmp.cmpfiles(one, two, [str(n) for n in names], shallow=False)
    return bool(same) and not different and not errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shows", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the workdirs")
    parser.add_argument(
        "--dask-first",
        action="store_true",
        help="run the Dask build before the local one (order effects)",
    )
    args = parser.parse_args()
    base = args.workdir or Path(tempfile.mkdtemp(prefix="companion-bench-dask-"))
    base.mkdir(parents=True, exist_ok=True)
    feeds = make_feeds(base, args.shows, args.episodes)
    write_library(base / "local", feeds, "local")
    write_library(base / "dask", feeds, "dask")

    if args.dask_first:
        dask_wall, dask_cpu, dask_summary = run_build(base / "dask")
    local_wall, local_cpu, local_summary = run_build(base / "local")
    if not args.dask_first:
        dask_wall, dask_cpu, dask_summary = run_build(base / "dask")
    minutes = float(re.search(r"([\d.]+) audio minutes", local_summary).group(1))  # type: ignore[union-attr]
    lessons = int(re.search(r"(\d+) lessons published", local_summary).group(1))  # type: ignore[union-attr]
    identical = same_output(base / "local", base / "dask")

    cpu_name = platform.processor() or platform.machine()
    print(f"Machine: {os.cpu_count()} cores, {cpu_name}, Python {platform.python_version()}")
    print(
        f"Library: {args.shows} shows x {args.episodes} episodes, {lessons} lessons, "
        f"{minutes:.1f} minutes of lesson audio; byte-identical outputs: {identical}"
    )
    print()
    print("| run | wall s | CPU s | CPU s per audio minute |")
    print("| --- | --- | --- | --- |")
    print(
        f"| local `--jobs 2`, cold | {local_wall:.1f} | {local_cpu:.1f} | "
        f"{local_cpu / minutes:.2f} |"
    )
    print(
        f"| Dask LocalCluster, 2 workers x 1 thread, cold | {dask_wall:.1f} | {dask_cpu:.1f} | "
        f"{dask_cpu / minutes:.2f} |"
    )
    print(
        f"| overhead ratio (Dask / local) | {dask_wall / local_wall:.2f} | "
        f"{dask_cpu / local_cpu:.2f} | |"
    )
    print()
    per_minute = local_cpu / minutes
    per_lesson = local_cpu / lessons
    print(
        f"Capacity: {per_minute:.2f} CPU s per minute of lesson audio "
        f"({per_lesson:.1f} CPU s per lesson of {minutes / lessons:.1f} min)."
    )
    for shows, per_day in ((10, 1), (100, 2), (1000, 3)):
        cpu_day = shows * per_day * (minutes / lessons) * per_minute
        print(
            f"  {shows} shows x {per_day} new episodes/day: {cpu_day / 3600:.1f} CPU hours "
            f"a day; {max(1, -(-cpu_day // 3600)):.0f} single-thread workers finish it "
            "within an hour"
        )
    print()
    print(f"local: {local_summary}")
    print(f"dask:  {dask_summary}")
    if not args.keep and args.workdir is None:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
