"""Soak test of the daemon's delivery guarantee: a flaky receiver, waves of news, one SIGKILL.

    .venv/bin/python benchmarks/soak.py            # about 1-3 minutes, 127.0.0.1 only

What runs (everything but the daemon lives in this script's asyncio loop):
- the local news site (`crawler.testing.news_site.NewsSite`), RSS feed polled every 1s;
- a Standard Webhooks verifying receiver (`crawler.testing.webhook_receiver.Receiver`) that
  answers 500 or 503 to 30% of requests at random (seeded), 200 otherwise;
- `python -m crawler run` as a subprocess: private addresses allowed, per_host_delay "0s",
  re-check every 1s, `[delivery] retry_schedule` of 12 x "1s".

Waves (each waits until the store shows the events it should produce, up to a deadline):
  A: 50 stories                       -> 50 article.new
  B: 50 more, the first 50 edited     -> +50 new, +50 edited
  C: 50 more, stories 50-99 edited    -> +50 new, +50 edited; the daemon is SIGKILLed mid-wave
                                         and restarted on the same config and database
  D: stories 100-149 edited, 15 of the first stories answer 410
                                      -> +50 edited, +15 deleted     (315 events so far)
  R1, R2 (--rounds): the 135 stories still online edited again -> +135 edited per round
                                                                     (585 events in all)
Then it waits until no delivery is pending (or the deadline), stops the daemon with SIGTERM,
then (`--outage`, default 15 s) runs the receiver-outage phase of `benchmarks.outage` on a
restarted daemon with the default retry ladder, and reports. Exit status 1 if an event was
never acknowledged by the receiver or a request failed signature verification; 0 otherwise.
Duplicates (one webhook-id acknowledged twice) are allowed by at-least-once delivery and only
counted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import SupportsIndex

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.outage import order_violations, outage_phase  # noqa: E402
from benchmarks.report import print_table  # noqa: E402
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config  # noqa: E402
from crawler.testing.news_site import NewsSite, Story  # noqa: E402
from crawler.testing.webhook_receiver import Receiver, Reply, Scripted, webhook_table  # noqa: E402  # noqa: E402

FAIL_RATE = 0.30
RETRIES = 12
FAST = "[delivery]\nretry_schedule = [" + ", ".join(['"1s"'] * RETRIES) + "]\n"
WAVE = 50
DELETED = 15
WAVE_TIMEOUT = 60.0
STOP_TIMEOUT = 40.0

_WORDS = " ".join((
    "the council said on tuesday that residents of the coast would be offered new homes after",
    "the storm damaged roads bridges and the harbour wall while officials warned that rail",
    "services between the northern towns could remain closed for several weeks as engineers",
    "inspect the line police asked drivers to avoid the area and the minister promised funds",
    "for repairs schools reopened on thursday but the museum and the market stay shut until",
    "further notice according to a spokesperson for the regional authority who added that",
)).split()


class FlakyScript(list[Scripted]):
    """The receiver's answer script: never empty, each answer drawn at random (seeded)."""

    def __init__(self, rng: random.Random, rate: float) -> None:
        super().__init__()
        self.rng = rng
        self.rate = rate

    def __bool__(self) -> bool:
        return True

    def pop(self, index: SupportsIndex = -1) -> Scripted:
        if self.rng.random() < self.rate:
            return self.rng.choice((500, 503))
        return 200


def status_of(answer: Scripted) -> int | None:
    if isinstance(answer, Reply):
        return answer.status
    return answer if isinstance(answer, int) else None


