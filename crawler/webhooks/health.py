"""Endpoint health: when a failing endpoint is paused, probed, resumed; a 410 disables it. Pure.

An endpoint whose attempts have all failed for longer than `delivery.pause_after` is paused:
its backlog stays pending, and only one probe (its oldest due delivery) is sent per
`delivery.probe_every`. A 2xx answer to any attempt resumes it. A 410 disables it until an
operator runs `crawler deliveries resume --endpoint URL`. The state is persisted by the store
(table `endpoints`), so a restart keeps it; these functions only compute the next state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from crawler.kinds import DeliveryOutcome, EndpointState


def after_attempt(
    state: EndpointState, *, outcome: DeliveryOutcome, at: datetime, error: str | None,
    pause_after: float, probe_every: float, failing_for: float | None = None,
) -> EndpointState:
    """The endpoint's state after an attempt at `at` whose outcome was "delivered", "retry",
    "failed" (schedule exhausted) or "disabled" (410).

    A success clears the failure streak and a pause, not a 410: one late 2xx from an attempt
    already in flight does not undo the receiver's "gone". A failure starts or extends the
    streak; once it has lasted `pause_after` the endpoint is paused, first probe `probe_every`
    later. `failing_for`: how long the streak has lasted by the caller's monotonic clock; when
    given, the streak counts as the shorter of that and its wall-clock span, so a step of the
    wall clock ahead does not make a failure of a few seconds look like a day's.
    """
    if outcome == "delivered":
        return replace(state, failing_since=None, paused_at=None, next_probe_at=None,
                       reason=None)
    if outcome == "disabled":
        return replace(state, disabled_at=state.disabled_at or at, reason=error)
    since = state.failing_since or at
    lasted = (at - since).total_seconds()
    if failing_for is not None:
        lasted = min(lasted, failing_for)
    if state.paused_at is None and lasted >= pause_after:
        return replace(state, failing_since=since, paused_at=at,
                       next_probe_at=at + timedelta(seconds=probe_every), reason=error)
    return replace(state, failing_since=since, reason=error)


def probe_sent(state: EndpointState, *, at: datetime, probe_every: float) -> EndpointState:
    """A paused endpoint is being probed at `at`: the next probe waits `probe_every`. Stored
    before the probe is sent, so a crash or restart mid-probe does not probe again at once."""
    if not state.paused:  # resumed meanwhile (by a command): nothing to schedule
        return state
    return replace(state, next_probe_at=at + timedelta(seconds=probe_every))


def may_probe(state: EndpointState, now: datetime) -> bool:
    """A paused endpoint may be probed now."""
    return state.paused and (state.next_probe_at is None or state.next_probe_at <= now)
