"""Throughput of `crawler once` against a plain trafilatura crawler and a selectolax floor, side
by side in one run, on a local heavy newsroom:

    .venv/bin/python benchmarks/throughput.py                 # the comparison, 1-2 minutes
    .venv/bin/python benchmarks/throughput.py --pages 900     # the peak RSS target's size
    .venv/bin/python benchmarks/throughput.py --no-compare --fsync-delay 5 --slow-host

The newsroom (`benchmarks/newsroom.py`): `--hosts` sites on loopback addresses of their own,
sharing `--pages` pages of some 170 KB, one RSS feed each. Each crawler runs as a whole process
(`crawler once`; `benchmarks/plain_crawler.py`), 4 requests at once per host and 16 overall:

- cold pass: an empty store, every article new;
- warm pass: the same store again, every page unchanged. For ours every article is first made
  due for its re-check by setting its due time to a moment of the last ten minutes (a random
  one, so hosts interleave in the due order), so the pass polls the feeds (304) and re-checks
  every article; the plain crawlers fetch and read every page again.

Each pass is measured on the child alone: wall time and CPU time (user + system, from
`os.wait4`); an LD_PRELOAD shim (`benchmarks/syscount.py`) counts fsync/fdatasync calls and the
bytes written to files ending in "-wal", and reports the process's peak RSS (VmHWM). "Less
the empty pass": the figure minus that of the same crawler run on an empty feed just before
(interpreter start-up, imports, migrations), i.e. the marginal cost of the pages.
`--rounds N` alternates the crawlers N times; medians.

`--fsync-delay MS`: the cold pass of ours and of the trafilatura crawler, natively and with
every fsync made MS ms slower by the shim. `--slow-host`: ours with one more site answering
each page after 1 s, against the same run without it: when the other sites' last page request
arrives (seconds after the pass's first request), cold and warm.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.crawl_runs import CRAWLERS, Crawler, Run, measure  # noqa: E402
from benchmarks.newsroom import Site, start_newsroom  # noqa: E402
from benchmarks.report import print_table  # noqa: E402
from benchmarks.syscount import build_shim, missing_compiler  # noqa: E402


@dataclass(frozen=True, slots=True)
class Passes:
    """A crawler's runs of one round: empty cold and warm, then cold and warm."""

    empty: Run
    empty_warm: Run
    cold: Run
    warm: Run
    again: Run
    """A second warm pass: ours answers its re-checks from the page cache the first stored
    (304 or the same bytes); the plain crawlers read every page again."""


async def crawl_passes(name: str, sites: list[Site], shim: Path, root: Path) -> Passes:
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
    empty = Crawler(name, workdir / "empty", [sites[0].empty_feed_url])
    full = Crawler(name, workdir / "full", [site.feed_url for site in sites])
    empty_cold = await measure(empty, sites, shim)
    empty_warm = await measure(empty, sites, shim)
    cold = await measure(full, sites, shim)
    full.make_due()
    warm = await measure(full, sites, shim)
    full.make_due()
    return Passes(empty_cold, empty_warm, cold, warm, await measure(full, sites, shim))


async def compare(sites: list[Site], shim: Path, root: Path,
                  rounds: int) -> dict[str, list[Passes]]:
    results: dict[str, list[Passes]] = {name: [] for name in CRAWLERS}
    for round_no in range(rounds):
        for name in CRAWLERS:
            got = await crawl_passes(name, sites, shim, root)
            results[name].append(got)
            print(f"round {round_no + 1}: {name}: cold {got.cold.wall:.2f} s, "
                  f"warm {got.warm.wall:.2f} s, again {got.again.wall:.2f} s", flush=True)
    return results


def median(values: list[Passes], figure: Callable[[Passes], float]) -> float:
    return statistics.median(figure(p) for p in values)


def marginal_rate(run: Run, empty: Run) -> float:
    """Pages per second, start-up left out (NaN when the pages took no measurable time)."""
    spent = run.wall - empty.wall
    return run.fetched / spent if spent > 0 else float("nan")


