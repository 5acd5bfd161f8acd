"""Fetch: a feed (or an episode's transcript or chapters) over http(s) with timeouts,
limits, retries and conditional GET."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import socket
import ssl
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from companion import __version__
from companion.errors import FeedError
from companion.files import atomic_write

log = logging.getLogger(__name__)

USER_AGENT = f"companion/{__version__} (+podcast math lessons; feed reader)"
DEFAULT_MAX_BYTES = 20_000_000
MAX_REDIRECTS = 5
CHUNK = 65536
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRYABLE = frozenset({429, 500, 502, 503, 504})
_FEED_TYPES = ("xml", "rss", "atom")
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The bytes of a feed; `not_modified` when the server answered 304 (cached bytes)."""

    data: bytes
    not_modified: bool
    url: str  # the final URL, after redirects
    etag: str = ""
    last_modified: str = ""
    content_type: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class _Retry(Exception):
    """A response or failure worth another attempt."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def too_big(source: str, max_bytes: int, size: int | None = None, kind: str = "feed") -> FeedError:
    """The one-line error for a file over the size limit, naming the option that raises it."""
    what = f"{size} bytes, " if size is not None else ""
    return FeedError(
        f"{source}: {kind} is {what}over the limit of {max_bytes} bytes "
        "(raise it with --max-feed-bytes)"
    )


def wait(seconds: float) -> None:
    """Pause between attempts on the real clock (tests replace it to record the delays)."""
    time.sleep(seconds)


def fetch_feed(
    url: str,
    *,
    cache_dir: Path | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = 20.0,
    connect_timeout: float = 10.0,
    total_timeout: float = 120.0,
    retries: int = 2,
    backoff: float = 1.0,
    sleep: Callable[[float], None] | None = None,
    kind: str = "feed",
    accept: str = FEED_ACCEPT,
    expect: tuple[str, ...] = _FEED_TYPES,
) -> FetchResult:
    """GET a feed: at most `max_bytes` (also once decompressed), `MAX_REDIRECTS` redirects.

    `timeout` bounds each read, `connect_timeout` the connection, `total_timeout` one
    attempt; 5xx and 429 answers and network failures are retried `retries` times with
    exponential backoff, waiting with `sleep` (default: `wait`). With a `cache_dir`, the
    ETag / Last-Modified of the last answer and its bytes are kept there, and a 304 answer
    returns those bytes with `not_modified=True`. `kind` names the file in messages
    ("feed", "transcript"), `accept` is the Accept header and `expect` the words a right
    Content-Type holds.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise FeedError(f"{url}: only http and https URLs can be fetched")
    cached = _load_cache(cache_dir, url)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip", "Accept": accept}
    if cached is not None:
        if cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
    attempt = 0
    while True:
        try:
            final_url, response = _follow(
                url,
                headers,
                kind,
                max_bytes=max_bytes,
                timeout=timeout,
                connect_timeout=connect_timeout,
                total_timeout=total_timeout,
            )
            break
        except _Retry as failure:
            if attempt >= retries:
                raise FeedError(f"{url}: {failure} (after {attempt + 1} attempts)") from None
            delay = backoff * (2**attempt)
            if failure.retry_after is not None:
                delay = max(delay, min(failure.retry_after, 60.0))
            log.warning("%s: %s; retrying in %.1f s", url, failure, delay)
            (sleep or wait)(delay)
            attempt += 1
    if response.status == 304:
        if cached is None:
            raise FeedError(f"{url}: HTTP 304 Not Modified without a cached copy")
        log.info("%s: not modified since the last fetch", url)
        return FetchResult(
            cached.data, True, final_url, cached.etag, cached.last_modified, cached.content_type
        )
    content_type = response.headers.get("content-type", "")
    if not any(word in content_type.lower() for word in expect):
        log.warning(
            "%s: served as %r, not as a %s; reading it anyway",
            url,
            content_type or "no Content-Type",
            kind,
        )
    result = FetchResult(
        response.body,
        False,
        final_url,
        response.headers.get("etag", ""),
        response.headers.get("last-modified", ""),
        content_type,
    )
    _store_cache(cache_dir, url, result, kind)
    return result


def _follow(url: str, headers: dict[str, str], kind: str, **limits: float) -> tuple[str, _Response]:
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        response = _request(current, headers, kind, **limits)
        if response.status not in _REDIRECTS:
            return current, _checked(url, response)
        location = response.headers.get("location", "").strip()
        if not location:
            raise FeedError(f"{url}: HTTP {response.status} redirect without a Location")
        current = urllib.parse.urljoin(current, location)
        if not current.lower().startswith(("http://", "https://")):
            raise FeedError(f"{url}: redirected to a non-http(s) URL; refused")
    raise FeedError(f"{url}: more than {MAX_REDIRECTS} redirects; refused")


