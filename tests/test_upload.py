"""Upload: publishing a workdir to a local S3 server (moto's server mode, no network)."""

from __future__ import annotations

import hashlib
import subprocess
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from companion import publish, upload
from companion.build import build
from companion.cli import cli
from companion.config import load_settings
from companion.errors import PublishError
from companion.lessons import Stamp, write_stamp
from tests.conftest import DATA, SAMPLE_CLOCK, as_another_kind_of_machine
from tests.test_site import CATALOG, lesson

MP3 = {slug: b"\xff\xfb" + slug.encode() * 499 for slug in ("two", "one")}
LESSONS = [
    replace(lesson(slug, day), size=len(MP3[slug])) for slug, day in (("two", 2), ("one", 1))
]
NOTES = {item.slug: publish.show_notes_html(item, CATALOG) for item in LESSONS}
FEED = publish.FeedSettings(
    title="Test Companion",
    description="Lessons.",
    base_url="http://localhost:8000/",
    feed_path="feeds/companion.xml",
    author="Tester",
    owner_email="owner@example.org",
)

TWO_MATH = DATA / "feeds" / "two_math.xml"
CLOCK = lambda: SAMPLE_CLOCK  # noqa: E731
BUCKET = "podcast"
TARGET = f"s3://{BUCKET}/shows/mlg"
PUBLIC = "https://cdn.example.org/mlg/"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server_module = pytest.importorskip("moto.server", reason="pip install 'moto[server]'")
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()  # moto's state is per process
    upload.make_client(url).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


