"""Command line: thin click commands that parse options, call the library, print results."""

from __future__ import annotations

import json
import logging
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from companion import __version__, layout
from companion.config import SETTING, SETTINGS, Setting
from companion.errors import CompanionError
from companion.events import BuildEvent, Built, Failed, FeedWritten, Linked, Started, Unchanged

VERBOSITY = ("brief", "normal", "verbose")


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's errors into one-line CLI errors with exit status 1."""
    try:
        yield
    except CompanionError as error:
        raise click.ClickException(str(error)) from None


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else logging.DEBUG if verbose else logging.WARNING
    logging.basicConfig(
        level=level, format="%(levelname)s: %(message)s", stream=sys.stderr, force=True
    )


def logging_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("-q", "--quiet", is_flag=True, help="Only errors and the summary.")(
        command
    )
    return click.option("-v", "--verbose", count=True, help="More detail on stderr.")(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="companion")
def cli() -> None:
    """Companion: spoken math lessons for the episodes of a machine-learning podcast."""


workdir_option = click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for scripts/, episodes/ and feeds/.",
)


def setting_option(
    setting: Setting, *, with_default: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The command-line option of a setting, with its help from the settings table.

    Without `with_default` the option is None when not given, so companion.toml decides.
    """
    declaration = [
        f"{setting.option}/--no-{setting.option[2:]}" if setting.kind is bool else setting.option,
        setting.name,
    ]
    kind: Any = click.Choice(setting.choices) if setting.choices else setting.kind
    shown = f" [default: {setting.default_text}]" if setting.default_text else ""
    return click.option(
        *declaration,
        type=None if setting.kind is bool else kind,
        default=setting.default if with_default else None,
        metavar=setting.metavar or None,
        help=setting.meaning + shown,
    )


def settings_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Every setting of the table as an option (overriding companion.toml)."""
    for setting in reversed(SETTINGS):
        command = setting_option(setting)(command)
    return command


@cli.command()
@workdir_option
@settings_options
@click.option("--only", multiple=True, help="Rebuild only this episode (guid or slug); repeatable.")
@click.option("--force", is_flag=True, help="Ignore the stamps and redo every lesson.")
@click.option("--prune", is_flag=True, help="Remove lessons whose episode left the source feed.")
@click.option(
    "--scripts-only",
    is_flag=True,
    help="Write every lesson's script (scripts/ for people, spoken/ as the engine is given "
    "it) without synthesizing or publishing, in seconds.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file [default: WORKDIR/companion.toml].",
)
@logging_options
def build(
    workdir: Path,
    only: tuple[str, ...],
    force: bool,
    prune: bool,
    scripts_only: bool,
    config_path: Path | None,
    verbose: int,
    quiet: bool,
    **options: Any,
) -> None:
    """Turn the source feed into spoken MP3 lessons and a podcast feed, incrementally.

    With [[show]] entries in companion.toml, build every show into shows/<slug>/.
    """
    from companion.build import build as run_build
    from companion.config import Library, load_workdir
    from companion.library import build_library

    _setup_logging(verbose, quiet)
    with user_errors():
        loaded = load_workdir(workdir, options, config_path)
        progress = BuildProgress(quiet=quiet, verbose=bool(verbose))
        if isinstance(loaded, Library):
            if only:
                raise click.UsageError("--only: not supported for a library of shows")
            if scripts_only:
                raise click.UsageError("--scripts-only: not supported for a library of shows")
            report: Any = build_library(loaded, force=force, prune=prune, on_event=progress.show)
        else:
            report = run_build(
                loaded,
                force=force,
                only=only,
                prune=prune,
                on_event=progress.show,
                scripts_only=scripts_only,
            )
    progress.close()
    click.echo(report.summary(), err=True)
    if verbose and not isinstance(loaded, Library):
        click.echo(report.details(), err=True)
    shown = report.index_path if isinstance(loaded, Library) else report.feed_path
    if shown is not None and not quiet:
        click.echo(
            f"{'Shows' if isinstance(loaded, Library) else 'Feed'}: {shown}  (serve it "
            f"with: companion serve --workdir {workdir})",
            err=True,
        )
    sys.exit(report.exit_code)


@cli.command()
@workdir_option
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file [default: WORKDIR/companion.toml].",
)
@logging_options
def refresh(workdir: Path, config_path: Path | None, verbose: int, quiet: bool) -> None:
    """Fetch every show's feed (conditional GET) and rebuild the shows that changed.

    Safe to run from cron: one summary line on stdout; exit status 0 when all is well, 1 when
    a fetch or a lesson failed, 75 when another refresh is still running (skipped).
    """
    from companion.library import refresh as run_refresh

    _setup_logging(verbose, quiet)
    with user_errors():
        report = run_refresh(workdir, config_path)
    for failure in report.failed:
        click.echo(f"  failed     {failure.slug}  {failure.message}", err=True)
    click.echo(report.summary())
    sys.exit(report.exit_code)