def _checked(url: str, response: _Response) -> _Response:
    status = response.status
    if status in _RETRYABLE:
        raise _Retry(f"HTTP {status} {_phrase(status)}", _retry_after(response.headers))
    if status == 304 or 200 <= status < 300:
        return response
    raise FeedError(f"{url}: HTTP {status} {_phrase(status)}")


def _phrase(status: int) -> str:
    return http.client.responses.get(status, "")


def _retry_after(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


def _request(
    url: str,
    headers: dict[str, str],
    kind: str,
    *,
    max_bytes: float,
    timeout: float,
    connect_timeout: float,
    total_timeout: float,
) -> _Response:
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        raise FeedError(f"{url}: no host in the URL")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme.lower() == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname,
            parts.port,
            timeout=connect_timeout,
            context=ssl.create_default_context(),
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=connect_timeout)
    expired = threading.Event()

    def watchdog() -> None:  # ends a slow drip: shut the socket once the attempt is too long
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(total_timeout, watchdog)
    timer.daemon = True
    timer.start()
    try:
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        response_headers = {name.lower(): value for name, value in response.getheaders()}
        body = b""
        if response.status not in _REDIRECTS and response.status != 304 and response.status < 400:
            body = _read_body(url, response, response_headers, int(max_bytes), expired, kind)
        return _Response(response.status, response_headers, body)
    except FeedError:
        raise
    except TimeoutError:
        raise _Retry(f"no answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as error:
        if expired.is_set():
            raise FeedError(f"{url}: took longer than {total_timeout:g} s; gave up") from None
        raise _Retry(f"cannot fetch the {kind} ({_reason(error)})") from None
    finally:
        timer.cancel()
        connection.close()


def _reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return " ".join(text.split())[:200]


def _read_body(
    url: str,
    response: http.client.HTTPResponse,
    headers: dict[str, str],
    max_bytes: int,
    expired: threading.Event,
    kind: str,
) -> bytes:
    declared = headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big(url, max_bytes, int(declared), kind)
    encoding = headers.get("content-encoding", "").strip().lower()
    inflater = zlib.decompressobj(wbits=47) if encoding in ("gzip", "x-gzip", "deflate") else None
    chunks: list[bytes] = []
    raw_total = total = 0
    while block := response.read1(CHUNK):
        raw_total += len(block)
        if raw_total > max_bytes:
            raise too_big(url, max_bytes, kind=kind)
        if inflater is not None:
            block = _inflate(url, inflater, block, max_bytes - total, kind)
        total += len(block)
        if total > max_bytes:
            raise too_big(url, max_bytes, kind=kind)
        chunks.append(block)
    if expired.is_set():
        raise OSError("connection shut by the watchdog")
    if inflater is not None and not inflater.eof:
        raise _Retry(f"the compressed {kind} ended early")
    return b"".join(chunks)


def _inflate(url: str, inflater: zlib._Decompress, block: bytes, room: int, kind: str) -> bytes:
    """Decompress `block`, never producing more than `room` + 1 bytes (a gzip bomb stops)."""
    out: list[bytes] = []
    produced = 0
    data = block
    try:
        while data and not inflater.eof:
            piece = inflater.decompress(data, max(1, room - produced + 1))
            produced += len(piece)
            out.append(piece)
            if produced > room:
                break
            data = inflater.unconsumed_tail
    except zlib.error:
        raise FeedError(f"{url}: the compressed {kind} is corrupt") from None
    return b"".join(out)


# --- conditional GET cache ----------------------------------------------------------------


def _cache_paths(cache_dir: Path, url: str) -> tuple[Path, Path]:
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
    return cache_dir / f"{key}.json", cache_dir / f"{key}.body"


def _load_cache(cache_dir: Path | None, url: str) -> FetchResult | None:
    if cache_dir is None:
        return None
    meta_path, body_path = _cache_paths(cache_dir, url)
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        data = body_path.read_bytes()
    except (OSError, ValueError):
        return None
    if (
        not isinstance(meta, dict)
        or meta.get("url") != url
        or meta.get("sha256") != hashlib.sha256(data).hexdigest()
    ):
        return None
    return FetchResult(
        data,
        False,
        url,
        str(meta.get("etag", "")),
        str(meta.get("last_modified", "")),
        str(meta.get("content_type", "")),
    )


def _store_cache(cache_dir: Path | None, url: str, result: FetchResult, kind: str) -> None:
    if cache_dir is None:
        return
    meta_path, body_path = _cache_paths(cache_dir, url)
    if not result.etag and not result.last_modified:
        meta_path.unlink(missing_ok=True)
        body_path.unlink(missing_ok=True)
        return
    try:
        atomic_write(body_path, result.data)  # the bytes first, then what validates them
        atomic_write(
            meta_path,
            json.dumps(
                {
                    "url": url,
                    "etag": result.etag,
                    "last_modified": result.last_modified,
                    "content_type": result.content_type,
                    "sha256": result.sha256,
                },
                indent=1,
            ),
        )
    except OSError as error:
        log.warning("%s: cannot remember the %s for conditional GET (%s)", url, kind, error)
