"""Schema migrations for the SQLite store, tracked with `PRAGMA user_version`.

`MIGRATIONS[i]` brings a database from user_version i to i + 1. Each is applied in its own
`BEGIN IMMEDIATE` transaction together with the user_version bump, so a crash mid-migration
leaves the database at the previous version, never half-migrated. Append only: never edit a
migration that has shipped.

Conventions of the schema:
- Times are ISO-8601 UTC text of fixed width ("2026-11-26T12:00:00.000000Z"), so that text
  comparison in SQL is time comparison and the due-work indexes can be range-scanned.
- `versions.text` is a BLOB whose first byte names its format (see `sqlite_rows.encode_text`).
"""

from __future__ import annotations

import sqlite3

import aiosqlite

from crawler.store.base import SchemaTooNewError

__all__ = ["MIGRATIONS", "SchemaTooNewError", "apply_migrations", "split_statements"]

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema.
    """
    CREATE TABLE feeds (
        url                TEXT PRIMARY KEY,
        etag               TEXT,
        last_modified      TEXT,
        last_polled_at     TEXT,
        last_status        TEXT,
        last_error         TEXT,
        consecutive_errors INTEGER NOT NULL DEFAULT 0,
        next_poll_at       TEXT
    );

    CREATE TABLE articles (
        id              INTEGER PRIMARY KEY,
        canonical_url   TEXT NOT NULL UNIQUE,
        url             TEXT NOT NULL,
        feed_url        TEXT NOT NULL,
        first_seen_at   TEXT NOT NULL,
        last_checked_at TEXT NOT NULL,
        next_check_at   TEXT,
        check_count     INTEGER NOT NULL DEFAULT 0,
        current_version INTEGER NOT NULL,
        current_hash    TEXT NOT NULL,
        title           TEXT NOT NULL,
        deleted         INTEGER NOT NULL DEFAULT 0,
        deleted_at      TEXT
    );
    -- Only articles still being re-checked are in the index: the due query stays cheap with
    -- 100,000 tracked articles of which most have stopped.
    CREATE INDEX articles_due ON articles (next_check_at) WHERE next_check_at IS NOT NULL;

    CREATE TABLE article_urls (
        url        TEXT PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE
    ) WITHOUT ROWID;
    CREATE INDEX article_urls_article ON article_urls (article_id);

    CREATE TABLE versions (
        article_id   INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        number       INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        title        TEXT NOT NULL,
        text         BLOB NOT NULL,
        fetched_at   TEXT NOT NULL,
        PRIMARY KEY (article_id, number)
    ) WITHOUT ROWID;

    CREATE TABLE events (
        id         TEXT PRIMARY KEY,
        type       TEXT NOT NULL,
        article_id INTEGER REFERENCES articles (id) ON DELETE CASCADE,
        version    INTEGER,
        created_at TEXT NOT NULL,
        payload    TEXT NOT NULL
    );
    CREATE INDEX events_article ON events (article_id);

    CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY,
        event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        endpoint_url    TEXT NOT NULL,
        status          TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'delivered', 'failed', 'disabled')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_status     INTEGER,
        last_error      TEXT,
        created_at      TEXT NOT NULL,
        delivered_at    TEXT,
        UNIQUE (event_id, endpoint_url)
    );
    CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
    CREATE INDEX deliveries_endpoint ON deliveries (endpoint_url, status);

    CREATE TABLE delivery_attempts (
        id           INTEGER PRIMARY KEY,
        delivery_id  INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        attempted_at TEXT NOT NULL,
        status_code  INTEGER,
        error        TEXT,
        duration_ms  REAL NOT NULL,
        outcome      TEXT NOT NULL
    );
    CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id);
    """,
    # 2: extraction-collapse streaks, and articles tracked from their feed entry.
    """
    ALTER TABLE articles ADD COLUMN collapse_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE articles ADD COLUMN source TEXT NOT NULL DEFAULT 'page'
        CHECK (source IN ('page', 'feed'));
    """,
    # 3: endpoint health, so a pause or a 410 survives a restart. One row per endpoint that
    # ever failed; no row is a healthy endpoint. `failing_since`: the first failed attempt
    # after the last success; `paused_at`: failing for longer than `delivery.pause_after`
    # (then one probe per `delivery.probe_every`, at `next_probe_at`); `disabled_at`: it
    # answered 410. `reason`: the last error, for operators.
    """
    CREATE TABLE endpoints (
        url           TEXT PRIMARY KEY,
        failing_since TEXT,
        paused_at     TEXT,
        disabled_at   TEXT,
        next_probe_at TEXT,
        reason        TEXT
    ) WITHOUT ROWID;
    """,
    # 4: versions in a rowid table. As a WITHOUT ROWID table, every compressed text of a few
    # kilobytes spilled into overflow pages that stayed almost half empty (measured: 45% of
    # the table unused). Event payloads are now stored compressed too (no schema change:
    # `sqlite_rows.decode_payload` reads both forms).
    """
    CREATE TABLE versions_v4 (
        id           INTEGER PRIMARY KEY,
        article_id   INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        number       INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        title        TEXT NOT NULL,
        text         BLOB NOT NULL,
        fetched_at   TEXT NOT NULL,
        UNIQUE (article_id, number)
    );
    INSERT INTO versions_v4 (article_id, number, content_hash, title, text, fetched_at)
        SELECT article_id, number, content_hash, title, text, fetched_at FROM versions
        ORDER BY article_id, number;
    DROP TABLE versions;
    ALTER TABLE versions_v4 RENAME TO versions;
    """,
    # 5: how many entries the last parsed feed had, for `crawler status`.
    """
    ALTER TABLE feeds ADD COLUMN last_entries INTEGER;
    """,
    # 6: which extractor produced each text (`crawler.extract.version`), so that an upgrade
    # that changes extraction re-baselines articles instead of announcing invented edits.
    # `versions.extractor_version`: the one the version was stored with, never changed;
    # `articles.extractor_version`: the newest one known to give `current_hash` (a check that
    # finds the same text under a newer extractor moves it on). Older rows were extractor 1.
    """
    ALTER TABLE versions ADD COLUMN extractor_version INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE articles ADD COLUMN extractor_version INTEGER NOT NULL DEFAULT 1;
    """,
    # 7: due work is claimed with leases (`Store.claim_due_*`). `lease_owner` names the process
    # start holding a row (NULL: nobody), `lease_expires_at` when anyone may claim it again.
    # Feeds are due work like articles: `configured` marks the feeds of the current config
    # (`Store.sync_feeds`), the only ones claimed. `articles.host` is the authority of the
    # article's URL, so that re-check claims can cap the work handed out per host.
    # The lease indexes are partial: only rows under a lease are in them.
    """
    ALTER TABLE feeds ADD COLUMN configured INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE feeds ADD COLUMN lease_owner TEXT;
    ALTER TABLE feeds ADD COLUMN lease_expires_at TEXT;
    CREATE INDEX feeds_due ON feeds (next_poll_at) WHERE configured = 1;
    ALTER TABLE articles ADD COLUMN lease_owner TEXT;
    ALTER TABLE articles ADD COLUMN lease_expires_at TEXT;
    ALTER TABLE articles ADD COLUMN host TEXT NOT NULL DEFAULT '';
    UPDATE articles SET host = lower(substr(
        substr(url, instr(url, '://') + 3), 1,
        instr(substr(url, instr(url, '://') + 3) || '/', '/') - 1));
    CREATE INDEX articles_leased ON articles (host, lease_expires_at)
        WHERE lease_owner IS NOT NULL;
    ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
    ALTER TABLE deliveries ADD COLUMN lease_expires_at TEXT;
    """,
    # 8: the tables of fleet-wide request turns, as on PostgreSQL. One daemon owns an SQLite
    # file, so its in-process politeness already is the fleet's and it never writes them;
    # they exist so that schema version 8 means the same tables on both stores.
    """
    CREATE TABLE host_pacing (
        host          TEXT PRIMARY KEY,
        next_start_at TEXT,
        paused_until  TEXT
    );
    CREATE TABLE host_turns (
        token      TEXT PRIMARY KEY,
        host       TEXT NOT NULL,
        owner      TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX host_turns_host ON host_turns (host, expires_at);
    """,
    # 9: the reading lists (`crawler.store.reads`), newest first and paged by keyset, each
    # one range scan in its own sort order: articles by first sight (all, or of one feed),
    # events by time (all, or of one type).
    """
    CREATE INDEX articles_seen ON articles (first_seen_at, id);
    CREATE INDEX articles_feed_seen ON articles (feed_url, first_seen_at, id);
    CREATE INDEX events_recent ON events (created_at, id);
    CREATE INDEX events_type_recent ON events (type, created_at, id);
    """,
    # 10: `articles.url_path`, the canonical URL without its query (`base.url_path`), so that a
    # first sighting reached through a cache-busting query string finds the article whose
    # content it repeats (`Store.find_article_by_content`) with an indexed query.
    """
    ALTER TABLE articles ADD COLUMN url_path TEXT NOT NULL DEFAULT '';
    UPDATE articles SET url_path = CASE WHEN instr(canonical_url, '?') > 0
        THEN substr(canonical_url, 1, instr(canonical_url, '?') - 1) ELSE canonical_url END;
    CREATE INDEX articles_path ON articles (url_path, current_hash);
    """,
    # 11: streaks of checks that found an article's page missing (404/410): a deletion is
    # announced only once confirmed by `recheck.delete_checks` of them in a row; and the texts
    # checks found on each host, by hash, so that one text served for many articles at once
    # (a placeholder) is recognised (`Store.note_site_text`); and the version receivers were
    # last told of (`Article.announced_version`; a new article's is 1).
    """
    ALTER TABLE articles ADD COLUMN gone_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE articles ADD COLUMN announced_version INTEGER NOT NULL DEFAULT 1;
    UPDATE articles SET announced_version = current_version;
    CREATE TABLE site_texts (
        host       TEXT NOT NULL,
        text_hash  TEXT NOT NULL,
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        seen_at    TEXT NOT NULL,
        PRIMARY KEY (host, text_hash, article_id)
    );
    CREATE INDEX site_texts_seen ON site_texts (host, seen_at);
    """,
    # 12: the page cache (`crawler.store.page_cache`): per article, what the check that found
    # its current text learnt of the page (validators, a digest of the body and of what read
    # it, where it was read), valid only while `check_count` is the one its write left.
    """
    CREATE TABLE page_cache (
        article_id    INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
        check_count   INTEGER NOT NULL,
        final_url     TEXT NOT NULL,
        digest        TEXT NOT NULL,
        reader        TEXT NOT NULL,
        full_at       TEXT NOT NULL,
        etag          TEXT,
        last_modified TEXT,
        skipped       INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 13: the feed a feed-sourced article is compared from, when it moved away from the one it
    # was first seen in (`Article.entry_feed_url`; NULL: `feed_url`, which stays the first).
    """
    ALTER TABLE articles ADD COLUMN entry_feed_url TEXT;
    """,
    # 14: `feeds.host`, the authority of the feed's URL (`base.url_host`, as `articles.host`),
    # so that feed claims can cap the polls handed out per host (`Store.claim_due_feeds`).
    # Stored rows get what follows "://" up to the first "/", "?" or "#", lower-cased (in two
    # steps: the rest of the URL, then its authority); `Store.sync_feeds` writes it again from
    # the URL whenever the config is synced. The lease index holds only polls under a lease.
    """
    ALTER TABLE feeds ADD COLUMN host TEXT NOT NULL DEFAULT '';
    UPDATE feeds SET host = substr(url, instr(url, '://') + 3);
    UPDATE feeds SET host = lower(substr(host, 1, min(
        instr(host || '/', '/'), instr(host || '?', '?'), instr(host || '#', '#')) - 1));
    CREATE INDEX feeds_leased ON feeds (host, lease_expires_at) WHERE lease_owner IS NOT NULL;
    """,
    # 15: the gap a feed asked for (its <ttl>, its server's max-age), kept across 304 answers
    # and used to reschedule its next poll when the config changes (`FeedState.ttl_seconds`).
    """
    ALTER TABLE feeds ADD COLUMN ttl_seconds REAL;
    """,
)


def split_statements(script: str) -> list[str]:
    """The statements of a script, one per item.

    `executescript` is not usable inside our own transaction (Python's sqlite3 commits any open
    transaction before running it), so migrations run statement by statement; SQLite's own
    `complete_statement` decides where one ends, which keeps `;` inside strings or triggers safe.
    """
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            if statement and statement != ";":
                statements.append(statement)
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()[:80]!r}")
    return statements


async def _user_version(conn: aiosqlite.Connection) -> int:
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def apply_migrations(conn: aiosqlite.Connection) -> int:
    """Bring the database to the latest schema; returns the resulting user_version.

    `conn` must be in autocommit mode (isolation_level None). Safe against a second process
    migrating at the same time: the version is re-read after the write lock is taken.
    Raises SchemaTooNewError for a database from a newer crawler.
    """
    target = len(MIGRATIONS)
    while True:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            version = await _user_version(conn)
            if version > target:
                raise SchemaTooNewError(database=version, program=target)
            if version == target:
                await conn.execute("COMMIT")
                return version
            for statement in split_statements(MIGRATIONS[version]):
                await conn.execute(statement)
            # PRAGMA takes no parameters; the value is our own integer.
            await conn.execute(f"PRAGMA user_version = {version + 1:d}")
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