class BuildProgress:
    """Build events on stderr: a progress bar on a terminal, plain lines otherwise."""

    def __init__(self, quiet: bool, verbose: bool) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.interactive = sys.stderr.isatty()
        self.bar: Any = None

    def show(self, event: BuildEvent) -> None:
        if self.quiet and not isinstance(event, Failed):
            return
        match event:
            case Linked(slug, topic_ids):
                if self.verbose:
                    click.echo(
                        f"  linked     {slug}: {', '.join(topic_ids) or 'no math'}", err=True
                    )
            case Started(total=total):
                if self.interactive and self.bar is None and total:
                    self.bar = click.progressbar(
                        length=total, label="Synthesizing", file=sys.stderr
                    )
                    self.bar.__enter__()
            case Built(slug, duration, done, total):
                self._lesson_line("built", slug, f"{duration / 60:.1f} min", done, total)
            case Failed(slug, message, done, total):
                self._lesson_line("failed", slug, message, done, total)
            case Unchanged(slug):
                if self.verbose and self.bar is None:
                    click.echo(f"  {'unchanged':<10} {slug}", err=True)
            case FeedWritten(path, lessons):
                self.close()
                click.echo(f"Wrote {path} ({lessons} lessons)", err=True)

    def _lesson_line(self, what: str, slug: str, detail: str, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.update(1)
            return
        counter = f"[{done}/{total}] " if total else ""
        click.echo(f"  {what:<10} {counter}{slug}{f'  {detail}' if detail else ''}", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@cli.command()
@click.option("--source", required=True, help="Feed file path or http(s) URL.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"<episode guid>": ["<topic id>", ...]} for every episode.',
)
@click.option(
    "--explain",
    "explain_guid",
    metavar="GUID",
    help="Show every candidate topic of one episode: its score, each mention, and why it was "
    "kept or dropped.",
)
@setting_option(SETTING["transcripts"], with_default=True)
@setting_option(SETTING["max_feed_bytes"], with_default=True)
@setting_option(SETTING["max_episodes"], with_default=True)
@logging_options
def topics(
    source: str,
    as_json: bool,
    explain_guid: str | None,
    transcripts: bool,
    max_feed_bytes: int,
    max_episodes: int,
    verbose: int,
    quiet: bool,
) -> None:
    """Link each episode of a feed to math topics, with the evidence."""
    from companion.episode_words import fetch_words
    from companion.ingest import load_feed
    from companion.linking import Linker, describe, explain, link
    from companion.topics import load_catalog

    _setup_logging(verbose, quiet)
    with user_errors():
        _show, episodes = load_feed(source, max_bytes=max_feed_bytes, max_episodes=max_episodes)
        if explain_guid is not None:
            episodes = tuple(e for e in episodes if e.guid == explain_guid)
            if not episodes:
                raise CompanionError(f"{source}: no episode with the guid {explain_guid!r}")
        linker = Linker.of(load_catalog())
        words = fetch_words(episodes, max_bytes=max_feed_bytes) if transcripts else {}
        if explain_guid is not None:
            episode = episodes[0]
            click.echo(f"{episode.title}  [{episode.guid}]")
            for line in describe(explain(episode, linker, words.get(episode.guid))):
                click.echo(line)
            return
        links = {
            episode.guid: link(episode, linker, words.get(episode.guid)) for episode in episodes
        }
    if as_json:
        click.echo(
            json.dumps(
                {guid: [item.topic.id for item in found] for guid, found in links.items()}, indent=2
            )
        )
        return
    for episode in episodes:
        found = links[episode.guid]
        click.echo(f"{episode.title}  [{episode.guid}]")
        if not found:
            click.echo("    (no math)")
        for item in found:
            evidence = item.evidence[0] if item.evidence else None
            why = (
                f'"{evidence.phrase}" ({evidence.field})'
                + (f" via {evidence.via}" if evidence.via else "")
                if evidence
                else "pinned"
            )
            click.echo(f"    {item.topic.id:<28} {item.score:5.2f}  {why}")
            if evidence and verbose:
                click.echo(f"        {evidence.sentence}")


@cli.command("speak-math")
@click.argument("latex", required=False)
@click.option(
    "--jsonl",
    is_flag=True,
    help='Read {"id", "latex"} lines on stdin; print {"id", "speech"} (or {"id", "error"}) lines.',
)
@click.option("--verbosity", type=click.Choice(VERBOSITY), default="normal", show_default=True)
@click.option(
    "--strict",
    is_flag=True,
    help="An unsupported command is an error, not a warning and a reading of its argument.",
)
def speak_math(latex: str | None, jsonl: bool, verbosity: str, strict: bool) -> None:
    """Print the spoken form of a LaTeX equation."""
    from companion.mathspeech import speak

    if jsonl == (latex is not None):
        raise click.UsageError("give either a LATEX argument or --jsonl")
    if latex is not None:
        with user_errors():
            spoken = speak(latex, verbosity, strict=strict)
        for message in spoken.warnings:
            click.echo(f"warning: {message}", err=True)
        click.echo(spoken.text)
        return
    failures = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            key, source = item["id"], item["latex"]
        except (ValueError, KeyError, TypeError):
            click.echo(f"stdin line {number}: not a JSON object with id and latex", err=True)
            failures += 1
            continue
        try:
            spoken = speak(source, verbosity, strict=strict)
            out: dict[str, Any] = {"id": key, "speech": spoken.text}
            for message in spoken.warnings:
                click.echo(f"warning: {key}: {message}", err=True)
        except CompanionError as error:
            out = {"id": key, "error": str(error)}
            failures += 1
        click.echo(json.dumps(out, ensure_ascii=False))
    sys.exit(1 if failures else 0)


@cli.command()
@workdir_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0: every interface, for a phone).",
)
@click.option("--port", type=int, default=8000, show_default=True)
def serve(workdir: Path, host: str, port: int) -> None:
    """Serve the workdir over HTTP so a podcast app can subscribe."""
    from companion.publish import read_published
    from companion.serve import is_loopback, make_server

    with user_errors():
        server = make_server(workdir, host, port)
    address, bound_port = server.server_address[:2]
    bound_host = address if isinstance(address, str) else address.decode()
    shown = "localhost" if bound_host in ("127.0.0.1", "0.0.0.0") else bound_host
    if not is_loopback(host):
        click.echo(f"Warning: listening on {host}, reachable from other machines.", err=True)
    click.echo(f"Serving {workdir.resolve()} on http://{bound_host}:{bound_port}/", err=True)
    click.echo(f"Subscribe to http://{shown}:{bound_port}/{layout.FEED_PATH}", err=True)
    record = read_published(workdir)
    published = record.base_url if record else ""
    if published and urllib.parse.urlsplit(published).port not in (bound_port, None):
        click.echo(
            f"Warning: the feed's URLs start with {published}, not this server's port "
            f"{bound_port}; rebuild with --base-url or serve with --port.",
            err=True,
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@cli.command()
@workdir_option
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file [default: WORKDIR/companion.toml].",
)
def check(workdir: Path, config_path: Path | None) -> None:
    """Check everything a build needs; exit status 1 if anything is missing."""
    from companion.check import run_checks
    from companion.config import load_settings

    with user_errors():
        results = run_checks(load_settings(workdir, {}, config_path))
    for result in results:
        mark = "ok  " if result.ok else "FAIL"
        click.echo(f"{mark} {result.name:<10} {result.detail}")
        if not result.ok:
            click.echo(f"     {'':<10} fix: {result.fix}")
    failed = [result.name for result in results if not result.ok]
    click.echo(
        f"{len(results) - len(failed)} ok, {len(failed)} missing"
        + (f": {', '.join(failed)}" if failed else ""),
        err=True,
    )
    sys.exit(1 if failed else 0)


