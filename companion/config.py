"""Settings: defaults, then companion.toml in the workdir, then command-line options.

`SETTINGS` is the one table of settings: companion.toml keys, `companion build` options
(cli.py makes them from it) and the README's settings table. A companion.toml with [[show]]
entries describes a library: `load_workdir` returns a `Library` of one `Settings` per show.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from companion import layout
from companion.errors import ConfigError
from companion.models import ENGINES, Voice

ExecutorName = Literal["local", "dask"]
EXECUTORS: tuple[ExecutorName, ...] = get_args(ExecutorName)
SHOW_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its key in companion.toml and, with dashes, its `build` option.

    `help` is its one description: the option's --help text and the `meaning` of its row in
    the README's settings table (tests/test_docs.py compares the two).
    """

    name: str
    kind: type
    default: Any
    help: str
    shown_default: str = ""  # how the default reads in --help and the README ("": the value)
    choices: tuple[str, ...] = ()
    metavar: str = ""
    library_only: bool = False  # set once for a whole library, not per [[show]]

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def default_text(self) -> str:
        if self.shown_default or self.default == "":
            return self.shown_default
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        if isinstance(self.default, float) and self.default.is_integer():
            return str(int(self.default))
        return str(self.default)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "source",
        str,
        "",
        "Source feed: a file path or http(s) URL.",
        shown_default="the bundled Machine Learning Guide sample",
    ),
    Setting(
        "base_url",
        str,
        "http://localhost:8000/",
        "Public URL of the workdir; every URL in the published feed starts with it.",
    ),
    Setting(
        "title",
        str,
        "",
        "Title of the published feed.",
        shown_default="<source show> Math Companion",
    ),
    Setting(
        "author", str, "", "Author of the published feed.", shown_default="the source show's author"
    ),
    Setting(
        "email",
        str,
        "companion@example.org",
        "Owner e-mail in the feed (itunes:owner, podcast:locked).",
    ),
    Setting(
        "voice",
        str,
        "",
        "Voice of the engine (companion voices lists them): heart for hibari; joe or the "
        "path of a .onnx for piper; an espeak-ng voice such as en-us or mb-us1.",
        shown_default="the engine's own",
    ),
    Setting("rate", int, 165, "Speaking rate in words per minute (80-400)."),
    Setting("pitch", int, 50, "Voice pitch, 0-99."),
    Setting(
        "engine",
        str,
        "hibari",
        "Speech engine: hibari (neural, the default), piper (neural, companion[piper]), "
        "espeak-ng (formant, fast drafts) or pyttsx3.",
        choices=ENGINES,
    ),
    Setting("limit", int, 0, "Only the newest N episodes (0: all)."),
    Setting(
        "max_episodes",
        int,
        0,
        "Read at most the newest N episodes of the source feed, with a warning (0: no limit).",
    ),
    Setting(
        "max_items",
        int,
        0,
        "Publish only the newest N episode lessons (0: all); older lessons stay on disk.",
    ),
    Setting(
        "lesson_minutes",
        float,
        6.0,
        "Target length of an episode lesson in minutes; topics beyond it are shortened.",
    ),
    Setting("quiz_pause", float, 5.0, "Seconds of silence to think before a quiz answer (0.5-10)."),
    Setting(
        "review_pause",
        float,
        7.0,
        "Seconds of silence to think before a review's answer (0.5-15).",
    ),
    Setting(
        "equation_rate",
        float,
        0.85,
        "Equations are read at this times the speaking rate (0.5-1).",
    ),
    Setting("sentence_gap", float, 0.4, "Seconds of silence between sentences (0.1-2)."),
    Setting("section_gap", float, 1.0, "Seconds of silence between chapters (0.3-3)."),
    Setting(
        "second_voice",
        str,
        "",
        "A second voice that asks the quiz questions: joe (the Piper voice of "
        "companion[piper]) or the path of a Piper .onnx. Empty: off; off with a note when it "
        "is not installed.",
        shown_default="off",
    ),
    Setting(
        "jobs", int, 0, "Lessons synthesized in parallel (0: one per CPU core).", library_only=True
    ),
    Setting(
        "max_feed_bytes",
        int,
        20_000_000,
        "Refuse source feeds larger than this.",
        library_only=True,
    ),
    Setting(
        "templates_dir",
        str,
        "",
        "A folder whose templates override the built-in ones.",
        metavar="DIR",
    ),
    Setting(
        "catalog",
        str,
        "",
        "A topic catalog (TOML) to use instead of the built-in one.",
        metavar="FILE",
    ),
    Setting(
        "transcripts",
        bool,
        True,
        "Fetch each episode's podcast:transcript and podcast:chapters (when the source feed "
        "has them) and link topics on them too.",
    ),
    Setting(
        "course",
        bool,
        True,
        "Also build the course feed: one lesson per catalog topic, prerequisites first.",
    ),
    Setting("course_topics", int, 0, "Only the first N topics of the course (0: all)."),
    Setting(
        "review",
        bool,
        True,
        "Publish a spaced review episode in the companion feed after "
        "every fifth lesson: questions on earlier lessons at growing distances.",
    ),
    Setting(
        "executor",
        str,
        "local",
        "Where lessons are synthesized: local (processes on "
        "this machine) or dask (a Dask cluster, see Scaling out).",
        choices=EXECUTORS,
        library_only=True,
    ),
    Setting(
        "scheduler",
        str,
        "",
        "Dask scheduler address, e.g. tcp://HOST:8786, for "
        "executor dask (empty: a LocalCluster on this machine).",
        metavar="tcp://HOST:8786",
        library_only=True,
    ),
)
SETTING = {setting.name: setting for setting in SETTINGS}


