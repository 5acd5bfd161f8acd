"""What a build tells its caller: progress events as it goes, a report at the end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Linked:
    """An episode's topics are known (none: the episode has no math)."""

    slug: str
    topic_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Started:
    """A lesson was handed to the executor; `done` of `total` came before it."""

    slug: str
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class Built:
    slug: str
    duration: float  # seconds of audio
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class Unchanged:
    """A lesson whose stamp matches: nothing to do."""

    slug: str


@dataclass(frozen=True, slots=True)
class Failed:
    """A lesson failed (or, in a library, a whole show): the build goes on and exits 1."""

    slug: str
    message: str
    done: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class FeedWritten:
    path: Path
    lessons: int


BuildEvent = Linked | Started | Built | Unchanged | Failed | FeedWritten
EventHandler = Callable[[BuildEvent], None]


def ignore(event: BuildEvent) -> None:
    del event


@dataclass(frozen=True, slots=True)
class Failure:
    slug: str
    message: str


@dataclass(slots=True)
class BuildReport:
    built: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    skipped_no_math: list[str] = field(default_factory=list)
    published: int = 0
    course_published: int = 0
    audio_seconds: float = 0.0
    sections_synthesized: int = 0
    sections_reused: int = 0
    seconds: float = 0.0
    feed_path: Path | None = None
    scripts: list[str] = field(default_factory=list)  # written without audio (--scripts-only)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def summary(self) -> str:
        if self.scripts:
            return (
                f"{len(self.scripts)} scripts written (scripts/ and spoken/), nothing "
                f"synthesized; {len(self.skipped_no_math)} episodes without math, "
                f"in {self.seconds:.1f} s"
            )
        return (
            f"{len(self.built)} built, {len(self.unchanged)} unchanged, "
            f"{len(self.failed)} failed; {self.published} lessons published, "
            f"{self.audio_seconds / 60:.1f} audio minutes, in {self.seconds:.1f} s"
        )

    def details(self) -> str:
        """What `companion build -v` adds to the summary: the cache and the feeds' contents."""
        return (
            f"sections: {self.sections_synthesized} synthesized, {self.sections_reused} from "
            f"the cache; {len(self.skipped_no_math)} episodes without math; "
            f"{self.course_published} course lessons published"
        )
