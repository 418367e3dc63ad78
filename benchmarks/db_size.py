"""How big the SQLite database gets: N articles x 5 versions through the real store API.

    .venv/bin/python benchmarks/db_size.py                 # 10,000 articles, no webhooks
    .venv/bin/python benchmarks/db_size.py --articles 500  # a quick run
    .venv/bin/python benchmarks/db_size.py --webhook       # one endpoint: one delivery per
                                                           # event, recorded as delivered

Every article is written the way the daemon writes it: `SQLiteStore.create_article` with an
`article.new` event, then `add_version` x4, each with an `article.edited` event whose payload is
built by `crawler.events` from `crawler.diffing.describe_changes` (full text + unified diff, as
receivers get it). Texts are deterministic pseudo-random prose (seeded, from a word list with a
Zipf-like frequency), 4,000-6,000 characters per version; each version is a small edit of the
previous one (a word or number changed, a sentence added or removed, now and then a new
paragraph or headline). Content is normalized and hashed with `crawler.textnorm.make_content`.

By default no webhook is configured, so events are stored but no delivery rows exist. With
`--webhook`, one endpoint is configured: each event gets one delivery row, and one successful
attempt is recorded for it (`record_delivery_attempt`, outcome "delivered"), as after a healthy
run.

The database is written in a temporary directory (removed at the end unless `--keep`). Reported:
rows per table, file size after `checkpoint()` and after `VACUUM`, bytes per version, raw vs
stored text (compression), event payload bytes, per-table size (dbstat) and timings.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import structlog  # noqa: E402

from benchmarks.report import print_table  # noqa: E402
from crawler import events  # noqa: E402
from crawler.config import DeliverySettings, WebhookSettings  # noqa: E402
from crawler.diffing import describe_changes  # noqa: E402
from crawler.models import Content, EventRecord  # noqa: E402
from crawler.store.records import decode_payload  # noqa: E402
from crawler.store.sqlite import SQLiteStore  # noqa: E402
from crawler.textnorm import make_content  # noqa: E402

VERSIONS = 5
T0 = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
# Gaps after first sight at which versions 2..5 are found (the default re-check schedule).
VERSION_AT = (timedelta(minutes=10), timedelta(minutes=40), timedelta(minutes=100),
              timedelta(hours=4, minutes=40))
FEED_URL = "https://news.example.org/rss.xml"
HOOK_URL = "https://hooks.example.org/news"
HOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

# ~400 common English words, roughly in frequency order; sampled with Zipf-like weights.
_COMMON = " ".join((
    "the of and to a in that is was he for it with as his on be at by had not are but from or",
    "have an they which one you were her all she there would their we him been has when who will",
    "more no if out so said what up its about into than them can only other new some could time",
    "these two may then do first any my now such like our over man me even most made after also",
    "did many before must through back years where much your way well down should because each",
    "just those people how too little state good very make world still own see men work long get",
    "here between both life being under never day same another know while last might us great old",
    "year off come since against go came right used take three states himself few house use during",
    "without again place american around however home small found thought went say part once",
    "general high upon school every does got united left number course war until always away",
    "something fact though water less public put think almost hand enough far took head yet",
    "government system better set told nothing night end why called didn't eyes find going look",
    "asked later knew point next program city business give group toward young days let room",
    "president side social given present several order national possible rather second face per",
    "among form important often things looking early white case john become large big need four",
    "within felt along children saw best church ever least power development light thing seemed",
    "family interest want members mind country area others done turned although open god service",
    "problem certain kind different thus began door help means sense whole matter perhaps itself",
    "york times human law line above name example action company hands local show whether five",
    "history gave today either act feet across taken past quite anything seen having death week",
    "experience body word half really field am car words already themselves information tell",
    "together college shall money period held keep sure free seems real behind cannot miss",
    "political air question making office brought whose special heard major problems ago became",
    "federal moment study available known result street economic boy position reason change south",
    "board individual job society areas west close turn love community true court force full seem",
    "policy council minister officials police report market prices energy storm coast residents",
)).split()
_NAMES = " ".join((
    "Westport Harwick Marlow Dunmore Kestrel Ashby Calloway Brennan Okafor Lindqvist Moreau",
    "Castellano Nakamura Petrov Haddad Fitzgerald Abernathy Ravensworth Elmbridge Northfield",
    "Tuesday Wednesday Thursday Friday Saturday January March September November Reuters",
)).split()
_WEIGHTS = [1.0 / (rank + 8) ** 0.9 for rank in range(len(_COMMON))]


@dataclass
class Draft:
    """An article being written: headline and paragraphs as lists of sentences."""

    title: str
    paragraphs: list[list[str]] = field(default_factory=list)

    def text(self) -> str:
        return "\n\n".join(" ".join(p) for p in self.paragraphs)

    def content(self) -> Content:
        return make_content(self.title, self.text())


class Prose:
    """Deterministic pseudo-random news prose."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def words(self, n: int) -> list[str]:
        out = self.rng.choices(_COMMON, weights=_WEIGHTS, k=n)
        for i in range(n):
            roll = self.rng.random()
            if roll < 0.06:
                out[i] = self.rng.choice(_NAMES)
            elif roll < 0.08:
                out[i] = str(self.rng.randint(2, 99) if self.rng.random() < 0.7
                             else self.rng.randint(100, 9999))
        return out

    def sentence(self) -> str:
        words = self.words(self.rng.randint(9, 26))
        if len(words) > 12 and self.rng.random() < 0.5:
            cut = self.rng.randint(4, len(words) - 5)
            words[cut] += ","
        if self.rng.random() < 0.15:
            words[-1] += ", " + self.rng.choice(("officials said", "police said",
                                                 "the council said", "she told reporters"))
        first = words[0]
        words[0] = first[:1].upper() + first[1:]
        return " ".join(words) + "."

    def paragraph(self) -> list[str]:
        return [self.sentence() for _ in range(self.rng.randint(2, 5))]

    def title(self) -> str:
        words = self.words(self.rng.randint(5, 10))
        return " ".join(words).capitalize()

    def article(self) -> Draft:
        draft = Draft(self.title(), [[self.sentence()]])  # a one-sentence lead
        target = self.rng.randint(4000, 6000)
        while True:
            para = self.paragraph()
            if len(draft.text()) + len(" ".join(para)) + 2 > target and len(draft.paragraphs) > 3:
                # Top up with single sentences so the length lands in 4,000-6,000.
                while len(draft.text()) < 4000:
                    draft.paragraphs[-1].append(self.sentence())
                return draft
            draft.paragraphs.append(para)

    def edit(self, draft: Draft) -> Draft:
        """A copy of `draft` with one to three small edits."""
        new = Draft(draft.title, [list(p) for p in draft.paragraphs])
        for _ in range(self.rng.randint(1, 3)):
            op = self.rng.random()
            p = self.rng.randrange(len(new.paragraphs))
            para = new.paragraphs[p]
            s = self.rng.randrange(len(para))
            if op < 0.35:  # a word changed
                words = para[s].split(" ")
                w = self.rng.randrange(len(words))
                tail = "".join(ch for ch in words[w] if not ch.isalnum())
                words[w] = self.words(1)[0] + tail
                para[s] = " ".join(words)
            elif op < 0.5:  # a figure corrected
                para[s] = para[s].rstrip(".") + f", up from {self.rng.randint(2, 500)}."
            elif op < 0.75:  # a sentence added
                para.insert(s + 1, self.sentence())
            elif op < 0.85 and len(para) > 1:  # a sentence removed
                del para[s]
            elif op < 0.95:  # a new paragraph
                new.paragraphs.insert(p + 1, self.paragraph())
            else:  # headline rewritten
                new.title = self.title()
        while len(new.text()) > 6000 and len(new.paragraphs) > 4:
            del new.paragraphs[-1]  # keep versions inside 4,000-6,000 characters
        return new


