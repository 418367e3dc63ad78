"""Retry decisions and Retry-After parsing (pure functions)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from crawler.webhooks.retry import MAX_RETRY_AFTER, decide, retry_gap

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SCHEDULE = (5.0, 300.0, 1800.0)


def test_retry_gap_follows_schedule_with_jitter() -> None:
    rng = random.Random(0)
    for attempts, base in ((1, 5.0), (2, 300.0), (3, 1800.0)):
        gaps = [retry_gap(attempts, SCHEDULE, rng) for _ in range(200)]
        assert all(g is not None and 0.8 * base <= g <= 1.2 * base for g in gaps)
        assert len(set(gaps)) > 100  # really jittered
    assert retry_gap(4, SCHEDULE, rng) is None
    assert retry_gap(0, SCHEDULE, rng) is None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "delivered"), (204, "delivered"), (299, "delivered"), (410, "disabled"),
     (301, "retry"), (302, "retry"), (308, "retry"), (400, "retry"), (404, "retry"),
     (500, "retry"), (None, "retry")],
)
def test_decide_outcomes(status: int | None, outcome: str) -> None:
    decision = decide(status=status, error="timeout" if status is None else None,
                      retry_after=None, attempts_made=1, schedule=SCHEDULE, now=NOW,
                      rng=random.Random(1))
    assert decision.outcome == outcome
    if outcome == "retry":
        assert decision.next_attempt_at is not None
        assert NOW + timedelta(seconds=4) <= decision.next_attempt_at <= NOW + timedelta(seconds=6)
        assert decision.error is not None
    if status is not None and 300 <= status < 400:
        assert decision.error is not None
        assert "redirect" in decision.error


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_for_429_and_503(status: int) -> None:
    decision = decide(status=status, error=None, retry_after="120", attempts_made=1,
                      schedule=SCHEDULE, now=NOW, rng=random.Random(1))
    assert decision.next_attempt_at is not None
    assert decision.next_attempt_at >= NOW + timedelta(seconds=120)
    # A later schedule step beyond Retry-After wins.
    later = decide(status=status, error=None, retry_after="1", attempts_made=3,
                   schedule=SCHEDULE, now=NOW, rng=random.Random(1))
    assert later.next_attempt_at is not None
    assert later.next_attempt_at >= NOW + timedelta(seconds=1800 * 0.8)


def test_a_receiver_parks_its_deliveries_for_a_day_at_most() -> None:
    decision = decide(status=503, error=None, retry_after="99999999", attempts_made=1,
                      schedule=SCHEDULE, now=NOW, rng=random.Random(1))
    assert decision.next_attempt_at == NOW + timedelta(seconds=MAX_RETRY_AFTER)


def test_retry_after_ignored_for_other_statuses() -> None:
    decision = decide(status=500, error=None, retry_after="3600", attempts_made=1,
                      schedule=SCHEDULE, now=NOW, rng=random.Random(1))
    assert decision.next_attempt_at is not None
    assert decision.next_attempt_at <= NOW + timedelta(seconds=6)


def test_past_schedule_fails() -> None:
    decision = decide(status=500, error=None, retry_after="5", attempts_made=4,
                      schedule=SCHEDULE, now=NOW, rng=random.Random(1))
    assert (decision.outcome, decision.next_attempt_at, decision.error) == (
        "failed", None, "HTTP 500")
