"""Check: every dependency a build needs (programs, voices, workdir, catalog), with a fix each."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass

from companion import voices
from companion.config import Settings
from companion.errors import CompanionError


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_checks(settings: Settings) -> list[CheckResult]:
    """The state of everything `companion build` relies on, one result per dependency."""
    results = [_program(tool) for tool in voices.PACKAGES]
    results.append(_voices(settings))
    results.append(_workdir(settings))
    results.append(_catalog(settings))
    return results


def _program(tool: str) -> CheckResult:
    path = shutil.which(tool)
    if path:
        return CheckResult(tool, True, path)
    return CheckResult(tool, False, "not found on PATH", voices.install_hint(tool))


def _voices(settings: Settings) -> CheckResult:
    try:
        voice, note = voices.resolve(settings.voice)
    except CompanionError as error:
        return CheckResult("voices", False, str(error), "install it, or choose another --engine")
    noted = f"{note}; " if note else ""
    try:
        detail = voices.doctor(voice)
    except voices.VoiceProblem as problem:
        return CheckResult("voices", False, f"{noted}{problem}", problem.fix)
    return CheckResult("voices", True, f"{noted}{detail}")


def _workdir(settings: Settings) -> CheckResult:
    workdir = settings.workdir
    probe_dir = workdir  # a build creates missing folders: probe the nearest existing one
    while not probe_dir.exists() and probe_dir != probe_dir.parent:
        probe_dir = probe_dir.parent
    try:
        with tempfile.NamedTemporaryFile(dir=probe_dir, prefix=".companion-check-"):
            pass
    except OSError as error:
        return CheckResult(
            "workdir",
            False,
            f"{workdir}: not writable ({error.strerror})",
            "choose another --workdir or fix its permissions",
        )
    state = "exists" if workdir.exists() else "will be created"
    free = shutil.disk_usage(probe_dir).free // 2**20
    return CheckResult("workdir", True, f"{workdir} ({state}, {free} MiB free)")


def _catalog(settings: Settings) -> CheckResult:
    from companion.facets import facets_for
    from companion.spoken_arithmetic import misheard_in_catalog
    from companion.topics import load_catalog

    try:
        catalog = load_catalog(settings.catalog)
    except CompanionError as error:
        return CheckResult("catalog", False, str(error), "fix the topic named in the message")
    misheard = misheard_in_catalog(catalog)
    if misheard:
        more = f" (and {len(misheard) - 1} more)" if len(misheard) > 1 else ""
        name = settings.catalog or "companion/data/topics.toml"
        return CheckResult(
            "catalog",
            False,
            f"{name}: {misheard[0]}{more}",
            "group the arithmetic for the ear: give the intermediate result "
            "('0.3 divided by the sum, 0.4, which is 0.75') or say 'the sum of A and B'",
        )
    try:
        facets = facets_for(catalog)
    except CompanionError as error:
        return CheckResult("catalog", False, str(error), "fix the facet named in the message")
    return CheckResult(
        "catalog",
        True,
        f"{len(catalog.topics)} topics, {len(facets.facets)} facets in "
        f"{len(facets.families)} families, every equation speakable, every sum heard as stated",
    )
