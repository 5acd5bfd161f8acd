"""Measure how repetitive the lesson scripts of a feed sound (not a test; no audio is made).

Renders the episode lessons of a source feed (the bundled sample by default) exactly as
`companion build` would, splits them into sentences, and reports the distinct sentences that
appear in more than half of the lessons, with how many lessons each appears in.

Usage: python benchmarks/phrase_repetition.py [--source FEED] [--share 0.5] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from companion import render
from companion.build import read_source, render_settings
from companion.config import load_settings
from companion.topics import link_episode, load_catalog


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", help="source feed path or URL (default: the bundled sample)")
    parser.add_argument(
        "--share",
        type=float,
        default=0.5,
        help="report sentences in more than this share of lessons",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        overrides = {"source": args.source} if args.source else {}
        settings = load_settings(Path(workdir), overrides)
        show, episodes = read_source(settings, datetime.now(UTC))
        catalog = load_catalog(settings.catalog)
        links = {e.guid: link_episode(e, catalog, settings.episodes.get(e.guid)) for e in episodes}
        env = render.environment(settings.templates_dir)
        scripts = list(
            render.render_episodes(
                env, show, episodes, links, catalog, render_settings(settings, show)
            ).values()
        )
    repeated = render.repeated_sentences(scripts, share=args.share)
    if args.json:
        json.dump(
            {
                "lessons": len(scripts),
                "share": args.share,
                "repeated": [{"sentence": s, "lessons": n} for s, n in repeated],
            },
            sys.stdout,
            indent=1,
        )
        print()
    else:
        print(
            f"{len(scripts)} lessons; {len(repeated)} distinct sentences appear in more "
            f"than {args.share:g} of them"
        )
        for sentence, count in repeated:
            print(f"  {count:3d}  {sentence}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