class Writer:
    """Deterministic story text and edits."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def sentence(self, words: int = 0) -> str:
        chosen = self.rng.choices(_WORDS, k=words or self.rng.randint(12, 24))
        chosen[0] = chosen[0].capitalize()
        return " ".join(chosen) + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 4)))

    def story(self, site: NewsSite, n: int) -> Story:
        title = f"Story {n}: " + self.sentence(6).rstrip(".")
        return site.add(f"s{n:03d}", title, self.sentence(),
                        [self.paragraph() for _ in range(self.rng.randint(3, 6))])

    def edit(self, story: Story, n: int, round_: int = 0) -> None:
        kind = (n + round_) % 4
        if kind == 0:  # a word changed in the body
            words = story.paragraphs[0].split(" ")
            words[len(words) // 2] = f"revised{n}r{round_}"
            story.paragraphs[0] = " ".join(words)
        elif kind == 1:  # a paragraph added
            story.paragraphs.append(self.paragraph())
        elif kind == 2:  # headline changed
            story.title = story.title + " (updated)"
        else:  # the lead rewritten
            story.lead = self.sentence()


class Db:
    """Read-only looks at the daemon's database (WAL: readers never block the writer)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _query(self, sql: str) -> list[tuple[object, ...]]:
        if not self.path.exists():
            return []
        # mode=ro: this connection can never checkpoint or remove the WAL, so after the
        # SIGKILL it is the restarted daemon that recovers the database, not this script.
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        except sqlite3.Error:
            return []
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.Error:  # not created or not migrated yet
            return []
        finally:
            conn.close()

    async def events_by_type(self) -> Counter[str]:
        rows = await asyncio.to_thread(self._query, "SELECT type, count(*) FROM events GROUP BY 1")
        return Counter({str(t): int(str(c)) for t, c in rows})

    async def deliveries_by_status(self) -> Counter[str]:
        rows = await asyncio.to_thread(
            self._query, "SELECT status, count(*) FROM deliveries GROUP BY 1")
        return Counter({str(s): int(str(c)) for s, c in rows})

    async def event_ids(self) -> dict[str, str]:
        rows = await asyncio.to_thread(self._query, "SELECT id, type FROM events")
        return {str(i): str(t) for i, t in rows}


class Daemon:
    def __init__(self, config: Path, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        stderr = (self.workdir / f"daemon-{self.starts}.stderr").open("wb")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *CRAWLER_CMD, "run", "--config", str(self.config), cwd=self.workdir,
                env=subprocess_env(), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=stderr)
        finally:
            stderr.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def stop(self) -> tuple[int | None, float]:
        """SIGTERM; exit code (None if it had to be killed) and seconds to exit."""
        assert self.proc is not None
        started = time.monotonic()
        if self.proc.returncode is not None:
            return self.proc.returncode, 0.0
        self.proc.send_signal(signal.SIGTERM)
        try:
            code: int | None = await asyncio.wait_for(self.proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            await self.kill()
            code = None
        return code, time.monotonic() - started


async def wait_until(check: Callable[[], object], within: float, every: float = 0.25) -> bool:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every)


def log_summary(workdir: Path) -> Counter[str]:
    """warning/error lines of the daemon's JSON log, by level and event name."""
    out: Counter[str] = Counter()
    path = workdir / "crawler.jsonl"
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            out["unparsable log line"] += 1
            continue
        level = str(rec.get("level", "")).lower()
        if level in ("warning", "error", "critical", "exception"):
            name = str(rec.get("event", "?"))
            if name != "short_interval":
                out[f"{level}: {name[:60]}{'...' if len(name) > 60 else ''}"] += 1
    return out


