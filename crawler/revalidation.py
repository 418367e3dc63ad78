"""When a re-check may skip extraction: the rules of the page cache, pure.

A re-check that found an article's current text leaves a page cache entry
(`crawler.store.page_cache.PageCache`): the page's validators (ETag, Last-Modified), a digest
of what extraction was given, and where the page was read. The next re-check then asks the
page conditionally, and a 304 there, or a 200 with the same digest, is an unchanged check
without extraction nor decision: the bytes that gave the current text are the ones the page
still has, and extraction is a function of the digest's inputs.

What keeps that honest:

- The digest covers everything extraction reads: the raw body, its content type (the
  charset), the final URL (relative links, the canonical claim, site rules by host), the site
  rules that apply there and the extractor version (`reader_key`). Any of them changed, the
  bytes are read again.
- A 304 counts only as the answer to a request we made conditional, at the URL the entry was
  read from, under the same reader: a redirect elsewhere (a removal sent to the home page, a
  merged story) is a full check, and so is an upgrade of the extractor or of the site rules.
- Validators lie (a CMS whose ETag is the template's, a Last-Modified never touched by edits):
  after `MAX_SKIPPED` checks in a row answered from the entry, or `FULL_AFTER` since the page
  was last read in full, the page is fetched without validators and extracted whatever its
  digest (which also renews the entry from scratch).
- An entry is written only by a check whose decision was `Unchanged` for an article that is
  not deleted and whose current version is the announced one (a silent flap must still be
  settled when its window closes: `crawler.decision`), and only when the page landed on the
  article itself (a page claiming another URL is judged by what the store holds then).
  The store ends the entry with any other recorded check.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime, timedelta

from crawler.models import Article, SiteRules
from crawler.store.page_cache import PageCache

# The default re-check schedule (10m, 30m, 1h, 3h, 12h, then daily to 7 days) gives some 11
# checks: with 3 skips in a row and 48 h, checks 2-4, 6, 8 and 10 skip (about half the
# checks, the cheap ones) and an edit behind a lying validator is caught within 3 checks
# (under a day while the article is young, two days in its daily tail). 24 h would force
# every daily check, saving nothing in the tail where most checks are.
MAX_SKIPPED = 3
"""Checks in a row that a page cache entry may answer; the next one reads the page in full."""
FULL_AFTER = timedelta(hours=48)
"""Time since the page was last read in full after which it is read in full again."""


def rules_fingerprint(rules: SiteRules | None) -> str:
    """A short stable name of the site rules a page is read with ("-" for none)."""
    if rules is None:
        return "-"
    spelled = json.dumps([rules.content, list(rules.ignore)], ensure_ascii=False)
    return hashlib.sha256(spelled.encode()).hexdigest()[:16]


def reader_key(extractor_version: int, rules: SiteRules | None) -> str:
    """What turns a page's bytes into text, as stored in `PageCache.reader`."""
    return f"{extractor_version}:{rules_fingerprint(rules)}"


def page_digest(body: bytes, content_type: str | None, final_url: str, reader: str) -> str:
    """sha256 over the raw body and everything else extraction reads (`reader_key`)."""
    digest = hashlib.sha256()
    for part in (reader, content_type or "", final_url):
        data = part.encode("utf-8", "backslashreplace")
        digest.update(b"%d:" % len(data))  # length-prefixed: no two inputs spell alike
        digest.update(data)
    digest.update(body)
    return "sha256:" + digest.hexdigest()


def may_cache(article: Article) -> bool:
    """A check of `article` may leave an entry (when its decision is `Unchanged`): not a
    deleted article (its return is news), not one whose current version is silent (it is
    announced when its flap window closes, which only a full check notices)."""
    return not article.deleted and article.announced_version == article.current_version


def usable(entry: PageCache | None, article: Article, reader: str, now: datetime) -> bool:
    """`entry` may answer this check of `article`: it exists, the page is read as it was
    (`reader`, for the entry's final URL, now), the article may be cached, and no full read
    is due (`MAX_SKIPPED`, `FULL_AFTER`)."""
    return (entry is not None and entry.reader == reader and may_cache(article)
            and entry.skipped < MAX_SKIPPED and now - entry.full_at < FULL_AFTER)


def not_modified(entry: PageCache, conditional: bool, status: int, final_url: str) -> bool:
    """A 304 that answers for the entry: to a request we made conditional, at its URL."""
    return status == 304 and conditional and final_url == entry.final_url


def renewed(entry: PageCache, etag: str | None, last_modified: str | None, *,
            keep_missing: bool) -> PageCache:
    """The entry after one more check it answered. A 304 may leave out the validators
    (`keep_missing`: the stored ones stand); a 200 with the same bytes says what they are."""
    if keep_missing:
        etag, last_modified = etag or entry.etag, last_modified or entry.last_modified
    return replace(entry, etag=etag, last_modified=last_modified, skipped=entry.skipped + 1)
