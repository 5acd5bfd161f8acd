"""The README documents every command and every setting (the sqlite-utils habit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.cli import cli
from companion.config import SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_is_in_the_readme(name: str) -> None:
    assert f"companion {name}" in README


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.name)
def test_every_setting_is_in_the_readme(setting: object) -> None:
    assert f"| `{setting.name}` |" in README  # type: ignore[attr-defined]


def test_readme_gives_the_two_commands() -> None:
    assert "./bootstrap.sh && .venv/bin/companion build" in README
    assert "./bootstrap.sh --test && .venv/bin/python -m pytest" in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text("utf-8")
    assert "./bootstrap.sh --test && .venv/bin/python -m pytest" in ci