@dataclass(frozen=True, slots=True)
class EpisodeOverride:
    pin: tuple[str, ...] = ()  # topic ids always linked
    exclude: tuple[str, ...] = ()  # topic ids never linked


@dataclass(frozen=True, slots=True)
class Settings:
    workdir: Path
    source: str
    base_url: str
    title: str
    author: str
    email: str
    voice: Voice
    limit: int
    max_items: int
    lesson_minutes: float
    quiz_pause: float
    jobs: int
    max_feed_bytes: int
    max_episodes: int
    templates_dir: Path | None
    catalog: Path | None
    course: bool
    course_topics: int
    review: bool
    episodes: Mapping[str, EpisodeOverride] = field(default_factory=dict)
    executor: ExecutorName = "local"
    scheduler: str = ""
    cache_dir: Path | None = None  # section audio cache; None: <workdir>/.cache/sections
    equation_rate: float = 0.85  # equations: this times the speaking rate
    review_pause: float = 7.0  # seconds to think before a review's answer
    transcripts: bool = True  # read the episodes' own transcripts and chapters

    @property
    def section_cache(self) -> Path:
        """The content-addressed cache of section audio (shared by a library's shows)."""
        return self.cache_dir or self.workdir / layout.SECTION_CACHE


def sample_feed_path() -> Path:
    """The bundled sample feed (Machine Learning Guide episodes)."""
    return Path(str(resources.files("companion") / "data" / "mlg.xml"))


def load_settings(
    workdir: Path, options: Mapping[str, Any] | None = None, config_path: Path | None = None
) -> Settings:
    """Defaults, then `companion.toml` (if present), then `options` that are not None."""
    workdir = workdir.resolve()
    path = config_path or workdir / layout.CONFIG_NAME
    table = read_config(path, required=config_path is not None)
    if "show" in table:
        raise ConfigError(
            f"{path.name}: its [[show]] entries make a library; build it with "
            "companion build or companion refresh"
        )
    return settings_from_table(workdir, table, path, options)


def read_config(path: Path, *, required: bool = False) -> dict[str, Any]:
    """The TOML table of a config file; empty when it is absent and not `required`."""
    if required and not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    return _read_toml(path) if path.is_file() else {}


def settings_from_table(
    workdir: Path,
    table: Mapping[str, Any],
    path: Path,
    options: Mapping[str, Any] | None = None,
    *,
    cache_dir: Path | None = None,
) -> Settings:
    """Settings from defaults, a config `table` read from `path`, then `options`."""
    values = {setting.name: setting.default for setting in SETTINGS}
    table = dict(table)
    episodes = _episode_overrides(path, table.pop("episodes", {}))
    for key, value in table.items():
        values[key] = _checked(path.name, key, value)
    for key in ("templates_dir", "catalog"):
        if values[key]:
            values[key] = str((path.parent / values[key]).resolve())
    for key, value in (options or {}).items():
        if value is not None:
            values[key] = _checked("option", key, value)
    return _settings(workdir.resolve(), values, episodes, cache_dir)


