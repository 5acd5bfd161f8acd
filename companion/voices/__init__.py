"""Voices: the speech engines, one record each, and what a build asks of them.

Every engine is an `EngineSpec` (companion/voices/spec.py) in `ENGINES`: its default voice,
how it is given pronunciations, its licence, the programs it needs, how to install it, its
speaker, its voice check, its list of voices and its place in listings. The rest of Companion
asks this package, never an engine by name:

    prepare(voice)   before speaking: the engine resolved (the default falls back to
                     espeak-ng when hibari is missing), its programs and its voice checked
    speaker(voice)   the Speaker that writes a sentence to a WAV
    status()         each engine: installed or not, with its version or how to install it
    doctor(voice)    what `companion check` says about the voice
    installed_voices()   the voices `companion voices` lists

Add an engine: one module here (its speaker and its EngineSpec, listed in the module's
`ENGINE_SPECS`) and its row in the README's Voices table; nothing else. `ENGINES` is found
at import: every module of this package but `spec` and those whose name starts with "_"
exports `ENGINE_SPECS`, and their `order` gives the order of ENGINES. Settings, --help,
`companion voices`, `companion check`, companion.toml, builds and `companion say` take the
engine from there. An engine module imports from `companion.voices.spec`, never from this
package (it is being imported when the engine modules are).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import pkgutil
import shutil
import socket
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from companion.errors import SynthError
from companion.voices.spec import (
    AUDIO_TOOLS,
    FRAME_RATE,
    PACKAGES,
    Engine,
    EngineSpec,
    PronunciationStyle,
    Speaker,
    VoiceProblem,
    importable,
    install_hint,
)

if TYPE_CHECKING:  # Voice is only an annotation here: models imports the engine names
    from companion.models import Voice

__all__ = [
    "AUDIO_TOOLS",
    "ENGINES",
    "ENGINE_NAMES",
    "FRAME_RATE",
    "NO_VOICES_HINT",
    "PACKAGES",
    "SECOND_ENGINE",
    "Engine",
    "EngineSpec",
    "EngineStatus",
    "PronunciationStyle",
    "Speaker",
    "VoiceProblem",
    "check",
    "discover_engines",
    "doctor",
    "engine_name",
    "install_hint",
    "installed_voices",
    "kernel_fingerprint",
    "missing_tools",
    "prepare",
    "pronunciation",
    "require_tools",
    "resolve",
    "second_speaker",
    "speaker",
    "status",
]

NOT_ENGINES = frozenset({"spec"})  # modules of this package that hold no engine


def discover_engines(path: Iterable[str], package: str) -> dict[str, EngineSpec]:
    """The EngineSpecs of every engine module of `package` (found on `path`), by `order`.

    An engine module is any module but NOT_ENGINES and those whose name starts with "_"; it
    lists its records in `ENGINE_SPECS`. Raises a one-line SynthError on a module without
    them and on two engines with the same name or the same order.
    """
    specs: list[EngineSpec] = []
    for module in sorted(pkgutil.iter_modules(path), key=lambda found: found.name):
        if module.name in NOT_ENGINES or module.name.startswith("_"):
            continue
        name = f"{package}.{module.name}"
        records = getattr(importlib.import_module(name), "ENGINE_SPECS", None)
        if not isinstance(records, tuple) or not all(isinstance(r, EngineSpec) for r in records):
            raise SynthError(
                f"{name}: no ENGINE_SPECS tuple of EngineSpec (an engine module lists its "
                'records there; a helper module\'s name starts with "_")'
            )
        specs.extend(records)
    for field in ("name", "order"):
        values = [getattr(spec, field) for spec in specs]
        twice = sorted({str(value) for value in values if values.count(value) > 1})
        if twice:
            raise SynthError(f"{package}: two engines with the {field} {', '.join(twice)}")
    return {spec.name: spec for spec in sorted(specs, key=lambda spec: spec.order)}


ENGINES: dict[str, EngineSpec] = discover_engines(__path__, __name__)
ENGINE_NAMES: tuple[Engine, ...] = tuple(Engine(name) for name in ENGINES)
NO_VOICES_HINT = "install hibari-tts (./bootstrap.sh) or espeak-ng (apt-get install -y espeak-ng)"


def spec_of(engine: str) -> EngineSpec:
    return ENGINES[engine_name(engine)]


def engine_name(name: str) -> Engine:
    """`name` as an Engine, or a one-line SynthError listing the engines."""
    if name not in ENGINES:
        raise SynthError(f"engine {name!r}: unknown (use {', '.join(ENGINE_NAMES)})")
    return Engine(name)


SECOND_ENGINE = engine_name("piper")  # the engine of the second voice, which asks quiz questions


# --- before speaking --------------------------------------------------------------------------


# Where a voice is prepared: on the machine that speaks ("here"), on a Dask build's client
# (its workers speak), or on a Dask worker (the client resolved and checked the voice).
Where = Literal["here", "client", "worker"]


def prepare(voice: Voice, *, where: Where = "here") -> tuple[Voice, str]:
    """The voice to speak with, checked, and a one-line note when it is not the one asked for.

    On a Dask client the programs are not required (each worker requires its own) and the
    voice is checked only where espeak-ng can list its voices; a worker only requires the
    programs, naming itself when one is missing.
    """
    if where == "worker":
        require_tools(voice.engine, worker=True)
        return voice, ""
    voice, note = resolve(voice)
    if where == "here":
        require_tools(voice.engine)
    if where == "here" or shutil.which("espeak-ng"):
        check(voice)
    return voice, note


def resolve(voice: Voice) -> tuple[Voice, str]:
    """The voice to speak with, and a one-line note when the default engine is missing.

    An engine with a fallback (hibari) speaks with it when its module cannot be imported;
    any other engine that is missing is an error naming what to install. A second voice that
    is missing is dropped with a note.
    """
    spec = spec_of(voice.engine)
    if spec.module and not importable(spec.module):
        if not spec.fallback:
            raise SynthError(f"{spec.name}: not installed ({spec.install_hint})")
        fallback = ENGINES[spec.fallback]
        return replace(voice, name=fallback.default_voice, engine=engine_name(fallback.name)), (
            f"{spec.name}: not installed ({spec.install_hint}); speaking with "
            f"{fallback.name} instead"
        )
    voice = replace(voice, name=voice.name or spec.default_voice)
    if voice.second:
        second = ENGINES[SECOND_ENGINE]
        try:
            second.check(_second(voice))
            if not importable(second.module):
                raise SynthError(f"{second.name}: not installed ({second.install_hint})")
        except SynthError as error:
            return replace(voice, second=""), (
                f"second_voice {voice.second!r}: {error}; the narrator asks the quiz questions"
            )
    return voice, ""


def missing_tools(engine: str | None) -> list[str]:
    """The system programs a build with `engine` needs (None: only the audio tools) that are
    not on PATH."""
    spec = ENGINES.get(engine or "")
    needed = [*AUDIO_TOOLS, *(spec.tools if spec else ())]
    return [tool for tool in needed if shutil.which(tool) is None]


def require_tools(engine: str | None, *, worker: bool = False) -> None:
    """Raise a one-line SynthError naming each missing program and how to install it.

    On a Dask `worker` the message names the worker, so a failed task says where to install.
    """
    missing = missing_tools(engine)
    if not missing:
        return
    if worker:
        missing = sorted(missing)
        packages = sorted({PACKAGES[tool] for tool in missing})
        raise SynthError(
            f"{', '.join(missing)}: not installed on Dask worker "
            f"{socket.gethostname()} (pid {os.getpid()}); install with: "
            f"apt-get install -y {' '.join(packages)}"
        )
    hints = "; ".join(f"{tool} is not installed ({install_hint(tool)})" for tool in missing)
    raise SynthError(f"{missing[0]}: {hints}")


def check(voice: Voice) -> None:
    """Fail early on a voice the engine does not have (espeak-ng would use another)."""
    voice = _named(voice)
    spec_of(voice.engine).check(voice)


def doctor(voice: Voice) -> str:
    """`companion check`'s line on a resolved voice, or VoiceProblem with the fix."""
    return spec_of(voice.engine).doctor(_named(voice))