@cli.command()
@click.option(
    "--to",
    "target",
    required=True,
    metavar="s3://BUCKET/PREFIX",
    help="Where to upload: a bucket and an optional key prefix.",
)
@click.option("--endpoint-url", help="An S3-compatible endpoint (MinIO, R2, ...) instead of AWS.")
@click.option(
    "--base-url",
    help="Public URL of the uploaded files; the feeds are made again with every URL under it.",
)
@workdir_option
@click.option("-v", "--verbose", is_flag=True, help="List every file.")
def publish(
    target: str, endpoint_url: str | None, base_url: str | None, workdir: Path, verbose: bool
) -> None:
    """Upload the site, media and feeds to S3-compatible storage (changed files only)."""
    from companion.publish import read_published
    from companion.upload import normalize_base_url, parse_target, publish_workdir

    def show(relative: str, status: str) -> None:
        if status == "kept":
            click.echo(
                f"  kept      {relative} (the store's copy has other bytes; media are "
                "never replaced, the feeds state the stored file)",
                err=True,
            )
        elif verbose or status == "uploaded":
            click.echo(f"  {status:<9} {relative}", err=True)

    with user_errors():
        where = parse_target(target)
        base_url = normalize_base_url(base_url) if base_url is not None else None
    record = read_published(workdir)
    old_base = record.base_url if record else ""
    if base_url is None and ("://localhost" in old_base or "://127.0.0.1" in old_base):
        click.echo(
            f"Warning: the feed's URLs start with {old_base}; pass --base-url with the "
            "public URL of the upload.",
            err=True,
        )
    with user_errors():
        report = publish_workdir(
            workdir, where, endpoint_url=endpoint_url, base_url=base_url, on_file=show
        )
    click.echo(report.summary())
    if base_url is not None and record is not None:
        click.echo(f"Subscribe to {base_url}{layout.FEED_PATH}", err=True)


