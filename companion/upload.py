"""Upload: the built workdir to any S3-compatible object store, feeds last.

What is uploaded: finished lessons (every file of an `episodes/<slug>/` folder that has a
`build.json` stamp, except the stamp itself), the site (`index.html`, `site/`), the cover
`feeds/cover.jpg`, and the feeds the last build published (`feeds/companion.xml` and
`feeds/course.xml`, as recorded in `.cache/published.json`).
Never uploaded: `.cache/`, `scripts/`, `companion.toml`, the stamps, and any other file in
`feeds/` (the source snapshot `source.xml`, a sample feed: not ours to republish). Stale
remote objects are left in place (deleting a published MP3 would break podcast apps that
still list it).

Order: media first, then the stylesheet and pages, the feeds last, so a feed never names a
file that is not there yet. An object is skipped when the store already has the same bytes:
each upload carries its SHA-256 in the object metadata (`x-amz-meta-sha256`), compared with
`head_object` for every remote object of the same size.

Published media never change in place. A lesson's media are named after what they are made
from, and another kind of machine can render the same words to other bytes (the speech
kernels differ by CPU). So a media object the store already holds with other bytes is kept,
never replaced, and the feeds uploaded with it state the stored MP3's size and duration (each
MP3 is uploaded with its duration, `x-amz-meta-duration`), not the local file's.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import re
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, Literal

from companion import layout, publish
from companion.errors import PublishError
from companion.files import sha256_file
from companion.lessons import read_lessons
from companion.models import Lesson
from companion.serve import CONTENT_TYPES

PAGE_CACHE_CONTROL = "max-age=300"  # feeds and pages change; media under one URL does not
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


@dataclass(frozen=True, slots=True)
class Target:
    """Where to upload: a bucket and a key prefix ("" or "a/b", no slashes at either end)."""

    bucket: str
    prefix: str = ""

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


@dataclass(frozen=True, slots=True)
class Item:
    """One file to upload: its workdir-relative path, and its bytes when staged in memory.

    Files are read from `path` while they are uploaded (MP3s are not held in memory); a feed
    rebased onto another URL is staged as `data`.
    """

    relative: str
    path: Path | None = None
    data: bytes | None = None
    duration: float | None = None  # a lesson MP3's seconds, stored with it

    @property
    def content_type(self) -> str:
        return content_type(self.relative)

    @property
    def is_media(self) -> bool:
        return is_media(self.relative)

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self._path.stat().st_size

    @property
    def sha256(self) -> str:
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        return sha256_file(self._path)

    @contextmanager
    def body(self) -> Iterator[BinaryIO]:
        if self.data is not None:
            yield io.BytesIO(self.data)
        else:
            with self._path.open("rb") as handle:
                yield handle

    @property
    def _path(self) -> Path:
        if self.path is None:
            raise ValueError(f"{self.relative}: neither a path nor data")
        return self.path


@dataclass(frozen=True, slots=True)
class StoredAudio:
    """A lesson MP3 as the store holds it: what a feed must say about it."""

    size: int
    duration: float


FileStatus = Literal["uploaded", "unchanged", "kept"]


@dataclass(slots=True)
class UploadReport:
    target: str
    uploaded: list[str] = field(default_factory=list)  # relative paths, in upload order
    unchanged: list[str] = field(default_factory=list)
    # media the store holds with other bytes: kept, never replaced
    kept: list[str] = field(default_factory=list)
    kept_audio: dict[str, StoredAudio] = field(default_factory=dict)  # relative -> stored MP3
    bytes_uploaded: int = 0

    def summary(self) -> str:
        megabytes = self.bytes_uploaded / 1_000_000
        kept = f", {len(self.kept)} kept (the store's copy has other bytes)" if self.kept else ""
        return (
            f"Published to {self.target}: {len(self.uploaded)} uploaded, "
            f"{len(self.unchanged)} unchanged{kept} ({megabytes:.1f} MB sent)"
        )


def parse_target(url: str) -> Target:
    """`s3://bucket[/prefix]` -> Target; a PublishError naming `url` otherwise."""
    parts = urllib.parse.urlsplit(url)
    bucket = parts.netloc
    if parts.scheme != "s3" or not _BUCKET.match(bucket) or parts.query or parts.fragment:
        raise PublishError(
            f"{url}: not an s3://bucket/prefix URL (bucket names are 3-63 "
            "lowercase letters, digits, dots and hyphens)"
        )
    prefix = parts.path.strip("/")
    if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
        raise PublishError(f"{url}: the prefix must not hold empty, '.' or '..' parts")
    return Target(bucket, prefix)


def normalize_base_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PublishError(f"--base-url {url}: not an absolute http(s) URL")
    return url if url.endswith("/") else url + "/"


def content_type(relative: str) -> str:
    return CONTENT_TYPES.get(Path(relative).suffix.lower(), "application/octet-stream")


def is_media(relative: str) -> bool:
    """A lesson's MP3, transcript or chapters (`episodes/<slug>/lesson-<tag>.mp3` ...)."""
    parts = relative.split("/")
    return (
        len(parts) == 3
        and parts[0] == layout.EPISODES_DIR
        and any(fnmatch.fnmatchcase(parts[2], pattern) for pattern in layout.MEDIA_PATTERNS)
    )


