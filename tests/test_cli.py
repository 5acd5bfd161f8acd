"""CLI: thin commands; contracts other tools rely on; one-line errors with exit status 1."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion import __version__
from companion.cli import cli
from tests.conftest import DATA

TINY_FEED = DATA / "feeds" / "two_episodes.xml"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize(
    "command", [[], ["build"], ["serve"], ["topics"], ["speak-math"], ["voices"]]
)
def test_every_command_has_help(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(cli, [*command, "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.output.strip() == f"companion, version {__version__}"


def test_speak_math_prints_words(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["speak-math", "x^2 + 1"], catch_exceptions=False)
    assert result.exit_code == 0
    words = result.stdout.strip()
    assert "squared" in words and "plus" in words
    assert not set(words) & set("\\{}^_$")


def test_speak_math_jsonl_keeps_going_after_an_error(runner: CliRunner) -> None:
    lines = [
        json.dumps({"id": "a", "latex": "\\frac{1}{2}"}),
        json.dumps({"id": "b", "latex": "\\frac{1}"}),
        json.dumps({"id": "c", "latex": "y = mx + b"}),
    ]
    result = runner.invoke(cli, ["speak-math", "--jsonl"], input="\n".join(lines) + "\n")
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in outputs] == ["a", "b", "c"]
    assert "speech" in outputs[0] and "speech" in outputs[2]
    assert "error" in outputs[1] and "speech" not in outputs[1]
    assert result.exit_code == 1


def test_speak_math_unknown_command_warns_and_strict_fails(runner: CliRunner) -> None:
    lenient = runner.invoke(cli, ["speak-math", "\\vv{x} + 1"])
    assert lenient.exit_code == 0
    assert lenient.stdout == "x plus one\n"
    assert lenient.stderr == (
        "warning: \\vv{x} + 1: unsupported command \\vv at position 0; read as its argument\n"
    )
    strict = runner.invoke(cli, ["speak-math", "--strict", "\\vv{x} + 1"])
    assert strict.exit_code == 1
    assert strict.stderr == "Error: \\vv{x} + 1: unsupported command \\vv at position 0\n"
    lines = runner.invoke(
        cli, ["speak-math", "--jsonl", "--strict"], input='{"id": "a", "latex": "\\\\vv{x}"}\n'
    )
    assert lines.exit_code == 1 and '"error"' in lines.stdout


def test_speak_math_malformed_is_one_line_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["speak-math", "\\frac{a}"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_topics_json_lists_every_episode(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["topics", "--source", str(TINY_FEED), "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0
    links = json.loads(result.stdout)
    assert set(links) == {"tiny-2", next(k for k in links if k.startswith("companion-"))}
    assert "gradient-descent" in links["tiny-2"]
    assert all(not topics for guid, topics in links.items() if guid != "tiny-2")


def test_topics_table_shows_evidence(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["topics", "--source", str(TINY_FEED)], catch_exceptions=False)
    assert "gradient-descent" in result.stdout
    assert '"gradient descent"' in result.stdout.lower()
    assert "(no math)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["topics", "--source", "nope.xml"], "Error: nope.xml: no such feed file"),
        (["build", "--source", "nope.xml"], "Error: nope.xml: no such feed file"),
        (["build", "--base-url", "ftp://x"], "Error: base_url: 'ftp://x' must start with"),
        (
            ["build", "--engine", "espeak-ng", "--voice", "no-such-voice"],
            "Error: voice 'no-such-voice': not installed",
        ),
        (["build", "--voice", "emma"], "Error: voice 'emma': not available offline"),
    ],
)
def test_bad_input_is_one_line_error(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(cli, [*args, "--workdir", str(tmp_path)] if args[0] == "build" else args)
    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "feeds" / "companion.xml").exists()


def test_voices_lists_en_us(runner: CliRunner, audio_tools: None) -> None:
    result = runner.invoke(cli, ["voices"], catch_exceptions=False)
    assert result.exit_code == 0
    assert any(line.split()[0] == "en-us" for line in result.stdout.splitlines())


def test_build_scripts_only_writes_both_layers_without_audio(
    runner: CliRunner, tmp_path: Path
) -> None:
    started = time.monotonic()
    result = runner.invoke(
        cli,
        ["build", "--scripts-only", "--workdir", str(tmp_path), "--course-topics", "3"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 30  # seconds, not the minutes audio takes
    people = sorted(p.name for p in (tmp_path / "scripts").glob("*.txt"))
    engine = sorted(p.name for p in (tmp_path / "spoken").glob("*.txt"))
    assert people == engine
    assert "mlg-023-deep-nlp-2.txt" in people and "review-001.txt" in people
    assert sum(name.startswith("course-") for name in people) == 3
    assert not list(tmp_path.glob("episodes/*/*.mp3"))
    assert not (tmp_path / "feeds" / "companion.xml").exists()
    spoken = (tmp_path / "spoken" / "mlg-023-deep-nlp-2.txt").read_text("utf-8")
    written = (tmp_path / "scripts" / "mlg-023-deep-nlp-2.txt").read_text("utf-8")
    assert spoken != written and "](/" in spoken  # the default engine's phonemes
    assert "](/" not in written
    assert "scripts written" in result.stderr
