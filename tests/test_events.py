"""Events and the build report: what a build tells the command line."""

from __future__ import annotations

from companion.events import BuildReport, Failure


def test_summary_and_verbose_details() -> None:
    report = BuildReport(
        built=["a", "b"],
        unchanged=["c"],
        failed=[Failure("d", "d: boom")],
        skipped_no_math=["e"],
        published=3,
        course_published=2,
        audio_seconds=90.0,
        sections_synthesized=5,
        sections_reused=7,
        seconds=1.25,
    )
    assert report.summary() == (
        "2 built, 1 unchanged, 1 failed; 3 lessons published, 1.5 audio minutes, in 1.2 s"
    )
    assert report.details() == (
        "sections: 5 synthesized, 7 from the cache; 1 episodes without math; "
        "2 course lessons published"
    )
    assert report.exit_code == 1 and BuildReport().exit_code == 0
