# ruff: noqa: F811
"""Deliveries whose endpoint left the config, asserted on both stores (like
test_store_contract.py): the backlog counted per endpoint, and moved whole to the URL that
replaced it, never doubling an event the new URL already has."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crawler.store.base import Store
from tests.store_backends import (
    HOOK_A,
    HOOK_B,
    T0,
    event,
    new_article,
)

# The suite's fixtures, used by name as test parameters (hence F811 on every test).
from tests.store_contract_fixtures import backend, store  # noqa: F401

HOOK_C = "http://127.0.0.1:9/c"




async def test_a_backlog_is_counted_and_moved_to_the_new_url(store: Store) -> None:
    shared = event(endpoints=(HOOK_A, HOOK_B))
    both = event(endpoints=(HOOK_A, HOOK_C))
    await new_article(store, 1, event=shared)
    await new_article(store, 2, event=event(endpoints=(HOOK_A,)))
    await new_article(store, 3, event=event(endpoints=(HOOK_A,)))
    await new_article(store, 4, event=both)
    d = {(x.event_id, x.endpoint_url): x for x in await store.due_deliveries(T0, 10)}
    await store.record_delivery_attempt(d[(shared.event_id, HOOK_A)].delivery_id,
                                        attempted_at=T0, status_code=200, error=None,
                                        duration_ms=1, outcome="delivered",
                                        next_attempt_at=None)
    gave_up = next(x for x in await store.due_deliveries(T0, 10)
               if x.endpoint_url == HOOK_A and x.event_id not in (shared.event_id,
                                                                 both.event_id))
    await store.record_delivery_attempt(gave_up.delivery_id, attempted_at=T0, status_code=500,
                                        error="HTTP 500", duration_ms=1, outcome="failed",
                                        next_attempt_at=None)
    assert await store.count_unsent_by_endpoint() == {HOOK_A: 3, HOOK_B: 1, HOOK_C: 1}

    # Events 2 and 3 move; event 4 already has a delivery to the new URL: it is not doubled.
    # What the old URL did says nothing of the new one: they start afresh, due now.
    later = T0 + timedelta(hours=1)
    assert await store.retarget_deliveries(HOOK_A, HOOK_C, now=later) == 2
    moved = [x for x in await store.due_deliveries(later, 10)
             if x.delivery_id == gave_up.delivery_id]
    assert [(m.endpoint_url, m.attempts, m.next_attempt_at, m.last_status) for m in moved] == [
        (HOOK_C, 0, later, None)]
    assert await store.count_unsent_by_endpoint() == {HOOK_A: 1, HOOK_B: 1, HOOK_C: 3}
    due = await store.due_deliveries(later, 10)
    assert sorted((x.event_id == both.event_id, x.endpoint_url) for x in due) == [
        (False, HOOK_B), (False, HOOK_C), (False, HOOK_C), (True, HOOK_A), (True, HOOK_C)]
    # What was delivered stays with the URL it was delivered to.
    assert [x.endpoint_url for x in await store.list_deliveries(("delivered",))] == [HOOK_A]
    assert await store.retarget_deliveries("http://127.0.0.1:9/none", HOOK_C, now=T0) == 0
    with pytest.raises(ValueError, match="same URL"):
        await store.retarget_deliveries(HOOK_B, HOOK_B, now=T0)
