"""Serve: the workdir over HTTP for podcast apps (HEAD, byte ranges, conditional GET).

Only files inside the workdir are served (symlinks are resolved first), never a
directory listing or a dot-file (.cache/, .git/); GET and HEAD only; request lines and
headers are bounded and idle connections time out.
"""

from __future__ import annotations

import email.utils
import hashlib
import ipaddress
import re
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from companion import __version__
from companion.errors import CompanionError

CONTENT_TYPES = {
    ".mp3": "audio/mpeg",
    ".xml": "application/rss+xml; charset=utf-8",
    ".vtt": "text/vtt; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".txt": "text/plain; charset=utf-8",
}
MAX_REQUEST_LINE = 8192
IDLE_TIMEOUT = 30.0  # seconds a connection may stay silent
CHUNK = 1 << 16
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def resolve_inside(root: Path, url_path: str) -> Path | None:
    """The file a URL path names inside `root`, or None when it would leave it."""
    if url_path.lower().startswith(("http://", "https://")):  # absolute-form request target
        url_path = urllib.parse.urlsplit(url_path).path or "/"
    if not url_path.startswith("/"):
        return None
    path = urllib.parse.unquote(url_path.split("?", 1)[0].split("#", 1)[0])
    if "\\" in path or "\x00" in path or ":" in path:
        return None
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if any(part.startswith(".") for part in parts):  # "..", and dot-files such as .cache
        return None
    candidate = root.joinpath(*parts) if parts else root
    if candidate.is_dir():
        candidate = candidate / "index.html"
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(root) or not real.is_file():
        return None
    return real


class WorkdirHandler(BaseHTTPRequestHandler):
    server_version = f"companion/{__version__}"
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    root: Path
    raw_requestline: bytes  # set by BaseHTTPRequestHandler before parse_request

    def parse_request(self) -> bool:
        """Refuse long request lines and any method but GET and HEAD before reading on."""
        if len(self.raw_requestline) > MAX_REQUEST_LINE:
            self.command, self.request_version, self.requestline = "", "HTTP/1.0", ""
            self.close_connection = True
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return False
        if not super().parse_request():
            return False
        if self.command not in ("GET", "HEAD"):
            self.close_connection = True  # a body may follow; never read it
            self._not_allowed()
            return False
        return True

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _not_allowed(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def log_message(self, format: str, *args: object) -> None:
        del format, args  # quiet; the CLI prints the subscribe URL

    def _error(self, status: HTTPStatus, extra: dict[str, str] | None = None) -> None:
        body = f"{status.value} {status.phrase}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self, send_body: bool) -> None:
        path = resolve_inside(self.root, self.path)
        if path is None:
            self._error(HTTPStatus.NOT_FOUND)
            return
        stat = path.stat()
        size = stat.st_size
        etag = (
            '"'
            + hashlib.sha256(f"{path}:{size}:{stat.st_mtime_ns}".encode()).hexdigest()[:32]
            + '"'
        )
        last_modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        headers = {
            "Content-Type": CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream"),
            "ETag": etag,
            "Last-Modified": last_modified,
            "Accept-Ranges": "bytes",
            "Cache-Control": "no-cache",
        }
        if self._not_modified(etag, stat.st_mtime):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            for name in ("ETag", "Last-Modified", "Cache-Control"):
                self.send_header(name, headers[name])
            self.end_headers()
            return
        start, end = 0, size - 1
        status = HTTPStatus.OK
        range_header = self.headers.get("Range")
        if range_header:
            parsed = parse_range(range_header, size)
            if parsed is None:
                self._error(
                    HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, {"Content-Range": f"bytes */{size}"}
                )
                return
            start, end = parsed
            status = HTTPStatus.PARTIAL_CONTENT
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(0, end - start + 1)
        headers["Content-Length"] = str(length)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body and length:
            self._copy(path, start, length)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return (
                etag in [tag.strip() for tag in if_none_match.split(",")]
                or if_none_match.strip() == "*"
            )
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                moment = email.utils.parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                return False
            return int(mtime) <= moment
        return False

    def _copy(self, path: Path, start: int, length: int) -> None:
        with path.open("rb") as handle:
            handle.seek(start)
            remaining = length
            while remaining > 0:
                block = handle.read(min(CHUNK, remaining))
                if not block:
                    break
                try:
                    self.wfile.write(block)
                except (BrokenPipeError, ConnectionResetError):
                    return
                remaining -= len(block)


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for a single byte range, or None when unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match or size == 0:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        count = int(last)
        if count == 0:
            return None
        return max(0, size - count), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


class WorkdirServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def make_server(workdir: Path, host: str = "127.0.0.1", port: int = 8000) -> WorkdirServer:
    """A server for `workdir`; call serve_forever() on it. Port 0 picks a free port."""
    root = workdir.resolve()
    if not root.is_dir():
        raise CompanionError(f"{workdir}: no such workdir (run companion build first)")
    handler = type("BoundWorkdirHandler", (WorkdirHandler,), {"root": root})
    try:
        return WorkdirServer((host, port), handler)
    except OSError as error:
        raise CompanionError(f"{host}:{port}: cannot listen ({error.strerror})") from None


def is_loopback(host: str) -> bool:
    """True for localhost and 127.0.0.0/8 or ::1, which other machines cannot reach."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