@cli.command()
def voices() -> None:
    """List the installed voices of each engine."""
    from companion import voices as engines

    found = engines.installed_voices()
    for status in engines.status():
        spec = engines.ENGINES[status.engine]
        state = "installed" if status.installed else f"not installed ({status.detail})"
        click.echo(f"{status.engine} [{spec.licence}]: {state}")
        if spec.voices_note and status.installed:
            click.echo(f"  {spec.voices_note}")
        for name, description in found[status.engine]:
            click.echo(f"  {name:<16} {description}")
    if not any(found.values()):
        raise click.ClickException(f"no voices found: {engines.NO_VOICES_HINT}")


@cli.command()
@click.argument("text")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("say.mp3"),
    show_default=True,
    help="File to write: .mp3 or .wav.",
)
@setting_option(SETTING["engine"], with_default=True)
@setting_option(SETTING["voice"], with_default=True)
@setting_option(SETTING["rate"], with_default=True)
@setting_option(SETTING["equation_rate"], with_default=True)
@click.option("--latex", is_flag=True, help="TEXT is a LaTeX equation: speak its reading.")
@click.option(
    "--catalog",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Take the lexicon from this catalog instead of the built-in one.",
)
def say(
    text: str,
    output: Path,
    engine: str,
    voice: str,
    rate: int,
    equation_rate: float,
    latex: bool,
    catalog: Path | None,
) -> None:
    """Speak TEXT (or, with --latex, an equation) to a playable file, lexicon applied."""
    from companion.config import option_settings
    from companion.speech import say as run_say

    with user_errors():
        settings = option_settings(
            {"engine": engine, "voice": voice, "rate": rate, "equation_rate": equation_rate}
        )
        result = run_say(
            text,
            output,
            settings.voice,
            latex=latex,
            catalog=catalog,
            equation_rate=settings.equation_rate,
        )
    for line in result.notes:
        click.echo(line, err=True)
    click.echo(
        f"{output}: {result.seconds:.1f} s, {result.engine} voice {result.voice}; "
        f"the engine was given: {result.given}",
        err=True,
    )