@pytest.fixture
def s3(endpoint: str) -> Any:
    return upload.make_client(endpoint)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A built workdir in miniature: two lessons, their pages, the site, a feed, the extras."""
    root = tmp_path / "work"
    for item in LESSONS:
        folder = root / "episodes" / item.slug
        folder.mkdir(parents=True)
        (folder / "lesson-k.mp3").write_bytes(MP3[item.slug])
        (folder / "transcript-k.vtt").write_text("WEBVTT\n\n", "utf-8")
        (folder / "chapters-k.json").write_text("{}\n", "utf-8")
        (folder / "index.html").write_text(f"<p>{item.slug}</p>\n", "utf-8")
        write_stamp(folder / "build.json", Stamp("key", item))
    (root / "episodes" / "half-built").mkdir()  # no stamp: not a finished lesson
    (root / "episodes" / "half-built" / "lesson-k.mp3").write_bytes(b"partial")
    publish.write_feeds(root, [publish.Feed(FEED, tuple(LESSONS))], NOTES)
    (root / "feeds" / "source.xml").write_text("<rss/>", "utf-8")
    (root / "feeds" / "mlg.xml").write_text("<rss/>", "utf-8")  # a sample source, not ours
    (root / "feeds" / "cover.jpg").write_bytes(b"\xff\xd8\xff fake jpeg")
    (root / "site").mkdir()
    (root / "site" / "site.css").write_text("body { margin: 0 }\n", "utf-8")
    (root / "index.html").write_text("<h1>Show</h1>\n", "utf-8")
    (root / "scripts").mkdir()
    (root / "scripts" / "one.txt").write_text("spoken words", "utf-8")
    (root / ".cache" / "x.wav").write_bytes(b"RIFF")
    (root / "companion.toml").write_text('title = "x"\n', "utf-8")
    return root


def keys(s3: Any) -> dict[str, int]:
    listing = s3.list_objects_v2(Bucket=BUCKET)
    return {entry["Key"]: entry["Size"] for entry in listing.get("Contents", [])}


def test_first_publish_uploads_site_media_and_feed_last(
    workdir: Path, endpoint: str, s3: Any
) -> None:
    report = upload.publish_workdir(workdir, TARGET, endpoint_url=endpoint)
    expected = {"index.html", "site/site.css", "feeds/companion.xml", "feeds/cover.jpg"}
    for item in LESSONS:
        expected |= {
            f"episodes/{item.slug}/{name}"
            for name in ("lesson-k.mp3", "transcript-k.vtt", "chapters-k.json", "index.html")
        }
    assert set(report.uploaded) == expected and report.unchanged == []
    assert set(keys(s3)) == {f"shows/mlg/{name}" for name in expected}
    assert report.uploaded[-1] == "feeds/companion.xml"
    assert report.uploaded.index("index.html") > max(
        report.uploaded.index(f"episodes/{item.slug}/lesson-k.mp3") for item in LESSONS
    )

    types = {
        "lesson-k.mp3": "audio/mpeg",
        "transcript-k.vtt": "text/vtt",
        "chapters-k.json": "application/json",
        "index.html": "text/html; charset=utf-8",
    }
    for name, wanted in types.items():
        head = s3.head_object(Bucket=BUCKET, Key=f"shows/mlg/episodes/one/{name}")
        assert head["ContentType"].startswith(wanted)
    feed = s3.head_object(Bucket=BUCKET, Key="shows/mlg/feeds/companion.xml")
    assert feed["ContentType"].startswith("application/rss+xml")
    assert (
        s3.head_object(Bucket=BUCKET, Key="shows/mlg/feeds/cover.jpg")["ContentType"]
        == "image/jpeg"
    )
    assert s3.head_object(Bucket=BUCKET, Key="shows/mlg/site/site.css")["ContentType"].startswith(
        "text/css"
    )
    mp3 = (workdir / "episodes" / "one" / "lesson-k.mp3").read_bytes()
    head = s3.head_object(Bucket=BUCKET, Key="shows/mlg/episodes/one/lesson-k.mp3")
    assert head["Metadata"]["sha256"] == hashlib.sha256(mp3).hexdigest()
    body = s3.get_object(Bucket=BUCKET, Key="shows/mlg/episodes/one/lesson-k.mp3")["Body"].read()
    assert body == mp3


def test_second_publish_uploads_nothing_and_a_change_uploads_it_then_the_feed(
    workdir: Path, endpoint: str
) -> None:
    first = upload.publish_workdir(workdir, TARGET, endpoint_url=endpoint)
    second = upload.publish_workdir(workdir, TARGET, endpoint_url=endpoint)
    assert second.uploaded == [] and len(second.unchanged) == len(first.uploaded)

    page = workdir / "episodes" / "two" / "index.html"
    page.write_text("<p>two, edited</p>\n", "utf-8")
    seen: list[tuple[str, str]] = []
    report = upload.publish_workdir(
        workdir,
        TARGET,
        endpoint_url=endpoint,
        on_file=lambda name, status: seen.append((name, status)),
    )
    assert report.uploaded == ["episodes/two/index.html"] and report.kept == []
    assert ("episodes/two/index.html", "uploaded") in seen
    assert seen[-1] == ("feeds/companion.xml", "unchanged")


def test_media_the_store_holds_with_other_bytes_are_kept_and_the_feed_states_them(
    workdir: Path, endpoint: str, s3: Any
) -> None:
    upload.publish_workdir(workdir, TARGET, endpoint_url=endpoint)
    key = "shows/mlg/episodes/one/lesson-k.mp3"
    stored = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]["duration"] == "123.400"
    # another machine rebuilt the lesson: the same names, other bytes, another length
    mp3 = workdir / "episodes" / "one" / "lesson-k.mp3"
    mp3.write_bytes(mp3.read_bytes() + b"more audio")
    (workdir / "episodes" / "one" / "transcript-k.vtt").write_text("WEBVTT\n\nx\n", "utf-8")
    rebuilt = replace(LESSONS[1], size=mp3.stat().st_size, duration=124.1)
    write_stamp(workdir / "episodes" / "one" / "build.json", Stamp("key", rebuilt))
    publish.write_feeds(workdir, [publish.Feed(FEED, (LESSONS[0], rebuilt))], NOTES)
    report = upload.publish_workdir(workdir, TARGET, endpoint_url=endpoint, base_url=PUBLIC)
    assert report.kept == ["episodes/one/lesson-k.mp3", "episodes/one/transcript-k.vtt"]
    assert "2 kept (the store's copy has other bytes)" in report.summary()
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == stored
    feed = s3.get_object(Bucket=BUCKET, Key="shows/mlg/feeds/companion.xml")["Body"].read()
    moved = replace(FEED, base_url=PUBLIC)
    assert feed == publish.feed_xml(moved, LESSONS, NOTES)  # the stored size and duration
    assert f'length="{len(stored)}"'.encode() in feed


def test_base_url_rewrites_the_feed(workdir: Path, endpoint: str, s3: Any) -> None:
    upload.publish_workdir(workdir, TARGET, endpoint_url=endpoint, base_url=PUBLIC)
    body = s3.get_object(Bucket=BUCKET, Key="shows/mlg/feeds/companion.xml")["Body"].read()
    moved = replace(FEED, base_url=PUBLIC)
    assert body == publish.feed_xml(moved, LESSONS, NOTES)  # as `build --base-url` writes it
    assert b"localhost" not in body
    assert f'url="{PUBLIC}episodes/one/lesson-k.mp3"'.encode() in body
    again = upload.publish_workdir(workdir, TARGET, endpoint_url=endpoint, base_url=PUBLIC)
    assert again.uploaded == []


def test_cli_publish_prints_counts(workdir: Path, endpoint: str) -> None:
    runner = CliRunner()
    args = [
        "publish",
        "--to",
        TARGET,
        "--endpoint-url",
        endpoint,
        "--workdir",
        str(workdir),
        "--base-url",
        PUBLIC,
    ]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "Published to s3://podcast/shows/mlg: 12 uploaded, 0 unchanged" in first.stdout
    second = runner.invoke(cli, args)
    assert "0 uploaded, 12 unchanged" in second.stdout


@pytest.mark.parametrize(
    "url", ["http://bucket/x", "s3://", "s3://Bad_Bucket/x", "s3://bucket/a/../b", "bucket/prefix"]
)
def test_bad_target_is_one_line_error(url: str) -> None:
    with pytest.raises(PublishError, match="^" + url.replace(".", r"\.") + ": not|must not"):
        upload.parse_target(url)


def test_parse_target() -> None:
    assert upload.parse_target("s3://my.bucket") == upload.Target("my.bucket", "")
    assert upload.parse_target("s3://b-1/a/b/") == upload.Target("b-1", "a/b")
    assert upload.Target("b-1", "a/b").key("index.html") == "a/b/index.html"


def test_unreachable_endpoint_missing_bucket_and_no_credentials(
    workdir: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(PublishError, match=r"^s3://nobucket/p at .*NoSuchBucket"):
        upload.publish_workdir(workdir, "s3://nobucket/p", endpoint_url=endpoint)
    unreachable = "http://127.0.0.1:9"
    with pytest.raises(PublishError, match=r"^s3://podcast at http://127\.0\.0\.1:9: cannot "):
        upload.publish_workdir(
            workdir,
            "s3://podcast",
            endpoint_url=unreachable,
            client=upload.make_client(unreachable, attempts=1),
        )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(PublishError, match=r"^s3://podcast at .*: no S3 credentials"):
        upload.publish_workdir(workdir, "s3://podcast", endpoint_url=endpoint)


def test_nothing_built_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="no feed to publish"):
        upload.publish_workdir(tmp_path, TARGET)


def test_base_url_needs_every_published_lesson_on_disk(workdir: Path) -> None:
    (workdir / "episodes" / "one" / "lesson-k.mp3").unlink()
    with pytest.raises(
        PublishError,
        match=r"^feeds/companion\.xml: lesson 'one' is not "
        r"complete on disk \(run companion build first\)",
    ):
        upload.collect(workdir, PUBLIC)
    assert [item.relative for item in upload.collect(workdir)][-1] == "feeds/companion.xml"


def test_a_rebuild_on_another_kind_of_machine_never_changes_a_published_file(
    tmp_path: Path, endpoint: str, s3: Any, monkeypatch: pytest.MonkeyPatch, audio_tools: None
) -> None:
    workdir = tmp_path / "work"
    settings = load_settings(
        workdir,
        {
            "source": str(TWO_MATH),
            "jobs": 1,
            "course": False,
            "engine": "espeak-ng",
            "max_episodes": 1,
        },
    )
    assert build(settings, clock=CLOCK).exit_code == 0
    upload.publish_workdir(workdir, TARGET, endpoint_url=endpoint, base_url=PUBLIC)
    media = sorted(key for key in keys(s3) if upload.is_media(key.removeprefix("shows/mlg/")))
    assert len(media) == 3
    published = {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in media}

    as_another_kind_of_machine(monkeypatch)
    rebuilt = build(settings, force=True, clock=CLOCK)
    assert rebuilt.built == ["sigmoid"]
    local = {f"shows/mlg/{p.relative_to(workdir).as_posix()}" for p in workdir.glob("episodes/*/*")}
    assert set(media) <= local  # the same names ...
    mp3s = [key for key in media if key.endswith(".mp3")]
    for key in mp3s:  # ... other bytes
        assert (workdir / key.removeprefix("shows/mlg/")).read_bytes() != published[key]

    report = upload.publish_workdir(workdir, TARGET, endpoint_url=endpoint, base_url=PUBLIC)
    assert set(mp3s) <= {f"shows/mlg/{name}" for name in report.kept}
    assert {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in media} == published
    feed = s3.get_object(Bucket=BUCKET, Key="shows/mlg/feeds/companion.xml")["Body"].read()
    items = ET.fromstring(feed).findall("channel/item")
    assert len(items) == 1
    for item in items:
        enclosure = item.find("enclosure")
        assert enclosure is not None
        key = "shows/mlg/" + enclosure.attrib["url"].removeprefix(PUBLIC)
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert int(enclosure.attrib["length"]) == head["ContentLength"] == len(published[key])
        stored_seconds = float(head["Metadata"]["duration"])
        duration = item.findtext("{http://www.itunes.com/dtds/podcast-1.0.dtd}duration")
        assert duration == str(round(stored_seconds))


def test_a_stored_mp3_without_a_duration_is_measured(
    tmp_path: Path, endpoint: str, s3: Any, audio_tools: None
) -> None:
    """An MP3 uploaded before durations were stored: the feed states the duration ffprobe
    reads from the stored bytes."""
    mp3 = tmp_path / "tone.mp3"
    tone = ["-f", "lavfi", "-i", "sine=duration=2.5", "-ar", "22050", "-ac", "1", "-b:a", "64k"]
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", *tone, str(mp3)], check=True)
    key = "shows/mlg/episodes/one/lesson-k.mp3"
    s3.put_object(Bucket=BUCKET, Key=key, Body=mp3.read_bytes(), ContentType="audio/mpeg")
    item = upload.Item("episodes/one/lesson-k.mp3", data=b"other bytes", duration=9.0)
    report = upload.upload_items(s3, upload.parse_target(TARGET), [item])
    assert report.kept == ["episodes/one/lesson-k.mp3"]
    stored = report.kept_audio["episodes/one/lesson-k.mp3"]
    assert stored.size == mp3.stat().st_size
    assert stored.duration == pytest.approx(2.5, abs=0.1)