# --- speaking ---------------------------------------------------------------------------------


def speaker(voice: Voice) -> Speaker:
    """The speaker of `voice` (neural models are loaded once per process)."""
    voice = _named(voice)
    return spec_of(voice.engine).speaker(voice)


def second_speaker(voice: Voice) -> Speaker | None:
    """The speaker of the second voice, or None when there is none."""
    if not voice.second:
        return None
    return ENGINES[SECOND_ENGINE].speaker(_second(voice))


# The speech kernels' fingerprint: this sentence, spoken. onnxruntime picks its kernels by the
# instructions of the CPU, so two kinds of machine can make different bytes of the same words.
PROBE_SENTENCE = "A probe of the voice: the gradient of x squared is two x, and e is 2.718."
KERNEL_TAG_LENGTH = 12  # hex digits of kernel_fingerprint in section cache names


@functools.cache
def kernel_fingerprint(voice: Voice) -> str:
    """A short hash of the raw samples this machine's speakers of `voice` make of
    PROBE_SENTENCE (with the second voice's, when there is one); computed once per process.

    Two machines with the same fingerprint render the same words to the same bytes. The
    section cache keeps each rendering under its fingerprint, so a lesson never joins
    sections of two kinds of machine.
    """
    voice = _named(voice)
    digest = hashlib.sha256(speaker(voice).samples(PROBE_SENTENCE))
    second = second_speaker(voice)
    if second is not None:
        digest.update(second.samples(PROBE_SENTENCE))
    return digest.hexdigest()[:KERNEL_TAG_LENGTH]


def pronunciation(engine: str) -> PronunciationStyle:
    """How `engine` is given the lexicon's pronunciations."""
    return spec_of(engine).pronunciation


def _second(voice: Voice) -> Voice:
    return replace(voice, name=voice.second, engine=SECOND_ENGINE)


def _named(voice: Voice) -> Voice:
    """The voice with its engine's default name when it has none."""
    if voice.name or voice.engine not in ENGINES:
        return voice
    return replace(voice, name=ENGINES[voice.engine].default_voice)


# --- what is installed ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EngineStatus:
    engine: str
    installed: bool
    detail: str  # version, or what to install


def status() -> list[EngineStatus]:
    """Each engine: installed or not, with its version or the command that installs it."""
    statuses = []
    for spec in ENGINES.values():
        installed = spec.installed()
        statuses.append(
            EngineStatus(spec.name, installed, spec.version() if installed else spec.install_hint)
        )
    return statuses


def installed_voices() -> dict[str, list[tuple[str, str]]]:
    """Per engine: (voice name, description) of each installed voice."""
    return {spec.name: spec.voices() for spec in ENGINES.values()}
