"""Settings: defaults, companion.toml, command-line options, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.config import SETTINGS, load_settings, sample_feed_path
from companion.errors import ConfigError


def write_config(workdir: Path, text: str) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "companion.toml").write_text(text, "utf-8")


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.workdir == tmp_path.resolve()
    assert settings.source == ""  # the bundled sample
    assert settings.base_url == "http://localhost:8000/"
    assert (settings.voice.engine, settings.voice.name) == ("hibari", "")  # its default: heart
    assert settings.lesson_minutes == 6.0
    assert settings.jobs >= 1
    assert sample_feed_path().is_file()


def test_file_then_options_take_precedence(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        'title = "My Course"\nrate = 150\nbase_url = "https://x.org/c"\nlesson_minutes = 4\n',
    )
    settings = load_settings(tmp_path, {"rate": 180, "title": None})
    assert settings.title == "My Course"
    assert settings.voice.rate == 180
    assert settings.base_url == "https://x.org/c/"
    assert settings.lesson_minutes == 4.0


def test_episode_overrides(tmp_path: Path) -> None:
    write_config(tmp_path, '[episodes."mlg-5"]\npin = ["bayes-theorem"]\nexclude = ["variance"]\n')
    override = load_settings(tmp_path).episodes["mlg-5"]
    assert override.pin == ("bayes-theorem",)
    assert override.exclude == ("variance",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('voise = "en-gb"\n', "companion.toml: unknown setting 'voise' (did you mean 'voice'?)"),
        ("rate = 'fast'\n", "companion.toml: setting 'rate' must be int, not str 'fast'"),
        ("rate = 20\n", "rate: 20 is out of range (80 to 400)"),
        ('base_url = "ftp://x"\n', "base_url: 'ftp://x' must start with http:// or https://"),
        ('engine = "say"\n', "engine: 'say' is not one of hibari, piper, espeak-ng, pyttsx3"),
        ("title = \n", "companion.toml: not valid TOML"),
        ("sentence_gap = 5\n", "sentence_gap: 5.0 is out of range (0.1 to 2)"),
        ("quiz_pause = 11\n", "quiz_pause: 11.0 is out of range (0.5 to 10)"),
        ("review_pause = 0\n", "review_pause: 0.0 is out of range (0.5 to 15)"),
        ("equation_rate = 1.5\n", "equation_rate: 1.5 is out of range (0.5 to 1)"),
        ('[episodes."g"]\npin = "x"\n', "episodes.'g'.pin must be a list of topic ids"),
        ('[episodes."g"]\npinned = ["x"]\n', "episodes.'g': unknown key 'pinned'"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_prosody_settings_reach_the_voice_and_the_renderer(tmp_path: Path) -> None:
    write_config(tmp_path, "sentence_gap = 0.6\nsection_gap = 1.5\nequation_rate = 0.8\n")
    settings = load_settings(tmp_path)
    assert (settings.voice.sentence_gap, settings.voice.section_gap) == (0.6, 1.5)
    assert settings.equation_rate == 0.8


def test_every_setting_has_help() -> None:
    assert all(setting.help for setting in SETTINGS)
    assert len({setting.name for setting in SETTINGS}) == len(SETTINGS)
