"""Settings: defaults, then companion.toml in the workdir, then command-line options.

Every key, default and range comes from the one table of settings, `SETTINGS`
(companion/settings_table.py). A companion.toml with [[show]] entries describes a library:
`load_workdir` returns a `Library` of one `Settings` per show.
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
from typing import Any

from companion import layout
from companion.errors import ConfigError
from companion.models import Voice
from companion.settings_table import (
    DEFAULT,
    EXECUTORS,
    SETTING,
    SETTINGS,
    ExecutorName,
    Setting,
)

__all__ = ["EXECUTORS", "SETTING", "SETTINGS", "ExecutorName", "Setting"]

SHOW_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


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
    executor: ExecutorName = DEFAULT["executor"]
    scheduler: str = DEFAULT["scheduler"]
    cache_dir: Path | None = None  # section audio cache; None: <workdir>/.cache/sections
    equation_rate: float = DEFAULT["equation_rate"]  # equations: this times the speaking rate
    review_pause: float = DEFAULT["review_pause"]  # seconds to think before a review's answer
    transcripts: bool = DEFAULT["transcripts"]  # read the episodes' own transcripts, chapters

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


def option_settings(options: Mapping[str, Any]) -> Settings:
    """Settings from the defaults and `options` alone (no companion.toml), checked as a
    build's are: `companion say` takes its voice and equation rate from them."""
    return settings_from_table(Path.cwd(), {}, Path(layout.CONFIG_NAME), options)


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
    for setting in SETTINGS:
        if setting.choices and values[setting.name] not in setting.choices:
            raise ConfigError(
                f"{setting.name}: {values[setting.name]!r} is not one of "
                f"{', '.join(setting.choices)}"
            )
    scheduler = values["scheduler"].strip()
    if scheduler and values["executor"] != "dask":
        raise ConfigError(
            f"scheduler: {scheduler!r} is only used with executor dask (--executor dask)"
        )
    if scheduler and "://" not in scheduler:
        scheduler = f"tcp://{scheduler}"
    for setting in SETTINGS:
        if setting.range is not None:
            _in_range(setting.name, values[setting.name], *setting.range)
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