@dataclass(frozen=True, slots=True)
class Step:
    """One version as the daemon would store it: its content, its event, when it was found."""

    content: Content
    event: EventRecord
    at: datetime


@dataclass(frozen=True, slots=True)
class Generated:
    canonical: str
    url: str
    steps: tuple[Step, ...]
    cpu_s: float


def generate(index: int, seed: int, webhook: bool) -> Generated:
    """Article `index`: its 5 versions and their events. Pure CPU, run in worker processes;
    each article has its own seed, so the result does not depend on the number of workers."""
    started = time.process_time()
    hooks = (WebhookSettings(url=HOOK_URL, secret=(HOOK_SECRET,)),) if webhook else ()
    routes = events.Routes(webhooks=hooks)
    max_bytes = DeliverySettings().max_payload_bytes
    prose = Prose(seed * 1_000_003 + index)
    seen = T0 + timedelta(seconds=37 * index)
    slug = f"2026/11/{index:06d}-" + "-".join(prose.words(4)).lower()
    canonical = f"https://news.example.org/{slug}.html"
    url = canonical + "?utm_source=rss"
    draft = prose.article()
    previous = draft.content()
    ref = events.ArticleRef(url=url, canonical_url=canonical, feed_url=FEED_URL,
                            title=previous.title)
    steps = [Step(previous, events.article_new(ref, previous, created_at=seen, routes=routes,
                                               max_bytes=max_bytes), seen)]
    for number, gap in enumerate(VERSION_AT, start=2):
        at = seen + gap
        draft = prose.edit(draft)
        current = draft.content()
        if current.content_hash == previous.content_hash:  # an edit that undid itself
            draft.paragraphs[-1].append(prose.sentence())
            current = draft.content()
        changes = describe_changes(previous, current)
        ref = events.ArticleRef(url=url, canonical_url=canonical, feed_url=FEED_URL,
                                title=current.title)
        event = events.article_edited(ref, previous, current, changes, version=number,
                                      created_at=at, routes=routes, max_bytes=max_bytes)
        steps.append(Step(current, event, at))
        previous = current
    return Generated(canonical, url, tuple(steps), time.process_time() - started)