# --- what to upload ---------------------------------------------------------------------------


def collect(workdir: Path, base_url: str | None = None) -> list[Item]:
    """The files to publish, in upload order; the feeds made again for `base_url` when given.

    The feeds are those the last build wrote (`publish.read_published`): a feed for another
    base URL is made from the same lessons and show notes, as `build --base-url` makes it.
    """
    published = publish.read_published(workdir)
    if published is None or not published.feeds:
        raise PublishError(f"{workdir}: no feed to publish (run companion build first)")
    found: list[str] = []
    episodes = workdir / layout.EPISODES_DIR
    for stamp in sorted(episodes.glob(f"*/{layout.STAMP_NAME}")) if episodes.is_dir() else ():
        found += [
            _relative(workdir, path)
            for path in sorted(stamp.parent.iterdir())
            if _publishable(path) and path.name != layout.STAMP_NAME
        ]
    if _publishable(workdir / layout.COVER_PATH):
        found.append(layout.COVER_PATH)
    site_dir = workdir / layout.SITE_DIR
    for path in sorted(site_dir.rglob("*")) if site_dir.is_dir() else ():
        if _publishable(path):
            found.append(_relative(workdir, path))
    if (workdir / layout.INDEX_PATH).is_file():
        found.append(layout.INDEX_PATH)
    lessons = {lesson.slug: lesson for lesson in read_lessons(workdir)}
    durations = {
        layout.lesson_path(lesson.slug, lesson.audio_file): lesson.duration
        for lesson in lessons.values()
    }
    items = [
        Item(relative, path=workdir / relative, duration=durations.get(relative))
        for relative in found
    ]
    if base_url is None:
        items += [
            Item(f.settings.feed_path, path=workdir / f.settings.feed_path) for f in published.feeds
        ]
    else:
        items += feed_items(published, lessons, normalize_base_url(base_url))
    return sorted(items, key=lambda item: _upload_rank(item.relative))


def feed_items(
    published: publish.Published, lessons: Mapping[str, Lesson], base_url: str | None
) -> list[Item]:
    """The published feeds made again from `lessons` (by slug), under `base_url` when given."""
    items = []
    for feed in published.feeds:
        relative = feed.settings.feed_path
        try:
            data = published.feed_xml(feed, lessons, base_url)
        except KeyError as missing:
            raise PublishError(
                f"{relative}: lesson {missing.args[0]!r} is not complete on "
                "disk (run companion build first)"
            ) from None
        items.append(Item(relative, data=data))
    return items


def with_stored_audio(
    workdir: Path, items: Sequence[Item], stored: Mapping[str, StoredAudio], base_url: str | None
) -> list[Item]:
    """`items` with the feeds made again to state the size and duration of the MP3s the
    store kept (`stored`, by relative path) instead of the local files'."""
    published = publish.read_published(workdir)
    if not stored or published is None:
        return list(items)
    lessons = {}
    for lesson in read_lessons(workdir):
        audio = stored.get(layout.lesson_path(lesson.slug, lesson.audio_file))
        if audio is not None:
            lesson = replace(lesson, size=audio.size, duration=audio.duration)
        lessons[lesson.slug] = lesson
    base = normalize_base_url(base_url) if base_url is not None else None
    feeds = {item.relative: item for item in feed_items(published, lessons, base)}
    return [feeds.get(item.relative, item) for item in items]


def _publishable(path: Path) -> bool:
    return (
        path.is_file()
        and not path.name.startswith(".")
        and not path.name.endswith(".part")
        and path.suffix.lower() in CONTENT_TYPES
    )


def _relative(workdir: Path, path: Path) -> str:
    return path.relative_to(workdir).as_posix()


def _upload_rank(relative: str) -> tuple[int, str]:
    """Media, then stylesheets, lesson pages, the show page; feeds last."""
    if relative.endswith(".xml"):
        rank = 4
    elif relative == layout.INDEX_PATH:
        rank = 3
    elif relative.endswith(".html"):
        rank = 2
    elif relative.endswith(".css"):
        rank = 1
    else:
        rank = 0
    return (rank, relative)


# --- uploading --------------------------------------------------------------------------------


def make_client(endpoint_url: str | None = None, *, attempts: int = 3) -> Any:
    """A boto3 S3 client; path-style addressing for a custom endpoint (MinIO, moto, ...).

    A failed request is tried `attempts` times in all (botocore's standard retry mode).
    """
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    config = Config(
        retries={"max_attempts": attempts, "mode": "standard"},
        connect_timeout=10,
        read_timeout=120,
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        config=config,
        region_name=session.region_name or "us-east-1",
    )