SHOW_KEYS = frozenset({"slug"} | {s.name for s in SETTINGS if not s.library_only})


@dataclass(frozen=True, slots=True)
class ShowEntry:
    slug: str
    settings: Settings


@dataclass(frozen=True, slots=True)
class Library:
    workdir: Path
    settings: Settings  # the top-level settings (executor, scheduler, jobs, base_url)
    shows: tuple[ShowEntry, ...]


# --- a library: [[show]] entries --------------------------------------------------------------


def load_workdir(
    workdir: Path, options: Mapping[str, Any] | None = None, config_path: Path | None = None
) -> Settings | Library:
    """A library when the config has [[show]] entries, otherwise one show's Settings."""
    workdir = workdir.resolve()
    path = config_path or workdir / layout.CONFIG_NAME
    table = read_config(path, required=config_path is not None)
    if "show" not in table:
        return load_settings(workdir, options, config_path)
    return _library(workdir, table, path, dict(options or {}))


def _library(workdir: Path, table: dict[str, Any], path: Path, options: dict[str, Any]) -> Library:
    from companion import ingest  # only a library needs it: keep `companion --help` quick

    entries = table.pop("show")
    where = path.name
    if (
        not isinstance(entries, list)
        or not entries
        or not all(isinstance(entry, dict) for entry in entries)
    ):
        raise ConfigError(f"{where}: 'show' must be one or more [[show]] tables")
    if "source" in table or options.get("source") is not None:
        raise ConfigError(f"{where}: source: set it in each [[show]] entry of a library")
    top = settings_from_table(workdir, table, path, options)
    show_options = {k: v for k, v in options.items() if k not in ("base_url", "source")}
    cache = workdir / layout.SECTION_CACHE
    shows: list[ShowEntry] = []
    for number, entry in enumerate(entries, start=1):
        slug = entry.get("slug")
        label = f"{where}: show {number}"
        if not isinstance(slug, str) or not SHOW_SLUG.match(slug):
            raise ConfigError(
                f"{label}: slug: {slug!r} must be lower-case letters, digits and "
                "dashes (e.g. 'my-show')"
            )
        label = f"{where}: show {slug!r}"
        unknown = sorted(set(entry) - SHOW_KEYS)
        if unknown:
            raise ConfigError(
                f"{label}: unknown key {unknown[0]!r} (a show takes {', '.join(sorted(SHOW_KEYS))})"
            )
        if not isinstance(entry.get("source"), str) or not entry["source"].strip():
            raise ConfigError(f"{label}: source: required (a feed file path or http(s) URL)")
        if any(show.slug == slug for show in shows):
            raise ConfigError(f"{label}: slug: used by two shows")
        merged = {**table, **{k: v for k, v in entry.items() if k != "slug"}}
        merged["base_url"] = entry.get("base_url") or f"{top.base_url}{layout.show_path(slug)}/"
        try:
            settings = settings_from_table(
                workdir / layout.show_path(slug), merged, path, show_options, cache_dir=cache
            )
        except ConfigError as error:
            raise ConfigError(f"{label}: {error}") from None
        source = settings.source
        if not ingest.is_url(source) and not Path(source).is_absolute():
            settings = replace(settings, source=str((path.parent / source).resolve()))
        shows.append(
            ShowEntry(
                slug,
                replace(settings, executor=top.executor, scheduler=top.scheduler, jobs=top.jobs),
            )
        )
    return Library(workdir, top, tuple(shows))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read ({error})") from None