@dataclass
class Totals:
    raw_text: int = 0
    raw_title: int = 0
    versions: int = 0
    gen_cpu_s: float = 0.0
    store_s: float = 0.0
    min_chars: int = 10**9
    max_chars: int = 0


async def fill(store: SQLiteStore, args: argparse.Namespace, totals: Totals) -> None:
    started = time.perf_counter()
    work = functools.partial(generate, seed=args.seed, webhook=args.webhook)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        # map() keeps results in order; the writer is much faster than the generators.
        for i, article in enumerate(pool.map(work, range(args.articles), chunksize=8)):
            totals.gen_cpu_s += article.cpu_s
            t = time.perf_counter()
            first, *edits = article.steps
            created = await store.create_article(
                canonical_url=article.canonical, url=article.url, feed_url=FEED_URL,
                content=first.content, event=first.event, seen_at=first.at,
                next_check_at=first.at + VERSION_AT[0], extractor_version=1)
            for step in edits:
                await store.add_version(created.article_id, content=step.content,
                                        event=functools.partial(_given, step.event),
                                        fetched_at=step.at,
                                        next_check_at=step.at + timedelta(minutes=30),
                                        extractor_version=1)
            if args.webhook:
                await _deliver_all(store, article.steps[-1].at + timedelta(seconds=1))
            totals.store_s += time.perf_counter() - t
            for step in article.steps:
                _count(totals, step.content)
            if (i + 1) % 1000 == 0 or i + 1 == args.articles:
                print(f"  {i + 1}/{args.articles} articles, {time.perf_counter() - started:.0f}s",
                      file=sys.stderr, flush=True)


async def _deliver_all(store: SQLiteStore, now: datetime) -> None:
    for delivery in await store.due_deliveries(now, 100, endpoints=(HOOK_URL,)):
        await store.record_delivery_attempt(
            delivery.delivery_id, attempted_at=now, status_code=200, error=None,
            duration_ms=42.0, outcome="delivered", next_attempt_at=None)


def _given(event: EventRecord, _article_id: int) -> EventRecord:
    """The event of a version, whatever the article's id (`Store.add_version`'s `event`)."""
    return event


def _count(totals: Totals, content: Content) -> None:
    totals.raw_text += len(content.text.encode())
    totals.raw_title += len(content.title.encode())
    totals.versions += 1
    totals.min_chars = min(totals.min_chars, len(content.text))
    totals.max_chars = max(totals.max_chars, len(content.text))