def publish_workdir(
    workdir: Path,
    target: Target | str,
    *,
    endpoint_url: str | None = None,
    base_url: str | None = None,
    client: Any = None,
    on_file: Callable[[str, FileStatus], None] | None = None,
) -> UploadReport:
    """Upload what changed in `workdir` to `target`; `on_file(relative, status)` per file."""
    where = target if isinstance(target, Target) else parse_target(target)
    items = collect(workdir, base_url)
    media = [item for item in items if item.is_media]
    rest = [item for item in items if not item.is_media]
    with _store_errors(where, endpoint_url):
        s3 = client if client is not None else make_client(endpoint_url)
        report = UploadReport(str(where))
        upload_items(s3, where, media, on_file, report)
        rest = with_stored_audio(workdir, rest, report.kept_audio, base_url)
        return upload_items(s3, where, rest, on_file, report)


def upload_items(
    s3: Any,
    target: Target,
    items: Sequence[Item],
    on_file: Callable[[str, FileStatus], None] | None = None,
    report: UploadReport | None = None,
) -> UploadReport:
    """Upload `items` in order, skipping those whose bytes the store already holds.

    A media item the store holds with other bytes is kept as it is (`report.kept`; for an MP3
    its stored size and duration in `report.kept_audio`).
    """
    report = report if report is not None else UploadReport(str(target))
    remote_sizes = dict(_list_sizes(s3, target))
    for item in items:
        key = target.key(item.relative)
        status = _upload_one(s3, target, key, item, remote_sizes.get(key), report)
        if on_file:
            on_file(item.relative, status)
    return report


def _upload_one(
    s3: Any, target: Target, key: str, item: Item, remote_size: int | None, report: UploadReport
) -> FileStatus:
    size, digest = item.size, item.sha256
    if remote_size is not None and (remote_size == size or item.is_media):
        head = s3.head_object(Bucket=target.bucket, Key=key)
        same_bytes = head.get("Metadata", {}).get("sha256") == digest
        if same_bytes and head.get("ContentType") == item.content_type:
            report.unchanged.append(item.relative)
            return "unchanged"
        if item.is_media and not same_bytes:
            report.kept.append(item.relative)
            if item.relative.endswith(".mp3"):
                report.kept_audio[item.relative] = _stored_audio(s3, target, key, head)
            return "kept"
    metadata = {"sha256": digest}
    if item.duration is not None:
        metadata["duration"] = f"{item.duration:.3f}"
    extra: dict[str, Any] = {"ContentType": item.content_type, "Metadata": metadata}
    if item.relative.endswith((".xml", ".html", ".css")):
        extra["CacheControl"] = PAGE_CACHE_CONTROL
    with item.body() as body:
        s3.put_object(Bucket=target.bucket, Key=key, Body=body, **extra)
    report.uploaded.append(item.relative)
    report.bytes_uploaded += size
    return "uploaded"


def _stored_audio(s3: Any, target: Target, key: str, head: Mapping[str, Any]) -> StoredAudio:
    """Size and duration of a stored MP3: the duration it was uploaded with, or, for an
    object uploaded without one, measured from its bytes."""
    size = int(head["ContentLength"])
    try:
        return StoredAudio(size, float(head.get("Metadata", {})["duration"]))
    except (KeyError, ValueError):
        pass
    from companion.synth import probe_duration

    with tempfile.TemporaryDirectory(prefix="companion-stored-") as tmp:
        path = Path(tmp) / "stored.mp3"
        s3.download_file(target.bucket, key, str(path))
        return StoredAudio(size, round(probe_duration(path), 3))


def _list_sizes(s3: Any, target: Target) -> Iterator[tuple[str, int]]:
    paginator = s3.get_paginator("list_objects_v2")
    prefix = f"{target.prefix}/" if target.prefix else ""
    for page in paginator.paginate(Bucket=target.bucket, Prefix=prefix):
        for entry in page.get("Contents", ()):
            yield entry["Key"], int(entry["Size"])


@contextmanager
def _store_errors(target: Target, endpoint_url: str | None) -> Iterator[None]:
    """botocore's exceptions as one-line PublishErrors naming the target."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    where = f"{target}" + (f" at {endpoint_url}" if endpoint_url else "")
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise PublishError(
            f"{where}: no S3 credentials (set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
        ) from None
    except EndpointConnectionError:
        raise PublishError(f"{where}: cannot connect to the endpoint") from None
    except ClientError as error:
        info = error.response.get("Error", {})
        code = info.get("Code", "error")
        message = info.get("Message") or ""
        raise PublishError(f"{where}: {code}" + (f": {message}" if message else "")) from None
    except BotoCoreError as error:
        raise PublishError(f"{where}: {error}") from None
    except ValueError as error:  # e.g. a malformed --endpoint-url
        raise PublishError(f"{where}: {error}") from None
