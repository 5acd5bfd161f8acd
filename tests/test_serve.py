"""Serve: a small static server that podcast apps can subscribe to and seek in."""

from __future__ import annotations

import http.client
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion.serve import make_server, parse_range

MP3_BYTES = bytes(range(256)) * 40  # 10,240 bytes standing in for an MP3


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    (root / "episodes" / "one").mkdir(parents=True)
    (root / "feeds").mkdir()
    (root / "episodes" / "one" / "lesson.mp3").write_bytes(MP3_BYTES)
    (root / "feeds" / "companion.xml").write_text("<rss/>", "utf-8")
    (root / "index.html").write_text("<html></html>", "utf-8")
    (tmp_path / "secret.txt").write_text("do not serve", "utf-8")
    os.symlink(tmp_path / "secret.txt", root / "feeds" / "escape.txt")
    return root


@pytest.fixture
def server(workdir: Path) -> Iterator[tuple[str, int]]:
    instance = make_server(workdir, "127.0.0.1", 0)
    thread = threading.Thread(target=instance.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield instance.server_address[:2]
    instance.shutdown()
    instance.server_close()


def request(
    address: tuple[str, int], method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(*address, timeout=10)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    result = response.status, {k.lower(): v for k, v in response.getheaders()}, body
    connection.close()
    return result


def raw_request(address: tuple[str, int], path: str) -> int:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        reply = sock.recv(4096).decode("latin-1")
    return int(reply.split()[1])


def test_feed_and_mp3_have_the_right_types(server: tuple[str, int]) -> None:
    status, headers, body = request(server, "GET", "/feeds/companion.xml")
    assert status == 200
    assert headers["content-type"].startswith("application/rss+xml")
    assert body == b"<rss/>"
    status, headers, body = request(server, "GET", "/episodes/one/lesson.mp3")
    assert status == 200
    assert headers["content-type"] == "audio/mpeg"
    assert headers["accept-ranges"] == "bytes"
    assert body == MP3_BYTES


def test_head_sends_length_without_body(server: tuple[str, int]) -> None:
    status, headers, body = request(server, "HEAD", "/episodes/one/lesson.mp3")
    assert status == 200
    assert headers["content-length"] == str(len(MP3_BYTES))
    assert body == b""


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-1", 0, 1),
        ("bytes=100-", 100, 10239),
        ("bytes=-10", 10230, 10239),
        ("bytes=10000-99999", 10000, 10239),
    ],
)
def test_byte_ranges(server: tuple[str, int], header: str, start: int, end: int) -> None:
    status, headers, body = request(server, "GET", "/episodes/one/lesson.mp3", {"Range": header})
    assert status == 206
    assert headers["content-range"] == f"bytes {start}-{end}/{len(MP3_BYTES)}"
    assert body == MP3_BYTES[start : end + 1]


def test_unsatisfiable_range_is_416(server: tuple[str, int]) -> None:
    status, headers, _ = request(
        server, "GET", "/episodes/one/lesson.mp3", {"Range": "bytes=20000-"}
    )
    assert status == 416
    assert headers["content-range"] == f"bytes */{len(MP3_BYTES)}"


def test_conditional_get_answers_304(server: tuple[str, int]) -> None:
    _, headers, _ = request(server, "GET", "/feeds/companion.xml")
    status, _, body = request(
        server, "GET", "/feeds/companion.xml", {"If-None-Match": headers["etag"]}
    )
    assert (status, body) == (304, b"")
    status, _, _ = request(
        server, "GET", "/feeds/companion.xml", {"If-Modified-Since": headers["last-modified"]}
    )
    assert status == 304


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/feeds/..%2f..%2fsecret.txt",
        "/feeds/escape.txt",
        "/feeds/..\\..\\secret.txt",
        "/episodes/",
        "/nothing",
    ],
)
def test_nothing_outside_the_workdir_and_no_listings(server: tuple[str, int], path: str) -> None:
    assert raw_request(server, path) == 404


def test_directory_with_index_serves_it(server: tuple[str, int]) -> None:
    status, headers, _ = request(server, "GET", "/")
    assert status == 200
    assert headers["content-type"].startswith("text/html")


def test_only_get_and_head(server: tuple[str, int]) -> None:
    status, headers, _ = request(server, "POST", "/feeds/companion.xml")
    assert status == 405
    assert headers["allow"] == "GET, HEAD"


def test_parse_range_edges() -> None:
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=5-2", 10) is None
    assert parse_range("bytes=-0", 10) is None
    assert parse_range("bytes=0-1,3-4", 10) is None
    assert parse_range("items=0-1", 10) is None


def raw_exchange(address: tuple[str, int], data: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while block := sock.recv(65536):
            chunks.append(block)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "path",
    [
        "/%2e%2e/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/feeds/%2e%2e/%2e%2e/secret.txt",
        "/..%5c..%5csecret.txt",
        "/feeds%5c..%5c..%5csecret.txt",
        "//etc/passwd",
        "/etc/passwd",
        "http://x/../secret.txt",
        "file:///etc/passwd",
        "secret.txt",
        "/C:/Windows/win.ini",
        "/feeds/companion.xml%00.mp3",
        "/.cache/build.lock",
        "/%2ecache/build.lock",
    ],
)
def test_traversal_and_absolute_paths_are_refused(
    server: tuple[str, int], workdir: Path, path: str
) -> None:
    (workdir / ".cache").mkdir()
    (workdir / ".cache" / "build.lock").write_text("x", "utf-8")
    assert raw_request(server, path) in (400, 404)


def test_absolute_form_request_inside_the_workdir_is_served(server: tuple[str, int]) -> None:
    assert raw_request(server, "http://localhost/feeds/companion.xml") == 200


