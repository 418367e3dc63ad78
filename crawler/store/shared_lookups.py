"""The article lookups of `EntryStore`, written once for both stores (statements with `?`
marks, in each store's `Dialect`; see `shared_reads`): by URL, by a feed entry's two keys, by
content at a path, and a first sight's three lookups in one statement."""

from __future__ import annotations

from crawler.models import Article
from crawler.store.base import url_path
from crawler.store.entries import EntryMatch, SightingMatch
from crawler.store.records import ARTICLE_COLUMNS
from crawler.store.shared_reads import SharedReads

_BY_URL = (f"SELECT u.url AS alias, {ARTICLE_COLUMNS} FROM article_urls u"  # noqa: S608
           " JOIN articles a ON a.id = u.article_id")
# The three lookups of `find_sighting` as one statement, each row tagged with its lookup.
# Each is a subquery of its own, so that its ORDER BY and LIMIT are its own on both stores.
_SIGHTING = f"""
    SELECT 'tracked' AS found, tracked.* FROM (
        SELECT {ARTICLE_COLUMNS} FROM article_urls u JOIN articles a ON a.id = u.article_id
        WHERE u.url = ?) AS tracked
    UNION ALL
    SELECT 'content', content.* FROM (
        SELECT {ARTICLE_COLUMNS} FROM articles a
        WHERE a.url_path = ? AND a.current_hash = ? AND a.feed_url = ? ORDER BY a.id LIMIT 1
    ) AS content
    UNION ALL
    SELECT 'path', at_path.* FROM (
        SELECT {ARTICLE_COLUMNS} FROM articles a
        WHERE a.url_path = ? AND a.feed_url = ? ORDER BY a.id LIMIT 2) AS at_path
"""  # noqa: S608


class SharedLookups(SharedReads):
    """See `crawler.store.entries.EntryStore`."""

    async def find_article_by_url(self, url: str) -> Article | None:
        rows = await self._query(f"{_BY_URL} WHERE u.url = ?", (url,))
        return self._dialect.rows.article(rows[0]) if rows else None

    async def find_entry(self, entry_key: str, link: str) -> EntryMatch:
        either, params = self._dialect.one_of("u.url", [entry_key, link])
        rows = await self._query(f"{_BY_URL} WHERE {either}", params)
        found = {row["alias"]: self._dialect.rows.article(row) for row in rows}
        return EntryMatch(by_key=found.get(entry_key), by_link=found.get(link))

    async def find_article_by_content(
        self, feed_url: str, path: str, content_hash: str
    ) -> Article | None:
        rows = await self._query(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a"  # noqa: S608
            " WHERE a.url_path = ? AND a.current_hash = ? AND a.feed_url = ?"
            " ORDER BY a.id LIMIT 1",
            (path, content_hash, feed_url),
        )
        return self._dialect.rows.article(rows[0]) if rows else None

    async def find_articles_at_path(
        self, feed_url: str, path: str, *, limit: int
    ) -> list[Article]:
        rows = await self._query(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a"  # noqa: S608
            " WHERE a.url_path = ? AND a.feed_url = ? ORDER BY a.id LIMIT ?",
            (path, feed_url, limit),
        )
        return [self._dialect.rows.article(row) for row in rows]

    async def find_sighting(self, canonical_url: str, feed_url: str,
                            content_hash: str) -> SightingMatch:
        path = url_path(canonical_url)
        rows = await self._query(_SIGHTING, (canonical_url, path, content_hash, feed_url,
                                             path, feed_url))
        found: dict[str, list[Article]] = {"tracked": [], "content": [], "path": []}
        for row in rows:
            found[row["found"]].append(self._dialect.rows.article(row))
        return SightingMatch(tracked=next(iter(found["tracked"]), None),
                             same_content=next(iter(found["content"]), None),
                             at_path=tuple(sorted(found["path"], key=_article_id)))


def _article_id(article: Article) -> int:
    return article.article_id
