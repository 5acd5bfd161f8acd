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
    assert settings.voice.name == "en-us"
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
        ('engine = "say"\n', "engine: 'say' is not one of espeak-ng, pyttsx3"),
        ("title = \n", "companion.toml: not valid TOML"),
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


def test_every_setting_has_help() -> None:
    assert all(setting.help for setting in SETTINGS)
    assert len({setting.name for setting in SETTINGS}) == len(SETTINGS)
