"""The page cache's rules (`crawler.revalidation`), table-tested: what the digest covers,
when an entry may answer a check, which 304 counts, and how an entry is renewed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crawler.models import Article, SiteRules
from crawler.revalidation import (
    FULL_AFTER,
    MAX_SKIPPED,
    not_modified,
    page_digest,
    reader_key,
    renewed,
    rules_fingerprint,
    usable,
)
from crawler.store.page_cache import PageCache

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
URL = "https://news.example/a/1"
BODY = b"<html><p>The storm hit the coast.</p></html>"
TYPE = "text/html; charset=utf-8"
READER = reader_key(3, None)
ARTICLE = Article(article_id=1, canonical_url=URL, url=URL, feed_url="https://news.example/rss",
                  first_seen_at=NOW - timedelta(days=1), current_version=2,
                  current_hash="sha256:x", title="T", deleted=False, check_count=4,
                  next_check_at=None, announced_version=2, extractor_version=3)
ENTRY = PageCache(final_url=URL, digest=page_digest(BODY, TYPE, URL, READER), reader=READER,
                  full_at=NOW - timedelta(hours=1), etag='"v1"',
                  last_modified="Thu, 26 Nov 2026 12:00:00 GMT")


@pytest.mark.parametrize(("body", "content_type", "final_url", "reader"), [
    (BODY + b" ", TYPE, URL, READER),  # one byte more
    (BODY, "text/html; charset=iso-8859-1", URL, READER),  # another charset
    (BODY, None, URL, READER),
    (BODY, TYPE, URL + "?page=2", READER),  # read elsewhere
    (BODY, TYPE, URL, reader_key(4, None)),  # a newer extractor
    (BODY, TYPE, URL, reader_key(3, SiteRules(content="article"))),  # site rules now
])
def test_the_digest_changes_with_anything_extraction_reads(
        body: bytes, content_type: str | None, final_url: str, reader: str) -> None:
    assert page_digest(body, content_type, final_url, reader) != ENTRY.digest


def test_the_digest_of_the_same_inputs_is_the_same_and_fields_never_run_together() -> None:
    assert page_digest(BODY, TYPE, URL, READER) == ENTRY.digest
    assert page_digest(b"", "ab", "c", READER) != page_digest(b"", "a", "bc", READER)
    assert page_digest(b"x", "a", "b", READER) != page_digest(b"", "a", "bx", READER)


def test_site_rules_are_named_by_what_they_say() -> None:
    assert rules_fingerprint(None) == "-"
    one = SiteRules(content="article .body", ignore=(".related",))
    assert rules_fingerprint(one) == rules_fingerprint(
        SiteRules(content="article .body", ignore=(".related",)))
    assert rules_fingerprint(one) != rules_fingerprint(SiteRules(content="article .body"))
    assert rules_fingerprint(one) != rules_fingerprint(
        SiteRules(content="article", ignore=(".body", ".related")))
    assert reader_key(3, one) != reader_key(3, None) != reader_key(4, None)


@pytest.mark.parametrize(("entry", "article", "reader", "expected"), [
    (ENTRY, ARTICLE, READER, True),
    (None, ARTICLE, READER, False),
    (ENTRY, ARTICLE, reader_key(4, None), False),  # the extractor was upgraded
    (ENTRY, replace(ARTICLE, deleted=True), READER, False),  # its return is news
    (ENTRY, replace(ARTICLE, announced_version=1), READER, False),  # a silent flap pending
    (replace(ENTRY, skipped=MAX_SKIPPED - 1), ARTICLE, READER, True),
    (replace(ENTRY, skipped=MAX_SKIPPED), ARTICLE, READER, False),  # a full fetch is due
    (replace(ENTRY, full_at=NOW - FULL_AFTER + timedelta(seconds=1)), ARTICLE, READER, True),
    (replace(ENTRY, full_at=NOW - FULL_AFTER), ARTICLE, READER, False),
])
def test_when_an_entry_may_answer_a_check(entry: PageCache | None, article: Article,
                                          reader: str, expected: bool) -> None:
    assert usable(entry, article, reader, NOW) is expected


@pytest.mark.parametrize(("conditional", "status", "final_url", "expected"), [
    (True, 304, URL, True),
    (False, 304, URL, False),  # a 304 to a request that was not conditional
    (True, 304, "https://news.example/", False),  # redirected, then 304: not the page's
    (True, 200, URL, False),
])
def test_which_304_answers_for_the_entry(conditional: bool, status: int, final_url: str,
                                         expected: bool) -> None:
    assert not_modified(ENTRY, conditional, status, final_url) is expected


def test_a_304_keeps_the_validators_it_leaves_out_and_a_200_says_what_they_are() -> None:
    after_304 = renewed(ENTRY, None, None, keep_missing=True)
    assert (after_304.etag, after_304.last_modified) == (ENTRY.etag, ENTRY.last_modified)
    assert after_304.skipped == 1 and after_304.digest == ENTRY.digest
    assert renewed(ENTRY, '"v2"', None, keep_missing=True).etag == '"v2"'
    after_200 = renewed(replace(ENTRY, skipped=2), None, "Fri, 27 Nov 2026 08:00:00 GMT",
                        keep_missing=False)
    assert after_200.etag is None
    assert after_200.last_modified == "Fri, 27 Nov 2026 08:00:00 GMT"
    assert after_200.skipped == 3 and after_200.full_at == ENTRY.full_at
