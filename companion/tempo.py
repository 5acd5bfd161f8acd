"""Slower speech by time stretching: the same voice and pitch, more time.

hibari's own speed input moves phoneme durations in steps: asked for 0.87 of its speed it
reads only about 5% slower, and about 35% slower at 0.75. An equation read at
``equation_rate`` is therefore spoken at the voice's speed and stretched here with ffmpeg's
``atempo`` (a pitch-keeping overlap-add), so its length is exactly ``1 / rate`` times.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from companion.errors import SynthError
from companion.files import atomic_path

SLOWEST = 0.5  # atempo's lower bound in one pass


def stretch_wav(path: Path, rate: float, timeout: float = 120) -> None:
    """Rewrite the WAV at `path` as speech at `rate` times its speed (0.5 to 1: slower)."""
    if not SLOWEST <= rate <= 1:
        raise SynthError(f"{path.name}: rate {rate} is out of range ({SLOWEST} to 1)")
    if rate == 1:
        return
    with atomic_path(path) as temp:
        command = [
            *("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"),
            *("-i", str(path), "-filter:a", f"atempo={rate:.6f}", "-f", "wav", str(temp)),
        ]
        done = subprocess.run(command, capture_output=True, check=False, timeout=timeout)
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise SynthError(f"{path.name}: ffmpeg atempo failed ({lines[-1] if lines else '?'})")
