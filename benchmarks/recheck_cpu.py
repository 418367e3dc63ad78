"""CPU per warm re-check: pages answered 304, pages served with the same bytes, and pages
read in full (their noise changes on every request, their text does not).

    .venv/bin/python benchmarks/recheck_cpu.py            # about a minute, 127.0.0.1 only

Per scenario: a local news site in a subprocess of its own (so its CPU is not counted) with
`--stories` heavy pages (`--paragraphs` paragraphs, ~170 KB by default) in one feed; the
crawler in this process (`App.run_pass`, what `crawler once` runs, on a real SQLite file)
with a clock moved by hand: a first pass sees every article, a second re-checks each in full
(which leaves the page cache entries), then `--warm` warm re-check passes are measured, each
after a pass with nothing due (the feed's own 304 poll, opening the store, ...). CPU is this
process's `time.process_time()` over a pass (`App` opened and closed included): the median of
the warm passes less the median of the idle ones, divided by the pages checked, is the
marginal CPU of one re-check. (Three warm passes at most: the fourth check answered from an
entry reads the page in full, `crawler.revalidation.MAX_SKIPPED`.)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.report import print_table  # noqa: E402
from crawler.app import App  # noqa: E402
from crawler.config import load_config  # noqa: E402
from crawler.logging_setup import configure_logging  # noqa: E402
from crawler.testing.clock import FakeClock  # noqa: E402
from crawler.testing.crawler_process import write_config  # noqa: E402

HOUR = 3600.0
SCENARIOS = ("not_modified", "same_bytes", "full")

# The site, run as `python -c SITE mode stories paragraphs`: prints its port, serves until
# stdin closes. Feed entries carry no content (only pages are measured).
SITE = """
import asyncio, sys
from crawler.testing.news_site import NewsSite

class Site(NewsSite):
    def entry_html(self, story):
        return ""

async def main():
    mode, stories, paragraphs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    site = Site()
    site.stable_pages = mode != "full"
    for n in range(stories):
        words = " ".join(f"word{n}x{i}" for i in range(60))
        story = site.add(f"story-{n}", f"Story number {n} of the day",
                         f"The lead of story {n}, which sets out what happened.",
                         [f"Paragraph {p} of story {n}: {words}." for p in range(paragraphs)])
        if mode == "not_modified":
            story.etag = f'"story-{n}"'
    await site.start()
    print(site.server.port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await site.close()

asyncio.run(main())
"""


async def scenario(mode: str, stories: int, paragraphs: int, devnull: TextIO,
                   warm_passes: int = 3) -> tuple[float, float, float]:
    """(ms CPU per page of the full re-check pass, of the measured pass, page KB)."""
    site = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SITE, mode, str(stories), str(paragraphs), cwd=REPO,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert site.stdout is not None
    assert site.stdin is not None
    port = int((await site.stdout.readline()).decode())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), [f"http://127.0.0.1:{port}/rss.xml"],
                                  intervals='["1h"]')
            # All pages are on one host: claims of 16 (the global concurrency), not of 4.
            config.write_text(config.read_text().replace(
                "per_host_concurrency = 4", "per_host_concurrency = 16"))
            settings = load_config(config)
            # As `crawler once` logs: JSON lines to a file (and stdout, sent nowhere here).
            configure_logging(settings.logging, stream=devnull)
            clock = FakeClock()
            async with App(settings, clock=clock) as app:
                await app.run_pass()
                article = await app.store.find_article_by_url(
                    f"http://127.0.0.1:{port}/news/story-0.html")
                assert article is not None, "the first pass stored nothing"
                [version] = await app.store.get_versions(article.article_id)
            idle: list[float] = []
            busy: list[float] = []
            # Nothing due, then every article (read in full), then nothing and all in turn.
            for advance in (60.0, 2 * HOUR, *(60.0, 2 * HOUR) * warm_passes):
                clock.advance(advance)
                # Each pass starts from a collected heap: a full collection of the first
                # passes' garbage falling into one pass or another was most of the noise.
                gc.collect()
                started = time.process_time()
                async with App(settings, clock=clock) as app:
                    summary = await app.run_pass()
                (idle if advance < HOUR else busy).append(
                    (time.process_time() - started) * 1000)
                assert summary.checked == (0 if advance < HOUR else stories)
                assert not summary.failed_checks
            base = statistics.median(idle)
            full, warm = busy[0], statistics.median(busy[1:])
            return (full - base) / stories, (warm - base) / stories, len(version.text) / 1024
    finally:
        site.stdin.close()
        await site.wait()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=200)
    parser.add_argument("--paragraphs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm", type=int, default=3, choices=(1, 2, 3),
                        help="warm passes measured per round (their median)")
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float, float]]] = {m: [] for m in args.scenarios}
    with open(os.devnull, "w") as devnull:  # noqa: ASYNC230 (before any request)
        for _ in range(args.rounds):
            for mode in args.scenarios:  # alternated, so a slower machine slows each alike
                results[mode].append(
                    await scenario(mode, args.stories, args.paragraphs, devnull, args.warm))
    rows = []
    for mode in args.scenarios:
        full = statistics.median(r[0] for r in results[mode])
        warm = statistics.median(r[1] for r in results[mode])
        rows.append((f"{mode}: warm re-check", f"{warm:.2f} ms CPU/page"))
        rows.append((f"{mode}: the full re-check before it", f"{full:.2f} ms CPU/page"))
    text_kb = results[args.scenarios[0]][0][2]
    print_table(f"Re-checks of {args.stories} pages ({text_kb:.0f} KB of text each), median of "
                f"{args.rounds} rounds", rows)


if __name__ == "__main__":
    asyncio.run(main())