@pytest.mark.parametrize("method", ["PUT", "DELETE", "TRACE", "CONNECT", "PROPFIND", "BREW"])
def test_every_other_method_is_405(server: tuple[str, int], method: str) -> None:
    reply = raw_exchange(
        server,
        f"{method} /feeds/companion.xml HTTP/1.1\r\nHost: x\r\n"
        "Content-Length: 5\r\n\r\nhello".encode(),
    )
    assert reply.startswith(b"HTTP/1.1 405 ")
    assert reply.count(b"HTTP/1.1") == 1  # the body was never read as a second request


def test_request_sizes_are_bounded(server: tuple[str, int]) -> None:
    long_line = raw_exchange(server, b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\n\r\n")
    assert long_line.split(b" ")[1] == b"414"
    huge_line = raw_exchange(server, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")
    assert huge_line.split(b" ")[1] == b"414"
    many_headers = b"".join(b"X-%d: y\r\n" % i for i in range(200))
    reply = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + many_headers + b"\r\n")
    assert reply.split(b" ")[1] == b"431"


def test_200_concurrent_range_requests_get_every_byte_right(workdir: Path) -> None:
    import random
    from concurrent.futures import ThreadPoolExecutor

    audio = random.Random(7).randbytes(1_000_000)
    (workdir / "episodes" / "one" / "big.mp3").write_bytes(audio)
    instance = make_server(workdir, "127.0.0.1", 0)
    thread = threading.Thread(target=instance.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    address = instance.server_address[:2]
    rng = random.Random(8)
    ranges = [
        (start, min(len(audio) - 1, start + rng.randrange(1, 200_000)))
        for start in (rng.randrange(len(audio)) for _ in range(200))
    ]
    barrier = threading.Barrier(200, timeout=20)

    def fetch(span: tuple[int, int]) -> bool:
        start, end = span
        connection = http.client.HTTPConnection(*address, timeout=30)
        barrier.wait()
        connection.request(
            "GET", "/episodes/one/big.mp3", headers={"Range": f"bytes={start}-{end}"}
        )
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return (
            response.status == 206
            and body == audio[start : end + 1]
            and response.getheader("Content-Range") == f"bytes {start}-{end}/{len(audio)}"
        )

    try:
        with ThreadPoolExecutor(max_workers=200) as pool:
            results = list(pool.map(fetch, ranges))
    finally:
        instance.shutdown()
        instance.server_close()
    assert all(results)


def test_a_podcast_client_subscribes_and_downloads_by_ranges(tmp_path: Path) -> None:
    """gPodder's parser reads the served feed; the enclosure comes back intact in ranges."""
    import urllib.request
    from datetime import UTC, datetime

    import podcastparser

    from companion import publish
    from companion.models import Chapter, Lesson, LessonKind

    root = tmp_path / "site"
    root.mkdir()
    instance = make_server(root, "127.0.0.1", 0)
    thread = threading.Thread(target=instance.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{instance.server_address[1]}/"
        audio = bytes(range(256)) * 1200  # 307,200 bytes
        lessons = []
        for day, slug in ((2, "two"), (1, "one")):
            (root / "episodes" / slug).mkdir(parents=True)
            (root / "episodes" / slug / "lesson.mp3").write_bytes(audio[day:])
            lessons.append(
                Lesson(
                    slug=slug,
                    guid=publish.lesson_guid(slug),
                    title=f"Math for {slug}",
                    summary="s",
                    published=datetime(2024, 1, day, tzinfo=UTC),
                    source_title="",
                    source_link="",
                    source_guid=slug,
                    episode_number=day,
                    topic_ids=(),
                    duration=60.0,
                    size=len(audio) - day,
                    chapters=(Chapter(0, 60, "All"),),
                    kind=LessonKind.EPISODE,
                )
            )
        feed = publish.FeedSettings(
            title="Served",
            description="d",
            base_url=base,
            feed_path="feeds/companion.xml",
            author="a",
            owner_email="o@example.org",
        )
        (root / "feeds").mkdir()
        (root / "feeds" / "companion.xml").write_bytes(publish.feed_xml(feed, lessons, {}))

        url = base + "feeds/companion.xml"
        with urllib.request.urlopen(url, timeout=10) as stream:
            parsed = podcastparser.parse(url, stream)
        assert parsed["title"] == "Served"
        episodes = parsed["episodes"]
        assert [e["title"] for e in episodes] == ["Math for two", "Math for one"]
        enclosure = episodes[0]["enclosures"][0]
        assert enclosure["file_size"] == len(audio) - 2
        assert enclosure["mime_type"] == "audio/mpeg"

        pieces, start, step = [], 0, 100_000
        while start < enclosure["file_size"]:
            request = urllib.request.Request(
                enclosure["url"], headers={"Range": f"bytes={start}-{start + step - 1}"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 206
                pieces.append(response.read())
            start += step
        assert b"".join(pieces) == audio[2:]
    finally:
        instance.shutdown()
        instance.server_close()


def test_published_base_url_is_read_from_the_record(tmp_path: Path) -> None:
    from companion import publish

    assert publish.read_published(tmp_path) is None  # nothing built
    feed = publish.FeedSettings(
        title="t",
        description="d",
        base_url="http://localhost:8000/",
        feed_path="feeds/companion.xml",
        author="a",
        owner_email="o@x",
    )
    publish.write_feeds(tmp_path, [publish.Feed(feed, ())], {})
    record = publish.read_published(tmp_path)
    assert record is not None and record.base_url == "http://localhost:8000/"
    (tmp_path / ".cache" / "published.json").write_text("{not json", "utf-8")
    assert publish.read_published(tmp_path) is None
