"""Atomic file writes and content hashes: nothing half-written is ever left in place."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it is renamed onto `target`.

    On an exception the temporary file is removed and `target` is left as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def atomic_write(target: Path, data: bytes | str) -> None:
    """Write `data` to `target` through a temporary file and a rename."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(target) as temp:
        temp.write_bytes(raw)


def write_if_changed(target: Path, data: bytes | str) -> bool:
    """Write atomically unless `target` already holds exactly these bytes; True if written."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if target.is_file() and target.read_bytes() == raw:
        return False
    atomic_write(target, raw)
    return True


def write_json(target: Path, value: Any) -> bool:
    """Write `value` as stable, pretty JSON (sorted keys) if it changed."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return write_if_changed(target, text)


def sha256_text(*parts: str) -> str:
    """A hex digest of several strings, each length-prefixed so that boundaries count."""
    digest = hashlib.sha256()
    for part in parts:
        raw = part.encode("utf-8")
        digest.update(len(raw).to_bytes(8, "big"))
        digest.update(raw)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def exclusive_lock(path: Path, what: str) -> Iterator[None]:
    """Hold a kernel lock on `path` (it dies with the process), or fail at once.

    `what` names the locked thing in the error, e.g. the workdir.
    """
    import fcntl

    from companion.errors import CompanionError

    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise CompanionError(
                f"{what}: another companion build is running (pid {holder}); "
                "try again when it has finished"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()
