"""The README documents every command and every setting (the sqlite-utils habit)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from companion.cli import cli
from companion.config import SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_is_in_the_readme(name: str) -> None:
    assert f"companion {name}" in README


def readme_settings() -> dict[str, tuple[str, str]]:
    """The README's settings table: name -> (default, meaning), backticks removed."""
    table = README.split("<!-- settings-table -->", 1)[1].strip().splitlines()
    rows = {}
    for line in table[2:]:
        if not line.startswith("|"):
            break
        name, default, meaning = (
            cell.strip().replace("`", "") for cell in line.strip().strip("|").split(" | ")
        )
        rows[name] = (default, meaning)
    return rows


def test_readme_settings_table_is_the_settings_table() -> None:
    """Same settings, same order, same defaults and the same text as --help."""
    assert list(readme_settings().items()) == [
        (setting.name, (setting.default_text, setting.meaning)) for setting in SETTINGS
    ]


def test_build_options_are_the_settings_with_their_help() -> None:
    options = {param.name: param for param in cli.commands["build"].params}
    for setting in SETTINGS:
        option = options[setting.name]
        assert isinstance(option, click.Option) and option.help is not None
        assert setting.option in option.opts
        assert option.help.startswith(setting.meaning), setting.name
        assert option.default is None  # not given: companion.toml or the default decides


TEST_COMMAND = (
    "./bootstrap.sh --test && .venv/bin/ruff check && .venv/bin/ruff format --check && "
    '.venv/bin/mypy --strict companion && .venv/bin/python -m pytest -m "slow or not slow"'
)


def test_readme_gives_the_two_commands_and_ci_runs_the_test_command() -> None:
    assert "./bootstrap.sh && .venv/bin/companion build" in README
    assert TEST_COMMAND in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text("utf-8")
    assert TEST_COMMAND in ci
