"""The settings table: every setting once, with its default, its range and its description.

`SETTINGS` is the one source of the settings: companion.toml keys and their checks
(config.py), the options of `companion build` and `companion say` and their --help (cli.py),
the defaults of `Voice` (models.py), `RenderSettings` (render.py) and `companion say`
(speech.py), and the README's settings table (tests/test_docs.py compares it). A new setting
is one more row here (its default and range included), read where it acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from companion.voices import ENGINE_NAMES, ENGINES

ExecutorName = Literal["local", "dask"]
EXECUTORS: tuple[ExecutorName, ...] = get_args(ExecutorName)
DEFAULT_ENGINE = "hibari"


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its key in companion.toml and, with dashes, its `build` option.

    `help` is its one description, with `{range}` where its range is named: formatted, it is
    the option's --help text and the `meaning` of its row in the README's settings table.
    """

    name: str
    kind: type
    default: Any
    help: str
    shown_default: str = ""  # how the default reads in --help and the README ("": the value)
    choices: tuple[str, ...] = ()
    metavar: str = ""
    library_only: bool = False  # set once for a whole library, not per [[show]]
    range: tuple[float, float] | None = None  # lowest and highest value allowed

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def meaning(self) -> str:
        """The description, its range written in (the --help text and the README's)."""
        if self.range is None:
            return self.help
        low, high = self.range
        return self.help.format(range=f"{_number(low)}-{_number(high)}")

    @property
    def default_text(self) -> str:
        if self.shown_default or self.default == "":
            return self.shown_default
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return _number(self.default) if isinstance(self.default, float) else str(self.default)


def _number(value: float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _engine_help() -> str:
    default = ENGINES[DEFAULT_ENGINE]
    kinds = [
        f"{spec.name} ({spec.summary}{', the default' if spec is default else ''})"
        for spec in ENGINES.values()
    ]
    return f"Speech engine: {', '.join(kinds[:-1])} or {kinds[-1]}."


def _voice_help() -> str:
    voices = "; ".join(f"{spec.voice_help} for {spec.name}" for spec in ENGINES.values())
    return f"Voice of the engine (companion voices lists them): {voices}."


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
    Setting("voice", str, "", _voice_help(), shown_default="the engine's own"),
    Setting("rate", int, 165, "Speaking rate in words per minute ({range}).", range=(80, 400)),
    Setting("pitch", int, 50, "Voice pitch, {range}.", range=(0, 99)),
    Setting("engine", str, DEFAULT_ENGINE, _engine_help(), choices=ENGINE_NAMES),
    Setting(
        "max_episodes",
        int,
        0,
        "Read at most the newest N episodes of the source feed, with a warning (0: no limit).",
        range=(0, 1_000_000),
    ),
    Setting(
        "max_items",
        int,
        0,
        "Publish only the newest N episode lessons (0: all); older lessons stay on disk.",
        range=(0, 1_000_000),
    ),
    Setting(
        "lesson_minutes",
        float,
        6.0,
        "Target length of an episode lesson in minutes; topics beyond it are shortened.",
        range=(1, 60),
    ),
    Setting(
        "quiz_pause",
        float,
        5.0,
        "Seconds of silence to think before a quiz answer ({range}).",
        range=(0.5, 10),
    ),
    Setting(
        "review_pause",
        float,
        7.0,
        "Seconds of silence to think before a review's answer ({range}).",
        range=(0.5, 15),
    ),
    Setting(
        "equation_rate",
        float,
        0.85,
        "Equations are read at this times the speaking rate ({range}).",
        range=(0.5, 1),
    ),
    Setting(
        "sentence_gap",
        float,
        0.4,
        "Seconds of silence between sentences ({range}).",
        range=(0.1, 2),
    ),
    Setting(
        "section_gap",
        float,
        1.0,
        "Seconds of silence between chapters ({range}).",
        range=(0.3, 3),
    ),
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
        "jobs",
        int,
        0,
        "Lessons synthesized in parallel (0: one per CPU core).",
        library_only=True,
        range=(0, 256),
    ),
    Setting(
        "max_feed_bytes",
        int,
        20_000_000,
        "Refuse source feeds larger than this.",
        library_only=True,
        range=(1_000, 2_000_000_000),
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
    Setting(
        "course_topics",
        int,
        0,
        "Only the first N topics of the course (0: all).",
        range=(0, 10_000),
    ),
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
DEFAULT: dict[str, Any] = {setting.name: setting.default for setting in SETTINGS}