def marginal_cpu_ms(run: Run, empty: Run) -> float:
    return 1000 * (run.cpu - empty.cpu) / max(run.fetched, 1)


def per_article(value: float, run: Run) -> float:
    return value / max(run.stored, 1)


def print_columns(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    width = max(len(row[0]) for row in rows)
    cols = [max(len(h), *(len(r[i + 1]) for r in rows)) for i, h in enumerate(header)]
    line = "-" * (width + sum(c + 2 for c in cols))
    print(f"\n{title}\n{line}")
    print(" " * width + "".join(f"  {h:>{c}}" for h, c in zip(header, cols, strict=True)))
    for row in rows:
        print(f"{row[0]:<{width}}" + "".join(f"  {v:>{c}}"
                                             for v, c in zip(row[1:], cols, strict=True)))
    print(line)


def comparison_rows(results: dict[str, list[Passes]]) -> list[list[str]]:
    def row(label: str, figure: Callable[[Passes], float], fmt: str = "{:.2f}") -> list[str]:
        return [label, *(fmt.format(median(results[n], figure)) for n in CRAWLERS)]

    def pass_rows(kind: str, run: Callable[[Passes], Run],
                  empty: Callable[[Passes], Run]) -> list[list[str]]:
        # Store traffic per text stored on the cold pass (every article new), per page warm.
        unit = "new article" if kind == "cold" else "page"

        def per(p: Passes) -> int:
            return max(run(p).stored if kind == "cold" else run(p).fetched, 1)

        return [
            row(f"{kind}: pages fetched", lambda p: run(p).fetched, "{:.0f}"),
            row(f"{kind}: of which answered 304", lambda p: run(p).not_modified, "{:.0f}"),
            row(f"{kind}: texts stored or changed", lambda p: run(p).stored, "{:.0f}"),
            row(f"{kind}: wall s", lambda p: run(p).wall),
            row(f"{kind}: wall s of the empty pass", lambda p: empty(p).wall),
            row(f"{kind}: pages/s (less the empty pass)",
                lambda p: marginal_rate(run(p), empty(p)), "{:.1f}"),
            row(f"{kind}: CPU ms/page (whole process)",
                lambda p: 1000 * run(p).cpu / max(run(p).fetched, 1)),
            row(f"{kind}: CPU ms/page (less the empty pass)",
                lambda p: marginal_cpu_ms(run(p), empty(p))),
            row(f"{kind}: peak RSS MB", lambda p: run(p).rss_mb, "{:.0f}"),
            row(f"{kind}: fsyncs per {unit}",
                lambda p: (run(p).fsyncs - empty(p).fsyncs) / per(p)),
            row(f"{kind}: WAL KB per {unit}",
                lambda p: (run(p).wal_bytes - empty(p).wal_bytes) / 1024 / per(p), "{:.1f}"),
        ]

    return (pass_rows("cold", lambda p: p.cold, lambda p: p.empty)
            + pass_rows("warm", lambda p: p.warm, lambda p: p.empty_warm)
            + pass_rows("again", lambda p: p.again, lambda p: p.empty_warm))


def target_rows(results: dict[str, list[Passes]], pages: int) -> list[tuple[str, str]]:
    ours, traf, floor = (results[n] for n in CRAWLERS)

    def cold_rate(p: Passes) -> float:
        return marginal_rate(p.cold, p.empty)

    def cold_cpu(p: Passes) -> float:
        return marginal_cpu_ms(p.cold, p.empty)

    # Ratios within a round (the crawlers of one round ran side by side), then their median.
    speed = statistics.median(cold_rate(o) / cold_rate(t) for o, t in zip(ours, traf, strict=True))
    ceiling = statistics.median(cold_rate(f) / cold_rate(t)
                                for f, t in zip(floor, traf, strict=True))
    cpu_speed = statistics.median(cold_cpu(t) / cold_cpu(o)
                                  for o, t in zip(ours, traf, strict=True))
    cpu = statistics.median(cold_cpu(o) / cold_cpu(f) for o, f in zip(ours, floor, strict=True))
    warm = median(ours, lambda p: marginal_cpu_ms(p.warm, p.empty_warm))
    again = median(ours, lambda p: marginal_cpu_ms(p.again, p.empty_warm))
    fsyncs = median(ours, lambda p: per_article(p.cold.fsyncs - p.empty.fsyncs, p.cold))
    wal = median(ours, lambda p: per_article(p.cold.wal_bytes - p.empty.wal_bytes, p.cold))
    rss = median(ours, lambda p: max(p.cold.rss_mb, p.warm.rss_mb))
    return [
        ("cold pages/s, ours / trafilatura crawler", f"{speed:.1f}x  (target >= 20x)"),
        ("  the same, floor / trafilatura crawler", f"{ceiling:.1f}x  (the ceiling here)"),
        ("  CPU per page, trafilatura crawler / ours", f"{cpu_speed:.1f}x"),
        ("cold CPU per page, ours / floor", f"{cpu:.2f}x  (target <= 1.3x)"),
        ("warm CPU ms/page, ours (first re-check: read in full)",
         f"{warm:.2f}  (target <= 2.0)"),
        ("again: CPU ms/page, ours (answered 304 or from the digest)",
         f"{again:.2f}  (target <= 0.5)"),
        ("fsyncs per new article, ours", f"{fsyncs:.2f}  (target <= 1)"),
        ("WAL KB per new article, ours", f"{wal / 1024:.1f}  (target <= 40)"),
        (f"peak RSS MB, ours, {pages} pages", f"{rss:.0f}  (target <= 100 at 900 pages)"),
    ]


async def fsync_delay(sites: list[Site], shim: Path, root: Path, delay_ms: float, rounds: int,
                      names: Sequence[str] = CRAWLERS[:2]) -> dict[tuple[str, float], list[Run]]:
    """Cold passes of ours and the trafilatura crawler, native and with slow fsyncs."""
    runs: dict[tuple[str, float], list[Run]] = {}
    feeds = [site.feed_url for site in sites]
    for round_no in range(rounds):
        for name in names:
            for delay in (0.0, delay_ms):
                workdir = Path(tempfile.mkdtemp(prefix=f"{name}-fsync-", dir=root))
                got = await measure(Crawler(name, workdir, feeds), sites, shim, delay)
                runs.setdefault((name, delay), []).append(got)
                print(f"round {round_no + 1}: {name}, fsync +{delay:g} ms: cold "
                      f"{got.wall:.2f} s, {got.fsyncs} fsyncs", flush=True)
    return runs


def fsync_rows(runs: dict[tuple[str, float], list[Run]], delay_ms: float) -> list[list[str]]:
    rows = []
    for name in dict.fromkeys(name for name, _ in runs):
        native, slow = runs[(name, 0.0)], runs[(name, delay_ms)]
        ratio = statistics.median(s.wall / n.wall for n, s in zip(native, slow, strict=True))
        target = "  (target <= 1.5x at 5 ms)" if name == "ours" else ""
        rows.append([name, f"{statistics.median(r.wall for r in native):.2f}",
                     f"{statistics.median(r.wall for r in slow):.2f}", f"{ratio:.2f}x{target}",
                     f"{statistics.median(r.fsyncs for r in slow):.0f}",
                     # What the delay adds if every fsync waited alone, on the critical path.
                     f"{statistics.median(r.fsyncs for r in slow) * delay_ms / 1000:.2f}"])
    return rows


def others_last_request(run: Run, sites: list[Site], slow: Site) -> float:
    """Seconds from the run's first request to the last page request of the other sites
    during that run (not a later pass's)."""
    times = [r[0] for site in sites for r in site.requests
             if run.started <= r[0] <= run.ended]
    others = [r[0] for site in sites if site is not slow for r in site.page_requests(run.started)
              if r[0] <= run.ended]
    return max(others) - min(times)


async def slow_host(sites: list[Site], shim: Path, root: Path,
                    rounds: int) -> dict[tuple[str, bool], list[float]]:
    """Ours without and with the slow site (the last of `sites`), cold then warm."""
    found: dict[tuple[str, bool], list[float]] = {}
    slow = sites[-1]
    for round_no in range(rounds):
        for with_slow in (False, True):
            feeds = [site.feed_url for site in (sites if with_slow else sites[:-1])]
            crawler = Crawler("ours", Path(tempfile.mkdtemp(prefix="slow-", dir=root)), feeds)
            cold = await measure(crawler, sites, shim)
            crawler.make_due()
            warm = await measure(crawler, sites, shim)
            for kind, run in (("cold", cold), ("warm", warm)):
                last = others_last_request(run, sites, slow)
                found.setdefault((kind, with_slow), []).append(last)
                print(f"round {round_no + 1}: {kind}, slow host {'in' if with_slow else 'out'}:"
                      f" other sites' last page request at {last:.2f} s", flush=True)
    return found


def slow_rows(found: dict[tuple[str, bool], list[float]]) -> list[list[str]]:
    rows = []
    for kind in ("cold", "warm"):
        without, within = found[(kind, False)], found[(kind, True)]
        ratio = statistics.median(w / o for o, w in zip(without, within, strict=True))
        rows.append([kind, f"{statistics.median(without):.2f}",
                     f"{statistics.median(within):.2f}", f"{ratio:.2f}x  (target <= 1.2x)"])
    return rows


async def bench(args: argparse.Namespace) -> int:
    reason = missing_compiler()
    if reason is not None:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    sites = await start_newsroom(args.hosts, args.pages, validators=args.validators,
                                 slow_pages=args.slow_pages if args.slow_host else 0)
    plain = sites[:-1] if args.slow_host else sites
    page_kb = sum(len(b) for s in plain for b in s.pages.values()) / 1024 / args.pages
    where = (f"{args.pages} pages of {page_kb:.0f} KB on {args.hosts} hosts, "
             f"validators {'on' if args.validators else 'off'}, {os.cpu_count()} cores, "
             f"median of {args.rounds} round(s)")
    try:
        with tempfile.TemporaryDirectory(prefix="throughput-") as tmp:
            root = Path(tmp)
            shim = build_shim(root)
            if args.compare:
                results = await compare(plain, shim, root, args.rounds)
                print_columns(f"Cold and warm passes: {where}", CRAWLERS,
                              comparison_rows(results))
                print_table("Targets (ours; CPU and pages/s less the empty pass)",
                            target_rows(results, args.pages), value_width=56)
            if args.fsync_delay:
                runs = await fsync_delay(plain, shim, root, args.fsync_delay, args.rounds)
                print_columns(f"Cold pass with every fsync {args.fsync_delay:g} ms slower: "
                              f"{where}", ("native wall s", "slow wall s", "slow / native",
                                           "fsyncs", "serial delay s"),
                              fsync_rows(runs, args.fsync_delay))
            if args.slow_host:
                found = await slow_host(sites, shim, root, args.rounds)
                print_columns(f"Ours, other sites' last page request (s after the first "
                              f"request), one more host of {args.slow_pages} pages at 1 s each"
                              f": {where}", ("without", "with", "with / without"),
                              slow_rows(found))
    finally:
        for site in sites:
            await site.close()
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0].rstrip(":") + ".")
    parser.add_argument("--pages", type=int, default=450, help="pages of the newsroom")
    parser.add_argument("--hosts", type=int, default=4, help="sites sharing them")
    parser.add_argument("--rounds", type=int, default=1,
                        help="times the crawlers alternate (medians are reported)")
    parser.add_argument("--no-validators", dest="validators", action="store_false",
                        help="pages carry no ETag / Last-Modified and never answer 304")
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="skip the comparison (run only the modes asked for)")
    parser.add_argument("--fsync-delay", type=float, default=0.0, metavar="MS",
                        help="also the cold pass with every fsync MS ms slower")
    parser.add_argument("--slow-host", action="store_true",
                        help="also ours with one more host answering each page after 1 s")
    parser.add_argument("--slow-pages", type=int, default=40,
                        help="pages of the slow host")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(bench(parse_args())))