def _checked(where: str, key: str, value: Any) -> Any:
    setting = SETTING.get(key)
    if setting is None:
        guess = difflib.get_close_matches(key, [*list(SETTING), "episodes", "show"], n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        raise ConfigError(f"{where}: unknown setting {key!r}{hint}")
    if setting.kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    wrong_bool = isinstance(value, bool) and setting.kind is not bool
    if not isinstance(value, setting.kind) or wrong_bool:
        raise ConfigError(
            f"{where}: setting {key!r} must be {setting.kind.__name__}, "
            f"not {type(value).__name__} {value!r}"
        )
    return value


def _episode_overrides(path: Path, table: Any) -> dict[str, EpisodeOverride]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path.name}: 'episodes' must be a table of episode guids")
    overrides = {}
    for guid, entry in table.items():
        where = f"{path.name}: episodes.{guid!r}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a table with 'pin' and/or 'exclude'")
        unknown = set(entry) - {"pin", "exclude"}
        if unknown:
            raise ConfigError(
                f"{where}: unknown key {sorted(unknown)[0]!r} (use 'pin' or 'exclude')"
            )
        lists = {}
        for key in ("pin", "exclude"):
            value = entry.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}.{key} must be a list of topic ids")
            lists[key] = tuple(value)
        overrides[guid] = EpisodeOverride(lists["pin"], lists["exclude"])
    return overrides


def _settings(
    workdir: Path,
    values: dict[str, Any],
    episodes: dict[str, EpisodeOverride],
    cache_dir: Path | None = None,
) -> Settings:
    base_url = values["base_url"].strip()
    if not base_url.lower().startswith(("http://", "https://")):
        raise ConfigError(f"base_url: {base_url!r} must start with http:// or https://")
    if not base_url.endswith("/"):
        base_url += "/"
    if values["engine"] not in ENGINES:
        raise ConfigError(f"engine: {values['engine']!r} is not one of {', '.join(ENGINES)}")
    if values["executor"] not in EXECUTORS:
        raise ConfigError(f"executor: {values['executor']!r} is not one of {', '.join(EXECUTORS)}")
    scheduler = values["scheduler"].strip()
    if scheduler and values["executor"] != "dask":
        raise ConfigError(
            f"scheduler: {scheduler!r} is only used with executor dask (--executor dask)"
        )
    if scheduler and "://" not in scheduler:
        scheduler = f"tcp://{scheduler}"
    _in_range("rate", values["rate"], 80, 400)
    _in_range("pitch", values["pitch"], 0, 99)
    _in_range("limit", values["limit"], 0, 1_000_000)
    _in_range("max_items", values["max_items"], 0, 1_000_000)
    _in_range("lesson_minutes", values["lesson_minutes"], 1, 60)
    _in_range("quiz_pause", values["quiz_pause"], 0.5, 10)
    _in_range("review_pause", values["review_pause"], 0.5, 15)
    _in_range("equation_rate", values["equation_rate"], 0.5, 1)
    _in_range("sentence_gap", values["sentence_gap"], 0.1, 2)
    _in_range("section_gap", values["section_gap"], 0.3, 3)
    _in_range("jobs", values["jobs"], 0, 256)
    _in_range("course_topics", values["course_topics"], 0, 10_000)
    _in_range("max_feed_bytes", values["max_feed_bytes"], 1_000, 2_000_000_000)
    _in_range("max_episodes", values["max_episodes"], 0, 1_000_000)
    jobs = values["jobs"] or (os.cpu_count() or 1)
    templates = values["templates_dir"]
    return Settings(
        workdir=workdir,
        source=values["source"],
        base_url=base_url,
        title=values["title"],
        author=values["author"],
        email=values["email"],
        voice=Voice(
            name=values["voice"],
            rate=values["rate"],
            pitch=values["pitch"],
            engine=values["engine"],
            sentence_gap=values["sentence_gap"],
            section_gap=values["section_gap"],
            second=values["second_voice"],
        ),
        limit=values["limit"],
        max_items=values["max_items"],
        lesson_minutes=values["lesson_minutes"],
        quiz_pause=values["quiz_pause"],
        review_pause=values["review_pause"],
        jobs=jobs,
        max_feed_bytes=values["max_feed_bytes"],
        max_episodes=values["max_episodes"],
        templates_dir=Path(templates) if templates else None,
        catalog=Path(values["catalog"]) if values["catalog"] else None,
        course=values["course"],
        course_topics=values["course_topics"],
        review=values["review"],
        episodes=episodes,
        executor=values["executor"],
        scheduler=scheduler,
        cache_dir=cache_dir,
        equation_rate=values["equation_rate"],
        transcripts=values["transcripts"],
    )


def _in_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{name}: {value} is out of range ({low} to {high})")