async def soak(args: argparse.Namespace, workdir: Path) -> int:
    started = time.monotonic()
    deadline = started + args.deadline
    notes: list[str] = []
    writer = Writer(args.seed)
    site = await NewsSite().start()
    feed_times: list[float] = []
    render_rss = site.rss

    def rss() -> str:  # the site's handler renders the feed once per GET
        feed_times.append(time.monotonic())
        return render_rss()

    site.rss = rss  # type: ignore[method-assign]
    receiver = Receiver(_secret(args.seed))
    receiver._script = FlakyScript(random.Random(args.seed), FAIL_RATE)
    await receiver.start()
    config = write_config(workdir, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          extra=FAST, intervals='["1s"]')
    db = Db(workdir / "crawler.db")
    daemon = Daemon(config, workdir)
    expected: Counter[str] = Counter()
    kill_info = "no kill"
    killed_at = float("inf")
    stop_code: int | None = None
    stop_s = 0.0
    outage_rows: list[tuple[str, str]] = []
    try:
        async def reached(want: Counter[str]) -> bool:
            have = await db.events_by_type()
            return all(have[k] >= v for k, v in want.items())

        async def wave(name: str) -> None:
            left = max(1.0, min(WAVE_TIMEOUT, deadline - time.monotonic()))
            if not await wait_until(lambda: reached(expected), left):
                notes.append(f"wave {name}: expected {dict(expected)} not reached in "
                             f"{left:.0f}s, store has {dict(await db.events_by_type())}")
            print(f"  wave {name} done at {time.monotonic() - started:5.1f}s: "
                  f"{dict(await db.events_by_type())}", file=sys.stderr, flush=True)

        await daemon.start()
        # A: 50 new stories.
        for n in range(0, WAVE):
            writer.story(site, n)
        expected["article.new"] += WAVE
        await wave("A")
        # B: 50 more, the first 50 edited.
        for n in range(WAVE, 2 * WAVE):
            writer.story(site, n)
        for n in range(0, WAVE):
            writer.edit(site.stories[f"s{n:03d}"], n)
        expected["article.new"] += WAVE
        expected["article.edited"] += WAVE
        await wave("B")
        # C: 50 more, stories 50-99 edited; SIGKILL once part of the wave is stored.
        before = sum((await db.events_by_type()).values())
        for n in range(2 * WAVE, 3 * WAVE):
            writer.story(site, n)
        for n in range(WAVE, 2 * WAVE):
            writer.edit(site.stories[f"s{n:03d}"], n)
        expected["article.new"] += WAVE
        expected["article.edited"] += WAVE

        async def partway() -> bool:
            return sum((await db.events_by_type()).values()) >= before + int(args.kill_after)

        await wait_until(partway, 20.0, every=0.05)
        await daemon.kill()
        killed_at = time.monotonic()
        events_at_kill = sum((await db.events_by_type()).values())
        pending_at_kill = (await db.deliveries_by_status())["pending"]
        accepted_at_kill = len(receiver.accepted())
        kill_info = (f"at {time.monotonic() - started:.1f}s: {events_at_kill} events stored, "
                     f"{pending_at_kill} deliveries pending, {accepted_at_kill} acks so far")
        print(f"  SIGKILL {kill_info}", file=sys.stderr, flush=True)
        await asyncio.sleep(0.5)
        await daemon.start()
        await wave("C")
        # D: stories 100-149 edited, 15 of the oldest stories gone (410).
        for n in range(2 * WAVE, 3 * WAVE):
            writer.edit(site.stories[f"s{n:03d}"], n)
        for n in range(DELETED):
            site.stories[f"s{n:03d}"].status = 410
        expected["article.edited"] += WAVE
        expected["article.deleted"] += DELETED
        await wave("D")
        # Extra rounds: every story still online edited once more.
        for round_ in range(1, args.rounds + 1):
            for n in range(DELETED, 3 * WAVE):
                writer.edit(site.stories[f"s{n:03d}"], n, round_)
            expected["article.edited"] += 3 * WAVE - DELETED
            await wave(f"R{round_}")

        # Drain: nothing pending and every stored event acknowledged.
        async def drained() -> bool:
            statuses = await db.deliveries_by_status()
            ids = await db.event_ids()
            acked = {r.headers.get("webhook-id") for r in receiver.accepted()}
            return statuses["pending"] == 0 and bool(ids) and set(ids) <= acked

        if not await wait_until(drained, max(1.0, deadline - time.monotonic()), every=0.5):
            notes.append(f"deadline of {args.deadline:.0f}s passed before the outbox drained")
        if not daemon.alive():
            code = daemon.proc.returncode if daemon.proc is not None else None
            notes.append(f"daemon exited by itself with code {code}")
        stop_code, stop_s = await daemon.stop()
        if args.outage > 0:
            async def start(config: Path) -> None:
                daemon.config = config
                await daemon.start()

            outage_rows, outage_notes, edits = await outage_phase(
                workdir=workdir, site=site, receiver=receiver,
                edit=lambda n: writer.edit(site.stories[f"s{n:03d}"], n, args.rounds + 1),
                online=list(range(DELETED, 3 * WAVE)), outage=args.outage,
                within=max(30.0, deadline + 400.0 - time.monotonic()),
                start_daemon=start, stop_daemon=daemon.stop)
            expected["article.edited"] += edits
            notes.extend(outage_notes)
    finally:
        await daemon.kill()
        await receiver.close()
        await site.close()
    wall = time.monotonic() - started

    # --- results --------------------------------------------------------------------------------
    stored = await db.event_ids()
    by_type = Counter(stored.values())
    deliveries = await db.deliveries_by_status()
    requests = receiver.requests
    accepted_ids = Counter(r.headers.get("webhook-id", "") for r in receiver.accepted())
    failed_on_purpose = sum(1 for r in requests if status_of(r.answer) in (500, 503))
    unverified = [r for r in requests if not r.verified]
    never = sorted(set(stored) - set(accepted_ids))
    unknown = sorted(set(accepted_ids) - set(stored))
    duplicates = sum(c - 1 for c in accepted_ids.values() if c > 1)
    bodies: dict[str, set[bytes]] = {}
    for r in requests:
        bodies.setdefault(r.headers.get("webhook-id", ""), set()).add(r.body)
    acked_at: dict[str, list[float]] = {}
    for r in receiver.accepted():
        acked_at.setdefault(r.headers.get("webhook-id", ""), []).append(r.received_at)
    dup_across_kill = sum(1 for times in acked_at.values()
                          if len(times) > 1 and min(times) < killed_at < max(times))
    feed_gets = feed_times
    gaps = [b - a for a, b in itertools.pairwise(feed_gets)]
    changed_bodies = sum(1 for b in bodies.values() if len(b) > 1)
    type_mismatch = sum(
        1 for r in receiver.accepted()
        if stored.get(r.headers.get("webhook-id", "")) not in (None, r.json["type"]))
    unexpected = {k: by_type[k] - v for k, v in expected.items() if by_type[k] != v}
    unexpected.update({k: v for k, v in by_type.items() if k not in expected})

    rows = [
        ("events created (events table)", f"{len(stored)}"),
        ("  by type", ", ".join(f"{k} {v}" for k, v in sorted(by_type.items()))),
        ("  expected from the site's changes", ", ".join(
            f"{k} {v}" for k, v in sorted(expected.items()))),
        ("distinct webhook-ids acked 2xx", f"{len(accepted_ids)}"),
        ("requests total", f"{len(requests)}"),
        ("requests failed on purpose (500/503)",
         f"{failed_on_purpose} ({100 * failed_on_purpose / max(len(requests), 1):.1f}%)"),
        ("signature verification failures", f"{len(unverified)}"),
        ("events never delivered", f"{len(never)}"),
        ("duplicates delivered (same id acked again)",
         f"{duplicates} (ids: {sum(1 for c in accepted_ids.values() if c > 1)})"),
        ("  of which first ack before the SIGKILL", f"{dup_across_kill}"),
        ("acked ids not in the events table", f"{len(unknown)}"),
        ("ids whose body changed between attempts", f"{changed_bodies}"),
        ("acked type differs from stored type", f"{type_mismatch}"),
        ("deliveries by status (store)", ", ".join(
            f"{k} {v}" for k, v in sorted(deliveries.items())) or "-"),
        ("SIGKILL", kill_info),
        ("daemon starts", f"{daemon.starts}"),
        ("feed GETs (configured every 1s)",
         f"{len(feed_gets)}, median gap {sorted(gaps)[len(gaps) // 2] if gaps else 0:.2f}s"),
        ("final SIGTERM: exit code, time to exit",
         f"{stop_code if stop_code is not None else 'killed'}, {stop_s:.1f}s"),
        ("wall time", f"{wall:.1f}s"),
    ]
    rows.extend(outage_rows)
    misordered = order_violations(workdir / "crawler.db", receiver)
    rows.append(("articles with events acked out of order", f"{misordered}"))
    for key, count in sorted(log_summary(workdir).items()):
        rows.append((f"log {key}", str(count)))
    print_table(f"soak results (seed {args.seed}, fail rate {FAIL_RATE:.0%}, retry 12 x 1s)",
                rows, value_width=50)
    if unexpected:
        notes.append(f"events differ from the site's changes: {unexpected}")
    for r in unverified[:3]:
        notes.append(f"unverified request {r.headers.get('webhook-id')}: {r.error}")
    if never:
        notes.append(f"never delivered: {never[:5]}{' ...' if len(never) > 5 else ''}")
    for note in notes:
        print(f"NOTE: {note}")
    if not stored:
        print("NOTE: no event could be read from the database")
    ok = bool(stored) and not never and not unverified
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def _secret(seed: int) -> str:
    return "whsec_" + base64.b64encode(random.Random(seed).randbytes(24)).decode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1126)
    parser.add_argument("--deadline", type=float, default=180.0,
                        help="seconds from the start by which everything must be delivered")
    parser.add_argument("--rounds", type=int, default=2,
                        help="extra rounds that edit every story still online once more")
    parser.add_argument("--kill-after", type=int, default=20,
                        help="SIGKILL once this many of wave C's events are stored")
    parser.add_argument("--outage", type=float, default=15.0,
                        help="then a receiver outage of this many seconds on the default retry"
                             " ladder, and the time its backlog takes after it (0: none)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (database, config, daemon logs)")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="crawler-soak-")
    try:
        return asyncio.run(soak(args, Path(tmp.name)))
    finally:
        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="crawler-soak-kept-"))
            shutil.copytree(tmp.name, kept, dirs_exist_ok=True)
            print(f"kept: {kept}")
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
