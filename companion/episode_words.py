"""Episode words: an item's podcast:transcript and podcast:chapters -> EpisodeWords.

Read as evidence for linking, never required: a file that cannot be fetched or read is a
warning naming the file and the episode, and the episode is linked on what remains.
Transcripts: WebVTT, SRT, Podcasting 2.0 JSON, HTML or plain text (parsed by
companion/transcripts.py); the best type offered is read first, the next one when it fails.
Chapters: Podcasting 2.0 JSON chapters.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from companion.errors import FeedError
from companion.fetch import DEFAULT_MAX_BYTES, FetchResult, fetch_feed
from companion.models import Chapter, Cue, Episode, EpisodeWords
from companion.transcripts import (
    MAX_CUES,
    TranscriptError,
    parse_chapters,
    parse_transcript,
    rank,
    transcript_format,
)

log = logging.getLogger(__name__)

__all__ = ["fetch_words", "words_for"]

FETCH_JOBS = 4  # transcripts and chapters fetched at once
TRANSCRIPT_ACCEPT = (
    "text/vtt, application/json;q=0.9, application/x-subrip;q=0.9, "
    "text/html;q=0.5, text/plain;q=0.5, */*;q=0.1"
)
CHAPTERS_ACCEPT = "application/json+chapters, application/json;q=0.9, */*;q=0.1"


# --- fetching -------------------------------------------------------------------------------


Fetcher = Callable[..., FetchResult]


class _HostFailures:
    """Hosts that could not be reached in this run: their other files are not tried."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed: dict[str, int] = {}

    @staticmethod
    def host(url: str) -> str:
        return (urllib.parse.urlsplit(url).hostname or "").lower()

    def failed(self, url: str) -> bool:
        with self._lock:
            host = self.host(url)
            if host in self._failed:
                self._failed[host] += 1
                return True
            return False

    def record(self, url: str) -> None:
        with self._lock:
            self._failed.setdefault(self.host(url), 0)

    def skipped(self) -> dict[str, int]:
        return {host: n for host, n in self._failed.items() if n}


_UNREACHABLE = ("cannot fetch", "no answer within", "took longer than", "after ")


def _get(
    url: str,
    kind: str,
    accept: str,
    expect: tuple[str, ...],
    *,
    fetcher: Fetcher,
    max_bytes: int,
    cache_dir: Path | None,
    timeout: float,
    failures: _HostFailures,
    episode: Episode,
) -> bytes | None:
    if failures.failed(url):
        return None
    try:
        return fetcher(
            url,
            cache_dir=cache_dir,
            max_bytes=max_bytes,
            timeout=timeout,
            kind=kind,
            accept=accept,
            expect=expect,
        ).data
    except FeedError as error:
        message = str(error)
        if any(word in message for word in _UNREACHABLE):
            failures.record(url)
        log.warning(
            "episode %r: %s %s; linking without it",
            episode.title[:80],
            kind,
            message if message.startswith(url) else f"{url}: {message}",
        )
        return None


def words_for(
    episode: Episode,
    *,
    fetcher: Fetcher = fetch_feed,
    max_bytes: int = DEFAULT_MAX_BYTES,
    cache_dir: Path | None = None,
    timeout: float = 20.0,
    failures: _HostFailures | None = None,
) -> EpisodeWords | None:
    """The episode's transcript (best readable type) and chapters; None when it has none."""
    failures = failures or _HostFailures()
    common: dict[str, Any] = {
        "fetcher": fetcher,
        "max_bytes": max_bytes,
        "cache_dir": cache_dir,
        "timeout": timeout,
        "failures": failures,
        "episode": episode,
    }
    cues: tuple[Cue, ...] = ()
    untimed = ""
    transcript_url = ""
    for attachment in sorted(episode.transcript_files, key=rank):
        data = _get(
            attachment.url,
            "transcript",
            TRANSCRIPT_ACCEPT,
            ("vtt", "srt", "subrip", "json", "html", "text"),
            **common,
        )
        if data is None:
            continue
        try:
            cues, untimed = parse_transcript(data, transcript_format(attachment), attachment.url)
        except TranscriptError as error:
            log.warning("episode %r: transcript %s; linking without it", episode.title[:80], error)
            continue
        transcript_url = attachment.url
        break
    chapters: tuple[Chapter, ...] = ()
    chapters_url = ""
    if episode.chapters_file is not None:
        url = episode.chapters_file.url
        data = _get(url, "chapters", CHAPTERS_ACCEPT, ("json",), **common)
        if data is not None:
            try:
                chapters = parse_chapters(data, url)
                chapters_url = url
            except TranscriptError as error:
                log.warning(
                    "episode %r: chapters %s; linking without them", episode.title[:80], error
                )
    if not cues and not untimed and not chapters:
        return None
    return EpisodeWords(cues, chapters, transcript_url, chapters_url, untimed[: MAX_CUES * 40])


def fetch_words(
    episodes: Iterable[Episode],
    *,
    fetcher: Fetcher = fetch_feed,
    max_bytes: int = DEFAULT_MAX_BYTES,
    cache_dir: Path | None = None,
    timeout: float = 20.0,
    jobs: int = FETCH_JOBS,
) -> dict[str, EpisodeWords]:
    """{guid: EpisodeWords} for the episodes whose feed item offers a transcript or chapters.

    Files are fetched FETCH_JOBS at a time with the feed's limits, timeouts and (with a
    ``cache_dir``) conditional GET; once a host cannot be reached, its other files are
    skipped for this run. Failures are warnings, never errors.
    """
    wanted = [e for e in episodes if e.transcript_files or e.chapters_file is not None]
    if not wanted:
        return {}
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
    failures = _HostFailures()

    def one(episode: Episode) -> EpisodeWords | None:
        return words_for(
            episode,
            fetcher=fetcher,
            max_bytes=max_bytes,
            cache_dir=cache_dir,
            timeout=timeout,
            failures=failures,
        )

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(one, wanted))
    for host, count in failures.skipped().items():
        log.warning(
            "%s: could not be reached; skipped %d more transcript or chapters files from it",
            host,
            count,
        )
    return {e.guid: words for e, words in zip(wanted, results, strict=True) if words is not None}