def _db_bytes(path: Path) -> tuple[int, int]:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size, wal.stat().st_size if wal.exists() else 0


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--webhook", action="store_true",
                        help="configure one endpoint: a delivery row per event, delivered")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes generating texts and diffs (default: all CPUs)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to create the temporary directory (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the database, print its path")
    args = parser.parse_args()

    # The store logs at debug level through structlog's default (stdout) configuration.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    workdir = Path(tempfile.mkdtemp(prefix="crawler-dbsize-", dir=args.dir))
    try:
        return asyncio.run(run(args, workdir))
    finally:
        if args.keep:
            print(f"kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


async def run(args: argparse.Namespace, workdir: Path) -> int:
    path = workdir / "crawler.db"
    totals = Totals()
    store = SQLiteStore(path)
    await store.migrate()
    await store.open()
    wall = time.perf_counter()
    try:
        await fill(store, args, totals)
        fill_s = time.perf_counter() - wall
        before_checkpoint = _db_bytes(path)
        t = time.perf_counter()
        await store.checkpoint()
        checkpoint_s = time.perf_counter() - t
        after_checkpoint = _db_bytes(path)
    finally:
        await store.close()

    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name")]
        rows = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        stored_text, stored_title = conn.execute(
            "SELECT sum(length(text)), sum(length(CAST(title AS BLOB))) FROM versions").fetchone()
        payload_bytes, max_payload = conn.execute(
            "SELECT sum(length(CAST(payload AS BLOB))), max(length(CAST(payload AS BLOB)))"
            " FROM events").fetchone()
        # Payloads are stored compressed: read them back the way the store does.
        truncated = sum(
            1 for (stored,) in conn.execute("SELECT payload FROM events")
            if '"truncated":true' in decode_payload(stored))
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        t = time.perf_counter()
        conn.execute("VACUUM")
        # In WAL mode VACUUM writes the new database into the WAL: fold it back in first.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        vacuum_s = time.perf_counter() - t
        after_vacuum = _db_bytes(path)
        try:
            per_object = conn.execute(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
            versions_use = conn.execute(
                "SELECT sum(payload), sum(unused), sum(pgsize), count(*) FROM dbstat"
                " WHERE name = 'versions'").fetchone()
        except sqlite3.OperationalError:  # SQLite built without dbstat
            per_object, versions_use = [], None
    finally:
        conn.close()
    total_s = time.perf_counter() - wall

    versions = rows.get("versions", 0)
    size_ckpt = after_checkpoint[0] + after_checkpoint[1]
    size_vac = after_vacuum[0] + after_vacuum[1]
    hook = ("one endpoint, every delivery recorded delivered" if args.webhook
            else "none (events stored, no delivery rows)")
    lines: list[tuple[str, str]] = [
        ("articles x versions", f"{args.articles:,} x {VERSIONS}"),
        ("webhooks", hook),
        ("version text length (chars)", f"{totals.min_chars:,} - {totals.max_chars:,}"),
        *((f"rows: {t}", f"{n:,}") for t, n in rows.items()),
        ("db before checkpoint (db + wal)",
         f"{_mb(before_checkpoint[0])} + {_mb(before_checkpoint[1])}"),
        ("db after checkpoint() (db + wal)",
         f"{_mb(after_checkpoint[0])} + {_mb(after_checkpoint[1])}"),
        ("db after VACUUM", _mb(size_vac)),
        ("bytes per version (after checkpoint)", f"{size_ckpt / max(versions, 1):,.0f}"),
        ("bytes per version (after VACUUM)", f"{size_vac / max(versions, 1):,.0f}"),
        ("raw text (UTF-8, body only)", _mb(totals.raw_text)),
        ("stored text (versions.text blobs)", _mb(stored_text or 0)),
        ("text compression ratio (raw/stored)",
         f"{totals.raw_text / max(stored_text or 1, 1):.2f}x"),
        ("titles raw / stored (TEXT, uncompressed)",
         f"{totals.raw_title:,} B / {stored_title or 0:,} B"),
        ("event payloads (stored, compressed)",
         f"{_mb(payload_bytes or 0)}  (max {max_payload or 0:,} B, truncated {truncated})"),
        ("page size", f"{page_size:,} B"),
        ("time: texts + describe_changes + payloads",
         f"{totals.gen_cpu_s:.1f}s CPU in {args.jobs} worker(s)  "
         f"({totals.gen_cpu_s / max(totals.versions - args.articles, 1) * 1000:.1f} ms per edit)"),
        ("time: store calls", f"{totals.store_s:.1f}s  "
         f"({totals.store_s / max(totals.versions, 1) * 1000:.2f} ms per version)"),
        ("time: fill total", f"{fill_s:.1f}s"),
        ("time: checkpoint() / VACUUM", f"{checkpoint_s:.2f}s / {vacuum_s:.1f}s"),
        ("time: total", f"{total_s:.1f}s"),
    ]
    if versions_use is not None:
        payload, unused, pgsize, pages = versions_use
        lines.append(("versions table: payload / unused / pages",
                      f"{_mb(payload)} / {_mb(unused)} / {pages:,} pages ({_mb(pgsize)})"))
    if per_object:
        total_pages = sum(size for _, size in per_object) or 1
        top, rest = per_object[:6], per_object[6:]
        if rest:
            top.append(("(other tables and indexes)", sum(size for _, size in rest)))
        for name, size in top:
            lines.append((f"after VACUUM: {name}",
                          f"{_mb(size)}  ({100 * size / total_pages:.1f}%)"))
    print_table(f"db_size results (SQLite {sqlite3.sqlite_version}, seed {args.seed})", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
