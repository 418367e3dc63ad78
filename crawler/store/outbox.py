"""The outbox part of the store seam: events' deliveries, their attempts and the endpoints'
health. Events and their pending deliveries are written by the article methods of `Store`,
in the transaction of the version they announce; what is here reads and moves them.
Leases on deliveries are as the `crawler.store.base` docstring describes."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Protocol

from crawler.kinds import EndpointState, Transition
from crawler.models import Delivery


class StoreOutbox(Protocol):
    # --- deliveries (the outbox) -------------------------------------------------------------
    async def due_deliveries(
        self, now: datetime, limit: int, *, endpoints: Collection[str] | None = None
    ) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest first; only to `endpoints`
        when given (so a disabled or removed endpoint's backlog cannot fill `limit`)."""

    async def next_delivery_due(
        self, *, endpoints: Collection[str] | None = None
    ) -> datetime | None:
        """When the earliest pending delivery is due and claimable; None if none is pending.
        A delivery under a lease counts from the later of its `next_attempt_at` and its
        `lease_expires_at` (so a delivery another daemon is sending is not "due now"); one
        held back behind an earlier delivery of its article (see `claim_due_deliveries`)
        does not count."""

    async def record_delivery_attempt(
        self,
        delivery_id: int,
        *,
        attempted_at: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        outcome: str,
        next_attempt_at: datetime | None,
        lease_owner: str | None = None,
    ) -> None:
        """One attempt, in its own transaction. `outcome` is "delivered", "retry" (then
        `next_attempt_at` is set), "failed" (schedule exhausted) or "disabled" (410).
        `lease_owner`: the attempt completes a claim (see the module docstring; on
        `LeaseLostError` neither the attempt nor the new status is stored)."""

    async def list_deliveries(self, statuses: tuple[str, ...]) -> list[Delivery]:
        """Deliveries in the given statuses, for operators."""

    async def requeue_deliveries(
        self, *, event_id: str | None, failed: bool, endpoint_url: str | None, now: datetime
    ) -> int:
        """Set matching deliveries back to pending, due now, attempts reset; returns how many."""

    async def count_pending_deliveries(self) -> int: ...

    # --- due times moved from outside their work ---------------------------------------------
    async def hasten_deliveries(self, endpoint_url: str, *, now: datetime) -> int:
        """An endpoint that answered again: its pending deliveries due later than `now`
        become due `now` (claimed in id order after those already due, see
        `claim_due_deliveries`). Leases are untouched. Returns how many moved."""

    # --- deliveries whose endpoint left the config -------------------------------------------
    async def count_unsent_by_endpoint(self) -> dict[str, int]:
        """Deliveries not delivered yet ("pending", "failed", "disabled"), counted per
        endpoint URL (endpoints with none are absent)."""

    async def retarget_deliveries(self, from_url: str, to_url: str, *, now: datetime) -> int:
        """Move every delivery to `from_url` not delivered yet to `to_url`, except those of
        events `to_url` already has a delivery of; returns how many moved. Moved ones start
        afresh at the new endpoint (what the old one did says nothing of it): pending, due at
        `now`, no attempts, leases cleared. Raises ValueError when both URLs are the same."""

    # --- endpoint health (see crawler.webhooks.health) ---------------------------------------
    async def list_endpoint_states(self) -> list[EndpointState]:
        """Every endpoint with a stored health row (failing, paused or disabled), by URL."""

    async def update_endpoint_state(
        self, url: str, change: Callable[[EndpointState], EndpointState]
    ) -> Transition:
        """Apply `change` (a pure function) to the endpoint's stored state (a healthy one if
        none is stored), in one transaction; returns the states before and after."""

    async def resume_endpoint(self, url: str, *, now: datetime) -> tuple[EndpointState, int]:
        """An operator's resume: the endpoint is healthy again, its deliveries held by a 410
        are pending again and its backlog is due `now`, in one transaction. Returns its state
        before and how many deliveries were put back from "disabled"."""
